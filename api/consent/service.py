"""Consent record: current state per purpose plus an append-only history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.consent.models import ConsentEvent, ConsentState


def record(
    session: Session,
    *,
    customer_id: str,
    purpose: str,
    granted: bool,
    source: str,
    now: datetime,
    actor: str,
    ticket_reference: str | None,
) -> ConsentEvent:
    """Change one purpose in the caller's transaction, with history and audit entry."""
    state = session.get(ConsentState, (customer_id, purpose))
    previous = None if state is None else state.granted
    if state is None:
        session.add(
            ConsentState(customer_id=customer_id, purpose=purpose, granted=granted, updated_at=now)
        )
    else:
        state.granted = granted
        state.updated_at = now
    event = ConsentEvent(
        customer_id=customer_id,
        purpose=purpose,
        granted=granted,
        source=source,
        ticket_reference=ticket_reference,
        created_at=now,
    )
    session.add(event)
    audit.append(
        session,
        now=now,
        actor=actor,
        action="consent.changed",
        ticket_reference=ticket_reference,
        customer_id=customer_id,
        data={"purpose": purpose, "granted": granted, "previous": previous, "source": source},
    )
    return event


def state(
    session: Session, customer_id: str, purpose: str, *, for_update: bool = False
) -> ConsentState | None:
    """One purpose's current state; `for_update` locks the row until the transaction ends."""
    return session.get(ConsentState, (customer_id, purpose), with_for_update=for_update)


def current(session: Session, customer_id: str) -> dict[str, bool]:
    stmt = select(ConsentState).where(ConsentState.customer_id == customer_id)
    return {s.purpose: s.granted for s in session.execute(stmt).scalars()}


def history(session: Session, customer_id: str) -> list[ConsentEvent]:
    stmt = (
        select(ConsentEvent)
        .where(ConsentEvent.customer_id == customer_id)
        .order_by(ConsentEvent.id)
    )
    return list(session.execute(stmt).scalars())
