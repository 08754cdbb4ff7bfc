"""The outbox: what is sent (SMS, e-mails, notices to recipients) and the record kept of it.

It knows messages, not tickets: the tickets' flows decide what to send and when."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.core.fields import cipher_of
from api.notifications import texts
from api.notifications.gateway import Message, gateway_of
from api.notifications.models import OutboxMessage
from privacy import masking

log = logging.getLogger("api.notifications")


def sms_code_body(code: str, brand: str, language: str, minutes: int) -> str:
    sender = texts.signature(brand, language)
    return texts.say("verification_code", language, sender=sender, code=code, minutes=minutes)


def request_filed_body(
    *, reference: str, request: str, due_on: date | None, brand: str, language: str
) -> str:
    """The SMS every filed request sends: its reference, and its due date, or (`due_on` None)
    that it has already taken effect. `request` names the request type in `language`."""
    sender = texts.signature(brand, language)
    if due_on is None:
        return texts.say(
            "request_in_effect", language, sender=sender, request=request, reference=reference
        )
    return texts.say(
        "request_filed",
        language,
        sender=sender,
        request=request,
        reference=reference,
        due=texts.day_in(due_on, language),
    )


OUTBOX_TO_CONTEXT = "outbox.to"


def recipient_hash(session: Session, kind: str, to: str) -> str:
    """The keyed hash that finds a recipient's messages; for an SMS, customers.mobile_hash."""
    return cipher_of(session).lookup("mobile" if kind == "sms" else kind, to)


def enqueue(
    session: Session,
    *,
    kind: str,
    to: str,
    body: str,
    now: datetime,
    secrets: Sequence[str] = (),
    send: bool = True,
) -> OutboxMessage:
    """Sends a message in the caller's transaction and keeps a record without its secrets.

    The gateway of the session receives the full text; the outbox row keeps what was sent with
    `secrets` (the one-time code) starred and numbers masked, so no table holds a live code,
    and the full recipient only sealed. With `send` false the row is written all the same
    (`sendable` false) and nothing reaches the gateway: the start for an unregistered number
    does the work of a registered one. The body is never logged.
    """
    stored = body
    for secret in secrets:
        stored = stored.replace(secret, masking.CODE_MASK)
    msg = OutboxMessage(
        kind=kind,
        to=masking.mask_personal(to),
        to_sealed=cipher_of(session).seal(to, OUTBOX_TO_CONTEXT),
        to_hash=recipient_hash(session, kind, to),
        sendable=send,
        body=masking.mask_personal(stored),
        created_at=now,
    )
    session.add(msg)
    if send:
        message = Message(kind=kind, to=to, body=body, created_at=now, masked_to=msg.to)
        gateway_of(session).deliver(session, message)
    log.info("outbox: %s %s", kind, "queued" if send else "recorded, not sendable")
    return msg


def reseal_recipients(session: Session) -> int:
    """Seals under the current field key every recipient sealed under an older one."""
    cipher, count = cipher_of(session), 0
    stmt = select(OutboxMessage).where(OutboxMessage.to_sealed.is_not(None)).with_for_update()
    for msg in session.execute(stmt).scalars():
        sealed = cipher.reseal(msg.to_sealed or "", OUTBOX_TO_CONTEXT)
        if sealed is not None:
            msg.to_sealed, count = sealed, count + 1
    session.commit()
    return count


def purge_outbox(session: Session, cutoff: datetime) -> int:
    """Deletes the outbox records older than `cutoff` (the gateway's own records are its
    business: `api.assembly.purge_sent` purges both)."""
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
