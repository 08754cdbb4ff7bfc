from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AppSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=32)


class AppSessionToken(BaseModel):
    session_token: str
