"""Mobile numbers at rest: sealed (AES-GCM) in the customers and outbox tables, found by their
keyed hash in any spelling, re-sealed by a key rotation, sealed by the migration of an existing
database; and the same work for an unregistered number as for a registered one."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from api_helpers import BOT, MOBILES, last_code, start_sms
from conftest import make_settings, use_settings_env
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_console import sign_in

from api import cli
from api.core.fields import FieldCipher, FieldKeyError, key_id_of
from api.core.migrate import alembic_config
from api.main import create_app
from api.subjects.models import mobile_context

OLD_KEY = "old-field-key-0123456789abcdefghij"
NEW_KEY = "new-field-key-0123456789abcdefghij"
PEPPER = "test-lookup-pepper-0123456789abcdef"  # conftest's
UNREGISTERED = "13500135000"


def _raw_rows(url: str, table: str) -> list[str]:
    """Every row of `table` as one string, read with plain SQL (what a database reader sees)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM {table}")).all()
    engine.dispose()
    return [" ".join(str(v) for v in row) for row in rows]


def _sealed(
    url: str, table: str = "customers", column: str = "mobile_sealed"
) -> list[tuple[str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT id, {column} FROM {table} ORDER BY id")).all()
    engine.dispose()
    return [(str(i), str(v)) for i, v in rows]


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def test_no_table_row_holds_a_number_in_clear(client: TestClient, db_url: str) -> None:
    start_sms(client, MOBILES["C-0001"])
    start_sms(client, UNREGISTERED)
    customers = _raw_rows(db_url, "customers")
    outbox = _raw_rows(db_url, "outbox")
    assert len(customers) == 4 and len(outbox) == 2
    for row in customers + outbox:
        for mobile in [*MOBILES.values(), UNREGISTERED]:
            assert mobile not in _digits(row), row
    assert all(" fe1:" in row for row in customers + outbox)


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "138 0013 8000",
        "+86 138-0013-8000",
        "0086 138 0013 8000",
        "１３８００１３８０００",
    ],
)
def test_a_sealed_number_is_found_in_any_spelling(client: TestClient, typed: str) -> None:
    v = start_sms(client, typed)
    assert v["masked_mobile"] == "138****8000"
    item = client.get("/v1/dev/outbox").json()["items"][0]
    assert item["to"] == "+8613800138000"  # the gateway got the number opened from its seal
    r = client.post(
        f"/v1/verifications/{v['id']}/check", headers=BOT, json={"code": last_code(client)}
    )
    assert r.json()["status"] == "verified" and r.json()["customer_id"] == "C-0001"


def test_an_unregistered_start_writes_an_outbox_row_that_is_never_sent(
    client: TestClient, db_url: str
) -> None:
    def counts() -> dict[str, int]:
        return {t: len(_raw_rows(db_url, t)) for t in ("verification_challenges", "outbox")}

    before = counts()
    start_sms(client, UNREGISTERED)
    after_unregistered = counts()
    start_sms(client, MOBILES["C-0002"])
    after_registered = counts()
    # The same rows for both: a challenge and an outbox row
    assert after_unregistered["verification_challenges"] - before["verification_challenges"] == 1
    assert (
        after_registered["verification_challenges"] - after_unregistered["verification_challenges"]
        == 1
    )
    assert after_unregistered["outbox"] - before["outbox"] == 1
    assert after_registered["outbox"] - after_unregistered["outbox"] == 1

    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text('SELECT "to", sendable FROM outbox ORDER BY id')).all()
    engine.dispose()
    assert [(to, bool(sendable)) for to, sendable in rows] == [
        ("+86135****5000", False),
        ("+86139****9000", True),
    ]
    delivered = [item["to"] for item in client.get("/v1/dev/outbox").json()["items"]]
    assert delivered == ["+8613900139000"]  # the unregistered number got nothing


