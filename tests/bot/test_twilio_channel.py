"""Unit tests of the Twilio Voice channel: signatures, TwiML, digits, languages, transfer, hang-up.

The bot is a stub that records the UserMessage and answers through the output channel.
Signatures are cross-checked against Twilio's own RequestValidator (a dependency of Rasa).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import pytest_asyncio
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic
from twilio.request_validator import RequestValidator

from bot.channels.twilio_voice import MAX_SILENCES, TwilioVoiceChannel, twilio_signature
from tests.support.sanic_apps import start_sanic_app

TOKEN = "test-auth-token"
BASE = "http://rasa"
URL = "/webhooks/twilio_voice/webhook"
AGENT = "+862160000000"

REPLIES: dict[str, list[dict[str, Any]]] = {
    "/greet": [{"text": "您好！我是隐私助手。请问有什么可以帮您？", "utter_action": "utter_greet"}],
    "/request_human": [
        {
            "text": "Sure, I'm passing you to a person. Or call 400-800-6666.",
            "utter_action": "utter_handover",
        }
    ],
    "/goodbye": [{"text": "Goodbye!", "utter_action": "utter_goodbye"}],
    "cancel my account": [
        {"text": "OK.", "utter_action": "utter_request_started"},
        {"text": "请输入您的手机号码。", "utter_action": "utter_ask_mobile"},
    ],
    "bye": [{"text": "Bye & thanks <3", "custom": {"voice": {"end_call": True}}}],
    "what about marketing": [
        {
            "text": "要现在撤回您的某项同意吗？",
            "buttons": [{"title": "撤回同意", "payload": "/request_withdraw_consent"}],
            "utter_action": "utter_offer_withdraw_consent",
        }
    ],
    "help": [{"text": "How can I help? Press 0 for a person.", "utter_action": "utter_greet"}],
}

INBOX: list[UserMessage] = []


async def _on_new_message(message: UserMessage) -> None:
    INBOX.append(message)
    # Intent payloads carry entities (/greet{"lang":"en"}): answer by the intent.
    key = (message.text or "").split("{")[0]
    for reply in REPLIES.get(key, [{"text": f"echo {message.text}"}]):
        await message.output_channel.send_response(message.sender_id, dict(reply))


CHANNEL = TwilioVoiceChannel.from_credentials({"auth_token": TOKEN, "agent_number": AGENT})
NO_AGENT_CHANNEL = TwilioVoiceChannel.from_credentials({"auth_token": TOKEN})
NO_TOKEN_CHANNEL = TwilioVoiceChannel(auth_token=None)
PUBLIC_CHANNEL = TwilioVoiceChannel(auth_token=TOKEN, public_url="https://voice.example.com/")


def _build_app() -> Sanic:
    assert CHANNEL.name() == "twilio_voice"
    app = Sanic(f"twilio_test_{uuid.uuid4().hex}")
    app.blueprint(CHANNEL.blueprint(_on_new_message), url_prefix="/webhooks/twilio_voice")
    for prefix, channel in (
        ("no_agent", NO_AGENT_CHANNEL),
        ("no_token", NO_TOKEN_CHANNEL),
        ("public", PUBLIC_CHANNEL),
    ):
        blueprint = channel.blueprint(_on_new_message)
        blueprint.name = f"twilio_voice_{prefix}"
        app.blueprint(blueprint, url_prefix=f"/webhooks/{prefix}")
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
    transport = httpx.ASGITransport(app=APP)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


def _form(**params: str) -> dict[str, str]:
    return {"CallSid": "CA123", "From": "+8613800138000", "CallStatus": "in-progress", **params}


async def call(
    client: httpx.AsyncClient,
    params: dict[str, str],
    path: str = URL,
    signature: str | None = "valid",
) -> tuple[int, ET.Element, httpx.Response]:
    headers = {}
    if signature == "valid":
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(
            f"{BASE}{path}", params
        )
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    response = await client.post(path, data=params, headers=headers)
    return response.status_code, ET.fromstring(response.text), response


def _says(root: ET.Element) -> list[tuple[str, str]]:
    return [(el.get("voice") or "", el.text or "") for el in root.iter("Say")]


def test_signature_matches_twilios_validator() -> None:
    params = {"CallSid": "CA1", "Digits": "1234", "From": "+8613800138000", "b": "2"}
    url = "https://voice.example.com/webhooks/twilio_voice/webhook?lang=en"
    expected = RequestValidator(TOKEN).compute_signature(url, params)
    assert twilio_signature(TOKEN, url, {k: [v] for k, v in params.items()}) == expected
    assert RequestValidator(TOKEN).validate(url, params, expected)


async def test_first_request_greets_in_chinese(client: httpx.AsyncClient) -> None:
    status, root, response = await call(client, _form(CallStatus="ringing"))
    assert status == 200
    assert response.headers["content-type"].startswith("text/xml")
    message = INBOX[0]
    assert message.text == '/greet{"lang":"zh"}'
    assert message.sender_id == "CA123"
    assert message.input_channel == "twilio_voice"
    assert message.output_channel.name() == "twilio_voice"
    assert message.metadata == {"channel": "twilio_voice", "lang": "zh", "caller": "+8613800138000"}
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "zh-CN"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("action") == "/webhooks/twilio_voice/webhook?lang=zh"
    assert _says(root) == [("Polly.Zhiyu", "您好！我是隐私助手。请问有什么可以帮您？")]


async def test_english_reply_switches_voice_and_recognition(client: httpx.AsyncClient) -> None:
    status, root, _ = await call(client, _form(SpeechResult="hello there"))
    assert status == 200
    assert INBOX[0].text == "hello there"
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("language") == "en-US"
    assert gather.get("action") == "/webhooks/twilio_voice/webhook?lang=en"
    assert _says(root) == [("Polly.Joanna-Neural", "echo hello there")]


async def test_call_language_and_brand_from_webhook_url(client: httpx.AsyncClient) -> None:
    path = f"{URL}?lang=en&brand=bmw"
    status, _, _ = await call(client, _form(SpeechResult="hi"), path=path)
    assert status == 200
    assert INBOX[0].metadata["lang"] == "en"
    assert INBOX[0].metadata["brand"] == "bmw"


async def test_digits_are_the_callers_turn(client: httpx.AsyncClient) -> None:
    status, root, _ = await call(client, _form(Digits="13800138000#"))
    assert status == 200
    assert INBOX[0].text == "13800138000"
    # The reply is read digit by digit.
    assert _says(root)[0][1] == "echo 1 3 8 0 0 1 3 8 0 0 0"


async def test_digit_prompt_sets_num_digits(client: httpx.AsyncClient) -> None:
    _, root, _ = await call(client, _form(SpeechResult="cancel my account"))
    # The first reply is said before the Gather, the question inside it.
    assert root[0].tag == "Say" and root[0].text == "OK."
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "11"
    assert gather.get("language") == "zh-CN"
    assert [el.text for el in gather.iter("Say")] == ["请输入您的手机号码。"]


@pytest.mark.parametrize(
    ("said", "spoken"),
    [
        ("what about marketing", "要现在撤回您的某项同意吗？ 按 1，撤回同意。"),
        ("help", "How can I help? Press 0 for a person."),
    ],
)
async def test_a_prompt_that_offers_keys_takes_one_press(
    client: httpx.AsyncClient, said: str, spoken: str
) -> None:
    _, root, _ = await call(client, _form(SpeechResult=said))
    gather = root.find("Gather")
    assert gather is not None
    assert [el.text for el in gather.iter("Say")] == [spoken]
    # Keys and speech both answer; one key press is the whole answer.
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1"


async def test_silence_repeats_the_keypad_options(client: httpx.AsyncClient) -> None:
    said = BotUttered(
        "要现在撤回您的某项同意吗？",
        data={"buttons": [{"title": "撤回同意", "payload": "/request_withdraw_consent"}]},
    )
    tracker = DialogueStateTracker.from_events("CA123", [said])
    APP.ctx.agent = SimpleNamespace(tracker_store=_Store(tracker))
    try:
        _, root, _ = await call(client, _form())
    finally:
        APP.ctx.agent = None
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert [el.text for el in gather.iter("Say")] == ["要现在撤回您的某项同意吗？ 按 1，撤回同意。"]


class _Store:
    def __init__(self, tracker: DialogueStateTracker) -> None:
        self.tracker = tracker

    async def retrieve(self, sender: str) -> DialogueStateTracker | None:
        return self.tracker if sender == self.tracker.sender_id else None


async def test_zero_dials_the_agent(client: httpx.AsyncClient) -> None:
    status, root, _ = await call(client, _form(Digits="0"))
    assert status == 200
    assert INBOX[0].text == '/request_human{"lang":"zh"}'
    assert root.find("Gather") is None
    dial = root.find("Dial")
    assert dial is not None and dial.text == AGENT
    assert _says(root)[0][1] == (
        "Sure, I'm passing you to a person. Or call 4 0 0, 8 0 0, 6 6 6 6."
    )


async def test_transfer_without_agent_number_hangs_up(client: httpx.AsyncClient) -> None:
    path = "/webhooks/no_agent/webhook"
    status, root, _ = await call(client, _form(Digits="0"), path=path)
    assert status == 200
    assert root.find("Dial") is None
    assert root.find("Hangup") is not None


async def test_bot_ending_the_call_hangs_up(client: httpx.AsyncClient) -> None:
    _, root, response = await call(client, _form(SpeechResult="bye"))
    assert root.find("Gather") is None
    assert root[-1].tag == "Hangup"
    # The text is escaped, so the TwiML stays valid XML.
    assert "&amp;" in response.text and "&lt;3" in response.text


async def test_caller_hanging_up_ends_the_conversation(client: httpx.AsyncClient) -> None:
    status, root, _ = await call(client, _form(CallStatus="completed"))
    assert status == 200
    assert INBOX[0].text == '/goodbye{"lang":"zh"}'
    assert [el.tag for el in root] == ["Hangup"]


async def test_silence_reprompts_then_hangs_up(client: httpx.AsyncClient) -> None:
    path = f"{URL}?lang=en"
    for silences in range(1, MAX_SILENCES):
        status, root, _ = await call(client, _form(), path=path)
        assert status == 200
        gather = root.find("Gather")
        assert gather is not None
        assert gather.get("action") == f"{URL}?lang=en&silences={silences}"
        assert _says(root)[0][0] == "Polly.Joanna-Neural"
        path = gather.get("action") or ""
    _, root, _ = await call(client, _form(), path=path)
    assert root.find("Gather") is None
    assert root[-1].tag == "Hangup"
    assert INBOX == []


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl"])
async def test_bad_or_missing_signature_is_refused(
    client: httpx.AsyncClient, signature: str | None
) -> None:
    status, root, response = await call(client, _form(SpeechResult="hi"), signature=signature)
    assert status == 403
    assert root.tag == "Response"
    assert response.headers["content-type"].startswith("text/xml")
    assert INBOX == []


async def test_signature_over_other_params_is_refused(client: httpx.AsyncClient) -> None:
    good = RequestValidator(TOKEN).compute_signature(f"{BASE}{URL}", _form(SpeechResult="hi"))
    status, _, _ = await call(client, _form(SpeechResult="cancel my account"), signature=good)
    assert status == 403
    assert INBOX == []


async def test_public_url_is_what_twilio_signed(client: httpx.AsyncClient) -> None:
    # Behind a proxy Rasa sees its own address; Twilio signed the public one.
    path = "/webhooks/public/webhook?lang=en"
    params = _form(SpeechResult="hi")
    public = RequestValidator(TOKEN).compute_signature(f"https://voice.example.com{path}", params)
    status, _, _ = await call(client, params, path=path, signature=public)
    assert status == 200
    status, _, _ = await call(client, params, path=path)  # signed over the internal URL
    assert status == 403


async def test_no_token_refuses_everything(client: httpx.AsyncClient) -> None:
    status, _, _ = await call(client, _form(SpeechResult="hi"), path="/webhooks/no_token/webhook")
    assert status == 403
    assert INBOX == []


def test_configuration_keeps_rasas_checks() -> None:
    from rasa.shared.exceptions import InvalidConfigException

    with pytest.raises(InvalidConfigException):
        TwilioVoiceChannel.from_credentials({"auth_token": TOKEN, "speech_model": "bogus"})
