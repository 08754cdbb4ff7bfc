from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

CONSENT_EVENT_EXAMPLE: JsonDict = {
    "purpose": "marketing",
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


class ConsentsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C-0001",
                    "consents": {"marketing": False, "dealer_sharing": True},
                    "history": [CONSENT_EVENT_EXAMPLE],
                }
            ]
        }
    )

    customer_id: str
    consents: dict[str, bool]
    history: list[ConsentEventOut]
