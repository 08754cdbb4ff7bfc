#!/usr/bin/env bash
# Lint and types of every part, as the pre-commit hooks and both test tiers run them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.

.venv-api/bin/ruff check .
.venv-api/bin/ruff format --check .
.venv-api/bin/mypy api privacy contract
.venv-bot/bin/mypy bot actions ops privacy contract
