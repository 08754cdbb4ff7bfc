from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from api.audit.models import AuditEntry
from contract import Status

AUDIT_ENTRY_EXAMPLE: JsonDict = {
    "id": 41,
    "created_at": "2026-05-11T02:00:00Z",
    "actor": "staff:5316a0ce5865",
    "action": "ticket.transition",
    "ticket_reference": "PR-2026-000123",
    "customer_id": "C-0001",
    "data": {"from": Status.RECEIVED, "to": Status.IN_PROGRESS},
    "hash": "9f2c4e1a" + "0" * 56,
}


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [AUDIT_ENTRY_EXAMPLE]})

    id: int
    created_at: datetime
    actor: str
    action: str
    ticket_reference: str | None
    customer_id: str | None
    data: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        return cls(
            id=e.id,
            created_at=e.created_at,
            actor=e.actor,
            action=e.action,
            ticket_reference=e.ticket_reference,
            customer_id=e.customer_id,
            data=json.loads(e.data),
            hash=e.hash,
        )


class AuditList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [AUDIT_ENTRY_EXAMPLE]}]})

    items: list[AuditEntryOut]


class AuditVerifyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"valid": True, "entries": 128, "first_broken_id": None}]}
    )

    valid: bool
    entries: int
    first_broken_id: int | None
