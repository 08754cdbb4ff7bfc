"""Scale benchmark (a command that prints, not a test): 1 vs 2 Rasa replicas behind one nginx.

    PYTHONPATH=. .venv-bot/bin/python scripts/bench_scale.py [--policy 240] [--flows 32]

Starts the scaled stack in-process (ops.scaled: 2 Rasa replicas, 2 action servers, the API with
2 workers, nginx) on fresh PostgreSQL databases and Redis db 5, then, in one run:

- policy questions (curated answers, several per conversation) and whole rights flows (ask,
  mobile, SMS code read from the dev outbox, confirm, ticket filed) at concurrency 1, 8 and 32,
  first with nginx balancing over one replica, then over both (nginx reloaded in between):
  messages/s, p50 / p95 per message, errors, and the ratio 2 replicas / 1 replica;
- ticket creation through the API (POST /v1/tickets with a prepared subject proof each) with a
  uvicorn of 1 and then 2 workers on the same PostgreSQL database, at the same concurrencies;
- every process's RSS, and the machine's load: the CPU (in cores) that the stack with this
  driver, and all other processes, used during each cell, since the 2 cores are shared.

Each flow uses a customer of its own (bench customers generated into the run's demo-customer
file), so concurrent flows never read each other's SMS codes. Results are printed and written
to results/bench_scale.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ops.scaled import (  # noqa: E402
    API_BIN,
    CHILD_ENV,
    Proc,
    ScaleConfig,
    ScaledStack,
    Spec,
    free_port,
    group_members,
    member_label,
    rss_mb,
)
from tests.support.stack import CODE_IN_BODY, REFERENCE, fresh_postgres_database  # noqa: E402

CONCURRENCY = (1, 8, 32)
REDIS_DB = 5
TICKET_BODY = {
    "type": "complaint",
    "channel": "chat",
    "language": "zh",
    "details": {"summary": "benchmark"},
}
HZ = os.sysconf("SC_CLK_TCK")


# --- measuring ---------------------------------------------------------------------------------
def _busy_jiffies() -> int:
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle


def _tree_jiffies(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(stat[11]) + int(stat[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return total


@dataclass
class Cell:
    kind: str
    setting: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0
    others_cores: float = 0.0
    stack_cores: float = 0.0  # the stack and this driver
    units: int = 0  # flows or tickets done
    guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, began: float, ok: bool) -> None:
        with self.guard:
            self.latencies.append(time.perf_counter() - began)
            self.errors += 0 if ok else 1

    def done(self, ok: bool) -> None:
        """One flow or ticket finished, or failed."""
        with self.guard:
            self.units += 1 if ok else 0
            self.errors += 0 if ok else 1

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall_s if self.wall_s else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def row(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "setting": self.setting,
            "concurrency": self.concurrency,
            "requests": len(self.latencies),
            "per_s": round(self.rate, 2),
            "p50_ms": round(self.pct(0.5)),
            "p95_ms": round(self.pct(0.95)),
            "errors": self.errors,
            "units": self.units,
            "wall_s": round(self.wall_s, 1),
            "stack_cores": round(self.stack_cores, 2),
            "others_cores": round(self.others_cores, 2),
        }


def measure(
    cell: Cell, jobs: int, job: Callable[[int, Cell], None], pids: Callable[[], list[int]]
) -> Cell:
    """Runs `jobs` jobs on `cell.concurrency` threads; CPU used by others meanwhile, too."""
    ours = [os.getpid(), *pids()]
    busy0, mine0, began = _busy_jiffies(), _tree_jiffies(ours), time.perf_counter()
    with ThreadPoolExecutor(max_workers=cell.concurrency) as pool:
        list(pool.map(lambda i: job(i, cell), range(jobs)))
    cell.wall_s = time.perf_counter() - began
    ours = [os.getpid(), *pids()]
    mine = _tree_jiffies(ours) - mine0
    cell.stack_cores = mine / HZ / cell.wall_s
    cell.others_cores = max(0.0, (_busy_jiffies() - busy0 - mine) / HZ / cell.wall_s)
    return cell


# --- the conversations -------------------------------------------------------------------------
def policy_questions() -> list[tuple[str, str, str]]:
    """(question, lang, brand) from the curated topics, both languages."""
    out: list[tuple[str, str, str]] = []
    for path in sorted((ROOT / "data" / "policy" / "topics").glob("*.yml")):
        for topic in (yaml.safe_load(path.read_text("utf-8")) or {})["topics"].values():
            for lang, question in (topic.get("questions") or {}).items():
                out.append((question, lang, "mini" if len(out) % 2 else "bmw"))
    return out


class Driver:
    """Sends turns through nginx, one httpx client per thread."""

    def __init__(self, url: str, api_url: str) -> None:
        self.url = url
        self.api_url = api_url
        self.local = threading.local()

    def client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(timeout=120)
        client: httpx.Client = self.local.client
        return client

    def turn(self, cell: Cell, sender: str, text: str, metadata: dict[str, str]) -> str | None:
        began = time.perf_counter()
        try:
            r = self.client().post(
                f"{self.url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": metadata},
            )
            ok = r.status_code == 200 and bool(r.json())
        except (httpx.HTTPError, ValueError):
            ok = False
        cell.record(began, ok)
        return "\n".join(str(m.get("text") or "") for m in r.json()) if ok else None

    def latest_code(self, mobile: str) -> str | None:
        """The code just sent to `mobile` (each flow has a customer of its own)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            items = self.client().get(f"{self.api_url}/v1/dev/outbox", timeout=10).json()["items"]
            for item in items:
                match = CODE_IN_BODY.search(str(item.get("body", "")))
                if str(item.get("to", "")).endswith(mobile) and match:
                    return match.group(1)
            time.sleep(0.2)
        return None


