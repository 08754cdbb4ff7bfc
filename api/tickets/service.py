"""Ticket creation (idempotent), transitions, reads and due-date upkeep."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.audit import service as audit
from api.audit.service import canonical
from api.consent import service as consent
from api.core.database import is_postgres, upsert
from api.core.errors import ApiError, dotted, validation_details
from api.core.policy import Policy
from api.core.security import SubjectProof
from api.core.settings import Settings
from api.notifications import service as outbox
from api.subjects.models import Customer
from api.tickets import due, rules
from api.tickets.models import IdempotencyKey, Ticket, TicketNotice, TicketSequence
from api.tickets.schemas import DETAILS_MODELS, TicketCreate
from api.verification.models import ProofUse
from contract import Actor, Language, Status, TicketType
from privacy import masking

log = logging.getLogger("api.tickets")


# ---------------------------------------------------------------- validation

def _require_assurance(assurance: str, action: str, ticket_type: str) -> None:
    if not rules.subject_may(assurance, action, ticket_type):
        raise ApiError(
            403,
            "insufficient_assurance",
            f"{action} of {ticket_type} needs verification by "
            f"{rules.ASSURANCE_FLOOR[ticket_type]} or stronger",
            "header.X-Subject-Proof",
        )


def validate_details(
    policy: Policy, brand: str, ticket_type: str, details: dict[str, Any]
) -> dict[str, Any]:
    model = DETAILS_MODELS[TicketType(ticket_type)]
    try:
        parsed = model.model_validate(details)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [
            {**e, "loc": ("body", "details", *e["loc"])} for e in exc.errors()
        ]
        field = dotted(errors[0]["loc"])
        raise ApiError(
            422,
            "invalid_details",
            f"{field}: {errors[0]['msg']}",
            field,
            validation_details(errors),
        ) from exc
    clean = parsed.model_dump(exclude_none=True)
    purposes = policy.consent_purposes
    if ticket_type == TicketType.WITHDRAW_CONSENT and clean["purpose"] not in purposes:
        raise ApiError(
            422,
            "unknown_purpose",
            "purpose must be one of: " + ", ".join(policy.consent_purposes),
            "body.details.purpose",
        )
    grounds = policy.deletion_ground_ids(brand)
    if ticket_type == TicketType.DELETION and clean["ground"] not in grounds:
        raise ApiError(
            422,
            "unknown_deletion_ground",
            f"ground must be one of the {brand} "
            "policy's: " + ", ".join(policy.deletion_ground_ids(brand)),
            "body.details.ground",
        )
    # ID-card numbers, mobiles and typed codes never rest in plain text, not even in details.
    return {k: masking.mask_personal(v) if isinstance(v, str) else v for k, v in clean.items()}


# ---------------------------------------------------------------- references


def next_reference(session: Session, year: int) -> str:
    """PR-<year>-<6 digits>: a row per year, bumped with UPDATE ... RETURNING (row-locked)."""
    bump = (
        update(TicketSequence)
        .where(TicketSequence.year == year)
        .values(last_value=TicketSequence.last_value + 1)
        .returning(TicketSequence.last_value)
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is None:
        session.execute(
            upsert(session, TicketSequence).values(year=year, last_value=0).on_conflict_do_nothing()
        )
        value = session.execute(bump).scalar_one()
    return f"PR-{year}-{value:06d}"


# ---------------------------------------------------------------- creation


@dataclass
class Created:
    ticket: Ticket
    replayed: bool


def request_hash(proof: SubjectProof, body: TicketCreate) -> str:
    data = {"customer_id": proof.customer_id, "body": body.model_dump()}
    return hashlib.sha256(canonical(data).encode()).hexdigest()


def _lock_wait(s: Session, seconds: float | None) -> None:
    """PostgreSQL: how long to wait for a lock held by another transaction (None: default)."""
    if is_postgres(s):
        value = "DEFAULT" if seconds is None else f"'{int(seconds * 1000)}ms'"
        s.execute(text(f"SET LOCAL lock_timeout = {value}"))


def _claim_key(s: Session, key: str, digest: str, now: datetime, wait_seconds: float) -> None:
    """Insert the key in the ticket's own transaction: it is committed with the ticket or not
    at all, so a request that dies leaves nothing behind and no claim ever goes stale.

    A concurrent request with the same key waits on the unique index until the owner commits
    (then replays its ticket) or rolls back (then proceeds); past `wait_seconds` it answers
    409 `idempotency_in_flight`, however slow the owner is. SQLite serialises whole write
    transactions instead (BEGIN IMMEDIATE), so there the second request simply waits.
    """
    _lock_wait(s, wait_seconds)
    try:
        s.add(IdempotencyKey(key=key, request_hash=digest, state="in_flight", created_at=now))
        s.flush()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            raise _in_flight() from exc
        raise
    _lock_wait(s, None)


def _in_flight() -> ApiError:
    return ApiError(
        409,
        "idempotency_in_flight",
        "a request with this Idempotency-Key is still being processed",
        "header.Idempotency-Key",
        headers={"Retry-After": "1"},
    )


def _replay(factory: sessionmaker[Session], key: str, digest: str) -> Ticket:
    with factory() as s:
        row = s.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).scalar_one()
        if row.request_hash != digest:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with another request",
                "header.Idempotency-Key",
            )
        if row.ticket_id is None:  # a claim of the old scheme (migrated away); never expected
            raise _in_flight()
        return s.execute(select(Ticket).where(Ticket.id == row.ticket_id)).scalar_one()


def create_ticket(
    factory: sessionmaker[Session],
    settings: Settings,
    policy: Policy,
    *,
    proof: SubjectProof,
    body: TicketCreate,
    idempotency_key: str | None,
    now: datetime,
) -> Created:
    if not idempotency_key:
        raise ApiError(
            400,
            "idempotency_key_required",
            "the Idempotency-Key header is required",
            "header.Idempotency-Key",
        )
    if len(idempotency_key) > 200:
        raise ApiError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key is at most 200 characters",
            "header.Idempotency-Key",
        )
    _require_assurance(proof.assurance, "file", body.type)
    details = validate_details(policy, proof.brand, body.type, body.details)

    digest = request_hash(proof, body)
    try:
        with factory() as s:
            _claim_key(s, idempotency_key, digest, now, settings.idempotency_wait_seconds)
            ticket = _create_in(s, settings, policy, proof, body, details, now)
            s.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key == idempotency_key)
                .values(state="done", ticket_id=ticket.id)
            )
            s.commit()
            s.refresh(ticket)
            return Created(ticket=ticket, replayed=False)
    except IntegrityError as exc:
        if "idempotency" not in str(exc.orig).lower():
            raise
    # Another request with this key committed first: answer with its ticket.
    return Created(ticket=_replay(factory, idempotency_key, digest), replayed=True)


def _create_in(
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
    actor = f"subject:{proof.customer_id}"
    audit.append(
        s,
        now=now,
        actor=actor,
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
    _auto_complete(s, policy, ticket, now)
    _tell_customer(s, policy, ticket, now)
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


def _local_iso(value: datetime) -> str:
    return value.astimezone(due.SHANGHAI).isoformat()


def _auto_complete(s: Session, policy: Policy, ticket: Ticket, now: datetime) -> None:
    """Requests that take effect at once complete in the creating transaction."""
    if not policy.takes_effect_at_once(ticket.type, ticket.brand):
        return
    lang = ticket.language
    purpose = policy.withdrawn_purpose(ticket.type, ticket.details)
    if purpose is not None:
        consent.record(
            s,
            customer_id=ticket.customer_id,
            purpose=purpose,
            granted=False,
            source=ticket.type,
            now=now,
            actor=Actor.SYSTEM,
            ticket_reference=ticket.reference,
        )
        text = policy.consent_purposes[purpose][lang]
        resolution = f"已撤回同意：{text}" if lang == Language.ZH else f"Consent withdrawn: {text}"
    else:
        resolution = policy.automated_decisions[ticket.brand]["answer"][lang]
    _apply(
        s,
        policy,
        ticket,
        actor=Actor.SYSTEM,
        to_status=Status.COMPLETED,
        reason=resolution,
        refusal_ground=None,
        now=now,
        settings_retention=None,
    )


def _tell_customer(s: Session, policy: Policy, ticket: Ticket, now: datetime) -> None:
    """The filed request by SMS to the registered mobile: the reference stays with the customer
    whatever happens to the conversation."""
    customer = s.get(Customer, ticket.customer_id)
    if customer is None:
        return
    took_effect = ticket.status == Status.COMPLETED
    outbox.enqueue(
        s,
        kind="sms",
        to=customer.mobile_e164,
        now=now,
        body=outbox.request_filed_body(
            reference=ticket.reference,
            request=policy.type_label(ticket.type, ticket.language),
            due_on=None if took_effect else ticket.due_at.astimezone(due.SHANGHAI).date(),
            brand=ticket.brand,
            language=ticket.language,
        ),
    )


# ---------------------------------------------------------------- transitions


def _apply(
    s: Session,
    policy: Policy,
    ticket: Ticket,
    *,
    actor: str,
    to_status: str,
    reason: str | None,
    refusal_ground: str | None,
    now: datetime,
    settings_retention: int | None,
    actor_id: str | None = None,
) -> None:
    kind = actor
    reason = masking.mask_personal(reason) if reason else reason  # free text, as details
    if not rules.allowed(kind, ticket.status, to_status):
        raise ApiError(
            409,
            "transition_not_allowed",
            f"{kind} may not move a ticket from {ticket.status} to {to_status}",
            "body.to_status",
        )
    if to_status == Status.REFUSED:
        if refusal_ground is None:
            raise ApiError(
                422,
                "refusal_ground_required",
                "a refusal needs one of the policy's refusal grounds",
                "body.refusal_ground",
            )
        if refusal_ground not in policy.refusal_grounds:
            raise ApiError(
                422,
                "unknown_refusal_ground",
                "refusal_ground must be one of: " + ", ".join(policy.refusal_grounds),
                "body.refusal_ground",
            )
    elif refusal_ground is not None:
        raise ApiError(
            422,
            "refusal_ground_not_allowed",
            "refusal_ground is only for to_status=refused",
            "body.refusal_ground",
        )
    previous = ticket.status
    ticket.status = str(to_status)
    ticket.version += 1
    ticket.updated_at = now
    if to_status in rules.FINAL_STATUSES:
        ticket.completed_at = now
        ticket.resolution = reason
    if to_status == Status.REFUSED and refusal_ground is not None:
        ticket.refusal_ground = refusal_ground
        g = policy.refusal_grounds[refusal_ground]
        clause = policy.refusal_clauses[ticket.brand]
        ticket.resolution = f"{reason} [{clause}: {g[ticket.language]}]"
    if to_status == Status.COMPLETED and ticket.type in rules.DELETION_TYPES:
        if settings_retention is not None:
            ticket.backup_rollover_at = now + timedelta(days=settings_retention)
        _queue_deletion_notices(s, policy, ticket, now)
    audit.append(
        s,
        now=now,
        actor=actor_id or actor,
        action="ticket.transition",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
        data={
            "from": previous,
            "to": to_status,
            "reason": reason,
            "refusal_ground": refusal_ground,
            "version": ticket.version,
        },
    )


def _queue_deletion_notices(s: Session, policy: Policy, ticket: Ticket, now: datetime) -> None:
    for recipient in policy.deletion_recipients.get(ticket.brand, []):
        message = (
            f"Ticket {ticket.reference}: please delete the personal information of "
            f"customer {ticket.customer_id} ({ticket.type}); acknowledge to the "
            "privacy team."
        )
        s.add(
            TicketNotice(
                ticket_id=ticket.id,
                kind="deletion_notice",
                recipient=recipient["id"],
                status="queued",
                message=message,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    s.flush()


def _locked_ticket(s: Session, reference: str) -> Ticket:
    stmt = select(Ticket).where(Ticket.reference == reference).with_for_update()
    ticket = s.execute(stmt).scalar_one_or_none()
    if ticket is None:
        raise ApiError(404, "ticket_not_found", "no such ticket", "path.reference")
    return ticket


def transition(
    s: Session,
    settings: Settings,
    policy: Policy,
    *,
    reference: str,
    actor: str,
    actor_id: str,
    to_status: str,
    reason: str | None,
    version: int | None,
    refusal_ground: str | None,
    now: datetime,
    customer_id: str | None = None,
    assurance: str | None = None,
) -> Ticket:
    ticket = _locked_ticket(s, reference)
    if customer_id is not None and ticket.customer_id != customer_id:
        raise ApiError(404, "ticket_not_found", "no such ticket", "path.reference")
    if customer_id is not None:
        # The customer's own actions need the same verification as filing the ticket type.
        _require_assurance(assurance or "", "withdraw", ticket.type)
    if version is not None and version != ticket.version:
        raise ApiError(
            409,
            "version_conflict",
            f"the ticket is at version {ticket.version}, not {version}; reload it",
            "body.version",
            details=[{"current_version": ticket.version}],
        )
    _apply(
        s,
        policy,
        ticket,
        actor=actor,
        to_status=to_status,
        reason=reason,
        refusal_ground=refusal_ground,
        now=now,
        settings_retention=settings.backup_retention_days,
        actor_id=actor_id,
    )
    s.commit()
    s.refresh(ticket)
    return ticket


def record_delay(
    s: Session, *, reference: str, reason: str, actor_id: str, now: datetime
) -> Ticket:
    """A delay is a notice on the ticket, never a new due date."""
    reason = masking.mask_personal(reason)
    ticket = _locked_ticket(s, reference)
    if ticket.status in rules.FINAL_STATUSES:
        raise ApiError(409, "ticket_closed", "the ticket is closed", "path.reference")
    s.add(
        TicketNotice(
            ticket_id=ticket.id,
            kind="delay",
            recipient="customer",
            status="recorded",
            message=reason,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
    )
    audit.append(
        s,
        now=now,
        actor=actor_id,
        action="ticket.delay_notice",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
        data={"reason": reason},
    )
    s.commit()
    s.refresh(ticket)
    return ticket


def record_notice_reply(
    s: Session, *, reference: str, notice_id: int, status: str, actor_id: str, now: datetime
) -> Ticket:
    """A recipient answered a deletion notice: acknowledged, or holds no data (not_found)."""
    ticket = _locked_ticket(s, reference)
    notice = s.get(TicketNotice, notice_id)
    if notice is None or notice.ticket_id != ticket.id or notice.kind != "deletion_notice":
        raise ApiError(
            404, "notice_not_found", "no such deletion notice on this ticket", "path.notice_id"
        )
    if notice.status not in ("sent", "failed"):
        raise ApiError(409, "notice_not_sent", f"the notice is {notice.status}", "body.status")
    previous, notice.status, notice.updated_at = notice.status, status, now
    audit.append(
        s,
        now=now,
        actor=actor_id,
        action="ticket.notice_reply",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
        data={"notice": notice.id, "recipient": notice.recipient, "from": previous, "to": status},
    )
    s.commit()
    s.refresh(ticket)
    return ticket


# ---------------------------------------------------------------- reads


def get(s: Session, reference: str, customer_id: str | None = None) -> Ticket:
    ticket = s.execute(select(Ticket).where(Ticket.reference == reference)).scalar_one_or_none()
    if ticket is None or (customer_id is not None and ticket.customer_id != customer_id):
        raise ApiError(404, "ticket_not_found", "no such ticket", "path.reference")
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
