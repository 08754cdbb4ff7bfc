"""One Settings object, read from RIGHTS_* environment variables.

In dev, missing secrets are generated once and kept in var/dev-secrets.env so that the bot and
the staff can read them and the next start reuses them. In prod the service refuses to start
without real secrets.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url

from privacy.files import write_private_file

log = logging.getLogger("api.settings")

ROOT = Path(__file__).resolve().parents[2]
SECRET_FIELDS = (
    "bot_api_key",
    "staff_tokens",
    "proof_secret",
    "lookup_pepper",
    "audit_key",
    "field_keys",
)
MIN_SECRET_LEN = 24


class ConfigurationError(RuntimeError):
    """The service cannot start with this configuration."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIGHTS_", extra="ignore")

    env: Literal["dev", "prod"] = "dev"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'rights.db'}"
    bot_api_key: str = ""
    staff_tokens: str = ""  # comma-separated bearer tokens
    proof_secret: str = ""  # signs subject proofs and app-session tokens
    lookup_pepper: str = ""  # keys the mobile lookup hash and the SMS code hashes
    audit_key: str = ""  # keys the audit chain and signs its checkpoints; never in the database
    # Seal mobile numbers at rest (AES-GCM, api.core.fields); comma-separated, newest first:
    # the first seals, all open. Never in the database.
    field_keys: str = ""
    # Append-only file of signed audit checkpoints; by default next to a SQLite database file,
    # else var/audit-anchors-<hash of the URL>.jsonl. Keep it where database users cannot write.
    audit_anchor_file: Path | None = None
    # Several API instances: a directory they all share (not the database: its owner must not
    # be able to rewrite the anchors). Each instance appends to audit-anchors-<instance>.jsonl
    # there and reads every instance's file, so a new pod starts from what the others anchored.
    audit_anchor_dir: Path | None = None
    audit_instance: str = Field(default_factory=socket.gethostname)
    # Entries up to this id may be plain SHA-256 (a chain begun before the audit was keyed);
    # any unkeyed entry after it breaks the chain. 0: every entry must be keyed.
    audit_unkeyed_until: int = 0
    audit_checkpoint_seconds: int = 60  # how often the chain head is anchored (0: only at start)
    dev_secrets_file: Path = ROOT / "var" / "dev-secrets.env"
    backup_retention_days: int = 30
    policy_file: Path = ROOT / "data" / "policy" / "rights.yml"
    demo_customers_file: Path = ROOT / "data" / "demo" / "customers.yml"
    # Holiday schedules for years chinesecalendar does not know yet (data/calendar/README.md)
    calendar_dir: Path = ROOT / "data" / "calendar"
    max_body_bytes: int = 64 * 1024  # larger request bodies are refused with 413 unread
    run_migrations: bool = True
    load_demo_data: bool = True
    # Verification limits
    code_ttl_seconds: int = 300
    code_max_attempts: int = 5
    codes_per_hour: int = 3
    proof_ttl_seconds: int = 600
    # A verified SMS or phone-password check covers its own conversation's further requests
    # for this long: each gets a new single-use proof without a new code (issue 22).
    conversation_cover_seconds: int = 600
    app_session_ttl_seconds: int = 3600
    # Wrong guesses are counted per number and source (the caller line on the hotline, else the
    # customer's address, else the conversation): past *_max_failures that source is locked out
    # of the number; past the higher *_number_max_failures, every source is (the number locks).
    password_max_failures: int = 5  # wrong passwords per number and source per lock window
    password_number_max_failures: int = 20  # wrong passwords per number, all sources together
    password_lock_seconds: int = 1800  # the lock window, and how long a lock lasts
    sms_max_failures: int = 5  # wrong SMS codes per number and source, across challenges
    sms_number_max_failures: int = 20
    sms_lock_seconds: int = 3600
    # Starting verifications (429 + Retry-After past these; 0 turns a limit off). Counted in
    # the database so that every API worker sees the same counts.
    # X-Client-Address and X-Conversation-Id are believed only from the bot (its X-API-Key).
    start_window_seconds: int = 600
    starts_per_conversation: int = 10  # per conversation (X-Conversation-Id from the bot)
    starts_per_address: int = 120  # per client address (X-Client-Address from the bot, else peer)
    starts_per_number: int = 50  # per mobile number, every method and source together
    starts_per_channel: int = 1000  # per channel (chat, ivr)
    # Every start together: bounds SMS cost and bombing. Below the channels' sum, so that it
    # binds by itself when both channels are busy.
    starts_global: int = 1500
    # Downstream deletion notices
    notice_max_attempts: int = 5
    # How long a retry waits for the first request with its Idempotency-Key before 409.
    idempotency_wait_seconds: float = 5.0
    # Outbox records (masked) and dev copies are deleted after this many days (cli upkeep)
    outbox_retention_days: int = 30
    # Questions kept for the privacy team's review (api/unanswered): never longer than 90 days
    unanswered_retention_days: int = Field(default=90, ge=1, le=90)
    # Staff console: sign-in failures allowed per client address, and per login whatever the
    # address, within the window; a success clears only its own login's failures.
    console_sign_in_max_failures: int = 5
    console_sign_in_login_max_failures: int = 10
    console_sign_in_window_seconds: int = 900
    console_notes_per_ticket: int = 100  # internal notes a ticket may carry
    console_note_max_chars: int = 2000
    # /docs, /redoc and /openapi.json: on in dev, off in prod unless this turns them on.
    api_docs: bool | None = None
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed ("10.0.0.5,10.0.0.6" or
    # "*"); the client address and the https scheme (Secure cookies) then come from them.
    # The app applies them itself: start uvicorn with --no-proxy-headers (scripts/api_run.sh),
    # or uvicorn believes X-Forwarded-For from 127.0.0.1 whatever this says.
    trusted_proxies: str = ""

    @property
    def staff_token_list(self) -> list[str]:
        return [t.strip() for t in self.staff_tokens.split(",") if t.strip()]

    @property
    def anchor_path(self) -> Path:
        """The file this instance appends its checkpoints to."""
        if self.audit_anchor_dir is not None:
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", self.audit_instance) or "api"
            return self.audit_anchor_dir / f"audit-anchors-{name}.jsonl"
        if self.audit_anchor_file is not None:
            return self.audit_anchor_file
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(f"{url.database}.audit-anchors.jsonl")
        # One file per database (host, name, schema options), never shared by two chains.
        where = url.set(password=None).render_as_string(hide_password=False)
        digest = hashlib.sha256(where.encode()).hexdigest()[:12]
        return ROOT / "var" / f"audit-anchors-{digest}.jsonl"

    @property
    def anchor_files(self) -> list[Path]:
        """Every instance's checkpoints: what verification reads."""
        if self.audit_anchor_dir is not None:
            found = set(self.audit_anchor_dir.glob("audit-anchors-*.jsonl"))
            return sorted(found | {self.anchor_path})
        return [self.anchor_path]

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def docs_enabled(self) -> bool:
        return self.is_dev if self.api_docs is None else self.api_docs

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [h.strip() for h in self.trusted_proxies.split(",") if h.strip()]


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def resolve_secrets(settings: Settings) -> Settings:
    """Fill in secrets: generated and persisted in dev, mandatory in prod."""
    missing = [f for f in SECRET_FIELDS if not getattr(settings, f)]
    if settings.env == "prod":
        weak = [
            f
            for f in SECRET_FIELDS
            if f not in missing
            and any(len(v) < MIN_SECRET_LEN for v in str(getattr(settings, f)).split(","))
        ]
        if missing or weak:
            raise ConfigurationError(
                "prod needs real secrets: set "
                + ", ".join(f"RIGHTS_{f.upper()}" for f in missing + weak)
                + f" (at least {MIN_SECRET_LEN} characters each)"
            )
        if settings.audit_anchor_dir is None and settings.audit_anchor_file is None:
            raise ConfigurationError(
                "prod needs RIGHTS_AUDIT_ANCHOR_DIR, a directory every API instance shares and "
                "the database cannot write (docs/DEPLOYMENT.md)"
            )
        return settings
    if not missing:
        return settings
    path = settings.dev_secrets_file
    stored = _read_env_file(path)
    updates: dict[str, str] = {}
    for field in missing:
        key = f"RIGHTS_{field.upper()}"
        updates[field] = stored.get(key) or secrets.token_urlsafe(32)
        stored[key] = updates[field]
    write_private_file(path, "".join(f"{k}={v}\n" for k, v in sorted(stored.items())))
    log.warning("dev secrets generated or reused; they are in %s", path)
    return settings.model_copy(update=updates)