@dataclass
class Customers:
    mobiles: list[str]
    next: int = 0
    guard: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> str:
        with self.guard:
            mobile = self.mobiles[self.next]
            self.next += 1
            return mobile


def bench_customers(path: Path, count: int) -> list[str]:
    """A demo-customer file with `count` fictional MINI customers beside the four demo ones."""
    data = yaml.safe_load((ROOT / "data" / "demo" / "customers.yml").read_text("utf-8"))
    mobiles = []
    for i in range(count):
        mobile = f"1350000{i:04d}"
        mobiles.append(mobile)
        data["customers"].append(
            {
                "customer_id": f"B-{i:04d}",
                "name": f"Bench {i}",
                "brand": "mini",
                "mobile": mobile,
                "vin": f"WMWBENCH{i:09d}",
                "phone_password": f"{700000 + i}",
                "consents": {"marketing": True, "dealer_sharing": True},
            }
        )
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return mobiles


def rights_flow(driver: Driver, customers: Customers, tag: str) -> Callable[[int, Cell], None]:
    """Unsubscribe from marketing: ask, mobile, SMS code, confirm if asked; a ticket filed."""
    metadata = {"brand": "mini", "lang": "zh"}

    def job(i: int, cell: Cell) -> None:
        sender = f"bench-flow-{tag}-{i}-{uuid.uuid4().hex[:6]}"
        mobile = customers.take()
        filed = False
        if (
            driver.turn(cell, sender, "我想退订营销短信", metadata) is not None
            and driver.turn(cell, sender, mobile, metadata) is not None
        ):
            code = driver.latest_code(mobile)
            reply = driver.turn(cell, sender, code or "000000", metadata)
            if reply is not None and not REFERENCE.search(reply):
                reply = driver.turn(cell, sender, "/affirm", metadata)
            filed = reply is not None and bool(REFERENCE.search(reply))
        cell.done(filed)

    return job


def policy_job(driver: Driver, tag: str, per_conversation: int = 5) -> Callable[[int, Cell], None]:
    """A policy question; each thread asks `per_conversation` in one conversation, then anew."""
    questions = policy_questions()
    local = threading.local()

    def job(i: int, cell: Cell) -> None:
        asked = getattr(local, "asked", per_conversation)
        if asked >= per_conversation:
            local.sender, asked = f"bench-policy-{tag}-{uuid.uuid4().hex[:10]}", 0
        local.asked = asked + 1
        question, lang, brand = questions[i % len(questions)]
        driver.turn(cell, local.sender, question, {"brand": brand, "lang": lang})

    return job


