"""Questions the bot could not answer well, kept redacted for the privacy team's review

The bot reports every question the answer ranker abstained on, answered with a quoted
passage, or answered with a low margin; the text is stored masked, for at most 90 days, with
the staff member's mark (answered by a topic, new topic needed, out of scope).

Revision ID: 0005_unanswered_questions
Revises: 0004_staff_accounts
Create Date: 2026-12-07 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_unanswered_questions"
down_revision: str | None = "0004_staff_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("brand", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=4), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("answer_kind", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("clause", sa.String(length=32), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("margin", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mark", sa.String(length=20), nullable=True),
        sa.Column("mark_topic", sa.String(length=64), nullable=True),
        sa.Column("marked_by", sa.String(length=64), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unanswered_questions_brand"), ["brand"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_unanswered_questions_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unanswered_questions_created_at"))
        batch_op.drop_index(batch_op.f("ix_unanswered_questions_brand"))
    op.drop_table("unanswered_questions")
