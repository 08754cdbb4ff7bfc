"""Whole hotline calls through the real stack: the IVR gateway channel and Twilio Voice.

Each call plays the gateway's (or Twilio's) side: call start, a policy question by speech, a
consent withdrawal verified by caller number plus the remote service phone password keyed in,
wrong passwords until the lockout hands the caller to an agent, a transfer by pressing 0,
silence and hang-up, in Chinese and in English. What the bot did is read back from Rasa's
tracker (intents, the responses it chose), what the caller hears from the prompts / TwiML, and
what was filed from the rights backend's staff API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from actions import rights
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# The stack's Rasa inherits the environment: the Twilio channel signs with this token and dials
# this number. Set at import, before the session's stack starts.
TWILIO_TOKEN = os.environ.setdefault("TWILIO_AUTH_TOKEN", "e2e-twilio-" + uuid.uuid4().hex)
AGENT_NUMBER = os.environ.setdefault("TWILIO_AGENT_NUMBER", "+862100000000")

TOPICS = Path(__file__).resolve().parents[2] / "data" / "policy" / "topics"
QUESTIONS = {
    slug: topic
    for path in sorted(TOPICS.glob("*.yml"))
    for slug, topic in ((yaml.safe_load(path.read_text(encoding="utf-8")) or {})["topics"]).items()
}
LINK_OR_MARKDOWN = ("http", "www.", "@", "**", "](")


def _ivr(stack: Stack, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = httpx.post(f"{stack.rasa_url}/webhooks/ivr/webhook", json=body, timeout=120)
    assert r.status_code == 200, r.text
    prompts: list[dict[str, Any]] = r.json()
    assert prompts, body
    for prompt in prompts:
        assert not any(bad in prompt["say"] for bad in LINK_OR_MARKDOWN), prompt
    return prompts


def _events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = stack.tracker(sender)["events"]
    return events


def _last_intent(stack: Stack, sender: str) -> str:
    users = [e for e in _events(stack, sender) if e.get("event") == "user"]
    return str(users[-1]["parse_data"]["intent"]["name"])


def _last_response(stack: Stack, sender: str) -> str:
    return _responses(stack, sender)[-1]


def _responses(stack: Stack, sender: str, since: int = 0) -> list[str]:
    """The responses the bot chose, from the `since`-th event of the conversation on."""
    bots = [e for e in _events(stack, sender)[since:] if e.get("event") == "bot"]
    return [str((b.get("metadata") or {}).get("utter_action") or "") for b in bots]


def _spoken(prompts: list[dict[str, Any]]) -> str:
    return " ".join(p["say"] for p in prompts)


def _spelled(reference: str) -> str:
    """How a voice prompt reads a reference: every letter and digit on its own."""
    return " ".join(c for c in reference if c.isalnum())


def _ivr_tickets(stack: Stack, customer_id: str, ticket_type: str) -> list[dict[str, Any]]:
    items = stack.staff_get("/v1/tickets", customer_id=customer_id, type=ticket_type)["items"]
    return [t for t in items if t["channel"] == "ivr"]


# The order the bot reads them out in, so option N is the N-th purpose.
PURPOSES = list(rights.consent_purposes("zh"))
WITHDRAW = {"zh": "我想撤回我的同意", "en": "I want to withdraw my consent"}
ACCESS = {"zh": "我想要一份我的个人信息副本", "en": "I want a copy of my personal data"}
YES = {"zh": "确认", "en": "yes"}


@pytest.mark.parametrize(
    ("lang", "brand", "caller"),
    [("zh", "mini", "+8613800138000"), ("en", "bmw", "+8613600136000")],
)
def test_ivr_call(stack: Stack, lang: str, brand: str, caller: str) -> None:
    call = f"ivr-{lang}-{uuid.uuid4().hex[:8]}"
    tts = {"zh": "zh-CN", "en": "en-US"}[lang]

    greeting = _ivr(
        stack,
        {"call_id": call, "event": "call_start", "caller": caller, "lang": lang, "brand": brand},
    )
    # The greeting says "press 0 for a person": the key answers as well as speech.
    assert greeting[-1]["expect"] == "speech_or_digits" and greeting[-1]["max_digits"] == 1
    assert greeting[-1]["lang"] == tts
    assert _last_intent(stack, call) == "greet"
    tracker = stack.tracker(call)
    assert tracker["slots"]["lang"] == lang
    assert tracker["slots"]["brand"] == brand
    assert tracker["latest_input_channel"] == "ivr"

    question = QUESTIONS["cross_border_transfer"]["questions"][lang]
    answer = _ivr(stack, {"call_id": call, "event": "speech", "text": question})
    assert _last_response(stack, call) == "utter_ask_policy/cross_border_transfer"
    spoken = " ".join(p["say"] for p in answer)
    assert brand.upper() in spoken
    assert answer[-1]["lang"] == tts
    assert answer[-1]["expect"] == "speech"

    # Silence does not reach the bot: the last answer is repeated.
    events_before = len(_events(stack, call))
    again = _ivr(stack, {"call_id": call, "event": "silence"})
    assert again[1:] == answer
    assert len(_events(stack, call)) == events_before

    transfer = _ivr(stack, {"call_id": call, "event": "digits", "digits": "0"})
    assert transfer[-1]["transfer_to"] == "agent"
    assert _last_intent(stack, call) == "request_human"
    assert _last_response(stack, call) == "utter_handover"


@pytest.mark.parametrize(
    ("lang", "brand", "caller", "password", "customer_id", "purpose"),
    [
        ("zh", "mini", "+8613800138000", "246810", "C-0001", "market_research"),
        ("en", "bmw", "+8613600136000", "908172", "C-0004", "finance_sharing"),
    ],
)
def test_ivr_consent_withdrawal_verified_by_phone_password(
    stack: Stack,
    lang: str,
    brand: str,
    caller: str,
    password: str,
    customer_id: str,
    purpose: str,
) -> None:
    call = f"ivr-withdraw-{lang}-{uuid.uuid4().hex[:8]}"
    sms_before = len([m for m in stack.outbox() if m.get("kind") == "sms"])
    _ivr(
        stack,
        {"call_id": call, "event": "call_start", "caller": caller, "lang": lang, "brand": brand},
    )

    ask = _ivr(stack, {"call_id": call, "event": "speech", "text": WITHDRAW[lang]})
    assert _last_intent(stack, call) == "request_withdraw_consent"
    assert _last_response(stack, call) == "utter_ask_phone_password"
    assert ask[-1]["expect"] == "digits" and ask[-1]["max_digits"] == 12
    # The caller's line is the number verified: no number asked, no SMS sent.
    assert "utter_ask_mobile" not in _responses(stack, call)
    assert len([m for m in stack.outbox() if m.get("kind") == "sms"]) == sms_before

    turn = len(_events(stack, call))
    options = _ivr(stack, {"call_id": call, "event": "digits", "digits": password + "#"})
    assert _responses(stack, call, turn)[0] == "utter_verified"
    assert ("按 1" if lang == "zh" else "Press 1 for") in _spoken(options)
    # The purposes are read as keys: one press picks one, and a spoken purpose does too.
    assert options[-1]["expect"] == "speech_or_digits" and options[-1]["max_digits"] == 1
    assert stack.tracker(call)["slots"]["proof_assurance"] == "phone_password"

    number = str(PURPOSES.index(purpose) + 1)
    confirm = _ivr(stack, {"call_id": call, "event": "digits", "digits": number})
    assert _last_response(stack, call) == "utter_confirm_withdraw_consent"
    assert confirm[-1]["expect"] == "speech"

    done = _ivr(stack, {"call_id": call, "event": "speech", "text": YES[lang]})
    [ticket] = _ivr_tickets(stack, customer_id, "withdraw_consent")
    assert ticket["details"]["purpose"] == purpose
    assert ticket["status"] == "completed" and ticket["language"] == lang
    assert _spelled(ticket["reference"]) in _spoken(done)
    consents = stack.staff_get(f"/v1/subjects/{customer_id}/consents")["consents"]
    assert consents[purpose] is False
    # The password was never kept: not in the tracker, not in the ticket.
    assert password not in json.dumps(stack.tracker(call), ensure_ascii=False)
    assert password not in json.dumps(ticket, ensure_ascii=False)


@pytest.mark.parametrize(
    ("lang", "brand", "caller", "customer_id"),
    [
        ("zh", "bmw", "+8613900139000", "C-0002"),
        # After her withdrawal above: a caller once verified can still be locked out.
        ("en", "bmw", "+8613600136000", "C-0004"),
    ],
)
def test_ivr_wrong_passwords_lock_the_caller_out_and_hand_over(
    stack: Stack, lang: str, brand: str, caller: str, customer_id: str
) -> None:
    call = f"ivr-lockout-{lang}-{uuid.uuid4().hex[:8]}"
    _ivr(
        stack,
        {"call_id": call, "event": "call_start", "caller": caller, "lang": lang, "brand": brand},
    )
    _ivr(stack, {"call_id": call, "event": "speech", "text": ACCESS[lang]})
    assert _last_response(stack, call) == "utter_ask_phone_password"

    for attempts_left in (4, 3, 2, 1):
        again = _ivr(stack, {"call_id": call, "event": "digits", "digits": "000000#"})
        assert "utter_password_invalid" in _responses(stack, call)[-2:]
        assert str(attempts_left) in _spoken(again)
        assert again[-1]["expect"] == "digits"

    locked = _ivr(stack, {"call_id": call, "event": "digits", "digits": "000000#"})
    assert "utter_password_locked" in _responses(stack, call)[-2:]
    assert locked[-1]["transfer_to"] == "agent"
    assert _ivr_tickets(stack, customer_id, "access_copy") == []
    assert not (stack.tracker(call).get("active_loop") or {}).get("name")


def test_ivr_hang_up_ends_the_conversation(stack: Stack) -> None:
    call = f"ivr-hangup-{uuid.uuid4().hex[:8]}"
    _ivr(stack, {"call_id": call, "event": "call_start", "caller": "+8613700137000"})
    prompts = _ivr(stack, {"call_id": call, "event": "hangup"})
    assert prompts[-1]["end_call"] is True
    assert _last_intent(stack, call) == "goodbye"


def test_ivr_bad_event_is_refused(stack: Stack) -> None:
    r = httpx.post(
        f"{stack.rasa_url}/webhooks/ivr/webhook",
        json={"call_id": "x", "event": "call_start"},
        timeout=30,
    )
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "caller"


# --- Twilio Voice --------------------------------------------------------------------------------
def _signature(url: str, params: dict[str, str]) -> str:
    payload = url + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(TWILIO_TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _twilio(
    stack: Stack, params: dict[str, str], query: str = "", sign: bool = True
) -> tuple[int, ET.Element]:
    url = f"{stack.rasa_url}/webhooks/twilio_voice/webhook{query}"
    headers = {"X-Twilio-Signature": _signature(url, params)} if sign else {}
    r = httpx.post(url, data=params, headers=headers, timeout=120)
    assert r.headers["content-type"].startswith("text/xml")
    return r.status_code, ET.fromstring(r.text)


@pytest.mark.parametrize(("lang", "brand"), [("zh", "mini"), ("en", "bmw")])
def test_twilio_call(stack: Stack, lang: str, brand: str) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    base = {"CallSid": sid, "From": "+8613900139000", "To": "+864008006666"}
    query = f"?lang={lang}&brand={brand}"
    voice = {"zh": "Polly.Zhiyu", "en": "Polly.Joanna-Neural"}[lang]

    status, root = _twilio(stack, {**base, "CallStatus": "ringing"}, query)
    assert status == 200
    gather = root.find("Gather")
    assert gather is not None and gather.get("input") == "dtmf speech"
    assert gather.get("language") == {"zh": "zh-CN", "en": "en-US"}[lang]
    assert _last_intent(stack, sid) == "greet"

    question = QUESTIONS["cookies"]["questions"][lang]
    params = {**base, "CallStatus": "in-progress", "SpeechResult": question}
    status, root = _twilio(stack, params, "?" + (gather.get("action") or "").partition("?")[2])
    assert status == 200
    assert _last_response(stack, sid) == "utter_ask_policy/cookies"
    says = list(root.iter("Say"))
    assert says and all(s.get("voice") == voice for s in says)
    assert brand.upper() in " ".join(s.text or "" for s in says)

    status, root = _twilio(stack, {**base, "CallStatus": "in-progress", "Digits": "0"}, query)
    dial = root.find("Dial")
    assert dial is not None and dial.text == AGENT_NUMBER
    assert _last_intent(stack, sid) == "request_human"

    status, root = _twilio(stack, {**base, "CallStatus": "completed"}, query)
    assert root.find("Hangup") is not None
    assert _last_intent(stack, sid) == "goodbye"


def test_twilio_consent_withdrawal_verified_by_phone_password(stack: Stack) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    base = {"CallSid": sid, "From": "+8613700137000", "To": "+864008006699"}
    query = "?lang=zh&brand=mini"

    _twilio(stack, {**base, "CallStatus": "ringing"}, query)
    params = {**base, "CallStatus": "in-progress", "SpeechResult": WITHDRAW["zh"]}
    _, root = _twilio(stack, params, query)
    assert _last_response(stack, sid) == "utter_ask_phone_password"
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "12"
    assert gather.get("finishOnKey") == "#"

    _, root = _twilio(stack, {**base, "CallStatus": "in-progress", "Digits": "112233"}, query)
    says = " ".join(s.text or "" for s in root.iter("Say"))
    assert "按 2，与授权经销商共享个人信息" in says

    _twilio(stack, {**base, "CallStatus": "in-progress", "Digits": "2"}, query)
    assert _last_response(stack, sid) == "utter_confirm_withdraw_consent"
    params = {**base, "CallStatus": "in-progress", "SpeechResult": "确认"}
    _, root = _twilio(stack, params, query)
    [ticket] = _ivr_tickets(stack, "C-0003", "withdraw_consent")
    assert ticket["details"]["purpose"] == "dealer_sharing"
    assert _spelled(ticket["reference"]) in " ".join(s.text or "" for s in root.iter("Say"))


def test_twilio_unsigned_request_is_refused(stack: Stack) -> None:
    params = {"CallSid": "CAforged", "From": "+8613900139000", "CallStatus": "ringing"}
    status, _ = _twilio(stack, params, sign=False)
    assert status == 403
