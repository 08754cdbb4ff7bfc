"""Unit tests of the IVR gateway channel: parsing, validation, prompts, transfer and hang-up.

The bot is a stub: it records the UserMessage and answers through the output channel with
canned messages shaped like Rasa's (text, utter_action, custom), so only channel code runs.
The call state runs in memory and in the real Redis server (PRIVACY_REDIS_HOST, port 6379), with
two channel instances sharing one store as two replicas would.
"""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Sanic

from bot.channels.call_state import (
    CALL_TTL_SECONDS,
    CallStateStore,
    InMemoryCallStateStore,
    RedisCallStateStore,
)
from bot.channels.ivr import MAX_SILENCES, IvrInput
from bot.channels.voice import build_prompts, speakable
from tests.support.sanic_apps import start_sanic_app
from tests.support.stack import REDIS_HOST

URL = "/webhooks/ivr/webhook"
REDIS_URL = f"redis://{REDIS_HOST}:6379/2"

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
# Two replicas of the channel; the tests give them one store.
REPLICA_A, REPLICA_B = IvrInput(), IvrInput()


def _build_app(channel: InputChannel) -> Sanic:
    assert channel.name() == "ivr"
    app = Sanic(f"ivr_test_{uuid.uuid4().hex}")
    app.blueprint(channel.blueprint(_on_new_message), url_prefix=f"/webhooks/{channel.name()}")
    return app


# One app per channel, built once: Sanic's start-up rewrites its own internals.
APP, APP_A, APP_B = (_build_app(c) for c in (CHANNEL, REPLICA_A, REPLICA_B))
_started: list[Sanic] = []
Replicas = tuple[httpx.AsyncClient, httpx.AsyncClient]


async def _client_of(app: Sanic) -> httpx.AsyncClient:
    if app not in _started:
        await start_sanic_app(app)
        _started.append(app)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://rasa")


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    INBOX.clear()
    assert isinstance(CHANNEL, IvrInput)
    CHANNEL.store = InMemoryCallStateStore()
    async with await _client_of(APP) as http:
        yield http


@pytest_asyncio.fixture
async def replicas() -> AsyncIterator[Replicas]:
    INBOX.clear()
    async with await _client_of(APP_A) as a, await _client_of(APP_B) as b:
        yield a, b


@asynccontextmanager
async def _redis_store() -> AsyncIterator[RedisCallStateStore]:
    """A store of its own in the real Redis: a unique key prefix, its keys removed after."""
    store = RedisCallStateStore(REDIS_URL, key_prefix=f"test:ivr:{uuid.uuid4().hex}:")
    try:
        yield store
    finally:
        keys = [key async for key in store.client.scan_iter(match=f"{store.key_prefix}*")]
        if keys:
            await store.client.delete(*keys)
        await store.client.close()


@pytest_asyncio.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[CallStateStore]:
    """The replicas' one shared store; Redis clients are bound to the test's event loop."""
    if request.param == "memory":
        REPLICA_A.store = REPLICA_B.store = InMemoryCallStateStore()
        yield REPLICA_A.store
        return
    async with _redis_store() as shared:
        REPLICA_A.store = REPLICA_B.store = shared
        yield shared


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


CALL_METADATA_EN = {"channel": "ivr", "caller": "+8613800138000", "lang": "en", "brand": "bmw"}


async def test_later_events_keep_the_call_metadata(client: httpx.AsyncClient) -> None:
    await post(client, _start(lang="en", brand="bmw"))
    status, _ = await post(client, {"call_id": "call-1", "event": "speech", "text": "hello"})
    assert status == 200
    assert INBOX[1].text == "hello"
    assert INBOX[1].metadata == CALL_METADATA_EN
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
    assert isinstance(CHANNEL, IvrInput)
    assert await CHANNEL.store.get("call-1") is None


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


async def test_replicas_share_the_call(replicas: Replicas, store: CallStateStore) -> None:
    a, b = replicas
    await post(a, _start(lang="en", brand="bmw"))
    status, prompts = await post(b, {"call_id": "call-1", "event": "speech", "text": "hello"})
    assert status == 200
    assert prompts[0]["say"] == "echo hello"
    assert INBOX[1].metadata == CALL_METADATA_EN
    # A change told to one replica is seen by the other.
    await post(b, {"call_id": "call-1", "event": "speech", "text": "你好", "lang": "zh"})
    await post(a, {"call_id": "call-1", "event": "digits", "digits": "5"})
    assert INBOX[3].metadata["lang"] == "zh"
    assert INBOX[3].metadata["caller"] == "+8613800138000"


