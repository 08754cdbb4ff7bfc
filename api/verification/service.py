"""Identity verification: SMS codes, IVR phone passwords, app sessions -> subject proofs.

Unknown numbers get a challenge row and the same hashing work as known ones, so neither the
answer nor its timing tells whether a number is registered; they can never verify.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.clock import as_utc
from api.core.errors import ApiError
from api.core.security import (
    DUMMY_PASSWORD_HASH,
    keyed_hash,
    read_app_session,
    sign_proof,
    verify_password,
)
from api.core.settings import Settings
from api.notifications import service as outbox
from api.subjects import service as subjects
from api.subjects.models import Customer
from api.verification.models import Challenge, PasswordLock
from api.verification.schemas import Assurance, CheckOut, CheckStatus, Method, VerificationOut


def _code_hash(settings: Settings, challenge_id: str, code: str) -> str:
    # Bound to its challenge: the same code is worthless on another challenge.
    return keyed_hash(settings.lookup_pepper, "sms-code", challenge_id, code)


def start(
    session: Session,
    settings: Settings,
    *,
    method: str,
    mobile: str,
    channel: str,
    language: str,
    now: datetime,
) -> VerificationOut:
    e164 = subjects.normalise_mobile(mobile)
    digest = subjects.mobile_hash(settings.lookup_pepper, e164)
    customer = subjects.find_by_mobile_hash(session, digest)
    challenge_id = str(uuid.uuid4())
    code_hash = None
    if method == "sms_code":
        if session.get_bind().dialect.name == "postgresql":
            # Serialise starts per number so that parallel requests cannot overrun the limit
            # (SQLite transactions are already serialised by BEGIN IMMEDIATE).
            session.execute(select(func.pg_advisory_xact_lock(func.hashtext(digest))))
        window_start = now - timedelta(hours=1)
        recent = session.execute(
            select(func.count(), func.min(Challenge.created_at)).where(
                Challenge.mobile_hash == digest,
                Challenge.method == "sms_code",
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
        if customer is not None:
            outbox.enqueue(
                session,
                kind="sms",
                to=e164,
                now=now,
                body=outbox.sms_code_body(
                    code, customer.brand, language, settings.code_ttl_seconds // 60
                ),
                secrets=(code,),
            )
    challenge = Challenge(
        id=challenge_id,
        method=method,
        channel=channel,
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
        brand=customer.brand,
        assurance=cast(Assurance, assurance),
    )


def check(
    session: Session, settings: Settings, *, challenge_id: str, code: str, now: datetime
) -> CheckOut:
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

    customer = session.get(Customer, challenge.customer_id) if challenge.customer_id else None
    lock = None
    if challenge.method == "phone_password":
        lock = session.get(PasswordLock, challenge.mobile_hash)
        if lock is not None and lock.locked_until is not None and lock.locked_until > now:
            return CheckOut(status="locked", attempts_left=0)
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
        if lock is not None:
            lock.failures = 0
            lock.locked_until = None
        session.commit()
        return _verified(settings, customer, challenge.method, now, left)

    status = "invalid"
    if challenge.method == "phone_password":
        if lock is None:
            lock = PasswordLock(mobile_hash=challenge.mobile_hash, failures=0)
            session.add(lock)
        lock.failures = (lock.failures or 0) + 1
        if lock.failures >= settings.password_max_failures:
            lock.locked_until = now + timedelta(seconds=settings.password_lock_seconds)
            lock.failures = 0
            status = "locked"
    if left <= 0:
        status = "locked"
    if status == "locked":
        challenge.status = "locked"
        left = 0
    session.commit()
    return CheckOut(status=cast(CheckStatus, status), attempts_left=left)


def check_app_session(
    session: Session, settings: Settings, *, token: str, now: datetime
) -> CheckOut:
    customer_id = read_app_session(settings, token, now)
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None:
        return CheckOut(status="invalid", attempts_left=0)
    return _verified(settings, customer, "app_session", now, 0)
