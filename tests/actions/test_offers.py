"""One-tap offers: which answer offers what, and what a reply right after it starts."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.flows import INTENT_TO_TYPE
from actions.offers import (
    ActionAcceptOffer,
    about_marketing,
    chosen_option,
    offers,
)
from bot.answers.knowledge import offer_for_topic


def tracker(events: list[dict[str, Any]], slots: dict[str, Any], intent: str, text: str) -> Tracker:
    latest = {"intent": {"name": intent, "confidence": 0.9}, "text": text, "entities": []}
    events = [*events, {"event": "user", "text": text, "parse_data": latest}]
    return Tracker("c", {"lang": "en", **slots}, latest, events, False, None, {}, "action_listen")


def offered(requests: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Events and slots of a conversation whose last bot turn offered `requests`."""
    events = [
        {"event": "user", "text": "q", "parse_data": {}},
        {"event": "bot", "text": "answer"},
        {"event": "slot", "name": "offered_requests", "value": requests},
        {"event": "slot", "name": "offer_pending", "value": True},
    ]
    return events, {"offered_requests": requests, "offer_pending": True}


async def reply(t: Tracker) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionAcceptOffer().run(dispatcher, t, {})
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}, dispatcher.messages


def test_every_offer_has_its_response_and_real_requests(domain: dict[str, Any]) -> None:
    for offer in offers().values():
        assert offer.response in domain["responses"], offer
        assert offer.requests and set(offer.requests) <= set(INTENT_TO_TYPE), offer


def test_every_right_the_customer_can_exercise_here_is_offered_somewhere() -> None:
    offered_somewhere = {r for o in offers().values() for r in o.requests}
    assert offered_somewhere == set(INTENT_TO_TYPE)


def test_topics_of_offers_exist(domain: dict[str, Any]) -> None:
    for topic in ("marketing_opt_out", "right_cancel_account", "right_access", "portability"):
        assert f"utter_ask_policy/{topic}" in domain["responses"]
        assert offer_for_topic(f"ask_policy/{topic}") is not None
    assert offer_for_topic("ask_policy/cookies") is None


@pytest.mark.parametrize(("text", "intent"), [("yes", "affirm"), ("1", "inform")])
async def test_the_offer_made_with_an_answer_is_open_to_the_next_reply(
    text: str, intent: str
) -> None:
    # The response generator says the answer and its offer in one message and names the offer
    # in the bot event's metadata; no slot was set.
    events = [
        {"event": "user", "text": "how do I opt out of marketing", "parse_data": {}},
        {"event": "bot", "text": "answer + offer", "metadata": {"offer": "unsubscribe"}},
    ]
    set_slots, messages = await reply(tracker(events, {}, intent, text))
    assert set_slots["offer_outcome"] == "start"
    assert set_slots["request_type"] == "unsubscribe_marketing"
    assert not messages


@pytest.mark.parametrize("text", ["yes please do it", "ok", "好的", "帮我办吧"])
async def test_yes_right_after_an_offer_starts_that_request(text: str) -> None:
    events, slots = offered(["request_cancel_account"])
    set_slots, messages = await reply(tracker(events, slots, "affirm", text))
    assert set_slots["offer_outcome"] == "start"
    assert set_slots["request_type"] == "cancel_account"
    assert set_slots["offer_pending"] is False
    assert not messages


@pytest.mark.parametrize(
    ("digit", "expected"), [("1", "complaint"), ("２#", "unsubscribe_marketing")]
)
async def test_a_keypad_digit_picks_the_option(digit: str, expected: str) -> None:
    events, slots = offered(["file_complaint", "request_unsubscribe"])
    set_slots, _ = await reply(tracker(events, slots, "inform", digit))
    assert set_slots["request_type"] == expected


async def test_yes_to_two_options_asks_which() -> None:
    events, slots = offered(["file_complaint", "request_unsubscribe"])
    set_slots, messages = await reply(tracker(events, slots, "affirm", "yes"))
    assert set_slots["offer_outcome"] == "choose"
    assert [m["response"] for m in messages] == [
        "utter_offer_which",
        "utter_offer_marketing_complaint",
    ]


async def test_yes_with_nothing_offered_gets_the_main_options() -> None:
    set_slots, messages = await reply(tracker([], {}, "affirm", "yes please"))
    assert set_slots["offer_outcome"] == "none"
    assert [m["response"] for m in messages] == ["utter_what_next"]
    assert "request_unsubscribe" in set_slots["offered_requests"]


async def test_an_offer_answered_a_turn_later_is_no_longer_open() -> None:
    events, slots = offered(["request_deletion"])
    events += [
        {"event": "user", "text": "thanks", "parse_data": {}},
        {"event": "bot", "text": "you're welcome"},
    ]
    set_slots, messages = await reply(tracker(events, slots, "affirm", "yes"))
    assert set_slots["offer_outcome"] == "none"
    assert messages[0]["response"] == "utter_what_next"


async def test_no_declines_the_offer() -> None:
    events, slots = offered(["request_deletion"])
    set_slots, messages = await reply(tracker(events, slots, "deny", "no thanks"))
    assert set_slots["offer_outcome"] == "declined"
    assert messages[0]["response"] == "utter_offer_declined"


def test_options_and_marketing_words() -> None:
    assert chosen_option("3", ["a", "b"]) is None
    assert chosen_option(" 2 ", ["a", "b"]) == "b"
    assert about_marketing("I unsubscribed and your SALES CALLS keep coming")
    assert about_marketing("退订了还一直收到营销短信")
    assert not about_marketing("you lost my deletion request")
