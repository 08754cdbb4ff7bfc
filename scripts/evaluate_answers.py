"""What a customer gets from the whole bot for each question of an unseen set, per language.

    PYTHONPATH=. .venv-bot/bin/python scripts/evaluate_answers.py --url http://127.0.0.1:5005 \
        [--set tests/nlu/unseen_questions.yml] [--lang zh] [--limit 20] [--concurrency 1] \
        [--json results/answers.json]

Each question goes through the REST channel as the first message of a new conversation (a new
sender id, the question's brand and language in the metadata, as the app sends them). Then the
conversation's tracker is read (GET /conversations/<sender>/tracker, with RASA_API_TOKEN from the
environment or var/dev-secrets.env) and the turn is scored by what the customer was given:

- relevant answer: the curated answer of a topic the question is labelled with; for a request,
  the answer of a topic whose one-tap offer starts that request;
- relevant quote: a policy passage from a clause that one of the labelled topics cites for the
  brand in data/policy/topics (or from a numbered item of such a clause: the deletion grounds
  under "Deleting your personal information"; a part's sections do not count as the part);
- request started: the request form started for the labelled request; for a policy question,
  the request its topic offers;
- wrong: a curated answer about another topic or a request of another kind (both "confidently
  wrong"), a quote from an unrelated clause, or another reply (small talk, a brand question);
- "I don't know": the honest abstention with the hotline, which is right for a question no
  policy answers (labelled `uncovered`);
- "rephrase": the core fallback's "Sorry, I didn't understand" (utter_default).

Printed as markdown tables: every outcome with counts and shares per language and kind of
question, then the headline rates. --json keeps every question with what the bot said.
Traffic goes to 127.0.0.1 only; the run is bounded by --limit and --max-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from actions.flows import INTENT_TO_TYPE
from bot.answers.knowledge import RETRIEVAL_PREFIX, offer_for_topic, offers, topic_clauses

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SET = ROOT / "tests" / "nlu" / "unseen_questions.yml"
SECRETS = ROOT / "var" / "dev-secrets.env"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
UNCOVERED = "uncovered"
POLICY_UTTER = "utter_" + RETRIEVAL_PREFIX
UNKNOWN_UTTERS = ("utter_policy_unknown", POLICY_UTTER + UNCOVERED)
REPHRASE_UTTER = "utter_default"
START_ACTION = "action_start_request"
REQUEST_FORM = "request_form"

# Outcomes, and the table column each falls in.
ANSWER, QUOTE, REQUEST = "relevant_answer", "relevant_quote", "request_started"
WRONG_ANSWER, WRONG_QUOTE, WRONG_REQUEST, OTHER = (
    "wrong_answer",
    "wrong_quote",
    "wrong_request",
    "other_reply",
)
UNKNOWN, REPHRASE = "dont_know", "rephrase"
ERROR = "error"  # the bot did not reply or the tracker could not be read: not scored
PROGRESS_EVERY = 25
COLUMNS = {
    "relevant answer": (ANSWER,),
    "relevant quote": (QUOTE,),
    "request started": (REQUEST,),
    "wrong": (WRONG_ANSWER, WRONG_QUOTE, WRONG_REQUEST, OTHER),
    '"I don\'t know"': (UNKNOWN,),
    '"rephrase"': (REPHRASE,),
}
CONFIDENTLY_WRONG = (WRONG_ANSWER, WRONG_REQUEST)
KINDS = ("covered", "request", UNCOVERED)


# --- the set ------------------------------------------------------------------------------------
def label_kind(item: dict[str, Any]) -> str | None:
    """covered / request / uncovered, or None for a message that is not a question (greet...)."""
    if item.get("intent") == "ask_policy":
        return UNCOVERED if item.get("topic") == UNCOVERED else "covered"
    return "request" if item.get("intent") in INTENT_TO_TYPE else None


def load_questions(path: Path, lang: str | None = None, limit: int | None = None) -> list[dict]:
    """The set's questions (not its greetings or yes/no), `limit` of them spread over the set so
    that a short run still sees both languages and every kind of question."""
    messages = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("messages") or []
    chosen = [m for m in messages if label_kind(m) and (lang is None or m["lang"] == lang)]
    if limit is None or limit >= len(chosen):
        return chosen
    return [chosen[i * len(chosen) // limit] for i in range(max(0, limit))]


def labelled_topics(item: dict[str, Any]) -> list[str]:
    topic = item.get("topic")
    topics = topic if isinstance(topic, list) else [topic] if topic else []
    return [str(t) for t in topics if t != UNCOVERED]


# --- reading the turn ---------------------------------------------------------------------------
@dataclass
class Turn:
    """What the bot did with the customer's message, read from the tracker's events."""

    kind: str  # topic | quote | unknown | request | rephrase | other
    intent: str | None = None
    topic: str | None = None
    clause: str | None = None
    request: str | None = None
    offer: str | None = None
    score: float | None = None
    utters: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


def _last_turn(events: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not users:
        return {}, []
    return events[users[-1]], events[users[-1] + 1 :]


def read_turn(tracker: dict[str, Any]) -> Turn:
    user, after = _last_turn(list(tracker.get("events") or []))
    intent = ((user.get("parse_data") or {}).get("intent") or {}).get("name")
    actions = [str(e.get("name")) for e in after if e.get("event") == "action"]
    bots = [e for e in after if e.get("event") == "bot"]
    metas = [e.get("metadata") or {} for e in bots]
    utters = [str(m.get("utter_action") or "") for m in metas]
    texts = [str(e.get("text") or "") for e in bots]
    seen = {"intent": intent, "utters": utters, "texts": texts}
    offer = next((str(m["offer"]) for m in metas if m.get("offer")), None)

    started = START_ACTION in actions or any(
        e.get("event") == "active_loop" and e.get("name") == REQUEST_FORM for e in after
    )
    if started:
        types = [
            str(e["value"])
            for e in after
            if e.get("event") == "slot" and e.get("name") == "request_type" and e.get("value")
        ]
        request = types[-1] if types else INTENT_TO_TYPE.get(str(intent))
        return Turn("request", request=request, offer=offer, **seen)

    answer = next((m["answer"] for m in metas if isinstance(m.get("answer"), dict)), None)
    if answer is not None:
        kind = {"topic": "topic", "quote": "quote"}.get(str(answer.get("kind")), "unknown")
        topic = str(answer.get("topic") or "").removeprefix(RETRIEVAL_PREFIX) or None
        clause = str(answer.get("clause") or "") or None
        score = answer.get("score")
        return Turn(
            kind,
            topic=topic if kind == "topic" else None,
            clause=clause if kind == "quote" else None,
            offer=offer,
            score=float(score) if isinstance(score, int | float) else None,
            **seen,
        )
    if any(u in UNKNOWN_UTTERS for u in utters):
        return Turn("unknown", offer=offer, **seen)
    curated = next((u for u in utters if u.startswith(POLICY_UTTER)), None)
    if curated is not None:
        return Turn("topic", topic=curated.removeprefix(POLICY_UTTER), offer=offer, **seen)
    if REPHRASE_UTTER in utters or "action_default_fallback" in actions:
        return Turn("rephrase", **seen)
    return Turn("other", offer=offer, **seen)


# --- scoring ------------------------------------------------------------------------------------
def _within(clause: str, cited: str) -> bool:
    """The clause, or a numbered item of it (mini.5.3 -> mini.5.3.4; not mini.1 -> mini.1.6)."""
    if clause == cited:
        return True
    deep_enough = cited.count(".") >= 2
    return deep_enough and clause.rsplit(".", 1)[0] == cited


def relevant_clause(clause: str | None, topics: Iterable[str], brand: str) -> bool:
    cited = topic_clauses()
    for topic in topics:
        for each in cited.get(RETRIEVAL_PREFIX + topic, {}).get(brand, ()):
            if clause and _within(clause, each):
                return True
    return False


def offered_requests(topics: Iterable[str], offer: str | None = None) -> set[str]:
    """The request intents the topics' one-tap offers (or the offer made) start."""
    requests: set[str] = set()
    for topic in topics:
        found = offer_for_topic(topic)
        requests |= set(found.requests) if found else set()
    made = offers().get(offer or "")
    return requests | set(made.requests if made else ())


