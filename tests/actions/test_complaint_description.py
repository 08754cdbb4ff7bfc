"""A complaint given in one message is not asked for again, and its confirmation is a sentence."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.asks import ActionAskConfirmRequest
from actions.forms import ActionStartRequest, described_complaint, required_for
from actions.offers import complaint_description
from tests.support.trackers import make_tracker, responses, slot_events

DESCRIBED = [
    "I want to complain that your app keeps sending me marketing SMS after I unsubscribed",
    "I want to complain that the dealer gave my phone number to an insurance company",
    "投诉你们的经销商把我的手机号给了保险公司",
    "我要投诉，车机一直在上传我的位置，我没有同意过",
]
NOT_DESCRIBED = [
    "I want to complain",
    "I'd like to make a complaint.",
    "complaint please",
    "我要投诉",
    "我想投诉一下",
    "/file_complaint",
    "1",
]


@pytest.mark.parametrize("text", DESCRIBED)
def test_a_message_with_more_than_the_wish_to_complain_is_the_description(text):
    assert complaint_description(text) == text


@pytest.mark.parametrize("text", NOT_DESCRIBED)
def test_the_wish_to_complain_alone_is_no_description(text):
    assert complaint_description(text) is None


VERIFIED = {
    "subject_proof": "proof",
    "proof_expires_at": "2099-01-01T00:00:00+00:00",
    "proof_assurance": "sms_code",
    "mobile": "138****8000",
    "otp_code": "verified",
}


def next_question(slots: dict[str, Any]) -> str:
    """What the form asks once the customer is verified: the first required slot still empty."""
    state = {**slots, **VERIFIED}
    return next(name for name in required_for(state) if state.get(name) is None)


async def start(tracker: Tracker, domain: dict) -> tuple[dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = await ActionStartRequest().run(dispatcher, tracker, domain)
    return slot_events(events), dispatcher


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", DESCRIBED[1]),
        ("zh", DESCRIBED[2]),
    ],
)
async def test_the_first_message_becomes_the_description_and_is_not_asked_again(domain, lang, text):
    tracker = make_tracker({"lang": lang}, intent="file_complaint", text=text, active_loop=None)
    slots, dispatcher = await start(tracker, domain)
    assert responses(dispatcher) == ["utter_request_started"]
    assert slots["request_type"] == "complaint"
    assert slots["complaint_summary"] == text
    assert next_question({**tracker.slots, **slots}) == "confirm_request"


async def test_a_complaint_without_words_asks_for_them(domain):
    tracker = make_tracker({}, intent="file_complaint", text="我要投诉", active_loop=None)
    slots, _ = await start(tracker, domain)
    assert slots["complaint_summary"] is None
    assert next_question({**tracker.slots, **slots}) == "complaint_summary"


def after_offer(first: str, reply: str, reply_intent: str) -> Tracker:
    """The complaint about marketing, the two options offered, and the customer's pick."""
    tracker = make_tracker({"lang": "en"}, intent=reply_intent, text=reply, active_loop=None)
    earlier = [
        {"event": "action", "name": "action_listen"},
        {
            "event": "user",
            "text": first,
            "parse_data": {"intent": {"name": "file_complaint"}, "text": first},
        },
        {"event": "action", "name": "action_start_request"},
        {
            "event": "bot",
            "text": "…",
            "metadata": {"utter_action": "utter_offer_marketing_complaint"},
        },
        {"event": "action", "name": "action_finish_request"},
    ]
    tracker.events[:0] = earlier
    return tracker


@pytest.mark.parametrize(
    ("reply", "intent"), [("/file_complaint", "file_complaint"), ("1", "inform")]
)
async def test_a_marketing_complaint_keeps_its_words_through_the_offer(domain, reply, intent):
    first = DESCRIBED[0]
    # The first message makes the two-option offer, not the form.
    tracker = make_tracker({"lang": "en"}, intent="file_complaint", text=first, active_loop=None)
    slots, _ = await start(tracker, domain)
    assert slots["flow_outcome"] == "offered"
    # The pick starts the complaint with those words.
    tracker = after_offer(first, reply, intent)
    tracker.slots["request_type"] = "complaint"
    assert described_complaint(tracker) == first
    slots, _ = await start(tracker, domain)
    assert slots["request_type"] == "complaint"
    assert slots["complaint_summary"] == first


async def test_an_older_question_is_not_taken_as_the_complaint(domain):
    tracker = after_offer("How do I complain to you about my data being shared?", "yes", "affirm")
    tracker.events[1]["parse_data"]["intent"]["name"] = "ask_policy"
    assert described_complaint(tracker) is None


@pytest.mark.parametrize(
    ("lang", "brand", "expected"),
    [
        (
            "en",
            "bmw",
            "We will record your complaint, \u201cI want to complain that your app keeps "
            "sending me marketing SMS after I unsubscribed\u201d, and reply within 30 days. "
            "Shall I file it? (yes / no)",
        ),
        (
            "zh",
            "mini",
            "我们将登记您的投诉：\u201c我要投诉，车机一直在上传我的位置，我没有同意过\u201d，"
            "并在 15 个工作日内答复您。确认提交吗？（回复\u201c确认\u201d或\u201c取消\u201d）",
        ),
    ],
)
async def test_the_complaint_confirmation_reads_as_one_sentence(domain, lang, brand, expected):
    summary = DESCRIBED[0] + "." if lang == "en" else DESCRIBED[3] + "。"
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {
            "request_type": "complaint",
            "complaint_summary": summary,
            "lang": lang,
            "brand": brand,
        }
    )
    await ActionAskConfirmRequest().run(dispatcher, tracker, domain)
    (message,) = dispatcher.messages
    variation = next(
        v
        for v in domain["responses"]["utter_confirm_complaint"]
        if "channel" not in v
        and {c["value"] for c in v.get("condition") or []} <= {lang}
        and (lang == "en") == bool(v.get("condition"))
    )
    said = str(variation["text"]).format(**message)
    assert said == expected
    assert ".." not in said and "。。" not in said
