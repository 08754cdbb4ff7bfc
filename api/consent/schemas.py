from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ConsentEventOut(BaseModel):
    purpose: str
    granted: bool
    source: str
    ticket_reference: str | None
    created_at: datetime


class ConsentsOut(BaseModel):
    customer_id: str
    consents: dict[str, bool]
    history: list[ConsentEventOut]
