"""One-tap offers through the real stack: on the hotline (IVR gateway, Twilio Voice) and in chat.

A curated policy answer about something the customer can do here ends with an offer to do it
now (actions/offers.py, data/policy/offers.yml). On the hotline the offer's button is read as a
keypad option; pressing 1, or saying yes, starts the request with the hotline check (the remote
service phone password for the caller's own line). A question the policy does not answer gets
the answer ranker's honest "the policy does not say" with the hotline, never a neighbouring
curated answer and no offer. In chat the offer is a button whose payload starts the request; a "yes"
with nothing on offer gets the main options as buttons.

Helpers and the session's `stack` come from tests/e2e/test_calls.py and tests/support/stack.py.
"""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_calls import _events, _ivr, _last_intent, _responses, _spoken, _twilio
from tests.support.stack import Chat, Stack

pytestmark = pytest.mark.e2e

MINI_ZH = {"brand": "mini", "lang": "zh"}
BMW_EN = {"brand": "bmw", "lang": "en"}
# Callers no other e2e suite locks out: one demo customer (C-0003) and one line the backend
# does not know (it answers alike for unknown numbers, so the password is asked all the same).
CALLERS = {"zh": "+8613700137000", "en": "+8613500135000"}
PRESS_1 = {"zh": "按 1", "en": "Press 1 for"}
# How the voice prompts read the hotlines (grouped digits, one by one).
HOTLINE = {"mini": "4 0 0, 8 0 0, 6 6 9 9", "bmw": "4 0 0, 8 0 0, 6 6 6 6"}
MAIN_OPTIONS = [
    "/request_unsubscribe",
    "/request_access_copy",
    "/request_deletion",
    "/request_cancel_account",
    "/check_ticket_status",
]

# Policy questions about cancelling the account; either curated topic offers the cancellation.
CANCEL_QUESTION = {
    "zh": "MINI的隐私政策对注销账户有哪些规定？",
    "en": "Does the BMW policy let customers cancel their account?",
}
CANCEL_TOPICS = {"right_cancel_account", "account_cancellation_effects"}


def _call_start(stack: Stack, call: str, lang: str, brand: str) -> None:
    _ivr(
        stack,
        {
            "call_id": call,
            "event": "call_start",
            "caller": CALLERS[lang],
            "lang": lang,
            "brand": brand,
        },
    )


def _ask_cancel_policy(stack: Stack, call: str, lang: str) -> list[dict]:
    """The caller's policy question; the answer ends with the cancellation offered on key 1."""
    turn = len(_events(stack, call))
    answer = _ivr(stack, {"call_id": call, "event": "speech", "text": CANCEL_QUESTION[lang]})
    said = _responses(stack, call, turn)
    assert said[0].startswith("utter_ask_policy/"), said
    assert said[0].removeprefix("utter_ask_policy/") in CANCEL_TOPICS, said
    # The answer and its offer are one prompt, said by the response generator, which names
    # the offer in the bot event's metadata (no action call, no offer slots).
    assert PRESS_1[lang] in _spoken(answer), answer
    assert not answer[-1].get("transfer_to"), answer
    # Offered on key 1: the key answers as well as a spoken yes, at one press.
    assert answer[-1]["expect"] == "speech_or_digits" and answer[-1]["max_digits"] == 1, answer
    bots = [e for e in _events(stack, call)[turn:] if e.get("event") == "bot"]
    assert (bots[-1].get("metadata") or {}).get("offer") == "cancel_account", bots[-1]
    return answer


def _assert_hotline_check_started(stack: Stack, call: str, turn: int, prompts: list[dict]) -> None:
    """The request began and the form asks the phone password for the caller's own line."""
    said = _responses(stack, call, turn)
    assert "utter_request_started" in said, said
    assert said[-1] == "utter_ask_phone_password", said
    assert prompts[-1]["expect"] == "digits" and prompts[-1]["max_digits"] == 12, prompts
    tracker = stack.tracker(call)
    slots = tracker["slots"]
    assert slots["request_type"] == "cancel_account"
    assert slots["verification_method"] == "phone_password"
    assert slots["offer_pending"] is False
    assert (tracker.get("active_loop") or {}).get("name") == "request_form"
    # The caller's line is the number verified: no number asked.
    assert "utter_ask_mobile" not in _responses(stack, call)


