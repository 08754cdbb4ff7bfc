from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session

from api.core.auth import NowDep, SettingsDep, require_bot
from api.core.clients import caller_of
from api.core.database import get_session
from api.core.errors import error_responses
from api.verification import service
from api.verification.schemas import (
    AppSessionIn,
    CheckIn,
    CheckOut,
    ProofOut,
    ProofRequest,
    VerificationOut,
    VerificationStart,
)

router = APIRouter(
    prefix="/v1/verifications", tags=["verification"], dependencies=[Depends(require_bot)]
)

SessionDep = Annotated[Session, Depends(get_session)]


@router.post(
    "", status_code=201, response_model=VerificationOut, responses=error_responses(401, 422, 429)
)
def start(
    body: VerificationStart,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> VerificationOut:
    """Starts an identity check: sends a one-time code by SMS to the mobile number, or prepares a
    phone-password check for the hotline. It answers the same for a number that is not
    registered as for one that is. The bot names its customer in `X-Conversation-Id`,
    `X-Client-Address` and, on the hotline, `X-Caller-Line`: starts are limited per
    conversation, address and number, and wrong guesses counted per source.
    """
    return service.start(
        db_session=session,
        settings=settings,
        method=body.method,
        mobile=body.mobile,
        channel=body.channel,
        language=body.language,
        caller=caller_of(request),
        now=now,
    )


@router.post("/app-session", response_model=CheckOut, responses=error_responses(401, 422))
def app_session(
    body: AppSessionIn, session: SessionDep, settings: SettingsDep, now: NowDep
) -> CheckOut:
    """Exchanges an app session token that the app passed for a subject proof of the `app_session`
    assurance, which suffices for low-risk requests only.
    """
    return service.check_app_session(
        db_session=session, settings=settings, token=body.session_token, now=now
    )


@router.post("/{id}/check", response_model=CheckOut, responses=error_responses(401, 404, 422))
def check(
    id: Annotated[str, Path(max_length=64)],
    body: CheckIn,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> CheckOut:
    """Checks the code or phone password of a started verification; on success it returns a
    short-lived subject proof, otherwise the attempts left or that the check is locked or expired.
    """
    return service.check(
        db_session=session, settings=settings, challenge_id=id, code=body.code, now=now
    )


@router.post(
    "/{id}/proofs",
    status_code=201,
    response_model=ProofOut,
    responses=error_responses(401, 403, 404, 422),
)
def reissue(
    id: Annotated[str, Path(max_length=64)],
    body: ProofRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ProofOut:
    """Issues a further single-use subject proof from a verified check, so that a customer who
    verified a moment ago is not sent a new code for the next request of the same
    conversation. Only the conversation that started the check (`X-Conversation-Id`) gets one,
    for the customer it verified, within the cover (10 minutes by default), at the check's
    assurance at most; the proof is good in that conversation only.
    """
    return service.reissue(
        db_session=session,
        settings=settings,
        challenge_id=id,
        customer_id=body.customer_id,
        assurance=body.assurance,
        caller=caller_of(request),
        now=now,
    )
