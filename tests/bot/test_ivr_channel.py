"""Unit tests of the IVR gateway channel: parsing, validation, prompts, transfer and hang-up.

The bot is a stub: it records the UserMessage and answers through the output channel with
canned messages shaped like Rasa's (text, utter_action, custom), so only channel code runs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.ivr import MAX_SILENCES, IvrInput
from bot.channels.voice import build_prompts, speakable
from tests.support.sanic_apps import start_sanic_app

URL = "/webhooks/ivr/webhook"

REPLIES: dict[str, list[dict[str, Any]]] = {
    "/greet": [{"text": "您好！我是隐私助手。请问有什么可以帮您？", "utter_action": "utter_greet"}],
    "/request_human": [
        {
            "text": "好的，为您转接人工服务。您也可以拨打 **MINI 热线** 400-800-6699，"
            "或访问 https://www.mini.com.cn/privacy 。",
            "utter_action": "utter_handover",
        }
    ],
    "/goodbye": [{"text": "Thanks for calling, goodbye!", "utter_action": "utter_goodbye"}],
    "I want to withdraw consent": [
        {"text": "Sure.", "utter_action": "utter_request_started"},
        {"text": "Please key in your 6-digit code.", "utter_action": "utter_ask_otp_code"},
    ],
    "13800138000": [
        {"text": "A code was sent to 138****8000.", "utter_action": "utter_code_sent"},
    ],
    "what is my status": [
        {"text": "Ticket PR-2026-000123 is in progress, due 2026-12-15."},
        {"text": "Anything else?", "custom": {"voice": {"expect": "digits", "max_digits": 1}}},
    ],
    "bye please": [
        {"text": "再见。"},
        {"custom": {"voice": {"end_call": True}}},
    ],
}

INBOX: list[UserMessage] = []


async def _on_new_message(message: UserMessage) -> None:
    INBOX.append(message)
    # Intent payloads carry entities (/greet{"lang":"en"}): answer by the intent.
    key = (message.text or "").split("{")[0]
    for reply in REPLIES.get(key, [{"text": f"echo {message.text}"}]):
        await message.output_channel.send_response(message.sender_id, dict(reply))


CHANNEL = IvrInput.from_credentials({})


def _build_app() -> Sanic:
    assert CHANNEL.name() == "ivr"
    app = Sanic(f"ivr_test_{uuid.uuid4().hex}")
    app.blueprint(CHANNEL.blueprint(_on_new_message), url_prefix=f"/webhooks/{CHANNEL.name()}")
    return app


# One app per process: Sanic's start-up rewrites its own internals and cannot run twice.
APP = _build_app()
_started: list[bool] = []


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    if not _started:
        await start_sanic_app(APP)
        _started.append(True)
    INBOX.clear()
    CHANNEL.calls.clear()
    transport = httpx.ASGITransport(app=APP)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://rasa") as http:
        yield http


async def post(client: httpx.AsyncClient, body: Any) -> tuple[int, Any]:
    response = await client.post(URL, json=body)
    return response.status_code, response.json()


def _start(call_id: str = "call-1", **extra: Any) -> dict[str, Any]:
    return {"call_id": call_id, "event": "call_start", "caller": "+8613800138000", **extra}


async def test_call_start_greets_with_caller_in_metadata(client: httpx.AsyncClient) -> None:
    status, prompts = await post(client, _start(lang="zh", brand="mini"))
    assert status == 200
    message = INBOX[0]
    # The call's language and brand as entities: intent payloads skip the NLU pipeline.
    assert message.text == '/greet{"lang":"zh","brand":"mini"}'
    assert message.sender_id == "call-1"
    assert message.input_channel == "ivr"
    assert message.output_channel.name() == "ivr"
    assert message.metadata == {
        "channel": "ivr",
        "caller": "+8613800138000",
        "lang": "zh",
        "brand": "mini",
    }
    assert prompts == [
        {
            "say": "您好！我是隐私助手。请问有什么可以帮您？",
            "lang": "zh-CN",
            "expect": "speech",
            "end_call": False,
        }
    ]


async def test_later_events_keep_the_call_metadata(client: httpx.AsyncClient) -> None:
    await post(client, _start(lang="en", brand="bmw"))
    status, _ = await post(client, {"call_id": "call-1", "event": "speech", "text": "hello"})
    assert status == 200
    assert INBOX[1].text == "hello"
    assert INBOX[1].metadata == {
        "channel": "ivr",
        "caller": "+8613800138000",
        "lang": "en",
        "brand": "bmw",
    }
    # A language switch announced by the gateway wins from then on.
    await post(client, {"call_id": "call-1", "event": "speech", "text": "你好", "lang": "zh"})
    assert INBOX[2].metadata["lang"] == "zh"


async def test_digits_are_the_callers_turn(client: httpx.AsyncClient) -> None:
    await post(client, _start())
    status, prompts = await post(
        client, {"call_id": "call-1", "event": "digits", "digits": "13800138000#"}
    )
    assert status == 200
    assert INBOX[1].text == "13800138000"
    # Masked number read digit by digit; the code is 6 digits on the keypad.
    assert prompts == [
        {
            "say": "A code was sent to 1 3 8, 8 0 0 0.",
            "lang": "en-US",
            "expect": "digits",
            "max_digits": 6,
            "end_call": False,
        }
    ]


async def test_only_the_last_prompt_listens(client: httpx.AsyncClient) -> None:
    await post(client, _start())
    _, prompts = await post(
        client, {"call_id": "call-1", "event": "speech", "text": "I want to withdraw consent"}
    )
    assert [p["expect"] for p in prompts] == ["none", "digits"]
    assert prompts[-1]["max_digits"] == 6


async def test_custom_voice_payload_and_reference_read_out(client: httpx.AsyncClient) -> None:
    await post(client, _start())
    _, prompts = await post(
        client, {"call_id": "call-1", "event": "speech", "text": "what is my status"}
    )
    assert prompts[0]["say"] == ("Ticket P R 2 0 2 6 0 0 0 1 2 3 is in progress, due 2026-12-15.")
    assert prompts[-1] == {
        "say": "Anything else?",
        "lang": "en-US",
        "expect": "digits",
        "max_digits": 1,
        "end_call": False,
    }


async def test_zero_transfers_to_an_agent(client: httpx.AsyncClient) -> None:
    await post(client, _start())
    status, prompts = await post(client, {"call_id": "call-1", "event": "digits", "digits": "0"})
    assert status == 200
    assert INBOX[1].text == "/request_human"
    last = prompts[-1]
    assert last["transfer_to"] == "agent"
    assert last["expect"] == "none"
    # No link, no markdown; the hotline digit by digit.
    assert "http" not in last["say"] and "**" not in last["say"]
    assert "4 0 0, 8 0 0, 6 6 9 9" in last["say"]
    # Zero inside a longer number is a number, not a transfer.
    await post(client, _start("call-2"))
    await post(client, {"call_id": "call-2", "event": "digits", "digits": "100"})
    assert INBOX[-1].text == "100"


async def test_hangup_ends_the_conversation(client: httpx.AsyncClient) -> None:
    await post(client, _start())
    status, prompts = await post(client, {"call_id": "call-1", "event": "hangup"})
    assert status == 200
    assert INBOX[1].text == "/goodbye"
    assert prompts[-1]["end_call"] is True
    assert prompts[-1]["expect"] == "none"
    assert "call-1" not in CHANNEL.calls


async def test_bot_can_end_the_call_with_a_payload(client: httpx.AsyncClient) -> None:
    await post(client, _start())
    _, prompts = await post(client, {"call_id": "call-1", "event": "speech", "text": "bye please"})
    assert prompts == [{"say": "再见。", "lang": "zh-CN", "expect": "none", "end_call": True}]


async def test_silence_repeats_then_ends_the_call(client: httpx.AsyncClient) -> None:
    _, greeting = await post(client, _start(lang="en"))
    for _ in range(MAX_SILENCES - 1):
        status, prompts = await post(client, {"call_id": "call-1", "event": "silence"})
        assert status == 200
        assert prompts[0]["expect"] == "none"
        assert prompts[0]["lang"] == "en-US"
        assert prompts[1:] == greeting
    status, prompts = await post(client, {"call_id": "call-1", "event": "silence"})
    assert prompts[-1]["end_call"] is True
    # Silence never reaches the bot.
    assert [m.text for m in INBOX] == ['/greet{"lang":"en"}']


async def test_speech_resets_the_silence_count(client: httpx.AsyncClient) -> None:
    await post(client, _start())
    for _ in range(MAX_SILENCES - 1):
        await post(client, {"call_id": "call-1", "event": "silence"})
    await post(client, {"call_id": "call-1", "event": "speech", "text": "hello"})
    _, prompts = await post(client, {"call_id": "call-1", "event": "silence"})
    assert prompts[-1]["end_call"] is False


async def test_health_route(client: httpx.AsyncClient) -> None:
    assert (await client.get("/webhooks/ivr/")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "speech", "text": "hi"}, "call_id"),
        ({"call_id": "", "event": "speech", "text": "hi"}, "call_id"),
        ({"call_id": 7, "event": "speech", "text": "hi"}, "call_id"),
        ({"call_id": "x" * 129, "event": "speech", "text": "hi"}, "call_id"),
        ({"call_id": "c"}, "event"),
        ({"call_id": "c", "event": "dtmf"}, "event"),
        ({"call_id": "c", "event": "call_start"}, "caller"),
        ({"call_id": "c", "event": "call_start", "caller": "not a number"}, "caller"),
        ({"call_id": "c", "event": "call_start", "caller": 8613800138000}, "caller"),
        ({"call_id": "c", "event": "speech"}, "text"),
        ({"call_id": "c", "event": "speech", "text": "  "}, "text"),
        ({"call_id": "c", "event": "speech", "text": "x" * 1001}, "text"),
        ({"call_id": "c", "event": "digits"}, "digits"),
        ({"call_id": "c", "event": "digits", "digits": "12a"}, "digits"),
        ({"call_id": "c", "event": "digits", "digits": "#"}, "digits"),
        ({"call_id": "c", "event": "digits", "digits": 5}, "digits"),
        ({"call_id": "c", "event": "speech", "text": "hi", "lang": "fr"}, "lang"),
        ({"call_id": "c", "event": "speech", "text": "hi", "brand": "audi"}, "brand"),
    ],
)
async def test_bad_events_name_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    status, payload = await post(client, body)
    assert status == 400
    assert payload["error"]["field"] == field
    assert payload["error"]["code"]
    assert payload["error"]["message"]
    assert INBOX == []


async def test_body_not_an_object(client: httpx.AsyncClient) -> None:
    status, payload = await post(client, ["call_start"])
    assert status == 400
    assert payload["error"]["code"] == "invalid_body"
    response = await client.post(
        URL, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert INBOX == []


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("请拨打 400-800-6699。", "请拨打 4 0 0, 8 0 0, 6 6 9 9。"),
        ("Reference PR-2026-000123.", "Reference P R 2 0 2 6 0 0 0 1 2 3."),
        ("Code sent to 138****8000", "Code sent to 1 3 8, 8 0 0 0"),
        ("Your mobile 13800138000", "Your mobile 1 3 8 0 0 1 3 8 0 0 0"),
        ("Due **2026-12-15**, within 15 days", "Due 2026-12-15, within 15 days"),
        ("See [the policy](https://example.com/p) now", "See the policy now"),
        ("Write to ConnectedDrive@bmw.com.cn (www.bmw.com.cn) today", "Write to today"),
        ("- one\n- two", "one two"),
    ],
)
def test_speakable(text: str, spoken: str) -> None:
    assert speakable(text) == spoken
    assert speakable(spoken) == spoken


def test_prompts_from_buttons_and_empty_turns() -> None:
    prompts = build_prompts(
        [{"text": "Which brand?", "buttons": [{"title": "MINI"}, {"title": "BMW"}]}], "zh"
    )
    assert prompts == [
        {"say": "Which brand? MINI BMW", "lang": "en-US", "expect": "speech", "end_call": False}
    ]
    assert build_prompts([], "en") == [
        {"say": "", "lang": "en-US", "expect": "speech", "end_call": False}
    ]
