"""The whole stack as real processes on free loopback ports: rights API, action server, Rasa.

Nothing is mocked between the three: Rasa calls the hardened action server with its token, the
action server calls the API with the bot key, the tests talk to Rasa's REST channel and read the
API's dev outbox and staff endpoints. Every process writes its output to a log file that the
privacy scan reads.

    with start_stack(tmp_path) as stack:
        replies = stack.say("alice", "我要退订营销短信", {"brand": "mini", "lang": "zh"})
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from ops.scaled import CHILD_ENV
from tests.support import api_process

ROOT = Path(__file__).resolve().parents[2]
BOT_BIN = ROOT / ".venv-bot" / "bin"
API_BIN = ROOT / ".venv-api" / "bin"
DEFAULT_MODEL = ROOT / "models" / "assistant.tar.gz"
PG_ADMIN_URL = os.environ.get("PRIVACY_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_BASE_URL = PG_ADMIN_URL.rsplit("/", 1)[0]
REDIS_HOST = os.environ.get("PRIVACY_REDIS_HOST", "127.0.0.1")
IVR_CALL_STATE_URL = f"redis://{REDIS_HOST}:6379/2"

RASA_START_TIMEOUT = float(os.environ.get("PRIVACY_RASA_START_TIMEOUT", "420"))
CODE_IN_BODY = re.compile(r"(?:验证码是|verification code is )([0-9]{6})")  # not a reference
REFERENCE = re.compile(r"PR-\d{4}-\d{6}")


class StackError(RuntimeError):
    """A process of the stack did not come up."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def model_path() -> Path:
    path = Path(os.environ.get("PRIVACY_MODEL", str(DEFAULT_MODEL)))
    return path if path.is_absolute() else ROOT / path


