"""What the console pages show and do. Reads and changes go through the tickets, audit, consent
and notifications services; this module shapes their results for people, adds what only the
console keeps (assignee, internal notes, reads per session) and owns the transaction: each
function here commits, the views never do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.audit import service as audit
from api.consent import service as consent
from api.console import auth, staff, words
from api.console.auth import ConsoleSession
from api.console.models import ConsoleTicketRead, StaffAccount, TicketAssignment, TicketNote
from api.console.queue import deadline_flag, outcome_words, working_days_left
from api.console.staff import Identity
from api.core.database import upsert
from api.core.errors import ApiError
from api.core.policy import Policy
from api.core.settings import Settings
from api.notifications import texts
from api.subjects.models import Customer, Vehicle
from api.subjects.service import masked as masked_mobile
from api.tickets import due, flows, outcomes, rules
from api.tickets import service as tickets
from api.tickets.models import Ticket, TicketNotice
from contract import Actor, Status, TicketType
from privacy import masking
from privacy.masking import mask_name, mask_vin

MAX_TEXT = 2000

# ---------------------------------------------------------------- sign-in and sign-out


@dataclass(frozen=True)
class SignIn:
    session: ConsoleSession | None = None  # signed in
    wait: int = 0  # seconds this address must wait (429)


def sign_in(
    s: Session,
    settings: Settings,
    request: Request,
    now: datetime,
    *,
    login: str,
    password: str,
    token: str,
) -> SignIn:
    """Throttled per address and per login; by account (login and password) or by staff
    token."""
    login = login if login and password else ""  # a token sign-in tries no login
    wait = auth.sign_in_wait(s, settings, request, login, now)
    if wait:
        s.rollback()
        return SignIn(wait=wait)
    actor: str | None = None
    fp: str | None = None
    if login and password:
        account = staff.authenticate(s, login, password)
        actor = staff.actor_of(account.login) if account else None
    elif token:
        match = auth.staff_actor_for_token(settings, token)
        if match is not None:
            actor, fp = match
    auth.record_sign_in(s, settings, request, login, now, ok=actor is not None)
    if actor is None:
        s.commit()
        return SignIn()
    audit.append(s, now=now, actor=actor, action="staff.sign_in", data={"via": "console"})
    session = auth.start_session(s, actor, fp, now)
    s.commit()
    return SignIn(session=session)


def sign_out(s: Session, session: ConsoleSession, now: datetime) -> None:
    if session.actor is not None:
        audit.append(
            s, now=now, actor=session.actor, action="staff.sign_out", data={"via": "console"}
        )
        auth.end_session(s, session, now)
        s.commit()


# ---------------------------------------------------------------- one ticket


@dataclass(frozen=True)
class Recipient:
    name: str
    status: str | None
    attempts: int
    updated_at: datetime | None
    notice_id: int | None  # a reply can be recorded while the notice is sent or failed

    @property
    def awaits_reply(self) -> bool:
        return self.notice_id is not None and self.status in ("sent", "failed")


@dataclass(frozen=True)
class RefusalGround:
    id: str
    text: str
    kind: str


@dataclass(frozen=True)
class Note:
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class AuditCheck:
    valid: bool
    entries: int
    first_broken_id: int | None


@dataclass
class TicketView:
    ticket: Ticket
    flag: str | None
    days_left: int | None
    customer_name: str
    customer_mobile: str
    vins: list[str]
    consents: list[tuple[str, bool]]
    details: list[DetailRow]
    targets: list[str]
    refusal_clause: str
    refusal_grounds: list[RefusalGround]
    refusal_ground_text: str | None
    outcome: str  # the resolution in the console's language
    is_deletion: bool
    ledger: list[Recipient]
    delays: list[TicketNotice]
    # What the customer was sent (outcomes, delays), newest first; failed ones are flagged.
    customer_notices: list[TicketNotice]
    failed_notices: int
    assignee: str | None
    assignee_login: str | None
    staff: list[tuple[str, str]]  # (login, name) of the people a ticket can be assigned to
    may_assign_others: bool
    notes: list[Note]
    check: AuditCheck
    trail: list[words.AuditLine] = field(default_factory=list)


def staff_targets(status: str, identity: Identity) -> list[str]:
    """The statuses this person may move a ticket to: the backend's transition table without
    "withdrawn" (the customer's act) and, for an agent, without "refused" (a lead's decision)."""
    allowed = rules.TRANSITIONS.get(("staff", status), frozenset())
    return [
        s
        for s in rules.STATUSES
        if s in allowed and s != Status.WITHDRAWN and staff.may_move_to(identity, s)
    ]


@dataclass(frozen=True)
class DetailRow:
    key: str  # the field of the contract, labelled by texts.yml `detail.<key>`
    text: str
    # The customer's own words (a complaint, a corrected value): shown quoted, in their language.
    quoted: bool


def _details(policy: Policy, ticket: Ticket, lang: str) -> list[DetailRow]:
    """Ticket details with policy ids (purpose, deletion ground) in the console's words, and
    what the customer wrote as their words."""
    rows: list[DetailRow] = []
    for key, value in ticket.details.items():
        if key == "purpose" and value in policy.consent_purposes:
            rows.append(DetailRow(key, policy.consent_purposes[value][lang], quoted=False))
            continue
        if key == "ground" and ticket.type == TicketType.DELETION:
            grounds = policy.deletion_grounds.get(ticket.brand, {}).get("grounds", {})
            if value in grounds:
                rows.append(DetailRow(key, grounds[value][lang], quoted=False))
                continue
        rows.append(DetailRow(key, str(value), quoted=True))
    return rows


def _record_read_once(
    s: Session, ticket: Ticket, *, now: datetime, actor: str, session_key: str | None
) -> None:
    """The first view of a ticket in a console session is audited; reloads and the pages
    after a change in that session are not (they show nothing new about the customer)."""
    if session_key is not None:
        # ON CONFLICT: two pages of one session at once (a double click) record one read.
        first = s.execute(
            upsert(s, ConsoleTicketRead)
            .values(session_hash=session_key, ticket_reference=ticket.reference)
            .on_conflict_do_nothing()
            .returning(ConsoleTicketRead.ticket_reference)
        ).first()
        # RETURNING, not rowcount: psycopg reports no reliable count for a skipped row.
        if first is None:
            return
    audit.append(
        s,
        now=now,
        actor=actor,
        action="staff.read_ticket",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
        data={"via": "console", "shown": ["customer_masked", "consents", "audit"]},
    )


def check_audit(engine: Engine, settings: Settings) -> AuditCheck:
    valid, entries, broken = audit.verify_chain(engine, settings)
    return AuditCheck(valid, entries, broken)


def assignee_names(s: Session, references: list[str]) -> dict[str, str]:
    """reference -> the name of who works it, for the queue's Assignee column."""
    if not references:
        return {}
    rows = s.execute(
        select(TicketAssignment.ticket_reference, StaffAccount.name)
        .join(StaffAccount, StaffAccount.id == TicketAssignment.staff_id)
        .where(TicketAssignment.ticket_reference.in_(references))
    )
    return {reference: name for reference, name in rows}


