"""The staff console: server-rendered pages under /console for the privacy team.

Sign-in with a staff token sets a signed session cookie (see auth.py); every page needs it and
every form carries the session's CSRF token. The pages call the same services as the staff API,
so the rules (transition table, versions, refusal grounds, audit of reads) are the backend's.
Kept out of the OpenAPI document: it is HTML for people, not part of the API contract.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.console import auth, i18n, service
from api.console.auth import ConsoleSession
from api.core.auth import get_settings
from api.core.database import get_session
from api.core.errors import ApiError
from api.core.settings import Settings
from api.tickets import rules

log = logging.getLogger("api.console")

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "console_lang"
MAX_REASON = 2000

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    local=service.local, clause_words=i18n.clause_words, show=service.display_value
)
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True

router = APIRouter(prefix="/console", include_in_schema=False)

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_SECURITY_HEADERS = {
    # Pages show personal data: never cached, never framed, no third-party anything.
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


# ---------------------------------------------------------------- helpers


def _lang(request: Request) -> tuple[str, bool]:
    """The console language and whether it was chosen just now (?lang=, then kept in a cookie)."""
    chosen = i18n.pick_lang(request.query_params.get("lang"))
    if chosen:
        return chosen, True
    kept = i18n.pick_lang(request.cookies.get(LANG_COOKIE))
    if kept:
        return kept, False
    accept = request.headers.get("accept-language", "").lower()
    return ("en" if accept.startswith("en") else i18n.DEFAULT_LANG), False


def _switch_url(request: Request, other: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + "?" + urlencode([*params, ("lang", other)])


def _render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: ConsoleSession | None,
    status: int = 200,
    write_session: bool = False,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang, chosen = _lang(request)
    other = "en" if lang == "zh" else "zh"
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": i18n.translator(lang),
            "lang": lang,
            "other_lang": other,
            "switch_url": _switch_url(request, other),
            "session": session,
            **context,
        },
        status_code=status,
        headers={**_SECURITY_HEADERS, **(headers or {})},
    )
    if chosen:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 86400,
            path=auth.COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=auth.secure_cookies(request),
        )
    if write_session and session is not None:
        auth.write_session(request, response, session)
    return response


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/console/queue"
    return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)


def _safe_next(value: str | None) -> str:
    # Only console paths: no open redirect to another site (//host, scheme:, backslashes).
    if value and value.startswith("/console") and "//" not in value and "\\" not in value:
        return value
    return "/console/queue"


def _now(request: Request) -> Any:
    return request.app.state.clock.now()


def _t(request: Request) -> Callable[..., str]:
    return i18n.translator(_lang(request)[0])


# ---------------------------------------------------------------- sign-in


@router.get("", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/console/queue", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    db: SessionDep,
    next: str | None = None,
    signed_out: str | None = None,
) -> Response:
    session = auth.read_session(request, db)
    if session is not None and session.signed_in:
        return RedirectResponse(_safe_next(next), status_code=303)
    fresh = session is None
    session = session or auth.new_session()
    notice = "signed_out" if signed_out else ("session_expired" if next else None)
    return _render(
        request,
        "login.html",
        {"next": _safe_next(next), "notice": notice},
        session=session,
        write_session=fresh,
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    session = auth.read_session(request, db)
    if not auth.csrf_ok(session, csrf_token):
        return _render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "csrf_failed"},
            session=auth.new_session(),
            status=403,
            write_session=True,
        )
    now = _now(request)
    wait = auth.sign_in_wait(db, settings, request, now)
    if wait:
        db.rollback()
        log.warning("console sign-in throttled")
        return _render(
            request,
            "login.html",
            {
                "next": _safe_next(next),
                "error_text": _t(request)("sign_in_throttled", minutes=math.ceil(wait / 60)),
            },
            session=session,
            status=429,
            headers={"Retry-After": str(wait)},
        )
    match = auth.staff_actor_for_token(settings, token) if token else None
    auth.record_sign_in(db, settings, request, now, ok=match is not None)
    if match is None:
        db.commit()
        log.warning("console sign-in refused")
        return _render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "sign_in_failed"},
            session=session,
            status=401,
        )
    actor, fp = match
    audit.append(db, now=now, actor=actor, action="staff.sign_in", data={"via": "console"})
    signed_in = auth.start_session(db, actor, fp, now)
    db.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    auth.write_session(request, response, signed_in)
    return response


@router.post("/logout")
def logout(request: Request, db: SessionDep, csrf_token: Annotated[str, Form()] = "") -> Response:
    session = auth.read_session(request, db)
    if not auth.csrf_ok(session, csrf_token):
        return _render(
            request,
            "login.html",
            {"next": "/console/queue", "error": "csrf_failed"},
            session=session,
            status=403,
        )
    if session is not None and session.actor is not None:
        audit.append(
            db,
            now=_now(request),
            actor=session.actor,
            action="staff.sign_out",
            data={"via": "console"},
        )
        auth.end_session(db, session, _now(request))
        db.commit()
    response = RedirectResponse("/console/login?signed_out=1", status_code=303)
    auth.write_session(request, response, auth.new_session())
    return response


# ---------------------------------------------------------------- queue


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, db: SessionDep) -> Response:
    session = auth.read_session(request, db)
    if session is None or session.actor is None:
        return _to_login(request)
    filters, invalid = service.parse_filters(request.query_params)
    rows = service.queue(db, now=_now(request), filters=filters)
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, math.ceil(len(rows) / service.PAGE_SIZE))
    page = min(page, pages)
    shown = rows[(page - 1) * service.PAGE_SIZE : page * service.PAGE_SIZE]
    service.record_queue_read(
        db, now=_now(request), actor=session.actor, filters=filters, returned=len(shown)
    )
    query = filters.query()
    return _render(
        request,
        "queue.html",
        {
            "rows": shown,
            "total": len(rows),
            "filters": filters,
            "invalid": invalid,
            "page": page,
            "pages": pages,
            "csv_url": "/console/queue.csv" + ("?" + urlencode(query) if query else ""),
            "page_url": lambda n: "/console/queue?" + urlencode({**query, "page": n}),
            "statuses": rules.STATUSES,
            "types": rules.TICKET_TYPES,
            "brands": service.BRANDS,
            "calendar": service.calendar_summary(db),
        },
        session=session,
    )


@router.get("/queue.csv")
def queue_csv(request: Request, db: SessionDep) -> Response:
    session = auth.read_session(request, db)
    if session is None or session.actor is None:
        return _to_login(request)
    filters, _invalid = service.parse_filters(request.query_params)
    now = _now(request)
    rows = service.queue(db, now=now, filters=filters)
    service.record_queue_read(
        db, now=now, actor=session.actor, filters=filters, returned=len(rows), export=True
    )
    t = _t(request)
    name = f"{t('csv_filename')}-{now.strftime('%Y%m%d-%H%M')}.csv"
    return Response(
        service.queue_csv(rows, t).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="tickets.csv"; '
            f"filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ---------------------------------------------------------------- one ticket


def _ticket_page(
    request: Request,
    db: SessionDep,
    session: ConsoleSession,
    reference: str,
    *,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    lang = _lang(request)[0]
    assert session.actor is not None
    try:
        view = service.ticket_view(
            db,
            request.app.state.policy,
            reference=reference,
            now=_now(request),
            actor=session.actor,
            lang=lang,
            clause_words=i18n.clause_words,
        )
    except ApiError as exc:
        if exc.status != 404:
            raise
        return _render(request, "not_found.html", {}, session=session, status=404)
    # The confirmation after a move (post/redirect/get), shown only while it is still true.
    moved = request.query_params.get("moved")
    return _render(
        request,
        "ticket.html",
        {
            "v": view,
            "error": error,
            "form": form or {},
            "moved": moved if moved == view.ticket.status and not error else None,
        },
        session=session,
        status=status,
    )


@router.get("/tickets/{reference}", response_class=HTMLResponse)
def ticket_page(reference: str, request: Request, db: SessionDep) -> Response:
    session = auth.read_session(request, db)
    if session is None or session.actor is None:
        return _to_login(request)
    if len(reference) > 20:
        return _render(request, "not_found.html", {}, session=session, status=404)
    return _ticket_page(request, db, session, reference)


@router.post("/tickets/{reference}/transitions", response_class=HTMLResponse)
def ticket_move(
    reference: str,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    to_status: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    refusal_ground: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    session = auth.read_session(request, db)
    if session is None or session.actor is None:
        return _to_login(request)
    if len(reference) > 20:
        return _render(request, "not_found.html", {}, session=session, status=404)
    t = _t(request)
    form = {"to_status": to_status, "reason": reason, "refusal_ground": refusal_ground}
    if not auth.csrf_ok(session, csrf_token):
        return _ticket_page(
            request, db, session, reference, error=t("csrf_failed"), status=403, form=form
        )
    reason = reason.strip()
    problem = None
    if not reason:
        problem = "err_reason_required"
    elif len(reason) > MAX_REASON:
        problem = "err_reason_too_long"
    elif not version.isdigit() or not 1 <= int(version) < 2**31:
        problem = "err_bad_version"
    if problem:
        return _ticket_page(
            request, db, session, reference, error=t(problem), status=422, form=form
        )
    try:
        service.move(
            db,
            settings,
            request.app.state.policy,
            request.app.state.session_factory,
            reference=reference,
            actor=session.actor,
            to_status=to_status,
            reason=reason,
            version=int(version),
            refusal_ground=refusal_ground or None,
            now=_now(request),
        )
    except ApiError as exc:
        db.rollback()
        if exc.code == "ticket_not_found":
            return _render(request, "not_found.html", {}, session=session, status=404)
        if exc.code == "version_conflict":
            current = exc.details[0].get("current_version", "?") if exc.details else "?"
            message = t("err_version_conflict", current=current)
        elif f"err_{exc.code}" in i18n.TEXTS:
            message = t(f"err_{exc.code}")
        else:
            message = t("err_generic", message=exc.message)
        return _ticket_page(
            request, db, session, reference, error=message, status=exc.status, form=form
        )
    return RedirectResponse(
        f"/console/tickets/{quote(reference)}?moved={quote(to_status)}", status_code=303
    )


# ---------------------------------------------------------------- static

_STATIC = {"console.css": "text/css; charset=utf-8"}


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in _STATIC:
        return Response(status_code=404)
    body = (HERE / "static" / name).read_bytes()
    return Response(
        body,
        media_type=_STATIC[name],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