def outcome(item: dict[str, Any], turn: Turn) -> str:
    kind = label_kind(item)
    topics = labelled_topics(item)
    brand = str(item["brand"])
    if turn.kind == "rephrase":
        return REPHRASE
    if turn.kind == "unknown":
        return UNKNOWN
    if turn.kind == "other":
        return OTHER
    if kind == UNCOVERED:
        return {"topic": WRONG_ANSWER, "quote": WRONG_QUOTE}.get(turn.kind, WRONG_REQUEST)
    if kind == "request":
        wanted = {str(item["intent"])}
        if turn.kind == "request":
            return REQUEST if turn.request == INTENT_TO_TYPE[item["intent"]] else WRONG_REQUEST
        if turn.kind == "topic":
            offered = offered_requests([turn.topic or ""], turn.offer)
            return ANSWER if wanted & offered else WRONG_ANSWER
        return WRONG_QUOTE
    if turn.kind == "topic":
        return ANSWER if turn.topic in topics else WRONG_ANSWER
    if turn.kind == "quote":
        return QUOTE if relevant_clause(turn.clause, topics, brand) else WRONG_QUOTE
    started_ok = {INTENT_TO_TYPE[i] for i in offered_requests(topics) if i in INTENT_TO_TYPE}
    return REQUEST if turn.request in started_ok else WRONG_REQUEST


