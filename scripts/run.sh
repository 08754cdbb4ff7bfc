#!/usr/bin/env bash
# Runs the whole assistant on the embedded defaults: rights API (SQLite, demo customers, dev
# secrets), the hardened action server and Rasa (REST channel, HTTP API with token auth,
# redacting SQLite tracker store, in-memory locks). Ctrl-C stops all three.
#
# Ports: RIGHTS_PORT (8000), ACTION_SERVER_PORT (5055), RASA_PORT (5005).
# RASA_ENDPOINTS=bot/endpoints.scale.yml selects PostgreSQL + Redis (see that file).
# RASA_MODEL=path runs that model as it is (no training).
#
# Scaled: `bash scripts/run.sh --replicas 2` (any option of `python -m ops.scaled --help`) runs
# N Rasa replicas, two action servers and the API with two workers on PostgreSQL and Redis,
# behind nginx on RASA_PORT (see docs/DEPLOYMENT.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.

RIGHTS_PORT="${RIGHTS_PORT:-8000}"
ACTION_SERVER_PORT="${ACTION_SERVER_PORT:-5055}"
RASA_PORT="${RASA_PORT:-5005}"
# endpoints.yml names the action server as 127.0.0.1:5055; another port needs its own file.
RASA_ENDPOINTS="${RASA_ENDPOINTS:-bot/endpoints.yml}"
export RIGHTS_ENV="${RIGHTS_ENV:-dev}"
export RIGHTS_API_URL="${RIGHTS_API_URL:-http://127.0.0.1:${RIGHTS_PORT}}"
SECRETS=var/dev-secrets.env
LOGS=var/log

# Any argument selects the scaled stack; all of them go to ops.scaled.
SCALE_ARGS=("$@")

bash scripts/setup.sh
if [[ -n "${RASA_MODEL:-}" ]]; then
    MODEL="$RASA_MODEL"
else
    bash scripts/train.sh
    MODEL=models/assistant.tar.gz
fi

mkdir -p var "$LOGS"
umask 077

# The two tokens the bot side needs. The environment wins; in dev a missing one is read from, or
# generated into, the same file the API keeps its dev secrets in (the API rewrites that file but
# keeps keys it does not own). In prod both must be set.
ensure_secret() {
    local key="$1" value=""
    if [[ -n "${!key:-}" ]]; then
        export "$key"
        return
    fi
    if [[ "$RIGHTS_ENV" == prod ]]; then
        echo "run: prod needs $key" >&2
        exit 2
    fi
    if [[ -f "$SECRETS" ]]; then
        value="$(sed -n "s/^${key}=//p" "$SECRETS" | tail -n 1)"
    fi
    if [[ -z "$value" ]]; then
        value="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        printf '%s=%s\n' "$key" "$value" >> "$SECRETS"
    fi
    export "$key=$value"
}
ensure_secret ACTION_SERVER_TOKEN
ensure_secret RASA_API_TOKEN

if (( ${#SCALE_ARGS[@]} > 0 )); then
    export RASA_PORT ACTION_SERVER_PORT RIGHTS_PORT
    # The same pid: Ctrl-C and SIGTERM reach the supervisor, which stops every process.
    exec .venv-bot/bin/python -m ops.scaled --model "$MODEL" "${SCALE_ARGS[@]}"
fi

PIDS=()
cleanup() {
    trap - EXIT INT TERM
    echo
    echo "run: stopping"
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

wait_http() {
    local name="$1" url="$2" timeout="$3" pid="$4" waited=0
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "run: $name exited; last lines of $LOGS/$name.log:" >&2
            tail -n 30 "$LOGS/$name.log" >&2
            exit 1
        fi
        if (( waited >= timeout )); then
            echo "run: $name not ready after ${timeout}s; see $LOGS/$name.log" >&2
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

echo "run: starting the rights API on :$RIGHTS_PORT (log $LOGS/api.log)"
RIGHTS_PORT="$RIGHTS_PORT" bash scripts/api_run.sh >"$LOGS/api.log" 2>&1 &
PIDS+=($!)
wait_http api "http://127.0.0.1:${RIGHTS_PORT}/healthz" 120 "${PIDS[-1]}"

echo "run: starting the action server on :$ACTION_SERVER_PORT (log $LOGS/actions.log)"
.venv-bot/bin/python -m actions.server --port "$ACTION_SERVER_PORT" >"$LOGS/actions.log" 2>&1 &
PIDS+=($!)
wait_http actions "http://127.0.0.1:${ACTION_SERVER_PORT}/health" 120 "${PIDS[-1]}"

echo "run: starting Rasa on :$RASA_PORT (log $LOGS/rasa.log); loading the model takes a while"
RASA_TELEMETRY_ENABLED=false .venv-bot/bin/rasa run --enable-api --auth-token "$RASA_API_TOKEN" \
    --credentials bot/credentials.yml --endpoints "$RASA_ENDPOINTS" \
    --model "$MODEL" --interface 127.0.0.1 --port "$RASA_PORT" \
    >"$LOGS/rasa.log" 2>&1 &
PIDS+=($!)
wait_http rasa "http://127.0.0.1:${RASA_PORT}/status?token=${RASA_API_TOKEN}" 600 "${PIDS[-1]}"

cat <<INFO

The assistant is running. Pages to open in a browser:
  Web chat, MINI:  http://127.0.0.1:${RASA_PORT}/webhooks/webchat/?brand=mini&lang=zh  (English: &lang=en)
  Web chat, BMW:   http://127.0.0.1:${RASA_PORT}/webhooks/webchat/?brand=bmw&lang=en  (中文: &lang=zh)
  Full policies:   http://127.0.0.1:${RASA_PORT}/webhooks/webchat/policy/mini  and  .../policy/bmw
  Staff console:   http://127.0.0.1:${RIGHTS_PORT}/console/  (?lang=en)
    demo sign-in (dev): lead.demo or agent.demo, password demo-console-2026; or a staff token
  API docs:        http://127.0.0.1:${RIGHTS_PORT}/docs  (Swagger UI, Authorize)  and  /redoc
  Chat (REST channel):
    curl -s -X POST http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook \\
      -H 'Content-Type: application/json' \\
      -d '{"sender": "demo", "message": "我想退订营销短信", "metadata": {"brand": "mini", "lang": "zh"}}'
  A conversation's tracker (redacted):
    curl -s "http://127.0.0.1:${RASA_PORT}/conversations/demo/tracker?token=\$RASA_API_TOKEN"
  SMS the API would have sent (dev outbox, read the codes here):
    curl -s http://127.0.0.1:${RIGHTS_PORT}/v1/dev/outbox
  Secrets (bot API key, staff token, RASA_API_TOKEN, ACTION_SERVER_TOKEN): ${SECRETS}
  Logs: ${LOGS}/
Ctrl-C stops everything.
INFO

# Stop everything as soon as one of the three dies.
wait -n "${PIDS[@]}" || true
echo "run: a process exited; see $LOGS/" >&2
