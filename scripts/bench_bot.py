"""Bot benchmark (prints numbers, asserts nothing): this assistant beside a plain `rasa init` bot.

    PYTHONPATH=. .venv-bot/bin/python scripts/bench_bot.py [--model models/assistant.tar.gz]
        [--serial 60] [--requests 96] [--turns 50] [--flows 3]

One run, on this machine, with everything a customer's message passes through:

- this assistant as the end-to-end tests run it (tests/support/stack.py: the rights API on
  SQLite, the action server over HTTP, `rasa run` with the trained model, the redacting
  tracker store, the REST channel);
- beside it the moodbot of `rasa init`, trained by this script into a temporary folder with the
  same Rasa, served by `rasa run` on another free port.

Measured, with the requests to the two bots interleaved (one to ours, one to the moodbot, in
turn) so that both see the same machine load:

- serial replies, a new conversation each: policy questions in both languages (curated
  answers, quotes and honest abstentions) against the moodbot's greetings and moods;
- throughput at 1, 8 and 32 concurrent clients (msg/s, p50 / p95, errors), each level run for
  ours and then the moodbot, alternating in rounds;
- the reply time at turns 1, 25 and 50 of one long conversation (median of turns n-1..n+1 over
  two conversations);
- whole rights flows (unsubscribe: ask, mobile, SMS code, confirm), per message;
- Rasa's resident memory after start and at the end.

Ratios are ours / moodbot. Results are printed and written to results/bench_bot.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ops.scaled import CHILD_ENV, free_port, rss_mb  # noqa: E402
from tests.support.stack import (  # noqa: E402
    Chat,
    Process,
    Stack,
    complete_request,
    spawn,
    start_stack,
    wait_until,
)

RASA = ROOT / ".venv-bot" / "bin" / "rasa"
CONCURRENCY = (1, 8, 32)
MOOD_MESSAGES = ["hello", "I am sad", "I am great", "hi there", "very good", "goodbye"]
# Colloquial questions the curated answers do not cover word for word: quotes and abstentions.
LOOSE_QUESTIONS = [
    ("mini", "zh", "车的位置是不是一直在上传啊"),
    ("mini", "zh", "4s店能看到我的数据不"),
    ("bmw", "zh", "宝马会把我的数据卖给别人吗"),
    ("bmw", "en", "does the app share my location with the police"),
    ("bmw", "en", "what happens to my data after i delete the account"),
    ("mini", "en", "is there anything about parking fees in the policy"),
]
FLOW_MOBILES = ["13800138000", "13900139000", "13600136000"]


# --- what is sent -------------------------------------------------------------------------
def policy_questions() -> list[tuple[str, str, str]]:
    """(brand, lang, question): each curated topic's own question in both languages, then the
    loose ones, spread over the two brands."""
    out: list[tuple[str, str, str]] = []
    for path in sorted((ROOT / "data" / "policy" / "topics").glob("*.yml")):
        topics = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("topics") or {}
        for i, topic in enumerate(topics.values()):
            brand = "mini" if i % 2 else "bmw"
            for lang in ("zh", "en"):
                if topic.get("questions", {}).get(lang):
                    out.append((brand, lang, topic["questions"][lang]))
    out += LOOSE_QUESTIONS
    return out


# --- the two bots -------------------------------------------------------------------------
@dataclass
class Bot:
    name: str
    url: str
    pid: int

    def say(
        self, client: httpx.Client, sender: str, text: str, metadata: dict | None = None
    ) -> tuple[float, bool]:
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        started = time.perf_counter()
        try:
            response = client.post(f"{self.url}/webhooks/rest/webhook", json=body)
            ok = response.status_code == 200 and bool(response.json())
        except httpx.HTTPError:
            ok = False
        return (time.perf_counter() - started) * 1000, ok


def train_moodbot(folder: Path) -> Path:
    """`rasa init --no-prompt` writes the moodbot and trains it; returns its model."""
    started = time.monotonic()
    subprocess.run(
        [str(RASA), "init", "--no-prompt", "--init-dir", str(folder)],
        cwd=folder,
        env={**os.environ, **CHILD_ENV},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    models = sorted((folder / "models").glob("*.tar.gz"))
    if not models:
        raise SystemExit("rasa init trained no model")
    print(f"moodbot trained in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return models[-1]


def start_moodbot(folder: Path, model: Path) -> tuple[Process, str]:
    port = free_port()
    process = spawn(
        "moodbot",
        [
            str(RASA),
            "run",
            "--model",
            str(model),
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
            "--enable-api",
        ],
        {**os.environ, **CHILD_ENV},
        folder,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(
        process,
        lambda: httpx.get(f"{url}/status", timeout=2).status_code == 200,
        300,
        "moodbot /status",
    )
    return process, url


# --- statistics ---------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {}
    return {
        "n": len(latencies),
        "p50": round(statistics.median(latencies), 1),
        "p95": round(percentile(latencies, 0.95), 1),
        "max": round(max(latencies), 1),
    }


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 2) if ours and theirs else None


# --- the measurements ---------------------------------------------------------------------
def serial(ours: Bot, mood: Bot, n: int) -> dict[str, Any]:
    questions = policy_questions()
    by_lang: dict[str, list[float]] = {"zh": [], "en": []}
    theirs: list[float] = []
    failures = {"ours": 0, "moodbot": 0}
    with httpx.Client(timeout=60) as client:
        for i in range(3):  # warm-up, not counted
            brand, lang, text = questions[i]
            ours.say(client, f"warm-{uuid.uuid4().hex}", text, {"brand": brand, "lang": lang})
            mood.say(client, f"warm-{uuid.uuid4().hex}", MOOD_MESSAGES[i])
        for i in range(n):
            brand, lang, text = questions[i % len(questions)]
            ms, ok = ours.say(client, f"s-{uuid.uuid4().hex}", text, {"brand": brand, "lang": lang})
            by_lang[lang].append(ms)
            failures["ours"] += not ok
            ms, ok = mood.say(client, f"s-{uuid.uuid4().hex}", MOOD_MESSAGES[i % 6])
            theirs.append(ms)
            failures["moodbot"] += not ok
    all_ours = by_lang["zh"] + by_lang["en"]
    result: dict[str, Any] = {
        "ours": summary(all_ours),
        "ours_zh": summary(by_lang["zh"]),
        "ours_en": summary(by_lang["en"]),
        "moodbot": summary(theirs),
        "empty_or_failed": failures,
    }
    result["ratio_p50"] = ratio(result["ours"]["p50"], result["moodbot"]["p50"])
    result["ratio_p95"] = ratio(result["ours"]["p95"], result["moodbot"]["p95"])
    return result


def load(bot: Bot, concurrency: int, requests: int, message: Callable[[int], tuple]) -> dict:
    latencies: list[float] = []
    errors = 0

    def one(i: int) -> tuple[float, bool]:
        text, metadata = message(i)
        with httpx.Client(timeout=60) as client:
            return bot.say(client, f"c-{uuid.uuid4().hex}", text, metadata)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for ms, ok in pool.map(one, range(requests)):
            latencies.append(ms)
            errors += not ok
    elapsed = time.perf_counter() - started
    return {
        **summary(latencies),
        "errors": errors,
        "msg_per_s": round(requests / elapsed, 1),
    }


def throughput(ours: Bot, mood: Bot, requests: int) -> dict[str, Any]:
    questions = policy_questions()

    def our_message(i: int) -> tuple:
        brand, lang, text = questions[i % len(questions)]
        return text, {"brand": brand, "lang": lang}

    def mood_message(i: int) -> tuple:
        return MOOD_MESSAGES[i % 6], None

    out: dict[str, Any] = {}
    for concurrency in CONCURRENCY:
        n = max(requests // 4, 24) if concurrency == 1 else requests
        # Two rounds of each, alternating, so that neither bot always runs on a cooler machine.
        rounds = {"ours": [], "moodbot": []}  # type: dict[str, list[dict]]
        for _ in range(2):
            rounds["ours"].append(load(ours, concurrency, n // 2, our_message))
            rounds["moodbot"].append(load(mood, concurrency, n // 2, mood_message))
        cell = {name: _merge(cells) for name, cells in rounds.items()}
        cell["ratio_msg_per_s"] = ratio(cell["ours"]["msg_per_s"], cell["moodbot"]["msg_per_s"])
        out[str(concurrency)] = cell
    return out


def _merge(cells: list[dict]) -> dict:
    return {
        "msg_per_s": round(statistics.fmean(c["msg_per_s"] for c in cells), 1),
        "p50": round(statistics.fmean(c["p50"] for c in cells), 1),
        "p95": round(max(c["p95"] for c in cells), 1),
        "errors": sum(c["errors"] for c in cells),
    }


def long_conversation(ours: Bot, mood: Bot, turns: int) -> dict[str, Any]:
    """Reply time by turn in one conversation each, two conversations, interleaved."""
    questions = policy_questions()
    mark = [1, turns // 2, turns]
    times: dict[str, dict[int, list[float]]] = {"ours": {}, "moodbot": {}}
    with httpx.Client(timeout=60) as client:
        for run in range(2):
            our_sender, mood_sender = f"long-{uuid.uuid4().hex}", f"long-{uuid.uuid4().hex}"
            for turn in range(1, turns + 2):
                brand, lang, text = questions[(turn + run * 7) % len(questions)]
                ms, _ = ours.say(client, our_sender, text, {"brand": brand, "lang": lang})
                times["ours"].setdefault(turn, []).append(ms)
                ms, _ = mood.say(client, mood_sender, MOOD_MESSAGES[turn % 6])
                times["moodbot"].setdefault(turn, []).append(ms)
    out: dict[str, Any] = {}
    for name, by_turn in times.items():
        out[name] = {
            str(t): round(
                statistics.median(v for k in (t - 1, t, t + 1) if k in by_turn for v in by_turn[k]),
                1,
            )
            for t in mark
        }
    out["ratio"] = {str(t): ratio(out["ours"][str(t)], out["moodbot"][str(t)]) for t in mark}
    out["growth_1_to_last"] = {
        name: ratio(out[name][str(mark[-1])], out[name]["1"]) for name in ("ours", "moodbot")
    }
    return out


def flows(stack: Stack, count: int) -> dict[str, Any]:
    """Whole unsubscribe flows through the real API and action server, timed per message."""
    timed: list[float] = []

    class TimedStack:
        def __getattr__(self, name: str) -> Any:
            return getattr(stack, name)

        def say(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
            started = time.perf_counter()
            replies = stack.say(sender, text, metadata)
            timed.append((time.perf_counter() - started) * 1000)
            return replies

    filed = 0
    for i in range(count):
        chat = Chat(TimedStack(), f"flow-{uuid.uuid4().hex}", {"brand": "mini", "lang": "zh"})  # type: ignore[arg-type]
        try:
            complete_request(chat, "我想退订营销短信", FLOW_MOBILES[i % len(FLOW_MOBILES)])
            filed += 1
        except AssertionError as error:
            print(f"flow {i} did not finish: {error}", file=sys.stderr)
    return {"flows": count, "filed": filed, "per_message_ms": summary(timed)}


def rss(ours: Bot, mood: Bot) -> dict[str, float]:
    return {bot.name: round(rss_mb(bot.pid), 1) for bot in (ours, mood)}


# --- the run ------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="this assistant's model (default: models/assistant.tar.gz)")
    parser.add_argument("--serial", type=int, default=60, help="serial requests per bot")
    parser.add_argument("--requests", type=int, default=96, help="requests per bot and level")
    parser.add_argument("--turns", type=int, default=50, help="turns of the long conversation")
    parser.add_argument("--flows", type=int, default=3, help="whole rights flows")
    args = parser.parse_args()
    if args.model:
        os.environ["PRIVACY_MODEL"] = str(Path(args.model).resolve())

    results_dir = ROOT / "results"
    results_dir.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-bot-"))
    mood_dir = workdir / "moodbot"
    mood_dir.mkdir()
    result: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_before": os.getloadavg()}
    mood_process: Process | None = None
    try:
        mood_model = train_moodbot(mood_dir)
        with start_stack(workdir / "stack") as stack:
            mood_process, mood_url = start_moodbot(mood_dir, mood_model)
            rasa_pid = stack.processes["rasa"].proc.pid
            ours = Bot("ours", stack.rasa_url, rasa_pid)
            mood = Bot("moodbot", mood_url, mood_process.proc.pid)
            result["rss_mb_after_start"] = rss(ours, mood)
            result["serial"] = serial(ours, mood, args.serial)
            print(json.dumps({"serial": result["serial"]}), file=sys.stderr)
            result["throughput"] = throughput(ours, mood, args.requests)
            result["turns"] = long_conversation(ours, mood, args.turns)
            result["flows"] = flows(stack, args.flows)
            result["rss_mb_at_end"] = rss(ours, mood)
    finally:
        if mood_process is not None:
            mood_process.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    result["load_avg_after"] = os.getloadavg()
    (results_dir / "bench_bot.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
