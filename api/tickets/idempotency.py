"""The Idempotency-Key of ticket creation: claimed in the ticket's own transaction.

Keys are scoped per customer (the proof's subject): another customer's key is a new request.

The key is inserted in the same transaction as the ticket: it is committed with the ticket or
not at all, so a request that dies leaves nothing behind and no claim ever goes stale. A
concurrent request with the same key waits on the unique index until the owner commits (then
replays its ticket) or rolls back (then proceeds); past the wait it answers 409
`idempotency_in_flight`, however slow the owner is. SQLite serialises whole write transactions
instead (BEGIN IMMEDIATE), so there the second request simply waits.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from api.audit.service import canonical
from api.core.database import is_postgres
from api.core.errors import ApiError
from api.core.tokens import SubjectProof
from api.tickets.models import IdempotencyKey, Ticket
from api.tickets.schemas import TicketCreate

MAX_KEY_LENGTH = 200
_FIELD = "header.Idempotency-Key"


def require_key(key: str | None) -> str:
    if not key:
        raise ApiError(
            400, "idempotency_key_required", "the Idempotency-Key header is required", _FIELD
        )
    if len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"Idempotency-Key is at most {MAX_KEY_LENGTH} characters",
            _FIELD,
        )
    return key


def request_hash(proof: SubjectProof, body: TicketCreate) -> str:
    data = {"customer_id": proof.customer_id, "body": body.model_dump()}
    return hashlib.sha256(canonical(data).encode()).hexdigest()


def _lock_wait(session: Session, seconds: float | None) -> None:
    """PostgreSQL: how long to wait for a lock held by another transaction (None: default)."""
    if is_postgres(session):
        value = "DEFAULT" if seconds is None else f"'{int(seconds * 1000)}ms'"
        session.execute(text(f"SET LOCAL lock_timeout = {value}"))


def claim(
    session: Session, customer_id: str, key: str, digest: str, now: datetime, wait_seconds: float
) -> None:
    """Inserts the customer's key in the open transaction; waits at most `wait_seconds` for its
    owner."""
    _lock_wait(session, wait_seconds)
    try:
        session.add(
            IdempotencyKey(
                customer_id=customer_id,
                key=key,
                request_hash=digest,
                state="in_flight",
                created_at=now,
            )
        )
        session.flush()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            raise _in_flight() from exc
        raise
    _lock_wait(session, None)


def complete(session: Session, customer_id: str, key: str, ticket: Ticket) -> None:
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.customer_id == customer_id, IdempotencyKey.key == key)
        .values(state="done", ticket_id=ticket.id)
    )


def is_taken(exc: IntegrityError) -> bool:
    """Whether an integrity error is another request having committed the same key first."""
    return "idempotency" in str(exc.orig).lower()


def replay(session: Session, customer_id: str, key: str, digest: str) -> Ticket:
    """The ticket the customer's earlier request with the key filed; another body with the key
    is 422."""
    stmt = select(IdempotencyKey).where(
        IdempotencyKey.customer_id == customer_id, IdempotencyKey.key == key
    )
    row = session.execute(stmt).scalar_one()
    if row.request_hash != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used with another request",
            _FIELD,
        )
    if row.ticket_id is None:  # a claim of the old scheme (migrated away); never expected
        raise _in_flight()
    return session.execute(select(Ticket).where(Ticket.id == row.ticket_id)).scalar_one()


def _in_flight() -> ApiError:
    return ApiError(
        409,
        "idempotency_in_flight",
        "a request with this Idempotency-Key is still being processed",
        _FIELD,
        headers={"Retry-After": "1"},
    )
