"""One verification per conversation: the conversation a check was started from, and when it
verified

A verified check covers the further requests of its conversation for a while: the backend
issues new single-use proofs from it, but only to the conversation that started it and only
within the cover (api.verification.service.reissue). Existing challenges have neither and so
cover nothing.

Revision ID: 0009_conversation_cover
Revises: 0008_outcome_notices
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_conversation_cover"
down_revision: str | None = "0008_outcome_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("verification_challenges") as batch:
        batch.add_column(sa.Column("conversation_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verification_challenges") as batch:
        batch.drop_column("verified_at")
        batch.drop_column("conversation_hash")