@dataclass
class Process:
    name: str
    proc: subprocess.Popen
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text("utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.proc.poll() is not None:
            return
        # Each process leads its own group (start_new_session): children (uvicorn reloaders,
        # Sanic workers) go with it, and nothing outside the group is touched.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Process:
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Process(name, proc, log_path)


def wait_until(process: Process, probe: Any, timeout: float, what: str) -> float:
    """Polls `probe()` until true; fails with the process's log tail if it dies or times out."""
    started = time.monotonic()
    while True:
        if process.proc.poll() is not None:
            raise StackError(
                f"{process.name} exited with {process.proc.returncode} before {what}:\n"
                f"{process.log_tail()}"
            )
        try:
            if probe():
                return time.monotonic() - started
        except (httpx.HTTPError, OSError):
            pass
        if time.monotonic() - started > timeout:
            raise StackError(
                f"{process.name}: no {what} after {timeout:.0f} s:\n{process.log_tail()}"
            )
        time.sleep(0.5)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIGHTS_", "RASA_"))}
    # Quiet, offline Rasa: no telemetry, no update checks.
    env.update(CHILD_ENV)
    return env


def render_endpoints(
    target: Path,
    action_url: str,
    action_token: str,
    tracker_db: str,
    redis_prefix: str | None = None,
) -> Path:
    """bot/endpoints.yml with this run's action server, token, tracker file and lock store.

    The tracker store's `type` is kept as configured, so a wrong module path in the real file
    shows up here as the silent in-memory fallback that the privacy scan detects.
    """
    source = ROOT / "bot" / "endpoints.yml"
    if not source.exists():
        raise StackError("bot/endpoints.yml is missing")
    config = yaml.safe_load(source.read_text("utf-8")) or {}
    action = dict(config.get("action_endpoint") or {})
    action.update(url=action_url, token=action_token)
    config["action_endpoint"] = action
    tracker = dict(config.get("tracker_store") or {})
    tracker["db"] = tracker_db
    config["tracker_store"] = tracker
    if redis_prefix:
        config["lock_store"] = {
            "type": "redis",
            "url": REDIS_HOST,
            "port": 6379,
            "db": 1,
            "key_prefix": redis_prefix,
        }
    target.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return target


@dataclass
class Stack:
    rasa_url: str
    api_url: str
    action_url: str
    bot_api_key: str
    staff_token: str
    rasa_token: str
    action_token: str
    workdir: Path
    tracker_db_url: str
    processes: dict[str, Process] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    # --- conversation -------------------------------------------------------------------------
    def say(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        r = httpx.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, timeout=120)
        r.raise_for_status()
        replies: list[dict] = r.json()
        return replies

    def tracker(self, sender: str, rasa_url: str | None = None) -> dict:
        r = httpx.get(
            f"{rasa_url or self.rasa_url}/conversations/{sender}/tracker",
            params={"token": self.rasa_token},
            timeout=30,
        )
        r.raise_for_status()
        tracker: dict = r.json()
        return tracker

    # --- rights API ---------------------------------------------------------------------------
    def outbox(self) -> list[dict]:
        r = httpx.get(f"{self.api_url}/v1/dev/outbox", timeout=10)
        r.raise_for_status()
        items: list[dict] = r.json()["items"]
        return items

    def latest_code(self, mobile: str) -> str | None:
        """The newest 6-digit code the API sent by SMS to `mobile` (outbox is newest first)."""
        for item in self.outbox():
            # `to` is E.164 (+8613800138000): compare the national digits.
            to_digits = re.sub(r"[^0-9]", "", str(item.get("to", "")))
            if item.get("kind", "sms") != "sms" or not to_digits.endswith(mobile):
                continue
            match = CODE_IN_BODY.search(str(item.get("body", "")))
            if match:
                return match.group(1)
        return None

    def send_code(self, mobile: str) -> str:
        """Has the API send a code to `mobile` as the bot would, and returns it from the outbox."""
        r = httpx.post(
            f"{self.api_url}/v1/verifications",
            json={"method": "sms_code", "mobile": mobile, "channel": "chat"},
            headers={"X-API-Key": self.bot_api_key},
            timeout=10,
        )
        r.raise_for_status()
        code = self.latest_code(mobile)
        if code is None:
            raise StackError(f"the API sent no code to {mobile}")
        return code

    def app_session(self, customer_id: str) -> str:
        """A session token as the app would hold it (dev endpoint)."""
        r = httpx.post(
            f"{self.api_url}/v1/dev/app-sessions", json={"customer_id": customer_id}, timeout=10
        )
        r.raise_for_status()
        return str(r.json()["session_token"])

    def resubscribe(self, customer_id: str) -> None:
        """Gives a demo customer back the consents of the demo data (dev endpoint), so a test can
        unsubscribe them whatever tests ran before it on this stack."""
        r = httpx.post(
            f"{self.api_url}/v1/dev/demo-consents", json={"customer_id": customer_id}, timeout=10
        )
        r.raise_for_status()

    def staff_get(self, path: str, **params: Any) -> Any:
        r = httpx.get(
            f"{self.api_url}{path}",
            params=params or None,
            headers={"Authorization": f"Bearer {self.staff_token}"},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()

    # --- what rests -----------------------------------------------------------------------------
    def tracker_rows(self) -> list[tuple[str, str, str]]:
        """(sender_id, type_name, data) of every event row in the tracker store's database."""
        if self.tracker_db_url.startswith("sqlite:///"):
            path = self.tracker_db_url[len("sqlite:///") :]
            if not Path(path).exists():
                return []
            with contextlib.closing(sqlite3.connect(path)) as conn:
                return list(conn.execute("SELECT sender_id, type_name, data FROM events"))
        import psycopg2

        conn = psycopg2.connect(self.tracker_db_url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT sender_id, type_name, data FROM events ORDER BY id")
                return [tuple(row) for row in cur.fetchall()]
        finally:
            conn.close()

    def logs(self) -> dict[str, str]:
        return {
            name: p.log_path.read_text("utf-8", errors="replace")
            for name, p in self.processes.items()
        }

    def stop(self) -> None:
        # Rasa first, so no turn is in flight when its action server or the API goes away.
        for name in ("rasa", "actions", "api"):
            if name in self.processes:
                self.processes[name].stop()


# --- PostgreSQL isolation ----------------------------------------------------------------------
@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "privacy_e2e") -> Iterator[str]:
    """A new database on the shared server, dropped afterwards; yields its URL."""
    import psycopg2

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield f"{PG_BASE_URL}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# --- start-up ----------------------------------------------------------------------------------
def api_env(stack_dir: Path, database_url: str) -> dict[str, str]:
    """The backend's environment: fixed keys (those of tests/support/api_process.py), fresh
    signing secrets, dev secrets kept in `stack_dir`."""
    env = base_env()
    env.update(
        RIGHTS_ENV="dev",
        RIGHTS_DATABASE_URL=database_url,
        RIGHTS_BOT_API_KEY=api_process.BOT_API_KEY,
        RIGHTS_STAFF_TOKENS=api_process.STAFF_TOKEN,
        RIGHTS_PROOF_SECRET="e2e-proof-secret-" + secrets.token_urlsafe(24),
        RIGHTS_LOOKUP_PEPPER="e2e-lookup-pepper-" + secrets.token_urlsafe(24),
        RIGHTS_DEV_SECRETS_FILE=str(stack_dir / "dev-secrets.env"),
        # Several suites share one backend per session and verify the same demo customers; the
        # per-number hourly limit itself is tested in tests/api.
        RIGHTS_CODES_PER_HOUR="50",
        # Wrong SMS codes are counted per number across challenges; the suites share numbers.
        RIGHTS_SMS_MAX_FAILURES="50",
    )
    return env


def _start_api(stack_dir: Path, log_dir: Path) -> tuple[Process, str]:
    """The backend with the same fixed secrets and settings as tests/support/api_process.py.

    Not `running_api()` itself: the privacy scan needs the backend's log file, and the stack
    stops it with the other two, which that helper's private temp directory does not allow.
    """
    port = free_port()
    env = api_env(stack_dir, f"sqlite:///{stack_dir / 'rights.db'}")
    process = spawn(
        "api",
        api_process.uvicorn_command(port),
        env,
        log_dir,
    )
    return process, f"http://127.0.0.1:{port}"


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def start_stack(
    workdir: Path, tracker_db_url: str | None = None, redis_lock_store: bool = False
) -> Iterator[Stack]:
    """Starts API, action server and Rasa; stops all three on exit, whatever happened."""
    model = model_path()
    if not model.exists():
        raise StackError(
            f"no trained model at {model}: run scripts/train.sh first (scripts/test.sh does)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir = workdir / "logs"
    log_dir.mkdir(exist_ok=True)
    tracker_db_url = tracker_db_url or f"sqlite:///{workdir / 'tracker.db'}"

    bot_key, staff_token = api_process.BOT_API_KEY, api_process.STAFF_TOKEN
    rasa_token = "e2e-rasa-" + secrets.token_urlsafe(24)
    action_token = "e2e-actions-" + secrets.token_urlsafe(24)
    started = time.monotonic()
    # A plain SIGTERM (CI timeout, kill) would skip the `finally` below and orphan three
    # servers; turn it into SystemExit so they are stopped.
    restore = None
    if threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        restore = signal.signal(signal.SIGTERM, _exit_on_sigterm)

    api, api_url = _start_api(workdir, log_dir)
    stack = Stack(
        rasa_url="",
        api_url=api_url,
        action_url="",
        bot_api_key=bot_key,
        staff_token=staff_token,
        rasa_token=rasa_token,
        action_token=action_token,
        workdir=workdir,
        tracker_db_url=tracker_db_url,
        processes={"api": api},
    )
    try:
        action_port = free_port()
        env = base_env()
        env.update(
            ACTION_SERVER_TOKEN=action_token,
            RIGHTS_API_URL=api_url,
            RIGHTS_BOT_API_KEY=bot_key,
            RIGHTS_ENV="dev",
        )
        stack.processes["actions"] = spawn(
            "actions",
            [str(BOT_BIN / "python"), "-m", "actions.server", "--port", str(action_port)],
            env,
            log_dir,
        )
        stack.action_url = f"http://127.0.0.1:{action_port}"

        rasa_port = free_port()
        endpoints = render_endpoints(
            workdir / "endpoints.yml",
            f"{stack.action_url}/webhook",
            action_token,
            tracker_db=str(workdir / "tracker.db"),
            redis_prefix=f"e2e{secrets.token_hex(4)}" if redis_lock_store else None,
        )
        env = base_env()
        env.update(ACTION_SERVER_TOKEN=action_token, RASA_API_TOKEN=rasa_token)
        if not tracker_db_url.startswith("sqlite:"):
            env["RASA_TRACKER_STORE_URL"] = tracker_db_url
        if redis_lock_store:
            # As several replicas would run: hotline call state shared in Redis too.
            env["IVR_CALL_STATE_URL"] = IVR_CALL_STATE_URL
        stack.processes["rasa"] = spawn(
            "rasa",
            [
                str(BOT_BIN / "rasa"),
                "run",
                "--enable-api",
                "--auth-token",
                rasa_token,
                "--credentials",
                str(ROOT / "bot" / "credentials.yml"),
                "--endpoints",
                str(endpoints),
                "--model",
                str(model),
                "--port",
                str(rasa_port),
                "--interface",
                "127.0.0.1",
            ],
            env,
            log_dir,
        )
        stack.rasa_url = f"http://127.0.0.1:{rasa_port}"

        # The three start in parallel; Rasa (model loading) is by far the slowest.
        stack.timings["api"] = wait_until(
            api,
            lambda: httpx.get(f"{api_url}/healthz", timeout=2).status_code == 200,
            120,
            "API /healthz",
        )
        stack.timings["actions"] = wait_until(
            stack.processes["actions"],
            lambda: httpx.get(f"{stack.action_url}/health", timeout=2).status_code == 200,
            120,
            "action server /health",
        )

        def rasa_ready() -> bool:
            r = httpx.get(f"{stack.rasa_url}/status", params={"token": rasa_token}, timeout=2)
            return r.status_code == 200 and bool(r.json().get("model_file"))

        stack.timings["rasa"] = wait_until(
            stack.processes["rasa"], rasa_ready, RASA_START_TIMEOUT, "model loaded (/status)"
        )
        stack.timings["total"] = time.monotonic() - started
        yield stack
    finally:
        stack.stop()
        if restore is not None:
            signal.signal(signal.SIGTERM, restore)


# --- driving a conversation ------------------------------------------------------------------
@dataclass
class Chat:
    stack: Stack
    sender: str
    metadata: dict | None = None
    transcript: list[tuple[str, list[dict]]] = field(default_factory=list)

    def say(self, text: str) -> list[dict]:
        replies = self.stack.say(self.sender, text, self.metadata)
        self.transcript.append((text, replies))
        return replies

    @property
    def last(self) -> list[dict]:
        return self.transcript[-1][1] if self.transcript else []

    def last_text(self) -> str:
        return "\n".join(str(r.get("text") or "") for r in self.last)

    def buttons(self) -> list[dict]:
        return [b for r in self.last for b in r.get("buttons") or []]

    def slots(self) -> dict:
        slots: dict = self.stack.tracker(self.sender).get("slots") or {}
        return slots

    def active_loop(self) -> str | None:
        loop = self.stack.tracker(self.sender).get("active_loop") or {}
        return loop.get("name")

    def click(self, wanted: str) -> list[dict]:
        """Sends the payload of the offered button whose payload names `wanted`."""
        for button in self.buttons():
            if wanted in str(button.get("payload", "")):
                return self.say(str(button["payload"]))
        raise AssertionError(f"no button for {wanted!r} in {self.buttons()}\n{self.dump()}")

    def dump(self) -> str:
        lines = []
        for text, replies in self.transcript:
            lines.append(f"> {text}")
            lines += [f"< {r.get('text')} {r.get('buttons') or ''}" for r in replies]
        return "\n".join(lines)


def wait_for_code(stack: Stack, mobile: str, not_in: set[str] | None = None) -> str:
    """The newest code sent to `mobile` (the outbox is written before the API answers)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        code = stack.latest_code(mobile)
        if code and code not in (not_in or set()):
            return code
        time.sleep(0.2)
    raise AssertionError(f"no SMS code for {mobile} in the outbox")


def affirm(chat: Chat) -> list[dict]:
    if any("/affirm" in str(b.get("payload", "")) for b in chat.buttons()):
        return chat.click("/affirm")
    return chat.say("是的" if (chat.metadata or {}).get("lang") == "zh" else "yes")


def complete_request(
    chat: Chat,
    opening: str,
    mobile: str,
    choices: dict[str, str] | None = None,
    code: str | None = None,
    max_turns: int = 12,
) -> str:
    """Answers what the form asks until a ticket reference is given; returns it."""
    choices = choices or {}
    before = chat.slots().get("last_ticket_ref")
    chat.say(opening)
    for _ in range(max_turns):
        found = REFERENCE.findall(chat.last_text())
        slots = chat.slots()
        ref = slots.get("last_ticket_ref")
        if ref and ref != before:
            return str(ref)
        if found and found[-1] != before:
            return found[-1]
        asked = slots.get("requested_slot")
        if asked == "mobile":
            chat.say(mobile)
        elif asked == "otp_code":
            chat.say(code or wait_for_code(chat.stack, mobile))
            code = None
        elif asked in choices:
            wanted = choices[asked]
            if any(wanted in str(b.get("payload", "")) for b in chat.buttons()):
                chat.click(wanted)
            else:
                chat.say(wanted)
        elif asked == "confirm_request":
            affirm(chat)
        else:
            raise AssertionError(f"unexpected state (asked {asked!r}):\n{chat.dump()}")
    raise AssertionError(f"no ticket reference after {max_turns} turns:\n{chat.dump()}")