# --- summary ------------------------------------------------------------------------------------
def _cell(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.0f}%)" if total else "0"


def _share(count: int, total: int) -> float | None:
    return round(count / total, 3) if total else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    rows = [r for r in rows if r["outcome"] != ERROR]
    for lang in sorted({r["lang"] for r in rows}, key=lambda x: (x != "zh", x)):
        for kind in (*KINDS, "all"):
            chosen = [r for r in rows if r["lang"] == lang and kind in ("all", r["kind"])]
            if not chosen:
                continue
            counts = Counter(r["outcome"] for r in chosen)
            summary[f"{lang} {kind}"] = {"n": len(chosen), **{o: counts[o] for o in _outcomes()}}
        mine = [r for r in rows if r["lang"] == lang]
        answerable = [r for r in mine if r["kind"] != UNCOVERED]
        uncovered = [r for r in mine if r["kind"] == UNCOVERED]
        right = sum(1 for r in answerable if r["outcome"] in (ANSWER, QUOTE, REQUEST))
        summary[f"{lang} rates"] = {
            "answerable_n": len(answerable),
            "relevant": _share(right, len(answerable)),
            "confidently_wrong": _share(
                sum(1 for r in mine if r["outcome"] in CONFIDENTLY_WRONG), len(mine)
            ),
            "uncovered_n": len(uncovered),
            "uncovered_abstained": _share(
                sum(1 for r in uncovered if r["outcome"] == UNKNOWN), len(uncovered)
            ),
            "rephrase": sum(1 for r in mine if r["outcome"] == REPHRASE),
        }
    return summary


def _outcomes() -> list[str]:
    return [o for group in COLUMNS.values() for o in group]


