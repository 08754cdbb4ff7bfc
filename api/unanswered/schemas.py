from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from contract import AnswerKind, Brand, Channel, Language

TOPIC_PATTERN = r"^(ask_policy/)?[a-z0-9_]{1,64}$"
CLAUSE_PATTERN = r"^[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,5}$"


class UnansweredIn(BaseModel):
    """What the bot reports of one answer: the question, what it said, and how sure it was."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand": Brand.MINI.value,
                    "language": "zh",
                    "channel": "chat",
                    "text": "车机是不是一直在上传位置啊",
                    "answer_kind": "abstain",
                    "topic": "ask_policy/location_data",
                    "clause": None,
                    "score": 0.21,
                    "margin": 0.04,
                }
            ]
        },
    )

    brand: Brand
    language: Language
    channel: Channel
    text: str = Field(min_length=1, max_length=1000)
    answer_kind: AnswerKind
    topic: str | None = Field(default=None, pattern=TOPIC_PATTERN)
    clause: str | None = Field(default=None, pattern=CLAUSE_PATTERN)
    score: float = Field(ge=0.0, le=1.0)
    margin: float = Field(ge=-1.0, le=1.0)


class UnansweredOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 17,
                    "brand": Brand.BMW.value,
                    "language": "en",
                    "channel": "chat",
                    "text": "does the app sell my data to advertisers",
                    "answer_kind": "quote",
                    "topic": None,
                    "clause": "bmw.3.2",
                    "score": 0.58,
                    "margin": 0.12,
                    "created_at": "2026-05-11T02:00:00Z",
                }
            ]
        },
    )

    id: int
    brand: str
    language: str
    channel: str
    text: str
    answer_kind: str
    topic: str | None
    clause: str | None
    score: float
    margin: float
    created_at: datetime