def _assignment(s: Session, reference: str) -> tuple[TicketAssignment, StaffAccount] | None:
    row = s.get(TicketAssignment, reference)
    if row is None:
        return None
    account = s.get(StaffAccount, row.staff_id)
    return (row, account) if account is not None else None


def ticket_view(
    s: Session,
    settings: Settings,
    policy: Policy,
    *,
    reference: str,
    now: datetime,
    identity: Identity,
    session_key: str | None,
    lang: str,
    t: Callable[..., str],
    clause_words: Callable[[str, str], str],
) -> TicketView:
    """Everything the ticket page shows; records the staff read first (so it is in the trail)."""
    ticket = tickets.get(s, reference)  # ApiError 404 when unknown
    _record_read_once(s, ticket, now=now, actor=identity.actor, session_key=session_key)
    s.commit()
    # Checked between transactions: on SQLite each one holds the write lock the check awaits.
    check = check_audit(s.get_bind().engine, settings)

    customer = s.get(Customer, ticket.customer_id)
    vins = (
        s.execute(
            select(Vehicle.vin)
            .where(Vehicle.customer_id == ticket.customer_id)
            .order_by(Vehicle.vin)
        )
        .scalars()
        .all()
    )
    state = consent.current(s, ticket.customer_id)
    consents = [
        (policy.consent_purposes[p][lang] if p in policy.consent_purposes else p, g)
        for p, g in sorted(state.items())
    ]

    clause = policy.refusal_clauses.get(ticket.brand, "")
    grounds = [
        RefusalGround(gid, g[lang], g.get("kind", "")) for gid, g in policy.refusal_grounds.items()
    ]
    ground_text = None
    if ticket.refusal_ground and ticket.refusal_ground in policy.refusal_grounds:
        ground_text = (
            f"{policy.refusal_grounds[ticket.refusal_ground][lang]} — {clause_words(clause, lang)}"
        )

    is_deletion = ticket.type in rules.DELETION_TYPES
    ledger: list[Recipient] = []
    if is_deletion:
        sent = {n.recipient: n for n in ticket.notices if n.kind == "deletion_notice"}
        for r in policy.deletion_recipients.get(ticket.brand, []):
            n = sent.get(r["id"])
            ledger.append(
                Recipient(
                    name=r[lang],
                    status=n.status if n else None,
                    attempts=n.attempts if n else 0,
                    updated_at=n.updated_at if n else None,
                    notice_id=n.id if n else None,
                )
            )

    told = [n for n in ticket.notices if n.recipient == flows.CUSTOMER]
    names = staff.names_by_actor(s)
    assigned = _assignment(s, ticket.reference)
    notes = [
        Note(words.actor_words(n.author, names, t), n.body, n.created_at)
        for n in s.execute(
            select(TicketNote)
            .where(TicketNote.ticket_reference == ticket.reference)
            .order_by(TicketNote.id)
        ).scalars()
    ]
    return TicketView(
        ticket=ticket,
        flag=deadline_flag(ticket, now),
        days_left=working_days_left(ticket, now),
        customer_name=mask_name(customer.name) if customer else "",
        customer_mobile=masked_mobile(customer.mobile_e164) if customer else "",
        vins=[mask_vin(v) for v in vins],
        consents=consents,
        details=_details(policy, ticket, lang),
        targets=staff_targets(ticket.status, identity),
        refusal_clause=clause,
        refusal_grounds=grounds,
        refusal_ground_text=ground_text,
        outcome=outcome_words(ticket, policy, lang),
        is_deletion=is_deletion,
        ledger=ledger,
        delays=[n for n in ticket.notices if n.kind == "delay"],
        customer_notices=told[::-1],
        failed_notices=sum(1 for n in told if n.status == "failed"),
        assignee=assigned[1].name if assigned else None,
        assignee_login=assigned[1].login if assigned else None,
        staff=[(a.login, a.name) for a in staff.active_accounts(s)],
        may_assign_others=identity.is_lead,
        notes=notes,
        check=check,
        trail=words.audit_lines(audit.ticket_entries(s, ticket.reference), t, policy, lang, names),
    )


