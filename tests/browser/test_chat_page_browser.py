"""The web chat page alone in headless Chromium (its files and a scripted REST channel through
request interception; no bot): what a customer sees of long messages, citations, long replies,
private conversations on a shared device, and the page on a phone and a desktop.

Screenshots go to artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.accessibility import blocking_violations
from tests.support.webchat_page import CHAT_URL, kept_conversation, static_server

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
NOW = 1_800_000_000.0
MINI_TALK = [
    {"from": "user", "text": "我想退订营销短信", "time": NOW - 60, "buttons": []},
    {"from": "bot", "text": "已为您退订 MINI 的营销短信。", "time": NOW - 58, "buttons": []},
]
QUOTE = (
    "MINI 隐私政策中回答您问题的是这一段：\n\n“您可以查阅您的个人信息。”\n\n"
    "（出处：[MINI 隐私政策第五部分「查阅和复制」](policy/mini#part-5-1)）"
)


class Chat:
    """A page with a scripted channel: `replies` answer every message, `sent` records them."""

    def __init__(self, page: Any, transcripts: dict[str, list[dict]] | None = None) -> None:
        self.page = page
        self.sent: list[dict] = []
        self.replies: list[dict] = [{"text": "好的。"}]
        self.transcript_requests: list[str] = []
        transcripts = transcripts or {}
        files = static_server([])

        def serve(route: Any) -> None:
            url = route.request.url
            if "/conversations/" in url:
                sender = url.split("/conversations/")[1].split("/")[0]
                self.transcript_requests.append(sender)
                body = {"sender": sender, "messages": transcripts.get(sender, [])}
                route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
            else:
                files(route)

        def rest(route: Any) -> None:
            self.sent.append(json.loads(route.request.post_data or "{}"))
            route.fulfill(
                status=200, content_type="application/json", body=json.dumps(self.replies)
            )

        page.route("**/webhooks/webchat/**", serve)
        page.route("**/webhooks/rest/webhook", rest)

    def say(self, text: str) -> None:
        before = len(self.sent)
        self.page.locator("#input").fill(text)
        self.page.keyboard.press("Enter")
        self.page.wait_for_function(
            "document.getElementById('typing').hidden && !document.getElementById('send').disabled"
        )
        assert len(self.sent) == before + 1


@pytest.fixture
def open_chat(browser: Any) -> Any:
    contexts: list[Any] = []

    def make(
        viewport: dict[str, int] = DESKTOP,
        locale: str = "zh-CN",
        transcripts: dict[str, list[dict]] | None = None,
        init: list[str] | None = None,
    ) -> Chat:
        context = browser.new_context(viewport=viewport, locale=locale)
        contexts.append(context)
        for script in init or []:
            context.add_init_script(script)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        chat = Chat(page, transcripts)
        chat.errors = errors  # type: ignore[attr-defined]
        return chat

    yield make
    for context in contexts:
        context.close()


def stored(page: Any, key: str) -> str | None:
    value = page.evaluate(f"localStorage.getItem('privacy-webchat.{key}')")
    return value if isinstance(value, str) else None


def test_a_too_long_paste_is_told_before_sending_and_never_cut(open_chat: Callable) -> None:
    chat = open_chat(locale="en-US")
    chat.page.goto(CHAT_URL + "?brand=mini&lang=en")
    pasted = "a" * 5000
    chat.page.locator("#input").fill(pasted)
    note = chat.page.locator("#input-note")
    assert note.is_visible()
    assert "This message is too long. Please keep it under 2000 characters." in note.inner_text()
    assert "5000 characters typed" in note.inner_text()
    chat.page.keyboard.press("Enter")
    assert chat.sent == []
    assert chat.page.locator("#input").input_value() == pasted  # nothing cut, nothing lost
    assert chat.page.locator("li.msg--user").count() == 0

    # Counted as the channel counts: 1,500 emoji are 1,500 characters (3,000 UTF-16 units).
    chat.say("😀" * 1500)
    assert not note.is_visible()
    assert chat.sent[-1]["message"] == "😀" * 1500


def test_the_too_long_notice_is_in_the_page_language(open_chat: Callable) -> None:
    chat = open_chat()
    chat.page.goto(CHAT_URL + "?brand=bmw&lang=zh")
    chat.page.locator("#input").fill("好" * 2001)
    assert (
        "这条消息太长了，请精简到 2000 字以内再发送。"
        in chat.page.locator("#input-note").inner_text()
    )
    chat.page.locator("#input").fill("好" * 2000)
    assert not chat.page.locator("#input-note").is_visible()


def test_a_citation_links_to_its_clause(open_chat: Callable) -> None:
    chat = open_chat()
    chat.page.goto(CHAT_URL + "?brand=mini&lang=zh")
    chat.replies = [{"text": QUOTE}]
    chat.say("我能查阅我的信息吗？")
    link = chat.page.get_by_role("link", name="MINI 隐私政策第五部分「查阅和复制」")
    assert (link.get_attribute("href") or "").endswith("/webhooks/webchat/policy/mini#part-5-1")
    assert "](policy" not in chat.page.locator("li.msg--bot").last.inner_text()
    link.click()
    chat.page.wait_for_url("**/policy/mini#part-5-1")
    assert chat.page.locator("#part-5-1").count() == 1


def test_a_long_reply_is_shown_from_its_start(open_chat: Callable) -> None:
    chat = open_chat(viewport=PHONE)
    chat.page.goto(CHAT_URL + "?brand=mini&lang=zh")
    chat.replies = [{"text": "第一行：这是回答的开头。\n" + "政策说明。\n" * 80}]
    chat.say("告诉我所有的事情")
    top = chat.page.evaluate(
        "() => { const r = document.querySelector('li.msg--bot:last-child .bubble')"
        ".getBoundingClientRect(); const v = document.getElementById('conversation')"
        ".getBoundingClientRect(); return [r.top, v.top, v.bottom]; }"
    )
    reply_top, view_top, view_bottom = top
    assert view_top <= reply_top < view_bottom  # its first line is in view


def test_each_brand_keeps_its_own_conversation(open_chat: Callable) -> None:
    chat = open_chat(
        transcripts={"kept-mini": MINI_TALK},
        init=[kept_conversation("mini", "kept-mini")],
    )
    chat.page.goto(CHAT_URL + "?brand=mini&lang=zh")
    assert "已为您退订" in chat.page.locator("#messages").inner_text()
    # The BMW page on the same device does not show the MINI conversation...
    chat.page.goto(CHAT_URL + "?brand=bmw&lang=en")
    chat.page.wait_for_selector("li.msg--welcome")
    assert "已为您退订" not in chat.page.locator("#messages").inner_text()
    assert "kept-mini" not in chat.transcript_requests[1:]
    # ... and its messages go to a conversation of their own.
    chat.say("hello")
    assert chat.sent[-1]["sender"] != "kept-mini"
    assert stored(chat.page, "sender.bmw") == chat.sent[-1]["sender"]
    assert stored(chat.page, "sender.mini") == "kept-mini"


def test_an_idle_conversation_is_not_shown_again(open_chat: Callable) -> None:
    chat = open_chat(
        transcripts={"kept-mini": MINI_TALK},
        init=[kept_conversation("mini", "kept-mini", idle_minutes=31)],
    )
    chat.page.goto(CHAT_URL + "?brand=mini&lang=zh")
    chat.page.wait_for_selector("li.msg--welcome")
    assert chat.transcript_requests == []
    assert "已为您退订" not in chat.page.locator("#messages").inner_text()
    assert stored(chat.page, "sender.mini") is None
    chat.say("你好")
    assert chat.sent[-1]["sender"] != "kept-mini"


def test_new_chat_forgets_the_conversation_and_the_language_survives_a_reload(
    open_chat: Callable,
) -> None:
    chat = open_chat(
        transcripts={"kept-mini": MINI_TALK},
        init=[kept_conversation("mini", "kept-mini")],
    )
    chat.page.goto(CHAT_URL + "?brand=mini&lang=zh")
    chat.page.get_by_label("EN", exact=True).check()
    chat.page.reload()
    assert chat.page.locator("html").get_attribute("lang") == "en"
    assert chat.page.get_by_label("EN", exact=True).is_checked()
    assert "已为您退订" in chat.page.locator("#messages").inner_text()

    chat.page.get_by_role("button", name="Start a new conversation").click()
    chat.page.get_by_role("button", name="Clear and start anew").click()
    assert stored(chat.page, "sender.mini") is None
    chat.page.reload()
    chat.page.wait_for_selector("li.msg--welcome")
    assert "已为您退订" not in chat.page.locator("#messages").inner_text()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360x740", "1280x800"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_chat_on_a_phone_and_a_desktop(
    open_chat: Callable, screenshots: Path, viewport: dict[str, int], lang: str
) -> None:
    chat = open_chat(viewport=viewport)
    chat.page.goto(CHAT_URL + f"?brand=mini&lang={lang}")
    chat.replies = [{"text": QUOTE}]
    chat.say("我能查阅我的信息吗？" if lang == "zh" else "Can I see my data?")
    header = chat.page.locator("header.bar").bounding_box()
    assert header is not None
    assert header["height"] / viewport["height"] <= 0.15, header
    assert chat.page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    size = f"{viewport['width']}x{viewport['height']}"
    chat.page.screenshot(path=str(screenshots / f"chat-{lang}-{size}.png"))
    assert blocking_violations(chat.page) == []
    chat.page.locator("#input").fill("x" * 2100)
    assert blocking_violations(chat.page) == []
    assert chat.errors == []  # type: ignore[attr-defined]
