"""Request dependencies of the ticket routes: who reads, and the ticket they may read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from api.core.auth import require_subject, staff_id
from api.core.database import get_session
from api.core.errors import ApiError
from api.core.tokens import SubjectProof
from api.tickets import service
from api.tickets.models import Ticket

Reference = Annotated[str, Path(max_length=20, description="PR-<year>-<6 digits>")]
SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Reader:
    """A staff member (any ticket) or a verified customer through the bot (their own only)."""

    staff: str | None = None
    proof: SubjectProof | None = None


def staff_or_subject(request: Request) -> Reader:
    staff = staff_id(request)
    if staff is not None:
        return Reader(staff=staff)
    if not request.headers.get("x-api-key"):
        raise ApiError(
            401,
            "unauthorized",
            "staff bearer token or X-API-Key with X-Subject-Proof required",
            "header.Authorization",
        )
    return Reader(proof=require_subject(request))


ReaderDep = Annotated[Reader, Depends(staff_or_subject)]


def ticket_by_reference(reference: Reference, reader: ReaderDep, session: SessionDep) -> Ticket:
    """The ticket the reader may see; 404 for an unknown one and for someone else's."""
    owner = reader.proof.customer_id if reader.proof is not None else None
    return service.get(session, reference, customer_id=owner)


TicketDep = Annotated[Ticket, Depends(ticket_by_reference)]
