"""The request form: one form drives every rights flow, the flow is picked by `request_type`.

A single form lets the customer switch request type mid-way without losing a verification, and
keeps the digression and cancel rules to one set.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import offers, rights, verification
from actions.backend import RightsClient, shared_client
from actions.common import (
    channel_of,
    conversation_of,
    lang_of,
    latest_intent,
    latest_text,
    metadata,
    user_just_spoke,
)
from actions.flows import (
    CONFIRM_SLOT,
    DETAIL_SLOTS,
    FLOWS,
    FREE_TEXT_SLOTS,
    INTENT_TO_TYPE,
    STATUS,
)
from actions.form_base import HookedFormValidationAction, end_form
from actions.identity import identity_ok
from actions.labels import type_label
from contract import Channel, TicketType

log = logging.getLogger(__name__)

_STOP_WORDS = {
    "算了",
    "取消",
    "停止",
    "不办了",
    "不用了",
    "不要了",
    "退出",
    "结束",
    "stop",
    "cancel",
    "quit",
    "never mind",
    "nevermind",
    "forget it",
    "abort",
}


def is_stop(text: str) -> bool:
    cleaned = re.sub(r"[\s!！。.,，?？~]+", " ", text).strip().lower()
    return cleaned in _STOP_WORDS


_KEYED = re.compile(r"^\s*([12])\s*#?\s*$")


def keyed_yes_no(text: str) -> bool | None:
    """ "1" (or "1#", full-width too) is yes, "2" is no, anything else is neither."""
    match = _KEYED.match(unicodedata.normalize("NFKC", text or ""))
    return None if match is None else match.group(1) == "1"


def _has_entity(tracker: Tracker, name: str) -> bool:
    entities = (tracker.latest_message or {}).get("entities") or []
    return any(entity.get("entity") == name for entity in entities)


def described_complaint(tracker: Tracker) -> str | None:
    """The complaint the customer already put into words: in the message that asked for it,
    or, when the request came from a tap or a digit on the offer it made (a complaint about
    marketing offers the unsubscribe too), in the message before."""
    looked = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        looked += 1
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == "file_complaint":
            found = offers.complaint_description(str(event.get("text") or ""))
            if found:
                return found[:MAX_DESCRIPTION]
        if looked >= 2:
            break
    return None


# The longest free-text answer the form keeps (HookedFormValidationAction.max_text).
MAX_DESCRIPTION = 500


def required_for(slots: dict[str, Any]) -> list[str]:
    """Slots still needed by the current flow (identity first, then details, then the yes)."""
    if slots.get("flow_outcome"):
        return []
    flow = FLOWS.get(slots.get("request_type") or "")
    if flow is None:
        return []
    needed: list[str] = []
    if not identity_ok(flow, slots):
        needed += ["mobile", "otp_code"]
    needed += list(flow.detail_slots)
    if flow.type != STATUS:
        needed.append(CONFIRM_SLOT)
    return needed


def switch_slots(new_type: str, slots: dict[str, Any]) -> dict[str, Any]:
    """Slots for a new request type: details and the yes are cleared, a good proof is kept."""
    update: dict[str, Any] = {"request_type": new_type, CONFIRM_SLOT: None}
    update.update({name: None for name in DETAIL_SLOTS})
    if not identity_ok(FLOWS[new_type], {**slots, **update}):
        update.update({"mobile": None, "otp_code": None, "verification_id": None})
    if new_type != STATUS:
        update["ticket_ref"] = None
    return update


async def renewed(
    new_type: str,
    tracker: Tracker,
    update: dict[str, Any],
    dispatcher: CollectingDispatcher,
    client: RightsClient,
) -> dict[str, Any]:
    """A new proof from the conversation's own check when the one held will not do (used by
    the last request, expired, or an app session for a request that needs more): the
    customer who verified a moment ago is not asked for a code again."""
    flow = FLOWS[new_type]
    if identity_ok(flow, {**tracker.slots, **update}):
        return {}
    return await verification.renew(
        tracker.slots, flow.assurance_floor, dispatcher, client, conversation_of(tracker)
    )


class ValidateRequestForm(HookedFormValidationAction):
    free_text_slots = FREE_TEXT_SLOTS

    def name(self) -> str:
        return "validate_request_form"

    def __init__(self) -> None:
        super().__init__()
        self.client = shared_client()

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return required_for(tracker.slots)

    @staticmethod
    def _in_free_text(tracker: Tracker) -> bool:
        return tracker.get_slot("requested_slot") in FREE_TEXT_SLOTS

    async def on_stop(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType] | None:
        # In a free-text answer "地址不对" may be classified as deny: only stop words stop.
        denied = latest_intent(tracker) == "deny" and not self._in_free_text(tracker)
        return end_form("cancelled") if denied or is_stop(latest_text(tracker)) else None

    async def on_handover(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType] | None:
        return end_form("human") if latest_intent(tracker) == "request_human" else None

    def _asked_type(self, tracker: Tracker) -> str | None:
        if self._in_free_text(tracker):
            return None  # the customer's words are the answer, not a new request
        return INTENT_TO_TYPE.get(latest_intent(tracker) or "")

    async def on_switch(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType] | None:
        new_type = self._asked_type(tracker)
        if not new_type or new_type == tracker.get_slot("request_type"):
            return None
        update = switch_slots(new_type, tracker.slots)
        dispatcher.utter_message(
            response="utter_request_switched",
            request_label=type_label(new_type, lang_of(tracker)),
        )
        update.update(await renewed(new_type, tracker, update, dispatcher, self.client))
        tracker.slots.update(update)
        events: list[EventType] = [SlotSet(k, v) for k, v in update.items()]
        next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
        return events + ([next_slot] if next_slot else [])

    async def on_digression(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType] | None:
        """The brand reply to a policy question asked mid-form: answer it, then ask again."""
        if not (tracker.get_slot("policy_pending") and _has_entity(tracker, "brand")):
            return None
        from actions.policy import ActionAnswerPendingPolicy

        events = await ActionAnswerPendingPolicy().run(dispatcher, tracker, domain)
        requested = tracker.get_slot("requested_slot")
        if requested:
            events = [*events, SlotSet(requested, None), SlotSet("requested_slot", requested)]
        return events

    async def on_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = []
        if self._asked_type(tracker):
            # The same request again: keep going, re-asking the pending question.
            events.append(SlotSet("request_type", tracker.get_slot("request_type")))
        text = latest_text(tracker)
        if verification.acting_for_other(text) and not tracker.get_slot("acting_for_other"):
            dispatcher.utter_message(response="utter_acting_for_other")
            events.append(SlotSet("acting_for_other", True))
        return events

    async def validate_mobile(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not user_just_spoke(tracker):
            # Filled before the form started (a kept verification): nothing new was typed.
            return {"mobile": value}
        return await verification.start_challenge(
            value,
            tracker.latest_message or {},
            dispatcher,
            self.client,
            channel_of(tracker),
            lang_of(tracker),
            conversation_of(tracker),
        )

    async def validate_otp_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not user_just_spoke(tracker):
            return {"otp_code": value}
        result = await verification.check_code(
            value,
            tracker.latest_message or {},
            tracker.slots,
            dispatcher,
            self.client,
            conversation_of(tracker),
        )
        caller = verification.caller_mobile(metadata(tracker))
        timed_out = "verification_id" in result and result["verification_id"] is None
        if timed_out and caller and channel_of(tracker) == Channel.IVR:
            # A timed-out password check on the hotline: the caller's line is known, so a new
            # check starts at once instead of asking for a number the caller cannot change.
            result.update(
                await verification.begin_hotline(
                    caller, dispatcher, self.client, lang_of(tracker), conversation_of(tracker)
                )
            )
        return result

    def _choice(
        self,
        slot: str,
        value: Any,
        choices: dict[str, str],
        dispatcher: CollectingDispatcher,
    ) -> dict[str, Any]:
        choice = rights.match_choice(str(value or ""), choices)
        if choice is None:
            dispatcher.utter_message(response="utter_invalid_choice")
        return {slot: choice}

    async def validate_consent_purpose(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        purposes = rights.consent_purposes(lang_of(tracker))
        return self._choice("consent_purpose", value, purposes, dispatcher)

    async def validate_deletion_ground(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        grounds = rights.deletion_grounds(tracker.get_slot("brand"), lang_of(tracker))
        return self._choice("deletion_ground", value, grounds, dispatcher)

    async def extract_confirm_request(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The yes or no keyed in as the option's digit: 1 for yes, 2 for no, as the buttons
        of the confirmation are read on the hotline ("按 1，确认注销；按 2，不注销")."""
        if tracker.get_slot("requested_slot") != CONFIRM_SLOT or not user_just_spoke(tracker):
            return {}
        if latest_intent(tracker) in ("affirm", "deny"):
            return {}  # the slot's own mappings took it
        choice = keyed_yes_no(latest_text(tracker))
        return {} if choice is None else {CONFIRM_SLOT: choice}

    async def validate_confirm_request(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is False:
            return {CONFIRM_SLOT: False, "flow_outcome": "cancelled"}
        return {CONFIRM_SLOT: True if value else None}


class ActionStartRequest(Action):
    """Sets up a new request from the intent; uses an app session where the flow allows it."""

    def name(self) -> str:
        return "action_start_request"

    def __init__(self) -> None:
        self.client = shared_client()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = latest_intent(tracker) or ""
        new_type = INTENT_TO_TYPE.get(intent) or tracker.get_slot("request_type")
        if intent == "file_complaint" and offers.about_marketing(latest_text(tracker)):
            # Marketing that goes on: offer the complaint and the unsubscribe together; the
            # form then ends at once (flow_outcome "offered") and the customer picks.
            events = offers.make_offer(dispatcher, offers.offers()[offers.MARKETING_COMPLAINT])
            return [*events, SlotSet("request_type", None), SlotSet("flow_outcome", "offered")]
        if new_type not in FLOWS:
            dispatcher.utter_message(response="utter_request_error")
            return [SlotSet("request_type", None)]
        slots = dict(tracker.slots)
        update = switch_slots(new_type, slots)
        counter = int(tracker.get_slot("request_counter") or 0) + 1
        update.update(
            {
                "flow_outcome": None,
                "pending_filing": False,
                offers.PENDING_SLOT: False,
                offers.OFFERED_SLOT: None,
                "request_counter": float(counter),
                "requested_slot": None,
            }
        )
        flow = FLOWS[new_type]
        conversation = conversation_of(tracker)
        dispatcher.utter_message(
            response="utter_request_started",
            request_label=type_label(new_type, lang_of(tracker)),
        )
        # The conversation's own check first: it may cover what an app session does not.
        update.update(await renewed(new_type, tracker, update, dispatcher, self.client))
        token = metadata(tracker).get("session_token")
        if flow.app_session_ok and token and not identity_ok(flow, {**slots, **update}):
            try:
                update.update(
                    await verification.verify_app_session(
                        str(token), tracker.get_slot("brand"), self.client, conversation
                    )
                )
            except Exception:
                log.exception("app session check failed")
        caller = verification.caller_mobile(metadata(tracker))
        on_hotline = channel_of(tracker) == Channel.IVR
        if on_hotline and caller and not identity_ok(flow, {**slots, **update}):
            # Hotline: the caller's line is the number to verify; the form asks the password.
            update.update(
                await verification.begin_hotline(
                    caller, dispatcher, self.client, lang_of(tracker), conversation
                )
            )
        text = latest_text(tracker)
        if verification.acting_for_other(text):
            dispatcher.utter_message(response="utter_acting_for_other")
            update["acting_for_other"] = True
        if new_type == TicketType.COMPLAINT:
            # "I want to complain that the app keeps sending me SMS": that is the description;
            # the confirmation quotes it, and a no lets the customer start again.
            update["complaint_summary"] = described_complaint(tracker)
        return [SlotSet(k, v) for k, v in update.items()]
