"""Policy answers that need the conversation's state: the question asked before the brand.

Every other policy answer is said by the response generator from the answer ranker's choice
(bot/nlg.py), with no call to this server.

- action_hold_policy_question: a policy question came in before the brand was known; keep it
  (the rule then asks for the brand).
- action_answer_pending_policy: the brand is known now; say the ranker's answer for that brand
  (a curated answer, a quoted passage or "the policy does not say"), then its offer.

All texts are domain responses; this module only chooses which one and fills variables.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import offers
from bot.answers.knowledge import clause_anchor, offer_for_topic, part_name
from bot.answers.knowledge import offers as all_offers
from contract import Brand

BRANDS = Brand.values()


def _brand(tracker: Tracker) -> str | None:
    brand = tracker.get_slot("brand")
    return brand if brand in BRANDS else None


def _clear_pending() -> list[EventType]:
    return [
        SlotSet("policy_pending", None),
        SlotSet("policy_topic", None),
        SlotSet("policy_query", None),
    ]


def held_answers(tracker: Tracker) -> dict[str, Any]:
    """The ranker's answers, per brand, to the question held before the brand was asked."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    for event in reversed(users[:-1] if len(users) > 1 else users):
        answer = (event.get("parse_data") or {}).get("answer") or {}
        if answer.get("brands"):
            return dict(answer["brands"])
    return {}


def say_answer(dispatcher: CollectingDispatcher, answer: dict[str, Any], brand: str) -> None:
    """The ranker's answer for `brand`, as the response generator says it in one turn."""
    kind = answer.get("kind")
    if kind == "topic" and answer.get("topic"):
        dispatcher.utter_message(response=f"utter_{answer['topic']}")
    elif kind == "quote" and answer.get("quote"):
        part = int(answer.get("part") or 0)
        clause = str(answer.get("clause") or "")
        dispatcher.utter_message(
            response="utter_policy_passage",
            passage=answer["quote"],
            clause_id=clause,
            clause_title=answer.get("title") or "",
            part_zh=part_name(brand, part, "zh"),
            part_en=part_name(brand, part, "en"),
            clause_link=f"policy/{brand}#{clause_anchor(clause)}",
        )
    else:
        dispatcher.utter_message(response="utter_policy_unknown")


class ActionHoldPolicyQuestion(Action):
    def name(self) -> str:
        return "action_hold_policy_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return [
            SlotSet("policy_pending", True),
            SlotSet("policy_topic", offers.selected_topic(tracker)),
            SlotSet("policy_query", (tracker.latest_message or {}).get("text")),
        ]


class ActionAnswerPendingPolicy(Action):
    def name(self) -> str:
        return "action_answer_pending_policy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        brand = _brand(tracker)
        if brand is None:
            # Asked once already: answer without guessing the brand (hotlines of both).
            dispatcher.utter_message(response="utter_policy_unknown")
            return _clear_pending()
        answer = held_answers(tracker).get(brand) or {}
        topic = tracker.get_slot("policy_topic")
        if not answer and topic and f"utter_{topic}" in (domain.get("responses") or {}):
            answer = {"kind": "topic", "topic": topic, "offer": None}
            offer = offer_for_topic(topic)
            answer["offer"] = offer.name if offer else None
        say_answer(dispatcher, answer, brand)
        offer = all_offers().get(str(answer.get("offer") or ""))
        if offer is not None:
            return [*_clear_pending(), *offers.make_offer(dispatcher, offer)]
        return _clear_pending()