# ---------------------------------------------------------------- changes


@contextmanager
def _transaction(s: Session) -> Iterator[None]:
    """A change commits whole or not at all (a refused one leaves the session clean)."""
    try:
        yield
    except Exception:
        s.rollback()
        raise
    s.commit()


def notice_preview(
    s: Session,
    policy: Policy,
    *,
    reference: str,
    to_status: str,
    reason: str,
    refusal_ground: str | None,
) -> str | None:
    """The SMS a move would send the customer, exactly as it will go out (None: no notice)."""
    ticket = tickets.get(s, reference)
    ground = refusal_ground if refusal_ground in policy.refusal_words else None
    body = outcomes.outcome_text(policy, ticket, to_status, masking.mask_personal(reason), ground)
    if body is None:
        return None
    return texts.signature(ticket.brand, ticket.language) + body


def _lead_only(what: str) -> ApiError:
    return ApiError(403, "lead_only", f"only a lead may {what}", "body")


def move(
    s: Session,
    settings: Settings,
    policy: Policy,
    factory: sessionmaker[Session],
    *,
    reference: str,
    identity: Identity,
    to_status: str,
    reason: str,
    version: int,
    refusal_ground: str | None,
    now: datetime,
) -> Ticket:
    """A staff transition through the tickets service (ApiError on conflicts and bad input);
    a completed deletion or cancellation sends its downstream notices at once, as the API does.
    """
    # Committed before the dispatch: SQLite has one writer.
    with _transaction(s):
        if to_status == Status.WITHDRAWN:  # the customer's act, not the staff's
            raise ApiError(409, "transition_not_allowed", "staff do not withdraw", "body.to_status")
        if not staff.may_move_to(identity, to_status):
            raise _lead_only("refuse a request")
        command = tickets.TransitionCommand(
            reference,
            Actor.STAFF,
            identity.actor,
            Status(to_status),
            reason,
            version,
            refusal_ground,
        )
        ticket = tickets.transition(
            command, db_session=s, settings=settings, policy=policy, now=now
        )
    return ticket


def assign(s: Session, *, reference: str, identity: Identity, to_login: str, now: datetime) -> None:
    """Assign a ticket to a person ("" clears the assignment); audited with both names.

    The ticket is locked first, so parallel assignments are made one after the other: the
    same assignment again changes nothing, and an agent who finds the ticket taken meanwhile
    is told so (409), never a server error.
    """
    with _transaction(s):
        ticket = tickets.get_for_update(s, reference)
        if ticket.status in rules.FINAL_STATUSES:
            raise ApiError(409, "ticket_closed", "the ticket is closed", "path.reference")
        current = s.get(TicketAssignment, ticket.reference)
        target = staff.by_login(s, to_login) if to_login else None
        if to_login and (target is None or not target.active):
            raise ApiError(422, "unknown_staff", "no active staff account of that login", "body")
        if (current.staff_id if current else None) == (target.id if target else None):
            return  # already so: nothing to change or audit
        if not staff.may_assign(identity, current.staff_id if current else None, to_login or None):
            if current is not None and to_login == identity.login:
                raise ApiError(
                    409, "already_assigned", "someone else has taken this ticket", "body.assignee"
                )
            raise _lead_only("assign a ticket to someone else or reassign it")
        previous = s.get(StaffAccount, current.staff_id) if current else None
        if current is not None:
            s.delete(current)
            s.flush()
        if target is not None:
            s.add(
                TicketAssignment(
                    ticket_reference=ticket.reference,
                    staff_id=target.id,
                    assigned_by=identity.actor,
                    assigned_at=now,
                )
            )
        audit.append(
            s,
            now=now,
            actor=identity.actor,
            action="ticket.assigned",
            ticket_reference=ticket.reference,
            customer_id=ticket.customer_id,
            data={
                "via": "console",
                "assignee": staff.actor_of(target.login) if target else None,
                "previous_assignee": staff.actor_of(previous.login) if previous else None,
            },
        )


