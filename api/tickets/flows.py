"""What a ticket's life sets off, in one place: the service calls these, routers and the console
never do.

- filed: a request that takes effect at once changes the consent record (`take_effect`), and the
  customer gets an SMS with the reference and the due date, or that it took effect
  (`tell_customer`);
- moved: a completed deletion or account cancellation queues a notice to every recipient of the
  brand (`on_moved`); a staff move to completed, refused or awaiting_customer queues one notice to
  the customer (`tell_outcome`), and so does a delay (`tell_delay`); all are sent once the
  transition is committed (`after_commit`);
- upkeep: `dispatch_due_notices` sends the queued notices that are due, with bounded retries.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_none

from api.consent import service as consent
from api.core.policy import Policy
from api.core.settings import Settings
from api.notifications import service as outbox
from api.notifications import texts
from api.subjects.models import Customer
from api.tickets import outcomes, rules
from api.tickets.due import SHANGHAI
from api.tickets.models import Ticket, TicketNotice
from contract import Actor, Language, Status

log = logging.getLogger("api.tickets")


def take_effect(session: Session, policy: Policy, ticket: Ticket, now: datetime) -> str | None:
    """For a request that takes effect at once: does it, and returns the resolution text that
    completes the ticket. None for a request the privacy team works."""
    if not policy.takes_effect_at_once(ticket.type, ticket.brand):
        return None
    lang = ticket.language
    purpose = policy.withdrawn_purpose(ticket.type, ticket.details)
    if purpose is None:  # an automated-decision explanation the policy itself answers
        return str(policy.automated_decisions[ticket.brand]["answer"][lang])
    consent.record(
        session,
        customer_id=ticket.customer_id,
        purpose=purpose,
        granted=False,
        source=ticket.type,
        now=now,
        actor=Actor.SYSTEM,
        ticket_reference=ticket.reference,
    )
    return withdrawn_resolution(policy, purpose, lang)


def withdrawn_resolution(policy: Policy, purpose: str, lang: str) -> str:
    """The resolution of a withdrawal that took effect, in `lang` (the console says it again in
    its own language from the same words)."""
    text = policy.consent_purposes[purpose][lang]
    return f"已撤回同意：{text}" if lang == Language.ZH else f"Consent withdrawn: {text}"


def tell_customer(session: Session, policy: Policy, ticket: Ticket, now: datetime) -> None:
    """The filed request by SMS to the registered mobile, in the ticket's language and brand:
    the reference stays with the customer whatever happens to the conversation."""
    customer = session.get(Customer, ticket.customer_id)
    if customer is None:
        return
    took_effect = ticket.status == Status.COMPLETED
    outbox.enqueue(
        session,
        kind="sms",
        to=customer.mobile_e164,
        now=now,
        body=outbox.request_filed_body(
            reference=ticket.reference,
            request=policy.type_label(ticket.type, ticket.language),
            due_on=None if took_effect else ticket.due_at.astimezone(SHANGHAI).date(),
            brand=ticket.brand,
            language=ticket.language,
        ),
    )


def _deletion_done(ticket: Ticket) -> bool:
    return ticket.type in rules.DELETION_TYPES and ticket.status == Status.COMPLETED


def on_moved(
    session: Session,
    policy: Policy,
    ticket: Ticket,
    now: datetime,
    backup_retention_days: int | None,
) -> None:
    """In the transition's transaction: a completed deletion or cancellation starts its backup
    rollover and queues a notice to each recipient the brand's data went to."""
    if not _deletion_done(ticket):
        return
    if backup_retention_days is not None:
        ticket.backup_rollover_at = now + timedelta(days=backup_retention_days)
    for recipient in policy.deletion_recipients.get(ticket.brand, []):
        message = (
            f"Ticket {ticket.reference}: please delete the personal information of "
            f"customer {ticket.customer_id} ({ticket.type}); acknowledge to the "
            "privacy team."
        )
        session.add(
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
    session.flush()


CUSTOMER = "customer"  # the recipient of the customer's own notices
CUSTOMER_KINDS = ("outcome", "delay")
SENT_KINDS = ("deletion_notice", *CUSTOMER_KINDS)


def _queue_for_customer(
    session: Session, ticket: Ticket, kind: str, message: str | None, body: str, now: datetime
) -> TicketNotice:
    notice = TicketNotice(
        ticket_id=ticket.id,
        kind=kind,
        recipient=CUSTOMER,
        status="queued",
        message=message,
        body=body,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(notice)
    session.flush()
    return notice


def tell_outcome(
    session: Session, policy: Policy, ticket: Ticket, reason: str | None, now: datetime
) -> None:
    """In the transition's transaction: one notice to the customer for a move they are told of
    (completed, refused, awaiting_customer), its text fixed now as the console showed it."""
    body = outcomes.outcome_text(policy, ticket, ticket.status, reason, ticket.refusal_ground)
    if body is not None:
        _queue_for_customer(session, ticket, "outcome", reason, body, now)


def tell_delay(
    session: Session, policy: Policy, ticket: Ticket, reason: str, now: datetime
) -> None:
    """A delay notice is recorded on the ticket and sent to the customer like an outcome."""
    _queue_for_customer(
        session, ticket, "delay", reason, outcomes.delay_text(policy, ticket, reason), now
    )


def after_commit(session: Session, ticket: Ticket, settings: Settings, now: datetime) -> None:
    """Once the move is committed (SQLite has one writer): its notices go out at once."""
    dispatch_due_notices(session, now, settings.notice_max_attempts)
    session.refresh(ticket)


class TransientSendError(Exception):
    """A gateway error worth retrying."""


def _send_notice(session: Session, notice: TicketNotice, now: datetime) -> None:
    # The gateway is mocked: sending means writing to the outbox.
    if notice.kind not in CUSTOMER_KINDS:
        outbox.enqueue(
            session,
            kind="deletion_notice",
            to=notice.recipient or "",
            body=notice.message or "",
            now=now,
        )
        return
    ticket = notice.ticket
    customer = session.get(Customer, ticket.customer_id)
    if customer is None:
        raise LookupError("the ticket's customer is gone")
    sender = texts.signature(ticket.brand, ticket.language)
    body = sender + (notice.body or "")
    outbox.enqueue(session, kind="sms", to=customer.mobile_e164, body=body, now=now)
    if customer.email:
        subject = texts.say(
            "email_subject", ticket.language, sender=sender, reference=ticket.reference
        )
        outbox.enqueue(
            session, kind="email", to=customer.email, body=f"{subject}\n\n{body}", now=now
        )


def dispatch_due_notices(
    session: Session, now: datetime, max_attempts: int = 5, send: object = None
) -> int:
    """Send queued notices that are due (to recipients, to the customer); bounded retries,
    backoff between runs.

    Returns the number sent. A notice that keeps failing ends as `failed` after max_attempts.
    """
    sender = send if callable(send) else _send_notice
    stmt = (
        select(TicketNotice)
        .where(
            TicketNotice.kind.in_(SENT_KINDS),
            TicketNotice.status == "queued",
            or_(TicketNotice.next_attempt_at.is_(None), TicketNotice.next_attempt_at <= now),
        )
        .order_by(TicketNotice.id)
    )
    sent = 0
    for notice in session.execute(stmt).scalars().all():
        notice.attempts += 1
        notice.updated_at = now
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(2),
                wait=wait_none(),
                reraise=True,
                retry=retry_if_exception_type(TransientSendError),
            ):
                with attempt:
                    sender(session, notice, now)
        except Exception as exc:  # the ledger records it; the next run retries
            log.warning("%s notice %s failed: %s", notice.kind, notice.id, type(exc).__name__)
            if notice.attempts >= max_attempts:
                notice.status = "failed"
            else:
                notice.next_attempt_at = now + timedelta(minutes=2**notice.attempts)
            continue
        notice.status = "sent"
        notice.next_attempt_at = None
        sent += 1
    session.commit()
    return sent
