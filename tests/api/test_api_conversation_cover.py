"""One verification per conversation: a verified check issues further single-use proofs to the
conversation that started it, for the customer it verified, for 10 minutes, never above its
own assurance; and the proofs it issues are good in that conversation only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from api_helpers import BOT, MOBILES, PASSWORDS, app_proof, file_ticket, last_code
from fastapi.testclient import TestClient

from api.core.clock import FixedClock
from api.tickets import rules

IN_A = {"X-Conversation-Id": "conversation-a"}
IN_B = {"X-Conversation-Id": "conversation-b"}


def verified(
    client: TestClient, customer_id: str = "C-0001", method: str = "sms_code", **headers: str
) -> dict[str, Any]:
    """A check started and passed from a conversation; its answer and its id."""
    ivr = method == "phone_password"
    body = {"method": method, "mobile": MOBILES[customer_id], "channel": "ivr" if ivr else "chat"}
    started = client.post("/v1/verifications", headers=BOT | headers, json=body).json()
    code = PASSWORDS[customer_id] if ivr else last_code(client)
    checked = client.post(
        f"/v1/verifications/{started['id']}/check", headers=BOT | headers, json={"code": code}
    ).json()
    assert checked["status"] == "verified", checked
    return {"id": started["id"], **checked}


def reissue(
    client: TestClient, vid: str, customer_id: str = "C-0001", **extra: Any
) -> httpx.Response:
    headers = extra.pop("headers", IN_A)
    return client.post(
        f"/v1/verifications/{vid}/proofs",
        headers=BOT | headers,
        json={"customer_id": customer_id, **extra},
    )


def filed(client: TestClient, proof: str, headers: dict[str, str]) -> httpx.Response:
    return client.post(
        "/v1/tickets",
        headers=BOT | headers | {"X-Subject-Proof": proof, "Idempotency-Key": proof[-32:]},
        json={"type": "access_copy", "channel": "chat", "language": "zh", "details": {}},
    )


def test_a_second_request_in_the_conversation_gets_its_own_single_use_proof(
    client: TestClient, clock: FixedClock
) -> None:
    check = verified(client, **IN_A)
    assert file_ticket(client, check["proof"], "access_copy").status_code == 201
    clock.at += timedelta(minutes=3)
    r = reissue(client, check["id"], assurance="sms_code")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["customer_id"], body["brand"], body["assurance"]) == ("C-0001", "mini", "sms_code")
    assert body["proof"] != check["proof"]
    first = filed(client, body["proof"], IN_A)
    assert first.status_code == 201, first.text
    # Used once: the next request asks for another.
    again = client.post(
        "/v1/tickets",
        headers=BOT | IN_A | {"X-Subject-Proof": body["proof"], "Idempotency-Key": "another-key"},
        json={"type": "access_copy", "channel": "chat", "language": "zh", "details": {}},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "proof_used"
    assert filed(client, reissue(client, check["id"]).json()["proof"], IN_A).status_code == 201


def test_a_proof_is_not_issued_to_another_conversation(client: TestClient) -> None:
    check = verified(client, **IN_A)
    for headers in (IN_B, {}):
        r = reissue(client, check["id"], headers=headers)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "other_conversation"
    # A check started without a conversation covers none.
    loose = verified(client, "C-0002")
    assert reissue(client, loose["id"], "C-0002").json()["error"]["code"] == "other_conversation"


def test_a_proof_issued_for_conversation_a_is_refused_in_conversation_b(
    client: TestClient,
) -> None:
    check = verified(client, **IN_A)
    proof = reissue(client, check["id"]).json()["proof"]
    for headers in (IN_B, {}):
        r = filed(client, proof, headers)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "proof_other_conversation"
    read = client.get("/v1/subjects/me/tickets", headers=BOT | IN_B | {"X-Subject-Proof": proof})
    assert read.status_code == 401
    assert filed(client, proof, IN_A).status_code == 201


def test_the_cover_ends_ten_minutes_after_the_check(client: TestClient, clock: FixedClock) -> None:
    check = verified(client, **IN_A)
    clock.at += timedelta(minutes=9, seconds=59)
    assert reissue(client, check["id"]).status_code == 201
    clock.at += timedelta(seconds=1)
    r = reissue(client, check["id"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "cover_expired"


def test_a_proof_is_issued_only_for_the_customer_the_check_verified(client: TestClient) -> None:
    check = verified(client, **IN_A)
    r = reissue(client, check["id"], "C-0002")
    assert r.status_code == 403 and r.json()["error"]["code"] == "other_customer"
    # Another customer's check in the same conversation covers that customer only.
    other = verified(client, "C-0004", **IN_A)
    assert reissue(client, other["id"], "C-0004").json()["customer_id"] == "C-0004"
    assert reissue(client, other["id"], "C-0001").status_code == 403


def test_the_proof_states_the_checks_own_assurance_whatever_is_asked(
    client: TestClient,
) -> None:
    sms = verified(client, **IN_A)
    for asked in ("phone_password", "sms_code", "app_session", None):
        r = reissue(client, sms["id"], assurance=asked)
        assert r.status_code == 201, r.text
        assert r.json()["assurance"] == "sms_code"
    call = {"X-Conversation-Id": "call-1", "X-Caller-Line": MOBILES["C-0003"]}
    password = verified(client, "C-0003", "phone_password", **call)
    r = reissue(client, password["id"], "C-0003", headers=call, assurance="sms_code")
    assert r.json()["assurance"] == "phone_password"
    # ... and it files what the check could (an access copy needs an SMS code or stronger).
    ticket = client.post(
        "/v1/tickets",
        headers=BOT | call | {"X-Subject-Proof": r.json()["proof"], "Idempotency-Key": "k-1"},
        json={"type": "access_copy", "channel": "ivr", "language": "zh", "details": {}},
    )
    assert ticket.status_code == 201, ticket.text


def test_a_lower_assurance_is_never_upgraded(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a stronger way than the SMS code come (ranked above it), an SMS check gets
    nothing for a request that needs it."""
    monkeypatch.setitem(rules.ASSURANCE_RANK, "phone_password", 3)
    sms = verified(client, **IN_A)
    r = reissue(client, sms["id"], assurance="phone_password")
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_assurance"


def test_an_app_session_or_an_unfinished_check_issues_nothing(client: TestClient) -> None:
    app = app_proof(client)
    assert file_ticket(client, app, "unsubscribe_marketing").status_code == 201
    started = client.post(
        "/v1/verifications",
        headers=BOT | IN_A,
        json={"method": "sms_code", "mobile": MOBILES["C-0001"], "channel": "chat"},
    ).json()
    for vid in (started["id"], "not-a-check"):
        r = reissue(client, vid)
        assert r.status_code == 404 and r.json()["error"]["code"] == "verification_not_found"


def test_only_the_bot_asks(client: TestClient) -> None:
    check = verified(client, **IN_A)
    r = client.post(
        f"/v1/verifications/{check['id']}/proofs", headers=IN_A, json={"customer_id": "C-0001"}
    )
    assert r.status_code == 401
