"""The staff console in real headless Chromium against the real API under uvicorn.

A customer files a deletion request through the public API (SMS code read from the dev outbox),
then a staff member signs in, filters the queue, opens the ticket, moves it to in_progress and
to completed, and watches the audit trail grow. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.console.staff import DEMO_PASSWORD
from tests.support.api_process import ApiProcess

DEMO_MOBILE = "13800138000"  # C-0001, 王芳, MINI


def file_ticket(url: str, bot_api_key: str, mobile: str, body: dict[str, Any]) -> dict[str, Any]:
    """Verification by SMS code, then the ticket, exactly as the bot does it."""
    bot = {"X-API-Key": bot_api_key}
    with httpx.Client(base_url=url, timeout=10) as http:
        started = http.post(
            "/v1/verifications",
            headers=bot,
            json={"method": "sms_code", "mobile": mobile, "channel": "chat"},
        )
        assert started.status_code == 201, started.text
        sms = next(
            m
            for m in http.get("/v1/dev/outbox").json()["items"]
            if m["kind"] == "sms" and m["to"].endswith(mobile)
        )
        code = re.search(r"\d{6}", sms["body"])
        assert code
        checked = http.post(
            f"/v1/verifications/{started.json()['id']}/check",
            headers=bot,
            json={"code": code.group(0)},
        ).json()
        assert checked["status"] == "verified", checked
        created = http.post(
            "/v1/tickets",
            json=body,
            headers={
                **bot,
                "X-Subject-Proof": checked["proof"],
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
        assert created.status_code == 201, created.text
        return dict(created.json())


def audit_rows(page: Any) -> int:
    return int(page.locator("#audit-trail tbody tr").count())


def sign_in(page: Any, url: str, login: str = "lead.demo") -> None:
    """The dev environment's demo account (a lead; "agent.demo" is an agent)."""
    page.goto(f"{url}/console/login?lang=zh")
    page.get_by_label("登录名").fill(login)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/console/queue")


def move(page: Any, target: str, reason: str) -> None:
    """The one transition form; a final status is confirmed on the next page."""
    form = page.locator("#transition-form")
    form.get_by_label("新状态").select_option(target)
    form.get_by_label("原因").fill(reason)
    form.get_by_role("button", name="变更状态").click()


