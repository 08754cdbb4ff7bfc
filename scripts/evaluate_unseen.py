"""The trained model on the unseen-phrasing set (tests/nlu/unseen_phrasings.yml).

    PYTHONPATH=. .venv-bot/bin/python scripts/evaluate_unseen.py [--model models/assistant.tar.gz]

The set was written apart from the training data and is never trained on (tests/bot/
test_unseen_set.py fails if a message of it, or a near-copy, is in data/). Every message is
parsed by the model's NLU as a customer's message would be. Reported per language:
- intent accuracy, over every message but the uncovered questions: a policy question that the
  topic gate sends to the clause search counts as ask_policy (it was understood);
- on covered policy questions: right curated topic, wrong curated topic (a confident answer
  about something else), sent to the clause search;
- on uncovered questions: the share sent to the clause search or out_of_scope (the honest
  path), and the share given a curated answer or taken for a request.
Printed as a table and written to results/unseen.json (with every prediction).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from evaluate_nlu import parse_all

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "tests" / "nlu" / "unseen_phrasings.yml"
SEARCH_INTENTS = ("nlu_fallback", "out_of_scope")
UNCOVERED = "ask_policy/uncovered"


def load_set(path: Path = SET) -> list[dict[str, Any]]:
    return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("messages") or [])


def expected_topics(item: dict[str, Any]) -> set[str]:
    topic = item.get("topic")
    topics = topic if isinstance(topic, list) else [topic] if topic else []
    return {f"ask_policy/{t}" for t in topics}


def outcome(item: dict[str, Any], parsed: dict[str, Any]) -> dict[str, Any]:
    intent = (parsed.get("intent") or {}).get("name")
    gated = (parsed.get("gated_intent") or {}).get("name")
    selected = ((parsed.get("response_selector") or {}).get("ask_policy") or {}).get("response")
    key = (selected or {}).get("intent_response_key")
    understood = gated or intent
    # The answer ranker says a quote or "I don't know" under the uncovered key.
    no_curated_answer = intent in SEARCH_INTENTS or key == UNCOVERED
    if item.get("topic") == "uncovered":
        kind = "search" if no_curated_answer else "answered"
    elif item["intent"] == "ask_policy":
        if intent == "ask_policy" and key == UNCOVERED:
            kind = "search"
        elif intent == "ask_policy":
            kind = "right" if key in expected_topics(item) else "wrong"
        elif intent == "nlu_fallback" and gated == "ask_policy":
            kind = "search"
        else:
            kind = "other_intent"
    else:
        kind = "right" if understood == item["intent"] else "wrong"
    return {
        **item,
        "predicted_intent": intent,
        "gated_intent": gated,
        "selected_key": key,
        "selector_confidence": (selected or {}).get("confidence"),
        "intent_right": understood == item["intent"],
        "outcome": kind,
    }


def share(rows: list[dict[str, Any]], hit: Callable[[dict[str, Any]], bool]) -> float:
    return sum(1 for r in rows if hit(r)) / len(rows) if rows else float("nan")


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    summary = {}
    for scope in ("zh", "en", "all"):
        chosen = [r for r in rows if scope == "all" or r["lang"] == scope]
        intents = [r for r in chosen if r.get("topic") != "uncovered"]
        covered = [r for r in intents if r["intent"] == "ask_policy"]
        uncovered = [r for r in chosen if r.get("topic") == "uncovered"]
        summary[scope] = {
            "n": len(chosen),
            "intent_n": len(intents),
            "intent_accuracy": share(intents, lambda r: r["intent_right"]),
            "covered_n": len(covered),
            "topic_right": share(covered, lambda r: r["outcome"] == "right"),
            "topic_wrong": share(covered, lambda r: r["outcome"] == "wrong"),
            "topic_to_search": share(covered, lambda r: r["outcome"] == "search"),
            "uncovered_n": len(uncovered),
            "uncovered_to_search": share(uncovered, lambda r: r["outcome"] == "search"),
        }
    return summary


def table(summary: dict[str, dict[str, float]]) -> str:
    lines = [
        "| scope | n | intent acc | covered n | right topic | wrong topic | to search |"
        " uncovered n | uncovered to search / IDK |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scope, s in summary.items():
        lines.append(
            f"| {scope} | {s['n']} | {s['intent_accuracy']:.3f} | {s['covered_n']} | "
            f"{s['topic_right']:.3f} | {s['topic_wrong']:.3f} | {s['topic_to_search']:.3f} | "
            f"{s['uncovered_n']} | {s['uncovered_to_search']:.3f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "assistant.tar.gz"))
    parser.add_argument("--out", default=str(ROOT / "results" / "unseen.json"))
    parser.add_argument("--show-errors", action="store_true", help="print every miss")
    args = parser.parse_args()
    items = load_set()
    parsed = parse_all(args.model, [item["text"] for item in items])
    rows = [outcome(item, p) for item, p in zip(items, parsed, strict=True)]
    summary = summarise(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"model": args.model, "summary": summary, "rows": rows}, ensure_ascii=False, indent=1
        ),
        encoding="utf-8",
    )
    print(f"Unseen phrasings ({SET.relative_to(ROOT)}), model {args.model}\n")
    print(table(summary))
    if args.show_errors:
        for r in rows:
            if r["outcome"] not in ("right", "search") or not r["intent_right"]:
                print(
                    f"- [{r['outcome']}] {r['text']!r}: expected {r['intent']}/"
                    f"{r.get('topic')}, got {r['predicted_intent']} {r['selected_key']}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
