"""Policy answers that need more than a rule: the brand-pending question and retrieval.

- action_hold_policy_question: a curated-answer question came in before the brand was known;
  remember which answer it was (the rule then asks for the brand).
- action_answer_pending_policy: the brand is known now; give the remembered answer.
- action_policy_search: no curated answer fits; quote the closest policy passage with its
  clause id, or say honestly that the policy does not answer it and give the hotline.

All texts are domain responses; this module only chooses which one and fills variables.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import offers
from contract import Brand, Language

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
BRANDS = Brand.values()
LANGS = Language.values()


@lru_cache(maxsize=1)
def policy_search() -> Any:
    """The BM25 index over both policies, built once per action-server process."""
    from actions.policy_search import PolicySearch

    data_dir = Path(os.environ.get("POLICY_DATA_DIR", ROOT / "data" / "policies"))
    return PolicySearch.load(data_dir)


def _brand(tracker: Tracker) -> str | None:
    brand = tracker.get_slot("brand")
    return brand if brand in BRANDS else None


def _lang(tracker: Tracker) -> str:
    lang = tracker.get_slot("lang")
    return lang if lang in LANGS else "zh"


def _clear_pending() -> list[EventType]:
    return [
        SlotSet("policy_pending", None),
        SlotSet("policy_topic", None),
        SlotSet("policy_query", None),
    ]


def answer_from_policy_text(
    dispatcher: CollectingDispatcher, query: str, brand: str, lang: str
) -> str | None:
    """Quotes the best passage for `query`, or says the policy has no answer.

    Returns the clause id quoted, if any. A failing search index is treated as "no answer":
    the customer still gets the hotline rather than an error.
    """
    hit = None
    if query.strip():
        try:
            hit = policy_search().search(query, brand, lang)
        except Exception:
            log.exception("policy search failed")
    if hit is None:
        dispatcher.utter_message(response="utter_policy_unknown")
        return None
    dispatcher.utter_message(
        response="utter_policy_passage",
        clause_id=hit.clause_id,
        clause_title=hit.title,
        part_zh=hit.part_name("zh"),
        part_en=hit.part_name("en"),
        passage=hit.passage,
    )
    return str(hit.clause_id)


def _has_answer(query: str, brand: str, lang: str) -> bool:
    if not query.strip():
        return False
    try:
        return policy_search().search(query, brand, lang) is not None
    except Exception:
        log.exception("policy search failed")
        return False


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
        topic = tracker.get_slot("policy_topic")
        query = tracker.get_slot("policy_query") or ""
        if brand is None:
            # Asked once already: answer without guessing the brand (hotlines of both).
            dispatcher.utter_message(response="utter_policy_unknown")
        elif topic and f"utter_{topic}" in (domain.get("responses") or {}):
            dispatcher.utter_message(response=f"utter_{topic}")
            offer = offers.offer_for_topic(topic)
            if offer is not None:
                return [*_clear_pending(), *offers.make_offer(dispatcher, offer)]
        else:
            answer_from_policy_text(dispatcher, query, brand, _lang(tracker))
        return _clear_pending()


class ActionPolicySearch(Action):
    def name(self) -> str:
        return "action_policy_search"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        query = (tracker.latest_message or {}).get("text") or ""
        brand = _brand(tracker)
        if brand is None:
            if not any(_has_answer(query, b, _lang(tracker)) for b in BRANDS):
                dispatcher.utter_message(response="utter_policy_unknown")
                return _clear_pending()
            # The two policies differ; ask first, answer after the brand reply.
            dispatcher.utter_message(response="utter_ask_brand")
            return [
                SlotSet("policy_pending", True),
                SlotSet("policy_topic", None),
                SlotSet("policy_query", query),
            ]
        quoted = answer_from_policy_text(dispatcher, query, brand, _lang(tracker))
        # A gated question about a right still ends with the offer, when the quote agrees.
        offer = offers.offer_for_quote(offers.selected_topic(tracker), quoted, brand)
        if offer is not None:
            return [*_clear_pending(), *offers.make_offer(dispatcher, offer)]
        return _clear_pending()