def test_staff_works_a_ticket_in_the_console(
    api_server: ApiProcess, page: Any, screenshots: Path
) -> None:
    ticket = file_ticket(
        api_server.url,
        api_server.bot_api_key,
        DEMO_MOBILE,
        {
            "type": "deletion",
            "channel": "chat",
            "language": "zh",
            "details": {"ground": "consent_withdrawn"},
        },
    )
    other = file_ticket(
        api_server.url,
        api_server.bot_api_key,
        "13900139000",
        {
            "type": "complaint",
            "channel": "chat",
            "language": "en",
            "details": {"summary": "Too many marketing calls"},
        },
    )
    ref = ticket["reference"]

    # Every console page needs sign-in: the queue sends us to the sign-in form.
    page.goto(f"{api_server.url}/console/queue")
    assert "/console/login" in page.url
    page.screenshot(path=str(screenshots / "console-01-sign-in.png"), full_page=True)
    page.get_by_label("登录名").fill("lead.demo")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/console/queue")
    assert "王丽" in page.locator("#signed-in-as").inner_text()
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 2
    page.screenshot(path=str(screenshots / "console-02-queue.png"), full_page=True)

    # Filter the queue: MINI, this customer.
    page.get_by_label("品牌").select_option("mini")
    page.get_by_label("搜索：工单编号、手机号或客户编号").fill("C-0001")
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_url(re.compile(r".*q=C-0001.*brand=mini.*"))
    assert rows.count() == 1
    assert page.locator(f'tr[data-reference="{ref}"]').count() == 1
    assert page.locator(f'tr[data-reference="{other["reference"]}"]').count() == 0
    page.screenshot(path=str(screenshots / "console-03-queue-filtered.png"), full_page=True)

    # Open the ticket: masked customer, the request, the audit trail.
    page.get_by_role("link", name=ref).click()
    page.wait_for_url(f"**/console/tickets/{ref}")
    assert page.locator("#customer-name").inner_text() == "王*"
    assert page.locator("#customer-mobile").inner_text() == "138****8000"
    assert "13800138000" not in page.content()
    before = audit_rows(page)
    assert before >= 2  # filed, and this read

    # received -> in_progress
    move(page, "in_progress", "核实删除范围")
    page.wait_for_url("**done=moved%3Ain_progress")
    assert page.locator("#ticket-status").get_attribute("data-status") == "in_progress"
    assert page.get_by_role("status").inner_text().strip().endswith("工单已变更为「处理中」。")
    after_first = audit_rows(page)
    assert after_first > before
    page.screenshot(path=str(screenshots / "console-04-ticket-in-progress.png"), full_page=True)

    # in_progress -> completed: the downstream notices go out, the ledger shows them.
    move(page, "completed", "已删除并通知下游接收方")
    assert "这是最终状态" in page.locator("#confirm-text").inner_text()
    page.get_by_role("button", name="确认变更为「已完成」").click()
    page.wait_for_url("**done=moved%3Acompleted")
    assert page.locator("#ticket-status").get_attribute("data-status") == "completed"
    assert audit_rows(page) > after_first
    transitions = page.locator('#audit-trail tr[data-action="ticket.transition"]')
    assert transitions.count() == 2
    assert page.locator("#notices-ledger tbody tr").count() == 3
    assert page.locator("#backup-rollover").is_visible()
    assert page.locator("form.move").count() == 0  # final: no more moves
    page.screenshot(path=str(screenshots / "console-05-ticket-completed.png"), full_page=True)

    # The same page in English, kept by the language cookie.
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Downstream deletion notices").is_visible()
    page.screenshot(path=str(screenshots / "console-06-ticket-english.png"), full_page=True)

    # The backend agrees, and its audit trail has the console's moves by the same staff actor.
    staff = {"Authorization": f"Bearer {api_server.staff_token}"}
    with httpx.Client(base_url=api_server.url, timeout=10) as http:
        body = http.get(f"/v1/tickets/{ref}", headers=staff).json()
        assert body["status"] == "completed" and body["version"] == 3
        trail = http.get(f"/v1/tickets/{ref}/audit", headers=staff).json()["items"]
    moves = [
        (e["data"]["from"], e["data"]["to"]) for e in trail if e["action"] == "ticket.transition"
    ]
    assert moves == [("received", "in_progress"), ("in_progress", "completed")]
    assert {e["actor"] for e in trail if e["action"] == "ticket.transition"} == {"staff:lead.demo"}


def test_overdue_and_due_soon_rows_stand_out(
    clocked_server: Any, page: Any, screenshots: Path
) -> None:
    srv = clocked_server  # conftest.ClockedServer
    body = {"type": "access_copy", "channel": "chat", "language": "zh", "details": {}}
    mini = file_ticket(srv.url, srv.bot_api_key, DEMO_MOBILE, body)  # 15 working days
    bmw = file_ticket(srv.url, srv.bot_api_key, "13900139000", body)  # 30 calendar days
    srv.clock.at = datetime.fromisoformat(bmw["due_at"]) - timedelta(days=2)

    sign_in(page, srv.url)
    late = page.locator(f'tr[data-reference="{mini["reference"]}"]')
    soon = page.locator(f'tr[data-reference="{bmw["reference"]}"]')
    assert "row-overdue" in (late.get_attribute("class") or "")
    assert "row-due-soon" in (soon.get_attribute("class") or "")
    # Not colour alone: each row says it in words.
    assert late.locator(".badge").inner_text().strip() == "已逾期"
    assert soon.locator(".badge").inner_text().strip() == "即将到期"
    assert late.evaluate("e => getComputedStyle(e).backgroundColor") != soon.evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )

    # The first Tab reaches the skip link, and focus is visible.
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.screenshot(path=str(screenshots / "console-07-queue-overdue.png"), full_page=True)

    page.get_by_label("逾期").select_option("true")
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_url("**overdue=true**")
    assert page.locator("table.queue tbody tr").count() == 1 and late.count() == 1
