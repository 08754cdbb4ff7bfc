from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contract import Assurance, Brand, Channel, Language, WayThrough

# The ways to start a check; an app session (the third assurance) is checked by its own route.
Method = Literal[Assurance.SMS_CODE, Assurance.PHONE_PASSWORD]
CheckStatus = Literal["verified", "invalid", "locked", "expired"]


class VerificationStart(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"method": "sms_code", "mobile": "13800138000", "channel": "chat", "language": "zh"}
            ]
        },
    )

    method: Method
    mobile: str = Field(min_length=3, max_length=32)
    channel: Channel = Channel.CHAT
    language: Language = Language.ZH  # language of the SMS text


class VerificationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "vrf_3f9a1c2e7b",
                    "method": "sms_code",
                    "masked_mobile": "138****8000",
                    "expires_at": "2026-05-11T10:05:00+08:00",
                    "attempts_left": 5,
                }
            ]
        }
    )

    id: str
    method: Method
    masked_mobile: str
    expires_at: datetime
    attempts_left: int


class CheckIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"code": "246810"}]},
    )

    code: str = Field(pattern=r"^[0-9]{4,12}$", description="the SMS code or the phone password")


class AppSessionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"session_token": "eyJjaWQiOiJDLTAwMDEifQ.aBcD.signature"}]
        },
    )

    session_token: str = Field(min_length=1, max_length=2000)


class Way(BaseModel):
    """A way through a lock: the app session for low-risk requests, the hotline agent for all."""

    way: WayThrough
    requests: Literal["low_risk", "all"]


WAYS_THROUGH = [
    Way(way=WayThrough.APP_SESSION, requests="low_risk"),
    Way(way=WayThrough.HOTLINE_AGENT, requests="all"),
]


class CheckOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "verified",
                    "attempts_left": 4,
                    "proof": "eyJqdGkiOiIuLi4ifQ.aBcD.signature",
                    "proof_expires_at": "2026-05-11T10:15:00+08:00",
                    "customer_id": "C-0001",
                    "brand": Brand.MINI,
                    "assurance": "sms_code",
                }
            ]
        }
    )

    status: CheckStatus
    attempts_left: int
    proof: str | None = None
    proof_expires_at: datetime | None = None
    customer_id: str | None = None
    brand: Brand | None = None
    assurance: Assurance | None = None
    # With `locked`: until when checks of this number from here (or, past the higher limit,
    # from anywhere) are refused, and what works meanwhile.
    locked_until: datetime | None = None
    ways_through: list[Way] = Field(default_factory=list)


class ProofRequest(BaseModel):
    """A further proof from a verified check, for another request of the same conversation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"customer_id": "C-0001", "assurance": "sms_code"}]},
    )

    customer_id: str = Field(
        min_length=1, max_length=32, description="the customer the conversation verified"
    )
    assurance: Assurance | None = Field(
        default=None,
        description="the least the request needs; refused when the check does not reach it",
    )


class ProofOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proof": "eyJqdGkiOiIuLi4ifQ.aBcD.signature",
                    "proof_expires_at": "2026-05-11T10:15:00+08:00",
                    "customer_id": "C-0001",
                    "brand": Brand.MINI,
                    "assurance": "sms_code",
                    "covered_until": "2026-05-11T10:10:00+08:00",
                }
            ]
        }
    )

    proof: str
    proof_expires_at: datetime
    customer_id: str
    brand: Brand
    assurance: Assurance
    # Until when the check issues further proofs to its conversation.
    covered_until: datetime
