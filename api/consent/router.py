from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from api.consent import service
from api.consent.schemas import ConsentEventOut, ConsentsOut
from api.core.auth import NowDep, StaffDep
from api.core.database import get_session
from api.core.errors import ApiError, error_responses
from api.subjects.models import Customer

router = APIRouter(prefix="/v1/subjects", tags=["consent"])


@router.get(
    "/{customer_id}/consents", response_model=ConsentsOut, responses=error_responses(401, 404)
)
def consents(
    customer_id: Annotated[str, Path(max_length=32)],
    staff: StaffDep,
    session: Annotated[Session, Depends(get_session)],
    now: NowDep,
) -> ConsentsOut:
    """Shows a customer's current consents per purpose and the history of changes, with the tickets
    that made them.
    """
    if session.get(Customer, customer_id) is None:
        raise ApiError(404, "customer_not_found", "no such customer", "path.customer_id")
    consents, history = service.read_for_staff(
        db_session=session, customer_id=customer_id, actor=staff, now=now
    )
    return ConsentsOut(
        customer_id=customer_id,
        consents=consents,
        history=[ConsentEventOut.model_validate(e, from_attributes=True) for e in history],
    )
