"""The web chat channel serves its page and static files beside the REST channel."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
import pytest_asyncio
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActiveLoop, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.transcript import visible_transcript
from bot.channels.webchat import STATIC_DIR, STATIC_FILES, WebChatInput
from tests.support.sanic_apps import asgi_client, chat_channels_app

PAGE = "/webhooks/webchat/"


RECEIVED: list[UserMessage] = []


async def _on_new_message(message: UserMessage) -> None:
    RECEIVED.append(message)
    await message.output_channel.send_text_message(message.sender_id, f"echo {message.text}")


APP = chat_channels_app(_on_new_message)


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(APP) as http:
        yield http


def test_channel_name() -> None:
    assert WebChatInput.name() == "webchat"
    assert WebChatInput().url_prefix() == "webchat"


async def test_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get(PAGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert response.content == (STATIC_DIR / "index.html").read_bytes()
    assert 'src="chat.js"' in html and 'href="chat.css"' in html
    assert 'aria-live="polite"' in html
    assert 'name="viewport"' in html


async def test_page_without_slash_redirects(client: httpx.AsyncClient) -> None:
    # Relative links in the page only resolve from the URL with the slash.
    response = await client.get("/webhooks/webchat?brand=bmw")
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/webhooks/webchat/?brand=bmw"


@pytest.mark.parametrize(("name", "content_type"), sorted(STATIC_FILES.items()))
async def test_static_files(client: httpx.AsyncClient, name: str, content_type: str) -> None:
    response = await client.get(f"{PAGE}{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == (STATIC_DIR / name).read_bytes()
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp


@pytest.mark.parametrize(
    "path", ["nope.js", "..%2Fwebchat.py", "%2E%2E%2F%2E%2E%2Fcredentials.yml", "webchat.py"]
)
async def test_only_listed_files(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"{PAGE}{path}")
    assert response.status_code == 404
    assert b"import" not in response.content


async def test_page_posts_to_the_rest_channel(client: httpx.AsyncClient) -> None:
    """Same origin: the URL the script posts to answers, with the REST channel's validation."""
    script = (STATIC_DIR / "chat.js").read_text("utf-8")
    assert '"../rest/webhook"' in script
    url = httpx.URL(f"http://rasa{PAGE}").join("../rest/webhook")
    assert url.path == "/webhooks/rest/webhook"
    body = {"sender": "s1", "message": "你好", "metadata": {"brand": "mini", "lang": "zh"}}
    RECEIVED.clear()
    response = await client.post(url.path, json=body)
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "s1", "text": "echo 你好"}]
    # The page's messages carry the browser's address, which the page itself never sends.
    assert RECEIVED[-1].metadata == {"brand": "mini", "lang": "zh", "client_address": "127.0.0.1"}
    bad = await client.post(url.path, json={**body, "metadata": {"brand": "audi"}})
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "metadata.brand"


