"""Guesses counted per source, sign-in failures per login, idempotency keys per customer

Revision ID: 0007_attack_limits
Revises: 0006_mobile_encryption
Create Date: 2026-12-07 14:00:00

- verification_challenges.source_hash: where a check was started from (a keyed hash); and
  guess_source_locks, the wrong guesses per number, method and source. Someone who knows a
  number locks out only their own source; the number locks for everyone past a higher limit.
- console_sign_in_failures.login_hash: failures are counted per login as well as per address.
- idempotency_keys.customer_id: keys are unique per customer, no longer across customers.
  Existing keys take the customer of the ticket they filed (a key with no ticket is dropped).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_attack_limits"
down_revision: str | None = "0006_mobile_encryption"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "verification_challenges", sa.Column("source_hash", sa.String(length=64), nullable=True)
    )
    op.create_table(
        "guess_source_locks",
        sa.Column("mobile_hash", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("mobile_hash", "method", "source_hash"),
    )
    op.add_column(
        "console_sign_in_failures", sa.Column("login_hash", sa.String(length=64), nullable=True)
    )
    op.create_index(
        "ix_console_sign_in_failures_login_hash", "console_sign_in_failures", ["login_hash"]
    )
    op.execute("DELETE FROM idempotency_keys WHERE ticket_id IS NULL")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("customer_id", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE idempotency_keys SET customer_id = "
        "(SELECT customer_id FROM tickets WHERE tickets.id = idempotency_keys.ticket_id)"
    )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("customer_id", existing_type=sa.String(length=32), nullable=False)
        batch.drop_constraint("uq_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_idempotency_key", ["customer_id", "key"])


def downgrade() -> None:
    # Keys of two customers that are spelled alike cannot both stay under a global key.
    op.execute(
        "DELETE FROM idempotency_keys WHERE id NOT IN "
        "(SELECT min(id) FROM idempotency_keys GROUP BY key)"
    )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("uq_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_idempotency_key", ["key"])
        batch.drop_column("customer_id")
    op.drop_index("ix_console_sign_in_failures_login_hash", table_name="console_sign_in_failures")
    with op.batch_alter_table("console_sign_in_failures") as batch:
        batch.drop_column("login_hash")
    op.drop_table("guess_source_locks")
    with op.batch_alter_table("verification_challenges") as batch:
        batch.drop_column("source_hash")
