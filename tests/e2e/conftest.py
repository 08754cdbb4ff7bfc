"""Session fixtures that run the real stack: `stack` (SQLite tracker store, in-memory locks) and
`stack_postgres` (tracker store in a fresh PostgreSQL database, locks in Redis).

Both need the trained model (models/assistant.tar.gz or $PRIVACY_MODEL); scripts/test.sh trains it
first. Start-up times are printed in the terminal summary.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.stack import Stack, StackError, fresh_postgres_database, start_stack

_TIMINGS: list[tuple[str, dict[str, float], str]] = []
_SESSION_START = time.monotonic()


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack-sqlite")
    try:
        with start_stack(workdir) as running:
            _TIMINGS.append(("sqlite", running.timings, str(workdir)))
            yield running
    except StackError as exc:
        pytest.fail(f"the stack did not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def stack_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not _reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    workdir = tmp_path_factory.mktemp("stack-postgres")
    redis = _reachable("127.0.0.1", 6379)
    try:
        with (
            fresh_postgres_database() as url,
            start_stack(workdir, tracker_db_url=url, redis_lock_store=redis) as running,
        ):
            label = "postgres+redis" if redis else "postgres"
            _TIMINGS.append((label, running.timings, str(workdir)))
            yield running
    except StackError as exc:
        pytest.fail(f"the PostgreSQL stack did not start: {exc}", pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _TIMINGS:
        return
    terminalreporter.section("end-to-end stack")
    for label, timings, workdir in _TIMINGS:
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        terminalreporter.write_line(f"{label}: ready in {parts}; logs in {workdir}/logs")
    terminalreporter.write_line(f"e2e session: {time.monotonic() - _SESSION_START:.1f}s")
