"""Real rasa_sdk trackers and helpers for the action suites."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import CheckStatus, Conversation, RightsClient
from tests.support.api_process import ApiProcess


def make_tracker(
    slots: dict[str, Any] | None = None,
    *,
    intent: str = "inform",
    text: str = "",
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    candidates: dict[str, Any] | None = None,
    sender: str = "conv-1",
    latest_action: str = "action_listen",
    active_loop: str | None = "request_form",
    input_channel: str = "rest",
) -> Tracker:
    """A tracker right after a user message; `candidates` are the slot values Rasa extracted."""
    all_slots: dict[str, Any] = {"lang": "zh", "brand": None, "pending_filing": False}
    all_slots.update(slots or {})
    all_slots.update(candidates or {})
    latest = {
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "text": text,
        "metadata": metadata or {},
    }
    # As Rasa sends them: the user turn, then (for a form) the form's own ActionExecuted and
    # the slot candidates. `latest_action` is the action that ran after the user's message.
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest, "input_channel": input_channel},
    ]
    if latest_action != "action_listen":
        events.append({"event": "action", "name": latest_action})
    if active_loop:
        events.append({"event": "action", "name": active_loop})
    events += [{"event": "slot", "name": k, "value": v} for k, v in (candidates or {}).items()]
    return Tracker(
        sender_id=sender,
        slots=all_slots,
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name=active_loop or latest_action,
    )


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") for m in dispatcher.messages]


def latest_code(api: ApiProcess, mobile: str) -> str:
    for item in api.outbox():
        if item.get("kind") == "sms" and str(item.get("to", "")).endswith(mobile):
            match = re.search(r"\d{6}", item["body"])
            if match:
                return match.group()
    raise AssertionError(f"no code sent to {mobile}")


async def verify(
    api: ApiProcess, client: RightsClient, mobile: str, conversation: Conversation | None = None
) -> dict[str, Any]:
    """Slots of a subject verified by SMS code, as the form would leave them (in
    `conversation`, whose later requests the check then covers)."""
    started = await client.start_verification(mobile, conversation=conversation)
    checked = await client.check_verification(started.id, latest_code(api, mobile), conversation)
    assert checked.status is CheckStatus.VERIFIED and checked.proof
    return {
        "mobile": started.masked_mobile,
        "masked_mobile": started.masked_mobile,
        "verification_id": started.id,
        "verification_method": "sms_code",
        "otp_code": "verified",
        "subject_proof": checked.proof.token,
        "proof_expires_at": checked.proof.expires_at,
        "proof_assurance": checked.proof.assurance,
        "customer_id": checked.proof.customer_id,
        "brand": checked.proof.brand,
    }
