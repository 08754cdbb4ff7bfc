"""Guess locks per number and method, shared rate counters, keyed audit entries

Revision ID: 0002_locks_audit
Revises: 0001
Create Date: 2026-12-02 14:00:00

- guess_locks replaces password_locks: wrong phone passwords and SMS codes are counted per
  number across challenges (the old per-number password counts are transient and dropped).
- rate_counters: fixed-window counters for starting verifications, shared by all workers.
- audit_entries.keyed: entries written from now on are HMAC-keyed; earlier ones stay plain
  SHA-256 (a prefix of the chain, pinned by the first checkpoint in the anchor file).
- idempotency keys are now claimed in the ticket's own transaction: left-over in-flight
  claims of the old scheme belong to requests that never finished and are removed.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002_locks_audit'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('guess_locks',
    sa.Column('mobile_hash', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('mobile_hash', 'method')
    )
    op.drop_table('password_locks')
    op.create_table('rate_counters',
    sa.Column('bucket', sa.String(length=120), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'window_start')
    )
    op.create_index('ix_rate_counters_window_start', 'rate_counters', ['window_start'])
    # Plain ADD COLUMN (no batch copy on SQLite): the append-only triggers stay in place.
    op.add_column(
        'audit_entries',
        sa.Column('keyed', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute("DELETE FROM idempotency_keys WHERE state = 'in_flight'")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_column('audit_entries', 'keyed')
    else:
        # SQLite 3.35+ drops a column in place, keeping the triggers.
        op.execute('ALTER TABLE audit_entries DROP COLUMN keyed')
    op.drop_index('ix_rate_counters_window_start', table_name='rate_counters')
    op.drop_table('rate_counters')
    op.create_table('password_locks',
    sa.Column('mobile_hash', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('mobile_hash')
    )
    op.drop_table('guess_locks')
