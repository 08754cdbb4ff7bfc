#!/usr/bin/env bash
# Dev run of the rights backend: migrations, then uvicorn on 127.0.0.1:8000.
# Generated dev secrets (bot API key, staff token) are written to var/dev-secrets.env.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.
mkdir -p var
.venv-api/bin/python -m api.cli migrate
# --no-proxy-headers: the app believes X-Forwarded-* from RIGHTS_TRUSTED_PROXIES only;
# uvicorn's own handling would believe them from 127.0.0.1 whatever that setting says.
exec .venv-api/bin/uvicorn api.main:app --host 127.0.0.1 --port "${RIGHTS_PORT:-8000}" \
    --no-proxy-headers "$@"
