#!/usr/bin/env bash
# The project's checks, in two tiers.
#
#   bash scripts/test.sh        everything (CI): lint, types, the API suite on SQLite and
#                               PostgreSQL, the browser suite, Rasa data validation, training,
#                               conversation test stories, and the bot, action and end-to-end
#                               suites against the real stack
#   bash scripts/test.sh fast   before each commit: lint, format check, types, and the unit
#                               suites of the three parts (API on SQLite, actions, bot) and
#                               the docs against the code (tests/docs); no
#                               training, no stack, the two suites side by side
#
# Installs whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.

TIER="${1:-full}"
case "$TIER" in
  full | fast) ;;
  *) echo "usage: scripts/test.sh [fast]" >&2; exit 2 ;;
esac

step() { printf '\n=== %s ===\n' "$*"; }

bash scripts/setup.sh

step "lint and types"
bash scripts/lint.sh

if [[ "$TIER" == fast ]]; then
  step "unit suites: API on SQLite | actions, bot, docs"
  LOGS="$(mktemp -d)"
  trap 'rm -rf "$LOGS"' EXIT
  RIGHTS_TEST_DATABASES=sqlite .venv-api/bin/pytest -q -p no:cacheprovider tests/contract tests/privacy tests/api \
    >"$LOGS/api.log" 2>&1 &
  api_pid=$!
  .venv-bot/bin/pytest -q -p no:cacheprovider tests/privacy tests/actions tests/bot tests/docs \
    >"$LOGS/bot.log" 2>&1 &
  bot_pid=$!
  status=0
  wait "$api_pid" || status=1
  wait "$bot_pid" || status=1
  for suite in api bot; do
    printf -- '--- %s\n' "$suite"
    # The whole report of a failing suite, the summary line of a passing one.
    if grep -qE '[0-9]+ (failed|error)' "$LOGS/$suite.log"; then
      cat "$LOGS/$suite.log"
    else
      tail -n 1 "$LOGS/$suite.log"
    fi
  done
  exit "$status"
fi

bash scripts/install_browser.sh

step "shared contract, rights API (SQLite and PostgreSQL)"
.venv-api/bin/pytest -q tests/contract tests/privacy tests/api
# Its own run: the API suite imports helpers from its conftest by module name.
.venv-api/bin/pytest -q tests/browser

step "Rasa training data"
# Rasa's own validation, failing on any warning but responses that only actions use.
.venv-bot/bin/python scripts/validate_data.py

step "training"
bash scripts/train.sh

step "conversation test stories"
bash scripts/test_stories.sh

step "bot, actions, docs and end-to-end"
.venv-bot/bin/pytest -q tests/privacy tests/bot tests/actions tests/docs tests/e2e
