"""Append-only, hash-chained audit log.

Appends are serialised by locking the single chain-head row (SELECT ... FOR UPDATE on
PostgreSQL; on SQLite every transaction already holds the write lock, BEGIN IMMEDIATE).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from api.core.clock import as_utc


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(
    prev_hash: str,
    created_at: datetime,
    actor: str,
    action: str,
    ticket_reference: str | None,
    customer_id: str | None,
    data: str,
) -> str:
    payload = canonical(
        [
            prev_hash,
            as_utc(created_at).isoformat(),
            actor,
            action,
            ticket_reference,
            customer_id,
            data,
        ]
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def append(
    session: Session,
    *,
    now: datetime,
    actor: str,
    action: str,
    ticket_reference: str | None = None,
    customer_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry in the caller's transaction (it commits with the change it records)."""
    stmt = select(AuditHead).where(AuditHead.id == 1).with_for_update()
    head = session.execute(stmt).scalar_one()
    body = canonical(data or {})
    entry = AuditEntry(
        created_at=now,
        actor=actor,
        action=action,
        ticket_reference=ticket_reference,
        customer_id=customer_id,
        data=body,
        prev_hash=head.last_hash,
        hash=entry_hash(head.last_hash, now, actor, action, ticket_reference, customer_id, body),
    )
    session.add(entry)
    session.flush()
    head.last_id = entry.id
    head.last_hash = entry.hash
    return entry


def verify_chain(session: Session) -> tuple[bool, int, int | None]:
    """Recompute every hash; returns (valid, entries, first broken id)."""
    prev = GENESIS_HASH
    count = 0
    for entry in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        count += 1
        expected = entry_hash(
            prev,
            entry.created_at,
            entry.actor,
            entry.action,
            entry.ticket_reference,
            entry.customer_id,
            entry.data,
        )
        if entry.prev_hash != prev or entry.hash != expected:
            return False, count, entry.id
        prev = entry.hash
    head = session.get(AuditHead, 1)
    if head is not None and head.last_hash != prev:
        return False, count, head.last_id
    return True, count, None


def ticket_entries(session: Session, reference: str) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry).where(AuditEntry.ticket_reference == reference).order_by(AuditEntry.id)
    )
    return list(session.execute(stmt).scalars())
