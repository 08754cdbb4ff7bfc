"""Ticket routes: thin. Who may call comes from dependencies; the service writes and commits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse

from api.audit.schemas import AuditEntryOut, AuditList
from api.core.auth import NowDep, SettingsDep, StaffDep, SubjectDep
from api.core.docs import STAFF_OR_SUBJECT
from api.core.errors import error_responses
from api.core.policy import PolicyDep
from api.tickets import service
from api.tickets.dependencies import ReaderDep, Reference, SessionDep, TicketDep
from api.tickets.schemas import (
    Brand,
    DelayNoticeIn,
    NoticeReplyIn,
    Status,
    TicketCreate,
    TicketItems,
    TicketOut,
    TicketPage,
    TicketType,
    TransitionIn,
    WithdrawIn,
)
from api.tickets.service import TransitionCommand
from contract import Actor

router = APIRouter(tags=["tickets"])

_CREATE_RESPONSES = error_responses(400, 401, 403, 409, 422)
_CREATE_RESPONSES[200] = {"model": TicketOut, "description": "replay of an earlier request"}


@router.post("/v1/tickets", status_code=201, response_model=TicketOut, responses=_CREATE_RESPONSES)
def create(
    body: TicketCreate,
    proof: SubjectDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    now: NowDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> TicketOut | JSONResponse:
    """Files a rights request for the verified customer; the `Idempotency-Key` header makes a retry
    return the ticket already filed (200) instead of a second one.
    """
    created = service.create_ticket(
        body,
        db_session=session,
        proof=proof,
        idempotency_key=idempotency_key,
        settings=settings,
        policy=policy,
        now=now,
    )
    out = TicketOut.of(created.ticket)
    if created.replayed:
        return JSONResponse(out.model_dump(mode="json"), status_code=200)
    return out


@router.get("/v1/tickets", response_model=TicketPage, responses=error_responses(401, 422))
def list_tickets(
    staff: StaffDep,
    session: SessionDep,
    now: NowDep,
    status: Status | None = None,
    type: TicketType | None = None,
    brand: Brand | None = None,
    customer_id: Annotated[str | None, Query(max_length=32)] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> TicketPage:
    """Lists tickets for the privacy team, newest first, filtered by status, type, brand, customer
    or overdue, a page at a time.
    """
    items, total = service.search_for_staff(
        db_session=session,
        actor=staff,
        now=now,
        status=status,
        type=type,
        brand=brand,
        customer_id=customer_id,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    return TicketPage(items=[TicketOut.of(t) for t in items], total=total)


@router.get("/v1/subjects/me/tickets", response_model=TicketItems, responses=error_responses(401))
def my_tickets(proof: SubjectDep, session: SessionDep) -> TicketItems:
    """Lists the verified customer's own tickets, for the status question in the chat."""
    return TicketItems(
        items=[TicketOut.of(t) for t in service.for_customer(session, proof.customer_id)]
    )


@router.get(
    "/v1/tickets/{reference}",
    response_model=TicketOut,
    responses=error_responses(401, 404, 422),
    # Authenticated in the body (staff, or the bot for the subject): declared for the docs.
    openapi_extra={"security": STAFF_OR_SUBJECT},
)
def read(ticket: TicketDep, reader: ReaderDep, session: SessionDep, now: NowDep) -> TicketOut:
    """Reads one ticket by its reference: staff read any ticket (and the read is audited), the bot
    reads only the verified customer's own.
    """
    out = TicketOut.of(ticket)
    if reader.staff is not None:
        service.record_staff_read(
            ticket, db_session=session, actor=reader.staff, now=now, action="staff.read_ticket"
        )
    return out


@router.post(
    "/v1/tickets/{reference}/transitions",
    response_model=TicketOut,
    responses=error_responses(401, 404, 409, 422),
)
def transition(
    reference: Reference,
    body: TransitionIn,
    staff: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    now: NowDep,
) -> TicketOut:
    """Moves a ticket to another status with a reason; refusing names one of the policy's grounds,
    and `version` guards against a concurrent change.
    """
    command = TransitionCommand(
        reference=reference,
        actor=Actor.STAFF,
        actor_id=staff,
        to_status=body.to_status,
        reason=body.reason,
        version=body.version,
        refusal_ground=body.refusal_ground,
    )
    return TicketOut.of(
        service.transition(command, db_session=session, settings=settings, policy=policy, now=now)
    )


@router.post(
    "/v1/tickets/{reference}/withdraw",
    response_model=TicketOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def withdraw(
    reference: Reference,
    body: WithdrawIn,
    proof: SubjectDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    now: NowDep,
) -> TicketOut:
    """The customer withdraws an open request (bot with the customer's proof)."""
    command = TransitionCommand(
        reference=reference,
        actor=Actor.BOT,
        actor_id=f"subject:{proof.customer_id}",
        to_status=Status.WITHDRAWN,
        reason=body.reason or "withdrawn by the customer",
        customer_id=proof.customer_id,
        assurance=proof.assurance,
    )
    return TicketOut.of(
        service.transition(command, db_session=session, settings=settings, policy=policy, now=now)
    )


@router.post(
    "/v1/tickets/{reference}/delay-notices",
    response_model=TicketOut,
    responses=error_responses(401, 404, 409, 422),
)
def delay_notice(
    reference: Reference,
    body: DelayNoticeIn,
    staff: StaffDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    policy: PolicyDep,
) -> TicketOut:
    """Tells the customer (SMS, and e-mail where one is on record) that the reply needs more
    time, with the reason given, and records the notice on the ticket; the due date stays."""
    return TicketOut.of(
        service.record_delay(
            db_session=session,
            reference=reference,
            reason=body.reason,
            actor_id=staff,
            now=now,
            policy=policy,
            settings=settings,
        )
    )


@router.post(
    "/v1/tickets/{reference}/notices/{notice_id}",
    response_model=TicketOut,
    responses=error_responses(401, 404, 409, 422),
)
def notice_reply(
    reference: Reference,
    notice_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: NoticeReplyIn,
    staff: StaffDep,
    session: SessionDep,
    now: NowDep,
) -> TicketOut:
    """Record a recipient's answer to a deletion notice (the ledger)."""
    return TicketOut.of(
        service.record_notice_reply(
            db_session=session,
            reference=reference,
            notice_id=notice_id,
            status=body.status,
            actor_id=staff,
            now=now,
        )
    )


@router.get(
    "/v1/tickets/{reference}/audit",
    response_model=AuditList,
    responses=error_responses(401, 404, 422),
)
def ticket_audit(
    reference: Reference, staff: StaffDep, session: SessionDep, now: NowDep
) -> AuditList:
    """The audit trail of one ticket, oldest first: who did what and when (the read is audited)."""
    ticket = service.get(session, reference)
    entries = service.audit_trail(ticket, db_session=session, actor=staff, now=now)
    return AuditList(items=[AuditEntryOut.of(e) for e in entries])
