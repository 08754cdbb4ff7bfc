"""Parallel creations against a real uvicorn, on each database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa
from api_helpers import BOT, live_server, password_proof
from conftest import make_settings

from api.main import create_app

BODY = {"type": "complaint", "channel": "chat", "language": "zh", "details": {"summary": "x"}}


def test_twenty_parallel_creations_one_key_make_one_ticket(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    with live_server(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        proof = password_proof(http, "C-0001")
        headers = BOT | {"X-Subject-Proof": proof, "Idempotency-Key": "parallel-key"}

        def create(_i: int) -> httpx.Response:
            with httpx.Client(base_url=base, timeout=60) as c:
                return c.post("/v1/tickets", headers=headers, json=BODY)

        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(create, range(20)))
        codes = sorted(r.status_code for r in responses)
        assert set(codes) <= {200, 201, 409}, [r.text for r in responses]
        assert codes.count(201) == 1
        refs = {r.json()["reference"] for r in responses if r.status_code in (200, 201)}
        assert len(refs) == 1
        conflicts = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
        assert set(conflicts) <= {"idempotency_in_flight"}
        # Once done, every retry replays the first ticket.
        again = http.post("/v1/tickets", headers=headers, json=BODY)
        assert again.status_code == 200 and again.json()["reference"] in refs
        with app.state.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar() == 1


def test_parallel_creations_get_distinct_references(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    with live_server(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        proofs = [password_proof(http, f"C-000{1 + i % 4}") for i in range(16)]

        def create(i: int) -> httpx.Response:
            with httpx.Client(base_url=base, timeout=60) as c:
                return c.post(
                    "/v1/tickets",
                    json=BODY,
                    headers=BOT | {"X-Subject-Proof": proofs[i], "Idempotency-Key": f"k-{i}"},
                )

        with ThreadPoolExecutor(max_workers=16) as pool:
            responses = list(pool.map(create, range(16)))
        assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
        numbers = sorted(int(r.json()["reference"][-6:]) for r in responses)
        assert numbers == list(range(1, 17))
        verify = http.get(
            "/v1/audit/verify",
            headers={"Authorization": "Bearer " + app.state.settings.staff_token_list[0]},
        ).json()
        assert verify["valid"] is True
