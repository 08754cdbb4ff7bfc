"""Validation logic of the request form (FormValidationAction) on real rasa_sdk trackers."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import forms
from actions.backend import RightsClient
from actions.flows import FLOWS
from actions.forms import ValidateRequestForm, is_stop, required_for
from tests.support.trackers import make_tracker, responses, slot_events

FUTURE = "2099-01-01T00:00:00+00:00"
SMS_PROOF = {
    "subject_proof": "proof",
    "proof_expires_at": FUTURE,
    "proof_assurance": "sms_code",
    "masked_mobile": "138****8000",
    "mobile": "138****8000",
    "otp_code": "verified",
}


def form(client: RightsClient | None = None) -> ValidateRequestForm:
    action = ValidateRequestForm()
    if client is not None:
        action.client = client
    return action


async def run(domain: dict, client: RightsClient | None = None, **kwargs: Any):
    dispatcher = CollectingDispatcher()
    events = await form(client).run(dispatcher, make_tracker(**kwargs), domain)
    return slot_events(events), dispatcher


@pytest.mark.parametrize(
    ("request_type", "expected"),
    [
        ("unsubscribe_marketing", ["mobile", "otp_code", "confirm_request"]),
        ("withdraw_consent", ["mobile", "otp_code", "consent_purpose", "confirm_request"]),
        ("cancel_account", ["mobile", "otp_code", "confirm_request"]),
        ("access_copy", ["mobile", "otp_code", "confirm_request"]),
        ("rectification", ["mobile", "otp_code", "rect_field", "rect_value", "confirm_request"]),
        ("deletion", ["mobile", "otp_code", "deletion_ground", "confirm_request"]),
        ("portability", ["mobile", "otp_code", "third_party", "confirm_request"]),
        ("decision_explanation", ["mobile", "otp_code", "decision", "confirm_request"]),
        ("complaint", ["mobile", "otp_code", "complaint_summary", "confirm_request"]),
        ("status", ["mobile", "otp_code"]),
    ],
)
def test_each_flow_asks_only_what_its_ticket_needs(request_type, expected):
    assert required_for({"request_type": request_type}) == expected
    verified = required_for({"request_type": request_type, **SMS_PROOF})
    assert verified == [s for s in expected if s not in ("mobile", "otp_code")]


@pytest.mark.parametrize("request_type", sorted(FLOWS))
def test_app_session_counts_only_for_unsubscribe_and_status(request_type):
    slots = {"request_type": request_type, **SMS_PROOF, "proof_assurance": "app_session"}
    needs_code = "mobile" in required_for(slots)
    assert needs_code is (request_type not in ("unsubscribe_marketing", "status"))


def test_an_expired_proof_means_verifying_again():
    slots = {"request_type": "access_copy", **SMS_PROOF, "proof_expires_at": "2000-01-01T00:00:00Z"}
    assert required_for(slots)[:2] == ["mobile", "otp_code"]


def test_an_outcome_ends_the_form():
    assert required_for({"request_type": "deletion", "flow_outcome": "cancelled"}) == []


@pytest.mark.parametrize("text", ["算了", "取消", "stop", "Cancel!", "never mind", "不办了。"])
def test_stop_words(text):
    assert is_stop(text)


@pytest.mark.parametrize("text", ["取消订阅", "我要取消营销短信", "stop sending me ads"])
def test_requests_that_contain_stop_words_are_not_stops(text):
    assert not is_stop(text)


@pytest.mark.parametrize(
    ("intent", "text"), [("deny", "不要了"), ("inform", "算了"), ("inform", "stop")]
)
async def test_stop_leaves_the_form(domain, intent, text):
    slots, dispatcher = await run(
        domain,
        slots={"request_type": "deletion", "requested_slot": "mobile"},
        intent=intent,
        text=text,
        candidates={"mobile": text} if intent == "inform" else None,
    )
    assert slots == {"flow_outcome": "cancelled", "requested_slot": None}
    assert dispatcher.messages == []


async def test_no_at_the_confirmation_cancels(domain):
    slots, _ = await run(
        domain,
        slots={"request_type": "cancel_account", "requested_slot": "confirm_request", **SMS_PROOF},
        intent="affirm",
        text="no thanks",
        candidates={"confirm_request": False},
    )
    assert slots["flow_outcome"] == "cancelled"
    assert slots["requested_slot"] is None


async def test_yes_at_the_confirmation_completes_the_form(domain):
    slots, _ = await run(
        domain,
        slots={"request_type": "cancel_account", "requested_slot": "confirm_request", **SMS_PROOF},
        intent="affirm",
        text="好的",
        candidates={"confirm_request": True},
    )
    assert slots["confirm_request"] is True
    assert slots["requested_slot"] is None


async def test_asking_for_a_human_leaves_the_form(domain):
    slots, _ = await run(
        domain,
        slots={"request_type": "deletion", "requested_slot": "mobile"},
        intent="request_human",
    )
    assert slots == {"flow_outcome": "human", "requested_slot": None}


async def test_another_request_switches_flows_and_keeps_a_good_verification(domain):
    slots, dispatcher = await run(
        domain,
        slots={
            "request_type": "withdraw_consent",
            "requested_slot": "confirm_request",
            "consent_purpose": "marketing",
            **SMS_PROOF,
        },
        intent="request_deletion",
        text="其实我想删除我的数据",
    )
    assert slots["request_type"] == "deletion"
    assert slots["consent_purpose"] is None
    assert "subject_proof" not in slots  # kept
    assert slots["requested_slot"] == "deletion_ground"
    assert responses(dispatcher) == ["utter_request_switched"]


async def test_switching_from_an_app_session_flow_to_deletion_asks_for_the_code(domain):
    slots, _ = await run(
        domain,
        slots={
            "request_type": "unsubscribe_marketing",
            "requested_slot": "confirm_request",
            **SMS_PROOF,
            "proof_assurance": "app_session",
        },
        intent="request_cancel_account",
    )
    assert slots["request_type"] == "cancel_account"
    assert slots["mobile"] is None
    assert slots["requested_slot"] == "mobile"


async def test_a_policy_question_is_left_to_the_rules(domain):
    """Nothing but requested_slot comes back, so Rasa rejects the form and the rules answer."""
    slots, dispatcher = await run(
        domain, slots={"request_type": "deletion", "requested_slot": "mobile"}, intent="ask_policy"
    )
    assert set(slots) <= {"requested_slot"}
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("answer", "lang", "expected"),
    [
        ("dealer_sharing", "zh", "dealer_sharing"),
        ("2", "zh", "dealer_sharing"),
        ("营销", "zh", "marketing"),
        ("market research", "en", "market_research"),
        ("BMW Automotive Finance", "en", "finance_sharing"),
        ("something else", "en", None),
    ],
)
async def test_consent_purpose(domain, answer, lang, expected):
    slots, dispatcher = await run(
        domain,
        slots={
            "request_type": "withdraw_consent",
            "requested_slot": "consent_purpose",
            "lang": lang,
            **SMS_PROOF,
        },
        text=answer,
        candidates={"consent_purpose": answer},
    )
    assert slots["consent_purpose"] == expected
    if expected is None:
        assert responses(dispatcher) == ["utter_invalid_choice"]
    else:
        assert slots["requested_slot"] == "confirm_request"


@pytest.mark.parametrize(
    ("brand", "answer", "expected"),
    [
        ("mini", "purpose_fulfilled", "purpose_fulfilled"),
        ("bmw", "no_longer_using", "no_longer_using"),
        ("bmw", "purpose_fulfilled", None),  # a MINI-only ground
        ("mini", "1", "unlawful_processing"),
    ],
)
async def test_deletion_ground_comes_from_the_brands_list(domain, brand, answer, expected):
    slots, _ = await run(
        domain,
        slots={
            "request_type": "deletion",
            "requested_slot": "deletion_ground",
            "brand": brand,
            **SMS_PROOF,
        },
        text=answer,
        candidates={"deletion_ground": answer},
    )
    assert slots["deletion_ground"] == expected


async def test_rectification_collects_what_is_wrong_then_the_correction(domain):
    base = {"request_type": "rectification", **SMS_PROOF}
    slots, _ = await run(
        domain,
        slots={**base, "requested_slot": "rect_field"},
        text="地址",
        candidates={"rect_field": "  地址  "},
    )
    assert slots["rect_field"] == "地址"
    assert slots["requested_slot"] == "rect_value"
    slots, dispatcher = await run(
        domain,
        slots={**base, "rect_field": "地址", "requested_slot": "rect_value"},
        text="x",
        candidates={"rect_value": "x"},
    )
    assert slots["rect_value"] is None
    assert responses(dispatcher) == ["utter_text_too_short"]


@pytest.mark.parametrize(
    ("request_type", "slot"),
    [
        ("portability", "third_party"),
        ("decision_explanation", "decision"),
        ("complaint", "complaint_summary"),
    ],
)
async def test_free_text_details(domain, request_type, slot):
    slots, _ = await run(
        domain,
        slots={"request_type": request_type, "requested_slot": slot, **SMS_PROOF},
        text="Volvo Car Asia Pacific",
        candidates={slot: "Volvo Car Asia Pacific"},
    )
    assert slots[slot] == "Volvo Car Asia Pacific"
    assert slots["requested_slot"] == "confirm_request"


async def test_an_error_in_validation_ends_the_form_with_an_apology(domain, monkeypatch):
    async def broken(*args: Any, **kwargs: Any) -> dict:
        raise RuntimeError("boom")

    monkeypatch.setattr(forms.verification, "start_challenge", broken)
    slots, dispatcher = await run(
        domain,
        slots={"request_type": "deletion", "requested_slot": "mobile"},
        text="13800138000",
        candidates={"mobile": "13800138000"},
    )
    assert slots == {"flow_outcome": "error", "requested_slot": None}
    assert responses(dispatcher) == ["utter_request_error"]


async def test_a_free_text_answer_that_sounds_like_a_request_is_taken_as_the_answer(domain):
    """ "You keep sending ads after I unsubscribed" is a complaint summary, not a new request."""
    text = "i unsubscribed and you still send ads"
    slots, dispatcher = await run(
        domain,
        slots={"request_type": "complaint", "requested_slot": "complaint_summary", **SMS_PROOF},
        intent="request_unsubscribe",
        text=text,
        candidates={"complaint_summary": text},
    )
    assert slots["complaint_summary"] == text
    assert "request_type" not in slots
    assert slots["requested_slot"] == "confirm_request"
    assert dispatcher.messages == []


async def test_returning_to_the_form_after_a_digression_is_not_a_new_answer(domain):
    """After a policy answer Rasa re-runs the form; the question is not read as an answer."""
    slots, dispatcher = await run(
        domain,
        slots={"request_type": "deletion", "requested_slot": "mobile"},
        intent="ask_policy",
        text="算了",  # would be a stop if it were read as a new answer
        latest_action="utter_ask_policy",
    )
    assert "flow_outcome" not in slots
    assert slots["requested_slot"] == "mobile"
    assert dispatcher.messages == []


async def test_a_complaint_that_reads_like_a_policy_question_is_still_the_complaint(domain):
    text = "退订以后还一直收到营销电话"
    slots, _ = await run(
        domain,
        slots={"request_type": "complaint", "requested_slot": "complaint_summary", **SMS_PROOF},
        intent="ask_policy",
        text=text,
        candidates={"complaint_summary": text},
    )
    assert slots["complaint_summary"] == text
    assert slots["requested_slot"] == "confirm_request"


def test_free_text_slots_take_any_intent_but_a_stop_or_a_human(domain):
    for slot in ("rect_field", "rect_value", "third_party", "decision", "complaint_summary"):
        (mapping,) = domain["slots"][slot]["mappings"]
        assert mapping["type"] == "from_text"
        assert set(mapping["not_intent"]) == {"request_human"}


async def test_a_free_text_answer_classified_as_deny_is_still_the_answer(domain):
    slots, _ = await run(
        domain,
        slots={"request_type": "rectification", "requested_slot": "rect_field", **SMS_PROOF},
        intent="deny",
        text="地址不对",
        candidates={"rect_field": "地址不对"},
    )
    assert slots["rect_field"] == "地址不对"
    assert slots["requested_slot"] == "rect_value"


async def test_a_stop_word_still_stops_at_a_free_text_step(domain):
    slots, _ = await run(
        domain,
        slots={"request_type": "complaint", "requested_slot": "complaint_summary", **SMS_PROOF},
        intent="deny",
        text="算了",
        candidates={"complaint_summary": "算了"},
    )
    assert slots == {"flow_outcome": "cancelled", "requested_slot": None}
