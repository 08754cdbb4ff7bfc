"""NLU cross-validation of bot/config.yml against the `rasa init` baseline on the same folds.

    PYTHONPATH=. .venv-bot/bin/python scripts/evaluate_nlu.py [--folds 5] [--epochs-scale 1.0]

The folds are generated once (StratifiedKFold over the full intent, ask_policy/<topic>
included, fixed seed); each pipeline is trained on every training fold with Rasa's own
training API and evaluated by parsing the held-out messages with the trained model. Reported
per language (zh = the message contains a CJK character, else en) and overall:
- intent F1 (weighted) of the intent the NLU settles on: a message that FallbackClassifier
  turns into nlu_fallback counts as a wrong intent. A policy question that the bot's retrieval
  gate sends to clause retrieval (its curated-answer choice was unsure) counts as ask_policy:
  it was understood and is answered from the policy text. The F1 with those gated messages
  counted wrong, and the F1 of the classifier's own top intent, are reported beside it;
- on ask_policy messages that a curated topic covers: the share that gets the right curated
  answer, the share that gets another topic's answer, and the share sent to clause retrieval;
- on `ask_policy/uncovered` messages (questions neither policy answers): the share sent to the
  clause search or to out_of_scope, i.e. not given a curated answer;
- a sweep of the topic-confidence threshold per language over the held-out predictions, from
  which the thresholds of bot/config.yml are chosen (the held-out rows were never trained on).
--epochs-scale multiplies the epochs of every trained classifier of both pipelines; below ~0.5 the
bot pipeline is undertrained. `--pipelines bot` re-runs one pipeline and keeps the other's
results from an earlier run into the same --out, if that run used the same folds.
`--config-of bot=PATH` evaluates another config under a pipeline's name (e.g. the previous
pipeline, for a before/after comparison). Results go to results/nlu_cv/ (JSON + Markdown).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = {"bot": ROOT / "bot" / "config.yml", "baseline": ROOT / "bot" / "baseline_config.yml"}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SEED = 20231
UNCOVERED = "ask_policy/uncovered"
SEARCH_INTENTS = ("nlu_fallback", "out_of_scope")

log = logging.getLogger("evaluate_nlu")


def language(text: str) -> str:
    return "zh" if CJK.search(text) else "en"


def scaled_config(path: Path, scale: float, workdir: Path) -> Path:
    """The config with classifier epochs scaled (policies are irrelevant for NLU)."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    for component in config.get("pipeline") or []:
        if "epochs" in component:
            component["epochs"] = max(1, round(int(component["epochs"]) * scale))
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


def parse_all(model_path: str, texts: list[str], batch_size: int = 64) -> list[dict[str, Any]]:
    """Parse data of every text, as `Agent.parse_message` gives it, in batches: the NLU graph
    takes a list of messages, and the sentence encoder embeds a batch much faster than one
    message at a time."""
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker

    processor = Agent.load(model_path).processor
    assert processor is not None
    target = processor.model_metadata.nlu_target
    parsed: list[dict[str, Any]] = []
    for start in range(0, len(texts), batch_size):
        batch = [UserMessage(text) for text in texts[start : start + batch_size]]
        results = processor.graph_runner.run(
            inputs={
                PLACEHOLDER_MESSAGE: batch,
                PLACEHOLDER_TRACKER: DialogueStateTracker.from_events("evaluation", []),
            },
            targets=[target],
        )
        parsed += [m.as_dict(only_output_properties=True) for m in results[target]]
    return parsed


