"""One verification per conversation, against the real backend: a customer who verified a few
minutes ago is not asked for the number and a code again for the next request of the same
conversation; each request is still filed with its own single-use proof. Another
conversation, the end of the cover or an app session gets the usual questions."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.backend import Conversation, RightsClient
from actions.forms import ActionStartRequest, ValidateRequestForm, required_for
from actions.settings import Settings
from actions.tickets import ActionFinishRequest
from tests.support.api_process import ApiProcess, running_api
from tests.support.trackers import latest_code, make_tracker, responses, slot_events, verify

WANG_FANG = "13800138000"  # C-0001, MINI
LI_LEI = "+8613900139000"  # C-0002, BMW, phone password 135790
CODE_SMS = re.compile(r"验证码|verification code")
CHAT = Conversation("chat-one-verification", client_address="198.51.100.10")


async def run(action: Any, client: RightsClient, domain: dict, tracker: Any):
    action.client = client
    dispatcher = CollectingDispatcher()
    return slot_events(await action.run(dispatcher, tracker, domain)), dispatcher


async def start(
    client: RightsClient,
    domain: dict,
    state: dict[str, Any],
    intent: str,
    sender: str = CHAT.id,
    **tracker: Any,
) -> tuple[dict[str, Any], CollectingDispatcher]:
    """The customer asks for a request (action_start_request), with what the chat holds."""
    tracker.setdefault("metadata", {"client_address": CHAT.client_address})
    made = make_tracker(state, intent=intent, active_loop=None, sender=sender, **tracker)
    return await run(ActionStartRequest(), client, domain, made)


async def file(
    client: RightsClient, domain: dict, state: dict[str, Any], sender: str = CHAT.id, **tracker
) -> tuple[dict[str, Any], CollectingDispatcher]:
    made = make_tracker(
        {**state, "confirm_request": True},
        active_loop=None,
        latest_action="request_form",
        sender=sender,
        **tracker,
    )
    return await run(ActionFinishRequest(), client, domain, made)


def codes_sent(api: ApiProcess, mobile: str) -> int:
    """Verification codes sent to the number (a filed request is told by SMS too)."""
    sent = api.outbox(to="+86" + mobile.removeprefix("+86"))
    return sum(1 for item in sent if CODE_SMS.search(item["body"]))


async def filed_once(api: ApiProcess, client: RightsClient, domain: dict) -> dict[str, Any]:
    """A verified chat that has filed its first request: the proof it held is used."""
    identity = await verify(api, client, WANG_FANG, CHAT)
    slots, dispatcher = await file(client, domain, {**identity, "request_type": "access_copy"})
    assert responses(dispatcher)[0] == "utter_ticket_filed", dispatcher.messages
    assert slots["proof_used"] is True
    return {**identity, **slots}


async def test_a_second_request_does_not_ask_for_the_number_or_the_code(api, client, domain):
    state = await filed_once(api, client, domain)
    sent = codes_sent(api, WANG_FANG)
    slots, dispatcher = await start(client, domain, state, "file_complaint")
    assert responses(dispatcher) == ["utter_request_started", "utter_still_verified"]
    assert slots["proof_used"] is False
    assert slots["subject_proof"] not in (None, state["subject_proof"])
    assert (slots["otp_code"], slots["mobile"]) == ("verified", "138****8000")
    now = {**state, **slots}
    assert required_for(now) == ["complaint_summary", "confirm_request"]
    # Filed with the new proof, in the same conversation; no code was sent for it.
    now["complaint_summary"] = "营销短信退订后还在发"
    filed, dispatcher = await file(client, domain, now)
    assert responses(dispatcher)[0] == "utter_ticket_filed", dispatcher.messages
    assert filed["proof_used"] is True
    assert codes_sent(api, WANG_FANG) == sent
    # ... and the next request once more, from the same check.
    _, dispatcher = await start(client, domain, {**now, **filed}, "request_access_copy")
    assert "utter_still_verified" in responses(dispatcher)


async def test_a_switch_mid_form_keeps_the_verification_too(api, client, domain):
    state = await filed_once(api, client, domain)
    asked = make_tracker(
        {**state, "request_type": "withdraw_consent", "requested_slot": "consent_purpose"},
        intent="request_access_copy",
        text="我还要一份我的数据",
        sender=CHAT.id,
        metadata={"client_address": CHAT.client_address},
    )
    slots, dispatcher = await run(ValidateRequestForm(), client, domain, asked)
    assert responses(dispatcher) == ["utter_request_switched", "utter_still_verified"]
    assert slots["request_type"] == "access_copy"
    assert slots["proof_used"] is False
    assert slots["requested_slot"] == "confirm_request"


async def test_another_conversation_is_asked_to_verify(api, client, domain):
    """Even holding the same slots: the check covers the conversation that made it only."""
    state = await filed_once(api, client, domain)
    slots, dispatcher = await start(client, domain, state, "file_complaint", sender="someone-else")
    assert responses(dispatcher) == ["utter_request_started"]
    assert slots["mobile"] is None and slots["verification_id"] is None
    assert required_for({**state, **slots})[:2] == ["mobile", "otp_code"]


async def test_a_proof_renewed_in_one_conversation_files_nowhere_else(api, client, domain):
    state = await filed_once(api, client, domain)
    slots, _ = await start(client, domain, state, "request_access_copy")
    elsewhere, dispatcher = await file(client, domain, {**state, **slots}, sender="someone-else")
    assert responses(dispatcher) == ["utter_proof_expired"]
    assert elsewhere["subject_proof"] is None


async def test_after_ten_minutes_the_code_is_asked_again(domain):
    with running_api({"RIGHTS_CONVERSATION_COVER_SECONDS": "1"}) as short:
        client = RightsClient(Settings(api_url=short.url, bot_api_key=short.bot_api_key))
        state = await filed_once(short, client, domain)
        await asyncio.sleep(1.2)
        slots, dispatcher = await start(client, domain, state, "request_access_copy")
        assert responses(dispatcher) == ["utter_request_started"]
        assert required_for({**state, **slots})[:2] == ["mobile", "otp_code"]


async def test_an_app_session_is_not_renewed_into_a_code(api, client, domain):
    token = api.app_session_token("C-0001")
    meta = {"client_address": CHAT.client_address, "session_token": token}
    first, dispatcher = await start(
        client, domain, {}, "request_unsubscribe", sender="app-chat", metadata=meta
    )
    assert first["proof_assurance"] == "app_session"
    slots, dispatcher = await start(
        client, domain, first, "request_deletion", sender="app-chat", metadata=meta
    )
    assert responses(dispatcher) == ["utter_request_started"]
    assert required_for({**first, **slots})[:2] == ["mobile", "otp_code"]


async def test_on_the_hotline_the_password_is_not_asked_again(api, client, domain):
    call = {"metadata": {"channel": "ivr", "caller": LI_LEI, "lang": "zh"}, "input_channel": "ivr"}
    started, _ = await start(client, domain, {}, "request_access_copy", sender="call-42", **call)
    keyed = make_tracker(
        {**started, "request_type": "access_copy", "requested_slot": "otp_code"},
        text="135790",
        candidates={"otp_code": "135790"},
        sender="call-42",
        **call,
    )
    verified, dispatcher = await run(ValidateRequestForm(), client, domain, keyed)
    assert responses(dispatcher) == ["utter_verified"]
    state = {**started, **verified, "request_type": "access_copy"}
    filed, dispatcher = await file(client, domain, state, sender="call-42", **call)
    assert responses(dispatcher)[0] == "utter_ticket_filed", dispatcher.messages
    slots, dispatcher = await start(
        client, domain, {**state, **filed}, "request_cancel_account", sender="call-42", **call
    )
    assert responses(dispatcher) == ["utter_request_started", "utter_still_verified"]
    assert slots["proof_assurance"] == "phone_password"
    # No new password check was started: the form goes straight to the yes.
    assert slots["verification_id"] == started["verification_id"]
    assert required_for({**state, **filed, **slots}) == ["confirm_request"]


async def test_the_code_the_customer_got_is_checked_in_its_conversation(api, client, domain):
    """The form sends the conversation with the start and the check: the check covers it."""
    tracker = make_tracker(
        {"request_type": "access_copy", "requested_slot": "mobile"},
        text=WANG_FANG,
        entities=[{"entity": "mobile", "value": WANG_FANG}],
        candidates={"mobile": WANG_FANG},
        sender="form-chat",
    )
    started, _ = await run(ValidateRequestForm(), client, domain, tracker)
    code = latest_code(api, WANG_FANG)
    tracker = make_tracker(
        {"request_type": "access_copy", "requested_slot": "otp_code", **started},
        text=code,
        entities=[{"entity": "otp_code", "value": code}],
        candidates={"otp_code": code},
        sender="form-chat",
    )
    verified, _ = await run(ValidateRequestForm(), client, domain, tracker)
    state = {**started, **verified, "request_type": "access_copy"}
    filed, _ = await file(client, domain, state, sender="form-chat")
    _, dispatcher = await start(
        client, domain, {**state, **filed}, "request_access_copy", sender="form-chat"
    )
    assert "utter_still_verified" in responses(dispatcher)
