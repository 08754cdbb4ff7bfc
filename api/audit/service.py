"""Append-only, hash-chained audit log, keyed and anchored outside the database.

Each entry's hash is an HMAC-SHA256, under the audit key (a setting, never stored in the
database), of the previous hash and the entry's fields: whoever can write the database but
does not hold the key cannot recompute the chain after changing an entry. Entries written
before keying began (`keyed` false) are plain SHA-256 and may only form the start of the chain.

Appends are serialised by locking the single chain-head row (SELECT ... FOR UPDATE on
PostgreSQL; on SQLite every transaction already holds the write lock, BEGIN IMMEDIATE).
The head is checkpointed at intervals to the anchor file (`api.audit.anchor`); verification
reads the checkpoints first, then the whole chain in one snapshot (REPEATABLE READ on
PostgreSQL), so entries committed while it runs never make an intact chain look broken.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from api.audit import anchor
from api.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from api.core.clock import as_utc


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _payload(
    prev_hash: str,
    created_at: datetime,
    actor: str,
    action: str,
    ticket_reference: str | None,
    customer_id: str | None,
    data: str,
) -> bytes:
    fields = [
        prev_hash,
        as_utc(created_at).isoformat(),
        actor,
        action,
        ticket_reference,
        customer_id,
        data,
    ]
    return canonical(fields).encode()


def entry_hash(key: str | None, entry: AuditEntry) -> str:
    """HMAC under the audit key; plain SHA-256 (key None) for entries from before keying."""
    payload = _payload(
        entry.prev_hash,
        entry.created_at,
        entry.actor,
        entry.action,
        entry.ticket_reference,
        entry.customer_id,
        entry.data,
    )
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def audit_key(session: Session) -> str:
    key = session.info.get("audit_key")
    if not key:
        raise RuntimeError("sessions must come from make_session_factory(engine, audit_key)")
    return str(key)


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
    entry = AuditEntry(
        created_at=now,
        actor=actor,
        action=action,
        ticket_reference=ticket_reference,
        customer_id=customer_id,
        data=canonical(data or {}),
        prev_hash=head.last_hash,
        keyed=True,
    )
    entry.hash = entry_hash(audit_key(session), entry)
    session.add(entry)
    session.flush()
    head.last_id = entry.id
    head.last_hash = entry.hash
    return entry


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Session]:
    """A read-only session on one snapshot of the database."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        # SQLite: a transaction already reads one snapshot (and BEGIN IMMEDIATE holds writers).
        with Session(bind=conn) as s, s.begin():
            yield s


def verify_chain(engine: Engine, key: str, anchor_file: Path) -> tuple[bool, int, int | None]:
    """Recompute every hash and compare with the checkpoints; (valid, entries, first broken).

    The checkpoints are read before the snapshot is taken: each refers to an entry that was
    committed before it was written, so the snapshot must hold it, unchanged.
    """
    anchors = anchor.read(anchor_file, key)
    pending = dict(anchors.checkpoints)
    broken: int | None = None
    prev, count, keyed_seen, last_id = GENESIS_HASH, 0, False, 0
    with _snapshot(engine) as s:
        entries = s.execute(
            select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
        ).scalars()
        for entry in entries:
            count += 1
            keyed_seen = keyed_seen or entry.keyed
            expected = entry_hash(key if entry.keyed else None, entry)
            legacy_after_keyed = keyed_seen and not entry.keyed
            anchored = pending.pop(entry.id, entry.hash)
            if (
                entry.prev_hash != prev
                or entry.hash != expected
                or legacy_after_keyed
                or anchored != entry.hash
            ):
                broken = entry.id
                break
            prev, last_id = entry.hash, entry.id
        head = s.get(AuditHead, 1)
        if broken is None and head is not None and head.last_hash != prev:
            broken = head.last_id
    if broken is None and pending:
        # Anchored entries are gone: the chain was truncated after the last entry left.
        broken = last_id + 1
    if broken is None and not anchors.authentic:
        broken = anchors.first_forged or 0
    return broken is None, count, broken


def checkpoint(
    factory: sessionmaker[Session], anchor_file: Path, now: datetime
) -> anchor.Checkpoint | None:
    """Anchor the committed chain head if it moved since the last checkpoint."""
    with factory() as s:
        key = audit_key(s)
        head = s.get(AuditHead, 1)
        last_id, last_hash = (head.last_id, head.last_hash) if head else (0, GENESIS_HASH)
    if last_id == 0 or anchor.read(anchor_file, key).last_id >= last_id:
        return None
    return anchor.append(anchor_file, key, last_id, last_hash, now)


def ticket_entries(session: Session, reference: str) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry).where(AuditEntry.ticket_reference == reference).order_by(AuditEntry.id)
    )
    return list(session.execute(stmt).scalars())
