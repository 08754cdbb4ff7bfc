"""Append-only, hash-chained audit log, keyed and anchored outside the database.

Each entry's hash is an HMAC-SHA256, under the audit key (a setting, never stored in the
database), of the previous hash and the entry's fields: whoever can write the database but
does not hold the key cannot recompute the chain after changing an entry. Keying is a fact of
the deployment, not of the rows: entries may be plain SHA-256 (`keyed` false, from before keying
began) only up to RIGHTS_AUDIT_UNKEYED_UNTIL (0 by default: none), so a chain rewritten unkeyed
is broken whatever its rows claim.

Appends are serialised by locking the single chain-head row (SELECT ... FOR UPDATE on
PostgreSQL; on SQLite every transaction already holds the write lock, BEGIN IMMEDIATE).
The head is checkpointed at intervals to the anchor files (`api.audit.anchor`), only once the
chain verifies from the last checkpoint of any instance to the head (entirely when none is
anchored yet: a new pod, a lost file), so a forged chain is never anchored; verification
reads the checkpoints first, then the whole chain in one snapshot (REPEATABLE READ on
PostgreSQL), so entries committed while it runs never make an intact chain look broken.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.audit import anchor
from api.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from api.core.clock import as_utc
from api.core.settings import Settings

log = logging.getLogger("api.audit")


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


def _first_broken(
    entries: Iterable[AuditEntry],
    key: str,
    unkeyed_until: int,
    prev: str,
    pending: dict[int, str],
    keyed_seen: bool = False,
) -> tuple[int, int | None, int, str]:
    """Walks entries in id order from `prev`: (entries read, first broken id or None, last
    good id, last good hash). An entry breaks the chain when it does not link to the one before,
    its hash does not hold, it is unkeyed past `unkeyed_until` or after a keyed one, or it has
    another hash than its checkpoint (popped from `pending`)."""
    count, last_id = 0, 0
    for entry in entries:
        count += 1
        unkeyed_allowed = entry.id <= unkeyed_until and not keyed_seen
        keyed_seen = keyed_seen or entry.keyed
        expected = entry_hash(key if entry.keyed else None, entry)
        anchored = pending.pop(entry.id, entry.hash)
        if (
            entry.prev_hash != prev
            or entry.hash != expected
            or (not entry.keyed and not unkeyed_allowed)
            or anchored != entry.hash
        ):
            return count, entry.id, last_id, prev
        prev, last_id = entry.hash, entry.id
    return count, None, last_id, prev


def _entries(s: Session, after_id: int = 0) -> Iterable[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id)
    return s.execute(stmt.execution_options(yield_per=1000)).scalars()


def verify_chain(engine: Engine, settings: Settings) -> tuple[bool, int, int | None]:
    """Recompute every hash and compare with the checkpoints; (valid, entries, first broken).

    The checkpoints (of every instance) are read before the snapshot is taken: each refers to
    an entry that was committed before it was written, so the snapshot must hold it, unchanged.
    """
    key = settings.audit_key
    anchors = anchor.read_all(settings.anchor_files, key)
    pending = dict(anchors.checkpoints)
    with _snapshot(engine) as s:
        count, broken, last_id, prev = _first_broken(
            _entries(s), key, settings.audit_unkeyed_until, GENESIS_HASH, pending
        )
        head = s.get(AuditHead, 1)
        if broken is None and head is not None and head.last_hash != prev:
            broken = head.last_id
    if broken is None and pending:
        # Anchored entries are gone: the chain was truncated after the last entry left.
        broken = last_id + 1
    if broken is None and not anchors.authentic:
        broken = anchors.first_forged or 0
    return broken is None, count, broken


def _unanchored_part_broken(
    s: Session, settings: Settings, anchors: anchor.Anchors, head: AuditHead
) -> int | None:
    """The first broken entry from the last checkpoint to the head (the whole chain when
    nothing is anchored yet), or None."""
    key, start = settings.audit_key, anchors.last_id
    prev, keyed_seen = GENESIS_HASH, False
    if start:
        anchored = s.get(AuditEntry, start)
        if anchored is None or anchored.hash != anchors.checkpoints[start]:
            return start
        prev, keyed_seen = anchored.hash, anchored.keyed
    _count, broken, last_id, prev = _first_broken(
        _entries(s, start), key, settings.audit_unkeyed_until, prev, {}, keyed_seen
    )
    if broken is None and (head.last_id, head.last_hash) != (last_id or start, prev):
        broken = head.last_id
    return broken


def checkpoint(engine: Engine, settings: Settings, now: datetime) -> anchor.Checkpoint | None:
    """Anchor the committed chain head if it moved since the last checkpoint of any instance,
    and only if the chain verifies up to it: from the last checkpoint, or entirely when there
    is none yet (a new instance, a lost anchor file). A broken chain is never anchored."""
    anchors = anchor.read_all(settings.anchor_files, settings.audit_key)
    with _snapshot(engine) as s:
        head = s.get(AuditHead, 1)
        if head is None or head.last_id == 0 or anchors.last_id >= head.last_id:
            return None
        if anchors.authentic:
            broken = _unanchored_part_broken(s, settings, anchors, head)
        else:
            broken = anchors.first_forged or 0
        last_id, last_hash = head.last_id, head.last_hash
    if broken is not None:
        log.error("audit chain broken at entry %s: not anchored", broken)
        return None
    return anchor.append(settings.anchor_path, settings.audit_key, last_id, last_hash, now)


def ticket_entries(session: Session, reference: str) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry).where(AuditEntry.ticket_reference == reference).order_by(AuditEntry.id)
    )
    return list(session.execute(stmt).scalars())
