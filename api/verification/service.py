"""Identity verification: SMS codes, IVR phone passwords, app sessions -> subject proofs.

Unknown numbers get a challenge row, an outbox row that is never sent and the same hashing work
as known ones, so neither the answer nor its timing tells whether a number is registered; they
can never verify.

Wrong guesses are counted per number and method across challenges in `guess_locks`: the row
is locked for the whole check, so at most `*_max_failures` wrong guesses are ever checked per
number per lock window, however many run in parallel. Starting a verification is limited per
client address, per channel and overall (`api.core.ratelimit`).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core import ratelimit
from api.core.clock import as_utc
from api.core.crypto import DUMMY_PASSWORD_HASH, keyed_hash, verify_password
from api.core.database import is_postgres, upsert
from api.core.errors import ApiError
from api.core.settings import Settings
from api.core.tokens import read_app_session, sign_proof
from api.notifications import service as outbox
from api.subjects import service as subjects
from api.subjects.models import Customer
from api.verification.models import Challenge, GuessLock
from api.verification.schemas import CheckOut, CheckStatus, Method, VerificationOut
from contract import Assurance, Brand


def _code_hash(settings: Settings, challenge_id: str, code: str) -> str:
    # Bound to its challenge: the same code is worthless on another challenge.
    return keyed_hash(settings.lookup_pepper, "sms-code", challenge_id, code)


def start_limits(settings: Settings, client: str, channel: str) -> list[ratelimit.Limit]:
    # The address is kept only as a keyed hash: counters hold no readable client data.
    address = keyed_hash(settings.lookup_pepper, "client-address", client)[:40]
    again = "; try again later"
    return [
        ratelimit.Limit(
            f"verify-start:address:{address}",
            settings.starts_per_address,
            "too_many_verifications",
            "too many verifications started from this client" + again,
        ),
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


def start(
    *,
    db_session: Session,
    settings: Settings,
    method: str,
    mobile: str,
    channel: str,
    language: str,
    client: str,
    now: datetime,
) -> VerificationOut:
    session = db_session
    e164 = subjects.normalise_mobile(mobile)
    ratelimit.enforce(
        session, start_limits(settings, client, channel), now, settings.start_window_seconds
    )
    digest = subjects.mobile_hash(settings.lookup_pepper, e164)
    customer = subjects.find_by_mobile_hash(session, digest)
    challenge_id = str(uuid.uuid4())
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


def _guess_lock(session: Session, mobile_hash: str, method: str, now: datetime) -> GuessLock:
    """The number's failure row, created if missing, locked until the transaction ends."""
    session.execute(
        upsert(session, GuessLock)
        .values(mobile_hash=mobile_hash, method=method, failures=0, window_started_at=now)
        .on_conflict_do_nothing()
    )
    stmt = (
        select(GuessLock)
        .where(GuessLock.mobile_hash == mobile_hash, GuessLock.method == method)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.execute(stmt).scalar_one()


def _lock_policy(settings: Settings, method: str) -> tuple[int, int]:
    if method == Assurance.PHONE_PASSWORD:
        return settings.password_max_failures, settings.password_lock_seconds
    return settings.sms_max_failures, settings.sms_lock_seconds


def check(
    *, db_session: Session, settings: Settings, challenge_id: str, code: str, now: datetime
) -> CheckOut:
    session = db_session
    stmt = select(Challenge).where(Challenge.id == challenge_id).with_for_update()
    challenge = session.execute(stmt).scalar_one_or_none()
    if challenge is None:
        raise ApiError(404, "verification_not_found", "no such verification", "path.id")
    left = max(settings.code_max_attempts - challenge.attempts, 0)
    if challenge.status in ("verified", "expired") or challenge.expires_at <= now:
        # A used code is spent: it cannot verify twice.
        return CheckOut(status="expired", attempts_left=left)
    if challenge.status == "locked" or left == 0:
        return CheckOut(status="locked", attempts_left=0)

    max_failures, window = _lock_policy(settings, challenge.method)
    lock = _guess_lock(session, challenge.mobile_hash, challenge.method, now)
    if lock.locked_until is not None and lock.locked_until > now:
        session.commit()
        return CheckOut(status="locked", attempts_left=0)
    if lock.locked_until is not None or lock.window_started_at + timedelta(seconds=window) <= now:
        lock.failures, lock.locked_until, lock.window_started_at = 0, None, now

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
        challenge.status = "verified"
        lock.failures, lock.window_started_at = 0, now
        session.commit()
        return _verified(settings, customer, challenge.method, now, left)

    status = "invalid"
    lock.failures += 1
    left = min(left, max_failures - lock.failures)
    if lock.failures >= max_failures:
        lock.locked_until = now + timedelta(seconds=window)
    if left <= 0:
        status, left = "locked", 0
        challenge.status = "locked"
    session.commit()
    return CheckOut(status=cast(CheckStatus, status), attempts_left=left)


def check_app_session(
    *, db_session: Session, settings: Settings, token: str, now: datetime
) -> CheckOut:
    session = db_session
    customer_id = read_app_session(settings, token, now)
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None:
        return CheckOut(status="invalid", attempts_left=0)
    return _verified(settings, customer, Assurance.APP_SESSION, now, 0)
