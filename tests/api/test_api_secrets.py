"""No live secrets at rest: the outbox, every table after the flows, the logs, file modes.

In prod the outbox row keeps what was sent with the code starred and the number masked while the
gateway receives the full text; in dev `GET /v1/dev/outbox` still shows each SMS with its code
and number as before. After verification and tickets whose details carry ID numbers and mobiles
in many spellings, no row of any table and no log line holds a live code, the phone password, a
proof or a full ID number.
"""

from __future__ import annotations

import io
import logging
import os
import re
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from api_helpers import BOT, CODE_SMS, MOBILES, PASSWORDS, STAFF, file_ticket, start_sms
from conftest import DEFAULT_NOW, make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import cli
from api.core.clock import FixedClock
from api.core.database import make_engine
from api.core.log_masking import install_log_masking
from api.core.settings import Settings, resolve_secrets
from api.dev.models import DevOutboxCopy
from api.main import create_app
from api.notifications.gateway import Message, StandInGateway
from api.notifications.models import OutboxMessage
from api.notifications.service import sms_code_body
from api.subjects.service import load_demo_customers

ID_NUMBER = "11010519491231002X"  # fictional, valid checksum
# The same number, and others, as customers type them.
ID_SPELLINGS = {
    "spaced": "110105 19491231 002X",
    "dashed": "110105-1949-1231-002X",
    "full_width": "１１０１０５１９４９１２３１００２Ｘ",
    "fifteen": "110105491231002",
    "bad_checksum": "110105194912310021",
}
MOBILE_RUN = r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])"
MOBILE_SPELLINGS = ("13900139000", "139 0013 9000", "+86 139-0013-9000", "１３９００１３９０００")


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> list[Message]:
    """What the production gateway receives (the stand-in records nothing itself)."""
    sent: list[Message] = []
    monkeypatch.setattr(StandInGateway, "deliver", lambda self, session, m: sent.append(m))
    return sent


def _app(db_url: str, tmp_path: Path, env: str, clock: FixedClock) -> FastAPI:
    return create_app(make_settings(db_url, tmp_path, env=env), clock=clock)


