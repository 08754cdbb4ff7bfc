#!/usr/bin/env bash
# Runs every check of the project: lint, types, the API suite on SQLite and PostgreSQL,
# Rasa data validation, training, conversation test stories, and the bot, action and
# end-to-end suites against the real stack. Installs whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.

bash scripts/setup.sh
bash scripts/install_browser.sh

step() { printf '\n=== %s ===\n' "$*"; }

step "lint and types"
.venv-api/bin/ruff check .
.venv-api/bin/mypy api privacy contract
.venv-bot/bin/mypy bot actions ops privacy contract

step "rights API (SQLite and PostgreSQL)"
.venv-api/bin/pytest -q tests/api
# Its own run: the API suite imports helpers from its conftest by module name.
.venv-api/bin/pytest -q tests/browser

step "Rasa training data"
# Rasa's own validation, failing on any warning but responses that only actions use.
.venv-bot/bin/python scripts/validate_data.py

step "training"
bash scripts/train.sh

step "conversation test stories"
bash scripts/test_stories.sh

step "bot, actions and end-to-end"
.venv-bot/bin/pytest -q tests/bot tests/actions tests/e2e