def test_rotation_seals_everything_under_the_new_key_and_old_values_still_open(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_app = create_app(make_settings(db_url, tmp_path, field_keys=OLD_KEY))
    with TestClient(old_app) as client:
        start_sms(client, MOBILES["C-0003"])
    old_id = FieldCipher([OLD_KEY], PEPPER).current_id
    new_id = FieldCipher([NEW_KEY], PEPPER).current_id
    assert {key_id_of(value) for _, value in _sealed(db_url)} == {old_id}

    # New key in front: the API opens both; the CLI re-seals under the new one.
    use_settings_env(
        monkeypatch, make_settings(db_url, tmp_path, field_keys=f"{NEW_KEY},{OLD_KEY}")
    )
    cli.main(["rotate-field-key"])
    sealed = _sealed(db_url)
    assert {key_id_of(value) for _, value in sealed} == {new_id}
    assert {key_id_of(value) for _, value in _sealed(db_url, "outbox", "to_sealed")} == {new_id}
    old_only = FieldCipher([OLD_KEY], PEPPER)
    with pytest.raises(FieldKeyError):
        old_only.open(sealed[0][1], mobile_context(sealed[0][0]))

    # The old key can go: an API with the new key alone finds and sends as before.
    new_app = create_app(make_settings(db_url, tmp_path, field_keys=NEW_KEY))
    with TestClient(new_app) as client:
        v = start_sms(client, "137 0013 7000")
        assert client.get("/v1/dev/outbox").json()["items"][0]["to"] == "+8613700137000"
        r = client.post(
            f"/v1/verifications/{v['id']}/check", headers=BOT, json={"code": last_code(client)}
        )
        assert r.json()["customer_id"] == "C-0003"
        sign_in(client)
        html = client.get("/console/queue", params={"q": "+86 137-0013-7000"}).text
        assert "手机号 137****7000 属于客户 C-0003" in html


def test_a_sealed_value_moved_to_another_row_does_not_open(app: FastAPI) -> None:
    cipher = FieldCipher.from_settings(app.state.settings)
    sealed = cipher.seal("+8613800138000", mobile_context("C-0001"))
    assert cipher.open(sealed, mobile_context("C-0001")) == "+8613800138000"
    with pytest.raises(FieldKeyError):
        cipher.open(sealed, mobile_context("C-0002"))


# ---------------------------------------------------------------- the migration


def test_the_migration_seals_existing_numbers_and_its_downgrade_opens_them(
    db_url: str, tmp_path: Path
) -> None:
    # The test database, taken back to before this revision (and up again at the end).
    settings = make_settings(db_url, tmp_path, field_keys=OLD_KEY)
    cfg = alembic_config(db_url, settings)
    command.downgrade(cfg, "0005_unanswered_questions")
    now = datetime(2026, 5, 11, 2, 0, tzinfo=timezone.utc)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        for i, mobile in enumerate(("+8613800138000", "+8613900139000"), start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO customers (id, name, brand, mobile_e164, mobile_hash, created_at)"
                    " VALUES (:id, 'x', 'mini', :m, :h, :t)"
                ),
                {"id": f"C-900{i}", "m": mobile, "h": f"hash-{i}", "t": now},
            )
    command.upgrade(cfg, "0006_mobile_encryption")
    rows = _raw_rows(db_url, "customers")
    assert len(rows) == 2 and not any("0013" in _digits(r) or "0139" in _digits(r) for r in rows)
    cipher = FieldCipher([OLD_KEY], PEPPER)
    with engine.connect() as conn:
        sealed = dict(conn.execute(sa.text("SELECT id, mobile_sealed FROM customers")).all())
    assert cipher.open(sealed["C-9001"], mobile_context("C-9001")) == "+8613800138000"
    assert cipher.open(sealed["C-9002"], mobile_context("C-9002")) == "+8613900139000"

    command.downgrade(cfg, "0005_unanswered_questions")
    with engine.connect() as conn:
        plain = dict(conn.execute(sa.text("SELECT id, mobile_e164 FROM customers")).all())
        conn.execute(sa.text("DELETE FROM customers"))
        conn.commit()
    engine.dispose()
    command.upgrade(cfg, "head")
    assert plain == {"C-9001": "+8613800138000", "C-9002": "+8613900139000"}
