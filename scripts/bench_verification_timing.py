"""Does starting an SMS check take longer for a registered number? (a command, not a test)

    PYTHONPATH=. .venv-api/bin/python scripts/bench_verification_timing.py [--n 50] [--runs 4]
        [--env prod|dev] [--postgres]

Runs the rights API's ASGI app in process against a fresh database (a temporary SQLite file,
or with --postgres a temporary schema of the local PostgreSQL), with the four demo customers,
and times POST /v1/verifications (sms_code) for registered and unregistered numbers, the two
interleaved so that drift hits both alike, after a warm-up. Prints, per run, the median of
each in milliseconds and their difference. `--env prod` (the default) sends through the
production gateway; in dev the dev outbox also keeps a copy of what is sent, which only a
registered number gets. Bounded: at most 500 starts of each kind per run, 10 runs, 300 s.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_api import database  # noqa: E402  (a fresh SQLite file or PostgreSQL schema)

from api.core.settings import Settings  # noqa: E402
from api.main import create_app  # noqa: E402
from api.subjects.service import load_demo_customers  # noqa: E402

BOT_KEY = "bench-bot-key-0123456789abcdefghij"
REGISTERED = ["13800138000", "13900139000", "13700137000", "13600136000"]
UNREGISTERED = ["13500135000", "13500135001", "13500135002", "13500135003"]
DEADLINE_SECONDS = 300.0


def settings_for(url: str, tmp: Path, env: str) -> Settings:
    return Settings(
        env=env,  # type: ignore[arg-type]
        database_url=url,
        bot_api_key=BOT_KEY,
        staff_tokens="bench-staff-token-0123456789abcdef",
        proof_secret="bench-proof-secret-0123456789abcdef",
        lookup_pepper="bench-lookup-pepper-0123456789abcdef",
        audit_key="bench-audit-key-0123456789abcdefghij",
        field_keys="bench-field-key-0123456789abcdefghij",
        audit_anchor_file=tmp / "anchors.jsonl",
        dev_secrets_file=tmp / "dev-secrets.env",
        audit_checkpoint_seconds=0,
        load_demo_data=False,
        # Limits off: the benchmark starts hundreds of checks for eight numbers.
        codes_per_hour=10**6,
        starts_per_address=0,
        starts_per_channel=0,
        starts_global=0,
    )


def one_run(client: TestClient, n: int, deadline: float) -> tuple[float, float]:
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(n + 10):
        for registered in (i % 2 == 0, i % 2 == 1):  # ABAB then BABA: neither always first
            if time.monotonic() > deadline:
                raise SystemExit("stopped at the time limit")
            mobile = (REGISTERED if registered else UNREGISTERED)[i % 4]
            body = {"method": "sms_code", "mobile": mobile, "channel": "chat", "language": "zh"}
            began = time.perf_counter()
            r = client.post("/v1/verifications", headers={"X-API-Key": BOT_KEY}, json=body)
            took = time.perf_counter() - began
            if r.status_code != 201:
                raise SystemExit(f"start answered {r.status_code}: {r.text}")
            if i >= 10:  # after the warm-up
                times[registered].append(took * 1000)
    return statistics.median(times[True]), statistics.median(times[False])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50, help="starts of each kind per run (≤ 500)")
    parser.add_argument("--runs", type=int, default=4, help="runs (≤ 10)")
    parser.add_argument("--env", choices=["prod", "dev"], default="prod")
    parser.add_argument("--postgres", action="store_true", help="the local PostgreSQL")
    args = parser.parse_args()
    n, runs = min(max(args.n, 1), 500), min(max(args.runs, 1), 10)
    deadline = time.monotonic() + DEADLINE_SECONDS
    kind = "postgres" if args.postgres else "sqlite"
    with tempfile.TemporaryDirectory() as tmp_dir, database(kind, Path(tmp_dir)) as url:
        settings = settings_for(url, Path(tmp_dir), args.env)
        app = create_app(settings)
        logging.disable(logging.WARNING)  # the request and outbox logs are not what is timed
        with TestClient(app) as client:
            with app.state.session_factory() as s:
                now = app.state.clock.now()
                load_demo_customers(s, settings.demo_customers_file, settings.lookup_pepper, now)
            print(f"{kind}, env {args.env}, medians of {n} starts each (ms)")
            print("run  registered  unregistered  difference")
            for run in range(1, runs + 1):
                reg, unreg = one_run(client, n, deadline)
                print(f"{run:>3}  {reg:>10.2f}  {unreg:>12.2f}  {reg - unreg:>+10.2f}")
        app.state.engine.dispose()


if __name__ == "__main__":
    main()