def tables(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| questions | n | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for scope, s in summary.items():
        if scope.endswith(" rates"):
            continue
        cells = [_cell(sum(s[o] for o in group), s["n"]) for group in COLUMNS.values()]
        label = f"**{scope}**" if scope.endswith(" all") else scope
        lines.append(f"| {label} | {s['n']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| language | relevant (policy answers or request) | confidently wrong |"
        ' uncovered: "I don\'t know" | "rephrase" |',
        "|---|---|---|---|---|",
    ]

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    for scope, s in summary.items():
        if scope.endswith(" rates"):
            lines.append(
                f"| {scope.split()[0]} | {pct(s['relevant'])} of {s['answerable_n']} | "
                f"{pct(s['confidently_wrong'])} | {pct(s['uncovered_abstained'])} of "
                f"{s['uncovered_n']} | {s['rephrase']} |"
            )
    return "\n".join(lines)


# --- talking to the bot -------------------------------------------------------------------------
def api_token() -> str:
    token = os.environ.get("RASA_API_TOKEN", "")
    if not token and SECRETS.exists():
        for line in SECRETS.read_text(encoding="utf-8").splitlines():
            if line.startswith("RASA_API_TOKEN="):
                token = line.split("=", 1)[1].strip()  # the last one wins, as in run.sh
    return token


def local_url(url: str) -> str:
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"evaluate_answers: only 127.0.0.1 is allowed, not {host!r}")
    return url.rstrip("/")


async def ask(client: httpx.AsyncClient, url: str, token: str, item: dict) -> dict[str, Any]:
    sender = f"eval-{uuid.uuid4().hex[:16]}"
    body = {
        "sender": sender,
        "message": item["text"],
        "metadata": {"brand": item["brand"], "lang": item["lang"]},
    }
    reply = await client.post(f"{url}/webhooks/rest/webhook", json=body)
    reply.raise_for_status()
    tracker = await client.get(
        f"{url}/conversations/{sender}/tracker", params={"token": token} if token else None
    )
    tracker.raise_for_status()
    turn = read_turn(tracker.json())
    return {
        **item,
        "kind": label_kind(item),
        "sender": sender,
        "outcome": outcome(item, turn),
        "got": asdict(turn),
    }


async def run_all(
    items: list[dict],
    url: str,
    token: str,
    concurrency: int = 1,
    timeout: float = 120.0,
    max_seconds: float = 3600.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[list[dict[str, Any]], int]:
    gate = asyncio.Semaphore(max(1, concurrency))
    deadline = time.monotonic() + max_seconds
    skipped = 0
    done_count = 0

    async def one(item: dict) -> dict[str, Any] | None:
        nonlocal skipped, done_count
        async with gate:
            if time.monotonic() > deadline:
                skipped += 1
                return None
            try:
                row = await ask(client, url, token, item)
            except httpx.HTTPError as error:
                # One failed question is reported, not allowed to lose the others' results.
                row = {**item, "kind": label_kind(item), "outcome": ERROR, "error": repr(error)}
            done_count += 1
            if done_count % PROGRESS_EVERY == 0:
                print(f"... {done_count} of {len(items)} asked", file=sys.stderr, flush=True)
            return row

    async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
        done = await asyncio.gather(*(one(item) for item in items))
    return [r for r in done if r is not None], skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="Rasa, on 127.0.0.1")
    parser.add_argument("--set", default=str(DEFAULT_SET), help="questions (YAML `messages`)")
    parser.add_argument("--lang", choices=("zh", "en"), help="only this language")
    parser.add_argument("--limit", type=int, help="this many questions, spread over the set")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="whole run budget")
    parser.add_argument("--json", dest="json_out", help="write every question's outcome here")
    args = parser.parse_args(argv)

    url = local_url(args.url)
    items = load_questions(Path(args.set), args.lang, args.limit)
    rows, skipped = asyncio.run(
        run_all(items, url, api_token(), args.concurrency, args.timeout, args.max_seconds)
    )
    summary = summarise(rows)
    errors = [r for r in rows if r["outcome"] == ERROR]
    print(f"Answers through the REST channel of {url}, set {args.set}, {len(rows)} questions\n")
    print(tables(summary))
    if errors:
        print(f"\n{len(errors)} questions not scored, the first: {errors[0]['error']}")
    if skipped:
        print(f"\n{skipped} questions not asked: --max-seconds ran out", file=sys.stderr)
    if args.json_out:
        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        document = {"url": url, "set": args.set, "summary": summary, "rows": rows}
        out.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
