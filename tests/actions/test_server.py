"""The hardened action server, run as its own process: token required, no body echo on error."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-action-token-0123456789abcdef"
SECRET_TEXT = "我的手机 13800138000 身份证 11010519491231002X 验证码 482913"

FAKE_ACTIONS = textwrap.dedent(
    """
    from rasa_sdk import Action


    class ActionEcho(Action):
        def name(self):
            return "action_echo"

        async def run(self, dispatcher, tracker, domain):
            dispatcher.utter_message(text="ok")
            return []


    class ActionBoom(Action):
        def name(self):
            return "action_boom"

        async def run(self, dispatcher, tracker, domain):
            # An exception whose message quotes the customer's text, as careless code would.
            raise RuntimeError("failed on " + tracker.latest_message.get("text", ""))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(action: str, text: str = SECRET_TEXT) -> dict:
    return {
        "next_action": action,
        "sender_id": "unit",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "unit",
            "slots": {"mobile": "13800138000", "otp_code": "482913"},
            "latest_message": {"text": text, "intent": {"name": "inform"}, "entities": []},
            "events": [{"event": "user", "text": text}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    pkg = tmp_path_factory.mktemp("fake")
    (pkg / "fake_actions.py").write_text(FAKE_ACTIONS, encoding="utf-8")
    log_path = pkg / "server.log"
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{pkg}",
        "ACTION_SERVER_TOKEN": TOKEN,
        "RIGHTS_ENV": "dev",
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "actions.server",
                "--port",
                str(port),
                "--actions",
                "fake_actions",
                "--log-level",
                "DEBUG",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"action server exited: {log_path.read_text('utf-8')[-2000:]}")
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("action server did not become healthy in 60 s")
                time.sleep(0.2)
            yield url, log_path
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_health_is_open(server: tuple[str, Path]) -> None:
    url, _ = server
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}


@pytest.mark.parametrize("params", [{}, {"token": "wrong"}, {"token": TOKEN[:-1]}])
def test_webhook_refuses_without_the_right_token(server: tuple[str, Path], params: dict) -> None:
    url, _ = server
    r = httpx.post(f"{url}/webhook", params=params, json=_call("action_echo"))
    assert r.status_code == 401
    assert "13800138000" not in r.text
    assert httpx.get(f"{url}/actions", params=params).status_code == 401


def test_webhook_runs_with_the_token(server: tuple[str, Path]) -> None:
    url, _ = server
    r = httpx.post(f"{url}/webhook", params={"token": TOKEN}, json=_call("action_echo"))
    assert r.status_code == 200, r.text
    assert r.json()["responses"][0]["text"] == "ok"
    bearer = httpx.post(
        f"{url}/webhook", headers={"Authorization": f"Bearer {TOKEN}"}, json=_call("action_echo")
    )
    assert bearer.status_code == 200


def test_error_names_the_action_and_echoes_nothing(server: tuple[str, Path]) -> None:
    url, log_path = server
    r = httpx.post(f"{url}/webhook", params={"token": TOKEN}, json=_call("action_boom"))
    assert r.status_code == 500
    assert r.json() == {"error": "action_failed", "action_name": "action_boom"}
    for secret in ("13800138000", "11010519491231002X", "482913", "身份证"):
        assert secret not in r.text
    time.sleep(0.3)
    logged = log_path.read_text("utf-8")
    assert "action_boom" in logged
    for secret in ("13800138000", "11010519491231002X", "482913", TOKEN):
        assert secret not in logged, f"{secret} in the action server log"


def test_malformed_body_is_a_short_4xx(server: tuple[str, Path]) -> None:
    url, _ = server
    r = httpx.post(
        f"{url}/webhook",
        params={"token": TOKEN},
        content=b"{not json 13800138000",
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500
    assert "13800138000" not in r.text
    json.loads(r.text)


def test_token_resolution(tmp_path: Path) -> None:
    from actions.server import ConfigurationError, resolve_token

    secrets_file = tmp_path / "dev-secrets.env"
    secrets_file.write_text("RIGHTS_BOT_API_KEY=abc\n", "utf-8")
    generated = resolve_token({"RIGHTS_ENV": "dev"}, secrets_file)
    assert len(generated) >= 24
    stored = secrets_file.read_text("utf-8")
    assert "RIGHTS_BOT_API_KEY=abc" in stored and f"ACTION_SERVER_TOKEN={generated}" in stored
    assert secrets_file.stat().st_mode & 0o777 == 0o600  # the file it rewrote is private
    assert resolve_token({"RIGHTS_ENV": "dev"}, secrets_file) == generated
    assert resolve_token({"ACTION_SERVER_TOKEN": "x" * 30}, secrets_file) == "x" * 30
    with pytest.raises(ConfigurationError):
        resolve_token({"RIGHTS_ENV": "prod"}, secrets_file)
    with pytest.raises(ConfigurationError):
        resolve_token({"RIGHTS_ENV": "prod", "ACTION_SERVER_TOKEN": "short"}, secrets_file)
