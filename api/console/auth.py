"""Console sessions: a signed cookie naming a server-side session, and the CSRF token of forms.

Staff sign in with their own account (login and password, see staff.py) or, for machines, a
staff token. Before sign-in the cookie holds only a CSRF token ({"csrf"}, signed). Sign-in
creates a row in `console_sessions` and the cookie names it ({"sid", "actor", "fp", "csrf"},
signed with the backend's proof secret under a salt of its own); every page checks that row,
so sign-out (which ends it) kills the cookie at once, wherever it was copied to. The table
keeps only a hash of the session id. The cookie is HttpOnly, SameSite=Strict, limited to
/console, and Secure whenever the console is served over HTTPS (the request's scheme, set from
X-Forwarded-Proto by a trusted proxy) and always outside dev. Sessions end after
SESSION_SECONDS. Every request also checks that the person's account is still active, or the
staff token's fingerprint still configured in RIGHTS_STAFF_TOKENS, so deactivating an account
or removing a token ends its sessions too.

Sign-in failures are counted per client address and per login tried (keyed hashes of both):
after RIGHTS_CONSOLE_SIGN_IN_MAX_FAILURES from one address, or
RIGHTS_CONSOLE_SIGN_IN_LOGIN_MAX_FAILURES at one login from anywhere, within
RIGHTS_CONSOLE_SIGN_IN_WINDOW_SECONDS, attempts are refused with 429 and Retry-After without the
password or token being looked at. A success clears only its own login's failures.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from api.console import staff
from api.console.models import SignInFailure, StaffSession
from api.console.staff import Identity
from api.core.auth import get_settings
from api.core.clients import peer_address
from api.core.clock import as_utc
from api.core.crypto import keyed_hash, token_fingerprint
from api.core.settings import Settings

COOKIE = "rights_console"
COOKIE_PATH = "/console"
SESSION_SECONDS = 8 * 3600
_SALT = "staff-console-session"


@dataclass(frozen=True)
class ConsoleSession:
    csrf: str
    actor: str | None = None  # "staff:<login>", or "staff:<fingerprint>" for a staff token
    fp: str | None = None  # the staff token's fingerprint; None for a named account
    sid: str | None = None  # names the server-side session row
    identity: Identity | None = field(default=None, compare=False)  # read from the database

    @property
    def signed_in(self) -> bool:
        return self.actor is not None

    @property
    def key(self) -> str | None:
        """The hash that names the server-side session row."""
        return _sid_hash(self.sid) if self.sid else None


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.proof_secret, salt=_SALT)


def _sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def staff_actor_for_token(settings: Settings, token: str) -> tuple[str, str] | None:
    """(actor id, fingerprint) of a configured staff token; the same actor id as the API's."""
    given = token.strip().encode()
    match: tuple[str, str] | None = None
    for known in settings.staff_token_list:
        # Compare with every token so the time taken does not say which one matched.
        if hmac.compare_digest(given, known.encode()) and match is None:
            fp = token_fingerprint(known)
            match = (staff.ACTOR_PREFIX + fp, fp)
    return match


