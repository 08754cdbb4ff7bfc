"""What the customer is told when a request takes effect at once, changes nothing, is closed,
or cannot be verified for now: against a backend double speaking the API's contract."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.asks import ActionAskConfirmRequest
from actions.backend import RightsClient
from actions.settings import Settings
from actions.tickets import ActionFinishRequest
from tests.support.trackers import make_tracker, responses, slot_events

PROOF = {
    "subject_proof": "p",
    "proof_expires_at": "2099-01-01T00:00:00Z",
    "proof_assurance": "sms_code",
    "customer_id": "C-0001",
}


def backend(status: int, body: dict[str, Any], seen: list[httpx.Request]) -> RightsClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    settings = Settings(api_url="http://rights.test", bot_api_key="k", attempts=1)
    return RightsClient(settings, transport=httpx.MockTransport(handler))


async def finish(client: RightsClient, domain: dict, slots: dict[str, Any]):
    action = ActionFinishRequest()
    action.client = client
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({**PROOF, **slots}, active_loop=None, latest_action="request_form")
    events = slot_events(await action.run(dispatcher, tracker, domain))
    return events, dispatcher


def in_effect_409(field: str, purpose: str) -> dict[str, Any]:
    return {
        "error": {
            "code": "already_in_effect",
            "message": "nothing to change",
            "field": field,
            "details": [{"purpose": purpose, "since": "2026-11-20T09:30:00+08:00"}],
        }
    }


@pytest.mark.parametrize(
    ("lang", "slots", "field", "purpose", "label", "since"),
    [
        (
            "zh",
            {"request_type": "unsubscribe_marketing"},
            "type",
            "marketing",
            "接收商业广告等营销推广信息",
            "2026年11月20日",
        ),
        (
            "en",
            {"request_type": "withdraw_consent", "consent_purpose": "dealer_sharing"},
            "details.purpose",
            "dealer_sharing",
            "sharing personal information with authorised dealers",
            "20 November 2026",
        ),
    ],
)
async def test_a_request_that_changes_nothing_says_so_and_files_nothing(
    domain, lang, slots, field, purpose, label, since
):
    seen: list[httpx.Request] = []
    client = backend(409, in_effect_409(field, purpose), seen)
    events, dispatcher = await finish(
        client, domain, {**slots, "lang": lang, "confirm_request": True, "request_counter": 1.0}
    )
    said = f"utter_already_in_effect_{slots['request_type']}"
    assert responses(dispatcher) == [said]
    assert dispatcher.messages[0]["since_date"] == since
    assert dispatcher.messages[0]["purpose"] == label
    assert said in domain["responses"]
    # No ticket: no reference remembered, and the proof stays usable for a real request.
    assert "last_ticket_ref" not in events and "proof_used" not in events
    assert events["request_type"] is None
    assert len(seen) == 1


async def test_an_immediate_request_says_only_that_it_took_effect(domain):
    body = {
        "reference": "PR-2026-000042",
        "type": "unsubscribe_marketing",
        "status": "completed",
        "brand": "mini",
        "due_at": "2026-12-23T23:59:59+08:00",
        "closed_at": "2026-12-02T10:00:00+08:00",
        "resolution": "unsubscribed",
    }
    _, dispatcher = await finish(
        backend(201, body, []),
        domain,
        {"request_type": "unsubscribe_marketing", "confirm_request": True, "request_counter": 1.0},
    )
    assert responses(dispatcher) == ["utter_in_effect_unsubscribe_marketing"]
    assert dispatcher.messages[0]["reference"] == "PR-2026-000042"
    # No "we will reply by": the response has no reply date to fill.
    for variation in domain["responses"]["utter_in_effect_unsubscribe_marketing"]:
        assert "due_date" not in variation["text"]
        assert "{reference}" in variation["text"] or variation.get("channel")


def ticket(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "reference": "PR-2026-000007",
        "type": "deletion",
        "status": status,
        "brand": "bmw",
        "due_at": "2026-12-30T23:59:59+08:00",
        **extra,
    }


@pytest.mark.parametrize(
    ("lang", "found", "said", "closed", "outcome"),
    [
        (
            "zh",
            ticket(
                "completed",
                closed_at="2026-12-05T16:00:00+08:00",
                resolution="已删除您的个人信息并通知接收方",
            ),
            "utter_status_line_completed",
            "2026年12月5日",
            "已删除您的个人信息并通知接收方",
        ),
        (
            "en",
            ticket(
                "refused",
                closed_at="2026-12-04T16:00:00+08:00",
                refusal_ground="trade_secrets",
                resolution="x [bmw.5.8: ...]",
            ),
            "utter_status_line_refused",
            "4 December 2026",
            "the request involves trade secrets",
        ),
    ],
)
async def test_a_closed_ticket_says_when_and_how_it_closed(
    domain, lang, found, said, closed, outcome
):
    client = backend(200, found, [])
    _, dispatcher = await finish(
        client, domain, {"request_type": "status", "ticket_ref": "PR-2026-000007", "lang": lang}
    )
    assert responses(dispatcher) == [said]
    line = dispatcher.messages[0]
    assert line["closed_date"] == closed
    assert line["outcome"] == outcome
    assert "due_date" not in line


async def test_an_open_ticket_still_says_its_reply_date(domain):
    _, dispatcher = await finish(
        backend(200, ticket("in_progress"), []),
        domain,
        {"request_type": "status", "ticket_ref": "PR-2026-000007", "lang": "en"},
    )
    assert responses(dispatcher) == ["utter_status_line"]
    assert dispatcher.messages[0]["due_date"] == "30 December 2026"


@pytest.mark.parametrize(
    ("brand", "lang", "deadline", "route"),
    [
        ("mini", "zh", "15 个工作日", "电子邮件"),
        ("mini", "en", "15 working days", "e-mails the copy"),
        ("bmw", "zh", "30 天", "BMW 互联驾驶用户网站"),
        ("bmw", "en", "30 days", "customer service sends the copy"),
    ],
)
async def test_access_copy_confirmation_says_the_deadline_and_the_route(
    domain, brand, lang, deadline, route
):
    tracker = make_tracker({"request_type": "access_copy", "brand": brand, "lang": lang})
    dispatcher = CollectingDispatcher()
    await ActionAskConfirmRequest().run(dispatcher, tracker, domain)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_confirm_access_copy"
    assert message["deadline"] == deadline
    assert route in message["copy_delivery"]
    texts = [v["text"] for v in domain["responses"]["utter_confirm_access_copy"]]
    assert all("{deadline}" in t and "{copy_delivery}" in t for t in texts)


def test_the_conflict_body_is_read_as_the_api_sends_it():
    from actions.backend import BackendError, InEffect

    error = BackendError(409, **in_effect_409("type", "marketing")["error"])
    found = InEffect.of(error)
    assert found is not None and found.purpose == "marketing"
    assert found.since is not None and found.since.utcoffset().total_seconds() == 8 * 3600
    assert InEffect.of(BackendError(409, code="idempotency_in_flight")) is None
