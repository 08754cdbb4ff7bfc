"""The console's dependencies: the session, the clock, the policy and the signed-in person.

`SignedIn` is the one sign-in check of every console page: without a live session it answers
303 to the sign-in page (a POST comes back to the queue after signing in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from api.console import auth, i18n
from api.console.auth import ConsoleSession
from api.console.staff import Identity
from api.core.auth import get_settings
from api.core.clock import Clock
from api.core.database import get_session
from api.core.policy import Policy
from api.core.settings import Settings

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


ClockDep = Annotated[Clock, Depends(get_clock)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
FactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]


def now(clock: ClockDep) -> datetime:
    return clock.now()


NowDep = Annotated[datetime, Depends(now)]


def console_session(
    request: Request, db: SessionDep, settings: SettingsDep, at: NowDep
) -> ConsoleSession | None:
    """The cookie's session, signed in or not (None without a valid cookie)."""
    return auth.read_session(request, db, settings, at)


MaybeSession = Annotated[ConsoleSession | None, Depends(console_session)]


def signed_in(request: Request, session: MaybeSession) -> ConsoleSession:
    if session is None or session.identity is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/console/queue"
        location = f"/console/login?next={quote(target, safe='')}"
        lang = i18n.pick_lang(request.query_params.get("lang"))
        if lang:  # the sign-in page in the language asked for
            location += f"&lang={lang}"
        raise HTTPException(303, "sign-in required", headers={"Location": location})
    return session


SignedIn = Annotated[ConsoleSession, Depends(signed_in)]


def identity_of(session: ConsoleSession) -> Identity:
    assert session.identity is not None  # SignedIn guarantees it
    return session.identity


@dataclass(frozen=True)
class Page:
    """What every signed-in ticket page and form works with, as one dependency."""

    request: Request
    db: Session
    settings: Settings
    policy: Policy
    now: datetime
    session: ConsoleSession


def page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    at: NowDep,
    session: SignedIn,
) -> Page:
    return Page(request, db, settings, policy, at, session)


PageDep = Annotated[Page, Depends(page)]
