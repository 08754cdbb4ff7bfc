"""Dev-only helpers: stand-ins for what the mobile app and the SMS gateway would do."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.core.errors import ApiError
from api.core.settings import Settings
from api.core.tokens import sign_app_session
from api.subjects.models import Customer


def issue_app_session(session: Session, settings: Settings, customer_id: str, now: datetime) -> str:
    if session.get(Customer, customer_id) is None:
        raise ApiError(404, "customer_not_found", "no such customer", "body.customer_id")
    return sign_app_session(settings, customer_id, now)
