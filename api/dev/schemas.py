from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contract import RIGHTS


class AppSessionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"customer_id": "C-0001"}]},
    )

    customer_id: str = Field(min_length=1, max_length=32)


class AppSessionToken(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"session_token": "eyJjaWQiOiJDLTAwMDEifQ.aBcD.signature"}]}
    )

    session_token: str


class DemoConsents(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"customer_id": "C-0001", "consents": dict.fromkeys(RIGHTS.consent_purposes, True)}
            ]
        }
    )

    customer_id: str
    consents: dict[str, bool]
