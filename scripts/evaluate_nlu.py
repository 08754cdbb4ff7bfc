"""NLU cross-validation of bot/config.yml against the `rasa init` baseline on the same folds.

    PYTHONPATH=. .venv-bot/bin/python scripts/evaluate_nlu.py [--folds 5] [--epochs-scale 1.0]

The folds are generated once (StratifiedKFold over the full intent, ask_policy/<topic>
included, fixed seed); each pipeline is trained on every training fold with Rasa's own
training API and evaluated by parsing the held-out messages with the trained model. Reported:
intent F1 (weighted) per language (zh = the message contains a CJK character, else en) and
overall, plus the accuracy of the curated-answer choice on ask_policy messages. A message
routed to nlu_fallback counts as a wrong intent (that is what the customer would get); the F1
of the classifier's own top intent, before the fallback, is reported beside it.
--epochs-scale multiplies DIET / ResponseSelector epochs of both pipelines; below ~0.5 the
bot pipeline (40 epochs) is undertrained and falls back on most messages.
Results go to results/nlu_cv/ (JSON + a Markdown table).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = {"bot": ROOT / "bot" / "config.yml", "baseline": ROOT / "bot" / "baseline_config.yml"}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SEED = 20231
EPOCH_COMPONENTS = ("DIETClassifier", "ResponseSelector")

log = logging.getLogger("evaluate_nlu")


def language(text: str) -> str:
    return "zh" if CJK.search(text) else "en"


def scaled_config(path: Path, scale: float, workdir: Path) -> Path:
    """The config with classifier epochs scaled (policies are irrelevant for NLU)."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    for component in config.get("pipeline") or []:
        if component.get("name") in EPOCH_COMPONENTS:
            component["epochs"] = max(1, round(int(component.get("epochs", 100)) * scale))
    config.pop("policies", None)
    target = workdir / f"{path.stem}.yml"
    target.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    return target


def write_nlu(data: Any, path: Path) -> None:
    path.write_text(data.nlu_as_yaml(), encoding="utf-8")


def f1(truth: list[str], predicted: list[str]) -> float:
    if not truth:
        return float("nan")
    return float(f1_score(truth, predicted, average="weighted", zero_division=0))


async def evaluate_fold(model_path: str, examples: list[Any]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    rows = []
    for message in examples:
        text = message.get("text")
        parsed = await agent.parse_message(text)
        predicted_intent = (parsed.get("intent") or {}).get("name")
        # The classifier's own choice, before FallbackClassifier / the retrieval gate.
        ranking = [r.get("name") for r in parsed.get("intent_ranking") or []]
        classifier_intent = next((n for n in ranking if n != "nlu_fallback"), predicted_intent)
        selectors = parsed.get("response_selector") or {}
        # The baseline ResponseSelector has no retrieval_intent and answers under "default".
        selector = selectors.get("ask_policy") or selectors.get("default") or {}
        predicted_key = (selector.get("response") or {}).get("intent_response_key")
        rows.append(
            {
                "text": text,
                "lang": language(text),
                "intent": message.get("intent"),
                "full_intent": message.get_full_intent(),
                "predicted_intent": predicted_intent,
                "classifier_intent": classifier_intent,
                "predicted_full_intent": predicted_key
                if predicted_intent == "ask_policy"
                else predicted_intent,
            }
        )
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for scope in ("zh", "en", "all"):
        chosen = [r for r in rows if scope == "all" or r["lang"] == scope]
        policy = [r for r in chosen if r["intent"] == "ask_policy"]
        summary[scope] = {
            "n": len(chosen),
            "intent_f1_weighted": f1(
                [r["intent"] for r in chosen], [str(r["predicted_intent"]) for r in chosen]
            ),
            "intent_f1_before_fallback": f1(
                [r["intent"] for r in chosen],
                [str(r.get("classifier_intent")) for r in chosen],
            ),
            "ask_policy_n": len(policy),
            "curated_answer_accuracy": (
                sum(r["full_intent"] == r["predicted_full_intent"] for r in policy) / len(policy)
                if policy
                else float("nan")
            ),
        }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs-scale", type=float, default=1.0)
    parser.add_argument("--data", default=str(ROOT / "data" / "nlu"))
    parser.add_argument("--domain", default=str(ROOT / "bot" / "domain"))
    parser.add_argument("--out", default=str(ROOT / "results" / "nlu_cv"))
    parser.add_argument("--pipelines", nargs="+", default=list(PIPELINES), choices=list(PIPELINES))
    parser.add_argument(
        "--only-folds",
        nargs="+",
        type=int,
        help="evaluate only these folds (0-based) of the --folds split, for partial runs",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(args.data)
    examples = [m for m in data.intent_examples if m.get("text")]
    labels = [m.get_full_intent() for m in examples]
    splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=SEED)
    folds = list(splitter.split(examples, labels))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    results: dict[str, Any] = {"folds": args.folds, "epochs_scale": args.epochs_scale}
    with tempfile.TemporaryDirectory(prefix="nlu-cv-") as tmp:
        workdir = Path(tmp)
        for name in args.pipelines:
            config = scaled_config(PIPELINES[name], args.epochs_scale, workdir)
            rows: list[dict[str, Any]] = []
            seconds = 0.0
            for index, (train_idx, test_idx) in enumerate(folds):
                if args.only_folds is not None and index not in args.only_folds:
                    continue
                fold_dir = workdir / f"{name}-{index}"
                fold_dir.mkdir()
                train_data = data.__class__(
                    training_examples=[examples[i] for i in train_idx],
                    entity_synonyms=data.entity_synonyms,
                    regex_features=data.regex_features,
                    lookup_tables=data.lookup_tables,
                    responses=data.responses,
                )
                write_nlu(train_data, fold_dir / "nlu.yml")
                started = time.monotonic()
                model = train_nlu(
                    str(config),
                    str(fold_dir / "nlu.yml"),
                    str(fold_dir),
                    fixed_model_name="nlu",
                    domain=args.domain,
                )
                seconds += time.monotonic() - started
                if not model:
                    raise SystemExit(f"training {name} fold {index} failed")
                fold_rows = asyncio.run(evaluate_fold(model, [examples[i] for i in test_idx]))
                rows += [{**row, "fold": index} for row in fold_rows]
                log.info("%s fold %d/%d done", name, index + 1, args.folds)
            results[name] = {"summary": summarise(rows), "train_seconds": round(seconds, 1)}
            (out / f"{name}_predictions.json").write_text(
                json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8"
            )

    (out / "summary.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    lines = [
        f"NLU cross-validation, {args.folds} folds (same folds), epochs x{args.epochs_scale}",
        "",
        "| pipeline | scope | n | intent F1 (weighted) | F1 before fallback | curated-answer acc."
        " | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.pipelines:
        for scope in ("zh", "en", "all"):
            s = results[name]["summary"][scope]
            lines.append(
                f"| {name} | {scope} | {s['n']} | {s['intent_f1_weighted']:.3f} | "
                f"{s['intent_f1_before_fallback']:.3f} | "
                f"{s['curated_answer_accuracy']:.3f} | {results[name]['train_seconds']} |"
            )
    table = "\n".join(lines)
    (out / "summary.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
