#!/usr/bin/env bash
# Creates or updates the two Python environments from uv.lock; safe to run again (uv sync is a
# no-op when nothing changed). Python 3.10 comes from pyenv through .python-version, else uv.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
    echo "setup: installing uv" >&2
    # python3 is pyenv's 3.10 here (.python-version); a system Python may need --user.
    python3 -m pip install --quiet uv \
        || python3 -m pip install --quiet --user uv \
        || python3 -m pip install --quiet --user --break-system-packages uv
    export PATH="$HOME/.local/bin:$PATH"
fi
# A freshly pip-installed uv may not have a pyenv shim yet; the module form always works.
if command -v uv >/dev/null 2>&1; then UV=(uv); else UV=(python3 -m uv); fi

# pyenv's shim honours .python-version; uv would otherwise pick any 3.10 it finds or downloads.
PYTHON_ARGS=()
if command -v pyenv >/dev/null 2>&1; then
    if py="$(pyenv which python 2>/dev/null)"; then
        PYTHON_ARGS=(--python "$py")
    fi
fi

UV_PROJECT_ENVIRONMENT=.venv-api "${UV[@]}" sync --group api --frozen --quiet "${PYTHON_ARGS[@]}"
UV_PROJECT_ENVIRONMENT=.venv-bot "${UV[@]}" sync --group bot --frozen --quiet "${PYTHON_ARGS[@]}"
# nginx fronts the scaled stack (scripts/run.sh --replicas N); Debian's package when missing.
bash scripts/install_nginx.sh
