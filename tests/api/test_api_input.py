"""Bad input: oversized bodies, parser errors in words, NUL, malformed proofs; assurance floors
on every action of the customer on a ticket."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import BOT, app_proof, file_ticket, new_ticket, sms_proof
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from api.core.limits import BodySizeLimit


def test_declared_oversized_body_refused_413(client: TestClient) -> None:
    big = b'{"method":"sms_code","mobile":"' + b"1" * (10 * 1024 * 1024) + b'"}'
    r = client.post(
        "/v1/verifications", headers=BOT | {"content-type": "application/json"}, content=big
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert r.json()["error"]["field"] == "body"


def test_chunked_oversized_body_refused_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"method":"sms_code","mobile":"'
        for _ in range(200):
            yield b"1" * 1024
        yield b'"}'

    r = client.post(
        "/v1/verifications", headers=BOT | {"content-type": "application/json"}, content=chunks()
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_limit_stops_reading_a_chunked_body() -> None:
    # 10 MB in 1 KiB chunks with no Content-Length: refused after the limit, the rest unread.
    consumed = 0
    sent: list[dict[str, Any]] = []
    reached_app = False

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        consumed += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": consumed < 10240}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal reached_app
        reached_app = True

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    asyncio.run(BodySizeLimit(app, max_bytes=64 * 1024)(scope, receive, send))
    assert sent[0]["status"] == 413 and not reached_app
    assert consumed == 65  # 64 KiB allowed, the 65th chunk passed the limit; 10175 never read


def test_body_under_the_limit_reaches_the_app(client: TestClient) -> None:
    r = client.post(
        "/v1/verifications",
        headers=BOT,
        json={"method": "sms_code", "mobile": "13800138000", "channel": "chat"},
    )
    assert r.status_code == 201


def test_malformed_json_says_where_in_words(client: TestClient) -> None:
    r = client.post(
        "/v1/verifications",
        headers=BOT | {"content-type": "application/json"},
        content=b'{\n  "method": "sms_code",\n  mobile: 1\n}',
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_json" and err["field"] == "body"
    assert err["message"] == (
        "the body is not valid JSON: expecting property name enclosed in double quotes "
        "at line 3, column 3 (character 29)"
    )


def test_wrong_field_is_named(client: TestClient) -> None:
    r = client.post("/v1/verifications", headers=BOT, json={"method": "sms_code"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "body.mobile"
    assert r.json()["error"]["message"] == "body.mobile: Field required"


def test_literal_backslash_u0000_text_is_accepted(client: TestClient) -> None:
    proof = sms_proof(client)
    text = "the app shows \\u0000 in the name field"  # backslash, u, four zeros: no NUL
    r = file_ticket(client, proof, "complaint", {"summary": text})
    assert r.status_code == 201, r.text
    assert r.json()["details"]["summary"] == text


@pytest.mark.parametrize(
    "raw",
    [b'{"summary": "a\\u0000b"}', b'{"summary": "a\\\\\\u0000b"}', b'{"summary": "a\x00b"}'],
    ids=["escape", "escape-after-escaped-backslash", "raw-byte"],
)
def test_real_nul_is_refused(client: TestClient, raw: bytes) -> None:
    r = client.post(
        "/v1/verifications", headers=BOT | {"content-type": "application/json"}, content=raw
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "nul_character"


def _forged(app: FastAPI, payload: Any) -> str:
    serializer = URLSafeTimedSerializer(app.state.settings.proof_secret, salt="subject-proof")
    return str(serializer.dumps(payload))


GOOD = {"jti": "a" * 32, "cid": "C-0001", "brand": "mini", "asr": "sms_code"}


@pytest.mark.parametrize(
    "payload",
    [
        GOOD | {"aud": "rights-api/subject", "exp": 10**30},
        GOOD | {"aud": "rights-api/subject", "exp": -(10**20)},
        GOOD | {"aud": "rights-api/subject", "exp": "soon"},
        GOOD | {"aud": "rights-api/subject", "exp": 1e308},
        GOOD | {"aud": "rights-api/subject", "exp": None},
        GOOD | {"aud": "console", "exp": 4102444800},
        GOOD | {"exp": 4102444800},
        ["not", "an", "object"],
        "text",
    ],
    ids=[
        "huge-exp",
        "negative-exp",
        "text-exp",
        "float-exp",
        "null-exp",
        "other-audience",
        "no-audience",
        "list",
        "string",
    ],
)
def test_malformed_proofs_answer_401(client: TestClient, app: FastAPI, payload: Any) -> None:
    r = client.get(
        "/v1/subjects/me/tickets", headers=BOT | {"X-Subject-Proof": _forged(app, payload)}
    )
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] in ("invalid_proof", "proof_expired")


def test_app_session_cannot_withdraw_a_deletion(client: TestClient) -> None:
    ticket = new_ticket(client, "deletion", {"ground": "consent_withdrawn"})
    weak = app_proof(client)
    r = client.post(
        f"/v1/tickets/{ticket['reference']}/withdraw",
        headers=BOT | {"X-Subject-Proof": weak},
        json={},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_assurance"
    # Reading its status stays open to the app session.
    read = client.get(f"/v1/tickets/{ticket['reference']}", headers=BOT | {"X-Subject-Proof": weak})
    assert read.status_code == 200 and read.json()["status"] == "received"
    strong = client.post(
        f"/v1/tickets/{ticket['reference']}/withdraw",
        headers=BOT | {"X-Subject-Proof": sms_proof(client)},
        json={},
    )
    assert strong.status_code == 200 and strong.json()["status"] == "withdrawn"


def test_other_customers_ticket_still_404_before_assurance(client: TestClient) -> None:
    ticket = new_ticket(client, "deletion", {"ground": "consent_withdrawn"})
    r = client.post(
        f"/v1/tickets/{ticket['reference']}/withdraw",
        headers=BOT | {"X-Subject-Proof": app_proof(client, "C-0002")},
        json={},
    )
    assert r.status_code == 404
