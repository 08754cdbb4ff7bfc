"""Mobile numbers sealed at rest; outbox rows with the sealed recipient and whether they send

`customers.mobile_e164` (the number in clear) becomes `customers.mobile_sealed`, AES-GCM under
RIGHTS_FIELD_KEYS (api.core.fields), bound to the customer's row; `mobile_hash` still finds it.
Existing rows are sealed here, so the keys must be set (in dev the dev secrets file provides
them) when the table holds customers. The outbox gains the sealed full recipient, its keyed
hash and `sendable` (false for a start for an unregistered number, which is never sent).

The downgrade opens the numbers again into `mobile_e164`.

Revision ID: 0006_mobile_encryption
Revises: 0005_unanswered_questions
Create Date: 2026-12-07 13:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from api.core.fields import FieldCipher
from api.core.migrate import migration_settings

revision: str = "0006_mobile_encryption"
down_revision: str | None = "0005_unanswered_questions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_customers = sa.table(
    'customers',
    sa.column('id', sa.String),
    sa.column('mobile_e164', sa.String),
    sa.column('mobile_sealed', sa.String),
)


def _context(customer_id: str) -> str:
    # Frozen copy of api.subjects.models.mobile_context at this revision.
    return f"customers.mobile_e164\x1f{customer_id}"


def _cipher() -> FieldCipher:
    return FieldCipher.from_settings(migration_settings(context.config))


def _convert(source: str, target: str, *, seal: bool) -> None:
    """Fills `target` from `source` for every customer, sealing or opening the number."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(_customers.c.id, _customers.c[source])).all()
    if not rows:  # an empty table needs no keys
        return
    cipher = _cipher()
    for customer_id, value in rows:
        where = _context(customer_id)
        new = cipher.seal(value, where) if seal else cipher.open(value, where)
        conn.execute(
            _customers.update().where(_customers.c.id == customer_id).values({target: new})
        )


def upgrade() -> None:
    # Plain ADD / DROP COLUMN (no batch copy of the table on SQLite): the foreign keys that
    # point at customers and the rows stay as they are.
    op.add_column(
        'customers',
        sa.Column('mobile_sealed', sa.String(length=200), nullable=False, server_default=''),
    )
    _convert('mobile_e164', 'mobile_sealed', seal=True)
    op.drop_column('customers', 'mobile_e164')

    op.add_column('outbox', sa.Column('to_sealed', sa.String(length=400), nullable=True))
    op.add_column('outbox', sa.Column('to_hash', sa.String(length=64), nullable=True))
    op.add_column(
        'outbox',
        sa.Column('sendable', sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_index('ix_outbox_to_hash', 'outbox', ['to_hash'])


def downgrade() -> None:
    op.drop_index('ix_outbox_to_hash', table_name='outbox')
    op.drop_column('outbox', 'sendable')
    op.drop_column('outbox', 'to_hash')
    op.drop_column('outbox', 'to_sealed')

    op.add_column(
        'customers',
        sa.Column('mobile_e164', sa.String(length=20), nullable=False, server_default=''),
    )
    _convert('mobile_sealed', 'mobile_e164', seal=False)
    op.drop_column('customers', 'mobile_sealed')
