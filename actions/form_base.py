"""A form validation action with named hooks for the turns that are not an answer.

In the style of Rasa's financial-demo custom forms: a subclass names its form and fills in the
hooks it needs; the base class runs them in a fixed order on each user turn before the slots are
validated, turns a failure into a clean end of the form, and validates every free-text slot with
one validator.

Order of the hooks on a user turn (the first that returns events ends the turn):
`on_stop` (the customer gives up), `on_handover` (asks for a person), `on_switch` (asks for
something else), `on_digression` (answers a side question). Then `on_answer` may add events
(notices) before the usual slot validation.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from functools import partial
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import user_just_spoke

log = logging.getLogger(__name__)


def end_form(outcome: str) -> list[EventType]:
    """Ends the form with an outcome; the finishing action says and does the rest."""
    return [SlotSet("flow_outcome", outcome), SlotSet("requested_slot", None)]


class HookedFormValidationAction(FormValidationAction):
    # Slots answered in the customer's own words, validated by `validate_free_text`.
    free_text_slots: tuple[str, ...] = ()
    max_text = 500
    # The response said when the validation fails unexpectedly.
    error_response = "utter_request_error"

    @abstractmethod
    def name(self) -> str:  # keeps the base class from being registered as an action
        raise NotImplementedError

    def __init__(self) -> None:
        for slot in self.free_text_slots:
            setattr(self, f"validate_{slot}", partial(self.validate_free_text, slot))

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            events: list[EventType] = []
            if user_just_spoke(tracker):
                for hook in (self.on_stop, self.on_handover, self.on_switch, self.on_digression):
                    ended = await hook(dispatcher, tracker, domain)
                    if ended is not None:
                        return ended
                events = await self.on_answer(dispatcher, tracker, domain)
            return events + await super().run(dispatcher, tracker, domain)
        except Exception:
            # Never leave the customer stuck in a form: end it, the finish action resets it.
            log.exception("%s failed", self.name())
            dispatcher.utter_message(response=self.error_response)
            return end_form("error")

    # -- hooks: None means "not this", a list ends the turn with those events ----------------

    async def _not_interrupted(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType] | None:
        return None

    # A subclass overrides the ones its form needs, by these names.
    on_stop = on_handover = on_switch = on_digression = _not_interrupted

    async def on_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Events to add before the answer is validated (a notice, a repeated request)."""
        return []

    # -- the one free-text validator -------------------------------------------------------

    def validate_free_text(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = " ".join(str(value or "").split())
        if len(text) < 2:
            dispatcher.utter_message(response="utter_text_too_short")
            return {slot: None}
        return {slot: text[: self.max_text]}
