from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.consent import service
from api.consent.schemas import ConsentEventOut, ConsentsOut
from api.core.database import get_session
from api.core.errors import ApiError, error_responses
from api.core.security import require_staff
from api.subjects.models import Customer

router = APIRouter(prefix="/v1/subjects", tags=["consent"])


@router.get(
    "/{customer_id}/consents", response_model=ConsentsOut, responses=error_responses(401, 404)
)
def consents(
    request: Request,
    customer_id: Annotated[str, Path(max_length=32)],
    staff: Annotated[str, Depends(require_staff)],
    session: Annotated[Session, Depends(get_session)],
) -> ConsentsOut:
    """Shows a customer's current consents per purpose and the history of changes, with the tickets
    that made them.
    """
    if session.get(Customer, customer_id) is None:
        raise ApiError(404, "customer_not_found", "no such customer", "path.customer_id")
    out = ConsentsOut(
        customer_id=customer_id,
        consents=service.current(session, customer_id),
        history=[
            ConsentEventOut.model_validate(e, from_attributes=True)
            for e in service.history(session, customer_id)
        ],
    )
    audit.append(
        session,
        now=request.app.state.clock.now(),
        actor=staff,
        action="staff.read_consents",
        customer_id=customer_id,
    )
    session.commit()
    return out
