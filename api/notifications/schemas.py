from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

OUTBOX_ITEM_EXAMPLE: JsonDict = {
    "kind": "sms",
    "to": "13800138000",
    "body": "【MINI】您的验证码是 246810，5 分钟内有效。",
    "created_at": "2026-05-11T10:00:00+08:00",
}


class OutboxItem(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [OUTBOX_ITEM_EXAMPLE]})

    kind: str
    to: str
    body: str
    created_at: datetime


class OutboxList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [OUTBOX_ITEM_EXAMPLE]}]})

    items: list[OutboxItem]
