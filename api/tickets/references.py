"""Ticket references: PR-<year>-<6 digits>, one counter row per year."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from api.core.database import upsert
from api.tickets.models import TicketSequence


def next_reference(session: Session, year: int) -> str:
    """Bumped with UPDATE ... RETURNING, so the row is locked until the ticket commits."""
    bump = (
        update(TicketSequence)
        .where(TicketSequence.year == year)
        .values(last_value=TicketSequence.last_value + 1)
        .returning(TicketSequence.last_value)
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is None:
        session.execute(
            upsert(session, TicketSequence).values(year=year, last_value=0).on_conflict_do_nothing()
        )
        value = session.execute(bump).scalar_one()
    return f"PR-{year}-{value:06d}"