@dataclass(frozen=True)
class NoteLimits:
    per_ticket: int
    max_chars: int

    @classmethod
    def of(cls, settings: Settings) -> NoteLimits:
        return cls(settings.console_notes_per_ticket, settings.console_note_max_chars)


def _note_limit(code: str, message: str, limit: int) -> ApiError:
    return ApiError(422, code, message, "body.note", details=[{"limit": limit}])


def add_note(
    s: Session, *, reference: str, identity: Identity, body: str, now: datetime, limits: NoteLimits
) -> None:
    """An internal note; personal identifiers typed into it are masked, as in ticket details.
    A ticket carries at most `limits.per_ticket` notes of at most `limits.max_chars` each
    (422 naming the note); the ticket is locked while they are counted."""
    if len(body) > limits.max_chars:
        raise _note_limit(
            "note_too_long", f"a note is at most {limits.max_chars} characters", limits.max_chars
        )
    with _transaction(s):
        ticket = tickets.get_for_update(s, reference)
        count = s.scalar(
            select(func.count()).where(TicketNote.ticket_reference == ticket.reference)
        )
        if (count or 0) >= limits.per_ticket:
            raise _note_limit(
                "too_many_notes",
                f"a ticket carries at most {limits.per_ticket} notes",
                limits.per_ticket,
            )
        note = TicketNote(
            ticket_reference=ticket.reference,
            author=identity.actor,
            body=masking.mask_personal(body),
            created_at=now,
        )
        s.add(note)
        s.flush()
        audit.append(
            s,
            now=now,
            actor=identity.actor,
            action="ticket.note_added",
            ticket_reference=ticket.reference,
            customer_id=ticket.customer_id,
            data={"via": "console", "note": note.id},
        )


def record_delay(
    s: Session,
    settings: Settings,
    policy: Policy,
    *,
    reference: str,
    identity: Identity,
    reason: str,
    now: datetime,
) -> None:
    """A delay notice to the customer, through the tickets service (never a new due date)."""
    with _transaction(s):
        tickets.record_delay(
            db_session=s,
            reference=reference,
            reason=reason,
            actor_id=identity.actor,
            now=now,
            policy=policy,
            settings=settings,
        )


def record_reply(
    s: Session, *, reference: str, identity: Identity, notice_id: int, status: str, now: datetime
) -> None:
    """A recipient's answer to a deletion notice, through the tickets service."""
    with _transaction(s):
        if status not in ("acknowledged", "not_found"):
            raise ApiError(422, "invalid_reply", "acknowledged or not_found", "body.status")
        tickets.record_notice_reply(
            db_session=s,
            reference=reference,
            notice_id=notice_id,
            status=status,
            actor_id=identity.actor,
            now=now,
        )


# ---------------------------------------------------------------- holiday calendar


@dataclass(frozen=True)
class CalendarSummary:
    known: list[tuple[str, str]]  # ("2004–2026", source) with consecutive years of one source
    first_unknown: int
    provisional: list[Ticket]  # open tickets whose due date is still provisional


def calendar_summary(s: Session) -> CalendarSummary:
    """Which years the due-date calendar knows, from where, and what is still provisional."""
    spans: list[list[Any]] = []
    for year, source in due.known_years().items():
        if spans and spans[-1][2] == source and spans[-1][1] == year - 1:
            spans[-1][1] = year
        else:
            spans.append([year, year, source])
    known = [(f"{a}" if a == b else f"{a}–{b}", src) for a, b, src in spans]
    last = max(due.known_years(), default=0)
    stmt = (
        select(Ticket)
        .where(Ticket.due_at_provisional.is_(True), Ticket.status.notin_(rules.FINAL_STATUSES))
        .order_by(Ticket.due_at)
    )
    return CalendarSummary(known, last + 1, list(s.execute(stmt).scalars()))
