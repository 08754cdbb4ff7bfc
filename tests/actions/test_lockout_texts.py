"""The lockout says until when (Beijing time) and what to do instead; the counter of tries reads
naturally in both languages ("1 more try", "还可以再试 1 次")."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import RightsClient
from actions.formatting import format_time
from actions.forms import ValidateRequestForm
from actions.settings import Settings
from actions.verification import PHONE_PASSWORD, SMS_CODE
from tests.support.api_process import running_api
from tests.support.trackers import make_tracker, responses, slot_events

WAYS = [
    {"way": "app_session", "requests": "low_risk"},
    {"way": "hotline_agent", "requests": "all"},
]
# 10:45 UTC is 18:45 in Beijing.
LOCKED = {"status": "locked", "attempts_left": 0, "locked_until": "2026-12-07T10:45:00Z"}


def backend(body: dict[str, Any]) -> RightsClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    settings = Settings(api_url="http://rights.test", bot_api_key="k", attempts=1)
    return RightsClient(settings, transport=httpx.MockTransport(handler))


async def give_code(
    client: RightsClient,
    domain: dict,
    request_type: str = "deletion",
    lang: str = "zh",
    method: str = SMS_CODE,
    code: str = "000000",
    **slots: Any,
) -> tuple[dict[str, Any], CollectingDispatcher]:
    tracker = make_tracker(
        {
            "request_type": request_type,
            "requested_slot": "otp_code",
            "verification_id": "ver-1",
            "verification_method": method,
            "mobile": "138****8000",
            "lang": lang,
            **slots,
        },
        text=code,
        entities=[{"entity": "otp_code", "value": code}],
        candidates={"otp_code": code},
    )
    action = ValidateRequestForm()
    action.client = client
    dispatcher = CollectingDispatcher()
    return slot_events(await action.run(dispatcher, tracker, domain)), dispatcher


def texts(domain: dict, response: str) -> list[str]:
    return [str(v["text"]) for v in domain["responses"][response]]


@pytest.mark.parametrize(
    ("lang", "until"), [("zh", "12月7日 18:45"), ("en", "18:45 on 7 December")]
)
async def test_the_lockout_says_until_when_in_beijing_time(domain, lang, until):
    client = backend({**LOCKED, "ways_through": WAYS})
    slots, dispatcher = await give_code(client, domain, lang=lang)
    assert responses(dispatcher) == ["utter_verification_locked"]
    assert dispatcher.messages[0]["locked_until"] == until
    assert slots["flow_outcome"] == "locked" and slots["requested_slot"] is None


def test_format_time_is_beijing_time():
    assert format_time("2026-12-31T16:30:00+00:00", "zh") == "1月1日 00:30"
    assert format_time("2026-12-31T16:30:00+00:00", "en") == "00:30 on 1 January"


def test_every_lockout_text_says_the_end_and_the_hotline(domain):
    for text in texts(domain, "utter_verification_locked"):
        assert "{locked_until}" in text
        assert ("Beijing time" in text) or ("北京时间" in text), text
        # What to do instead: the hotline (chat) or a person at once (the hotline itself).
        assert re.search(r"hotline|热线|press 0|按 0", text), text
    for text in texts(domain, "utter_password_locked"):
        assert "{locked_until}" in text
        assert ("Beijing time" in text) or ("北京时间" in text), text
        assert ("agent" in text) or ("人工" in text), text


async def test_a_low_risk_request_also_hears_of_the_app(domain):
    client = backend({**LOCKED, "ways_through": WAYS})
    _, dispatcher = await give_code(client, domain, request_type="unsubscribe_marketing")
    assert responses(dispatcher) == ["utter_verification_locked", "utter_locked_app_way"]
    # Not for a request the app session cannot file.
    _, dispatcher = await give_code(client, domain, request_type="cancel_account")
    assert responses(dispatcher) == ["utter_verification_locked"]


async def test_a_lock_without_an_end_says_try_later(domain):
    client = backend({"status": "locked", "attempts_left": 0})
    _, dispatcher = await give_code(client, domain)
    assert responses(dispatcher) == ["utter_verification_locked_later"]


async def test_on_the_hotline_the_lock_says_its_end_and_hands_over(domain):
    from bot.channels.voice import RESPONSE_HINTS

    client = backend({**LOCKED, "ways_through": WAYS})
    _, dispatcher = await give_code(
        client, domain, request_type="unsubscribe_marketing", method=PHONE_PASSWORD, lang="en"
    )
    assert responses(dispatcher) == ["utter_password_locked"]
    assert dispatcher.messages[0]["locked_until"] == "18:45 on 7 December"
    for name in ("utter_password_locked", "utter_password_locked_later"):
        assert RESPONSE_HINTS[name] == {"transfer_to": "agent"}


@pytest.mark.parametrize(
    ("method", "left", "expected"),
    [
        (SMS_CODE, 2, "utter_code_invalid"),
        (SMS_CODE, 1, "utter_code_invalid_last"),
        (PHONE_PASSWORD, 3, "utter_password_invalid"),
        (PHONE_PASSWORD, 1, "utter_password_invalid_last"),
    ],
)
async def test_the_counter_reads_naturally(domain, method, left, expected):
    client = backend({"status": "invalid", "attempts_left": left})
    slots, dispatcher = await give_code(client, domain, method=method)
    assert responses(dispatcher) == [expected]
    assert slots["attempts_left"] == left and slots["requested_slot"] == "otp_code"


def test_the_counter_texts(domain):
    for name in ("utter_code_invalid", "utter_password_invalid"):
        for text in texts(domain, name):
            assert ("{attempts_left} more tries" in text) or (
                "还可以再试 {attempts_left} 次" in text
            )
            assert "attempt(s)" not in text and "Attempts left" not in text
        for text in texts(domain, f"{name}_last"):
            assert ("1 more try." in text) or ("还可以再试 1 次" in text), text


def test_the_last_try_asks_for_the_code_once():
    from actions.asks import ASKING_REPLIES

    assert {"utter_code_invalid_last", "utter_password_invalid_last"} <= ASKING_REPLIES


async def test_five_wrong_codes_lock_until_a_time_the_backend_sets(domain):
    with running_api() as fresh:  # the default limits: five wrong codes lock the number
        client = RightsClient(Settings(api_url=fresh.url, bot_api_key=fresh.bot_api_key))
        started = await client.start_verification("13600136000")
        state = {"verification_id": started.id, "lang": "en", "brand": "bmw"}
        said: list[str] = []
        for _ in range(5):
            _slots, dispatcher = await give_code(client, domain, **state)
            said += responses(dispatcher)
    assert said[:4] == ["utter_code_invalid"] * 3 + ["utter_code_invalid_last"]
    assert said[4] == "utter_verification_locked"
    assert re.fullmatch(r"\d\d:\d\d on \d{1,2} [A-Z][a-z]+", dispatcher.messages[0]["locked_until"])
