"""The bot's status answer says what the outcome notice said: the ticket's `outcome_text`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import RightsClient
from actions.settings import Settings
from actions.tickets import ActionFinishRequest
from tests.support.trackers import make_tracker, responses, slot_events, verify

CHEN_JING = "13600136000"  # C-0004, BMW
PROOF = {
    "subject_proof": "p",
    "proof_expires_at": "2099-01-01T00:00:00Z",
    "proof_assurance": "sms_code",
    "customer_id": "C-0004",
}
REFUSED_EN = (
    "We are sorry: your request (deletion, reference PR-2026-000007) could not be carried out, "
    "because your request involves trade secrets. If you are not satisfied with the outcome, you "
    "can lodge a complaint by calling 400-800-6666 (BMW policy, part V.8)."
)
AWAITING_ZH = (
    "为继续办理您的“删除个人信息”请求（编号PR-2026-000007），我们需要您补充：车辆识别代号。"
    "请在BMW APP中打开隐私助手回复，或致电400-800-6666并提供编号。"
)


def ticket(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "reference": "PR-2026-000007",
        "type": "deletion",
        "status": status,
        "brand": "bmw",
        "due_at": "2026-12-30T23:59:59+08:00",
        **extra,
    }


def backend(body: dict[str, Any]) -> RightsClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    settings = Settings(api_url="http://rights.test", bot_api_key="k", attempts=1)
    return RightsClient(settings, transport=httpx.MockTransport(handler))


async def status(client: RightsClient, domain: dict, lang: str, **slots: Any):
    action = ActionFinishRequest()
    action.client = client
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {**PROOF, "request_type": "status", "lang": lang, **slots},
        active_loop=None,
        latest_action="request_form",
    )
    events = slot_events(await action.run(dispatcher, tracker, domain))
    return events, dispatcher


def said(domain: dict, message: dict[str, Any], lang: str) -> str:
    for variation in domain["responses"][message["response"]]:
        if "channel" in variation:
            continue
        wanted = {c["value"] for c in variation.get("condition") or []} or {"zh"}
        if wanted == {lang}:
            return str(variation["text"]).format(**message)
    raise AssertionError(message["response"])


@pytest.mark.parametrize(
    ("lang", "found", "response", "start"),
    [
        (
            "en",
            ticket("refused", closed_at="2026-12-04T16:00:00+08:00", outcome_text=REFUSED_EN),
            "utter_status_told_refused",
            "PR-2026-000007: deletion, refused on 4 December 2026. ",
        ),
        (
            "zh",
            ticket("awaiting_customer", outcome_text=AWAITING_ZH),
            "utter_status_told_awaiting_customer",
            "PR-2026-000007：删除个人信息，待您补充信息，答复期限：2026年12月30日。",
        ),
        (
            "zh",
            ticket(
                "completed",
                closed_at="2026-12-05T16:00:00+08:00",
                outcome_text="您的“删除个人信息”请求（编号PR-2026-000007）已办理完毕：已删除。",
            ),
            "utter_status_told_completed",
            "PR-2026-000007：删除个人信息，已于 2026年12月5日 办结。",
        ),
    ],
)
async def test_the_status_says_the_notice_in_its_words(domain, lang, found, response, start):
    _, dispatcher = await status(backend(found), domain, lang, ticket_ref="PR-2026-000007")
    assert responses(dispatcher) == [response]
    text = said(domain, dispatcher.messages[0], lang)
    assert text == start + found["outcome_text"]


async def test_without_a_notice_the_status_says_what_it_knows(domain):
    found = ticket("completed", closed_at="2026-12-05T16:00:00+08:00", resolution="已删除")
    _, dispatcher = await status(backend(found), domain, "zh", ticket_ref="PR-2026-000007")
    assert responses(dispatcher) == ["utter_status_line_completed"]
    assert dispatcher.messages[0]["outcome"] == "已删除"


def test_every_told_status_has_a_line_in_both_languages_and_on_the_hotline(domain):
    for status_name in ("completed", "refused", "awaiting_customer"):
        variations = domain["responses"][f"utter_status_told_{status_name}"]
        assert len(variations) == 4
        assert all("{outcome_text}" in v["text"] for v in variations)


async def test_a_refusal_reads_in_the_chat_as_in_the_sms(api, client, domain):
    identity = await verify(api, client, CHEN_JING)
    action = ActionFinishRequest()
    action.client = client
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {**identity, "request_type": "access_copy", "confirm_request": True, "lang": "en"},
        active_loop=None,
        latest_action="request_form",
        sender="status-outcome-conv",
    )
    await action.run(dispatcher, tracker, domain)
    reference = next(m for m in dispatcher.messages if m["response"] == "utter_ticket_filed")[
        "reference"
    ]
    staff = {"Authorization": f"Bearer {api.staff_token}"}
    async with httpx.AsyncClient(base_url=api.url, headers=staff) as http:
        current = (await http.get(f"/v1/tickets/{reference}")).json()
        moved = await http.post(
            f"/v1/tickets/{reference}/transitions",
            json={
                "to_status": "refused",
                "reason": "review",
                "version": current["version"],
                "refusal_ground": "trade_secrets",
            },
        )
        assert moved.status_code == 200, moved.text
    sms = next(i for i in api.outbox() if reference in i["body"] and "trade secrets" in i["body"])
    _, dispatcher = await status(
        client, domain, "en", **{**identity, "ticket_ref": reference, "proof_used": True}
    )
    assert responses(dispatcher) == ["utter_status_told_refused"]
    outcome = dispatcher.messages[0]["outcome_text"]
    assert outcome == moved.json()["outcome_text"]
    assert outcome in sms["body"]
