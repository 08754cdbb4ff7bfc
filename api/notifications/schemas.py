from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class OutboxItem(BaseModel):
    kind: str
    to: str
    body: str
    created_at: datetime


class OutboxList(BaseModel):
    items: list[OutboxItem]
