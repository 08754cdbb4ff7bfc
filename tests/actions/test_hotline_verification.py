"""Hotline callers are verified by caller number plus the remote service phone password,
against the real backend: no SMS is sent, the password is never kept, a lockout hands over."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.asks import ActionAskOtpCode
from actions.backend import RightsClient
from actions.forms import ActionStartRequest, ValidateRequestForm
from actions.settings import Settings
from tests.support.api_process import ApiProcess, running_api
from tests.support.trackers import make_tracker, responses, slot_events

LI_LEI = "+8613900139000"  # C-0002, BMW, phone password 135790
ZHANG_WEI = "+8613700137000"  # C-0003, MINI, phone password 112233
UNKNOWN = "+8613912345678"


def _call_metadata(caller: str) -> dict[str, Any]:
    return {"channel": "ivr", "caller": caller, "lang": "zh"}


async def start_call_request(
    client: RightsClient, domain: dict, caller: str, intent: str = "request_withdraw_consent"
) -> tuple[dict[str, Any], CollectingDispatcher]:
    tracker = make_tracker(
        intent=intent,
        metadata=_call_metadata(caller),
        active_loop=None,
        input_channel="ivr",
    )
    return await run(ActionStartRequest(), client, domain, tracker)


async def run(
    action: ActionStartRequest | ValidateRequestForm,
    client: RightsClient,
    domain: dict,
    tracker: Any,
) -> tuple[dict[str, Any], CollectingDispatcher]:
    action.client = client
    dispatcher = CollectingDispatcher()
    return slot_events(await action.run(dispatcher, tracker, domain)), dispatcher


async def key_in(
    client: RightsClient, domain: dict, caller: str, digits: str, state: dict[str, Any]
) -> tuple[dict[str, Any], CollectingDispatcher]:
    tracker = make_tracker(
        {"request_type": state.get("request_type"), "requested_slot": "otp_code", **state},
        text=digits,
        entities=[{"entity": "otp_code", "value": digits}] if len(digits) == 6 else [],
        metadata=_call_metadata(caller),
        candidates={"otp_code": digits},
        input_channel="ivr",
    )
    return await run(ValidateRequestForm(), client, domain, tracker)


async def test_a_call_starts_a_password_check_for_the_caller_and_sends_no_sms(
    api: ApiProcess, client, domain
):
    slots, dispatcher = await start_call_request(client, domain, LI_LEI)
    assert responses(dispatcher) == ["utter_request_started"]
    assert slots["verification_method"] == "phone_password"
    assert slots["masked_mobile"] == slots["mobile"] == "139****9000"
    assert slots["verification_id"]
    assert api.outbox(to=LI_LEI) == []
    # The form asks for the password, not for an SMS code.
    ask = CollectingDispatcher()
    await ActionAskOtpCode().run(ask, make_tracker(slots, input_channel="ivr"), domain)
    assert responses(ask) == ["utter_ask_phone_password"]


async def test_the_right_password_verifies_the_caller(client, domain):
    state, _ = await start_call_request(client, domain, LI_LEI)
    state["request_type"] = "withdraw_consent"
    slots, dispatcher = await key_in(client, domain, LI_LEI, "135790", state)
    assert responses(dispatcher) == ["utter_verified"]
    assert slots["proof_assurance"] == "phone_password"
    assert slots["customer_id"] == "C-0002"
    assert slots["brand"] == "bmw"
    assert slots["requested_slot"] == "consent_purpose"
    assert "135790" not in repr(slots)


async def test_a_wrong_password_says_how_many_attempts_are_left(client, domain):
    state, _ = await start_call_request(client, domain, ZHANG_WEI, "request_access_copy")
    state["request_type"] = "access_copy"
    slots, dispatcher = await key_in(client, domain, ZHANG_WEI, "999999", state)
    assert responses(dispatcher) == ["utter_password_invalid"]
    assert dispatcher.messages[0]["attempts_left"] == 4
    assert slots["requested_slot"] == "otp_code"


async def test_an_unknown_caller_is_asked_alike_and_never_verifies(client, domain):
    known, _ = await start_call_request(client, domain, LI_LEI)
    unknown, dispatcher = await start_call_request(client, domain, UNKNOWN)
    assert set(unknown) == set(known)
    assert responses(dispatcher) == ["utter_request_started"]
    unknown["request_type"] = "withdraw_consent"
    slots, dispatcher = await key_in(client, domain, UNKNOWN, "135790", unknown)
    assert responses(dispatcher) == ["utter_password_invalid"]
    assert "subject_proof" not in slots


async def test_wrong_passwords_lock_the_caller_out_and_hand_over(domain):
    with running_api() as fresh:  # its own backend: the lock outlives the challenge
        client = RightsClient(Settings(api_url=fresh.url, bot_api_key=fresh.bot_api_key))
        state, _ = await start_call_request(client, domain, LI_LEI)
        state["request_type"] = "withdraw_consent"
        for _ in range(4):
            slots, _d = await key_in(client, domain, LI_LEI, "000000", state)
            state.update(slots)
        slots, dispatcher = await key_in(client, domain, LI_LEI, "000000", state)
        assert responses(dispatcher) == ["utter_password_locked"]
        assert slots["flow_outcome"] == "locked"
        # A new call from the same line stays locked, even with the right password.
        state, _ = await start_call_request(client, domain, LI_LEI)
        state["request_type"] = "withdraw_consent"
        slots, dispatcher = await key_in(client, domain, LI_LEI, "135790", state)
        assert responses(dispatcher) == ["utter_password_locked"]
        assert "subject_proof" not in slots


async def test_a_timed_out_check_starts_again_for_the_same_line(client, domain):
    state, _ = await start_call_request(client, domain, LI_LEI)
    state["request_type"] = "withdraw_consent"
    state["verification_id"] = "00000000-0000-0000-0000-000000000000"  # gone from the backend
    slots, dispatcher = await key_in(client, domain, LI_LEI, "135790", state)
    assert responses(dispatcher) == ["utter_password_expired"]
    assert slots["verification_id"] not in (None, state["verification_id"])
    assert slots["mobile"] == "139****9000"
    assert slots["requested_slot"] == "otp_code"


async def test_without_a_caller_number_the_hotline_asks_for_the_mobile(client, domain):
    tracker = make_tracker(
        intent="request_withdraw_consent",
        metadata={"channel": "ivr"},
        active_loop=None,
        input_channel="ivr",
    )
    slots, _ = await run(ActionStartRequest(), client, domain, tracker)
    assert slots.get("verification_id") is None
    assert slots["mobile"] is None
    # The keyed-in number then gets the phone-password check, not an SMS.
    keyed = make_tracker(
        {"request_type": "withdraw_consent", "requested_slot": "mobile"},
        text="13900139000",
        entities=[{"entity": "mobile", "value": "13900139000"}],
        metadata={"channel": "ivr"},
        candidates={"mobile": "13900139000"},
        input_channel="ivr",
    )
    slots, dispatcher = await run(ValidateRequestForm(), client, domain, keyed)
    assert slots["verification_method"] == "phone_password"
    assert slots["requested_slot"] == "otp_code"
    assert responses(dispatcher) == []
