#!/usr/bin/env bash
# Runs every conversation test story in tests/stories end to end (user text through the NLU
# pipeline, then the dialogue policies) without stopping at the first failure, prints each
# failed story, and exits non-zero if any failed.
#
#   scripts/test_stories.sh [MODEL]    MODEL defaults to $MODEL, else the newest models/*.tar.gz
#
# Story files are named after their flow (core_*.yml, policy_*.yml, requests_*.yml) and keep
# user text plain. Rasa only runs files whose name starts with "test_" end to end and compares
# every entity the pipeline emits, so the stories are copied to a scratch directory under that
# prefix, with the entities of the custom components (lang, brand, identifiers) annotated.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.

MODEL="${1:-${MODEL:-}}"
if [[ -z "$MODEL" ]]; then
  MODEL="$(ls -t models/*.tar.gz 2>/dev/null | head -n 1)"
fi
if [[ -z "$MODEL" || ! -f "$MODEL" ]]; then
  echo "no trained model found (give one as the first argument or train first)" >&2
  exit 2
fi

STORIES_DIR="tests/stories"
OUT="results/stories"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
rm -rf "$OUT" && mkdir -p "$OUT"

.venv-bot/bin/python - "$STORIES_DIR" "$SCRATCH" <<'PY' || exit 2
import sys
from pathlib import Path

import yaml
from rasa.shared.nlu.training_data import entities_parser
from rasa.shared.nlu.training_data.formats.readerwriter import TrainingDataWriter

from bot.components.context import detect_context
from privacy.identifiers import find_identifiers

source, target = Path(sys.argv[1]), Path(sys.argv[2])


def annotate(text: str) -> str:
    text = text.strip()
    given = entities_parser.find_entities_in_training_example(text)
    plain = entities_parser.replace_entities(text)
    if plain.startswith("/"):
        return text
    found = [
        {"entity": e.entity, "value": e.value, "start": e.start, "end": e.end}
        for e in detect_context(plain)
        if e.end > e.start
    ] + [
        {"entity": i.entity, "value": i.value, "start": i.start, "end": i.end}
        for i in find_identifiers(plain)
    ]
    entities = list(given)
    for entity in found:
        if not any(
            entity["start"] < other["end"] and entity["end"] > other["start"] for other in given
        ):
            entities.append(entity)
    entities.sort(key=lambda e: e["start"])
    return TrainingDataWriter.generate_message({"text": plain, "entities": entities})


count = 0
for path in sorted(source.glob("*.yml")):
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for story in data.get("stories") or []:
        for step in story.get("steps") or []:
            if isinstance(step, dict) and isinstance(step.get("user"), str):
                step["user"] = annotate(step["user"])
        count += 1
    name = path.name if path.name.startswith("test_") else f"test_{path.name}"
    (target / name).write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8"
    )
print(f"{count} stories from {source}")
PY

.venv-bot/bin/rasa test core --model "$MODEL" --stories "$SCRATCH" --out "$OUT" --e2e \
  --no-plot 2>&1 | grep -v -E "tensorflow|oneDNN|cuda|TensorRT|rebuild TensorFlow" | tail -n 15
status=${PIPESTATUS[0]}
if [[ $status -ne 0 ]]; then
  echo "rasa test core failed to run (exit $status)" >&2
  exit 2
fi

.venv-bot/bin/python - "$OUT" <<'PY'
import sys
from pathlib import Path

import yaml

out = Path(sys.argv[1])
failed_file = out / "failed_test_stories.yml"
text = failed_file.read_text(encoding="utf-8") if failed_file.exists() else ""
failed = (yaml.safe_load(text) or {}).get("stories") or [] if text.strip() else []
report = out / "story_report.json"
if report.exists():
    import json

    summary = json.loads(report.read_text(encoding="utf-8"))
    conversations = summary.get("conversation_accuracy") or {}
    print(
        "stories: {} correct of {} ({:.0%})".format(
            conversations.get("correct", "?"),
            conversations.get("total", "?"),
            conversations.get("accuracy", 0.0),
        )
    )
if failed:
    print(f"\n{len(failed)} failed stories:\n")
    print(text)
    sys.exit(1)
print("all stories passed")
PY
