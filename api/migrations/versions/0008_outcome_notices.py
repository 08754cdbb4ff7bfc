"""The customer's notices: the text that goes out, and an e-mail address on record

A ticket's notices to the customer (how the request ended, what it waits for, a delay) keep
the text they send, so the console shows it and the bot's status answer says the same; a
customer may have an e-mail address on record, which gets the notice besides the SMS.

Revision ID: 0008_outcome_notices
Revises: 0007_attack_limits
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_outcome_notices"
down_revision: str | None = "0007_attack_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_notices") as batch:
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("email", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("ticket_notices") as batch:
        batch.drop_column("body")
