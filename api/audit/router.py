from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from api.audit import service
from api.audit.schemas import AuditVerifyOut
from api.core.database import get_session
from api.core.errors import error_responses
from api.core.security import require_staff

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/verify", response_model=AuditVerifyOut, responses=error_responses(401))
def verify(
    _staff: Annotated[str, Depends(require_staff)],
    session: Annotated[Session, Depends(get_session)],
) -> AuditVerifyOut:
    valid, entries, broken = service.verify_chain(session)
    return AuditVerifyOut(valid=valid, entries=entries, first_broken_id=broken)
