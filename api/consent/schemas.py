from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from contract import RIGHTS, TicketType

_MARKETING = str(RIGHTS.withdrawn_purpose(TicketType.UNSUBSCRIBE_MARKETING, {}))

CONSENT_EVENT_EXAMPLE: JsonDict = {
    "purpose": _MARKETING,
    "granted": False,
    "source": "ticket",
    "ticket_reference": "PR-2026-000124",
    "created_at": "2026-05-11T10:02:00+08:00",
}


class ConsentEventOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CONSENT_EVENT_EXAMPLE]})

    purpose: str
    granted: bool
    source: str
    ticket_reference: str | None
    created_at: datetime


_CONSENTS_EXAMPLE: JsonDict = {
    purpose: purpose != _MARKETING for purpose in RIGHTS.consent_purposes
}


class ConsentsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C-0001",
                    "consents": _CONSENTS_EXAMPLE,
                    "history": [CONSENT_EVENT_EXAMPLE],
                }
            ]
        }
    )

    customer_id: str
    consents: dict[str, bool]
    history: list[ConsentEventOut]