def read_session(
    request: Request, db: Session, settings: Settings, now: datetime
) -> ConsoleSession | None:
    """The cookie's session; a signed-in one only while its row is live and its person (an
    active account) or token (still configured) is."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(settings).loads(raw, max_age=SESSION_SECONDS)
        session = ConsoleSession(
            csrf=str(data["csrf"]), actor=data.get("actor"), fp=data.get("fp"), sid=data.get("sid")
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if not session.signed_in:
        return session
    who = _identity(db, settings, session)
    if who is None or not _live(db, session, now):
        return ConsoleSession(csrf=session.csrf)
    return replace(session, identity=who)


def _identity(db: Session, settings: Settings, session: ConsoleSession) -> Identity | None:
    assert session.actor is not None
    if session.fp is not None:
        live = {token_fingerprint(t) for t in settings.staff_token_list}
        return staff.token_identity(session.actor) if session.fp in live else None
    return staff.active_identity(db, session.actor.removeprefix(staff.ACTOR_PREFIX))


def _live(db: Session, session: ConsoleSession, now: datetime) -> bool:
    if not session.key:
        return False
    row = db.get(StaffSession, session.key)
    return (
        row is not None
        and row.ended_at is None
        and row.actor == session.actor
        and as_utc(row.expires_at) > now
    )


def new_session() -> ConsoleSession:
    # A fresh CSRF token at every sign-in and sign-out: nothing carries across the boundary.
    return ConsoleSession(csrf=secrets.token_urlsafe(32))


def start_session(db: Session, actor: str, fp: str | None, now: datetime) -> ConsoleSession:
    """A new server-side session for a signed-in staff member (the caller commits)."""
    sid = secrets.token_urlsafe(32)
    db.add(
        StaffSession(
            id_hash=_sid_hash(sid),
            actor=actor,
            created_at=now,
            expires_at=now + timedelta(seconds=SESSION_SECONDS),
        )
    )
    return ConsoleSession(csrf=secrets.token_urlsafe(32), actor=actor, fp=fp, sid=sid)


def end_session(db: Session, session: ConsoleSession, now: datetime) -> None:
    """Sign-out: the row is ended, so the cookie opens nothing any more (the caller commits)."""
    if session.key:
        row = db.get(StaffSession, session.key)
        if row is not None and row.ended_at is None:
            row.ended_at = now


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def secure_cookies(request: Request) -> bool:
    return is_https(request) or not get_settings(request).is_dev


def write_session(request: Request, response: Response, session: ConsoleSession) -> None:
    settings = get_settings(request)
    value = _serializer(settings).dumps(
        {"csrf": session.csrf, "actor": session.actor, "fp": session.fp, "sid": session.sid}
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def csrf_ok(session: ConsoleSession | None, submitted: str) -> bool:
    return (
        session is not None
        and bool(submitted)
        and hmac.compare_digest(session.csrf.encode(), submitted.encode())
    )


# ---------------------------------------------------------------- sign-in throttling


def _address_hash(settings: Settings, request: Request) -> str:
    # Addresses are personal data: only a keyed hash of one is stored.
    return keyed_hash(settings.lookup_pepper, "console-address", peer_address(request))


def _login_hash(settings: Settings, login: str) -> str | None:
    login = login.strip().casefold()
    return keyed_hash(settings.lookup_pepper, "console-login", login) if login else None


def _wait(
    db: Session, column: Any, digest: str, limit: int, window: timedelta, now: datetime
) -> int:
    count, oldest = db.execute(
        select(func.count(), func.min(SignInFailure.created_at)).where(
            column == digest, SignInFailure.created_at > now - window
        )
    ).one()
    if count < limit or oldest is None:
        return 0
    return max(1, math.ceil((as_utc(oldest) + window - now).total_seconds()))


def sign_in_wait(
    db: Session, settings: Settings, request: Request, login: str, now: datetime
) -> int:
    """Seconds before this address, or anyone trying this login, may try again (0: now).

    On PostgreSQL the address and the login are locked for the rest of the transaction, so
    parallel attempts are counted one after the other (SQLite serialises writes anyway).
    """
    address, account = _address_hash(settings, request), _login_hash(settings, login)
    if db.get_bind().dialect.name == "postgresql":
        for key in sorted(filter(None, ("console:" + address, account and "login:" + account))):
            db.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    window = timedelta(seconds=settings.console_sign_in_window_seconds)
    waits = [
        _wait(
            db,
            SignInFailure.address_hash,
            address,
            settings.console_sign_in_max_failures,
            window,
            now,
        )
    ]
    if account is not None:
        waits.append(
            _wait(
                db,
                SignInFailure.login_hash,
                account,
                settings.console_sign_in_login_max_failures,
                window,
                now,
            )
        )
    return max(waits)


def record_sign_in(
    db: Session, settings: Settings, request: Request, login: str, now: datetime, ok: bool
) -> None:
    """A failure is counted for the address and the login; a success clears the failures of
    its own login only (a token's: the address's token failures), so signing in as oneself
    never wipes out guesses at another's account (the caller commits)."""
    address, account = _address_hash(settings, request), _login_hash(settings, login)
    if not ok:
        db.add(SignInFailure(address_hash=address, login_hash=account, created_at=now))
        return
    own = (
        SignInFailure.login_hash == account
        if account is not None
        else (SignInFailure.address_hash == address) & SignInFailure.login_hash.is_(None)
    )
    db.execute(delete(SignInFailure).where(own))


def purge_console_records(db: Session, settings: Settings, now: datetime) -> int:
    """Deletes ended or expired sessions and failures older than the window; commits."""
    window = timedelta(seconds=settings.console_sign_in_window_seconds)
    removed = 0
    for stmt in (
        delete(StaffSession).where(
            or_(StaffSession.expires_at <= now, StaffSession.ended_at.is_not(None))
        ),
        delete(SignInFailure).where(SignInFailure.created_at <= now - window),
    ):
        removed += int(getattr(db.execute(stmt), "rowcount", 0) or 0)
    db.commit()
    return removed
