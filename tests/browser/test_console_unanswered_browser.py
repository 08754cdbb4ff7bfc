"""The "Unanswered questions" view in headless Chromium: the bot's records in groups, a group
settled as answered by a topic from the navigation onwards, and axe-core finds no serious or
critical WCAG violation on the view in either language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.test_console_browser import sign_in
from tests.support.accessibility import blocking_violations
from tests.support.api_process import ApiProcess

QUESTIONS = [
    ("mini", "zh", "车机是不是一直在上传位置啊 13800138000", "abstain", None),
    ("mini", "zh", "车机一直上传我的位置吗", "abstain", None),
    ("bmw", "en", "can police get my data", "quote", "bmw.3.2"),
]


def record_questions(api: ApiProcess) -> None:
    with httpx.Client(base_url=api.url, timeout=10) as http:
        for brand, lang, text, kind, clause in QUESTIONS:
            body = {
                "brand": brand,
                "language": lang,
                "channel": "chat",
                "text": text,
                "answer_kind": kind,
                "clause": clause,
                "score": 0.3,
                "margin": 0.05,
            }
            r = http.post("/v1/unanswered", headers={"X-API-Key": api.bot_api_key}, json=body)
            assert r.status_code == 201, r.text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_unanswered_view_has_no_serious_accessibility_violation(
    api_server: ApiProcess, page: Any, screenshots: Path, lang: str
) -> None:
    record_questions(api_server)
    sign_in(page, api_server.url)
    page.goto(f"{api_server.url}/console/unanswered?lang={lang}")
    assert page.locator("section.review-group").count() >= 2
    found = blocking_violations(page)
    page.screenshot(path=str(screenshots / f"console-20-unanswered-{lang}.png"), full_page=True)
    assert found == []


def test_a_lead_settles_a_group_as_answered_by_a_topic(
    api_server: ApiProcess, page: Any, screenshots: Path
) -> None:
    record_questions(api_server)
    sign_in(page, api_server.url)
    page.get_by_role("link", name="未解答的问题").click()
    page.wait_for_url("**/console/unanswered")
    assert "13800138000" not in page.content() and "138****8000" in page.content()
    page.get_by_label("品牌").select_option("mini")
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_url("**brand=mini**")
    group = page.locator("section.review-group").first
    n = int(group.get_attribute("data-count") or 0)  # the server is shared by the module's tests
    assert n >= 2 and f"{n} 个问题 · MINI · 中文" in group.inner_text()
    group.get_by_label("已有主题可回答").check()
    group.get_by_label("回答它的主题").select_option("location_data")
    group.get_by_role("button", name="保存处理结果").click()
    page.wait_for_url(f"**done={n}**")
    assert f"已标记 {n} 个问题。" in page.locator(".message-success").inner_text()
    page.screenshot(path=str(screenshots / "console-21-unanswered-marked.png"), full_page=True)
    page.get_by_role("link", name="已处理").click()
    assert "处理结果：已有主题可回答" in page.locator("section.review-group").first.inner_text()