def evaluate_fold(model_path: str, examples: list[Any]) -> list[dict[str, Any]]:
    rows = []
    texts = [message.get("text") for message in examples]
    for message, parsed in zip(examples, parse_all(model_path, texts), strict=True):
        text = message.get("text")
        predicted_intent = (parsed.get("intent") or {}).get("name")
        # The classifier's own choice, before FallbackClassifier / the retrieval gate.
        ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
        classifier_intent = ranking[0].get("name") if ranking else predicted_intent
        selectors = parsed.get("response_selector") or {}
        # The baseline ResponseSelector has no retrieval_intent and answers under "default".
        selector = (selectors.get("ask_policy") or selectors.get("default") or {}).get("response")
        predicted_key = (selector or {}).get("intent_response_key")
        rows.append(
            {
                "text": text,
                "lang": language(text),
                "intent": message.get("intent"),
                "full_intent": message.get_full_intent(),
                "predicted_intent": predicted_intent,
                # The intent the bot's retrieval gate overrode, if it did.
                "gated_intent": (parsed.get("gated_intent") or {}).get("name"),
                "classifier_intent": classifier_intent,
                # Kept so that fallback thresholds can be swept without retraining.
                "classifier_confidences": [r.get("confidence") for r in ranking[:2]],
                "selected_key": predicted_key,
                "selector_confidence": (selector or {}).get("confidence"),
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
        policy = [
            r for r in chosen if r["intent"] == "ask_policy" and r["full_intent"] != UNCOVERED
        ]
        uncovered = [r for r in chosen if r["full_intent"] == UNCOVERED]
        summary[scope] = {
            "n": len(chosen),
            "intent_f1_weighted": f1(
                [r["intent"] for r in chosen],
                [str(r.get("gated_intent") or r["predicted_intent"]) for r in chosen],
            ),
            "intent_f1_gate_counted_wrong": f1(
                [r["intent"] for r in chosen], [str(r["predicted_intent"]) for r in chosen]
            ),
            "intent_f1_before_fallback": f1(
                [r["intent"] for r in chosen],
                [str(r.get("classifier_intent")) for r in chosen],
            ),
            "ask_policy_n": len(policy),
            "curated_answer_accuracy": share(
                policy, lambda r: r["full_intent"] == r["predicted_full_intent"]
            ),
            "curated_answer_wrong": share(
                policy,
                lambda r: (
                    r["predicted_intent"] == "ask_policy"
                    and r["full_intent"] != r["predicted_full_intent"]
                ),
            ),
            "ask_policy_to_retrieval": share(
                policy, lambda r: r["predicted_intent"] == "nlu_fallback"
            ),
            "uncovered_n": len(uncovered),
            "uncovered_to_search": share(
                uncovered, lambda r: r["predicted_intent"] in SEARCH_INTENTS
            ),
        }
    return summary


def gate_at(row: dict[str, Any], threshold: float) -> str:
    """What the gate at `threshold` makes of a row: "search", "right", "wrong" or "other"."""
    understood = row["predicted_intent"] == "ask_policy" or row.get("gated_intent") == "ask_policy"
    if not understood:
        return "search" if row["predicted_intent"] in SEARCH_INTENTS else "other"
    confidence = row.get("selector_confidence")
    if row.get("selected_key") == UNCOVERED or (confidence is not None and confidence < threshold):
        return "search"
    return "right" if row.get("selected_key") == row["full_intent"] else "wrong"


def threshold_sweep(rows: list[dict[str, Any]]) -> str:
    """Covered right / wrong and uncovered-to-search at each topic threshold, per language."""
    lines = [
        "| lang | threshold | covered right | covered wrong | covered to search |"
        " uncovered to search |",
        "|---|---|---|---|---|---|",
    ]
    for lang in ("zh", "en"):
        covered = [
            r
            for r in rows
            if r["lang"] == lang and r["intent"] == "ask_policy" and r["full_intent"] != UNCOVERED
        ]
        uncovered = [r for r in rows if r["lang"] == lang and r["full_intent"] == UNCOVERED]
        for step in range(0, 19):
            t = step / 20
            outcomes = [gate_at(r, t) for r in covered]
            lines.append(
                f"| {lang} | {t:.2f} | {share(outcomes, lambda o: o == 'right'):.3f} | "
                f"{share(outcomes, lambda o: o == 'wrong'):.3f} | "
                f"{share(outcomes, lambda o: o == 'search'):.3f} | "
                f"{share([gate_at(r, t) for r in uncovered], lambda o: o == 'search'):.3f} |"
            )
    return "\n".join(lines)


def share(rows: list[Any], hit: Callable[[Any], bool]) -> float:
    return sum(1 for r in rows if hit(r)) / len(rows) if rows else float("nan")


def earlier_results(
    out: Path, name: str, split: set[tuple[str, int]], epochs_scale: float
) -> dict[str, Any] | None:
    """A pipeline's results of an earlier run into `out`, if it ran on these folds and epochs."""
    predictions, summary = out / f"{name}_predictions.json", out / "summary.json"
    if not (predictions.exists() and summary.exists()):
        return None
    rows = json.loads(predictions.read_text(encoding="utf-8"))
    if {(r["text"], r["fold"]) for r in rows} != split:
        log.warning("%s: earlier results in %s are of other folds; not shown", name, out)
        return None
    recorded = json.loads(summary.read_text(encoding="utf-8"))
    if recorded.get("epochs_scale") != epochs_scale:
        log.warning("%s: earlier results in %s are of other epochs; not shown", name, out)
        return None
    earlier = recorded.get(name) or {}
    return {"summary": summarise(rows), "train_seconds": earlier.get("train_seconds")}


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        f"NLU cross-validation, {results['folds']} folds (same folds),"
        f" epochs x{results['epochs_scale']}",
        "",
        "| pipeline | scope | n | intent F1 | gated counted wrong | before fallback |"
        " curated answer right | wrong | ask_policy to retrieval | uncovered to search |"
        " train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in (n for n in PIPELINES if n in results):
        for scope in ("zh", "en", "all"):
            s = results[name]["summary"][scope]
            lines.append(
                f"| {name} | {scope} | {s['n']} | {s['intent_f1_weighted']:.3f} | "
                f"{s['intent_f1_gate_counted_wrong']:.3f} | "
                f"{s['intent_f1_before_fallback']:.3f} | {s['curated_answer_accuracy']:.3f} | "
                f"{s['curated_answer_wrong']:.3f} | "
                f"{s['ask_policy_to_retrieval']:.3f} | {s.get('uncovered_to_search', 0):.3f} | "
                f"{results[name]['train_seconds']} |"
            )
    return "\n".join(lines)


def cross_validate(
    name: str,
    args: argparse.Namespace,
    data: Any,
    examples: list[Any],
    folds: list[Any],
    workdir: Path,
) -> tuple[list[dict[str, Any]], float]:
    """Train and evaluate one pipeline on every fold: the held-out rows and training seconds."""
    from rasa.model_training import train_nlu

    config = scaled_config(args.configs[name], args.epochs_scale, workdir)
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
        fold_rows = evaluate_fold(model, [examples[i] for i in test_idx])
        rows += [{**row, "fold": index} for row in fold_rows]
        log.info("%s fold %d/%d done", name, index + 1, args.folds)
    return rows, seconds


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
    parser.add_argument(
        "--config-of",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="evaluate the config at PATH under the pipeline name NAME",
    )
    parser.add_argument(
        "--report", action="store_true", help="train nothing; tabulate the results in --out"
    )
    args = parser.parse_args()
    args.configs = dict(PIPELINES)
    for item in args.config_of:
        name, _, path = item.partition("=")
        if name not in PIPELINES or not path:
            parser.error(f"--config-of takes {'|'.join(PIPELINES)}=PATH, not {item!r}")
        args.configs[name] = Path(path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(args.data)
    examples = [m for m in data.intent_examples if m.get("text")]
    labels = [m.get_full_intent() for m in examples]
    splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=SEED)
    folds = list(splitter.split(examples, labels))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    results: dict[str, Any] = {"folds": args.folds, "epochs_scale": args.epochs_scale}
    run = [] if args.report else args.pipelines
    with tempfile.TemporaryDirectory(prefix="nlu-cv-") as tmp:
        for name in run:
            rows, seconds = cross_validate(name, args, data, examples, folds, Path(tmp))
            results[name] = {"summary": summarise(rows), "train_seconds": round(seconds, 1)}
            (out / f"{name}_predictions.json").write_text(
                json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8"
            )
    if args.only_folds is None:
        # Read after training, so that a run of the other pipeline that ended meanwhile counts.
        split = {(examples[i].get("text"), k) for k, (_, test) in enumerate(folds) for i in test}
        for name in PIPELINES:
            if name not in run and (
                earlier := earlier_results(out, name, split, args.epochs_scale)
            ):
                results[name] = earlier

    (out / "summary.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    table = markdown_table(results)
    for name in (n for n in PIPELINES if n in results):
        rows = json.loads((out / f"{name}_predictions.json").read_text(encoding="utf-8"))
        table += f"\n\nTopic threshold sweep, {name} (held-out predictions)\n\n"
        table += threshold_sweep(rows)
    (out / "summary.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
