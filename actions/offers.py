"""One-tap offers: a policy answer about something the customer can do here ends with an offer
to do it now, and a "yes", a tap or the option's digit right after it starts that request.

Which topic offers what is policy knowledge, kept in data/policy/offers.yml; the offers' texts
and buttons are responses of the domain. An offer is only "right after" while no other user
message came between it and the answer: a "yes" later on, or with nothing offered, gets a short
"what would you like to do?" with the main options instead of a guess.
"""

from __future__ import annotations

import re
import unicodedata

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import latest_intent, latest_text
from actions.flows import INTENT_TO_TYPE
from bot.answers.knowledge import (
    Offer,
    complaint_description_minimum,
    complaint_openers,
    marketing_words,
    offers,
)

RETRIEVAL_PREFIX = "ask_policy/"
MAIN_OPTIONS = "main_options"
MARKETING_COMPLAINT = "marketing_complaint"
# Slots: the requests on offer (button order), whether an offer is open, and what the
# customer's reply made of it (the rules branch on it).
OFFERED_SLOT = "offered_requests"
PENDING_SLOT = "offer_pending"
OUTCOME_SLOT = "offer_outcome"
# The key of a bot message's metadata naming the offer the response generator made with an
# answer (bot/nlg.py).
ANSWER_OFFER_KEY = "offer"


def about_marketing(text: str) -> bool:
    """Whether a complaint is about marketing messages (words listed in offers.yml)."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    return any(word in lowered for word in marketing_words())


_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z0-9']+")


def complaint_description(text: str) -> str | None:
    """The customer's words as the complaint's description, when the message holds more than
    the wish to complain ("I want to complain that the app keeps sending me SMS" does,
    "我要投诉" does not); None otherwise. Taps and keypad digits hold none."""
    cleaned = " ".join(str(text or "").split())
    if not cleaned or cleaned.startswith("/"):
        return None
    rest = unicodedata.normalize("NFKC", cleaned).lower()
    openers = complaint_openers()
    for word in openers.get("zh", []):
        rest = rest.replace(word, " ")
    english = set(openers.get("en", []))
    for phrase in (p for p in openers.get("en", []) if " " in p):
        rest = re.sub(rf"\b{re.escape(phrase)}\b", " ", rest)
    words = [w for w in _WORD.findall(rest) if w not in english]
    min_words, min_chars = complaint_description_minimum()
    if len(words) >= min_words or len(_CJK.findall(rest)) >= min_chars:
        return cleaned
    return None


def offer_events(offer: Offer) -> list[EventType]:
    return [
        SlotSet(OFFERED_SLOT, list(offer.requests)),
        SlotSet(PENDING_SLOT, True),
        SlotSet(OUTCOME_SLOT, None),
    ]


def make_offer(dispatcher: CollectingDispatcher, offer: Offer) -> list[EventType]:
    dispatcher.utter_message(response=offer.response)
    return offer_events(offer)


def clear_offer(outcome: str | None = None) -> list[EventType]:
    return [
        SlotSet(OFFERED_SLOT, None),
        SlotSet(PENDING_SLOT, False),
        SlotSet(OUTCOME_SLOT, outcome),
    ]


def open_offer(tracker: Tracker) -> list[str]:
    """The requests offered in the bot's last turn before the latest user message, if any:
    with an answer (the bot message's metadata) or by an action (the offer slots)."""
    seen_latest_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user:
                return []
            seen_latest_user = True
        elif seen_latest_user and kind == "bot":
            offer = offers().get(str((event.get("metadata") or {}).get(ANSWER_OFFER_KEY) or ""))
            if offer is not None:
                return list(offer.requests)
        elif seen_latest_user and kind == "slot" and event.get("name") == PENDING_SLOT:
            if event.get("value") is not True:
                return []
            offered = tracker.get_slot(OFFERED_SLOT)
            return [str(r) for r in offered] if isinstance(offered, list) else []
    return []


_DIGIT = re.compile(r"^\s*([1-9])\s*#?\s*$")


def chosen_option(text: str, offered: list[str]) -> str | None:
    """The request picked by its keypad digit or button number ("1", "2#", full-width too)."""
    match = _DIGIT.match(unicodedata.normalize("NFKC", text))
    if match and int(match.group(1)) <= len(offered):
        return offered[int(match.group(1)) - 1]
    return None


def selected_topic(tracker: Tracker) -> str | None:
    """`ask_policy/<topic>` as the topic selector chose it for the latest message."""
    selector = (tracker.latest_message or {}).get("response_selector") or {}
    selected = selector.get("ask_policy") or selector.get("default") or {}
    key = (selected.get("response") or {}).get("intent_response_key")
    return key if isinstance(key, str) and key.startswith(RETRIEVAL_PREFIX) else None


class ActionAcceptOffer(Action):
    """The customer's reply to an offer: yes, a digit, no, or something else."""

    def name(self) -> str:
        return "action_accept_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        offered = open_offer(tracker)
        intent = latest_intent(tracker)
        choice = chosen_option(latest_text(tracker), offered)
        if choice is None and intent == "affirm" and len(offered) == 1:
            choice = offered[0]
        if choice in INTENT_TO_TYPE:
            return [*clear_offer("start"), SlotSet("request_type", INTENT_TO_TYPE[choice])]
        if offered and intent == "deny":
            dispatcher.utter_message(response="utter_offer_declined")
            return clear_offer("declined")
        same = next((o for o in offers().values() if list(o.requests) == offered), None)
        if same is not None and len(offered) > 1 and intent == "affirm":
            # "Yes" to several options: ask which, with the same buttons.
            dispatcher.utter_message(response="utter_offer_which")
            return [*make_offer(dispatcher, same), SlotSet(OUTCOME_SLOT, "choose")]
        # Nothing (left) on offer: the main options, never "I did not understand".
        return [*make_offer(dispatcher, offers()[MAIN_OPTIONS]), SlotSet(OUTCOME_SLOT, "none")]
