"""The real rights backend in a subprocess, for the action suites.

`running_api()` starts `uvicorn api.main:app` from `.venv-api` on a free 127.0.0.1 port with a
temporary SQLite database and fixed secrets, waits for /healthz, and yields an `ApiProcess`
(url, bot_api_key, staff_token; unpacks as a tuple of those three).
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
UVICORN = ROOT / ".venv-api" / "bin" / "uvicorn"
BOT_API_KEY = "test-bot-key-0123456789abcdefghij"
STAFF_TOKEN = "test-staff-token-0123456789abcdefgh"
STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ApiProcess:
    url: str
    bot_api_key: str
    staff_token: str

    def __iter__(self) -> Iterator[str]:
        return iter((self.url, self.bot_api_key, self.staff_token))

    def outbox(self, to: str | None = None) -> list[dict]:
        """SMS and e-mails the backend would have sent, newest first."""
        response = httpx.get(f"{self.url}/v1/dev/outbox", timeout=5)
        response.raise_for_status()
        items = response.json()["items"]
        return [item for item in items if to is None or item.get("to") == to]

    def app_session_token(self, customer_id: str) -> str:
        response = httpx.post(
            f"{self.url}/v1/dev/app-sessions", json={"customer_id": customer_id}, timeout=5
        )
        response.raise_for_status()
        return str(response.json()["session_token"])


def uvicorn_command(port: int) -> list[str]:
    """As scripts/api_run.sh starts the API: uvicorn's proxy headers off, the app's own on."""
    host = ["--host", "127.0.0.1", "--port", str(port)]
    return [str(UVICORN), "api.main:app", *host, "--no-proxy-headers"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"rights backend exited with {process.returncode}:\n"
                + log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("rights backend did not become healthy in time")


@contextmanager
def running_api(extra_env: dict[str, str] | None = None) -> Iterator[ApiProcess]:
    """`extra_env` overrides backend settings (RIGHTS_*), e.g. verification limits."""
    with tempfile.TemporaryDirectory(prefix="rights-api-") as tmp:
        tmp_path = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RIGHTS_ENV": "dev",
            "RIGHTS_DATABASE_URL": f"sqlite:///{tmp_path / 'rights.db'}",
            "RIGHTS_BOT_API_KEY": BOT_API_KEY,
            "RIGHTS_STAFF_TOKENS": STAFF_TOKEN,
            "RIGHTS_PROOF_SECRET": "test-proof-secret-0123456789abcdefgh",
            "RIGHTS_LOOKUP_PEPPER": "test-lookup-pepper-0123456789abcdef",
            "RIGHTS_DEV_SECRETS_FILE": str(tmp_path / "dev-secrets.env"),
            **(extra_env or {}),
        }
        log_path = tmp_path / "api.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                uvicorn_command(port),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_healthy(url, process, log_path)
                yield ApiProcess(url, BOT_API_KEY, STAFF_TOKEN)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
