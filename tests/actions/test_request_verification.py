"""Identity verification inside the request form, against the real backend."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import RightsClient
from actions.forms import ActionStartRequest, ValidateRequestForm
from actions.settings import Settings
from tests.support.api_process import ApiProcess, running_api
from tests.support.trackers import latest_code, make_tracker, responses, slot_events, verify

WANG_FANG = "13800138000"  # C-0001, MINI
CHEN_JING = "13600136000"  # C-0004, BMW
UNKNOWN = "13912345678"


def form(client: RightsClient) -> ValidateRequestForm:
    action = ValidateRequestForm()
    action.client = client
    return action


async def give_mobile(
    client: RightsClient, domain: dict, mobile_text: str, entity: str | None = None, **slots: Any
) -> tuple[dict[str, Any], CollectingDispatcher]:
    tracker = make_tracker(
        {"request_type": "deletion", "requested_slot": "mobile", **slots},
        text=mobile_text,
        entities=[{"entity": "mobile", "value": entity}] if entity else [],
        candidates={"mobile": entity or mobile_text},
    )
    dispatcher = CollectingDispatcher()
    events = await form(client).run(dispatcher, tracker, domain)
    return slot_events(events), dispatcher


async def give_code(
    client: RightsClient, domain: dict, code: str, state: dict[str, Any]
) -> tuple[dict[str, Any], CollectingDispatcher]:
    tracker = make_tracker(
        {"request_type": "deletion", "requested_slot": "otp_code", **state},
        text=code,
        entities=[{"entity": "otp_code", "value": code}],
        candidates={"otp_code": code},
    )
    dispatcher = CollectingDispatcher()
    events = await form(client).run(dispatcher, tracker, domain)
    return slot_events(events), dispatcher


async def test_mobile_starts_a_verification_and_only_the_mask_is_kept(client, domain):
    slots, dispatcher = await give_mobile(client, domain, "我的手机号 138 0013 8000")
    assert slots["mobile"] == "138****8000"
    assert slots["masked_mobile"] == "138****8000"
    assert slots["verification_id"]
    assert slots["attempts_left"] == 5
    assert slots["requested_slot"] == "otp_code"
    assert responses(dispatcher) == ["utter_code_sent"]
    assert dispatcher.messages[0]["masked_mobile"] == "138****8000"
    assert WANG_FANG not in repr(slots)


async def test_unknown_number_gets_the_same_answer_as_a_known_one(api, client, domain):
    known, known_dispatcher = await give_mobile(client, domain, WANG_FANG, WANG_FANG)
    unknown, unknown_dispatcher = await give_mobile(client, domain, UNKNOWN, UNKNOWN)
    assert responses(known_dispatcher) == responses(unknown_dispatcher) == ["utter_code_sent"]
    assert set(known) == set(unknown)
    assert unknown["masked_mobile"] == "139****5678"
    assert unknown["attempts_left"] == known["attempts_left"]
    assert api.outbox(to="+86" + UNKNOWN) == []
    # ... and only the code tells them apart.
    slots, dispatcher = await give_code(client, domain, "123456", unknown)
    assert responses(dispatcher) == ["utter_code_invalid"]
    assert slots["otp_code"] is None


async def test_invalid_number_is_asked_again_without_calling_the_backend(down_client, domain):
    slots, dispatcher = await give_mobile(down_client, domain, "12345")
    assert slots["mobile"] is None
    assert responses(dispatcher) == ["utter_mobile_invalid"]


async def test_right_code_verifies_and_the_subjects_brand_wins(api, client, domain):
    state, _ = await give_mobile(client, domain, WANG_FANG, WANG_FANG, brand="bmw")
    code = latest_code(api, WANG_FANG)
    slots, dispatcher = await give_code(client, domain, code, {**state, "brand": "bmw"})
    assert responses(dispatcher) == ["utter_verified"]
    assert slots["otp_code"] == "verified"
    assert slots["subject_proof"]
    assert slots["proof_assurance"] == "sms_code"
    assert slots["customer_id"] == "C-0001"
    assert slots["brand"] == "mini"
    assert code not in repr(slots)
    # Deletion asks the ground next.
    assert slots["requested_slot"] == "deletion_ground"


async def test_wrong_code_says_how_many_attempts_are_left(client, domain):
    state, _ = await give_mobile(client, domain, CHEN_JING, CHEN_JING)
    slots, dispatcher = await give_code(client, domain, "000000", state)
    assert responses(dispatcher) == ["utter_code_invalid"]
    assert dispatcher.messages[0]["attempts_left"] == 4
    assert slots["otp_code"] is None
    assert slots["requested_slot"] == "otp_code"


async def test_too_many_wrong_codes_lock_and_end_the_form(client, domain):
    state, _ = await give_mobile(client, domain, CHEN_JING, CHEN_JING)
    for _ in range(4):
        slots, _d = await give_code(client, domain, "000000", state)
        state.update(slots)
    slots, dispatcher = await give_code(client, domain, "000000", state)
    # With this suite's lifted per-number limits the challenge's own tries run out, and the
    # backend may name no end of the lock ("try again later").
    assert responses(dispatcher)[0] in (
        "utter_verification_locked",
        "utter_verification_locked_later",
    )
    assert slots["flow_outcome"] == "locked"
    assert slots["requested_slot"] is None


async def test_code_format_is_checked_before_the_backend(client, domain):
    state, _ = await give_mobile(client, domain, CHEN_JING, CHEN_JING)
    tracker = make_tracker(
        {"request_type": "deletion", "requested_slot": "otp_code", **state},
        text="I didn't get it",
        candidates={"otp_code": "I didn't get it"},
    )
    dispatcher = CollectingDispatcher()
    slots = slot_events(await form(client).run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_code_format"]
    assert slots["otp_code"] is None


async def test_too_many_codes_says_when_to_try_again(domain):
    with running_api() as fresh:  # the backend's default limit: 3 codes per number per hour
        client = RightsClient(Settings(api_url=fresh.url, bot_api_key=fresh.bot_api_key))
        for _ in range(3):
            slots, _d = await give_mobile(client, domain, WANG_FANG, WANG_FANG)
            assert slots["verification_id"]
        slots, dispatcher = await give_mobile(client, domain, WANG_FANG, WANG_FANG)
    assert slots["mobile"] is None
    assert responses(dispatcher) == ["utter_too_many_codes"]
    assert 1 <= dispatcher.messages[0]["minutes"] <= 60
    # The form ends with the other routes offered instead of asking for the number again.
    assert slots["flow_outcome"] == "too_many_codes"
    assert slots["requested_slot"] is None


async def test_backend_down_during_verification_apologises(down_client, domain):
    slots, dispatcher = await give_mobile(down_client, domain, WANG_FANG, WANG_FANG)
    assert slots["mobile"] is None
    assert responses(dispatcher) == ["utter_verification_unavailable"]


async def test_acting_for_someone_else_is_told_the_code_goes_to_them(client, domain):
    tracker = make_tracker(
        {"request_type": "access_copy", "requested_slot": "mobile"},
        text="我帮我妈妈办理，她的手机号是13700137000",
        entities=[{"entity": "mobile", "value": "13700137000"}],
        candidates={"mobile": "我帮我妈妈办理，她的手机号是13700137000"},
    )
    dispatcher = CollectingDispatcher()
    slots = slot_events(await form(client).run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_acting_for_other", "utter_code_sent"]
    assert slots["acting_for_other"] is True
    assert slots["masked_mobile"] == "137****7000"


@pytest.mark.parametrize(
    ("intent", "uses_session"),
    [("request_unsubscribe", True), ("check_ticket_status", True), ("request_deletion", False)],
)
async def test_app_session_replaces_the_code_only_for_low_risk_flows(
    api: ApiProcess, client, domain, intent, uses_session
):
    token = api.app_session_token("C-0002")
    tracker = make_tracker(
        intent=intent,
        metadata={"session_token": token},
        latest_action="action_listen",
        active_loop=None,
    )
    action = ActionStartRequest()
    action.client = client
    dispatcher = CollectingDispatcher()
    slots = slot_events(await action.run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_request_started"]
    if uses_session:
        assert slots["proof_assurance"] == "app_session"
        assert slots["otp_code"] == "app_session"  # the form skips the identity questions
        assert slots["subject_proof"]
        assert slots["brand"] == "bmw"
    else:
        assert "subject_proof" not in slots


async def test_invalid_app_session_falls_back_to_the_code(client, domain):
    tracker = make_tracker(
        intent="request_unsubscribe", metadata={"session_token": "forged"}, active_loop=None
    )
    action = ActionStartRequest()
    action.client = client
    slots = slot_events(await action.run(CollectingDispatcher(), tracker, domain))
    assert "subject_proof" not in slots
    assert slots["request_type"] == "unsubscribe_marketing"


async def test_a_verified_identity_is_reused_for_the_next_request(api, client, domain):
    identity = await verify(api, client, CHEN_JING)
    tracker = make_tracker(identity, intent="request_access_copy", active_loop=None)
    action = ActionStartRequest()
    action.client = client
    slots = slot_events(await action.run(CollectingDispatcher(), tracker, domain))
    assert "mobile" not in slots  # not reset: the proof is still good
    assert slots["request_counter"] == 1.0


async def test_on_activation_a_kept_identity_is_not_checked_again(down_client, domain):
    """Prefilled identity slots are validated when the form starts: no SMS, straight on."""
    tracker = make_tracker(
        {
            "request_type": "unsubscribe_marketing",
            "subject_proof": "p",
            "proof_expires_at": "2099-01-01T00:00:00Z",
            "proof_assurance": "app_session",
        },
        intent="request_unsubscribe",
        candidates={"mobile": "app_session", "otp_code": "app_session"},
        latest_action="action_start_request",
    )
    dispatcher = CollectingDispatcher()
    slots = slot_events(await form(down_client).run(dispatcher, tracker, domain))
    assert dispatcher.messages == []
    assert slots["requested_slot"] == "confirm_request"
