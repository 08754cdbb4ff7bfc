"""Small drivers for the API flows used across the tests."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn
from fastapi.testclient import TestClient

BOT_KEY = "test-bot-key-0123456789abcdef"
STAFF_TOKEN = "test-staff-token-0123456789abcdef"
OTHER_STAFF_TOKEN = "test-staff-token-second-0123456789"

BOT = {"X-API-Key": BOT_KEY}
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
MOBILES = {
    "C-0001": "13800138000",
    "C-0002": "13900139000",
    "C-0003": "13700137000",
    "C-0004": "13600136000",
}
PASSWORDS = {"C-0001": "246810", "C-0002": "135790", "C-0003": "112233", "C-0004": "908172"}


def start_sms(client: TestClient, mobile: str, language: str = "zh") -> dict[str, Any]:
    r = client.post(
        "/v1/verifications",
        headers=BOT,
        json={"method": "sms_code", "mobile": mobile, "channel": "chat", "language": language},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


CODE_SMS = re.compile(r"(?:验证码是|verification code is )(\d{6})")


def last_code(client: TestClient) -> str:
    """The code of the newest verification SMS (filed requests are told by SMS too)."""
    for item in client.get("/v1/dev/outbox").json()["items"]:
        match = CODE_SMS.search(item["body"])
        if item["kind"] == "sms" and match:
            return match.group(1)
    raise AssertionError("no verification code in the outbox")


def sms_proof(client: TestClient, customer_id: str = "C-0001") -> str:
    v = start_sms(client, MOBILES[customer_id])
    r = client.post(
        f"/v1/verifications/{v['id']}/check", headers=BOT, json={"code": last_code(client)}
    )
    assert r.json()["status"] == "verified", r.text
    return str(r.json()["proof"])


def app_proof(client: TestClient, customer_id: str = "C-0001") -> str:
    token = client.post("/v1/dev/app-sessions", json={"customer_id": customer_id}).json()
    r = client.post("/v1/verifications/app-session", headers=BOT, json=token)
    return str(r.json()["proof"])


def file_ticket(
    client: TestClient,
    proof: str,
    type_: str,
    details: dict[str, Any] | None = None,
    key: str | None = None,
    language: str = "zh",
    channel: str = "chat",
) -> Any:
    return client.post(
        "/v1/tickets",
        headers=BOT | {"X-Subject-Proof": proof, "Idempotency-Key": key or uuid.uuid4().hex},
        json={"type": type_, "channel": channel, "language": language, "details": details or {}},
    )


def new_ticket(
    client: TestClient,
    type_: str = "access_copy",
    details: dict[str, Any] | None = None,
    customer_id: str = "C-0001",
) -> Any:
    r = file_ticket(client, sms_proof(client, customer_id), type_, details)
    assert r.status_code == 201, r.text
    return r.json()


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Runs the app under a real uvicorn on a free loopback port, started as
    scripts/api_run.sh starts it (uvicorn's proxy headers off: the app applies its own)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def password_proof(http: httpx.Client, customer_id: str) -> str:
    v = http.post(
        "/v1/verifications",
        headers=BOT,
        json={"method": "phone_password", "mobile": MOBILES[customer_id], "channel": "ivr"},
    ).json()
    r = http.post(
        f"/v1/verifications/{v['id']}/check", headers=BOT, json={"code": PASSWORDS[customer_id]}
    )
    return str(r.json()["proof"])