async def test_silences_count_across_replicas(replicas: Replicas, store: CallStateStore) -> None:
    silence = {"call_id": "call-1", "event": "silence"}
    _, greeting = await post(replicas[0], _start(lang="en"))
    # Every event on the other replica than the one before.
    for i in range(1, MAX_SILENCES):
        status, prompts = await post(replicas[i % 2], silence)
        assert status == 200
        # The prompts another replica answered are the ones repeated.
        assert prompts[1:] == greeting
        assert prompts[-1]["end_call"] is False
    _, prompts = await post(replicas[MAX_SILENCES % 2], silence)
    assert prompts[-1]["end_call"] is True
    assert [m.text for m in INBOX] == ['/greet{"lang":"en"}']


async def test_hangup_and_transfer_forget_the_call(
    replicas: Replicas, store: CallStateStore
) -> None:
    a, b = replicas
    await post(a, _start())
    assert (await store.get("call-1") or {})["caller"] == "+8613800138000"
    _, prompts = await post(b, {"call_id": "call-1", "event": "hangup"})
    assert prompts[-1]["end_call"] is True
    assert await store.get("call-1") is None
    await post(a, _start("call-2"))
    _, prompts = await post(b, {"call_id": "call-2", "event": "digits", "digits": "0"})
    assert prompts[-1]["transfer_to"] == "agent"
    assert await store.get("call-2") is None


