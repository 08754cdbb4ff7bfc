"""/docs and /redoc in headless Chromium with every request to another host blocked: the API
serves everything they need (nothing was asked of another host, and their Content-Security-Policy
refused nothing), and Swagger UI offers Authorize for the three schemes."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.api_process import ApiProcess

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def offline_page(browser: Any, viewport: dict[str, int], blocked: list[str]) -> Any:
    context = browser.new_context(viewport=viewport, locale="en-US")

    def only_local(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    # What the page's Content-Security-Policy refused counts too (the browser never asks).
    page.on(
        "console",
        lambda message: (
            blocked.append(f"refused: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.set_default_timeout(20_000)
    return page


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_swagger_ui_offline_with_authorize(
    browser: Any, api_server: ApiProcess, screenshots: Path, viewport: dict[str, int]
) -> None:
    blocked: list[str] = []
    page = offline_page(browser, viewport, blocked)
    page.goto(f"{api_server.url}/docs")
    page.locator(".swagger-ui .info .title").filter(has_text="Rights backend").wait_for()
    page.locator(".opblock-summary").first.wait_for()
    assert page.locator(".opblock").count() >= 17
    authorize = page.get_by_role("button", name="Authorize").first
    authorize.wait_for()
    name = "phone" if viewport is PHONE else "desktop"
    page.screenshot(path=str(screenshots / f"api-docs-offline-{name}.png"))

    authorize.click()
    dialog = page.locator(".dialog-ux .modal-ux")
    dialog.wait_for()
    for scheme, header in (
        ("ApiKey", "X-API-Key"),
        ("SubjectProof", "X-Subject-Proof"),
        ("StaffBearer", "Bearer"),
    ):
        assert dialog.get_by_text(scheme, exact=False).count() >= 1, scheme
        assert header in dialog.inner_text(), header
    page.screenshot(path=str(screenshots / f"api-docs-authorize-{name}.png"))
    assert blocked == []


def test_try_it_out_sends_the_authorized_staff_token(
    browser: Any, api_server: ApiProcess, screenshots: Path
) -> None:
    blocked: list[str] = []
    page = offline_page(browser, DESKTOP, blocked)
    page.goto(f"{api_server.url}/docs#/tickets/list_tickets_v1_tickets_get")
    page.get_by_role("button", name="Authorize").first.click()
    bearer = page.locator(".auth-container").filter(has_text="StaffBearer")
    bearer.locator("input").fill(api_server.staff_token)
    bearer.get_by_role("button", name="Apply credentials").click()
    bearer.get_by_role("button", name="Close").click()

    operation = page.locator("#operations-tickets-list_tickets_v1_tickets_get")
    if not operation.locator(".try-out").is_visible():
        operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    page.screenshot(path=str(screenshots / "api-docs-try-it-out.png"))
    assert blocked == []


def test_redoc_offline(browser: Any, api_server: ApiProcess, screenshots: Path) -> None:
    blocked: list[str] = []
    page = offline_page(browser, DESKTOP, blocked)
    page.goto(f"{api_server.url}/redoc")
    page.get_by_role("heading", name="Rights backend").first.wait_for()
    # Each operation names its scheme and shows its example body.
    page.get_by_text("Authorizations:").first.wait_for()
    page.get_by_text('"mobile": "13800138000"').first.wait_for()
    # The footer keeps its words; its logo (on Redocly's CDN) is not asked for.
    page.get_by_text("API docs by Redocly").first.wait_for()
    page.screenshot(path=str(screenshots / "api-redoc-offline.png"))
    assert blocked == []
