"""Tickets: filing, assurance, idempotency, own-only reads, automatic completion, ledger."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from api_helpers import (
    BOT,
    STAFF,
    app_proof,
    file_ticket,
    new_ticket,
    sms_proof,
)
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.core.clock import FixedClock
from api.main import create_app
from api.tickets import due
from api.tickets import service as tickets

VALID_DETAILS: dict[str, dict[str, Any]] = {
    "unsubscribe_marketing": {},
    "withdraw_consent": {"purpose": "market_research"},
    "cancel_account": {"reason": "selling the car"},
    "access_copy": {"scope": "all"},
    "rectification": {"field": "name", "corrected_value": "王芳芳", "current_value": "王芳"},
    "deletion": {"ground": "consent_withdrawn"},
    "portability": {"third_party": "Example Motors"},
    "decision_explanation": {"decision": "insurance score"},
    "complaint": {"summary": "slow answer"},
}


@pytest.mark.parametrize("ticket_type", list(VALID_DETAILS))
def test_every_type_files(client: TestClient, ticket_type: str) -> None:
    r = file_ticket(
        client,
        sms_proof(client),
        ticket_type,
        VALID_DETAILS[ticket_type],
        language="en",
        channel="ivr",
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert re.fullmatch(r"PR-2026-\d{6}", t["reference"])
    assert t["type"] == ticket_type and t["brand"] == "mini" and t["customer_id"] == "C-0001"
    assert t["channel"] == "ivr" and t["language"] == "en"
    assert t["due_at"].endswith("T23:59:59+08:00")
    assert t["due_at_provisional"] is False


def test_references_are_sequential(client: TestClient) -> None:
    refs = [new_ticket(client)["reference"] for _ in range(3)]
    assert refs == ["PR-2026-000001", "PR-2026-000002", "PR-2026-000003"]


def test_due_at_from_creation_time(client: TestClient, clock: FixedClock) -> None:
    clock.at = datetime(2026, 2, 10, 2, 0, tzinfo=timezone.utc)
    mini = new_ticket(client, "access_copy")
    assert mini["due_at"] == "2026-03-09T23:59:59+08:00"
    bmw = new_ticket(client, "access_copy", customer_id="C-0002")
    assert bmw["due_at"] == "2026-03-12T23:59:59+08:00"
    bmw_cancel = new_ticket(client, "cancel_account", customer_id="C-0004")
    assert bmw_cancel["due_at"] == "2026-03-09T23:59:59+08:00"


def test_client_cannot_supply_due_date(client: TestClient) -> None:
    r = client.post(
        "/v1/tickets",
        headers=BOT | {"X-Subject-Proof": sms_proof(client), "Idempotency-Key": "k"},
        json={
            "type": "complaint",
            "channel": "chat",
            "language": "zh",
            "details": {"summary": "x"},
            "due_at": "2030-01-01",
        },
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "body.due_at"


def test_december_2026_provisional_and_recompute(
    client: TestClient, clock: FixedClock, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.at = datetime(2026, 12, 15, 2, 0, tzinfo=timezone.utc)
    t = new_ticket(client, "deletion", {"ground": "consent_withdrawn"})
    assert t["due_at_provisional"] is True
    assert t["due_at"] == "2027-01-05T23:59:59+08:00"
    # The calendar learns 2027 (New Year's Day off): the due date is recomputed once.
    real = due.is_working_day

    def knows_2027(day: Any) -> tuple[bool, bool]:
        if day.year == 2027:
            return day.weekday() < 5 and (day.month, day.day) != (1, 1), True
        return real(day)

    monkeypatch.setattr(due, "is_working_day", knows_2027)
    with app.state.session_factory() as s:
        assert tickets.recompute_provisional(s, clock.now()) == 1
        assert tickets.recompute_provisional(s, clock.now()) == 0
    again = client.get(f"/v1/tickets/{t['reference']}", headers=STAFF).json()
    assert again["due_at"] == "2027-01-06T23:59:59+08:00"
    assert again["due_at_provisional"] is False
    actions = [
        e["action"]
        for e in client.get(f"/v1/tickets/{t['reference']}/audit", headers=STAFF).json()["items"]
    ]
    assert "ticket.due_recomputed" in actions


# ---------------------------------------------------------------- assurance floors


@pytest.mark.parametrize(
    "ticket_type",
    ["cancel_account", "deletion", "access_copy", "portability", "withdraw_consent", "complaint"],
)
def test_app_session_too_weak(client: TestClient, ticket_type: str) -> None:
    r = file_ticket(client, app_proof(client), ticket_type, VALID_DETAILS[ticket_type])
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "insufficient_assurance"


def test_app_session_unsubscribes(client: TestClient) -> None:
    r = file_ticket(client, app_proof(client, "C-0002"), "unsubscribe_marketing")
    assert r.status_code == 201
    assert r.json()["status"] == "completed"


def test_ivr_password_suffices_for_deletion(client: TestClient) -> None:
    v = client.post(
        "/v1/verifications",
        headers=BOT,
        json={"method": "phone_password", "mobile": "13600136000", "channel": "ivr"},
    )
    proof = client.post(
        f"/v1/verifications/{v.json()['id']}/check", headers=BOT, json={"code": "908172"}
    ).json()["proof"]
    r = file_ticket(client, proof, "deletion", {"ground": "no_longer_using"}, channel="ivr")
    assert r.status_code == 201 and r.json()["brand"] == "bmw"


# ---------------------------------------------------------------- details validation


@pytest.mark.parametrize(
    ("ticket_type", "details", "field", "code"),
    [
        ("withdraw_consent", {"purpose": "spying"}, "body.details.purpose", "unknown_purpose"),
        ("withdraw_consent", {}, "body.details.purpose", "invalid_details"),
        (
            "deletion",
            {"ground": "no_longer_using"},
            "body.details.ground",
            "unknown_deletion_ground",
        ),
        ("portability", {"third_party": ""}, "body.details.third_party", "invalid_details"),
        ("complaint", {"summary": "x", "extra": 1}, "body.details.extra", "invalid_details"),
        ("rectification", {"field": "name"}, "body.details.corrected_value", "invalid_details"),
    ],
)
def test_details_errors_name_the_field(
    client: TestClient, ticket_type: str, details: dict[str, Any], field: str, code: str
) -> None:
    # C-0001 is MINI: "no_longer_using" is a BMW deletion ground only.
    r = file_ticket(client, sms_proof(client), ticket_type, details)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert r.json()["error"]["code"] == code


def test_id_numbers_never_stored_plain(client: TestClient) -> None:
    t = new_ticket(
        client, "rectification", {"field": "id_number", "corrected_value": "11010519491231002X"}
    )
    assert t["details"]["corrected_value"] == "110***********002X"


# ---------------------------------------------------------------- idempotency and proofs


def test_idempotent_replay(client: TestClient, app: FastAPI) -> None:
    proof = sms_proof(client)
    first = file_ticket(client, proof, "complaint", {"summary": "x"}, key="same-key")
    again = file_ticket(client, proof, "complaint", {"summary": "x"}, key="same-key")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["reference"] == first.json()["reference"]
    other = file_ticket(client, proof, "complaint", {"summary": "y"}, key="same-key")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.json()["error"]["field"] == "header.Idempotency-Key"
    with app.state.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar() == 1


def test_missing_idempotency_key_400(client: TestClient) -> None:
    r = client.post(
        "/v1/tickets",
        headers=BOT | {"X-Subject-Proof": sms_proof(client)},
        json={
            "type": "complaint",
            "channel": "chat",
            "language": "zh",
            "details": {"summary": "x"},
        },
    )
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "header.Idempotency-Key"


def test_in_flight_key_409(db_url: str, tmp_path: Path, clock: FixedClock) -> None:
    # The key is claimed inside the ticket's transaction: while another request holds it
    # uncommitted, a retry waits a little and then answers 409; it never takes the claim over.
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises write transactions: the retry waits instead")
    app = create_app(make_settings(db_url, tmp_path, idempotency_wait_seconds=0.5), clock=clock)
    with TestClient(app) as client:
        proof = sms_proof(client)
        with app.state.engine.connect() as holder:
            holder.execute(
                sa.text(
                    "INSERT INTO idempotency_keys (customer_id, key, request_hash, state,"
                    " created_at) VALUES ('C-0001', 'busy', 'x', 'in_flight', now())"
                )
            )
            clock.at += timedelta(minutes=5)  # however long the owner has been at it
            r = file_ticket(client, proof, "complaint", {"summary": "x"}, key="busy")
            assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_in_flight"
            assert r.headers["Retry-After"] == "1"
            holder.rollback()  # the owner died: its claim disappears with its transaction
        again = file_ticket(client, proof, "complaint", {"summary": "x"}, key="busy")
        assert again.status_code == 201


def test_failed_creation_releases_the_key(client: TestClient) -> None:
    proof = sms_proof(client)
    assert file_ticket(client, proof, "complaint", {"summary": "x"}, key="a").status_code == 201
    used = file_ticket(client, proof, "access_copy", {}, key="b")
    assert used.status_code == 409 and used.json()["error"]["code"] == "proof_used"
    fresh = file_ticket(client, sms_proof(client), "access_copy", {}, key="b")
    assert fresh.status_code == 201


def test_proof_required_and_checked(client: TestClient, clock: FixedClock) -> None:
    r = client.post(
        "/v1/tickets",
        headers=BOT | {"Idempotency-Key": "x"},
        json={
            "type": "complaint",
            "channel": "chat",
            "language": "zh",
            "details": {"summary": "x"},
        },
    )
    assert r.status_code == 401 and r.json()["error"]["field"] == "header.X-Subject-Proof"
    bad = file_ticket(client, "forged.proof", "complaint", {"summary": "x"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_proof"
    proof = sms_proof(client)
    clock.at += timedelta(minutes=11)
    late = file_ticket(client, proof, "complaint", {"summary": "x"})
    assert late.status_code == 401 and late.json()["error"]["code"] == "proof_expired"


# ---------------------------------------------------------------- reads


def test_subject_reads_own_tickets_only(client: TestClient) -> None:
    mine = new_ticket(client, "complaint", {"summary": "x"}, customer_id="C-0001")
    theirs = new_ticket(client, "complaint", {"summary": "y"}, customer_id="C-0003")
    proof = sms_proof(client, "C-0001")
    headers = BOT | {"X-Subject-Proof": proof}
    assert client.get(f"/v1/tickets/{mine['reference']}", headers=headers).status_code == 200
    other = client.get(f"/v1/tickets/{theirs['reference']}", headers=headers)
    assert other.status_code == 404
    # Reads may reuse a proof until it expires, also after it filed a ticket.
    file_ticket(client, proof, "access_copy", {})
    items = client.get("/v1/subjects/me/tickets", headers=headers).json()["items"]
    assert [t["type"] for t in items] == ["access_copy", "complaint"]
    assert client.get(f"/v1/tickets/{mine['reference']}").status_code == 401


def test_app_session_reads_status(client: TestClient) -> None:
    t = new_ticket(client, "complaint", {"summary": "x"}, customer_id="C-0004")
    headers = BOT | {"X-Subject-Proof": app_proof(client, "C-0004")}
    assert client.get(f"/v1/tickets/{t['reference']}", headers=headers).status_code == 200


# ---------------------------------------------------------------- automatic completion


def test_unsubscribe_changes_consent_and_completes(client: TestClient) -> None:
    t = new_ticket(client, "unsubscribe_marketing", {})
    assert t["status"] == "completed" and t["resolution"]
    consents = client.get("/v1/subjects/C-0001/consents", headers=STAFF).json()
    assert consents["consents"] == {"marketing": False, "dealer_sharing": True}
    last = consents["history"][-1]
    assert last["purpose"] == "marketing" and last["granted"] is False
    assert last["ticket_reference"] == t["reference"]


def test_withdraw_consent_per_purpose(client: TestClient) -> None:
    t = new_ticket(client, "withdraw_consent", {"purpose": "dealer_sharing"}, customer_id="C-0002")
    assert t["status"] == "completed"
    consents = client.get("/v1/subjects/C-0002/consents", headers=STAFF).json()["consents"]
    assert consents["dealer_sharing"] is False and consents["marketing"] is True


def test_decision_explanation_by_brand(client: TestClient) -> None:
    mini = new_ticket(client, "decision_explanation", {"decision": "x"})
    assert mini["status"] == "completed"
    assert "第五部分（六）" in mini["resolution"]
    bmw = new_ticket(client, "decision_explanation", {"decision": "x"}, customer_id="C-0002")
    assert bmw["status"] == "received" and bmw["resolution"] is None


def test_consents_need_staff(client: TestClient) -> None:
    assert client.get("/v1/subjects/C-0001/consents").status_code == 401
    assert client.get("/v1/subjects/C-0404/consents", headers=STAFF).status_code == 404


# ---------------------------------------------------------------- deletion ledger


def _complete(client: TestClient, t: dict[str, Any]) -> dict[str, Any]:
    r = client.post(
        f"/v1/tickets/{t['reference']}/transitions",
        headers=STAFF,
        json={"to_status": "completed", "reason": "deleted", "version": t["version"]},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_deletion_ledger_and_backup_rollover(client: TestClient, clock: FixedClock) -> None:
    t = new_ticket(client, "deletion", {"ground": "consent_withdrawn"})
    due_at = datetime.fromisoformat(t["due_at"])
    assert datetime.fromisoformat(t["backup_rollover_at"]) == due_at + timedelta(days=30)
    clock.at += timedelta(days=3)
    done = _complete(client, t)
    assert datetime.fromisoformat(done["backup_rollover_at"]) == clock.now() + timedelta(days=30)
    notices = client.get(f"/v1/tickets/{t['reference']}", headers=STAFF).json()["notices"]
    notices = [n for n in notices if n["kind"] == "deletion_notice"]
    assert sorted(n["recipient"] for n in notices) == ["dealer", "finance", "operator"]
    assert {n["status"] for n in notices} == {"sent"}
    outbox = client.get("/v1/dev/outbox").json()["items"]
    assert sum(1 for i in outbox if i["kind"] == "deletion_notice") == 3
    url = f"/v1/tickets/{t['reference']}/notices"
    r = client.post(f"{url}/{notices[0]['id']}", headers=STAFF, json={"status": "acknowledged"})
    assert r.status_code == 200
    assert r.json()["notices"][0]["status"] == "acknowledged"
    again = client.post(f"{url}/{notices[0]['id']}", headers=STAFF, json={"status": "not_found"})
    assert again.status_code == 409
    assert (
        client.post(f"{url}/999999", headers=STAFF, json={"status": "not_found"}).status_code == 404
    )


def test_notice_dispatch_retries_bounded(
    client: TestClient, app: FastAPI, clock: FixedClock
) -> None:
    from api.tickets.flows import dispatch_due_notices
    from api.tickets.models import TicketNotice

    t = new_ticket(client, "cancel_account", {}, customer_id="C-0002")
    with app.state.session_factory() as s:
        ticket = tickets.get(s, t["reference"])
        s.add(
            TicketNotice(
                ticket_id=ticket.id,
                kind="deletion_notice",
                recipient="dealer",
                status="queued",
                message="m",
                attempts=0,
                next_attempt_at=clock.now(),
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
        s.commit()
    calls: list[int] = []

    def broken(_s: Any, notice: Any, _now: Any) -> None:
        calls.append(notice.id)
        raise RuntimeError("gateway down")

    for _ in range(10):
        with app.state.session_factory() as s:
            dispatch_due_notices(s, clock.now(), max_attempts=3, send=broken)
        clock.at += timedelta(hours=1)
    with app.state.session_factory() as s:
        notice = s.execute(sa.select(TicketNotice)).scalar_one()
        assert notice.status == "failed" and notice.attempts == 3
    assert len(calls) == 3


def test_delay_is_a_notice_not_an_extension(client: TestClient) -> None:
    t = new_ticket(client, "access_copy", {})
    r = client.post(
        f"/v1/tickets/{t['reference']}/delay-notices",
        headers=STAFF,
        json={"reason": "archive retrieval"},
    )
    assert r.status_code == 200
    assert r.json()["due_at"] == t["due_at"]
    assert r.json()["notices"][0]["kind"] == "delay"