@pytest.mark.parametrize(("lang", "brand"), [("zh", "mini"), ("en", "bmw")])
def test_ivr_offer_after_policy_answer_key_1_starts_the_request(
    stack: Stack, lang: str, brand: str
) -> None:
    call = f"ivr-offer-key-{lang}-{uuid.uuid4().hex[:8]}"
    _call_start(stack, call, lang, brand)
    _ask_cancel_policy(stack, call, lang)

    turn = len(_events(stack, call))
    prompts = _ivr(stack, {"call_id": call, "event": "digits", "digits": "1"})
    assert _last_intent(stack, call) == "inform"
    _assert_hotline_check_started(stack, call, turn, prompts)


def test_ivr_offer_after_policy_answer_spoken_yes_starts_the_request(stack: Stack) -> None:
    call = f"ivr-offer-yes-zh-{uuid.uuid4().hex[:8]}"
    _call_start(stack, call, "zh", "mini")
    _ask_cancel_policy(stack, call, "zh")

    turn = len(_events(stack, call))
    prompts = _ivr(stack, {"call_id": call, "event": "speech", "text": "好的"})
    assert _last_intent(stack, call) == "affirm"
    _assert_hotline_check_started(stack, call, turn, prompts)


UNCOVERED = [
    pytest.param("zh", "mini", "MINI的隐私政策里有没有写到公共充电桩的收费标准？", id="zh-mini"),
    pytest.param(
        "en",
        "bmw",
        "Is there anything in the BMW privacy policy about roadside parking meters?",
        id="en-bmw",
    ),
    pytest.param(
        "en",
        "bmw",
        "Does the BMW privacy policy say anything about parking fees?",
        id="en-bmw-fees",
    ),
]


@pytest.mark.parametrize(("lang", "brand", "question"), UNCOVERED)
def test_ivr_uncovered_question_says_the_policy_does_not_answer(
    stack: Stack, lang: str, brand: str, question: str
) -> None:
    call = f"ivr-uncovered-{lang}-{uuid.uuid4().hex[:8]}"
    _call_start(stack, call, lang, brand)

    turn = len(_events(stack, call))
    answer = _ivr(stack, {"call_id": call, "event": "speech", "text": question})
    # The ranker takes the question and abstains: its answer says so, with no offer.
    assert _last_intent(stack, call) == "ask_policy"
    said = _responses(stack, call, turn)
    assert said == ["utter_ask_policy/uncovered"], said
    bots = [e for e in _events(stack, call)[turn:] if e.get("event") == "bot"]
    metadata = bots[-1].get("metadata") or {}
    assert metadata["answer"]["kind"] == "abstain", metadata
    assert not metadata.get("offer"), metadata
    assert HOTLINE[brand] in _spoken(answer), answer
    assert answer[-1]["expect"] == "speech_or_digits"  # "... or press 0 for a person"
    assert stack.tracker(call)["slots"]["offer_pending"] is not True


def test_twilio_offer_after_policy_answer_key_1_asks_the_phone_password(stack: Stack) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    base = {"CallSid": sid, "From": CALLERS["zh"], "To": "+864008006699"}
    query = "?lang=zh&brand=mini"

    _twilio(stack, {**base, "CallStatus": "ringing"}, query)
    params = {**base, "CallStatus": "in-progress", "SpeechResult": CANCEL_QUESTION["zh"]}
    _, root = _twilio(stack, params, query)
    assert _responses(stack, sid)[-1].removeprefix("utter_ask_policy/") in CANCEL_TOPICS
    bots = [e for e in _events(stack, sid) if e.get("event") == "bot"]
    assert (bots[-1].get("metadata") or {}).get("offer") == "cancel_account", bots[-1]
    assert PRESS_1["zh"] in " ".join(s.text or "" for s in root.iter("Say"))
    gather = root.find("Gather")
    assert gather is not None and "dtmf" in (gather.get("input") or "")

    _, root = _twilio(stack, {**base, "CallStatus": "in-progress", "Digits": "1"}, query)
    assert _responses(stack, sid)[-1] == "utter_ask_phone_password"
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "12"
    assert stack.tracker(sid)["slots"]["request_type"] == "cancel_account"