async def test_webchat_receives_no_messages(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{PAGE}webhook", json={"sender": "s1", "message": "hi"})
    assert response.status_code in (404, 405)


def test_no_external_assets_and_no_html_injection() -> None:
    for name in STATIC_FILES:
        text = (STATIC_DIR / name).read_text("utf-8")
        # No CDN or other origin: every asset comes from this folder.
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), name
        assert "@import" not in text, name
    script = (STATIC_DIR / "chat.js").read_text("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink


# --- the transcript a reload restores -------------------------------------------------------------
def _conversation() -> list[Event]:
    confirm = {
        "buttons": [
            {"title": "确认提交", "payload": "/affirm"},
            {"title": "先不了", "payload": "/deny"},
        ]
    }
    return [
        UserUttered("/greet", timestamp=1.0),  # sent by an app, never typed
        UserUttered("我想退订营销短信", timestamp=10.0),
        ActiveLoop("unsubscribe_form"),
        BotUttered("请告诉我您的手机号码。", timestamp=11.0),
        UserUttered("13800138000", timestamp=20.0),
        SlotSet("requested_slot", "otp_code"),
        BotUttered("验证码已发送，请输入。", timestamp=21.0),
        UserUttered("2468 10", timestamp=30.0),
        BotUttered("要为您提交退订申请吗？", data=confirm, timestamp=31.0),
        UserUttered("/affirm", timestamp=40.0),
        BotUttered("已提交，编号 PR-2026-000123。", timestamp=41.0),
    ]


def test_transcript_shows_what_the_page_showed_redacted() -> None:
    messages = visible_transcript(_conversation())
    assert [(m["from"], m["text"]) for m in messages] == [
        ("user", "我想退订营销短信"),
        ("bot", "请告诉我您的手机号码。"),
        ("user", "138****8000"),
        ("bot", "验证码已发送，请输入。"),
        ("user", "**** **"),  # typed while the code was asked for: no digit kept
        ("bot", "要为您提交退订申请吗？"),
        ("user", "确认提交"),  # the button's title, not its payload
        ("bot", "已提交，编号 PR-2026-000123。"),
    ]
    assert [m["time"] for m in messages] == [10.0, 11.0, 20.0, 21.0, 30.0, 31.0, 40.0, 41.0]
    assert messages[5]["buttons"] == [
        {"title": "确认提交", "payload": "/affirm"},
        {"title": "先不了", "payload": "/deny"},
    ]


@pytest.mark.parametrize(
    ("lang", "first", "asked", "shown"),
    [
        ("zh", "我想退订营销短信", "验证码已发送，请输入。", "[验证码]"),
        ("en", "Stop the marketing texts", "The code is on its way; please type it.", "[code]"),
    ],
)
def test_a_code_reads_as_a_word_of_the_conversation(
    lang: str, first: str, asked: str, shown: str
) -> None:
    """A customer rereading the conversation after a reload reads their own language."""
    entities = [{"entity": "lang", "value": lang, "start": 0, "end": 0}]
    events: list[Event] = [
        UserUttered(first, entities=entities, timestamp=1.0),
        SlotSet("lang", lang),
        ActiveLoop("unsubscribe_form"),
        SlotSet("requested_slot", "otp_code"),
        BotUttered(asked, timestamp=2.0),
        UserUttered("246810", timestamp=3.0),  # the code, typed alone
        SlotSet("requested_slot", None),
        UserUttered("１３５７９０", timestamp=4.0),  # a phone password, in full-width digits
    ]
    texts = [m["text"] for m in visible_transcript(events)]
    assert texts == [first, asked, shown, shown]


class _Store:
    def __init__(self, trackers: dict[str, DialogueStateTracker]) -> None:
        self.trackers = trackers

    async def retrieve(self, sender: str) -> DialogueStateTracker | None:
        return self.trackers.get(sender)


async def test_transcript_endpoint(client: httpx.AsyncClient) -> None:
    APP.ctx.agent = None
    starting = await client.get(f"{PAGE}conversations/c-1/transcript")
    assert starting.status_code == 503
    assert starting.json()["error"]["code"] == "unavailable"

    tracker = DialogueStateTracker.from_events("c-1", _conversation())
    APP.ctx.agent = SimpleNamespace(tracker_store=_Store({"c-1": tracker}))
    response = await client.get(f"{PAGE}conversations/c-1/transcript")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["sender"] == "c-1"
    assert body["messages"][2]["text"] == "138****8000"
    assert body["messages"][-1]["text"] == "已提交，编号 PR-2026-000123。"

    unknown = await client.get(f"{PAGE}conversations/{uuid.uuid4()}/transcript")
    assert unknown.status_code == 200 and unknown.json()["messages"] == []
    bad = await client.get(f"{PAGE}conversations/{'x' * 129}/transcript")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "sender"


@pytest.mark.parametrize(
    ("brand", "title", "part"),
    [
        ("mini", "MINI互联出行个人信息保护政策", "您的权利"),
        ("bmw", "BMW Connected Drive Privacy Policy", "Your Rights"),
    ],
)
async def test_full_policy_page(
    client: httpx.AsyncClient, brand: str, title: str, part: str
) -> None:
    response = await client.get(f"{PAGE}policy/{brand}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    assert f"<h1>{title}</h1>" in html
    assert f'<a href="#part-5">{part}</a>' in html and '<section id="part-5">' in html
    assert "<script" not in html and f"{brand}.1.2" not in html  # no internal clause ids
    missing = await client.get(f"{PAGE}policy/audi")
    assert missing.status_code == 404
