"""The scaled stack as an operator starts it, for the e2e suite: `bash scripts/run.sh --replicas N`.

The command runs with this run's own databases (two fresh PostgreSQL databases), Redis db 5 with
a lock-key prefix of its own, free loopback ports and a work directory under pytest's tmp path;
`<workdir>/stack.json` tells every process's pid, port and log.

`ScaledStack` is a `Stack` whose chat goes through nginx and remembers which replica answered
each turn (nginx's X-Served-By header). Tracker reads go straight to a live replica, so they do
not take a round-robin turn from the chat.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ops.nginx import SERVED_BY_HEADER
from ops.scaled import group_members
from tests.support import api_process
from tests.support.stack import (
    RASA_START_TIMEOUT,
    REDIS_HOST,
    ROOT,
    Process,
    Stack,
    StackError,
    api_env,
    fresh_postgres_database,
    model_path,
)

REDIS_DB = 5


@dataclass
class ScaledStack(Stack):
    run: subprocess.Popen[bytes] | None = None
    run_log: Path = Path()
    served_by: list[str] = field(default_factory=list)

    # --- what the command says ------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.workdir / "stack.json").read_text("utf-8"))
        return data

    def process(self, name: str) -> dict[str, Any]:
        info: dict[str, Any] = self.manifest()["processes"][name]
        return info

    def names(self, kind: str) -> list[str]:
        return [n for n, p in self.manifest()["processes"].items() if p["kind"] == kind]

    def replica_of(self, served_by: str) -> str:
        """The process name behind an upstream address (127.0.0.1:port)."""
        port = int(served_by.rsplit(":", 1)[1])
        for name, info in self.manifest()["processes"].items():
            if info["port"] == port:
                return str(name)
        raise AssertionError(f"no process on {served_by}")

    # --- conversation through nginx -------------------------------------------------------
    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        r = httpx.post(f"{self.rasa_url}{path}", json=body, timeout=120)
        self.served_by.append(r.headers.get(SERVED_BY_HEADER, ""))
        return r

    def say(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        r = self.post("/webhooks/rest/webhook", body)
        r.raise_for_status()
        replies: list[dict] = r.json()
        return replies

    def tracker(self, sender: str, rasa_url: str | None = None) -> dict:
        """From the first live replica, or the one given."""
        urls = [rasa_url] if rasa_url else [self.process(n)["url"] for n in self.names("rasa")]
        for url in urls:
            with contextlib.suppress(httpx.HTTPError):
                return super().tracker(sender, url)
        raise AssertionError("no Rasa replica answers the tracker API")

    def logs(self) -> dict[str, str]:
        return {
            name: Path(info["log"]).read_text("utf-8", errors="replace")
            for name, info in self.manifest()["processes"].items()
        }

    def stop(self) -> None:
        """Ctrl-C, as an operator stops it; whatever is left of the group after a minute, killed."""
        if self.run is not None:
            Process("run", self.run, self.run_log).stop(signal.SIGINT, timeout=60)

    def all_pids(self) -> list[int]:
        """Every process of the stack now: each leader and its workers."""
        pids: list[int] = []
        for info in self.manifest()["processes"].values():
            if info["pid"]:
                pids += group_members(int(info["pid"])) or [int(info["pid"])]
        return pids


def _wait_ready(stack: ScaledStack, timeout: float) -> None:
    started = time.monotonic()
    assert stack.run is not None
    while True:
        log = stack.run_log.read_text("utf-8", errors="replace")
        if "scale: all ready" in log:
            return
        if stack.run.poll() is not None:
            raise StackError(f"the scaled stack exited ({stack.run.returncode}):\n{log[-4000:]}")
        if time.monotonic() - started > timeout:
            raise StackError(f"the scaled stack is not ready after {timeout:.0f} s:\n{log[-4000:]}")
        time.sleep(1)


@contextlib.contextmanager
def start_scaled(
    workdir: Path, replicas: int = 2, action_servers: int = 2, api_workers: int = 2
) -> Iterator[ScaledStack]:
    """Runs `scripts/run.sh --replicas N` on fresh databases; Ctrl-C on exit."""
    model = model_path()
    if not model.exists():
        raise StackError(f"no trained model at {model}: run scripts/train.sh first")
    workdir.mkdir(parents=True, exist_ok=True)
    rasa_token = "e2e-rasa-" + secrets.token_urlsafe(24)
    action_token = "e2e-actions-" + secrets.token_urlsafe(24)
    with (
        fresh_postgres_database("privacy_scale_rights") as rights_db,
        fresh_postgres_database("privacy_scale_trackers") as tracker_db,
    ):
        env = api_env(workdir, rights_db.replace("postgresql://", "postgresql+psycopg://", 1))
        env.update(
            RASA_TRACKER_STORE_URL=tracker_db,
            RASA_MODEL=str(model),
            RASA_API_TOKEN=rasa_token,
            ACTION_SERVER_TOKEN=action_token,
            REDIS_HOST=REDIS_HOST,
            IVR_CALL_STATE_URL=f"redis://{REDIS_HOST}:6379/{REDIS_DB}",
        )
        run_log = workdir / "run.log"
        argv = [
            "bash",
            str(ROOT / "scripts" / "run.sh"),
            "--replicas",
            str(replicas),
            "--action-servers",
            str(action_servers),
            "--api-workers",
            str(api_workers),
            "--free-ports",
            "--workdir",
            str(workdir),
            "--redis-db",
            str(REDIS_DB),
            "--lock-prefix",
            f"scale{secrets.token_hex(4)}",
        ]
        with run_log.open("ab") as out:
            run = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        stack = ScaledStack(
            rasa_url="",
            api_url="",
            action_url="",
            bot_api_key=api_process.BOT_API_KEY,
            staff_token=api_process.STAFF_TOKEN,
            rasa_token=rasa_token,
            action_token=action_token,
            workdir=workdir,
            tracker_db_url=tracker_db,
            run=run,
            run_log=run_log,
        )
        started = time.monotonic()
        try:
            _wait_ready(stack, RASA_START_TIMEOUT + 180)
            manifest = stack.manifest()
            stack.rasa_url = manifest["public_url"]
            stack.api_url = manifest["api_url"]
            stack.action_url = manifest["actions_url"]
            stack.timings["total"] = time.monotonic() - started
            yield stack
        finally:
            stack.stop()
