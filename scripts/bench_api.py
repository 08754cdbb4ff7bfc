"""Ticket-creation benchmark of the rights backend (a command, not a test).

    PYTHONPATH=. .venv-api/bin/python scripts/bench_api.py [--n1 150] [--n16 400]

For SQLite and PostgreSQL: starts a real uvicorn on a free loopback port against a fresh
database, prepares one subject proof per creation beforehand (signed with the server's proof
secret, exactly what a verification check returns), then measures POST /v1/tickets at
concurrency 1 and 16 with httpx. Beside it, the raw rate of the same ticket INSERT + COMMIT
straight into the same database, and the ratio API/raw.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.core.database import make_engine  # noqa: E402
from api.core.migrate import upgrade_head  # noqa: E402
from api.core.settings import Settings  # noqa: E402
from api.core.tokens import sign_proof  # noqa: E402

PG_URL = os.environ.get("RIGHTS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CUSTOMERS = [("C-0001", "mini"), ("C-0002", "bmw"), ("C-0003", "mini"), ("C-0004", "bmw")]
BODY = {
    "type": "complaint",
    "channel": "chat",
    "language": "zh",
    "details": {"summary": "benchmark"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    schema = f"rights_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def server(
    url: str, tmp: Path, extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[tuple[str, Settings]]:
    """A real uvicorn in its own process on `port` (else a free one); yields its URL and its
    secrets."""
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        RIGHTS_ENV="dev",
        RIGHTS_DATABASE_URL=url,
        RIGHTS_BOT_API_KEY=secrets.token_urlsafe(24),
        RIGHTS_STAFF_TOKENS=secrets.token_urlsafe(24),
        RIGHTS_PROOF_SECRET=secrets.token_urlsafe(24),
        RIGHTS_LOOKUP_PEPPER=secrets.token_urlsafe(24),
        RIGHTS_DEV_SECRETS_FILE=str(tmp / "secrets.env"),
        RIGHTS_AUDIT_ANCHOR_FILE=str(tmp / "audit-anchors.jsonl"),
        **(extra_env or {}),
    )
    settings = Settings(
        env="dev",
        database_url=url,
        bot_api_key=env["RIGHTS_BOT_API_KEY"],
        staff_tokens=env["RIGHTS_STAFF_TOKENS"],
        proof_secret=env["RIGHTS_PROOF_SECRET"],
    )
    port = port or free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--no-proxy-headers",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.2)
        yield base, settings
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def run(n: int, concurrency: int, job: Callable[[int], None]) -> tuple[float, list[float]]:
    latencies: list[float] = [0.0] * n

    def timed(i: int) -> None:
        begin = time.perf_counter()
        job(i)
        latencies[i] = time.perf_counter() - begin

    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(timed, range(n)))
    return n / (time.perf_counter() - begin), latencies


def api_bench(base: str, settings: Settings, n: int, concurrency: int) -> tuple[float, list[float]]:
    now = datetime.now(timezone.utc)
    proofs = [sign_proof(settings, *CUSTOMERS[i % 4], "sms_code", now)[0] for i in range(n)]
    local = threading.local()

    def create(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=60)
        r = local.client.post(
            "/v1/tickets",
            json=BODY,
            headers={
                "X-API-Key": settings.bot_api_key,
                "X-Subject-Proof": proofs[i],
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
        if r.status_code != 201:
            raise RuntimeError(f"{r.status_code} {r.text}")

    return run(n, concurrency, create)


def raw_bench(url: str, n: int, concurrency: int, tag: str) -> tuple[float, list[float]]:
    engine = make_engine(url)
    tickets = sa.table(
        "tickets",
        *(
            sa.column(c)
            for c in (
                "reference",
                "type",
                "status",
                "brand",
                "customer_id",
                "channel",
                "language",
                "assurance",
                "details",
                "created_at",
                "updated_at",
                "due_at",
                "due_at_provisional",
                "version",
            )
        ),
    )
    now = datetime.now(timezone.utc)
    row: dict[str, object] = {
        "type": "complaint",
        "status": "received",
        "brand": "mini",
        "customer_id": "C-0001",
        "channel": "chat",
        "language": "zh",
        "assurance": "sms_code",
        "details": '{"summary": "benchmark"}',
        "created_at": now,
        "updated_at": now,
        "due_at": now + timedelta(days=30),
        "due_at_provisional": False,
        "version": 1,
    }
    if url.startswith("sqlite"):  # stored as naive UTC, as the app's UTCDateTime does
        for k in ("created_at", "updated_at", "due_at"):
            value = row[k]
            assert isinstance(value, datetime)
            row[k] = value.replace(tzinfo=None)
    stmt = tickets.insert()

    def insert(i: int) -> None:
        with engine.begin() as conn:
            conn.execute(stmt, row | {"reference": f"RAW{tag}{i:08d}"})

    try:
        return run(n, concurrency, insert)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM tickets WHERE reference LIKE 'RAW%'"))
        engine.dispose()


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--n1", type=int, default=150, help="creations at concurrency 1")
    parser.add_argument("--n16", type=int, default=400, help="creations at concurrency 16")
    args = parser.parse_args()
    rows = []
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory() as tmpdir, database(kind, Path(tmpdir)) as url:
            upgrade_head(url)
            with server(url, Path(tmpdir)) as (base, settings):
                for conc, n in ((1, args.n1), (16, args.n16)):
                    api_bench(base, settings, 10, conc)  # warm-up
                    rate, lat = api_bench(base, settings, n, conc)
                    raw_rate, raw_lat = raw_bench(url, n, conc, f"{conc}x")
                    rows.append(
                        (
                            kind,
                            conc,
                            n,
                            rate,
                            pct(lat, 50),
                            pct(lat, 95),
                            raw_rate,
                            pct(raw_lat, 50),
                            pct(raw_lat, 95),
                        )
                    )
                    print(f"{kind} c={conc} done", file=sys.stderr)
    print(
        f"{'database':<9} {'conc':>4} {'n':>4} {'API/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'raw/s':>8} {'raw p50':>7} {'raw p95':>7} {'API/raw':>7}"
    )
    for kind, conc, n, rate, p50, p95, raw, rp50, rp95 in rows:
        print(
            f"{kind:<9} {conc:>4} {n:>4} {rate:>8.1f} {p50:>7.1f} {p95:>7.1f} "
            f"{raw:>8.1f} {rp50:>7.2f} {rp95:>7.2f} {rate / raw:>7.3f}"
        )


if __name__ == "__main__":
    main()
