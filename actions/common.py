"""Small helpers shared by the request actions."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.backend import Conversation
from actions.flows import CONFIRM_SLOT, DETAIL_SLOTS, IDENTITY_SLOTS, PROOF_SLOTS
from contract import Channel

# Input channels of the hotline (the IVR gateway, Twilio Voice) by a part of their name.
VOICE_CHANNELS = (Channel.IVR.value, "twilio", "voice")


def latest_intent(tracker: Tracker) -> str | None:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name")


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def user_just_spoke(tracker: Tracker) -> bool:
    """Whether the form is validating a user message (not its activation or a return to it).

    Rasa inserts the form's own ActionExecuted before the slot candidates it sends to the
    validation action, so `latest_action_name` is always the form: look further back.
    """
    form = (tracker.active_loop or {}).get("name")
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            return True
        if kind == "action" and event.get("name") not in (form, "action_extract_slots"):
            return event.get("name") == "action_listen"
    return False


def metadata(tracker: Tracker) -> dict[str, Any]:
    meta = (tracker.latest_message or {}).get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def lang_of(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("lang") == "en" else "zh"


def channel_of(tracker: Tracker) -> str:
    name = (tracker.get_latest_input_channel() or "").lower()
    return Channel.IVR if any(v in name for v in VOICE_CHANNELS) else Channel.CHAT


def conversation_of(tracker: Tracker) -> Conversation:
    """The conversation, and where its customer is as the channel saw it: the address the chat
    channels put into the metadata (bot.channels.client_address), the caller line on the
    hotline. The backend counts its limits per customer by these."""
    meta = metadata(tracker)
    address = meta.get("client_address")
    caller = meta.get("caller") if channel_of(tracker) == Channel.IVR else None
    return Conversation(
        id=tracker.sender_id,
        client_address=str(address) if address else None,
        caller_line=str(caller) if caller else None,
    )


def request_reset(keep_identity: bool = True) -> list[EventType]:
    """Clear the finished request; the proof stays for a later request unless told otherwise."""
    names = [
        "request_type",
        "flow_outcome",
        CONFIRM_SLOT,
        "requested_slot",
        "ticket_ref",
        *DETAIL_SLOTS,
    ]
    events: list[EventType] = [SlotSet(name, None) for name in names]
    events.append(SlotSet("pending_filing", False))
    if not keep_identity:
        events += [SlotSet(name, None) for name in (*IDENTITY_SLOTS, *PROOF_SLOTS)]
    return events
