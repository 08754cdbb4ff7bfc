"""No live secrets at rest: the dev outbox, console sessions and sign-in failures

The outbox keeps what was sent with the code starred and numbers masked from now on; rows
written before this revision are masked here. Full copies for testers go to `dev_outbox`,
written only in the dev environment. Console sessions are held server-side so that sign-out
ends them; failed sign-ins are counted per (hashed) client address.

Revision ID: 0003_secrets_sessions
Revises: 0002_locks_audit
Create Date: 2026-12-02 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from privacy import masking

revision: str = '0003_secrets_sessions'
down_revision: str | None = '0002_locks_audit'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dev_outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('to', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dev_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dev_outbox_created_at'), ['created_at'], unique=False)

    op.create_table('console_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_expires_at'), ['expires_at'], unique=False)

    op.create_table('console_sign_in_failures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('console_sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sign_in_failures_address_hash'), ['address_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_sign_in_failures_created_at'), ['created_at'], unique=False)

    # Rows already in the outbox hold live codes and full numbers: mask them in place.
    outbox = sa.table('outbox', sa.column('id', sa.Integer), sa.column('to', sa.String),
                      sa.column('body', sa.Text))
    conn = op.get_bind()
    for row in conn.execute(sa.select(outbox.c.id, outbox.c.to, outbox.c.body)).all():
        to = masking.mask_personal(row.to)
        body = masking.mask_bare_codes(masking.mask_personal(row.body))
        if (to, body) != (row.to, row.body):
            conn.execute(outbox.update().where(outbox.c.id == row.id).values(to=to, body=body))


def downgrade() -> None:
    with op.batch_alter_table('console_sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sign_in_failures_created_at'))
        batch_op.drop_index(batch_op.f('ix_console_sign_in_failures_address_hash'))
    op.drop_table('console_sign_in_failures')
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_expires_at'))
    op.drop_table('console_sessions')
    with op.batch_alter_table('dev_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dev_outbox_created_at'))
    op.drop_table('dev_outbox')
