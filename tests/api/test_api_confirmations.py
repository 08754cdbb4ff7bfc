"""What the customer is told about a filed request: an SMS with its reference and due date (or
that it took effect), a 409 for an unsubscribe or withdrawal that would change nothing, and when
a ticket was closed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from api_helpers import BOT, CODE_SMS, STAFF, file_ticket, sms_proof
from fastapi import FastAPI
from fastapi.testclient import TestClient


def _filed_sms(client: TestClient) -> dict[str, Any]:
    newest = client.get("/v1/dev/outbox").json()["items"][0]
    assert newest["kind"] == "sms" and not CODE_SMS.search(newest["body"]), newest
    return dict(newest)


def test_a_filed_request_is_sent_by_sms_with_reference_and_due_date(client: TestClient) -> None:
    ticket = file_ticket(client, sms_proof(client), "access_copy", {"scope": "all"}).json()
    sms = _filed_sms(client)
    assert sms["to"] == "+8613800138000"
    due_day = ticket["due_at"][:10]  # 2026-06-01
    year, month, day = (int(part) for part in due_day.split("-"))
    assert sms["body"] == (
        f"【MINI互联出行】您的“查阅/复制个人信息”请求已受理，编号{ticket['reference']}，"
        f"我们将在{year}年{month}月{day}日前答复您。"
    )


def test_the_sms_speaks_the_tickets_language_and_brand(client: TestClient) -> None:
    proof = sms_proof(client, "C-0002")
    ticket = file_ticket(client, proof, "complaint", {"summary": "slow"}, language="en").json()
    body = _filed_sms(client)["body"]
    assert body.startswith("[BMW ConnectedDrive] We have received your request (complaint)")
    assert ticket["reference"] in body and "We will reply by 10 June 2026." in body


def test_a_request_that_took_effect_says_so_and_gives_no_due_date(client: TestClient) -> None:
    ticket = file_ticket(client, sms_proof(client), "unsubscribe_marketing", language="en").json()
    assert ticket["status"] == "completed"
    body = _filed_sms(client)["body"]
    assert body == (
        "[MINI Connected] Your request (unsubscribe from marketing) has taken effect. "
        f"Reference {ticket['reference']}."
    )


def _count(app: FastAPI, table: str) -> int:
    with app.state.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_unsubscribing_again_changes_nothing_and_files_nothing(
    client: TestClient, app: FastAPI
) -> None:
    first = file_ticket(client, sms_proof(client), "unsubscribe_marketing", key="first")
    assert first.status_code == 201
    tickets, events, sent = (
        _count(app, "tickets"),
        _count(app, "consent_events"),
        _count(app, "outbox"),
    )
    proof = sms_proof(client)
    again = file_ticket(client, proof, "unsubscribe_marketing")
    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert error["code"] == "already_in_effect" and error["field"] == "body.type"
    assert error["details"] == [{"purpose": "marketing", "since": "2026-05-11T10:00:00+08:00"}]
    assert (_count(app, "tickets"), _count(app, "consent_events")) == (tickets, events)
    assert _count(app, "outbox") == sent + 1  # the code SMS of the second check only
    # The proof was not spent: the customer can still file something else with it.
    assert file_ticket(client, proof, "complaint", {"summary": "spam"}).status_code == 201
    # A retry of the first request still answers with its ticket.
    replay = file_ticket(client, sms_proof(client), "unsubscribe_marketing", key="first")
    assert replay.status_code == 200 and replay.json() == first.json()


def test_withdrawing_a_withdrawn_consent_names_the_purpose(client: TestClient) -> None:
    assert file_ticket(client, sms_proof(client), "unsubscribe_marketing").status_code == 201
    r = file_ticket(client, sms_proof(client), "withdraw_consent", {"purpose": "marketing"})
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "already_in_effect" and error["field"] == "body.details.purpose"
    assert error["details"][0]["purpose"] == "marketing"
    # Another purpose still granted is withdrawn as before.
    other = file_ticket(
        client, sms_proof(client), "withdraw_consent", {"purpose": "dealer_sharing"}
    )
    assert other.status_code == 201 and other.json()["status"] == "completed"


def test_closed_at_is_set_when_a_ticket_reaches_a_final_status(client: TestClient) -> None:
    ticket = file_ticket(client, sms_proof(client), "complaint", {"summary": "slow"}).json()
    assert ticket["closed_at"] is None
    ref = ticket["reference"]
    moved = client.post(
        f"/v1/tickets/{ref}/transitions",
        headers=STAFF,
        json={"to_status": "in_progress", "reason": "looking", "version": 1},
    ).json()
    assert moved["closed_at"] is None
    done = client.post(
        f"/v1/tickets/{ref}/transitions",
        headers=STAFF,
        json={"to_status": "completed", "reason": "answered", "version": 2},
    ).json()
    assert done["closed_at"] == "2026-05-11T10:00:00+08:00"
    instant = file_ticket(client, sms_proof(client), "unsubscribe_marketing").json()
    assert instant["closed_at"] == instant["created_at"]
    assert (
        client.get(
            f"/v1/tickets/{ref}", headers=BOT | {"X-Subject-Proof": sms_proof(client)}
        ).json()["closed_at"]
        == done["closed_at"]
    )


def test_a_demo_customer_can_be_given_back_their_consents_to_unsubscribe_again(
    client: TestClient,
) -> None:
    assert file_ticket(client, sms_proof(client), "unsubscribe_marketing").status_code == 201
    again = file_ticket(client, sms_proof(client), "unsubscribe_marketing")
    assert again.status_code == 409

    reset = client.post("/v1/dev/demo-consents", json={"customer_id": "C-0001"})
    assert reset.status_code == 200, reset.text
    assert reset.json()["consents"] == {"marketing": True, "dealer_sharing": True}
    consents = client.get("/v1/subjects/C-0001/consents", headers=STAFF).json()["consents"]
    assert consents["marketing"] is True
    assert file_ticket(client, sms_proof(client), "unsubscribe_marketing").status_code == 201

    unknown = client.post("/v1/dev/demo-consents", json={"customer_id": "C-9999"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["field"] == "body.customer_id"
