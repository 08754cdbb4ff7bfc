"""Console sessions: a signed cookie that names the staff member, and the CSRF token of the forms.

The cookie holds no secret of its own: {"actor", "fp", "csrf"} signed with itsdangerous (the
backend's proof secret under a salt of its own, so it cannot be confused with a subject proof).
It is HttpOnly, SameSite=Strict, limited to /console, Secure outside dev, and expires after
SESSION_SECONDS. The staff token's fingerprint is checked against RIGHTS_STAFF_TOKENS on every
request, so removing a token from the configuration ends its console sessions too.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from api.core.security import get_settings, token_fingerprint
from api.core.settings import Settings

COOKIE = "rights_console"
COOKIE_PATH = "/console"
SESSION_SECONDS = 8 * 3600
_SALT = "staff-console-session"


@dataclass(frozen=True)
class ConsoleSession:
    csrf: str
    actor: str | None = None  # "staff:<fingerprint>" as in the API's audit entries
    fp: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.actor is not None


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.proof_secret, salt=_SALT)


def staff_actor_for_token(settings: Settings, token: str) -> tuple[str, str] | None:
    """(actor id, fingerprint) of a configured staff token; the same actor id as the API's."""
    given = token.strip().encode()
    match: tuple[str, str] | None = None
    for known in settings.staff_token_list:
        # Compare with every token so the time taken does not say which one matched.
        if hmac.compare_digest(given, known.encode()) and match is None:
            fp = token_fingerprint(known)
            match = ("staff:" + fp, fp)
    return match


def read_session(request: Request) -> ConsoleSession | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    settings = get_settings(request)
    try:
        data = _serializer(settings).loads(raw, max_age=SESSION_SECONDS)
        session = ConsoleSession(csrf=str(data["csrf"]), actor=data.get("actor"), fp=data.get("fp"))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if session.signed_in:
        live = {token_fingerprint(t) for t in settings.staff_token_list}
        if session.fp not in live:
            return ConsoleSession(csrf=session.csrf)
    return session


def new_session(actor: str | None = None, fp: str | None = None) -> ConsoleSession:
    # A fresh CSRF token at every sign-in and sign-out: nothing carries across the boundary.
    return ConsoleSession(csrf=secrets.token_urlsafe(32), actor=actor, fp=fp)


def write_session(request: Request, response: Response, session: ConsoleSession) -> None:
    settings = get_settings(request)
    value = _serializer(settings).dumps(
        {"csrf": session.csrf, "actor": session.actor, "fp": session.fp}
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=not settings.is_dev,
    )


def csrf_ok(session: ConsoleSession | None, submitted: str) -> bool:
    return (
        session is not None
        and bool(submitted)
        and hmac.compare_digest(session.csrf.encode(), submitted.encode())
    )
