from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.audit import service
from api.audit.schemas import AuditVerifyOut
from api.core.auth import get_settings, require_staff
from api.core.errors import error_responses

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/verify", response_model=AuditVerifyOut, responses=error_responses(401))
def verify(request: Request, _staff: Annotated[str, Depends(require_staff)]) -> AuditVerifyOut:
    """Recomputes the keyed chain in one snapshot and checks it against the anchor file."""
    settings = get_settings(request)
    engine = request.app.state.engine
    valid, entries, broken = service.verify_chain(engine, settings)
    if valid:  # an intact chain is a good moment to anchor its head
        service.checkpoint(engine, settings, request.app.state.clock.now())
    return AuditVerifyOut(valid=valid, entries=entries, first_broken_id=broken)
