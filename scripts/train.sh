#!/usr/bin/env bash
# Trains models/assistant.tar.gz when the training inputs changed since the last training
# (a hash of bot/config.yml, bot/domain/ and data/ is kept next to the model), else skips.
# FORCE_TRAIN=1 trains anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.

MODEL=models/assistant.tar.gz
STAMP=models/assistant.inputs.sha256

inputs_hash() {
    # Custom components are part of the model graph: their code counts as an input too.
    find bot/config.yml bot/domain data bot/components -type f \
        \( -name '*.yml' -o -name '*.yaml' -o -name '*.md' -o -name '*.json' -o -name '*.txt' -o -name '*.py' \) \
        -not -path '*/__pycache__/*' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

hash="$(inputs_hash)"
if [[ "${FORCE_TRAIN:-0}" != 1 && -f "$MODEL" ]]; then
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$hash" ]]; then
        echo "train: $MODEL is up to date"
        exit 0
    fi
    # A model trained by hand (no stamp yet) that is newer than every input is adopted.
    if [[ ! -f "$STAMP" ]] && [[ -z "$(find bot/config.yml bot/domain data bot/components \
            -type f -newer "$MODEL" -not -path '*/__pycache__/*' -print -quit)" ]]; then
        echo "$hash" > "$STAMP"
        echo "train: $MODEL is newer than its inputs; adopted"
        exit 0
    fi
fi

echo "train: training $MODEL"
mkdir -p models
.venv-bot/bin/rasa train --config bot/config.yml --domain bot/domain --data data \
    --fixed-model-name assistant --out models
echo "$hash" > "$STAMP"
