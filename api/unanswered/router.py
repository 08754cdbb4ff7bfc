from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from api.core.auth import NowDep, SettingsDep, require_bot
from api.core.database import get_session
from api.core.errors import error_responses
from api.unanswered import service
from api.unanswered.schemas import UnansweredIn, UnansweredOut

router = APIRouter(
    prefix="/v1/unanswered", tags=["unanswered"], dependencies=[Depends(require_bot)]
)


@router.post("", status_code=201, response_model=UnansweredOut, responses=error_responses(401, 422))
def record_unanswered(
    body: UnansweredIn,
    settings: SettingsDep,
    now: NowDep,
    session: Annotated[Session, Depends(get_session)],
) -> UnansweredOut:
    """Records a question the bot abstained on, answered with a quote, or answered with a low
    margin, for the privacy team's review. The text is stored with mobiles, ID numbers, VINs
    and codes masked; questions older than the retention (at most 90 days) are deleted.
    """
    row = service.record(session, body, now, settings.unanswered_retention_days)
    return UnansweredOut.model_validate(row)