async def test_redis_keeps_json_that_expires(replicas: Replicas) -> None:
    a, _ = replicas
    async with _redis_store() as store:
        REPLICA_A.store = store
        await post(a, _start(lang="en", brand="mini"))
        key = store.key("call-1")
        state = json.loads(await store.client.get(key))
        assert state["caller"] == "+8613800138000"
        assert (state["lang"], state["brand"], state["silences"]) == ("en", "mini", 0)
        # A call that never hangs up goes by itself; every event restarts the clock.
        assert CALL_TTL_SECONDS - 60 < await store.client.ttl(key) <= CALL_TTL_SECONDS
        await store.client.expire(key, 60)
        await post(a, {"call_id": "call-1", "event": "silence"})
        assert await store.client.ttl(key) > CALL_TTL_SECONDS - 60


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_redis_down_answers_from_the_event(
    replicas: Replicas, caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = replicas
    store = RedisCallStateStore(f"redis://127.0.0.1:{_closed_port()}/0")
    REPLICA_A.store = store
    try:
        with caplog.at_level(logging.WARNING, logger="bot.channels.ivr"):
            status, prompts = await post(a, _start(lang="en"))
            assert status == 200
            assert prompts[0]["say"] == "您好！我是隐私助手。请问有什么可以帮您？"
            assert INBOX[0].metadata == {"channel": "ivr", "caller": "+8613800138000", "lang": "en"}
            # The turn still reaches the bot, with only what this event tells.
            event = {"call_id": "call-1", "event": "speech", "text": "hello", "lang": "en"}
            status, prompts = await post(a, event)
            assert status == 200
            assert prompts[-1]["say"] == "echo hello"
            assert INBOX[1].metadata == {"channel": "ivr", "lang": "en"}
            # Without its own lang, an event is answered in the default language.
            status, prompts = await post(a, {"call_id": "call-1", "event": "silence"})
            assert status == 200
            assert prompts[0]["say"] == "抱歉，我没有听到您的声音。"
            assert prompts[-1]["expect"] == "speech"
            status, prompts = await post(a, {"call_id": "call-1", "event": "hangup"})
            assert status == 200
            assert prompts[-1]["end_call"] is True
    finally:
        await store.client.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings
    assert all("call state" in r.getMessage() for r in warnings)


async def test_memory_store_forgets_the_oldest_call() -> None:
    store = InMemoryCallStateStore(max_calls=2)
    await store.save("a", {"silences": 0})
    await store.save("b", {"silences": 0})
    await store.save("a", {"silences": 1})
    await store.save("c", {"silences": 0})
    assert await store.get("b") is None
    assert await store.get("a") == {"silences": 1}
    # Copies, as through Redis: a change counts only once saved.
    state = await store.get("c")
    assert state is not None
    state["silences"] = 2
    assert await store.get("c") == {"silences": 0}


def test_store_from_credentials_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def store_of(credentials: dict[str, Any]) -> CallStateStore:
        channel = IvrInput.from_credentials(credentials)
        assert isinstance(channel, IvrInput)
        return channel.store

    redis_credentials = {"call_state_url": "redis://127.0.0.1:6379/2"}
    monkeypatch.delenv("IVR_CALL_STATE_URL", raising=False)
    assert isinstance(store_of({}), InMemoryCallStateStore)
    assert isinstance(store_of({"call_state_url": ""}), InMemoryCallStateStore)
    from_credentials = store_of(redis_credentials)
    assert isinstance(from_credentials, RedisCallStateStore)
    assert from_credentials.client.connection_pool.connection_kwargs["db"] == 2
    # The environment wins; empty means in memory.
    monkeypatch.setenv("IVR_CALL_STATE_URL", "")
    assert isinstance(store_of(redis_credentials), InMemoryCallStateStore)
    monkeypatch.setenv("IVR_CALL_STATE_URL", "redis://127.0.0.1:6379/3")
    from_env = store_of({})
    assert isinstance(from_env, RedisCallStateStore)
    assert from_env.client.connection_pool.connection_kwargs["db"] == 3
    monkeypatch.setenv("IVR_CALL_STATE_URL", "http://127.0.0.1:6379")
    with pytest.raises(ValueError):
        store_of({})


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


@pytest.mark.parametrize(
    ("messages", "expect", "max_digits"),
    [
        # A key named in the text, in either language, in any prompt of the turn.
        ([{"text": "请问有什么可以帮您？转人工请按 0。"}], "speech_or_digits", 1),
        ([{"text": "How can I help? Press 0 for a person."}], "speech_or_digits", 1),
        ([{"text": "按１转人工。"}, {"text": "还有什么？"}], "speech_or_digits", 1),
        # Twelve options are keys 1 to 12: two presses.
        ([{"text": "请选择：", "buttons": [{"title": f"选项{n}"} for n in range(12)]}], None, 2),
        # Asked for digits already: a "press 0" in the same prompt changes nothing.
        (
            [
                {
                    "text": "请输入电话密码，以井号键结束。如非本机来电，请按 0 转人工。",
                    "utter_action": "utter_ask_phone_password",
                }
            ],
            "digits",
            12,
        ),
        # No key offered, or a number that is no key: speech only.
        ([{"text": "请问有什么可以帮您？"}], "speech", None),
        ([{"text": "我们会在 15 个工作日内答复，按 15 个工作日计算。"}], "speech", None),
        ([{"text": "Please press the hash key when you are done."}], "speech", None),
    ],
)
def test_a_prompt_that_offers_keys_listens_for_them(
    messages: list[dict[str, Any]], expect: str | None, max_digits: int | None
) -> None:
    last = build_prompts(messages, "zh")[-1]
    assert last["expect"] == (expect or "speech_or_digits")
    assert last.get("max_digits") == max_digits


def test_prompts_from_buttons_and_empty_turns() -> None:
    prompts = build_prompts(
        [{"text": "Which brand?", "buttons": [{"title": "MINI"}, {"title": "BMW"}]}], "zh"
    )
    # Said "press 1": the key answers as well as the words, and one press is enough.
    assert prompts == [
        {
            "say": "Which brand? Press 1 for MINI. Press 2 for BMW.",
            "lang": "en-US",
            "expect": "speech_or_digits",
            "max_digits": 1,
            "end_call": False,
        }
    ]
    chinese = build_prompts(
        [{"text": "请选择：", "buttons": [{"title": "营销推广"}, {"title": "与经销商共享"}]}]
    )
    assert chinese[0]["say"] == "请选择： 按 1，营销推广；按 2，与经销商共享。"
    assert chinese[0]["expect"] == "speech_or_digits" and chinese[0]["max_digits"] == 1
    assert build_prompts([], "en") == [
        {"say": "", "lang": "en-US", "expect": "speech", "end_call": False}
    ]
