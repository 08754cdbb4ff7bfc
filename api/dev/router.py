"""Mounted only when RIGHTS_ENV=dev; in prod these paths do not exist (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.core.auth import NowDep, SettingsDep
from api.core.database import get_session
from api.core.errors import error_responses
from api.dev import service, sink
from api.dev.schemas import AppSessionRequest, AppSessionToken, DemoConsents
from api.notifications.schemas import OutboxItem, OutboxList
from api.subjects.service import reset_demo_consents

router = APIRouter(prefix="/v1/dev", tags=["dev"])


@router.get("/outbox", response_model=OutboxList, responses=error_responses(422))
def read_outbox(
    session: Annotated[Session, Depends(get_session)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OutboxList:
    """Lists the SMS and e-mails the service would have sent, newest first (development environment
    only).
    """
    return OutboxList(
        items=[
            OutboxItem.model_validate(m, from_attributes=True) for m in sink.newest(session, limit)
        ]
    )


@router.post(
    "/app-sessions",
    response_model=AppSessionToken,
    status_code=201,
    responses=error_responses(404, 422),
)
def app_session(
    body: AppSessionRequest,
    session: Annotated[Session, Depends(get_session)],
    settings: SettingsDep,
    now: NowDep,
) -> AppSessionToken:
    """Issues an app session token for a demo customer, as the app would pass it to the chat
    (development environment only).
    """
    return AppSessionToken(
        session_token=service.issue_app_session(session, settings, body.customer_id, now)
    )


@router.post("/demo-consents", response_model=DemoConsents, responses=error_responses(404, 422))
def reset_consents(
    body: AppSessionRequest,
    session: Annotated[Session, Depends(get_session)],
    settings: SettingsDep,
    now: NowDep,
) -> DemoConsents:
    """Gives a demo customer back the consents of the demo data, so that an unsubscribe can be
    shown again (development environment only).
    """
    consents = reset_demo_consents(session, settings.demo_customers_file, body.customer_id, now)
    return DemoConsents(customer_id=body.customer_id, consents=consents)
