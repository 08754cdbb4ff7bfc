"""Fixtures of the action suites: the real rights backend, real rasa_sdk trackers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actions.backend import RightsClient
from actions.settings import Settings
from tests.support.api_process import ApiProcess, free_port, running_api

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def api() -> Iterator[ApiProcess]:
    # Many verifications of the demo numbers, most from the trackers' one conversation: lift
    # the per-number hourly limits (codes sent, wrong codes across challenges) and the starts
    # per conversation here; the limits themselves are tested in tests/api (and per customer
    # address in test_limits_per_customer.py).
    lifted = {
        "RIGHTS_CODES_PER_HOUR": "1000",
        "RIGHTS_SMS_MAX_FAILURES": "1000",
        "RIGHTS_STARTS_PER_CONVERSATION": "1000",
    }
    with running_api(lifted) as process:
        yield process


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "bot" / "domain")).as_dict()


@pytest.fixture
def settings(api: ApiProcess) -> Settings:
    return Settings(
        api_url=api.url,
        bot_api_key=api.bot_api_key,
        timeout_s=5,
        attempts=2,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
    )


@pytest.fixture
def client(settings: Settings) -> RightsClient:
    return RightsClient(settings)


@pytest.fixture
def down_client() -> RightsClient:
    """A client pointed at a closed port: the backend is down."""
    return RightsClient(
        Settings(
            api_url=f"http://127.0.0.1:{free_port()}",
            bot_api_key="x",
            timeout_s=1,
            connect_timeout_s=0.5,
            attempts=2,
            backoff_initial_s=0.01,
            backoff_max_s=0.02,
        )
    )
