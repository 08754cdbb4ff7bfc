"""Named staff accounts, ticket assignments and internal notes, console reads per session

Staff sign in to the console with their own account (argon2id password hash), so every audit
row names the person. The console keeps a ticket's assignee and its internal notes in tables
of its own, and remembers which tickets a session has already shown, so that a ticket's read
is audited once per session instead of once per page view.

Revision ID: 0004_staff_accounts
Revises: 0003_secrets_sessions
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_staff_accounts"
down_revision: str | None = "0003_secrets_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("login", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("login"),
    )
    op.create_table(
        "ticket_assignments",
        sa.Column("ticket_reference", sa.String(length=20), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(length=64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_reference"],
            ["tickets.reference"],
        ),
        sa.PrimaryKeyConstraint("ticket_reference"),
    )
    with op.batch_alter_table("ticket_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_assignments_staff_id"), ["staff_id"], unique=False
        )

    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_reference", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_reference"],
            ["tickets.reference"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_notes_ticket_reference"), ["ticket_reference"], unique=False
        )

    op.create_table(
        "console_ticket_reads",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_reference", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["session_hash"], ["console_sessions.id_hash"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_hash", "ticket_reference"),
    )


def downgrade() -> None:
    op.drop_table("console_ticket_reads")
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_notes_ticket_reference"))
    op.drop_table("ticket_notes")
    with op.batch_alter_table("ticket_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_assignments_staff_id"))
    op.drop_table("ticket_assignments")
    op.drop_table("staff_accounts")
