from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from api.audit.models import AuditEntry


class AuditEntryOut(BaseModel):
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
    items: list[AuditEntryOut]


class AuditVerifyOut(BaseModel):
    valid: bool
    entries: int
    first_broken_id: int | None
