"""Audit: chained entries for every change and staff read; the database refuses edits."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from api_helpers import STAFF, new_ticket
from fastapi import FastAPI
from fastapi.testclient import TestClient


def test_chain_verifies(client: TestClient) -> None:
    new_ticket(client, "unsubscribe_marketing", {})
    r = client.get("/v1/audit/verify", headers=STAFF)
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is True and body["first_broken_id"] is None
    assert body["entries"] > 8  # demo consents, the ticket, its consent change and completion
    assert client.get("/v1/audit/verify").status_code == 401


def test_staff_reads_are_audited(client: TestClient, app: FastAPI) -> None:
    t = new_ticket(client)
    client.get(f"/v1/tickets/{t['reference']}", headers=STAFF)
    client.get("/v1/subjects/C-0001/consents", headers=STAFF)
    client.get("/v1/tickets", headers=STAFF, params={"customer_id": "C-0001"})
    with app.state.engine.connect() as conn:
        actions = conn.execute(
            sa.text(
                "SELECT action, actor FROM audit_entries WHERE actor LIKE 'staff:%' ORDER BY id"
            )
        ).all()
    assert [a for a, _ in actions] == [
        "staff.read_ticket",
        "staff.read_consents",
        "staff.list_tickets",
    ]


def test_entries_are_chained(client: TestClient, app: FastAPI) -> None:
    new_ticket(client)
    with app.state.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT prev_hash, hash FROM audit_entries ORDER BY id")).all()
    assert rows[0][0] == "0" * 64
    assert all(rows[i][0] == rows[i - 1][1] for i in range(1, len(rows)))


def test_database_refuses_edits(client: TestClient, app: FastAPI) -> None:
    new_ticket(client)
    for stmt in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(sa.exc.DBAPIError), app.state.engine.begin() as conn:
            conn.execute(sa.text(stmt))


def test_tampering_is_detected(client: TestClient, app: FastAPI) -> None:
    new_ticket(client)
    with app.state.engine.begin() as conn:
        # Simulate an attacker with DDL rights who bypasses the trigger.
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_no_update"))
        third = conn.execute(
            sa.text("SELECT id FROM audit_entries ORDER BY id LIMIT 1 OFFSET 2")
        ).scalar_one()
        conn.execute(
            sa.text("UPDATE audit_entries SET data = :d WHERE id = :i"),
            {"d": '{"granted":true}', "i": third},
        )
    body = client.get("/v1/audit/verify", headers=STAFF).json()
    assert body == {"valid": False, "entries": 3, "first_broken_id": third}
