"""Filing, status look-up and fault handling of the finishing actions, on the real backend."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import tickets
from actions.backend import RightsClient
from actions.forms import required_for
from actions.tickets import ActionFilePending, ActionFinishRequest, idempotency_key
from tests.support.trackers import make_tracker, responses, slot_events, verify

WANG_FANG = "13800138000"  # C-0001, MINI
LI_LEI = "13900139000"  # C-0002, BMW
ZHANG_WEI = "13700137000"  # C-0003, MINI
CHEN_JING = "13600136000"  # C-0004, BMW


def finisher(client: RightsClient) -> ActionFinishRequest:
    action = ActionFinishRequest()
    action.client = client
    return action


def pending(client: RightsClient) -> ActionFilePending:
    action = ActionFilePending()
    action.client = client
    return action


async def finish(client: RightsClient, domain: dict, slots: dict[str, Any], **kwargs: Any):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots, active_loop=None, latest_action="request_form", **kwargs)
    events = await finisher(client).run(dispatcher, tracker, domain)
    return slot_events(events), dispatcher


def message(dispatcher: CollectingDispatcher, response: str) -> dict[str, Any]:
    return next(m for m in dispatcher.messages if m.get("response") == response)


def test_idempotency_key_is_stable_and_changes_with_the_request():
    details = {"purpose": "marketing"}
    key = idempotency_key("conv-1", "withdraw_consent", details, 1)
    assert key == idempotency_key("conv-1", "withdraw_consent", {"purpose": "marketing"}, 1)
    assert key != idempotency_key("conv-1", "withdraw_consent", details, 2)
    assert key != idempotency_key("conv-2", "withdraw_consent", details, 1)
    assert key != idempotency_key("conv-1", "withdraw_consent", {"purpose": "dealer_sharing"}, 1)
    assert key != idempotency_key("conv-1", "deletion", details, 1)


async def test_withdraw_consent_is_filed_and_already_in_effect(api, client, domain):
    identity = await verify(api, client, WANG_FANG)
    slots = {
        **identity,
        "request_type": "withdraw_consent",
        "consent_purpose": "marketing",
        "confirm_request": True,
        "request_counter": 1.0,
    }
    events, dispatcher = await finish(client, domain, slots, sender="withdraw-zh")
    # Taken effect at once: only that is said, no reply date.
    assert responses(dispatcher) == ["utter_in_effect_withdraw_consent"]
    filed = message(dispatcher, "utter_in_effect_withdraw_consent")
    assert re.fullmatch(r"PR-\d{4}-\d{6}", filed["reference"])
    assert "due_date" not in filed
    assert events["last_ticket_ref"] == filed["reference"]
    assert events["request_type"] is None and events["consent_purpose"] is None
    assert "subject_proof" not in events  # the proof stays for a further request


async def test_english_due_date_and_unsubscribe(api, client, domain):
    identity = await verify(api, client, CHEN_JING)
    slots = {
        **identity,
        "lang": "en",
        "request_type": "unsubscribe_marketing",
        "confirm_request": True,
        "request_counter": 1.0,
    }
    _, dispatcher = await finish(client, domain, slots, sender="unsub-en")
    assert responses(dispatcher) == ["utter_in_effect_unsubscribe_marketing"]
    filed = message(dispatcher, "utter_in_effect_unsubscribe_marketing")
    assert re.fullmatch(r"PR-\d{4}-\d{6}", filed["reference"])


async def test_a_filed_request_says_its_reply_date(api, client, domain):
    identity = await verify(api, client, CHEN_JING)
    slots = {
        **identity,
        "lang": "en",
        "request_type": "complaint",
        "complaint_summary": "Calls at night",
        "confirm_request": True,
        "request_counter": 1.0,
    }
    _, dispatcher = await finish(client, domain, slots, sender="complaint-en")
    filed = message(dispatcher, "utter_ticket_filed")
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}", filed["due_date"])
    assert filed["request_label"] == "complaint"


@pytest.mark.parametrize(
    ("request_type", "details"),
    [
        ("cancel_account", {}),
        ("access_copy", {}),
        ("rectification", {"rect_field": "地址", "rect_value": "上海市浦东新区世纪大道100号"}),
        ("deletion", {"deletion_ground": "purpose_fulfilled"}),
        ("portability", {"third_party": "蔚来汽车"}),
        ("decision_explanation", {"decision": "保险报价被自动拒绝"}),
        ("complaint", {"complaint_summary": "退订后仍收到营销电话"}),
    ],
)
async def test_every_request_type_is_filed_with_its_details(
    api, client, domain, request_type, details
):
    identity = await verify(api, client, ZHANG_WEI)
    slots = {
        **identity,
        "request_type": request_type,
        "confirm_request": True,
        "request_counter": 1.0,
        **details,
    }
    _, dispatcher = await finish(client, domain, slots, sender=f"file-{request_type}")
    # A MINI decision explanation is answered at once (the policy says there is none to explain).
    said = (
        "utter_in_effect_decision_explanation"
        if request_type == "decision_explanation"
        else "utter_ticket_filed"
    )
    assert responses(dispatcher)[0] == said
    reference = message(dispatcher, said)["reference"]
    ticket = await client.get_ticket(identity["subject_proof"], reference)
    assert ticket is not None
    assert ticket.type == request_type
    assert ticket.brand == "mini"
    assert ticket.channel == "chat"


async def test_a_retry_files_once_and_a_new_request_files_again(api, client, domain):
    identity = await verify(api, client, LI_LEI)
    slots = {
        **identity,
        "request_type": "complaint",
        "complaint_summary": "Calls at night",
        "confirm_request": True,
        "request_counter": 3.0,
    }
    _, first = await finish(client, domain, slots, sender="retry-conv")
    _, retry = await finish(client, domain, slots, sender="retry-conv")
    first_ref = message(first, "utter_ticket_filed")["reference"]
    assert message(retry, "utter_ticket_filed")["reference"] == first_ref
    # The proof has filed its ticket: a new request needs a new verification...
    assert "mobile" in required_for({**slots, "proof_used": True})
    again = await verify(api, client, LI_LEI)
    _, new = await finish(
        client, domain, {**slots, **again, "request_counter": 4.0}, sender="retry-conv"
    )
    assert message(new, "utter_ticket_filed")["reference"] != first_ref


async def test_a_used_proof_is_not_sent_again_for_a_new_ticket(api, client, domain):
    identity = await verify(api, client, CHEN_JING)
    base = {**identity, "request_type": "access_copy", "confirm_request": True}
    events, _ = await finish(client, domain, {**base, "request_counter": 1.0}, sender="used")
    assert events["proof_used"] is True
    # Were the used proof sent anyway, the backend refuses it and the bot asks to verify again.
    events, dispatcher = await finish(
        client, domain, {**base, "request_counter": 2.0}, sender="used"
    )
    assert responses(dispatcher) == ["utter_proof_expired"]
    assert events["subject_proof"] is None


async def test_backend_down_keeps_the_request_and_files_it_on_the_next_turn(
    api, client, down_client, domain
):
    identity = await verify(api, client, LI_LEI)
    slots = {
        **identity,
        "request_type": "deletion",
        "deletion_ground": "no_longer_using",
        "confirm_request": True,
        "request_counter": 1.0,
    }
    events, dispatcher = await finish(down_client, domain, slots, sender="outage")
    assert responses(dispatcher) == ["utter_filing_unavailable"]
    assert events == {"pending_filing": True}  # nothing else is reset

    still_down = CollectingDispatcher()
    tracker = make_tracker(
        {**slots, "pending_filing": True},
        intent="affirm",
        text="再试一次",
        sender="outage",
        active_loop=None,
    )
    events = slot_events(await pending(down_client).run(still_down, tracker, domain))
    assert events == {"pending_filing": True}

    back = CollectingDispatcher()
    events = slot_events(await pending(client).run(back, tracker, domain))
    assert responses(back)[0] == "utter_ticket_filed"
    assert events["pending_filing"] is False
    reference = message(back, "utter_ticket_filed")["reference"]
    ticket = await client.get_ticket(identity["subject_proof"], reference)
    assert ticket is not None and ticket.details["ground"] == "no_longer_using"


async def test_the_customer_may_drop_a_pending_request(domain, down_client):
    tracker = make_tracker(
        {"request_type": "complaint", "pending_filing": True, "complaint_summary": "x y"},
        intent="deny",
        text="算了",
        active_loop=None,
    )
    dispatcher = CollectingDispatcher()
    events = slot_events(await pending(down_client).run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_pending_dropped"]
    assert events["pending_filing"] is False and events["request_type"] is None


@pytest.mark.parametrize(
    ("outcome", "confirm", "expected"),
    [
        # A deletion: the no says the data stays as it is.
        ("cancelled", None, ["utter_request_cancelled_deletion"]),
        (None, False, ["utter_request_cancelled_deletion"]),
        ("human", None, ["utter_request_handover"]),
        ("locked", None, []),
        ("error", None, []),
    ],
)
async def test_ended_without_filing(down_client, domain, outcome, confirm, expected):
    slots = {
        "request_type": "deletion",
        "flow_outcome": outcome,
        "confirm_request": confirm,
        "subject_proof": "p",
        "proof_expires_at": "2099-01-01T00:00:00Z",
    }
    events, dispatcher = await finish(down_client, domain, slots)
    assert responses(dispatcher) == expected
    assert events["request_type"] is None and events["flow_outcome"] is None
    assert events["pending_filing"] is False
    if outcome == "locked":
        assert events["subject_proof"] is None


async def test_no_ticket_without_a_proof(client, domain):
    slots = {"request_type": "deletion", "deletion_ground": "no_consent", "confirm_request": True}
    _, dispatcher = await finish(client, domain, slots)
    assert responses(dispatcher) == ["utter_proof_expired"]


async def test_a_forged_proof_is_refused_by_the_backend(client, domain):
    slots = {
        "request_type": "access_copy",
        "confirm_request": True,
        "subject_proof": "forged",
        "proof_expires_at": "2099-01-01T00:00:00Z",
        "proof_assurance": "sms_code",
    }
    events, dispatcher = await finish(client, domain, slots)
    assert responses(dispatcher) == ["utter_proof_expired"]
    assert events["subject_proof"] is None


async def test_status_lists_the_customers_own_tickets(api, client, domain):
    identity = await verify(api, client, WANG_FANG)
    await finish(
        client,
        domain,
        {
            **identity,
            "request_type": "access_copy",
            "confirm_request": True,
            "request_counter": 9.0,
        },
        sender="status-conv",
    )
    events, dispatcher = await finish(client, domain, {**identity, "request_type": "status"})
    names = responses(dispatcher)
    assert names[0] == "utter_status_intro"
    # Open tickets say their reply date; closed ones (the at-once withdrawals) their outcome.
    # Closed with a notice (the completion of an at-once request): in the notice's words.
    assert set(names[1:]) <= {
        "utter_status_line",
        "utter_status_line_completed",
        "utter_status_told_completed",
    }
    assert 1 <= len(names[1:]) <= tickets.MAX_LISTED
    for line in dispatcher.messages[1:]:
        assert line["reference"].startswith("PR-")
        if line["response"] == "utter_status_line":
            assert line["status_label"] in {"已受理", "处理中", "待您补充信息"}
            assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", line["due_date"])
        elif line["response"] == "utter_status_told_completed":
            assert line["outcome_text"]
        else:
            assert "due_date" not in line and line["outcome"]
    assert events["request_type"] is None


async def test_status_of_a_typed_reference_is_checked_against_the_identity(api, client, domain):
    owner = await verify(api, client, CHEN_JING)
    _, filed = await finish(
        client,
        domain,
        {**owner, "request_type": "access_copy", "confirm_request": True, "request_counter": 1.0},
        sender="owner-conv",
    )
    reference = message(filed, "utter_ticket_filed")["reference"]

    _, own = await finish(
        client, domain, {**owner, "request_type": "status", "ticket_ref": reference.lower()}
    )
    assert responses(own) == ["utter_status_line"]
    assert own.messages[0]["reference"] == reference

    stranger = await verify(api, client, ZHANG_WEI)
    _, other = await finish(
        client, domain, {**stranger, "request_type": "status", "ticket_ref": reference}
    )
    assert responses(other) == ["utter_status_not_found"]
    assert "status_label" not in other.messages[0]


async def test_status_with_the_backend_down(down_client, domain):
    slots = {
        "request_type": "status",
        "subject_proof": "p",
        "proof_expires_at": "2099-01-01T00:00:00Z",
    }
    _, dispatcher = await finish(down_client, domain, slots)
    assert responses(dispatcher) == ["utter_status_unavailable"]


async def test_an_error_while_finishing_apologises_and_resets(client, domain, monkeypatch):
    async def broken(*args: Any, **kwargs: Any) -> list:
        raise RuntimeError("boom")

    monkeypatch.setattr(tickets, "file_request", broken)
    slots = {
        "request_type": "complaint",
        "confirm_request": True,
        "subject_proof": "p",
        "proof_expires_at": "2099-01-01T00:00:00Z",
        "complaint_summary": "abc",
    }
    events, dispatcher = await finish(client, domain, slots)
    assert responses(dispatcher) == ["utter_request_error"]
    assert events["request_type"] is None


async def test_5xx_is_retried_with_the_same_idempotency_key(domain):
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Idempotency-Key"])
        if len(seen) < 3:
            return httpx.Response(503, json={"error": {"code": "unavailable"}})
        return httpx.Response(
            201,
            json={
                "reference": "PR-2026-000777",
                "type": "complaint",
                "due_at": "2026-12-11T15:59:59Z",
                "due_at_provisional": True,
                "brand": "bmw",
            },
        )

    from actions.settings import Settings

    client = RightsClient(
        Settings(
            api_url="http://rights.test",
            bot_api_key="k",
            attempts=3,
            backoff_initial_s=0.01,
            backoff_max_s=0.02,
        ),
        transport=httpx.MockTransport(handler),
    )
    slots = {
        "request_type": "complaint",
        "confirm_request": True,
        "subject_proof": "p",
        "proof_expires_at": "2099-01-01T00:00:00Z",
        "complaint_summary": "abc",
        "lang": "en",
        "brand": "mini",
        "request_counter": 1.0,
    }
    events, dispatcher = await finish(client, domain, slots)
    assert len(seen) == 3 and len(set(seen)) == 1
    assert responses(dispatcher) == ["utter_ticket_filed", "utter_due_provisional"]
    assert message(dispatcher, "utter_ticket_filed")["due_date"] == "11 December 2026"
    assert events["brand"] == "bmw"
