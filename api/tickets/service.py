"""Tickets: filing (idempotent), transitions, notices, reads and due-date upkeep.

Every function that writes takes the request's session as `db_session` and owns its commit;
what a filing or a transition sets off is in `api.tickets.flows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.audit.models import AuditEntry
from api.consent import service as consent
from api.core.errors import ApiError
from api.core.policy import Policy
from api.core.settings import Settings
from api.core.tokens import SubjectProof
from api.tickets import due, flows, idempotency, rules
from api.tickets.details import validate_details
from api.tickets.models import Ticket, TicketNotice
from api.tickets.references import next_reference
from api.tickets.schemas import TicketCreate
from api.verification.models import ProofUse
from contract import Actor, Status
from privacy import masking


def _require_assurance(assurance: str, action: str, ticket_type: str) -> None:
    if not rules.subject_may(assurance, action, ticket_type):
        raise ApiError(
            403,
            "insufficient_assurance",
            f"{action} of {ticket_type} needs verification by "
            f"{rules.ASSURANCE_FLOOR[ticket_type]} or stronger",
            "header.X-Subject-Proof",
        )


def _local_iso(value: datetime) -> str:
    return value.astimezone(due.SHANGHAI).isoformat()


# ---------------------------------------------------------------- filing


@dataclass
class Created:
    ticket: Ticket
    replayed: bool


def create_ticket(
    body: TicketCreate,
    *,
    db_session: Session,
    proof: SubjectProof,
    idempotency_key: str | None,
    settings: Settings,
    policy: Policy,
    now: datetime,
) -> Created:
    key = idempotency.require_key(idempotency_key)
    _require_assurance(proof.assurance, "file", body.type)
    details = validate_details(policy, proof.brand, body.type, body.details)
    digest = idempotency.request_hash(proof, body)
    try:
        idempotency.claim(
            db_session, proof.customer_id, key, digest, now, settings.idempotency_wait_seconds
        )
        ticket = _file(db_session, settings, policy, proof, body, details, now)
        idempotency.complete(db_session, proof.customer_id, key, ticket)
        db_session.commit()
    except IntegrityError as exc:
        if not idempotency.is_taken(exc):
            raise
        # Another request with this key committed first: answer with its ticket.
        db_session.rollback()
        replayed = idempotency.replay(db_session, proof.customer_id, key, digest)
        return Created(ticket=replayed, replayed=True)
    db_session.refresh(ticket)
    return Created(ticket=ticket, replayed=False)


def _file(
    s: Session,
    settings: Settings,
    policy: Policy,
    proof: SubjectProof,
    body: TicketCreate,
    details: dict[str, Any],
    now: datetime,
) -> Ticket:
    # Single use: the proof's id is a primary key.
    try:
        s.add(ProofUse(jti=proof.jti, used_at=now))
        s.flush()
    except IntegrityError as exc:
        raise ApiError(
            409,
            "proof_used",
            "this subject proof has already filed a ticket; verify again",
            "header.X-Subject-Proof",
        ) from exc
    _refuse_if_in_effect(s, policy, body.type, proof.customer_id, details)
    due_at, provisional = due.due_at(now, proof.brand, body.type)
    ticket = Ticket(
        reference=next_reference(s, now.astimezone(due.SHANGHAI).year),
        type=str(body.type),
        status=str(Status.RECEIVED),
        brand=proof.brand,
        customer_id=proof.customer_id,
        channel=str(body.channel),
        language=str(body.language),
        assurance=proof.assurance,
        details=details,
        created_at=now,
        updated_at=now,
        due_at=due_at,
        due_at_provisional=provisional,
        version=1,
    )
    if body.type in rules.DELETION_TYPES:
        ticket.backup_rollover_at = due_at + timedelta(days=settings.backup_retention_days)
    s.add(ticket)
    s.flush()
    s.execute(update(ProofUse).where(ProofUse.jti == proof.jti).values(ticket_id=ticket.id))
    audit.append(
        s,
        now=now,
        actor=f"subject:{proof.customer_id}",
        action="ticket.created",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
        data={
            "type": ticket.type,
            "channel": ticket.channel,
            "assurance": proof.assurance,
            "due_at": due_at.isoformat(),
            "due_at_provisional": provisional,
        },
    )
    resolution = flows.take_effect(s, policy, ticket, now)
    if resolution is not None:  # took effect: completed in the filing transaction
        command = TransitionCommand(
            reference=ticket.reference,
            actor=Actor.SYSTEM,
            actor_id=Actor.SYSTEM,
            to_status=Status.COMPLETED,
            reason=resolution,
        )
        _apply(s, policy, ticket, command, now=now, backup_retention_days=None)
    flows.tell_customer(s, policy, ticket, now)
    return ticket


def _refuse_if_in_effect(
    s: Session, policy: Policy, ticket_type: str, customer_id: str, details: dict[str, Any]
) -> None:
    """An unsubscribe or withdrawal whose consent is already withdrawn changes nothing: 409,
    and nothing is filed. The consent row stays locked until the ticket is committed, so two
    requests for the same purpose cannot both find it granted."""
    purpose = policy.withdrawn_purpose(ticket_type, details)
    if purpose is None:
        return
    state = consent.state(s, customer_id, purpose, for_update=True)
    if state is None or state.granted:
        return
    from_details = policy.rules(ticket_type).consent_purpose is None
    raise ApiError(
        409,
        "already_in_effect",
        f"consent to {purpose} is already withdrawn; nothing was filed",
        "body.details.purpose" if from_details else "body.type",
        details=[{"purpose": purpose, "since": _local_iso(state.updated_at)}],
    )


# ---------------------------------------------------------------- transitions


@dataclass(frozen=True)
class TransitionCommand:
    """One move of a ticket: who asks (kind and id), to what, and why."""

    reference: str
    actor: Actor
    actor_id: str
    to_status: Status
    reason: str | None
    # What staff saw: a ticket moved since answers 409 version_conflict. None: not checked.
    version: int | None = None
    refusal_ground: str | None = None
    # Set for the customer's own move: only on their own ticket, with the type's assurance.
    customer_id: str | None = None
    assurance: str | None = None


def _check_refusal_ground(policy: Policy, command: TransitionCommand) -> None:
    ground = command.refusal_ground
    if command.to_status == Status.REFUSED:
        if ground is None:
            raise ApiError(
                422,
                "refusal_ground_required",
                "a refusal needs one of the policy's refusal grounds",
                "body.refusal_ground",
            )
        if ground not in policy.refusal_grounds:
            raise ApiError(
                422,
                "unknown_refusal_ground",
                "refusal_ground must be one of: " + ", ".join(policy.refusal_grounds),
                "body.refusal_ground",
            )
    elif ground is not None:
        raise ApiError(
            422,
            "refusal_ground_not_allowed",
            "refusal_ground is only for to_status=refused",
            "body.refusal_ground",
        )


def _apply(
    s: Session,
    policy: Policy,
    ticket: Ticket,
    command: TransitionCommand,
    *,
    now: datetime,
    backup_retention_days: int | None,
) -> None:
    """The transition table, the refusal grounds, then the move, its flows and its audit entry."""
    to_status, ground = command.to_status, command.refusal_ground
    reason = masking.mask_personal(command.reason) if command.reason else command.reason
    if not rules.allowed(command.actor, ticket.status, to_status):
        raise ApiError(
            409,
            "transition_not_allowed",
            f"{command.actor} may not move a ticket from {ticket.status} to {to_status}",
            "body.to_status",
        )
    _check_refusal_ground(policy, command)
    previous = ticket.status
    ticket.status = str(to_status)
    ticket.version += 1
    ticket.updated_at = now
    if to_status in rules.FINAL_STATUSES:
        ticket.completed_at = now
        ticket.resolution = reason
    if to_status == Status.REFUSED and ground is not None:
        ticket.refusal_ground = ground
        clause = policy.refusal_clauses[ticket.brand]
        words = policy.refusal_grounds[ground][ticket.language]
        ticket.resolution = f"{reason} [{clause}: {words}]"
    flows.on_moved(s, policy, ticket, now, backup_retention_days)
    audit.append(
        s,
        now=now,
        actor=command.actor_id,
        action="ticket.transition",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
        data={
            "from": previous,
            "to": to_status,
            "reason": reason,
            "refusal_ground": ground,
            "version": ticket.version,
        },
    )


def get_for_update(s: Session, reference: str) -> Ticket:
    """The ticket, locked until the transaction ends (PostgreSQL; SQLite serialises writes):
    parallel changes to one ticket are made one after the other."""
    stmt = select(Ticket).where(Ticket.reference == reference).with_for_update()
    ticket = s.execute(stmt).scalar_one_or_none()
    if ticket is None:
        raise _not_found()
    return ticket


def _not_found() -> ApiError:
    return ApiError(404, "ticket_not_found", "no such ticket", "path.reference")


def transition(
    command: TransitionCommand,
    *,
    db_session: Session,
    settings: Settings,
    policy: Policy,
    now: datetime,
) -> Ticket:
    """Moves a ticket (staff, or the customer through the bot), commits, then sends what the
    move set off. The one entry point for the API and the console."""
    ticket = get_for_update(db_session, command.reference)
    if command.customer_id is not None:
        if ticket.customer_id != command.customer_id:
            raise _not_found()
        # The customer's own actions need the same verification as filing the ticket type.
        _require_assurance(command.assurance or "", "withdraw", ticket.type)
    if command.version is not None and command.version != ticket.version:
        raise ApiError(
            409,
            "version_conflict",
            f"the ticket is at version {ticket.version}, not {command.version}; reload it",
            "body.version",
            details=[{"current_version": ticket.version}],
        )
    _apply(
        db_session,
        policy,
        ticket,
        command,
        now=now,
        backup_retention_days=settings.backup_retention_days,
    )
    reason = masking.mask_personal(command.reason) if command.reason else command.reason
    flows.tell_outcome(db_session, policy, ticket, reason, now)
    db_session.commit()
    flows.after_commit(db_session, ticket, settings, now)
    db_session.refresh(ticket)
    return ticket


# ---------------------------------------------------------------- notices


def record_delay(
    *,
    db_session: Session,
    reference: str,
    reason: str,
    actor_id: str,
    now: datetime,
    policy: Policy,
    settings: Settings,
) -> Ticket:
    """A delay is a notice on the ticket, sent to the customer, never a new due date."""
    reason = masking.mask_personal(reason)
    ticket = get_for_update(db_session, reference)
    if ticket.status in rules.FINAL_STATUSES:
        raise ApiError(409, "ticket_closed", "the ticket is closed", "path.reference")
    flows.tell_delay(db_session, policy, ticket, reason, now)
    audit.append(
        db_session,
        now=now,
        actor=actor_id,
        action="ticket.delay_notice",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
        data={"reason": reason},
    )
    db_session.commit()
    db_session.refresh(ticket)
    flows.after_commit(db_session, ticket, settings, now)
    return ticket


def record_notice_reply(
    *,
    db_session: Session,
    reference: str,
    notice_id: int,
    status: str,
    actor_id: str,
    now: datetime,
) -> Ticket:
    """A recipient answered a deletion notice: acknowledged, or holds no data (not_found)."""
    ticket = get_for_update(db_session, reference)
    notice = db_session.get(TicketNotice, notice_id)
    if notice is None or notice.ticket_id != ticket.id or notice.kind != "deletion_notice":
        raise ApiError(
            404, "notice_not_found", "no such deletion notice on this ticket", "path.notice_id"
        )
    if notice.status not in ("sent", "failed"):
        raise ApiError(409, "notice_not_sent", f"the notice is {notice.status}", "body.status")
    previous, notice.status, notice.updated_at = notice.status, status, now
    audit.append(
        db_session,
        now=now,
        actor=actor_id,
        action="ticket.notice_reply",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
        data={"notice": notice.id, "recipient": notice.recipient, "from": previous, "to": status},
    )
    db_session.commit()
    db_session.refresh(ticket)
    return ticket


# ---------------------------------------------------------------- reads


def get(s: Session, reference: str, customer_id: str | None = None) -> Ticket:
    ticket = s.execute(select(Ticket).where(Ticket.reference == reference)).scalar_one_or_none()
    if ticket is None or (customer_id is not None and ticket.customer_id != customer_id):
        raise _not_found()
    return ticket


def for_customer(s: Session, customer_id: str) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.customer_id == customer_id).order_by(Ticket.id.desc())
    return list(s.execute(stmt).scalars())


def search(
    s: Session,
    *,
    now: datetime,
    status: str | None = None,
    type: str | None = None,
    brand: str | None = None,
    customer_id: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Ticket], int]:
    conds: list[Any] = []
    if status:
        conds.append(Ticket.status == status)
    if type:
        conds.append(Ticket.type == type)
    if brand:
        conds.append(Ticket.brand == brand)
    if customer_id:
        conds.append(Ticket.customer_id == customer_id)
    if overdue is True:
        conds += [Ticket.due_at < now, Ticket.status.notin_(rules.FINAL_STATUSES)]
    elif overdue is False:
        conds.append((Ticket.due_at >= now) | Ticket.status.in_(rules.FINAL_STATUSES))
    total = s.execute(select(func.count()).select_from(Ticket).where(*conds)).scalar_one()
    stmt = select(Ticket).where(*conds).order_by(Ticket.id.desc()).limit(limit).offset(offset)
    return list(s.execute(stmt).scalars()), int(total)


def search_for_staff(
    *, db_session: Session, actor: str, now: datetime, **filters: Any
) -> tuple[list[Ticket], int]:
    """`search`, audited as a staff read of the queue (customer ids are personal data)."""
    items, total = search(db_session, now=now, **filters)
    audit.append(
        db_session,
        now=now,
        actor=actor,
        action="staff.list_tickets",
        customer_id=filters.get("customer_id"),
        data={
            "status": filters.get("status"),
            "type": filters.get("type"),
            "brand": filters.get("brand"),
            "overdue": filters.get("overdue"),
            "returned": len(items),
        },
    )
    db_session.commit()
    return items, total


def record_staff_read(
    ticket: Ticket, *, db_session: Session, actor: str, now: datetime, action: str
) -> None:
    """A staff read of one ticket (or of its audit trail) is itself audited."""
    audit.append(
        db_session,
        now=now,
        actor=actor,
        action=action,
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
    )
    db_session.commit()


def audit_trail(
    ticket: Ticket, *, db_session: Session, actor: str, now: datetime
) -> list[AuditEntry]:
    entries = list(audit.ticket_entries(db_session, ticket.reference))
    record_staff_read(
        ticket, db_session=db_session, actor=actor, now=now, action="staff.read_audit"
    )
    return entries


# ---------------------------------------------------------------- upkeep


def recompute_provisional(s: Session, now: datetime) -> int:
    """Recompute provisional due dates once the calendar knows their year."""
    changed = 0
    for ticket in s.execute(select(Ticket).where(Ticket.due_at_provisional.is_(True))).scalars():
        due_at, provisional = due.due_at(ticket.created_at, ticket.brand, ticket.type)
        if provisional:
            continue
        old = ticket.due_at
        ticket.due_at, ticket.due_at_provisional = due_at, False
        ticket.updated_at = now
        audit.append(
            s,
            now=now,
            actor=Actor.SYSTEM,
            action="ticket.due_recomputed",
            ticket_reference=ticket.reference,
            customer_id=ticket.customer_id,
            data={"from": old.isoformat(), "to": due_at.isoformat()},
        )
        changed += 1
    s.commit()
    return changed
