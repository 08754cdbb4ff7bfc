#!/usr/bin/env bash
# Dev run of the rights backend: migrations, then uvicorn on 127.0.0.1:8000.
# Generated dev secrets (bot API key, staff token) are written to var/dev-secrets.env.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.
mkdir -p var
.venv-api/bin/python -m api.cli migrate
exec .venv-api/bin/uvicorn api.main:app --host 127.0.0.1 --port "${RIGHTS_PORT:-8000}" "$@"
