"""Attacks with real parallelism against a running uvicorn, on SQLite and PostgreSQL.

Idempotency: a first request stalled mid-creation, long past any window, and a retry with the
same key and a fresh proof make exactly one ticket.

Guessing: parallel wrong phone passwords or SMS codes for one number never get more than the
allowed number of guesses checked, across challenges. Starting verifications is limited per
client address, per channel and overall, and every worker agrees on the counts.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from api_helpers import BOT, MOBILES, PASSWORDS, live_server, password_proof
from conftest import DEFAULT_NOW, make_settings
from fastapi.testclient import TestClient

from api.core.clock import FixedClock
from api.main import create_app
from api.tickets import due

UNKNOWN = "13512345670"


def _start(http: httpx.Client, method: str, mobile: str, **extra: Any) -> httpx.Response:
    channel = "ivr" if method == "phone_password" else "chat"
    return http.post(
        "/v1/verifications",
        headers=BOT | extra.pop("headers", {}),
        json={"method": method, "mobile": mobile, "channel": channel},
    )


def _parallel_checks(bases: list[str], ids: list[str], code: str) -> list[httpx.Response]:
    """One guess per challenge, all at once, spread over the given API workers."""

    def check(i: int) -> httpx.Response:
        with httpx.Client(base_url=bases[i % len(bases)], timeout=120) as c:
            return c.post(f"/v1/verifications/{ids[i]}/check", headers=BOT, json={"code": code})

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        return list(pool.map(check, range(len(ids))))


def _statuses(responses: list[httpx.Response]) -> Counter[str]:
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    return Counter(r.json()["status"] for r in responses)


def test_parallel_wrong_passwords_never_exceed_the_limit(db_url: str, tmp_path: Path) -> None:
    # Two API workers on one database, as behind a load balancer.
    app = create_app(make_settings(db_url, tmp_path))
    other = create_app(make_settings(db_url, tmp_path))
    with (
        live_server(app) as base,
        live_server(other) as base2,
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        ids = [_start(http, "phone_password", MOBILES["C-0003"]).json()["id"] for _ in range(32)]
        statuses = _statuses(_parallel_checks([base, base2], ids, "000000"))
        # Four answered invalid, the fifth wrong guess locked the number, the rest were refused
        # unchecked.
        assert statuses == Counter({"invalid": 4, "locked": 28})
        right = _start(http, "phone_password", MOBILES["C-0003"]).json()["id"]
        after = http.post(
            f"/v1/verifications/{right}/check", headers=BOT, json={"code": PASSWORDS["C-0003"]}
        ).json()
        assert after["status"] == "locked" and after["proof"] is None
    with app.state.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT method, failures FROM guess_locks")).all()
    assert rows == [("phone_password", 5)]


def _newest_code(http: httpx.Client, mobile: str) -> str:
    if mobile == UNKNOWN:
        return "123456"  # nothing is sent to an unknown number; no code can verify it
    body = http.get("/v1/dev/outbox").json()["items"][0]["body"]
    return str(re.findall(r"\d{6}", body)[0])


@pytest.mark.parametrize("mobile", [MOBILES["C-0001"], UNKNOWN], ids=["registered", "unknown"])
def test_sms_guesses_are_counted_across_challenges(
    db_url: str, tmp_path: Path, mobile: str
) -> None:
    app = create_app(make_settings(db_url, tmp_path, codes_per_hour=20))
    with live_server(app) as base, httpx.Client(base_url=base, timeout=120) as http:
        # One wrong guess per fresh challenge (each supersedes the one before) ...
        for _ in range(3):
            vid = _start(http, "sms_code", mobile).json()["id"]
            r = http.post(f"/v1/verifications/{vid}/check", headers=BOT, json={"code": "0000000"})
            assert r.json()["status"] == "invalid"
        # ... then six at once at the next one: the number still gets five in all.
        vid = _start(http, "sms_code", mobile).json()["id"]
        statuses = _statuses(_parallel_checks([base], [vid] * 6, "0000000"))
        assert statuses == Counter({"invalid": 1, "locked": 5})
        fresh = _start(http, "sms_code", mobile).json()["id"]
        code = _newest_code(http, mobile)
        after = http.post(f"/v1/verifications/{fresh}/check", headers=BOT, json={"code": code})
        assert after.json()["status"] == "locked" and after.json()["proof"] is None


def test_starts_limited_per_client_address(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path, starts_per_address=5))
    with TestClient(app) as client:
        numbers = [f"1351234{i:04d}" for i in range(20)]
        codes = [_start(client, "sms_code", n).status_code for n in numbers]  # type: ignore[arg-type]
        assert codes == [201] * 5 + [429] * 15
        refused = _start(client, "sms_code", numbers[0])  # type: ignore[arg-type]
        assert refused.json()["error"]["code"] == "too_many_verifications"
        assert 0 < int(refused.headers["Retry-After"]) <= 600
        # Another customer's address (as the bot reports it) is not affected.
        other = _start(
            client,  # type: ignore[arg-type]
            "sms_code",
            numbers[1],
            headers={"X-Client-Address": "203.0.113.7"},
        )
        assert other.status_code == 201


def test_starts_limited_per_channel(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path, starts_per_channel=3))
    with TestClient(app) as client:
        chat = [
            _start(
                client,  # type: ignore[arg-type]
                "sms_code",
                f"1351234{i:04d}",
                headers={"X-Client-Address": f"198.51.100.{i}"},
            ).status_code
            for i in range(5)
        ]
        assert chat == [201] * 3 + [429] * 2
        ivr = _start(client, "phone_password", MOBILES["C-0002"])  # type: ignore[arg-type]
        assert ivr.status_code == 201


def test_past_windows_are_purged(db_url: str, tmp_path: Path) -> None:
    clock = FixedClock(DEFAULT_NOW)
    app = create_app(make_settings(db_url, tmp_path), clock=clock)
    with TestClient(app) as client:
        assert _start(client, "sms_code", MOBILES["C-0001"]).status_code == 201  # type: ignore[arg-type]
        clock.at += timedelta(seconds=app.state.settings.start_window_seconds)
        assert _start(client, "sms_code", MOBILES["C-0002"]).status_code == 201  # type: ignore[arg-type]
    with app.state.engine.connect() as conn:
        windows = conn.execute(sa.text("SELECT DISTINCT window_start FROM rate_counters")).all()
    assert len(windows) == 1


def test_parallel_starts_respect_the_global_ceiling(db_url: str, tmp_path: Path) -> None:
    # Two API workers share the counts through the database.
    apps = [create_app(make_settings(db_url, tmp_path, starts_global=6)) for _ in range(2)]

    def start(i: int) -> httpx.Response:
        with httpx.Client(base_url=bases[i % 2], timeout=120) as c:
            return _start(
                c,
                "sms_code",
                f"1351234{i:04d}",
                headers={"X-Client-Address": f"198.51.100.{i}"},
            )

    with live_server(apps[0]) as first, live_server(apps[1]) as second:
        bases = [first, second]
        with ThreadPoolExecutor(max_workers=16) as pool:
            responses = list(pool.map(start, range(16)))
    codes = Counter(r.status_code for r in responses)
    assert codes == Counter({201: 6, 429: 10}), [r.text for r in responses]
    assert all("Retry-After" in r.headers for r in responses if r.status_code == 429)


def test_stalled_first_request_and_retry_make_one_ticket(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(DEFAULT_NOW)
    app = create_app(make_settings(db_url, tmp_path, idempotency_wait_seconds=1), clock=clock)
    stalled, release = threading.Event(), threading.Event()
    real_due_at = due.due_at

    def slow_due_at(*args: Any) -> Any:
        # The first creation stalls inside its transaction, after claiming the key.
        if not stalled.is_set():
            stalled.set()
            release.wait(60)
        return real_due_at(*args)

    monkeypatch.setattr(due, "due_at", slow_due_at)
    body = {"type": "complaint", "channel": "ivr", "language": "zh", "details": {"summary": "x"}}

    def create(proof: str) -> httpx.Response:
        with httpx.Client(base_url=base, timeout=120) as c:
            headers = BOT | {"X-Subject-Proof": proof, "Idempotency-Key": "stalled-key"}
            return c.post("/v1/tickets", headers=headers, json=body)

    with live_server(app) as base, httpx.Client(base_url=base, timeout=120) as http:
        first_proof, fresh_proof = password_proof(http, "C-0001"), password_proof(http, "C-0001")
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(create, first_proof)
            assert stalled.wait(30)
            clock.at += timedelta(minutes=5)  # far past the old 120 s take-over window
            retry = pool.submit(create, fresh_proof)
            time.sleep(2)
            release.set()
            first_r, retry_r = first.result(), retry.result()
        assert first_r.status_code == 201, first_r.text
        reference = first_r.json()["reference"]
        # PostgreSQL answers 409 while the owner holds the key; SQLite makes the retry wait.
        if retry_r.status_code == 409:
            assert retry_r.json()["error"]["code"] == "idempotency_in_flight"
            retry_r = create(fresh_proof)
        assert retry_r.status_code == 200 and retry_r.json()["reference"] == reference
    with app.state.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar() == 1


# ---------------------------------------------------------------- the audit trail


def _staff_headers(app: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + app.state.settings.staff_token_list[0]}


def test_verify_stays_valid_under_concurrent_writes(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    body = {"type": "complaint", "channel": "ivr", "language": "zh", "details": {"summary": "x"}}
    with live_server(app) as base, httpx.Client(base_url=base, timeout=120) as http:
        proofs = [password_proof(http, f"C-000{1 + i % 4}") for i in range(24)]
        done = threading.Event()

        def file(i: int) -> int:
            with httpx.Client(base_url=base, timeout=120) as c:
                headers = BOT | {"X-Subject-Proof": proofs[i], "Idempotency-Key": f"w-{i}"}
                return c.post("/v1/tickets", headers=headers, json=body).status_code

        def poll() -> list[bool]:
            seen: list[bool] = []
            with httpx.Client(base_url=base, timeout=120) as c:
                while not done.is_set() or not seen:
                    seen.append(
                        c.get("/v1/audit/verify", headers=_staff_headers(app)).json()["valid"]
                    )
            return seen

        with ThreadPoolExecutor(max_workers=8) as pool:
            pollers = [pool.submit(poll) for _ in range(2)]
            codes = list(pool.map(file, range(24)))
            done.set()
            answers = [v for p in pollers for v in p.result()]
        assert codes == [201] * 24
        assert answers and all(answers), f"{answers.count(False)} of {len(answers)} said invalid"
        final = http.get("/v1/audit/verify", headers=_staff_headers(app)).json()
        assert final["valid"] is True


def _tamper(app: Any, statements: list[tuple[str, dict[str, Any]]]) -> None:
    """What a database owner can do: bypass the append-only triggers and edit the rows."""
    with app.state.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_no_delete"))
        for sql, params in statements:
            conn.execute(sa.text(sql), params)


def _truncation(keep_id: int, keep_hash: str) -> list[tuple[str, dict[str, Any]]]:
    """Statements that delete the entries after `keep_id` and set the head back to it."""
    return [
        ("DELETE FROM audit_entries WHERE id > :i", {"i": keep_id}),
        (
            "UPDATE audit_head SET last_id = :i, last_hash = :h WHERE id = 1",
            {"i": keep_id, "h": keep_hash},
        ),
    ]


def _recomputed_chain(
    app: Any, change: dict[int, str], keyed: bool
) -> list[tuple[str, dict[str, Any]]]:
    """Statements that rewrite entries' data and recompute every hash (without the key)."""
    from api.audit.models import GENESIS_HASH, AuditEntry
    from api.audit.service import entry_hash

    with app.state.session_factory() as s:
        entries = list(s.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars())
        s.expunge_all()
    prev, out = GENESIS_HASH, []
    for e in entries:
        e.data = change.get(e.id, e.data)
        e.prev_hash = prev
        e.hash = entry_hash(None, e)  # the attacker has no audit key: plain SHA-256
        prev = e.hash
        out.append(
            (
                "UPDATE audit_entries SET data = :d, prev_hash = :p, hash = :h, keyed = :k "
                "WHERE id = :i",
                {"d": e.data, "p": e.prev_hash, "h": e.hash, "k": keyed, "i": e.id},
            )
        )
    out.append(
        (
            "UPDATE audit_head SET last_id = :i, last_hash = :h WHERE id = 1",
            {"i": entries[-1].id, "h": prev},
        )
    )
    return out


