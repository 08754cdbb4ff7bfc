from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from api.tickets import outcomes
from api.tickets.due import SHANGHAI
from api.tickets.models import Ticket, TicketNotice
from contract import FINAL_STATUSES, RIGHTS, Brand, Channel, Language, Status, TicketType

__all__ = ["Brand", "Channel", "Language", "Status", "TicketType"]  # the contract's, by name

Text = Field(min_length=1, max_length=2000)
ShortText = Field(min_length=1, max_length=200)


# ---------------------------------------------------------------- details by type


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoDetails(_Details):
    pass


class WithdrawConsentDetails(_Details):
    purpose: str = Field(max_length=40)


class CancelAccountDetails(_Details):
    reason: str | None = Field(default=None, max_length=2000)


class AccessCopyDetails(_Details):
    scope: str | None = Field(default=None, max_length=2000)


class RectificationDetails(_Details):
    field: str = ShortText
    corrected_value: str = ShortText
    current_value: str | None = Field(default=None, max_length=200)


class DeletionDetails(_Details):
    ground: str = Field(max_length=40)
    scope: str | None = Field(default=None, max_length=2000)


class PortabilityDetails(_Details):
    third_party: str = ShortText


class DecisionDetails(_Details):
    decision: str = Text


class ComplaintDetails(_Details):
    summary: str = Text


DETAILS_MODELS: dict[TicketType, type[_Details]] = {
    TicketType.UNSUBSCRIBE_MARKETING: NoDetails,
    TicketType.WITHDRAW_CONSENT: WithdrawConsentDetails,
    TicketType.CANCEL_ACCOUNT: CancelAccountDetails,
    TicketType.ACCESS_COPY: AccessCopyDetails,
    TicketType.RECTIFICATION: RectificationDetails,
    TicketType.DELETION: DeletionDetails,
    TicketType.PORTABILITY: PortabilityDetails,
    TicketType.DECISION_EXPLANATION: DecisionDetails,
    TicketType.COMPLAINT: ComplaintDetails,
}


class TicketCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": TicketType.WITHDRAW_CONSENT,
                    "channel": "chat",
                    "language": "zh",
                    "details": {"purpose": next(iter(RIGHTS.consent_purposes))},
                }
            ]
        },
    )

    type: TicketType
    channel: Channel
    language: Language
    details: dict[str, Any] = Field(
        default_factory=dict,
        description='by type, see the API table: e.g. withdraw_consent {"purpose"}',
    )


class TransitionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "to_status": Status.REFUSED,
                    "reason": "Same request answered on 2 May as PR-2026-000101.",
                    "version": 2,
                    "refusal_ground": "repeated_without_reason",
                }
            ]
        },
    )

    to_status: Status
    reason: str = Field(min_length=1, max_length=2000)
    version: int = Field(ge=1, le=2**31 - 1)
    refusal_ground: str | None = Field(default=None, max_length=40)


class WithdrawIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "I solved it with the dealer."}]},
    )

    reason: str | None = Field(default=None, max_length=2000)


class DelayNoticeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reason": "The archive copy must be restored before deletion is confirmed."}
            ]
        },
    )

    reason: str = Field(min_length=1, max_length=2000)


class NoticeReplyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "acknowledged"}]},
    )

    status: Literal["acknowledged", "not_found"]


NOTICE_EXAMPLE: JsonDict = {
    "id": 7,
    "kind": "deletion_notice",
    "recipient": "dealer",
    "status": "sent",
    "message": None,
    "body": None,
    "attempts": 1,
    "created_at": "2026-05-11T10:20:00+08:00",
    "updated_at": "2026-05-11T10:20:00+08:00",
}


class NoticeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [NOTICE_EXAMPLE]})

    id: int
    kind: str
    recipient: str | None
    status: str
    message: str | None
    body: str | None = Field(
        description="a notice to the customer: the text sent (SMS, and e-mail where on record)"
    )
    attempts: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, n: TicketNotice) -> NoticeOut:
        return cls.model_validate(n, from_attributes=True)


def _local(value: datetime) -> datetime:
    return value.astimezone(SHANGHAI)


def _closed_at(t: Ticket) -> datetime | None:
    if t.status not in FINAL_STATUSES:
        return None
    return _local(t.completed_at or t.updated_at)


TICKET_EXAMPLE: JsonDict = {
    "reference": "PR-2026-000123",
    "type": TicketType.DELETION,
    "status": Status.IN_PROGRESS,
    "brand": Brand.MINI,
    "customer_id": "C-0001",
    "channel": "chat",
    "language": "zh",
    "details": {"ground": "purpose_fulfilled", "scope": "trip history"},
    "created_at": "2026-05-11T10:00:00+08:00",
    "due_at": "2026-06-01T23:59:59+08:00",
    "due_at_provisional": False,
    "version": 2,
    "refusal_ground": None,
    "resolution": None,
    "backup_rollover_at": None,
    "closed_at": None,
    "outcome_text": None,
    "notices": [NOTICE_EXAMPLE],
}


class TicketOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [TICKET_EXAMPLE]})

    reference: str
    type: TicketType
    status: Status
    brand: Brand
    customer_id: str
    channel: Channel
    language: Language
    details: dict[str, Any]
    created_at: datetime
    due_at: datetime
    due_at_provisional: bool
    closed_at: datetime | None = Field(
        description="when the ticket reached a final status (completed, refused, withdrawn)"
    )
    version: int
    refusal_ground: str | None
    resolution: str | None
    backup_rollover_at: datetime | None
    outcome_text: str | None = Field(
        description="what the customer was told of the present state, in the request's "
        "language (completed, refused with the ground in words, awaiting the customer)"
    )
    notices: list[NoticeOut]

    @classmethod
    def of(cls, t: Ticket) -> TicketOut:
        # Times in Asia/Shanghai (+08:00): the due day is a Chinese calendar day.
        return cls(
            reference=t.reference,
            type=TicketType(t.type),
            status=Status(t.status),
            brand=Brand(t.brand),
            customer_id=t.customer_id,
            channel=Channel(t.channel),
            language=Language(t.language),
            details=t.details,
            created_at=_local(t.created_at),
            due_at=_local(t.due_at),
            due_at_provisional=t.due_at_provisional,
            closed_at=_closed_at(t),
            version=t.version,
            refusal_ground=t.refusal_ground,
            resolution=t.resolution,
            backup_rollover_at=_local(t.backup_rollover_at) if t.backup_rollover_at else None,
            outcome_text=outcomes.current_outcome(RIGHTS, t),
            notices=[NoticeOut.of(n) for n in t.notices],
        )


class TicketItems(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [TICKET_EXAMPLE]}]})

    items: list[TicketOut]


class TicketPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [TICKET_EXAMPLE], "total": 1}]}
    )

    items: list[TicketOut]
    total: int
