"""Console sessions that end: sign-out kills a captured cookie, sign-ins are throttled per
address, cookies are Secure whenever the console is served over HTTPS."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from api_helpers import STAFF_TOKEN, live_server
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_console import csrf_of, sign_in

from api.console.auth import COOKIE
from api.core.clock import FixedClock
from api.main import create_app


def _sign_out(client: TestClient) -> None:
    csrf = csrf_of(client.get("/console/queue").text)
    r = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303


def _opens_queue(app: FastAPI, cookie: str) -> bool:
    with TestClient(app, cookies={COOKIE: cookie}) as other:
        r = other.get("/console/queue", follow_redirects=False)
        return r.status_code == 200


def test_a_cookie_captured_before_sign_out_opens_nothing_after(
    client: TestClient, app: FastAPI
) -> None:
    sign_in(client)
    captured = client.cookies[COOKIE]
    assert _opens_queue(app, captured)  # the copy works while the session lives
    _sign_out(client)
    assert not _opens_queue(app, captured)
    r = client.get("/console/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    # Signing in again makes a new session; the old cookie stays dead.
    sign_in(client)
    assert _opens_queue(app, client.cookies[COOKIE]) and not _opens_queue(app, captured)


def test_sessions_end_after_eight_hours_on_the_server_clock(
    client: TestClient, app: FastAPI, clock: FixedClock
) -> None:
    sign_in(client)
    captured = client.cookies[COOKIE]
    clock.at = clock.now() + timedelta(hours=8, seconds=1)
    assert not _opens_queue(app, captured)


def _attempt(client: TestClient, token: str, lang: str | None = None) -> tuple[int, str, str]:
    page = client.get("/console/login" + (f"?lang={lang}" if lang else ""))
    r = client.post(
        "/console/login",
        data={"token": token, "csrf_token": csrf_of(page.text), "next": "/console/queue"},
        follow_redirects=False,
    )
    return r.status_code, r.headers.get("retry-after", ""), r.text


def test_thirty_wrong_sign_ins_from_one_address(app: FastAPI, clock: FixedClock) -> None:
    with TestClient(app, client=("203.0.113.7", 5000)) as attacker:
        results = [_attempt(attacker, f"guess-{i}") for i in range(30)]
        statuses = [status for status, _, _ in results]
        assert statuses == [401] * 5 + [429] * 25
        status, retry_after, html = results[-1]
        assert 0 < int(retry_after) <= 900
        assert "登录失败次数过多" in html and "分钟后再试" in html
        # The right token is refused too while the address waits: no guess is checked.
        assert _attempt(attacker, STAFF_TOKEN)[0] == 429
        status, _, html = _attempt(attacker, "guess-x", lang="en")
        assert status == 429 and "Too many failed sign-ins from this address" in html

        # Another address is not held up by this one.
        with TestClient(app, client=("198.51.100.9", 5000)) as colleague:
            assert _attempt(colleague, STAFF_TOKEN)[0] == 303

        # Once the window has passed, the address may sign in again.
        clock.at = clock.now() + timedelta(seconds=int(retry_after))
        assert _attempt(attacker, STAFF_TOKEN)[0] == 303


def test_a_successful_sign_in_clears_the_failures(app: FastAPI) -> None:
    with TestClient(app, client=("203.0.113.8", 5000)) as staff:
        for i in range(4):
            assert _attempt(staff, f"typo-{i}")[0] == 401
        assert _attempt(staff, STAFF_TOKEN)[0] == 303
        staff.cookies.clear()
        for i in range(4):
            assert _attempt(staff, f"typo-again-{i}")[0] == 401


def _session_cookie_header(client: TestClient, **headers: str) -> str:
    """The Set-Cookie of the console session, as the sign-in page first sets it."""
    r = client.get("/console/login", headers=headers)
    assert r.status_code == 200, r.text
    return next(v for k, v in r.headers.multi_items() if k == "set-cookie" and COOKIE in v)


def test_cookies_are_secure_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://console.example") as https:
        assert "secure" in _session_cookie_header(https).lower()
        sign_in(https)  # and the signed-in session's cookie, over https
        assert https.get("/console/queue", follow_redirects=False).status_code == 200
    with TestClient(app) as plain:  # the embedded dev run over http
        assert "secure" not in _session_cookie_header(plain).lower()


@pytest.mark.parametrize("trusted", [True, False])
def test_forwarded_proto_from_a_trusted_proxy_makes_cookies_secure(
    db_url: str, tmp_path: Path, clock: FixedClock, trusted: bool
) -> None:
    settings = make_settings(db_url, tmp_path, trusted_proxies="10.0.0.5" if trusted else "")
    app = create_app(settings, clock=clock)
    with TestClient(app, client=("10.0.0.5", 4000)) as proxied:
        header = _session_cookie_header(proxied, **{"X-Forwarded-Proto": "https"})
    assert ("secure" in header.lower()) is trusted


def test_prod_cookies_are_always_secure(db_url: str, tmp_path: Path, clock: FixedClock) -> None:
    app = create_app(make_settings(db_url, tmp_path, env="prod"), clock=clock)
    with TestClient(app) as client:
        assert "secure" in _session_cookie_header(client).lower()


def test_parallel_wrong_sign_ins_are_counted_one_by_one(db_url: str, tmp_path: Path) -> None:
    """20 guesses at once from one address, against a real server: at most 5 are checked."""
    app = create_app(make_settings(db_url, tmp_path))
    with live_server(app) as base:

        def guess(i: int) -> int:
            with httpx.Client(base_url=base, timeout=60) as c:
                page = c.get("/console/login")
                r = c.post(
                    "/console/login",
                    data={"token": f"guess-{i}", "csrf_token": csrf_of(page.text)},
                    follow_redirects=False,
                )
                return r.status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(guess, range(20)))
    assert statuses.count(401) == 5 and statuses.count(429) == 15, statuses
