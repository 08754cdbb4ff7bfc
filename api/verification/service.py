"""Identity verification: SMS codes, IVR phone passwords, app sessions -> subject proofs.

Unknown numbers get a challenge row, an outbox row that is never sent and the same hashing work
as known ones, so neither the answer nor its timing tells whether a number is registered; they
can never verify.

Wrong guesses are counted per number and method across challenges, and per source (where
the challenge was started: caller line, customer address or conversation, see
api.core.clients): past `*_max_failures` that source is locked out of the number, past the
higher `*_number_max_failures` everyone is. So someone who knows a customer's number cannot
lock the customer out with a handful of guesses. The number's row in `guess_locks` is locked
for the whole check, so no more guesses are ever checked than the limits allow, however many
run in parallel. A locked answer says until when and what works meanwhile (the app session
for low-risk requests, the hotline agent for every request).

Starting a verification is limited per conversation, per client address, per number, per
channel and overall (`api.core.ratelimit`); a new SMS code supersedes the number's older ones.

One verification per conversation: a verified check covers the further requests of the
conversation that started it for `conversation_cover_seconds`, so the customer is not sent a
new code for each. Every request is still filed with its own single-use proof: `reissue`
issues it from the check, only to that conversation, only for the customer it verified, and
never at a higher assurance than the check's (an app session has no check and gets nothing).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import TypeVar, cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.core import clients, ratelimit
from api.core.clients import Caller
from api.core.clock import as_utc
from api.core.crypto import DUMMY_PASSWORD_HASH, keyed_hash, verify_password
from api.core.database import is_postgres, upsert
from api.core.errors import ApiError
from api.core.settings import Settings
from api.core.tokens import conversation_hash, read_app_session, sign_proof
from api.notifications import service as outbox
from api.subjects import service as subjects
from api.subjects.models import Customer
from api.tickets.rules import ASSURANCE_RANK
from api.verification.models import Challenge, GuessLock, GuessSourceLock
from api.verification.schemas import WAYS_THROUGH, CheckOut, Method, ProofOut, VerificationOut
from contract import Assurance, Brand

SUPERSEDED = "superseded"
Row = TypeVar("Row", GuessLock, GuessSourceLock)


def _code_hash(settings: Settings, challenge_id: str, code: str) -> str:
    # Bound to its challenge: the same code is worthless on another challenge.
    return keyed_hash(settings.lookup_pepper, "sms-code", challenge_id, code)


def start_limits(
    settings: Settings, caller: Caller, channel: str, number: str
) -> list[ratelimit.Limit]:
    """Narrowest first: a start refused for its conversation does not use up the number's,
    the channel's or everyone's allowance."""
    pepper, again = settings.lookup_pepper, "; try again later"
    per_client = [
        ("conversation", caller.conversation, settings.starts_per_conversation, "conversation"),
        ("address", caller.client_address, settings.starts_per_address, "client"),
        ("number", number, settings.starts_per_number, "number"),
    ]
    limits = [
        ratelimit.Limit(
            "verify-start:" + clients.bucket(pepper, kind, value),
            limit,
            "too_many_verifications",
            f"too many verifications started for this {what}" + again,
        )
        for kind, value, limit, what in per_client
        if value
    ]
    return [
        *limits,
        ratelimit.Limit(
            f"verify-start:channel:{channel}",
            settings.starts_per_channel,
            "too_many_verifications",
            f"too many verifications started on the {channel} channel" + again,
        ),
        ratelimit.Limit(
            "verify-start:global",
            settings.starts_global,
            "too_many_verifications",
            "too many verifications started" + again,
        ),
    ]


def _source_hash(settings: Settings, caller: Caller, channel: str) -> str:
    return keyed_hash(settings.lookup_pepper, "guess-source", caller.source(channel))


def _supersede(
    session: Session, mobile_hash: str, now: datetime, source_hash: str | None = None
) -> None:
    """Makes the number's outstanding SMS codes worthless: those of one source when it asks
    for a newer code (someone else's request leaves the customer's code alone), all of them
    once one has verified."""
    stmt = update(Challenge).where(
        Challenge.mobile_hash == mobile_hash,
        Challenge.method == Assurance.SMS_CODE,
        Challenge.status == "pending",
        Challenge.expires_at > now,
    )
    if source_hash is not None:
        stmt = stmt.where(Challenge.source_hash == source_hash)
    session.execute(stmt.values(status=SUPERSEDED))


def start(
    *,
    db_session: Session,
    settings: Settings,
    method: str,
    mobile: str,
    channel: str,
    language: str,
    caller: Caller,
    now: datetime,
) -> VerificationOut:
    session = db_session
    e164 = subjects.normalise_mobile(mobile)
    digest = subjects.mobile_hash(settings.lookup_pepper, e164)
    ratelimit.enforce(
        session, start_limits(settings, caller, channel, digest), now, settings.start_window_seconds
    )
    customer = subjects.find_by_mobile_hash(session, digest)
    challenge_id = str(uuid.uuid4())
    source_hash = _source_hash(settings, caller, str(channel))
    code_hash = None
    if method == Assurance.SMS_CODE:
        if is_postgres(session):
            # Serialise starts per number so that parallel requests cannot overrun the limit
            # (SQLite transactions are already serialised by BEGIN IMMEDIATE).
            session.execute(select(func.pg_advisory_xact_lock(func.hashtext(digest))))
        window_start = now - timedelta(hours=1)
        recent = session.execute(
            select(func.count(), func.min(Challenge.created_at)).where(
                Challenge.mobile_hash == digest,
                Challenge.method == Assurance.SMS_CODE,
                Challenge.created_at > window_start,
            )
        ).one()
        if recent[0] >= settings.codes_per_hour:
            retry = int((as_utc(recent[1]) + timedelta(hours=1) - now).total_seconds()) + 1
            raise ApiError(
                429,
                "too_many_codes",
                f"at most {settings.codes_per_hour} codes per number per hour",
                "body.mobile",
                headers={"Retry-After": str(max(retry, 1))},
            )
        _supersede(session, digest, now, source_hash)
        code = f"{secrets.randbelow(10**6):06d}"
        code_hash = _code_hash(settings, challenge_id, code)
        # The same outbox row for every number; only a registered one is sent.
        brand = customer.brand if customer is not None else Brand.MINI
        outbox.enqueue(
            session,
            kind="sms",
            to=e164,
            now=now,
            body=outbox.sms_code_body(code, brand, language, settings.code_ttl_seconds // 60),
            secrets=(code,),
            send=customer is not None,
        )
    challenge = Challenge(
        id=challenge_id,
        method=str(method),
        channel=str(channel),
        mobile_hash=digest,
        customer_id=customer.id if customer else None,
        code_hash=code_hash,
        source_hash=source_hash,
        conversation_hash=(
            conversation_hash(settings, caller.conversation) if caller.conversation else None
        ),
        status="pending",
        attempts=0,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.code_ttl_seconds),
    )
    session.add(challenge)
    session.commit()
    return VerificationOut(
        id=challenge_id,
        method=cast(Method, method),
        masked_mobile=subjects.masked(e164),
        expires_at=challenge.expires_at,
        attempts_left=settings.code_max_attempts,
    )


def _verified(
    settings: Settings, customer: Customer, assurance: str, now: datetime, attempts_left: int
) -> CheckOut:
    proof, proof_exp = sign_proof(settings, customer.id, customer.brand, assurance, now)
    return CheckOut(
        status="verified",
        attempts_left=attempts_left,
        proof=proof,
        proof_expires_at=proof_exp,
        customer_id=customer.id,
        brand=Brand(customer.brand),
        assurance=Assurance(assurance),
    )


def _counter(session: Session, model: type[Row], now: datetime, **key: str) -> Row:
    """The failure row of `key`, created if missing, locked until the transaction ends."""
    session.execute(
        upsert(session, model)
        .values(**key, failures=0, window_started_at=now)
        .on_conflict_do_nothing()
    )
    stmt = (
        select(model).filter_by(**key).with_for_update().execution_options(populate_existing=True)
    )
    return session.execute(stmt).scalar_one()


def _roll(row: GuessLock | GuessSourceLock, now: datetime, window: int) -> None:
    """A lock that has run out, or a window that has passed, starts the count afresh."""
    ended = row.locked_until is not None and row.locked_until <= now
    if ended or row.window_started_at + timedelta(seconds=window) <= now:
        row.failures, row.locked_until, row.window_started_at = 0, None, now


def _lock_policy(settings: Settings, method: str) -> tuple[int, int, int]:
    """(failures per number and source, failures per number, lock window in seconds)."""
    if method == Assurance.PHONE_PASSWORD:
        return (
            settings.password_max_failures,
            settings.password_number_max_failures,
            settings.password_lock_seconds,
        )
    return settings.sms_max_failures, settings.sms_number_max_failures, settings.sms_lock_seconds


def _until(*rows: GuessLock | GuessSourceLock) -> datetime | None:
    return max((r.locked_until for r in rows if r.locked_until is not None), default=None)


def _locked(until: datetime | None) -> CheckOut:
    return CheckOut(status="locked", attempts_left=0, locked_until=until, ways_through=WAYS_THROUGH)


def check(
    *, db_session: Session, settings: Settings, challenge_id: str, code: str, now: datetime
) -> CheckOut:
    session = db_session
    stmt = select(Challenge).where(Challenge.id == challenge_id).with_for_update()
    challenge = session.execute(stmt).scalar_one_or_none()
    if challenge is None:
        raise ApiError(404, "verification_not_found", "no such verification", "path.id")
    left = max(settings.code_max_attempts - challenge.attempts, 0)
    if challenge.status in ("verified", "expired", SUPERSEDED) or challenge.expires_at <= now:
        # A used code is spent: it cannot verify twice; a newer code replaced a superseded one.
        return CheckOut(status="expired", attempts_left=left)
    if challenge.status == "locked" or left == 0:
        return _locked(None)

    per_source, per_number, window = _lock_policy(settings, challenge.method)
    key = {"mobile_hash": challenge.mobile_hash, "method": challenge.method}
    # The number's row first (it serialises the checks of the number), then the source's.
    number = _counter(session, GuessLock, now, **key)
    source = _counter(session, GuessSourceLock, now, **key, source_hash=challenge.source_hash or "")
    for row in (number, source):
        _roll(row, now, window)
    if _until(number, source) is not None:
        session.commit()
        return _locked(_until(number, source))

    customer = session.get(Customer, challenge.customer_id) if challenge.customer_id else None
    if challenge.method == Assurance.PHONE_PASSWORD:
        stored = customer.phone_password_hash if customer else None
        ok = verify_password(code, stored or DUMMY_PASSWORD_HASH) and stored is not None
    else:
        ok = secrets.compare_digest(
            _code_hash(settings, challenge.id, code), challenge.code_hash or ""
        )
    ok = ok and customer is not None

    challenge.attempts += 1
    left = settings.code_max_attempts - challenge.attempts
    if ok and customer is not None:
        # Only this source's count is cleared: others' guesses at the number still stand.
        challenge.status, challenge.verified_at = "verified", now
        source.failures, source.window_started_at = 0, now
        if challenge.method == Assurance.SMS_CODE:
            session.flush()  # this challenge is verified, not superseded
            _supersede(session, challenge.mobile_hash, now)
        session.commit()
        return _verified(settings, customer, challenge.method, now, left)

    for row, limit in ((number, per_number), (source, per_source)):
        row.failures += 1
        left = min(left, limit - row.failures)
        if row.failures >= limit:
            row.locked_until = now + timedelta(seconds=window)
    if left <= 0:
        challenge.status = "locked"
        session.commit()
        return _locked(_until(number, source))
    session.commit()
    return CheckOut(status="invalid", attempts_left=left)


def check_app_session(
    *, db_session: Session, settings: Settings, token: str, now: datetime
) -> CheckOut:
    session = db_session
    customer_id = read_app_session(settings, token, now)
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None:
        return CheckOut(status="invalid", attempts_left=0)
    return _verified(settings, customer, Assurance.APP_SESSION, now, 0)


def _refused(code: str, message: str, field: str) -> ApiError:
    return ApiError(403, code, message + "; verify again", field)


def reissue(
    *,
    db_session: Session,
    settings: Settings,
    challenge_id: str,
    customer_id: str,
    assurance: str | None,
    caller: Caller,
    now: datetime,
) -> ProofOut:
    """A new single-use proof from a verified check, for a further request of its conversation.

    Refused (403) from any other conversation, past the cover, for another customer, or when
    the request needs more than the check gave: a proof is never worth more than its check.
    """
    challenge = db_session.get(Challenge, challenge_id)
    if challenge is None or challenge.status != "verified" or challenge.verified_at is None:
        raise ApiError(404, "verification_not_found", "no such verified check", "path.id")
    said = conversation_hash(settings, caller.conversation) if caller.conversation else ""
    if not challenge.conversation_hash or not secrets.compare_digest(
        said, challenge.conversation_hash
    ):
        raise _refused(
            "other_conversation",
            "the check covers the conversation that started it only",
            "header.X-Conversation-Id",
        )
    covered_until = as_utc(challenge.verified_at) + timedelta(
        seconds=settings.conversation_cover_seconds
    )
    if covered_until <= now:
        raise _refused("cover_expired", "the check no longer covers this conversation", "path.id")
    customer = db_session.get(Customer, challenge.customer_id) if challenge.customer_id else None
    if customer is None or customer_id != customer.id:
        raise _refused("other_customer", "the check verified another customer", "body.customer_id")
    method = challenge.method
    # Ranked as ticket filing ranks them (a phone password files what an SMS code files); the
    # proof always states the check's own method, whatever was asked.
    if assurance is not None and ASSURANCE_RANK[assurance] > ASSURANCE_RANK[method]:
        raise _refused(
            "insufficient_assurance",
            f"the check is by {method}, the request asks for {assurance}",
            "body.assurance",
        )
    proof, proof_exp = sign_proof(
        settings,
        customer.id,
        customer.brand,
        method,
        now,
        conversation_hash=challenge.conversation_hash,
    )
    return ProofOut(
        proof=proof,
        proof_expires_at=proof_exp,
        customer_id=customer.id,
        brand=Brand(customer.brand),
        assurance=Assurance(method),
        covered_until=covered_until,
    )
