"""The question asked before the brand was known: held, then answered for the brand the
customer names, with the ranker's answer for that brand (a curated answer, a quote with its
clause link, or "the policy does not say") and its offer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import policy

DOMAIN: dict[str, Any] = {"responses": {"utter_ask_policy/right_deletion": [{"text": "x"}]}}

ANSWERS = {
    "mini": {"kind": "topic", "topic": "ask_policy/right_deletion", "offer": "deletion"},
    "bmw": {
        "kind": "quote",
        "quote": "We keep it for three years.",
        "clause": "bmw.5.3",
        "title": "Retention",
        "part": 5,
        "offer": None,
    },
}


def held(brand: str | None, answers: dict[str, Any] | None = None) -> Tracker:
    question = {"text": "问题", "intent": {"name": "ask_policy"}}
    if answers is not None:
        question["answer"] = {"brands": answers}
    reply = {"text": brand or "不知道", "intent": {"name": "inform"}}
    events = [
        {"event": "user", "text": "问题", "parse_data": question},
        {"event": "bot", "text": "MINI 还是 BMW？"},
        {"event": "user", "text": reply["text"], "parse_data": reply},
    ]
    slots = {"brand": brand, "policy_pending": True, "policy_topic": None}
    return Tracker("u1", slots, reply, events, False, None, {}, "action_listen")


async def run(tracker: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await policy.ActionAnswerPendingPolicy().run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def test_hold_remembers_the_question() -> None:
    latest = {"text": "能删吗", "intent": {"name": "ask_policy"}}
    tracker = Tracker("u1", {}, latest, [], False, None, {}, "action_listen")
    events = await policy.ActionHoldPolicyQuestion().run(CollectingDispatcher(), tracker, {})
    assert {e["name"]: e["value"] for e in events}["policy_query"] == "能删吗"


async def test_the_named_brand_gets_its_curated_answer_and_offer() -> None:
    messages, slots = await run(held("mini", ANSWERS))
    assert [m["response"] for m in messages] == [
        "utter_ask_policy/right_deletion",
        "utter_offer_deletion",
    ]
    assert slots["offer_pending"] is True
    assert slots["policy_pending"] is None


async def test_the_named_brand_gets_its_quote_with_the_clause_link() -> None:
    messages, slots = await run(held("bmw", ANSWERS))
    assert len(messages) == 1
    quote = messages[0]
    assert quote["response"] == "utter_policy_passage"
    assert quote["passage"] == "We keep it for three years."
    assert quote["clause_link"] == "policy/bmw#part-5-3"
    assert quote["part_en"] == "part V"
    assert "offer_pending" not in slots


async def test_a_brand_still_unknown_gets_both_hotlines() -> None:
    messages, _ = await run(held(None, ANSWERS))
    assert [m["response"] for m in messages] == ["utter_policy_unknown"]


async def test_no_answer_for_the_brand_says_so() -> None:
    messages, _ = await run(held("bmw", {"bmw": {"kind": "abstain"}}))
    assert [m["response"] for m in messages] == ["utter_policy_unknown"]