# --- ticket creation through the API -----------------------------------------------------------
def sign_proofs(n: int) -> list[str]:
    """Subject proofs as a verification check returns them, signed in the API's runtime."""
    script = (
        "import json, sys; from datetime import datetime, timezone;"
        "from api.core.settings import Settings; from api.core.tokens import sign_proof;"
        "s = Settings(); now = datetime.now(timezone.utc);"
        "ids = [('C-0001', 'mini'), ('C-0002', 'bmw'), ('C-0003', 'mini'), ('C-0004', 'bmw')];"
        "print(json.dumps([sign_proof(s, *ids[i % 4], 'sms_code', now)[0]"
        " for i in range(int(sys.argv[1]))]))"
    )
    out = subprocess.run(
        [str(API_BIN / "python"), "-c", script, str(n)],
        cwd=ROOT,
        env={**os.environ, **CHILD_ENV},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    proofs: list[str] = json.loads(out)
    return proofs


def ticket_job(base: str, key: str, proofs: list[str]) -> Callable[[int, Cell], None]:
    """POST /v1/tickets with the i-th proof and a key of its own."""
    local = threading.local()

    def create(i: int, cell: Cell) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
        began = time.perf_counter()
        try:
            r = local.client.post(
                f"{base}/v1/tickets",
                json=TICKET_BODY,
                headers={
                    "X-API-Key": key,
                    "X-Subject-Proof": proofs[i],
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
            ok = r.status_code == 201
        except httpx.HTTPError:
            ok = False
        cell.record(began, ok)

    return create


def api_cells(workdir: Path, n: int) -> tuple[list[Cell], list[tuple[str, int, float]]]:
    cells: list[Cell] = []
    rss: list[tuple[str, int, float]] = []
    key = os.environ["RIGHTS_BOT_API_KEY"]
    for workers in (1, 2):
        port = free_port()
        proc = Proc(
            Spec(
                f"api-bench-{workers}",
                "api",
                [
                    str(API_BIN / "uvicorn"),
                    "api.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                    "--no-proxy-headers",
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                {
                    **os.environ,
                    **CHILD_ENV,
                    "RIGHTS_RUN_MIGRATIONS": "false",
                    "RIGHTS_LOAD_DEMO_DATA": "false",
                },
                port,
                f"http://127.0.0.1:{port}/healthz",
                120,
                workdir / "logs" / f"api-{workers}.log",
            )
        )
        proc.start()
        try:
            while not proc.probe():
                time.sleep(0.3)
            time.sleep(2 if workers > 1 else 0.5)  # the second worker's start-up
            base = f"http://127.0.0.1:{port}"
            leader = proc.pid or 0
            for concurrency in CONCURRENCY:
                count = n if concurrency > 1 else max(20, n // 4)
                cell = Cell(
                    "tickets (API)", f"{workers} worker{'s' if workers > 1 else ''}", concurrency
                )
                job = ticket_job(base, key, sign_proofs(count))
                cells.append(measure(cell, count, job, functools.partial(group_members, leader)))
                cell.units = len(cell.latencies) - cell.errors
                print_cell(cells[-1])
            name = f"api-bench ({workers} w)"
            rss += [(member_label(name, p, leader), p, rss_mb(p)) for p in group_members(leader)]
        finally:
            proc.signal_group(15)
            if proc.popen:
                proc.popen.wait(timeout=20)
    return cells, rss


# --- reporting -----------------------------------------------------------------------------------
def print_cell(cell: Cell) -> None:
    r = cell.row()
    print(
        f"  {r['kind']:<18} {r['setting']:<11} c={r['concurrency']:<3} {r['per_s']:>7.1f}/s "
        f"p50 {r['p50_ms']:>5} ms  p95 {r['p95_ms']:>6} ms  errors {r['errors']:>3}  "
        f"({r['requests']} requests, {r['wall_s']} s; cores used: stack {r['stack_cores']}, "
        f"others {r['others_cores']})",
        flush=True,
    )


def print_ratios(cells: list[Cell]) -> list[dict[str, Any]]:
    ratios = []
    print("\nratio (2 / 1), throughput per second:")
    kinds = dict.fromkeys(c.kind for c in cells)
    for kind in kinds:
        settings = list(dict.fromkeys(c.setting for c in cells if c.kind == kind))
        for concurrency in CONCURRENCY:
            pair = [
                next(
                    (
                        c
                        for c in cells
                        if (c.kind, c.setting, c.concurrency) == (kind, s, concurrency)
                    ),
                    None,
                )
                for s in settings
            ]
            if len(pair) == 2 and pair[0] and pair[1] and pair[0].rate:
                ratio = pair[1].rate / pair[0].rate
                ratios.append({"kind": kind, "concurrency": concurrency, "ratio": round(ratio, 2)})
                print(f"  {kind:<18} c={concurrency:<3} {ratio:.2f}")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", type=int, default=240, help="questions per cell (c=8, 32)")
    parser.add_argument("--flows", type=int, default=32, help="rights flows per cell (c=8, 32)")
    parser.add_argument("--tickets", type=int, default=300, help="tickets per cell (c=8, 32)")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "assistant.tar.gz")
    args = parser.parse_args()

    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    flows_needed = 2 * sum(max(args.flows, c) if c > 1 else 4 for c in CONCURRENCY)
    os.environ.update(
        RIGHTS_ENV="dev",
        RIGHTS_BOT_API_KEY="bench-bot-" + secrets.token_urlsafe(24),
        RIGHTS_STAFF_TOKENS="bench-staff-" + secrets.token_urlsafe(24),
        RIGHTS_PROOF_SECRET="bench-proof-" + secrets.token_urlsafe(24),
        RIGHTS_LOOKUP_PEPPER="bench-pepper-" + secrets.token_urlsafe(24),
        RIGHTS_DEV_SECRETS_FILE=str(tmp / "dev-secrets.env"),
        RIGHTS_CODES_PER_HOUR="100000",
        RIGHTS_DEMO_CUSTOMERS_FILE=str(tmp / "customers.yml"),
        RASA_API_TOKEN="bench-rasa-" + secrets.token_urlsafe(24),
        ACTION_SERVER_TOKEN="bench-actions-" + secrets.token_urlsafe(24),
        IVR_CALL_STATE_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
    )
    customers = Customers(bench_customers(tmp / "customers.yml", flows_needed))
    results: dict[str, Any] = {"load_avg_before": load_before, "cells": [], "rss_mb": []}
    with (
        fresh_postgres_database("privacy_scale_bench") as rights_db,
        fresh_postgres_database("privacy_scale_bench") as tracker_db,
    ):
        os.environ["RIGHTS_DATABASE_URL"] = rights_db.replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
        config = ScaleConfig.from_env(
            replicas=2,
            action_servers=2,
            api_workers=2,
            free_ports=True,
            workdir=tmp,
            model=args.model.resolve(),
            tracker_db_url=tracker_db,
            redis_db=REDIS_DB,
            lock_prefix=f"bench{secrets.token_hex(4)}",
            restart=False,
        )
        stack = ScaledStack(config)
        cells: list[Cell] = []
        try:
            stack.start()

            def stack_pids() -> list[int]:
                return [m for p in stack.procs.values() if p.pid for m in group_members(p.pid)]

            driver = Driver(stack.public_url, stack.api_url)
            print("\nRasa behind nginx (messages per second, latency per message):", flush=True)
            for replicas in (["rasa-1"], ["rasa-1", "rasa-2"]):
                stack.set_rasa_upstreams(replicas)
                setting = f"{len(replicas)} replica{'s' if len(replicas) > 1 else ''}"
                tag = f"r{len(replicas)}"
                # Warm-up: the first turns of a process are slow (graph and caches).
                warm = Cell("warm-up", setting, 4)
                measure(warm, 16, policy_job(driver, f"warm{tag}"), stack_pids)
                for concurrency in CONCURRENCY:
                    n = args.policy if concurrency > 1 else max(30, args.policy // 6)
                    cell = Cell("policy questions", setting, concurrency)
                    cells.append(
                        measure(cell, n, policy_job(driver, f"{tag}c{concurrency}"), stack_pids)
                    )
                    print_cell(cell)
                for concurrency in CONCURRENCY:
                    n = max(args.flows, concurrency) if concurrency > 1 else 4
                    cell = Cell("rights flows", setting, concurrency)
                    cells.append(
                        measure(
                            cell,
                            n,
                            rights_flow(driver, customers, f"{tag}c{concurrency}"),
                            stack_pids,
                        )
                    )
                    print_cell(cell)
            rss = stack.rss()
            print("\nticket creation through the API on PostgreSQL:", flush=True)
            api, api_rss = api_cells(tmp, args.tickets)
            cells += api
        finally:
            stack.stop()
    results["cells"] = [c.row() for c in cells]
    results["ratios"] = print_ratios(cells)
    results["rss_mb"] = [{"process": n, "pid": p, "rss_mb": round(m)} for n, p, m in rss + api_rss]
    results["load_avg_after"] = os.getloadavg()
    print("\nresident memory (MB):")
    for name, pid, mb in rss + api_rss:
        print(f"  {name:<34} pid {pid:>7}  {mb:7.0f}")
    print(f"\nload average before {load_before}, after {results['load_avg_after']}")
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_scale.json").write_text(json.dumps(results, indent=2), "utf-8")
    print(f"written to {out / 'bench_scale.json'}")


if __name__ == "__main__":
    main()
