from api_helpers import STAFF, file_ticket, new_ticket, sms_proof
from fastapi.testclient import TestClient


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "env": "dev"}


def test_sms_to_ticket(client: TestClient) -> None:
    t = new_ticket(client, "access_copy", {"scope": "all"})
    assert t["reference"].startswith("PR-2026-")
    assert t["status"] == "received"
    assert client.get(f"/v1/tickets/{t['reference']}", headers=STAFF).status_code == 200
    r = file_ticket(client, sms_proof(client), "complaint", {"summary": "x"})
    assert r.status_code == 201
