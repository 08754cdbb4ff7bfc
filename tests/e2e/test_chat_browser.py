"""The web chat page in real headless Chromium.

The first test needs no stack: the browser serves the page's own files and a scripted REST
channel through request interception, to check what the real bot cannot be made to say (markup
in a reply, a 400 error body). The others drive the page served by the running Rasa, against the
real action server and rights API, and check the results where they land (staff API).

Screenshots go to artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from bot.channels import policy_page
from tests.support.accessibility import blocking_violations
from tests.support.stack import REFERENCE, ROOT, Stack, wait_for_code
from tests.support.webchat_page import kept_conversation, static_server

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PHONE: ViewportSize = {"width": 360, "height": 740}
LARGE_PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
TURN_TIMEOUT_MS = 120_000  # the first turns of a freshly loaded model are slow
MOBILE = "13800138000"  # demo customer C-0001, MINI


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def make(viewport: ViewportSize = DESKTOP, locale: str = "zh-CN") -> BrowserContext:
        context = browser.new_context(
            viewport=viewport,
            locale=locale,
            device_scale_factor=1 if viewport is DESKTOP else 2,
            is_mobile=viewport is not DESKTOP,
            has_touch=viewport is not DESKTOP,
        )
        context.set_default_timeout(TURN_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


# --- driving the page ----------------------------------------------------------------------------
def wait_for_turn(page: Page, users_before: int) -> None:
    """Until the page shows the new user message and no longer waits for the bot."""
    page.wait_for_function(
        "n => document.querySelectorAll('li.msg--user').length > n"
        " && document.getElementById('typing').hidden",
        arg=users_before,
        timeout=TURN_TIMEOUT_MS,
    )


def bot_count(page: Page) -> int:
    return page.locator("li.msg--bot").count()


def new_bot_texts(page: Page, bots_before: int) -> str:
    """The text of the bot messages after the first `bots_before` (the welcome counts too)."""
    items = page.locator("li.msg--bot")
    bubbles = [items.nth(i).locator(".bubble") for i in range(bots_before, items.count())]
    return "\n".join(b.inner_text() for b in bubbles if b.count())


def type_message(page: Page, text: str) -> str:
    users, bots = page.locator("li.msg--user").count(), bot_count(page)
    page.get_by_label(re.compile("输入消息|Your message")).fill(text)
    page.keyboard.press("Enter")
    wait_for_turn(page, users)
    return new_bot_texts(page, bots)


def click_reply(page: Page, title: str) -> str:
    users, bots = page.locator("li.msg--user").count(), bot_count(page)
    page.locator("button.quick-reply:not([disabled])", has_text=title).last.click()
    wait_for_turn(page, users)
    return new_bot_texts(page, bots)


def live_buttons(page: Page) -> list[str]:
    return page.locator("button.quick-reply:not([disabled])").all_inner_texts()


def open_chat(page: Page, url: str, brand: str, lang: str) -> None:
    page.goto(url)
    page.get_by_label("MINI" if brand == "mini" else "BMW", exact=True).check()
    page.get_by_label("中文" if lang == "zh" else "EN", exact=True).check()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")


# --- the page alone (scripted channel) ---------------------------------------------------------
def test_page_renders_text_as_text_and_reports_errors(new_context: Any) -> None:
    """Markup from the bot stays text, buttons send payloads, errors are shown and lose nothing."""
    sent: list[dict] = []
    held: list[Route] = []

    def scripted_rest(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        sent.append(body)
        if body["message"] == "hold":  # answered by the test, once it saw the page waiting
            held.append(route)
            return
        if body["message"] == "too much":
            error = {
                "code": "invalid_request",
                "message": "'message' must be at most 2000 characters long.",
                "field": "message",
                "details": [],
            }
            route.fulfill(
                status=400, content_type="application/json", body=json.dumps({"error": error})
            )
            return
        replies = [
            {"recipient_id": body["sender"], "text": '<img src=x onerror="window.pwned=1">'},
            {
                "recipient_id": body["sender"],
                "text": "Shall I file it?",
                "buttons": [
                    {"title": "Yes, file it", "payload": "/affirm"},
                    {"title": "<b>No</b>", "payload": "/deny"},
                ],
            },
        ]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(replies))

    # English browser: the page starts in English. https, so crypto.randomUUID is available.
    page = new_context(locale="en-US").new_page()
    errors = watch_errors(page)
    page.route("**/webhooks/webchat/**", static_server())
    page.route("**/webhooks/rest/webhook", scripted_rest)
    page.goto("https://chat.example.test/webhooks/webchat/?brand=bmw")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("BMW", exact=True)).to_be_checked()
    expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")

    reply = type_message(page, "<script>window.pwned=2</script>")
    assert '<img src=x onerror="window.pwned=1">' in reply
    expect(page.locator("li.msg--user .bubble").last).to_have_text(
        "<script>window.pwned=2</script>"
    )
    assert page.locator(".messages img, .messages script, .messages b").count() == 0
    assert page.evaluate("window.pwned") is None
    assert live_buttons(page) == ["Yes, file it", "<b>No</b>"]

    click_reply(page, "Yes, file it")
    expect(page.locator("li.msg--user .bubble").last).to_have_text("Yes, file it")
    assert sent[-1]["message"] == "/affirm"
    # The buttons of an answered question are spent.
    assert live_buttons(page) == ["Yes, file it", "<b>No</b>"]  # the new reply's own buttons
    assert page.locator("button.quick-reply[disabled]").count() >= 2

    # A 4xx from the channel: a polite note, the typed text back in the box.
    type_message(page, "too much")
    expect(page.locator("li.msg--error").last).to_contain_text("too long")
    expect(page.get_by_label("Your message")).to_have_value("too much")

    # While the bot has not answered: typing indicator, status for screen readers, no sending.
    page.get_by_label("Your message").fill("hold")
    page.keyboard.press("Enter")
    expect(page.locator("#typing")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("The assistant is typing…")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    page.wait_for_timeout(200)
    assert len(held) == 1
    held[0].fulfill(
        status=200,
        content_type="application/json",
        body=json.dumps([{"recipient_id": sent[-1]["sender"], "text": "Done."}]),
    )
    expect(page.locator("#typing")).to_be_hidden()
    expect(page.locator("li.msg--bot .bubble").last).to_have_text("Done.")
    expect(page.get_by_role("status")).to_have_text("")

    sender = sent[0]["sender"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", sender
    )
    assert {json.dumps(b["metadata"], sort_keys=True) for b in sent} == {
        json.dumps({"brand": "bmw", "lang": "en"}, sort_keys=True)
    }
    # Same tab, same conversation after a reload; a new conversation gets a new id.
    page.reload()
    type_message(page, "again")
    assert sent[-1]["sender"] == sender
    page.get_by_role("button", name="Start a new conversation").click()
    page.get_by_role("dialog").get_by_role("button", name="Clear and start anew").click()
    type_message(page, "fresh")
    assert sent[-1]["sender"] != sender
    assert errors == []


# A conversation as the channel's transcript endpoint returns it: the bot waits for a "yes".
NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
RESTORED = [
    {"from": "user", "text": "我想退订营销短信", "time": NOW - 120, "buttons": []},
    {"from": "bot", "text": "请告诉我您的手机号码。", "time": NOW - 118, "buttons": []},
    {"from": "user", "text": "138****8000", "time": NOW - 60, "buttons": []},
    {
        "from": "bot",
        "text": "您的上一个申请编号 PR-2026-000123 已完成。要为您提交退订申请吗？",
        "time": NOW - 58,
        "buttons": [
            {"title": "确认提交", "payload": "/affirm"},
            {"title": "先不了", "payload": "/deny"},
        ],
    },
]


def luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def style(page: Page, selector: str, prop: str) -> str:
    return str(page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}"))


def scripted_page(
    new_context: Any,
    viewport: ViewportSize,
    locale: str = "zh-CN",
    transcript: list[dict] | None = None,
) -> Page:
    page = new_context(viewport, locale=locale).new_page()
    if transcript is not None:  # the device holds the conversation the transcript is of
        for brand in policy_page.BRANDS:
            page.add_init_script(kept_conversation(brand, f"kept-{brand}"))
    page.route("**/webhooks/webchat/**", static_server(transcript))
    reply = [{"text": "好的。", "buttons": [{"title": "继续", "payload": "/affirm"}]}]
    page.route(
        "**/webhooks/rest/webhook",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(reply)
        ),
    )
    return page


@pytest.mark.parametrize(
    "viewport", [PHONE, LARGE_PHONE, DESKTOP], ids=["phone-360", "phone-390", "desktop"]
)
def test_reload_restores_the_conversation_and_new_chat_asks_first(
    new_context: Any, viewport: ViewportSize
) -> None:
    page = scripted_page(new_context, viewport, transcript=RESTORED)
    errors = watch_errors(page)
    page.goto("https://chat.example.test/webhooks/webchat/?brand=mini&lang=zh")

    # The welcome, then what was said, each with its time; only the open question's buttons live.
    expect(page.locator("li.msg--user")).to_have_count(2)
    expect(page.locator("li.msg--user .bubble").last).to_have_text("138****8000")
    assert live_buttons(page) == ["确认提交", "先不了"]
    stamps = page.locator("li.msg time.stamp")
    assert stamps.count() == 4  # the page's own welcome carries none
    assert stamps.first.get_attribute("datetime") == "2027-01-15T07:58:00.000Z"
    # Another day than today: with the date.
    assert re.fullmatch(r"1/15 \d{2}:\d{2}", stamps.first.inner_text()), stamps.first.inner_text()

    # The reference is on one line, in a phone-wide bubble too.
    reference = page.locator(".bubble .reference")
    expect(reference).to_have_text("PR-2026-000123")
    assert reference.evaluate("e => e.getClientRects().length") == 1
    assert style(page, ".bubble .reference", "whiteSpace") == "nowrap"

    # Spent suggestion buttons stay legible: 3:1 or more against the page, text and border.
    spent = "li.msg--welcome button.quick-reply:disabled"
    page_bg = style(page, ".conversation", "backgroundColor")
    if page_bg in ("rgba(0, 0, 0, 0)", "transparent"):
        page_bg = style(page, ".app", "backgroundColor")
    assert contrast(style(page, spent, "color"), page_bg) >= 3
    assert contrast(style(page, spent, "borderTopColor"), page_bg) >= 3
    # The focus ring, reached by keyboard, against the surface it is drawn on.
    page.locator("#input").focus()
    page.keyboard.press("Tab")  # to "send"
    ring = style(page, "#send", "outlineColor")
    assert style(page, "#send", "outlineStyle") == "solid"
    assert contrast(ring, style(page, "#composer", "backgroundColor")) >= 3
    size = f"{viewport['width']}x{viewport['height']}"
    screenshot(page, f"webchat-restored-{size}")

    # "新对话" asks first; keeping the conversation keeps everything.
    page.get_by_role("button", name="开始新对话").click()
    dialog = page.get_by_role("dialog", name="开始新对话？")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("无法恢复")
    screenshot(page, f"webchat-confirm-new-chat-{size}")
    dialog.get_by_role("button", name="继续当前对话").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("li.msg--user")).to_have_count(2)
    page.get_by_role("button", name="开始新对话").click()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("li.msg--user")).to_have_count(2)
    sender = page.evaluate("localStorage.getItem('privacy-webchat.sender.mini')")

    page.get_by_role("button", name="开始新对话").click()
    dialog.get_by_role("button", name="清除并开始新对话").click()
    expect(page.locator("li.msg--user")).to_have_count(0)
    expect(page.locator("li.msg--note")).to_contain_text("已开始新的对话")
    assert page.evaluate("localStorage.getItem('privacy-webchat.sender.mini')") != sender
    assert errors == []


def test_full_policy_one_tap_away(new_context: Any) -> None:
    cited = [
        {
            "from": "bot",
            "time": NOW,
            "buttons": [],
            "text": "We reply within 30 days. (Source: BMW policy, part V)",
        },
        {
            "from": "bot",
            "time": NOW,
            "buttons": [],
            "text": "所有请求将在15个工作日内答复。（依据：MINI 隐私政策第五部分）",
        },
    ]
    page = scripted_page(new_context, PHONE, locale="en-US", transcript=cited)
    page.goto("https://chat.example.test/webhooks/webchat/?brand=mini&lang=en")
    # The part an answer cites is a link to that part of the full text.
    expect(page.get_by_role("link", name="BMW policy, part V")).to_have_attribute(
        "href", re.compile(r"/webhooks/webchat/policy/bmw#part-5$")
    )
    expect(page.get_by_role("link", name="MINI 隐私政策第五部分")).to_have_attribute(
        "href", re.compile(r"/webhooks/webchat/policy/mini#part-5$")
    )
    link = page.get_by_role("link", name="The full MINI privacy policy")
    expect(link).to_have_text("Full policy")
    page.get_by_label("BMW", exact=True).check()
    link = page.get_by_role("link", name="The full BMW privacy policy")
    box = link.bounding_box()
    assert box and box["height"] >= 44
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("BMW Connected Drive Privacy Policy")
    expect(page.locator("#part-5 h2")).to_have_text("Your Rights")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "webchat-policy-page-bmw-phone")
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Back to the chat").click()
    expect(page.get_by_label("BMW", exact=True)).to_be_checked()


@pytest.mark.parametrize("brand", ["mini", "bmw"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_chat_page_has_no_serious_accessibility_violation(
    new_context: Any, brand: str, lang: str
) -> None:
    """axe-core (WCAG 2.2 A/AA) on the page with a conversation: live and spent buttons, times."""
    page = scripted_page(new_context, DESKTOP, transcript=RESTORED)
    page.goto(f"https://chat.example.test/webhooks/webchat/?brand={brand}&lang={lang}")
    expect(page.locator("li.msg--user")).to_have_count(2)
    type_message(page, "好的" if lang == "zh" else "yes")
    assert blocking_violations(page) == []
    page.locator("#restart").click()
    expect(page.locator("#confirm-restart")).to_be_visible()
    assert blocking_violations(page) == []


# --- against the running stack -----------------------------------------------------------------
def chat_url(stack: Stack) -> str:
    return f"{stack.rasa_url}/webhooks/webchat/"


def test_policy_question_mini_zh(stack: Stack, new_context: Any) -> None:
    page = new_context(DESKTOP, locale="en-US").new_page()
    errors = watch_errors(page)
    open_chat(page, chat_url(stack), "mini", "zh")
    answer = type_message(page, "你们会把我的数据传到境外吗？")
    assert "依据" in answer and "MINI" in answer, answer
    screenshot(page, "webchat-policy-mini-zh")
    assert errors == []


def test_policy_question_bmw_en_on_a_phone(stack: Stack, new_context: Any) -> None:
    """The same page on a phone, BMW in English: the BMW policy's 30 days, not MINI's 15."""
    page = new_context(PHONE).new_page()
    errors = watch_errors(page)
    open_chat(page, chat_url(stack), "bmw", "en")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    answer = type_message(page, "How long do you take to answer my request?")
    assert "BMW" in answer and "30" in answer, answer
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "webchat-phone-policy-bmw-en")
    assert blocking_violations(page) == []
    assert errors == []


def test_unsubscribe_on_a_phone(stack: Stack, new_context: Any) -> None:
    """An unsubscribe in a new sender, driven by what the bot says and the buttons it offers."""
    stack.resubscribe("C-0001")
    page = new_context(PHONE).new_page()
    errors = watch_errors(page)
    open_chat(page, chat_url(stack), "mini", "zh")
    screenshot(page, "webchat-phone-start")

    # Phone-sized: nothing wider than the screen, tap targets at least 44 px high.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for name in ("发送", "新对话"):
        box = page.get_by_role("button", name=re.compile(name)).bounding_box()
        assert box and box["height"] >= 44, name

    old_code = stack.latest_code(MOBILE)
    said = type_message(page, "我想退订营销短信")
    transcript = [said]
    reference = None
    try:
        for _ in range(10):
            found = REFERENCE.findall(said)
            if found:
                reference = found[-1]
                break
            confirm = [b for b in live_buttons(page) if "确认" in b]
            if confirm:
                said = click_reply(page, confirm[0])
            elif "手机号码" in said:  # asked for the number (again, if a code expired)
                said = type_message(page, MOBILE)
            elif "验证码" in said:
                code = wait_for_code(stack, MOBILE, not_in={old_code} if old_code else None)
                old_code = code
                said = type_message(page, code)
            else:
                raise AssertionError("unexpected turn")
            transcript.append(said)
        assert reference, "no ticket reference"
    except AssertionError as error:
        screenshot(page, "webchat-phone-unsubscribe-failed")
        raise AssertionError(f"{error}; the bot said:\n" + "\n---\n".join(transcript)) from None
    screenshot(page, "webchat-phone-unsubscribe")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    ticket = stack.staff_get(f"/v1/tickets/{reference}")
    assert ticket["type"] == "unsubscribe_marketing"
    assert ticket["customer_id"] == "C-0001"
    assert ticket["status"] == "completed"
    tickets = stack.staff_get(
        "/v1/tickets", customer_id="C-0001", type="unsubscribe_marketing", status="completed"
    )["items"]
    assert reference in {t["reference"] for t in tickets}
    assert errors == []


def test_reload_mid_request_shows_what_is_asked(stack: Stack, new_context: Any) -> None:
    """One greeting naming the page's brand; a reload brings back the question the bot waits on."""
    page = new_context(PHONE).new_page()
    errors = watch_errors(page)
    open_chat(page, chat_url(stack), "mini", "zh")
    greeting = type_message(page, "你好")
    assert "MINI" in greeting and "BMW" not in greeting, greeting
    asked = type_message(page, "我想退订营销短信")
    assert "手机号码" in asked, asked

    page.reload()
    expect(page.locator("li.msg--user .bubble")).to_have_text(["你好", "我想退订营销短信"])
    expect(page.locator("li.msg--bot .bubble").last).to_contain_text("手机号码")
    assert "BMW / MINI" not in page.locator("#messages").inner_text()
    assert page.locator("li.msg--user time.stamp").count() == 2
    screenshot(page, "webchat-phone-reload-mid-request")
    assert blocking_violations(page) == []

    # The conversation goes on where it was: the number answers the question shown.
    said = type_message(page, MOBILE)
    assert "验证码" in said, said
    page.reload()
    expect(page.locator("li.msg--user .bubble").last).to_have_text("138****8000")
    assert errors == []