@pytest.fixture
def prod(db_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[TestClient]:
    app = _app(db_url, tmp_path, "prod", clock)
    with TestClient(app) as client:
        # prod loads no demo data: the same customers, loaded as an operator would.
        settings: Settings = app.state.settings
        with app.state.session_factory() as s:
            load_demo_customers(
                s, settings.demo_customers_file, settings.lookup_pepper, clock.now()
            )
            s.commit()
        yield client


def _rows(db_url: str, table: str) -> list[dict[str, Any]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    finally:
        engine.dispose()


def _all_tables(db_url: str) -> dict[str, str]:
    """Every table of the database, its rows as one text."""
    engine = make_engine(db_url)
    try:
        names = sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            return {
                name: "\n".join(
                    repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{name}"'))
                )
                for name in names
            }
    finally:
        engine.dispose()


def _codes_in(body: str) -> list[str]:
    """The verification code of a code SMS; other messages (a filed request's SMS) carry none."""
    return CODE_SMS.findall(body)


# ---------------------------------------------------------------- the outbox


def test_prod_outbox_keeps_what_was_sent_without_the_code(
    prod: TestClient, gateway: list[Message], db_url: str
) -> None:
    v = start_sms(prod, MOBILES["C-0001"])
    assert len(gateway) == 1
    sent = gateway[0]
    [code] = _codes_in(sent.body)
    assert sent.to == "+8613800138000"
    assert sent.body == sms_code_body(code, "mini", "zh", 5)

    [row] = _rows(db_url, "outbox")
    assert row["to"] == "+86138****8000"
    assert row["body"] == sms_code_body("******", "mini", "zh", 5)
    assert code not in repr(row)
    assert _rows(db_url, "dev_outbox") == []  # no dev copy outside dev
    assert prod.get("/v1/dev/outbox").status_code == 404
    # The code the gateway delivered is the live one.
    r = prod.post(f"/v1/verifications/{v['id']}/check", headers=BOT, json={"code": code})
    assert r.json()["status"] == "verified"


def test_dev_outbox_still_shows_code_and_number(client: TestClient, db_url: str) -> None:
    v = start_sms(client, MOBILES["C-0001"])
    [item] = client.get("/v1/dev/outbox").json()["items"]
    [code] = _codes_in(item["body"])
    assert item["kind"] == "sms" and item["to"] == "+8613800138000"
    assert item["body"] == f"【MINI互联出行】您的验证码是{code}，5分钟内有效。"
    r = client.post(f"/v1/verifications/{v['id']}/check", headers=BOT, json={"code": code})
    assert r.json()["status"] == "verified"
    # The outbox record itself is masked in dev too; only the dev copy is in clear.
    [row] = _rows(db_url, "outbox")
    assert code not in row["body"] and row["to"] == "+86138****8000"


def test_upkeep_purges_outbox_rows_past_retention(
    client: TestClient,
    app: FastAPI,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start_sms(client, MOBILES["C-0001"])  # at DEFAULT_NOW, months before the wall clock
    with app.state.session_factory() as s:
        for model in (OutboxMessage, DevOutboxCopy):
            s.add(model(kind="sms", to="x", body="recent", created_at=datetime.now(timezone.utc)))
        s.commit()
    assert len(_rows(db_url, "outbox")) == 2 and len(_rows(db_url, "dev_outbox")) == 2

    monkeypatch.setenv("RIGHTS_DATABASE_URL", db_url)
    monkeypatch.setenv("RIGHTS_DEV_SECRETS_FILE", str(tmp_path / "cli-secrets.env"))
    monkeypatch.setenv("RIGHTS_OUTBOX_RETENTION_DAYS", "30")
    cli.main(["upkeep"])

    for table in ("outbox", "dev_outbox"):
        assert [r["body"] for r in _rows(db_url, table)] == ["recent"], table


# ---------------------------------------------------------------- every table, every log line


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """A root handler installed before the app, as uvicorn's are: the app masks it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    sql = logging.getLogger("sqlalchemy.engine")
    sql.setLevel(logging.INFO)  # statements and their parameters, as echo=True would log
    try:
        yield stream
    finally:
        sql.setLevel(logging.WARNING)
        root.removeHandler(handler)
        root.setLevel(old_level)


def _flows(client: TestClient, codes: list[str]) -> list[str]:
    """SMS and phone-password verification, tickets with identifiers in their details."""
    proofs: list[str] = []
    for customer in ("C-0001", "C-0002"):
        v = start_sms(client, MOBILES[customer])
        code = codes[-1]
        r = client.post(f"/v1/verifications/{v['id']}/check", headers=BOT, json={"code": code})
        assert r.json()["status"] == "verified", r.text
        proofs.append(r.json()["proof"])
    v = client.post(
        "/v1/verifications",
        headers=BOT,
        json={"method": "phone_password", "mobile": MOBILES["C-0003"], "channel": "ivr"},
    ).json()
    wrong = client.post(f"/v1/verifications/{v['id']}/check", headers=BOT, json={"code": "135791"})
    assert wrong.json()["status"] == "invalid"
    r = client.post(
        f"/v1/verifications/{v['id']}/check", headers=BOT, json={"code": PASSWORDS["C-0003"]}
    )
    proofs.append(r.json()["proof"])

    spellings = list(ID_SPELLINGS.values())
    r = file_ticket(
        client,
        proofs[0],
        "complaint",
        {
            "summary": f"身份证 {spellings[0]}，{spellings[2]}，旧证 {spellings[3]}，"
            f"手机 {MOBILE_SPELLINGS[1]} / {MOBILE_SPELLINGS[3]}，my pin is 2468"
        },
    )
    assert r.status_code == 201, r.text
    summary = r.json()["details"]["summary"]
    assert "110***********002X" in summary and "139****9000" in summary
    # Staff free text (a transition's reason) is masked like the customer's.
    moved = client.post(
        f"/v1/tickets/{r.json()['reference']}/transitions",
        headers=STAFF,
        json={
            "to_status": "in_progress",
            "version": 1,
            "reason": f"called {MOBILE_SPELLINGS[2]} about {spellings[1]}",
        },
    )
    assert moved.status_code == 200, moved.text
    r = file_ticket(
        client,
        proofs[1],
        "rectification",
        {
            "field": "id_number",
            "corrected_value": spellings[4],
            "current_value": f"{spellings[1]} {MOBILE_SPELLINGS[2]} {MOBILE_SPELLINGS[0]}",
        },
    )
    assert r.status_code == 201, r.text
    r = file_ticket(client, proofs[2], "withdraw_consent", {"purpose": "marketing"}, channel="ivr")
    assert r.status_code == 201, r.text
    reference = r.json()["reference"]
    assert client.get(f"/v1/tickets/{reference}", headers=BOT | {"X-Subject-Proof": proofs[2]})
    # An exception that carries a mobile and a code, logged with its traceback.
    try:
        raise RuntimeError(f"gateway refused 13800138000 with code {codes[-1]}")
    except RuntimeError:
        logging.getLogger("api.test").exception("sending failed for %s", "13800138000")
    return proofs


def _secrets(codes: list[str], proofs: list[str]) -> list[str]:
    return [
        *codes,
        PASSWORDS["C-0003"],
        *proofs,
        ID_NUMBER,
        "110105194912310021",
        "110105491231002",
        *ID_SPELLINGS.values(),
    ]


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_no_table_and_no_log_line_holds_a_live_secret(
    env: str,
    db_url: str,
    tmp_path: Path,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    captured_logs: io.StringIO,
) -> None:
    codes: list[str] = []
    real_deliver = StandInGateway.deliver

    def record(self: Any, session: Any, message: Message) -> None:
        codes.extend(_codes_in(message.body))
        real_deliver(self, session, message)

    monkeypatch.setattr(StandInGateway, "deliver", record)
    app = _app(db_url, tmp_path, env, clock)
    install_log_masking()  # the app installed it at creation; this also covers our handler
    with TestClient(app) as client:
        if env == "prod":
            settings = app.state.settings
            with app.state.session_factory() as s:
                load_demo_customers(
                    s, settings.demo_customers_file, settings.lookup_pepper, clock.now()
                )
                s.commit()
        else:
            # In dev the dev outbox is where testers read codes: take them from there.
            from api.dev import sink

            def record_dev(self: Any, session: Any, message: Message) -> None:
                codes.extend(_codes_in(message.body))
                real_dev(self, session, message)

            real_dev = sink.DevOutboxSink.deliver
            monkeypatch.setattr(sink.DevOutboxSink, "deliver", record_dev)
        proofs = _flows(client, codes)

    assert len(codes) == 2 and len(proofs) == 3
    secrets = _secrets(codes, proofs)
    tables = _all_tables(db_url)
    assert {"outbox", "tickets", "audit_entries", "verification_challenges"} <= set(tables)
    assert "+86138****8000" in tables["outbox"]
    for name, dump in tables.items():
        if name == "dev_outbox":
            continue  # dev only, by design: testers read codes there
        leaked = [s for s in secrets if s in dump]
        assert not leaked, f"{name} holds {leaked}"
        if name != "customers":  # the customer record is where the number belongs
            assert not re.search(MOBILE_RUN, dump), f"{name} holds a mobile"
    if env == "prod":
        assert tables["dev_outbox"] == ""

    logs = captured_logs.getvalue()
    assert "Traceback" in logs and "RuntimeError" in logs and "138****8000" in logs
    assert "SELECT" in logs and "parameters hidden" in logs  # the engine logged, without values
    leaked = [s for s in [*secrets, "13800138000", "13900139000"] if s in logs]
    assert not leaked, f"log holds {leaked}"


def test_database_errors_hide_their_parameters(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as raised, engine.connect() as conn:
            conn.execute(sa.text("SELECT * FROM no_such_table WHERE x = :p"), {"p": "secret-4829"})
        assert "secret-4829" not in str(raised.value)
        assert "hidden" in str(raised.value)
    finally:
        engine.dispose()


# ---------------------------------------------------------------- file modes


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_secret_files_are_private_from_the_start(tmp_path: Path) -> None:
    old = os.umask(0)  # a permissive umask: the modes must not depend on it
    try:
        db = tmp_path / "new" / "rights.db"
        secrets_file = tmp_path / "new" / "dev-secrets.env"
        settings = make_settings(
            f"sqlite:///{db}",
            tmp_path,
            dev_secrets_file=secrets_file,
            proof_secret="",
        )
        app = create_app(settings, clock=FixedClock(DEFAULT_NOW))
        with TestClient(app) as client:
            start_sms(client, MOBILES["C-0001"])
            assert _mode(db) == 0o600
            for companion in (db.with_name("rights.db-wal"), db.with_name("rights.db-shm")):
                if companion.exists():
                    assert _mode(companion) == 0o600, companion
        assert _mode(secrets_file) == 0o600
        assert "RIGHTS_PROOF_SECRET=" in secrets_file.read_text()

        # A secrets file left readable by an older version is narrowed when rewritten.
        secrets_file.chmod(0o644)
        resolve_secrets(
            make_settings(
                f"sqlite:///{db}", tmp_path, dev_secrets_file=secrets_file, lookup_pepper=""
            )
        )
        assert _mode(secrets_file) == 0o600
    finally:
        os.umask(old)


def test_purge_keeps_rows_inside_the_retention(
    client: TestClient, app: FastAPI, clock: FixedClock
) -> None:
    from api.assembly import purge_sent

    start_sms(client, MOBILES["C-0001"])
    with app.state.session_factory() as s:
        assert purge_sent(s, clock.now() + timedelta(days=29), 30) == 0
        assert purge_sent(s, clock.now() + timedelta(days=31), 30) == 2  # record + dev copy
    assert client.get("/v1/dev/outbox").json()["items"] == []
