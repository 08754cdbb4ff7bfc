"""Fixtures: every database-backed test runs on SQLite and on PostgreSQL.

RIGHTS_TEST_DATABASES (default "sqlite,postgres") picks the databases. PostgreSQL tests run in a
fresh schema per session (search_path), so the shared `test` database is left alone; tables are
truncated between tests. SQLite tests copy a migrated template file per test.
"""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from api_helpers import BOT_KEY, OTHER_STAFF_TOKEN, STAFF_TOKEN
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.core.clock import FixedClock
from api.core.database import make_engine
from api.core.migrate import upgrade_head
from api.core.settings import Settings
from api.main import create_app
from api.models import Base
from api.subjects import service as subject_service

# Each test app loads the four demo customers; reuse their scrypt hashes (still real, salted
# hashes) instead of paying for four new ones per test.
subject_service.hash_password = functools.lru_cache(maxsize=None)(subject_service.hash_password)

DATABASES = [
    d.strip()
    for d in os.environ.get("RIGHTS_TEST_DATABASES", "sqlite,postgres").split(",")
    if d.strip()
]
PG_ADMIN_URL = os.environ.get(
    "RIGHTS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

# A Monday in May 2026, 10:00 in Shanghai.
DEFAULT_NOW = datetime(2026, 5, 11, 2, 0, tzinfo=timezone.utc)


@dataclass
class Database:
    kind: str
    url: str
    template: Path | None = None

    def fresh_url(self, tmp_path: Path) -> str:
        if self.kind == "sqlite":
            assert self.template is not None
            target = tmp_path / "rights.db"
            shutil.copy(self.template, target)
            return f"sqlite:///{target}"
        engine = make_engine(self.url)
        with engine.begin() as conn:
            # DELETE is much faster than TRUNCATE on tiny tables; the replica role skips the
            # audit table's append-only trigger for this cleanup only.
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(
                sa.text("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, :h)"),
                {"h": "0" * 64},
            )
        engine.dispose()
        return self.url


@pytest.fixture(scope="session", params=DATABASES)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite") / "template.db"
        url = f"sqlite:///{template}"
        upgrade_head(url)
        yield Database("sqlite", url, template)
        return
    schema = f"rights_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    upgrade_head(url)
    try:
        yield Database("postgres", url)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def db_url(database: Database, tmp_path: Path) -> str:
    return database.fresh_url(tmp_path)


def make_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "dev",
        "database_url": db_url,
        "bot_api_key": BOT_KEY,
        "staff_tokens": f"{STAFF_TOKEN},{OTHER_STAFF_TOKEN}",
        "proof_secret": "test-proof-secret-0123456789abcdef",
        "lookup_pepper": "test-lookup-pepper-0123456789abcdef",
        "audit_key": "test-audit-key-0123456789abcdef",
        "field_keys": "test-field-key-0123456789abcdef",
        "audit_anchor_file": tmp_path / "audit-anchors.jsonl",
        "dev_secrets_file": tmp_path / "dev-secrets.env",
    }
    values.update(overrides)
    return Settings(**values)


def use_settings_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Puts `settings` in the RIGHTS_* environment, for the CLI (which reads only that)."""
    for name, value in settings.model_dump().items():
        if value is not None:
            monkeypatch.setenv(f"RIGHTS_{name.upper()}", str(value))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEFAULT_NOW)


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: FixedClock) -> FastAPI:
    return create_app(make_settings(db_url, tmp_path), clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
