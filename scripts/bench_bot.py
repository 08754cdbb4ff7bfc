"""Bot benchmark: full-model training time and REST reply latency.

    PYTHONPATH=. .venv-bot/bin/python scripts/bench_bot.py            # train, then measure
    PYTHONPATH=. .venv-bot/bin/python scripts/bench_bot.py --model models/assistant.tar.gz

Training: `rasa train` of bot/config.yml (NLU + core), wall clock. Latency: `rasa run` on a
free local port with that model, then 40 fixed questions (20 topics x zh/en, brand in the app
metadata, one new conversation each) sent to POST /webhooks/rest/webhook after a warm-up;
p50 / p95 / max of the reply time, and Rasa's resident memory after start and after the
requests. The questions have curated answers, so no action server is
needed. Results are printed and written to results/bench_bot.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
RASA = ROOT / ".venv-bot" / "bin" / "rasa"
N_TOPICS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def questions() -> list[tuple[str, str]]:
    """(question, brand) pairs: held-out questions of the first topics, both languages."""
    pairs: list[tuple[str, str]] = []
    for path in sorted((ROOT / "data" / "policy" / "topics").glob("*.yml")):
        topics = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("topics") or {}
        for topic in topics.values():
            brand = "mini" if len(pairs) % 4 < 2 else "bmw"
            pairs.append((topic["questions"]["zh"], brand))
            pairs.append((topic["questions"]["en"], brand))
    # Spread over both topic files rather than taking the first file only.
    step = max(1, len(pairs) // (2 * N_TOPICS))
    chosen = [pairs[i] for i in range(0, len(pairs), step)][: 2 * N_TOPICS]
    return chosen


def train(out: Path) -> tuple[Path, float]:
    started = time.monotonic()
    subprocess.run(
        [
            str(RASA),
            "train",
            "--config",
            "bot/config.yml",
            "--domain",
            "bot/domain",
            "--data",
            "data",
            "--out",
            str(out),
            "--fixed-model-name",
            "bench",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return out / "bench.tar.gz", time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def bench_endpoints(workdir: Path) -> Path:
    """bot/endpoints.yml with the SQL tracker store moved to a scratch database."""
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8"))
    store = endpoints.get("tracker_store") or {}
    if store.get("dialect") == "sqlite":
        store["db"] = str(workdir / "bench-tracker.db")
    target = workdir / "endpoints.yml"
    target.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return target


def rss_mib(pid: int) -> float | None:
    """Resident memory of the process, from /proc (Linux), in MiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def measure(model: Path, log_path: Path) -> dict[str, Any]:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-bot-"))
    endpoints = bench_endpoints(workdir)
    # Curated answers need no action server; the endpoint still wants its token variable.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.setdefault("ACTION_SERVER_TOKEN", "bench-token-not-used-by-curated-answers")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(RASA),
                "run",
                "--model",
                str(model),
                "--port",
                str(port),
                "--interface",
                "127.0.0.1",
                "--credentials",
                "bot/credentials.yml",
                "--endpoints",
                str(endpoints),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                raise SystemExit(f"rasa run exited; see {log_path}")
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > 600:
                raise SystemExit(f"rasa run did not come up; see {log_path}")
            time.sleep(1)
        startup = time.monotonic() - started
        rss_after_start = rss_mib(process.pid)

        with httpx.Client(base_url=url, timeout=60) as client:

            def say(text: str, brand: str) -> tuple[float, list[dict[str, Any]]]:
                body = {
                    "sender": f"bench-{uuid.uuid4().hex}",
                    "message": text,
                    "metadata": {"brand": brand},
                }
                t0 = time.perf_counter()
                response = client.post("/webhooks/rest/webhook", json=body)
                elapsed = time.perf_counter() - t0
                response.raise_for_status()
                return elapsed, response.json()

            for text, brand in questions()[:3]:
                say(text, brand)
            latencies, empty = [], 0
            for text, brand in questions():
                elapsed, replies = say(text, brand)
                latencies.append(elapsed * 1000)
                empty += not replies
        return {
            "startup_seconds": round(startup, 1),
            "rasa_rss_mib_after_start": rss_after_start,
            "rasa_rss_mib_after_requests": rss_mib(process.pid),
            "requests": len(latencies),
            "empty_replies": empty,
            "latency_ms": {
                "p50": round(statistics.median(latencies), 1),
                "p95": round(percentile(latencies, 0.95), 1),
                "max": round(max(latencies), 1),
                "mean": round(statistics.fmean(latencies), 1),
            },
        }
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="measure this model instead of training one")
    args = parser.parse_args()
    results_dir = ROOT / "results"
    results_dir.mkdir(exist_ok=True)

    result: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    if args.model:
        model = Path(args.model)
        result["train_seconds"] = None
    else:
        model, seconds = train(ROOT / "models")
        result["train_seconds"] = round(seconds, 1)
    result["model"] = str(model)
    result.update(measure(model, results_dir / "bench_rasa.log"))
    (results_dir / "bench_bot.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
