"""The console for named people in headless Chromium: the search box and its hints, the views
with their counts, working days left, assignment, notes, a delay notice, a refusal confirmed on
its own page, the audit check and the trail in words; the agent's narrower form; axe-core finds
no serious or critical WCAG violation on the sign-in, queue and ticket pages in either language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_console_browser import DEMO_MOBILE, file_ticket, move, sign_in
from tests.support.accessibility import blocking_violations
from tests.support.api_process import ApiProcess

SEARCH = "搜索：工单编号、手机号或客户编号"


def _queue_search(page: Any, text: str) -> None:
    page.get_by_label(SEARCH).fill(text)
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_load_state()


def test_a_lead_works_a_ticket_by_name(
    api_server: ApiProcess, page: Any, screenshots: Path
) -> None:
    body = {"type": "access_copy", "channel": "chat", "language": "zh", "details": {}}
    ticket = file_ticket(api_server.url, api_server.bot_api_key, DEMO_MOBILE, body)
    ref = ticket["reference"]
    sign_in(page, api_server.url)

    # The header counts the open, due-soon and overdue tickets; each is a view.
    assert page.locator('a[data-view="open"]').inner_text().startswith("未结：")
    page.locator('a[data-view="open"]').click()
    page.wait_for_url("**view=open**")
    assert page.locator(f'tr[data-reference="{ref}"]').count() == 1
    assert "个工作日" in page.locator(f'tr[data-reference="{ref}"] .days-left').inner_text()

    # One box: a mobile in any spelling, shown masked, the address bar without the number.
    page.goto(f"{api_server.url}/console/queue")
    _queue_search(page, "138 0013 8000")
    assert "0013" not in page.url and "q=C-0001" in page.url
    assert "138****8000" in page.locator("#search-read").inner_text()
    assert page.locator(f'tr[data-reference="{ref}"]').count() == 1
    page.screenshot(path=str(screenshots / "console-08-search-mobile.png"), full_page=True)
    _queue_search(page, "PR-2026-999999")
    hint = page.locator("#no-match").inner_text()
    assert "没有编号为 PR-2026-999999 的工单" in hint and "手机号" in hint
    page.screenshot(path=str(screenshots / "console-09-search-no-match.png"), full_page=True)
    _queue_search(page, ref)
    page.get_by_role("link", name=ref).click()
    page.wait_for_url(f"**/console/tickets/{ref}")

    assert page.locator("#audit-check").get_attribute("data-valid") == "true"
    assert "北京时间" in page.locator("dl.kv").first.inner_text()
    # Assignment, a note, a delay notice.
    page.get_by_label("分配给").select_option("agent.demo")
    page.get_by_role("button", name="分配", exact=True).click()
    page.wait_for_url("**done=assigned")
    assert page.locator("#assignee").inner_text().startswith("赵强")
    page.get_by_label("新备注").fill("客户要求纸质副本")
    page.get_by_role("button", name="添加备注").click()
    page.wait_for_url("**done=note")
    assert "客户要求纸质副本" in page.locator("#notes").inner_text()
    page.get_by_label("延期原因").fill("资料分散在多个系统，需要额外时间")
    page.get_by_role("button", name="记录延期通知").click()
    page.wait_for_url("**done=delay")
    assert "需要额外时间" in page.locator("#delays").inner_text()

    # A refusal: the ground on the one form, then a confirmation page; nothing before it.
    move_form = page.locator("#transition-form")
    move_form.get_by_label("拒绝理由").select_option("repeated_without_reason")
    move(page, "refused", "同一请求本月已处理")
    assert page.locator("#confirm-text").is_visible()
    page.screenshot(path=str(screenshots / "console-10-confirm-refusal.png"), full_page=True)
    page.get_by_role("link", name="返回工单，不作更改").click()
    assert page.locator("#ticket-status").get_attribute("data-status") == "received"
    page.locator("#transition-form").get_by_label("拒绝理由").select_option(
        "repeated_without_reason"
    )
    move(page, "refused", "同一请求本月已处理")
    page.get_by_role("button", name="确认变更为「已拒绝」").click()
    page.wait_for_url("**done=moved%3Arefused")
    assert page.locator("#ticket-status").get_attribute("data-status") == "refused"

    # The trail names the person and says its values in words.
    trail = page.locator("#audit-trail").inner_text()
    assert "王丽 (Wang Li) (lead.demo)" in trail and "原状态 已受理" in trail
    assert "staff:" not in trail and "received" not in trail
    assert page.locator('#audit-trail tr[data-action="staff.read_ticket"]').count() == 1
    page.screenshot(path=str(screenshots / "console-11-ticket-named-trail.png"), full_page=True)
    page.get_by_role("link", name="English").click()
    assert "from received" in page.locator("#audit-trail").inner_text()
    page.screenshot(path=str(screenshots / "console-12-ticket-named-english.png"), full_page=True)


def test_an_agent_is_not_offered_refusal(
    api_server: ApiProcess, page: Any, screenshots: Path
) -> None:
    body = {
        "type": "complaint",
        "channel": "chat",
        "language": "en",
        "details": {"summary": "Too many calls"},
    }
    ticket = file_ticket(api_server.url, api_server.bot_api_key, "13900139000", body)
    sign_in(page, api_server.url, "agent.demo")
    page.goto(f"{api_server.url}/console/tickets/{ticket['reference']}")
    options = page.locator("#to-status option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["", "in_progress", "awaiting_customer", "completed"]
    assert page.locator("#refusal-ground").count() == 0
    page.get_by_role("button", name="由我处理").click()
    page.wait_for_url("**done=assigned")
    assert page.locator("#assignee").inner_text().startswith("赵强")
    page.screenshot(path=str(screenshots / "console-13-agent-ticket.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_console_pages_have_no_serious_accessibility_violation(
    api_server: ApiProcess, page: Any, screenshots: Path, lang: str
) -> None:
    body = {
        "type": "deletion",
        "channel": "chat",
        "language": "zh",
        "details": {"ground": "consent_withdrawn"},
    }
    ticket = file_ticket(api_server.url, api_server.bot_api_key, "13700137000", body)
    found: dict[str, list[dict[str, Any]]] = {}
    page.goto(f"{api_server.url}/console/login?lang={lang}")
    found["login"] = blocking_violations(page)
    sign_in(page, api_server.url)
    page.goto(f"{api_server.url}/console/queue?lang={lang}")
    found["queue"] = blocking_violations(page)
    page.goto(f"{api_server.url}/console/tickets/{ticket['reference']}?lang={lang}")
    found["ticket"] = blocking_violations(page)
    page.screenshot(path=str(screenshots / f"console-14-ticket-axe-{lang}.png"), full_page=True)
    assert found == {"login": [], "queue": [], "ticket": []}
