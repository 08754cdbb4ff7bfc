"""Runs the issue-12 attacks against a live rights backend and prints the table (a command).

    PYTHONPATH=. .venv-api/bin/python scripts/attack_api.py [--databases sqlite,postgres]

For each database: a fresh SQLite file or PostgreSQL schema, the backend started as
scripts/api_run.sh starts it (migrations, then `uvicorn api.main:app` in its own process,
default settings), then with real parallelism (threads, one HTTP client each):
guessing passwords and SMS codes, a stalled first ticket request plus a retry with the same
key, verify polled under load, a database owner's rewrite / recomputation / truncation of the
audit trail, assurance on withdrawal, and bad input. Prints one markdown table per database.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_api import database, server  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from api.audit.models import AuditEntry  # noqa: E402
from api.audit.service import entry_hash  # noqa: E402
from api.core.database import make_engine  # noqa: E402
from api.core.migrate import upgrade_head  # noqa: E402

BOT: dict[str, str] = {}
STAFF: dict[str, str] = {}
SECRET: list[str] = []
MOBILES = {
    "C-0001": "13800138000",
    "C-0002": "13900139000",
    "C-0003": "13700137000",
    "C-0004": "13600136000",
}
PASSWORDS = {"C-0001": "246810", "C-0002": "135790", "C-0003": "112233", "C-0004": "908172"}
Row = tuple[str, str]


@contextmanager
def backend(url: str, tmp: Path, port: int | None = None) -> Iterator[str]:
    """Migrations, then the backend with its default settings (as scripts/api_run.sh)."""
    upgrade_head(url)
    with server(url, tmp, port=port) as (base, settings):
        BOT.update({"X-API-Key": settings.bot_api_key})
        STAFF.update({"Authorization": f"Bearer {settings.staff_token_list[0]}"})
        SECRET[:] = [settings.proof_secret]
        yield base


def parallel(n: int, job: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    def run(i: int) -> httpx.Response:
        with httpx.Client(base_url=BASE[0], timeout=120) as c:
            return job(c, i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


BASE: list[str] = []


def start(
    c: httpx.Client,
    method: str,
    mobile: str,
    address: str | None = None,
    **headers: str,
) -> httpx.Response:
    headers = BOT | ({"X-Client-Address": address} if address else {}) | headers
    channel = "ivr" if method == "phone_password" else "chat"
    body = {"method": method, "mobile": mobile, "channel": channel}
    return c.post("/v1/verifications", headers=headers, json=body)


def check(c: httpx.Client, vid: str, code: str) -> httpx.Response:
    return c.post(f"/v1/verifications/{vid}/check", headers=BOT, json={"code": code})


def summary(responses: list[httpx.Response]) -> str:
    statuses: Counter[str] = Counter()
    for r in responses:
        if r.status_code == 200:
            statuses[r.json()["status"]] += 1
        else:
            statuses[f"HTTP {r.status_code}"] += 1
    errors = sum(n for k, n in statuses.items() if k.startswith("HTTP 5"))
    parts = [f"{n} {k}" for k, n in sorted(statuses.items()) if not k.startswith("HTTP 5")]
    return ", ".join(parts) + f", {errors} errors"


def file_ticket(
    c: httpx.Client, proof: str, key: str, type_: str, details: dict[str, str]
) -> httpx.Response:
    body = {"type": type_, "channel": "ivr", "language": "zh", "details": details}
    headers = BOT | {"X-Subject-Proof": proof, "Idempotency-Key": key}
    return c.post("/v1/tickets", headers=headers, json=body)


def password_proof(c: httpx.Client, customer: str) -> str:
    vid = start(c, "phone_password", MOBILES[customer]).json()["id"]
    return str(check(c, vid, PASSWORDS[customer]).json()["proof"])


def sms_code(c: httpx.Client) -> str:
    return re.findall(r"\d{6}", c.get("/v1/dev/outbox").json()["items"][0]["body"])[0]


def guessing(c: httpx.Client) -> list[Row]:
    rows: list[Row] = []
    ids = [start(c, "phone_password", MOBILES["C-0003"]).json()["id"] for _ in range(32)]
    out = parallel(32, lambda h, i: check(h, ids[i], "000000"))
    right = check(c, start(c, "phone_password", MOBILES["C-0003"]).json()["id"], "112233")
    rows.append(
        (
            "32 parallel wrong phone passwords for one number (32 challenges, one guess each)",
            f"{summary(out)}; the right password just after: `{right.json()['status']}`",
        )
    )
    # SMS: three codes per number per hour are sent; a fourth start is 429. Across those
    # three challenges, five wrong guesses in all, however they are spread.
    ids = [start(c, "sms_code", MOBILES["C-0002"]).json()["id"] for _ in range(3)]
    out = parallel(15, lambda h, i: check(h, ids[i % 3], "0000000"))
    code = sms_code(c)
    after = check(c, ids[-1], code)
    rows.append(
        (
            "SMS code guesses: 15 parallel wrong codes spread over the 3 challenges of one hour"
            " (a newer code supersedes the older ones: `expired`)",
            f"{summary(out)}; the right code just after: `{after.json()['status']}`",
        )
    )
    return rows


def starts(c: httpx.Client) -> list[Row]:
    numbers = [f"1351234{i:04d}" for i in range(130)]
    address = "198.51.100.1"  # the attacker's address, as the bot reports it
    out = parallel(26, lambda h, i: start(h, "sms_code", numbers[i], address))
    out += [start(c, "sms_code", n, address) for n in numbers[26:]]
    codes = Counter(r.status_code for r in out)
    retry = next((r.headers.get("Retry-After") for r in out if r.status_code == 429), None)
    other = start(c, "sms_code", "13512349999", address="203.0.113.9").status_code
    return [
        (
            "130 SMS starts for different numbers from one client address (default limits)",
            f"{codes[201]} × 201, {codes[429]} × 429 (`Retry-After: {retry}`); "
            f"another client address meanwhile: {other}",
        )
    ]


def idempotency(c: httpx.Client, url: str) -> list[Row]:
    """The first request stalls inside its transaction (a lock the database owner holds)."""
    engine = sa.create_engine(url)  # a plain engine: its own BEGIN IMMEDIATE below on SQLite
    body = {"type": "complaint", "channel": "ivr", "language": "zh", "details": {"summary": "x"}}
    first_proof, fresh_proof = password_proof(c, "C-0001"), password_proof(c, "C-0001")

    def create(proof: str) -> httpx.Response:
        with httpx.Client(base_url=BASE[0], timeout=120) as h:
            headers = BOT | {"X-Subject-Proof": proof, "Idempotency-Key": "stalled"}
            return h.post("/v1/tickets", headers=headers, json=body)

    with engine.connect() as holder:
        if engine.dialect.name == "postgresql":
            holder.execute(sa.text("SELECT * FROM audit_head FOR UPDATE"))
        else:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(create, first_proof)
            time.sleep(1)
            retry = pool.submit(create, fresh_proof)
            time.sleep(7)  # longer than the retry's wait: the owner is slow, not dead
            holder.rollback()
            first_r, retry_r = first.result(), retry.result()
    if engine.dialect.name == "sqlite":
        engine.dispose()
    answers = [f"first {first_r.status_code}", f"retry {retry_r.status_code}"]
    if retry_r.status_code == 409:
        retry_r = create(fresh_proof)
        answers.append(f"retry after {retry_r.status_code}")
    with engine.connect() as conn:
        tickets = conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar()
    engine.dispose()
    same = retry_r.json().get("reference") == first_r.json().get("reference")
    return [
        (
            "a first ticket request stalled 8 s inside its transaction (the 120 s window is gone:"
            " a claim never goes stale), then retried with the same key and a fresh proof",
            f"{', '.join(answers)}; {tickets} ticket{'s' if tickets != 1 else ''}"
            f"{', same reference' if same else ''}",
        )
    ]


def audit(c: httpx.Client, url: str) -> list[Row]:
    rows: list[Row] = []
    # C-0003 is locked by the guessing above (and has used up its starts).
    proofs = [password_proof(c, ("C-0001", "C-0002", "C-0004")[i % 3]) for i in range(60)]
    done, answers = threading.Event(), []

    def poll() -> None:
        with httpx.Client(base_url=BASE[0], timeout=120) as h:
            while not done.is_set():
                answers.append(h.get("/v1/audit/verify", headers=STAFF).json()["valid"])

    pollers = [threading.Thread(target=poll) for _ in range(3)]
    for p in pollers:
        p.start()

    def file(h: httpx.Client, i: int) -> httpx.Response:
        return file_ticket(h, proofs[i], f"a-{i}", "complaint", {"summary": "x"})

    for round_ in range(5):
        parallel(12, functools.partial(lambda r, h, i: file(h, 12 * r + i), round_))
    done.set()
    for p in pollers:
        p.join()
    rows.append(
        (
            "`GET /v1/audit/verify` polled by 3 clients while 60 tickets are filed 12 at a time",
            f"{answers.count(False)} of {len(answers)} calls said `valid: false`",
        )
    )
    c.get("/v1/audit/verify", headers=STAFF)  # anchors the head
    engine = make_engine(url)

    def tamper(statements: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            else:
                conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_no_update"))
                conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_no_delete"))
            for sql, params in statements:
                conn.execute(sa.text(sql), params)
        return dict(c.get("/v1/audit/verify", headers=STAFF).json())

    with Session(engine) as session:
        entries = list(session.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars())
        session.expunge_all()
    originals = [(e.id, e.data, e.prev_hash, e.hash) for e in entries]
    target = next(e.id for e in entries if e.action == "ticket.created")
    # Rewrite one entry and recompute the whole chain, as someone without the key can: the
    # plain SHA-256 chain the backend accepted before (and the entries marked unkeyed).
    statements, prev = [], "0" * 64
    for e in entries:
        e.data = '{"type":"access_copy"}' if e.id == target else e.data
        e.prev_hash = prev
        e.hash = entry_hash(None, e)
        prev = e.hash
        statements.append(
            (
                "UPDATE audit_entries SET data = :d, prev_hash = :p, hash = :h, keyed = :k "
                "WHERE id = :i",
                {"d": e.data, "p": e.prev_hash, "h": e.hash, "k": False, "i": e.id},
            )
        )
    statements.append(
        ("UPDATE audit_head SET last_id = :i, last_hash = :h", {"i": entries[-1].id, "h": prev})
    )
    rewritten = tamper(statements)
    rows.append(
        (
            "audit rows rewritten with the triggers bypassed, every hash recomputed (and marked"
            " unkeyed)",
            f"`valid: {str(rewritten['valid']).lower()}`, first_broken_id "
            f"{rewritten['first_broken_id']}",
        )
    )
    # Put the original rows back, then delete the newest 5.
    restore: list[tuple[str, dict[str, Any]]] = [
        (
            "UPDATE audit_entries SET data = :d, prev_hash = :p, hash = :h, keyed = :k "
            "WHERE id = :i",
            {"d": data, "p": p, "h": h, "k": True, "i": i},
        )
        for i, data, p, h in originals
    ]
    restore.append(
        (
            "UPDATE audit_head SET last_id = :i, last_hash = :h",
            {"i": originals[-1][0], "h": originals[-1][3]},
        )
    )
    restored = tamper(restore)
    keep_id, keep_hash = originals[-6][0], originals[-6][3]
    truncated = tamper(
        [
            ("DELETE FROM audit_entries WHERE id > :i", {"i": keep_id}),
            ("UPDATE audit_head SET last_id = :i, last_hash = :h", {"i": keep_id, "h": keep_hash}),
        ]
    )
    engine.dispose()
    rows.append(
        (
            "the newest 5 audit entries deleted (head row rewritten to match)",
            f"`valid: {str(truncated['valid']).lower()}`, first_broken_id "
            f"{truncated['first_broken_id']} (restored chain before: "
            f"`valid: {str(restored['valid']).lower()}`)",
        )
    )
    return rows


def assurance(c: httpx.Client) -> list[Row]:
    proof = password_proof(c, "C-0001")
    ticket = file_ticket(c, proof, "del", "deletion", {"ground": "consent_withdrawn"}).json()
    token = c.post("/v1/dev/app-sessions", json={"customer_id": "C-0001"}).json()
    weak = c.post("/v1/verifications/app-session", headers=BOT, json=token).json()["proof"]
    r = c.post(
        f"/v1/tickets/{ticket['reference']}/withdraw",
        headers=BOT | {"X-Subject-Proof": weak},
        json={},
    )
    return [
        (
            "an app-session proof withdrawing a deletion ticket filed with the phone password",
            f"{r.status_code} `{r.json()['error']['code']}`",
        )
    ]


def bad_input(c: httpx.Client) -> list[Row]:
    from itsdangerous import URLSafeTimedSerializer

    secret = SECRET[0]
    forged = URLSafeTimedSerializer(secret, salt="subject-proof").dumps(
        {
            "jti": "a" * 32,
            "cid": "C-0001",
            "brand": "mini",
            "asr": "sms_code",
            "aud": "rights-api/subject",
            "exp": 10**30,
        }
    )
    absurd = c.get("/v1/subjects/me/tickets", headers=BOT | {"X-Subject-Proof": forged})
    big = b'{"method":"sms_code","mobile":"' + b"1" * (10 * 1024 * 1024) + b'"}'
    began = time.perf_counter()
    try:
        r = c.post(
            "/v1/verifications",
            headers=BOT | {"content-type": "application/json"},
            content=big,
        )
        huge = f"{r.status_code} `{r.json()['error']['code']}`"
    except httpx.HTTPError as exc:  # the server may close before the client finished sending
        huge = f"connection closed by the server ({type(exc).__name__})"
    took = time.perf_counter() - began
    proof = password_proof(c, "C-0001")
    text = file_ticket(c, proof, "nul", "complaint", {"summary": "shows \\u0000 in the app"})
    return [
        (
            "a signed proof with an absurd `exp`; a 10 MB body; text containing the six "
            "characters `\\u0000`",
            f"{absurd.status_code} `{absurd.json()['error']['code']}`; {huge} in {took:.2f} s; "
            f"{text.status_code} (stored as typed)",
        )
    ]


def _codes(responses: list[httpx.Response]) -> str:
    counts = Counter(r.status_code for r in responses)
    return ", ".join(f"{n} × {code}" for code, n in sorted(counts.items()))


def spoofing(c: httpx.Client) -> list[Row]:
    """Second round, point 1: rotating the headers a client can set."""
    numbers = [f"1361234{i:04d}" for i in range(125)]
    rotated = [
        start(c, "sms_code", n, f"198.51.{i // 250}.{i % 250}", **{"X-Conversation-Id": "one"})
        for i, n in enumerate(numbers)
    ]
    line = [
        start(
            c, "phone_password", "13312345678", "192.0.2.77", **{"X-Conversation-Id": f"call-{i}"}
        )
        for i in range(60)
    ]
    return [
        (
            "125 SMS starts in one conversation, each with a new `X-Client-Address`",
            _codes(rotated),
        ),
        ("60 phone-password starts for one number from 60 conversations", _codes(line)),
    ]


def forwarded(c: httpx.Client) -> list[Row]:
    """Last (the loopback peer's allowance is shared with the rows before): X-Forwarded-For."""
    numbers = [f"1371234{i:04d}" for i in range(150)]
    out = [
        c.post(
            "/v1/verifications",
            headers=BOT | {"X-Forwarded-For": f"203.0.{i // 250}.{i % 250}"},
            json={"method": "sms_code", "mobile": n, "channel": "chat"},
        )
        for i, n in enumerate(numbers)
    ]
    return [
        (
            "150 SMS starts from loopback, each with a new `X-Forwarded-For` (no proxy trusted;"
            " the peer has used part of its 120 on the rows above)",
            _codes(out),
        )
    ]


def _console(login: str, password: str) -> tuple[httpx.Client, str, int]:
    h = httpx.Client(base_url=BASE[0], timeout=60)
    page = h.get("/console/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    data = {"login": login, "password": password, "csrf_token": csrf.group(1) if csrf else ""}
    r = h.post("/console/login", data=data)
    token = re.search(r'name="csrf_token" value="([^"]+)"', h.get("/console/queue").text)
    return h, token.group(1) if token else "", r.status_code


def console(c: httpx.Client) -> list[Row]:
    """Second round, points 3, 4 and 9: parallel assignment, notes, sign-in walk-around (last:
    it holds the address)."""
    demo, rows = "demo-console-2026", []
    reference = file_ticket(c, password_proof(c, "C-0002"), "acc", "access_copy", {}).json()[
        "reference"
    ]
    lead, lead_csrf, _ = _console("lead.demo", demo)
    agent, agent_csrf, _ = _console("agent.demo", demo)
    sessions = [(lead, lead_csrf, "lead.demo"), (agent, agent_csrf, "agent.demo")]

    def assign(i: int) -> httpx.Response:
        who, csrf, login = sessions[i % 2]
        with httpx.Client(base_url=BASE[0], timeout=60, cookies=who.cookies) as h:
            path = f"/console/tickets/{reference}/assignment"
            return h.post(path, data={"assignee": login, "csrf_token": csrf})

    with ThreadPoolExecutor(max_workers=12) as pool:
        assigned = list(pool.map(assign, range(12)))
    rows.append(
        ("12 parallel assignments of one ticket (6 by the lead, 6 by the agent)", _codes(assigned))
    )
    path = f"/console/tickets/{reference}/notes"
    notes = [
        agent.post(path, data={"note": "x" * 2000, "csrf_token": agent_csrf}) for _ in range(120)
    ]
    page = agent.get(f"/console/tickets/{reference}")
    rows.append(
        (
            "120 notes of 2,000 characters on one ticket",
            f"{_codes(notes)}; the ticket page {len(page.content) / 1e6:.2f} MB",
        )
    )
    for h in (lead, agent):
        h.close()
    answers: Counter[int] = Counter()
    for round_ in range(6):
        for i in range(4):
            h, _, status = _console("lead.demo", f"guess-{round_}-{i}")
            answers[status] += 1
            h.close()
        h, _, _ = _console("agent.demo", demo)
        h.close()
    rows.append(
        (
            "6 × (4 wrong passwords for lead.demo, then one own sign-in as agent.demo),"
            " one address",
            f"{answers[401]} guesses checked (401), {answers[429]} × 429",
        )
    )
    return rows


def lockout(c: httpx.Client) -> list[Row]:
    """Second round, point 5 and the smaller items of point 9."""
    mobile, right = MOBILES["C-0004"], PASSWORDS["C-0004"]
    last: dict[str, Any] = {}
    for _ in range(5):
        vid = start(c, "phone_password", mobile, **{"X-Conversation-Id": "outsider"}).json()
        last = check(c, vid["id"], "000000").json()
    own = start(c, "phone_password", mobile, **{"X-Caller-Line": mobile}).json()
    mine = check(c, own["id"], right).json()
    first = start(c, "sms_code", MOBILES["C-0003"], **{"X-Conversation-Id": "me"}).json()
    first_code = sms_code(c)
    second = start(c, "sms_code", MOBILES["C-0003"], **{"X-Conversation-Id": "me"}).json()
    second_code = sms_code(c)
    newer = check(c, second["id"], second_code).json()["status"]
    older = check(c, first["id"], first_code).json()["status"]
    keyed = [
        file_ticket(c, password_proof(c, who), "shared-key", "complaint", {"summary": "x"})
        for who in ("C-0001", "C-0002")
    ]
    return [
        (
            "5 wrong phone passwords for C-0004 from an outsider's conversation, then the "
            "customer's own call with the right one",
            f"outsider: `{last['status']}` until {last.get('locked_until')}, ways through "
            f"{[w['way'] for w in last.get('ways_through', [])]}; customer: `{mine['status']}`",
        ),
        (
            "two SMS codes for one number in one conversation: the newer verifies, then the older",
            f"newer `{newer}`, older `{older}`",
        ),
        (
            "two customers file with the same Idempotency-Key",
            ", ".join(str(r.status_code) for r in keyed),
        ),
    ]


def attack(kind: str, port: int | None = None) -> list[Row]:
    with (
        tempfile.TemporaryDirectory(prefix="rights-attack-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        with (
            backend(url, Path(tmp), port) as base,
            httpx.Client(base_url=base, timeout=120) as c,
        ):
            BASE[:] = [base]
            rows = guessing(c) + idempotency(c, url) + audit(c, url)
            rows += assurance(c) + bad_input(c) + starts(c)
            rows += spoofing(c) + console(c) + lockout(c) + forwarded(c)
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--port", type=int, help="the backend's port (default: a free one)")
    args = parser.parse_args()
    for kind in args.databases.split(","):
        print(f"\n### {kind}\n\n| what was tried | what happened |\n|---|---|")
        for tried, happened in attack(kind.strip(), args.port):
            print(f"| {tried} | {happened} |")


if __name__ == "__main__":
    main()