def _ticket_trail(client: TestClient) -> None:
    from api_helpers import new_ticket

    for _ in range(3):
        new_ticket(client)


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed-flag-kept", "marked-unkeyed"])
def test_rewrite_with_recomputed_hashes_is_detected(
    db_url: str, tmp_path: Path, keyed: bool
) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    with TestClient(app) as client:
        _ticket_trail(client)
        assert client.get("/v1/audit/verify", headers=_staff_headers(app)).json()["valid"]
        with app.state.engine.connect() as conn:
            target = conn.execute(
                sa.text("SELECT min(id) FROM audit_entries WHERE action = 'ticket.created'")
            ).scalar_one()
        _tamper(app, _recomputed_chain(app, {target: '{"type":"complaint"}'}, keyed))
        body = client.get("/v1/audit/verify", headers=_staff_headers(app)).json()
    assert body["valid"] is False
    assert body["first_broken_id"] is not None and body["first_broken_id"] <= target + 20


def test_recomputation_without_changes_but_unkeyed_is_detected(db_url: str, tmp_path: Path) -> None:
    # Even a faithful copy recomputed without the key fails: only the key holder can chain.
    app = create_app(make_settings(db_url, tmp_path, audit_checkpoint_seconds=0))
    with TestClient(app) as client:
        _ticket_trail(client)
        settings = app.state.settings
        settings.anchor_path.unlink()  # no checkpoint to lean on
        _tamper(app, _recomputed_chain(app, {}, keyed=True))
        body = client.get("/v1/audit/verify", headers=_staff_headers(app)).json()
    assert body["valid"] is False and body["first_broken_id"] is not None


def test_truncation_of_the_newest_entries_is_detected(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    with TestClient(app) as client:
        _ticket_trail(client)
        assert client.get("/v1/audit/verify", headers=_staff_headers(app)).json()["valid"]
        with app.state.engine.connect() as conn:
            ids = conn.execute(sa.text("SELECT id, hash FROM audit_entries ORDER BY id")).all()
        keep_id, keep_hash = ids[-6]
        _tamper(app, _truncation(keep_id, keep_hash))
        body = client.get("/v1/audit/verify", headers=_staff_headers(app)).json()
    # The chain that is left is consistent; only the checkpoint shows what is missing.
    assert body == {"valid": False, "entries": len(ids) - 5, "first_broken_id": keep_id + 1}


def test_forged_checkpoint_is_detected(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    with TestClient(app) as client:
        _ticket_trail(client)
        path = app.state.settings.anchor_path
        lines = path.read_text().splitlines()
        assert lines, "the start wrote a checkpoint"
        with path.open("a") as f:
            f.write('{"id":1,"hash":"' + "f" * 64 + '","at":"x","sig":"00"}\n')
        assert client.get("/v1/audit/verify", headers=_staff_headers(app)).json()["valid"] is False
