from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.audit.schemas import AuditEntryOut, AuditList
from api.core.database import get_session
from api.core.docs import STAFF_OR_SUBJECT
from api.core.errors import ApiError, error_responses
from api.core.security import (
    SubjectProof,
    get_settings,
    read_proof,
    require_bot,
    require_staff,
    require_subject,
    staff_id,
)
from api.core.settings import Settings
from api.notifications.service import dispatch_due_notices
from api.tickets import service
from api.tickets.rules import DELETION_TYPES
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
from contract import Actor

router = APIRouter(tags=["tickets"])

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Reference = Annotated[str, Path(max_length=20, description="PR-<year>-<6 digits>")]


_CREATE_RESPONSES = error_responses(400, 401, 403, 409, 422)
_CREATE_RESPONSES[200] = {"model": TicketOut, "description": "replay of an earlier request"}


@router.post("/v1/tickets", status_code=201, response_model=TicketOut, responses=_CREATE_RESPONSES)
def create(
    body: TicketCreate,
    request: Request,
    proof: Annotated[SubjectProof, Depends(require_subject)],
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> TicketOut | JSONResponse:
    """Files a rights request for the verified customer; the `Idempotency-Key` header makes a retry
    return the ticket already filed (200) instead of a second one.
    """
    created = service.create_ticket(
        request.app.state.session_factory,
        settings,
        request.app.state.policy,
        proof=proof,
        body=body,
        idempotency_key=idempotency_key,
        now=request.app.state.clock.now(),
    )
    out = TicketOut.of(created.ticket)
    if created.replayed:
        return JSONResponse(out.model_dump(mode="json"), status_code=200)
    return out


@router.get("/v1/tickets", response_model=TicketPage, responses=error_responses(401, 422))
def list_tickets(
    request: Request,
    staff: Annotated[str, Depends(require_staff)],
    session: SessionDep,
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
    now = request.app.state.clock.now()
    items, total = service.search(
        session,
        now=now,
        status=status,
        type=type,
        brand=brand,
        customer_id=customer_id,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    page = TicketPage(items=[TicketOut.of(t) for t in items], total=total)
    audit.append(
        session,
        now=now,
        actor=staff,
        action="staff.list_tickets",
        customer_id=customer_id,
        data={
            "status": status,
            "type": type,
            "brand": brand,
            "overdue": overdue,
            "returned": len(items),
        },
    )
    session.commit()
    return page


@router.get("/v1/subjects/me/tickets", response_model=TicketItems, responses=error_responses(401))
def my_tickets(
    proof: Annotated[SubjectProof, Depends(require_subject)], session: SessionDep
) -> TicketItems:
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
def read(
    reference: Reference, request: Request, session: SessionDep, settings: SettingsDep
) -> TicketOut:
    """Reads one ticket by its reference: staff read any ticket (and the read is audited), the bot
    reads only the verified customer's own.
    """
    now = request.app.state.clock.now()
    staff = staff_id(request)
    if staff is not None:
        ticket = service.get(session, reference)
        audit.append(
            session,
            now=now,
            actor=staff,
            action="staff.read_ticket",
            ticket_reference=ticket.reference,
            customer_id=ticket.customer_id,
        )
        session.commit()
        return TicketOut.of(ticket)
    if not request.headers.get("x-api-key"):
        raise ApiError(
            401,
            "unauthorized",
            "staff bearer token or X-API-Key with X-Subject-Proof required",
            "header.Authorization",
        )
    require_bot(request)
    proof_header = request.headers.get("x-subject-proof", "")
    if not proof_header:
        raise ApiError(
            401, "proof_required", "X-Subject-Proof is required", "header.X-Subject-Proof"
        )
    proof = read_proof(settings, proof_header, now)
    return TicketOut.of(service.get(session, reference, customer_id=proof.customer_id))


@router.post(
    "/v1/tickets/{reference}/transitions",
    response_model=TicketOut,
    responses=error_responses(401, 404, 409, 422),
)
def transition(
    reference: Reference,
    body: TransitionIn,
    request: Request,
    staff: Annotated[str, Depends(require_staff)],
    session: SessionDep,
    settings: SettingsDep,
) -> TicketOut:
    """Moves a ticket to another status with a reason; refusing names one of the policy's grounds,
    and `version` guards against a concurrent change.
    """
    ticket = service.transition(
        session,
        settings,
        request.app.state.policy,
        reference=reference,
        actor=Actor.STAFF,
        actor_id=staff,
        to_status=body.to_status,
        reason=body.reason,
        version=body.version,
        refusal_ground=body.refusal_ground,
        now=request.app.state.clock.now(),
    )
    if ticket.type in DELETION_TYPES and ticket.status == Status.COMPLETED:
        session.commit()  # end the read transaction: SQLite allows one writer at a time
        with request.app.state.session_factory() as s:
            dispatch_due_notices(s, request.app.state.clock.now(), settings.notice_max_attempts)
        session.expire_all()
        ticket = service.get(session, reference)
    out = TicketOut.of(ticket)
    session.commit()
    return out


@router.post(
    "/v1/tickets/{reference}/withdraw",
    response_model=TicketOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def withdraw(
    reference: Reference,
    body: WithdrawIn,
    request: Request,
    proof: Annotated[SubjectProof, Depends(require_subject)],
    session: SessionDep,
    settings: SettingsDep,
) -> TicketOut:
    """The customer withdraws an open request (bot with the customer's proof)."""
    ticket = service.transition(
        session,
        settings,
        request.app.state.policy,
        reference=reference,
        actor=Actor.BOT,
        actor_id=f"subject:{proof.customer_id}",
        to_status=Status.WITHDRAWN,
        reason=body.reason or "withdrawn by the customer",
        version=None,
        refusal_ground=None,
        now=request.app.state.clock.now(),
        customer_id=proof.customer_id,
        assurance=proof.assurance,
    )
    return TicketOut.of(ticket)


@router.post(
    "/v1/tickets/{reference}/delay-notices",
    response_model=TicketOut,
    responses=error_responses(401, 404, 409, 422),
)
def delay_notice(
    reference: Reference,
    body: DelayNoticeIn,
    request: Request,
    staff: Annotated[str, Depends(require_staff)],
    session: SessionDep,
) -> TicketOut:
    """Records that the customer was told the reply will be late, with the reason given."""
    return TicketOut.of(
        service.record_delay(
            session,
            reference=reference,
            reason=body.reason,
            actor_id=staff,
            now=request.app.state.clock.now(),
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
    request: Request,
    staff: Annotated[str, Depends(require_staff)],
    session: SessionDep,
) -> TicketOut:
    """Record a recipient's answer to a deletion notice (the ledger)."""
    return TicketOut.of(
        service.record_notice_reply(
            session,
            reference=reference,
            notice_id=notice_id,
            status=body.status,
            actor_id=staff,
            now=request.app.state.clock.now(),
        )
    )


@router.get(
    "/v1/tickets/{reference}/audit",
    response_model=AuditList,
    responses=error_responses(401, 404, 422),
)
def ticket_audit(
    reference: Reference,
    request: Request,
    staff: Annotated[str, Depends(require_staff)],
    session: SessionDep,
) -> AuditList:
    """The audit trail of one ticket, oldest first: who did what and when (the read is audited)."""
    ticket = service.get(session, reference)
    items = [AuditEntryOut.of(e) for e in audit.ticket_entries(session, reference)]
    audit.append(
        session,
        now=request.app.state.clock.now(),
        actor=staff,
        action="staff.read_audit",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
    )
    session.commit()
    return AuditList(items=items)
