"""The outbox (what would be sent) and the dispatch of downstream deletion notices."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_none

from api.dev.models import DevOutboxCopy
from api.notifications.gateway import Message, gateway_of
from api.notifications.models import OutboxMessage
from api.tickets.models import TicketNotice
from contract import Brand, Language
from privacy import masking

log = logging.getLogger("api.notifications")

_BRAND_SERVICE: dict[Brand, dict[Language, str]] = {
    Brand.MINI: {Language.ZH: "MINI互联出行", Language.EN: "MINI Connected"},
    Brand.BMW: {Language.ZH: "BMW互联驾驶", Language.EN: "BMW ConnectedDrive"},
}


def _signature(brand: str, language: str) -> str:
    """The SMS's sender in its first brackets: 【MINI互联出行】 / [MINI Connected]."""
    names = _BRAND_SERVICE.get(Brand(brand), _BRAND_SERVICE[Brand.MINI])
    if language == Language.EN:
        return f"[{names[Language.EN]}]"
    return f"【{names[Language.ZH]}】"


def sms_code_body(code: str, brand: str, language: str, minutes: int) -> str:
    sender = _signature(brand, language)
    if language == Language.EN:
        return f"{sender} Your verification code is {code}. It is valid for {minutes} minutes."
    return f"{sender}您的验证码是{code}，{minutes}分钟内有效。"


def request_filed_body(
    *, reference: str, request: str, due_on: date | None, brand: str, language: str
) -> str:
    """The SMS every filed request sends: its reference, and its due date, or (`due_on` None)
    that it has already taken effect. `request` names the request type in `language`."""
    sender = _signature(brand, language)
    if language == Language.EN:
        if due_on is None:
            return f"{sender} Your request ({request}) has taken effect. Reference {reference}."
        return (
            f"{sender} We have received your request ({request}), reference {reference}. "
            f"We will reply by {due_on.day} {due_on:%B %Y}."
        )
    if due_on is None:
        return f"{sender}您的“{request}”请求已生效，编号{reference}。"
    return (
        f"{sender}您的“{request}”请求已受理，编号{reference}，"
        f"我们将在{due_on.year}年{due_on.month}月{due_on.day}日前答复您。"
    )


def enqueue(
    session: Session,
    *,
    kind: str,
    to: str,
    body: str,
    now: datetime,
    secrets: Sequence[str] = (),
) -> OutboxMessage:
    """Sends a message in the caller's transaction and keeps a record without its secrets.

    The gateway of the session receives the full text; the outbox row keeps what was sent with
    `secrets` (the one-time code) starred and numbers masked, so no table holds a live code.
    The body is never logged.
    """
    stored = body
    for secret in secrets:
        stored = stored.replace(secret, masking.CODE_MASK)
    msg = OutboxMessage(
        kind=kind,
        to=masking.mask_personal(to),
        body=masking.mask_personal(stored),
        created_at=now,
    )
    session.add(msg)
    gateway_of(session).deliver(session, Message(kind=kind, to=to, body=body, created_at=now))
    log.info("outbox: %s queued", kind)
    return msg


def purge_outbox(session: Session, now: datetime, retention_days: int) -> int:
    """Deletes outbox records (and the dev copies) older than the retention period."""
    cutoff = now - timedelta(days=retention_days)
    removed = 0
    for model in (OutboxMessage, DevOutboxCopy):
        result = session.execute(delete(model).where(model.created_at < cutoff))
        removed += int(getattr(result, "rowcount", 0) or 0)
    session.commit()
    return removed


class TransientSendError(Exception):
    """A gateway error worth retrying."""


def _send_notice(session: Session, notice: TicketNotice, now: datetime) -> None:
    # The gateway is mocked: sending means writing to the outbox.
    enqueue(
        session,
        kind="deletion_notice",
        to=notice.recipient or "",
        body=notice.message or "",
        now=now,
    )


def dispatch_due_notices(
    session: Session, now: datetime, max_attempts: int = 5, send: object = None
) -> int:
    """Send queued deletion notices that are due; bounded retries, backoff between runs.

    Returns the number sent. A notice that keeps failing ends as `failed` after max_attempts.
    """
    sender = send if callable(send) else _send_notice
    stmt = (
        select(TicketNotice)
        .where(
            TicketNotice.kind == "deletion_notice",
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
            log.warning("deletion notice %s failed: %s", notice.id, type(exc).__name__)
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
