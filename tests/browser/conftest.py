"""Fixtures for the browser tests: the real API under uvicorn and headless Debian Chromium.

Chromium is the system package (/usr/bin/chromium, see scripts/install_browser.sh); Playwright
only drives it and never downloads a browser of its own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.core.clock import FixedClock
from api.core.settings import Settings
from api.main import create_app
from tests.support.api_process import (
    BOT_API_KEY,
    STAFF_TOKEN,
    ApiProcess,
    free_port,
    running_api,
)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def api_server() -> Iterator[ApiProcess]:
    with running_api() as api:
        yield api


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install_browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Screenshots are test artefacts (artifacts/ is gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass
class ClockedServer:
    url: str
    clock: FixedClock
    staff_token: str
    bot_api_key: str


@pytest.fixture(scope="module")
def clocked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockedServer]:
    """The app under uvicorn in a thread with a settable clock, to show overdue tickets."""
    tmp = tmp_path_factory.mktemp("clocked-api")
    clock = FixedClock(datetime(2026, 5, 11, 2, 0, tzinfo=timezone.utc))
    settings = Settings(
        env="dev",
        database_url=f"sqlite:///{tmp / 'rights.db'}",
        bot_api_key=BOT_API_KEY,
        staff_tokens=STAFF_TOKEN,
        proof_secret="test-proof-secret-0123456789abcdefgh",
        lookup_pepper="test-lookup-pepper-0123456789abcdef",
        dev_secrets_file=tmp / "dev-secrets.env",
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock=clock), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the clocked API did not start")
        time.sleep(0.05)
    try:
        yield ClockedServer(f"http://127.0.0.1:{port}", clock, STAFF_TOKEN, BOT_API_KEY)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
