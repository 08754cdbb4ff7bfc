"""Hardened rasa_sdk action server: `python -m actions.server --port 5055`.

On top of rasa_sdk's Sanic app:
- every call except /health needs the shared token (ACTION_SERVER_TOKEN). Rasa sends it as the
  `token` query parameter when `action_endpoint.token` is set in endpoints.yml;
- errors answer a short JSON naming the action only: rasa_sdk's default handler returns and logs
  the whole request body, i.e. the tracker with the customer's messages and slots;
- every log record goes through `privacy.masking.mask_log_text` (the API's logs are masked the
  same way), and the token query parameter is cut from logged URLs.

In dev (RIGHTS_ENV unset or `dev`) a missing token is read from, or generated into,
var/dev-secrets.env, the file the rights backend keeps its dev secrets in. In prod it is required.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import re
import secrets
import sys
import types
import zlib
from pathlib import Path
from typing import Any

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.backend import close_shared_client
from privacy import masking
from privacy.files import write_private_file

log = logging.getLogger("actions.server")

ROOT = Path(__file__).resolve().parents[1]
DEV_SECRETS_FILE = ROOT / "var" / "dev-secrets.env"
TOKEN_ENV = "ACTION_SERVER_TOKEN"
OPEN_PATHS = frozenset({"/health"})
MIN_TOKEN_LEN = 24

_TOKEN_IN_URL = re.compile(r"(?i)([?&](?:token|api_key|key)=)[^&\s'\"]+")


class ConfigurationError(RuntimeError):
    """The server cannot start with this configuration."""


def redact_text(text: str) -> str:
    """Masks customer identifiers (as the API's logs do) and URL tokens in a log line."""
    return _TOKEN_IN_URL.sub(r"\1***", masking.mask_log_text(text))


class RedactingFilter(logging.Filter):
    """Renders each record once, redacted, so no handler sees raw arguments or tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info:
            # The formatter prints exc_text when set; tracebacks carry local values.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def configure_logging(level: str = "INFO") -> None:
    """One stderr handler on the root logger, with the redacting filter on the handler.

    A filter on a handler sees the records of every child logger (rasa_sdk, sanic), which a
    filter on a logger would not.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s - %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server"):
        sanic_logger = logging.getLogger(name)
        for old in list(sanic_logger.handlers):
            sanic_logger.removeHandler(old)
        sanic_logger.propagate = True


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def resolve_token(
    environ: dict[str, str] | None = None, secrets_file: Path = DEV_SECRETS_FILE
) -> str:
    """The shared token: from the environment; in dev from, or generated into, the secrets file."""
    env = os.environ if environ is None else environ
    token = env.get(TOKEN_ENV, "").strip()
    if token:
        if env.get("RIGHTS_ENV", "dev") == "prod" and len(token) < MIN_TOKEN_LEN:
            raise ConfigurationError(f"{TOKEN_ENV} must be at least {MIN_TOKEN_LEN} characters")
        return token
    if env.get("RIGHTS_ENV", "dev") == "prod":
        raise ConfigurationError(f"prod needs a real {TOKEN_ENV}")
    stored = _read_env_file(secrets_file)
    if stored.get(TOKEN_ENV):
        return stored[TOKEN_ENV]
    token = secrets.token_urlsafe(32)
    stored[TOKEN_ENV] = token
    # Same format and ordering as the backend writes, so either side keeps the other's keys;
    # 0600 from the first byte.
    write_private_file(secrets_file, "".join(f"{k}={v}\n" for k, v in sorted(stored.items())))
    log.warning("dev action server token generated; it is in %s", secrets_file)
    return token


def _presented_token(request: Request) -> str:
    token = request.args.get("token")
    if token:
        return str(token)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return ""


def _action_name(request: Request) -> str | None:
    """The action a failed call was for, read without keeping or echoing anything else."""
    try:
        raw = request.body or b""
        if request.headers.get("Content-Encoding") == "deflate":
            raw = zlib.decompress(raw)
        payload = json.loads(raw)
        name = payload.get("next_action") if isinstance(payload, dict) else None
        return name if isinstance(name, str) and len(name) <= 200 else None
    except Exception:
        return None


async def _close_backend(app: Sanic, loop: Any) -> None:
    await close_shared_client()


def build_app(
    action_package: str | types.ModuleType = "actions",
    token: str | None = None,
    cors_origins: str | list[str] | None = None,
) -> Sanic:
    """rasa_sdk's app with the token check and the safe error handler."""
    expected = (token if token is not None else resolve_token()).encode("utf-8")
    if not expected:
        raise ConfigurationError("the action server token must not be empty")
    # No CORS: only Rasa calls this server, never a browser.
    app = create_app(action_package, cors_origins=cors_origins or "")

    # The backend client's one connection pool lives as long as the server.
    app.register_listener(_close_backend, "after_server_stop")

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or request.method == "OPTIONS":
            return None
        presented = _presented_token(request).encode("utf-8")
        if not hmac.compare_digest(presented, expected):
            log.warning("refused %s %s: missing or wrong token", request.method, request.path)
            return response.json({"error": "unauthorized"}, status=401)
        return None

    @app.exception(Exception)
    async def safe_error(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException):
            status = int(getattr(exception, "status_code", 500) or 500)
            if status < 500:
                return response.json(
                    {"error": "bad_request" if status == 400 else "error"}, status=status
                )
        action = _action_name(request)
        # Type only: an exception's message may quote slot values or the customer's text.
        log.error("action %s failed: %s", action or "<unknown>", type(exception).__name__)
        body: dict[str, Any] = {"error": "action_failed", "action_name": action}
        return response.json(body, status=500)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Hardened action server")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTION_SERVER_PORT", 5055)))
    parser.add_argument("--host", default=os.environ.get("ACTION_SERVER_HOST", "127.0.0.1"))
    parser.add_argument("--actions", default="actions")
    parser.add_argument("--log-level", default=os.environ.get("ACTION_SERVER_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    configure_logging(args.log_level.upper())
    try:
        token = resolve_token()
    except ConfigurationError as exc:
        log.error("%s", exc)
        raise SystemExit(2) from exc
    app = build_app(args.actions, token=token)
    log.info("action server on http://%s:%d (token required)", args.host, args.port)
    # access_log off: access lines would carry the token in the query string.
    app.run(host=args.host, port=args.port, access_log=False, workers=1, debug=False)


if __name__ == "__main__":
    main()
