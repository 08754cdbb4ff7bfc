"""Action-server settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The rights backend writes its generated dev secrets here; reading them lets the embedded
# run work without exporting the key by hand.
DEV_SECRETS_FILE = ROOT / "var" / "dev-secrets.env"


def _dev_secret(name: str) -> str:
    try:
        lines = DEV_SECRETS_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == name:
            return value.strip().strip('"').strip("'")
    return ""


@dataclass(frozen=True)
class Settings:
    api_url: str = "http://127.0.0.1:8000"
    bot_api_key: str = ""
    timeout_s: float = 5.0
    connect_timeout_s: float = 2.0
    # Total attempts for a call that may be retried (connect errors, timeouts, 5xx).
    attempts: int = 3
    backoff_initial_s: float = 0.3
    backoff_max_s: float = 2.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            api_url=env.get("RIGHTS_API_URL", cls.api_url).rstrip("/"),
            bot_api_key=env.get("RIGHTS_BOT_API_KEY") or _dev_secret("RIGHTS_BOT_API_KEY"),
            timeout_s=float(env.get("RIGHTS_API_TIMEOUT", cls.timeout_s)),
            connect_timeout_s=float(env.get("RIGHTS_API_CONNECT_TIMEOUT", cls.connect_timeout_s)),
            attempts=max(1, int(env.get("RIGHTS_API_ATTEMPTS", cls.attempts))),
            backoff_initial_s=float(env.get("RIGHTS_API_BACKOFF", cls.backoff_initial_s)),
            backoff_max_s=float(env.get("RIGHTS_API_BACKOFF_MAX", cls.backoff_max_s)),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