# --- chat (REST) -------------------------------------------------------------------------------
def _payloads(chat: Chat) -> list[str]:
    return [str(b.get("payload")) for b in chat.buttons()]


def _assert_request_form_asks_mobile(chat: Chat, request_type: str) -> None:
    slots = chat.slots()
    assert slots["request_type"] == request_type, chat.dump()
    assert slots["requested_slot"] == "mobile", chat.dump()
    assert slots["offer_pending"] is False, chat.dump()
    assert chat.active_loop() == "request_form", chat.dump()


def test_chat_offer_button_starts_the_request(stack: Stack) -> None:
    chat = Chat(stack, f"e2e-offer-tap-{uuid.uuid4().hex[:8]}", BMW_EN)
    chat.say("In which cases does the BMW privacy policy let me have my personal data deleted?")
    assert _payloads(chat) == ["/request_deletion"], chat.dump()
    assert "BMW" in chat.last_text(), chat.dump()

    chat.click("/request_deletion")
    _assert_request_form_asks_mobile(chat, "deletion")


def test_chat_yes_to_the_offer_starts_the_request(stack: Stack) -> None:
    chat = Chat(stack, f"e2e-offer-yes-{uuid.uuid4().hex[:8]}", MINI_ZH)
    chat.say("MINI的隐私政策对退订营销短信是怎么规定的？")
    assert _payloads(chat) == ["/request_unsubscribe"], chat.dump()

    chat.say("好的")
    _assert_request_form_asks_mobile(chat, "unsubscribe_marketing")


@pytest.mark.parametrize(("metadata", "yes"), [(BMW_EN, "yes"), (MINI_ZH, "好的")])
def test_chat_yes_with_nothing_offered_gets_the_main_options(
    stack: Stack, metadata: dict, yes: str
) -> None:
    chat = Chat(stack, f"e2e-offer-none-{uuid.uuid4().hex[:8]}", metadata)
    chat.say(yes)
    assert _payloads(chat) == MAIN_OPTIONS, chat.dump()
    slots = chat.slots()
    assert slots["offer_outcome"] == "none" and slots["offer_pending"] is True, chat.dump()
    assert chat.active_loop() is None, chat.dump()

    chat.click("/check_ticket_status")
    _assert_request_form_asks_mobile(chat, "status")


def test_chat_yes_after_another_turn_is_not_taken_as_the_old_offer(stack: Stack) -> None:
    chat = Chat(stack, f"e2e-offer-late-{uuid.uuid4().hex[:8]}", BMW_EN)
    chat.say("In which cases does the BMW privacy policy let me have my personal data deleted?")
    assert _payloads(chat) == ["/request_deletion"], chat.dump()
    chat.say("thanks")
    chat.say("yes")
    assert _payloads(chat) == MAIN_OPTIONS, chat.dump()
    assert chat.slots()["request_type"] is None, chat.dump()
    assert chat.active_loop() is None, chat.dump()


def test_chat_marketing_complaint_offers_both_and_1_files_the_complaint(stack: Stack) -> None:
    chat = Chat(stack, f"e2e-offer-complaint-{uuid.uuid4().hex[:8]}", MINI_ZH)
    chat.say("我早就退订了，可这周还是收到了你们的促销短信，我要投诉")
    assert _payloads(chat) == ["/file_complaint", "/request_unsubscribe"], chat.dump()
    assert chat.active_loop() is None, chat.dump()
    assert chat.slots()["request_type"] is None, chat.dump()

    chat.say("1")
    _assert_request_form_asks_mobile(chat, "complaint")
