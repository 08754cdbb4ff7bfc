"""The staff console: server-rendered pages under /console for the privacy team.

Staff sign in with their own account (or a staff token) and get a signed session cookie (see
auth.py); every page needs it (the `SignedIn` dependency) and every form carries the session's
CSRF token. The pages call the same services as the staff API, so the rules (transition table,
versions, refusal grounds, audit of reads) are the backend's; the console service owns every
transaction, the views here never commit. Kept out of the OpenAPI document: it is HTML for
people, not part of the API contract.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.console import auth, i18n, queue, service
from api.console.auth import ConsoleSession
from api.console.deps import (
    FactoryDep,
    MaybeSession,
    NowDep,
    Page,
    PageDep,
    PolicyDep,
    SessionDep,
    SettingsDep,
    SignedIn,
    identity_of,
)
from api.core.errors import ApiError
from api.tickets import rules
from api.unanswered import service as unanswered
from api.unanswered.service import Filters
from contract import Brand, Language, ReviewMark, Status

log = logging.getLogger("api.console")

HERE = FilePath(__file__).resolve().parent
LANG_COOKIE = "console_lang"
MAX_TEXT = service.MAX_TEXT

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(local=queue.local, clause_words=i18n.clause_words)
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True

router = APIRouter(prefix="/console", include_in_schema=False)

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
            "me": session.identity if session else None,
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


def _safe_next(value: str | None) -> str:
    # Only console paths: no open redirect to another site (//host, scheme:, backslashes).
    if value and value.startswith("/console") and "//" not in value and "\\" not in value:
        return value
    return "/console/queue"


def _t(request: Request) -> Callable[..., str]:
    return i18n.translator(_lang(request)[0])


def _not_found(request: Request, session: ConsoleSession) -> Response:
    return _render(request, "not_found.html", {}, session=session, status=404)


def _error_text(request: Request, exc: ApiError) -> str:
    t = _t(request)
    if exc.code == "version_conflict":
        current = exc.details[0].get("current_version", "?") if exc.details else "?"
        return t("err_version_conflict", current=current)
    if f"err_{exc.code}" in i18n.TEXTS:
        return t(f"err_{exc.code}", **(exc.details[0] if exc.details else {}))
    return t("err_generic", message=exc.message)


# ---------------------------------------------------------------- sign-in


@router.get("", response_class=RedirectResponse)
def home(request: Request) -> RedirectResponse:
    # `/console/?lang=zh`, as the README gives it, keeps its language on the way.
    lang = i18n.pick_lang(request.query_params.get("lang"))
    return RedirectResponse(
        "/console/queue" + (f"?{urlencode({'lang': lang})}" if lang else ""), status_code=303
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, session: MaybeSession, next: str | None = None, signed_out: str | None = None
) -> Response:
    if session is not None and session.identity is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    fresh = session is None
    # "Your session has ended" only to someone whose cookie no longer holds a session, not to
    # a first visit sent here from the queue.
    expired = fresh and bool(next) and auth.COOKIE in request.cookies
    session = session or auth.new_session()
    notice = "signed_out" if signed_out else ("session_expired" if expired else None)
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
    now: NowDep,
    session: MaybeSession,
    login: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    token: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    context: dict[str, Any] = {"next": _safe_next(next), "login": login}
    if not auth.csrf_ok(session, csrf_token):
        return _render(
            request,
            "login.html",
            {**context, "error": "csrf_failed"},
            session=auth.new_session(),
            status=403,
            write_session=True,
        )
    result = service.sign_in(
        db, settings, request, now, login=login, password=password, token=token
    )
    if result.wait:
        log.warning("console sign-in throttled")
        minutes = math.ceil(result.wait / 60)
        return _render(
            request,
            "login.html",
            {**context, "error_text": _t(request)("sign_in_throttled", minutes=minutes)},
            session=session,
            status=429,
            headers={"Retry-After": str(result.wait)},
        )
    if result.session is None:
        log.warning("console sign-in refused")
        return _render(
            request,
            "login.html",
            {**context, "error": "sign_in_failed"},
            session=session,
            status=401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    auth.write_session(request, response, result.session)
    return response


@router.post("/logout")
def logout(
    request: Request,
    db: SessionDep,
    now: NowDep,
    session: MaybeSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not auth.csrf_ok(session, csrf_token):
        return _render(
            request,
            "login.html",
            {"next": "/console/queue", "error": "csrf_failed"},
            session=session,
            status=403,
        )
    assert session is not None  # csrf_ok
    service.sign_out(db, session, now)
    response = RedirectResponse("/console/login?signed_out=1", status_code=303)
    auth.write_session(request, response, auth.new_session())
    return response


# ---------------------------------------------------------------- queue


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request, db: SessionDep, settings: SettingsDep, now: NowDep, session: SignedIn
) -> Response:
    filters, invalid = queue.parse_filters(request.query_params)
    found = queue.load(db, now=now, filters=filters, pepper=settings.lookup_pepper)
    redirect = queue.mobile_redirect(filters, found.search)
    if redirect is not None:
        return RedirectResponse("/console/queue?" + urlencode(redirect), status_code=303)
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, math.ceil(len(found.rows) / queue.PAGE_SIZE))
    page = min(page, pages)
    shown = found.rows[(page - 1) * queue.PAGE_SIZE : page * queue.PAGE_SIZE]
    calendar = service.calendar_summary(db)
    queue.record_read(
        db,
        now=now,
        actor=identity_of(session).actor,
        filters=filters,
        found=found,
        returned=len(shown),
    )
    query = filters.query()
    return _render(
        request,
        "queue.html",
        {
            "rows": shown,
            "assignees": service.assignee_names(db, [r.ticket.reference for r in shown]),
            "total": len(found.rows),
            "counts": found.counts,
            "search": found.search,
            "filters": filters,
            "invalid": invalid,
            "page": page,
            "pages": pages,
            "csv_url": "/console/queue.csv" + ("?" + urlencode(query) if query else ""),
            "page_url": lambda n: "/console/queue?" + urlencode({**query, "page": n}),
            "view_url": lambda v: (
                "/console/queue?" + urlencode({k: x for k, x in {**query, "view": v}.items() if x})
            ),
            "statuses": rules.STATUSES,
            "types": rules.TICKET_TYPES,
            "brands": queue.BRANDS,
            "views": queue.VIEWS,
            "calendar": calendar,
        },
        session=session,
    )


@router.get("/queue.csv")
def queue_csv(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    now: NowDep,
    session: SignedIn,
) -> Response:
    filters, _invalid = queue.parse_filters(request.query_params)
    found = queue.load(db, now=now, filters=filters, pepper=settings.lookup_pepper)
    queue.record_read(
        db,
        now=now,
        actor=identity_of(session).actor,
        filters=filters,
        found=found,
        returned=len(found.rows),
        export=True,
    )
    lang = _lang(request)[0]
    t = i18n.translator(lang)
    name = queue.csv_filename(t, now)
    return Response(
        queue.queue_csv(
            found.rows,
            t,
            policy,
            lang,
            service.assignee_names(db, [r.ticket.reference for r in found.rows]),
        ).encode("utf-8"),
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
    page: Page,
    reference: str,
    *,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    request, session = page.request, page.session
    if len(reference) > 20:
        return _not_found(request, session)
    lang = _lang(request)[0]
    try:
        view = service.ticket_view(
            page.db,
            page.settings,
            page.policy,
            reference=reference,
            now=page.now,
            identity=identity_of(session),
            session_key=session.key,
            lang=lang,
            t=i18n.translator(lang),
            clause_words=i18n.clause_words,
        )
    except ApiError as exc:
        if exc.status != 404:
            raise
        return _not_found(request, session)
    # The confirmation after a change (post/redirect/get); a move's only while it is still true.
    done = request.query_params.get("done", "")
    moved = done.removeprefix("moved:") if done.startswith("moved:") else None
    if moved is not None and (moved != view.ticket.status or error):
        moved = None
    return _render(
        request,
        "ticket.html",
        {
            "v": view,
            "error": error,
            "form": form or {},
            "moved": moved,
            "done": done if done in i18n.DONE_KEYS and not error else None,
        },
        session=session,
        status=status,
    )


@router.get("/tickets/{reference}", response_class=HTMLResponse)
def ticket_page(reference: str, page: PageDep) -> Response:
    return _ticket_page(page, reference)


def _checked_text(
    value: str, required: str, max_chars: int | None = MAX_TEXT
) -> tuple[str, str | None]:
    value = value.strip()
    if not value:
        return value, required
    if max_chars is not None and len(value) > max_chars:
        return value, "err_text_too_long"
    return value, None


def _ticket_command(
    page: Page,
    reference: str,
    csrf_token: str,
    done: str,
    command: Callable[[], None],
    form: dict[str, str],
) -> Response:
    """The frame of every ticket form: CSRF, the service call, the answer (the ticket page
    again with the message and what was typed, or a redirect to it with a confirmation)."""
    if not auth.csrf_ok(page.session, csrf_token):
        return _ticket_page(
            page, reference, error=_t(page.request)("csrf_failed"), status=403, form=form
        )
    try:
        command()
    except ApiError as exc:
        if exc.code == "ticket_not_found":
            return _not_found(page.request, page.session)
        message = _error_text(page.request, exc)
        return _ticket_page(page, reference, error=message, status=exc.status, form=form)
    return RedirectResponse(
        f"/console/tickets/{quote(reference)}?done={quote(done)}", status_code=303
    )


def _invalid(key: str) -> ApiError:
    return ApiError(422, key.removeprefix("err_"), key, "body")


@router.post("/tickets/{reference}/transitions", response_class=HTMLResponse)
def ticket_move(
    reference: str,
    page: PageDep,
    factory: FactoryDep,
    to_status: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    refusal_ground: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """One form for every move; a final status is confirmed on a page of its own first."""
    form = {"to_status": to_status, "reason": reason, "refusal_ground": refusal_ground}
    reason, problem = _checked_text(reason, "err_reason_required")
    if not problem and not to_status:
        problem = "err_target_required"
    if not problem and (not version.isdigit() or not 1 <= int(version) < 2**31):
        problem = "err_bad_version"
    if not problem and to_status == Status.REFUSED and not refusal_ground:
        problem = "err_refusal_ground_required"
    ground = refusal_ground if to_status == Status.REFUSED else ""  # only a refusal has a ground
    if (
        not problem
        and to_status in rules.FINAL_STATUSES
        and confirmed != "yes"
        and auth.csrf_ok(page.session, csrf_token)
    ):
        lang = _lang(page.request)[0]
        return _render(
            page.request,
            "confirm.html",
            {
                "reference": reference,
                "to_status": to_status,
                "reason": reason,
                "version": version,
                "refusal_ground": ground,
                "ground_text": page.policy.refusal_grounds.get(ground, {}).get(lang, ""),
                "notice_text": service.notice_preview(
                    page.db,
                    page.policy,
                    reference=reference,
                    to_status=to_status,
                    reason=reason,
                    refusal_ground=ground or None,
                ),
            },
            session=page.session,
        )

    def command() -> None:
        if problem:
            raise _invalid(problem)
        service.move(
            page.db,
            page.settings,
            page.policy,
            factory,
            reference=reference,
            identity=identity_of(page.session),
            to_status=to_status,
            reason=reason,
            version=int(version),
            refusal_ground=ground or None,
            now=page.now,
        )

    return _ticket_command(page, reference, csrf_token, f"moved:{to_status}", command, form)


@router.post("/tickets/{reference}/assignment", response_class=HTMLResponse)
def ticket_assign(
    reference: str,
    page: PageDep,
    assignee: Annotated[str, Form(max_length=32)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def command() -> None:
        service.assign(
            page.db,
            reference=reference,
            identity=identity_of(page.session),
            to_login=assignee,
            now=page.now,
        )

    return _ticket_command(page, reference, csrf_token, "assigned", command, {})


def _text_command(
    page: Page,
    reference: str,
    kind: str,
    text: str,
    csrf_token: str,
    record: Callable[..., object],
    text_field: str,
    max_chars: int | None = MAX_TEXT,
) -> Response:
    """A form of one required text (a note, a delay notice's reason), recorded by `record`."""

    def command() -> None:
        value, problem = _checked_text(text, "err_text_required", max_chars)
        if problem:
            raise _invalid(problem)
        record(
            page.db,
            reference=reference,
            identity=identity_of(page.session),
            now=page.now,
            **{text_field: value},
        )

    return _ticket_command(page, reference, csrf_token, kind, command, {kind: text})


@router.post("/tickets/{reference}/notes", response_class=HTMLResponse)
def ticket_note(
    reference: str,
    page: PageDep,
    note: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    record = functools.partial(service.add_note, limits=service.NoteLimits.of(page.settings))
    # The service bounds a note's length and count (422 naming the note).
    return _text_command(page, reference, "note", note, csrf_token, record, "body", None)


@router.post("/tickets/{reference}/delay-notices", response_class=HTMLResponse)
def ticket_delay(
    reference: str,
    page: PageDep,
    delay: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    record = functools.partial(service.record_delay, settings=page.settings, policy=page.policy)
    return _text_command(page, reference, "delay", delay, csrf_token, record, "reason")


@router.post("/tickets/{reference}/notices/{notice_id}", response_class=HTMLResponse)
def ticket_notice_reply(
    reference: str,
    notice_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    page: PageDep,
    reply: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def command() -> None:
        service.record_reply(
            page.db,
            reference=reference,
            identity=identity_of(page.session),
            notice_id=notice_id,
            status=reply,
            now=page.now,
        )

    return _ticket_command(page, reference, csrf_token, "reply", command, {})


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


# ---------------------------------------------------------------- unanswered questions

_REVIEW_VIEWS = ("open", "marked")


def _review_filters(brand: str | None, language: str | None, state: str | None) -> Filters:
    return Filters(
        brand=brand if brand in Brand.values() else None,
        language=language if language in Language.values() else None,
        marked=state == "marked",
    )


def _unanswered_page(
    request: Request,
    db: SessionDep,
    session: ConsoleSession,
    filters: Filters,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    groups = unanswered.review_groups(db, filters)
    state = _REVIEW_VIEWS[filters.marked]
    query = {"brand": filters.brand or "", "language": filters.language or ""}
    lang = _lang(request)[0]
    done = request.query_params.get("done", "")
    return _render(
        request,
        "unanswered.html",
        {
            "groups": groups,
            "total": sum(g.count for g in groups),
            "filters": filters,
            "state": state,
            "views": _REVIEW_VIEWS,
            "view_url": lambda v: (
                "/console/unanswered?"
                + urlencode({k: x for k, x in {**query, "state": v}.items() if x})
            ),
            "brands": Brand.values(),
            "languages": Language.values(),
            "marks": ReviewMark.values(),
            "topics": [
                (name, hints.get(lang) or next(iter(hints.values()), ""))
                for name, hints in unanswered.topics().items()
            ],
            "error": error,
            "done": done if done.isdigit() and not error else None,
        },
        session=session,
        status=status,
    )


@router.get("/unanswered", response_class=HTMLResponse)
def unanswered_page(
    request: Request,
    db: SessionDep,
    session: SignedIn,
    brand: str | None = None,
    language: str | None = None,
    state: str | None = None,
) -> Response:
    return _unanswered_page(request, db, session, _review_filters(brand, language, state))


@router.post("/unanswered/marks", response_class=HTMLResponse)
def unanswered_mark(
    request: Request,
    db: SessionDep,
    now: NowDep,
    session: SignedIn,
    ids: Annotated[str, Form(max_length=20000)] = "",
    mark: Annotated[str, Form(max_length=40)] = "",
    topic: Annotated[str, Form(max_length=80)] = "",
    brand: Annotated[str, Form(max_length=8)] = "",
    language: Annotated[str, Form(max_length=4)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Settles one group: its questions get the mark (and topic) the staff member chose."""
    filters = _review_filters(brand, language, "open")
    t = _t(request)
    if not auth.csrf_ok(session, csrf_token):
        return _unanswered_page(request, db, session, filters, error=t("csrf_failed"), status=403)
    chosen = [int(i) for i in ids.split(",") if i.strip().isdigit() and len(i.strip()) < 10]
    try:
        marked = unanswered.mark(db, chosen, mark, topic or None, identity_of(session).actor, now)
    except unanswered.MarkError as exc:
        return _unanswered_page(request, db, session, filters, error=t(str(exc)), status=422)
    if not marked:
        return _unanswered_page(
            request, db, session, filters, error=t("err_mark_nothing"), status=409
        )
    query = {"brand": filters.brand or "", "language": filters.language or "", "done": marked}
    return RedirectResponse(
        "/console/unanswered?" + urlencode({k: v for k, v in query.items() if v}),
        status_code=303,
    )
