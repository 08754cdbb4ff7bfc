"""The redacting tracker store against a real SQLite file: what rests in the rows is redacted."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from rasa.core.tracker_store import create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from bot.tracker_store import RedactingSQLTrackerStore, mask_mobile, redact_event, redact_text

ROOT = Path(__file__).resolve().parents[2]
MOBILE = "13800138000"
ID_NUMBER = "11010519491231002X"  # fictional, valid checksum
CODE = "482913"
PASSWORD = "246810"
SESSION_TOKEN = "sess-abcdefghijklmnopqrstuvwxyz"
SECRETS = (MOBILE, ID_NUMBER, CODE, PASSWORD, SESSION_TOKEN, "138 0013 8000")

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [inform, request_unsubscribe]
entities: [mobile, otp_code, id_number]
slots:
  mobile: {type: text, mappings: [{type: custom}]}
  otp_code: {type: text, mappings: [{type: custom}]}
  phone_password: {type: text, mappings: [{type: custom}]}
  id_number: {type: text, mappings: [{type: custom}]}
  brand: {type: text, mappings: [{type: custom}]}
responses:
  utter_ok: [{text: ok}]
"""
)


def _user(text: str, entities: list[dict] | None = None) -> UserUttered:
    return UserUttered(
        text,
        intent={"name": "inform", "confidence": 0.9},
        entities=entities or [],
        parse_data={
            "text": text,
            "intent": {"name": "inform", "confidence": 0.9},
            "entities": entities or [],
        },
        input_channel="rest",
        metadata={"brand": "mini", "session_token": SESSION_TOKEN},
    )


def _turn_events() -> list:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        _user(
            f"我的手机号是{MOBILE}，身份证{ID_NUMBER}",
            [
                {"entity": "mobile", "value": MOBILE, "start": 5, "end": 16},
                {"entity": "id_number", "value": ID_NUMBER, "start": 19, "end": 37},
            ],
        ),
        SlotSet("mobile", MOBILE),
        SlotSet("id_number", ID_NUMBER),
        SlotSet("brand", "mini"),
        ActiveLoop("unsubscribe_form"),
        BotUttered(
            f"验证码已发送至 {MOBILE}",
            data={"buttons": [{"title": f"重发到 {MOBILE}", "payload": "/inform"}]},
        ),
        ActionExecuted("action_listen"),
    ]


def _second_turn() -> list:
    return [
        _user(CODE, [{"entity": "otp_code", "value": CODE, "start": 0, "end": 6}]),
        SlotSet("otp_code", CODE),
        SlotSet("phone_password", PASSWORD),
        BotUttered(f"Your code {CODE} is accepted, reference PR-2026-000123."),
        ActionExecuted("action_listen"),
    ]


@pytest.fixture
def store(tmp_path: Path) -> RedactingSQLTrackerStore:
    return RedactingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))


def _rows(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT sender_id, type_name, data FROM events ORDER BY id"))


def test_text_helpers() -> None:
    assert mask_mobile(MOBILE) == "138****8000"
    assert mask_mobile("138****8000") == "138****8000"
    assert mask_mobile("not a number") == "[redacted]"
    out = redact_text(f"call {MOBILE} or 138 0013 8000, id {ID_NUMBER}, code {CODE}")
    assert "138****8000" in out
    for secret in SECRETS:
        assert secret not in out
    # Not customer secrets: ticket references, VINs, hotline numbers stay readable.
    kept = "PR-2026-000123 WMWXR3100N2K12345 400-800-6699"
    assert redact_text(kept) == kept


@pytest.mark.parametrize("keyed", ["2468", "24681", "246810#", "135790246810", " 9081 "])
def test_a_message_of_keyed_digits_is_redacted_whatever_its_length(keyed: str) -> None:
    """A phone password may be 4 to 12 digits; keyed alone, the whole message is the secret."""
    event = {"event": "user", "text": keyed, "parse_data": {"text": keyed}}
    redacted = redact_event(event)
    assert redacted["text"] == redacted["parse_data"]["text"] == "[code]"
    # Option numbers and masked mobiles are not secrets.
    assert redact_event({"event": "user", "text": "2"})["text"] == "2"
    assert redact_event({"event": "user", "text": "13800138000"})["text"] == "138****8000"


async def test_every_event_type_is_redacted_in_the_rows(
    store: RedactingSQLTrackerStore, tmp_path: Path
) -> None:
    tracker = DialogueStateTracker.from_events("alice", _turn_events(), DOMAIN.slots)
    await store.save(tracker)
    rows = _rows(tmp_path / "t.db")
    assert len(rows) == len(_turn_events())
    dump = "\n".join(data for _, _, data in rows)
    for secret in SECRETS:
        assert secret not in dump, secret
    assert "138****8000" in dump

    by_type: dict[str, list[dict]] = {}
    for _, type_name, data in rows:
        by_type.setdefault(type_name, []).append(json.loads(data))
    user = by_type["user"][0]
    assert "138****8000" in user["text"] and "138****8000" in user["parse_data"]["text"]
    values = {e["entity"]: e["value"] for e in user["parse_data"]["entities"]}
    assert values == {"mobile": "138****8000", "id_number": "[redacted]"}
    assert user["metadata"] == {"brand": "mini", "session_token": "[redacted]"}
    slots = {e["name"]: e["value"] for e in by_type["slot"]}
    assert slots == {"mobile": "138****8000", "id_number": "[redacted]", "brand": "mini"}
    bot = by_type["bot"][0]
    assert "138****8000" in bot["text"]
    assert "138****8000" in bot["data"]["buttons"][0]["title"]
    # Machine fields survive: the intent column and action names are still queryable.
    assert by_type["action"][0]["name"] == "action_session_start"


async def test_next_turn_appends_only_new_events_and_reads_back_redacted(
    store: RedactingSQLTrackerStore, tmp_path: Path
) -> None:
    tracker = DialogueStateTracker.from_events("bob", _turn_events(), DOMAIN.slots)
    await store.save(tracker)
    restored = await store.retrieve("bob")
    assert restored is not None
    assert restored.get_slot("mobile") == "138****8000"
    assert restored.active_loop_name == "unsubscribe_form"
    for event in _second_turn():
        restored.update(event)
    await store.save(restored)

    rows = _rows(tmp_path / "t.db")
    assert len(rows) == len(_turn_events()) + len(_second_turn())
    dump = "\n".join(data for _, _, data in rows)
    for secret in SECRETS:
        assert secret not in dump, secret
    assert "PR-2026-000123" in dump

    final = await store.retrieve("bob")
    assert final is not None
    # A secret slot stays filled (a form must not ask again) but its value is gone.
    assert final.get_slot("otp_code") == "[redacted]"
    assert final.get_slot("phone_password") == "[redacted]"
    assert final.latest_message is not None and CODE not in (final.latest_message.text or "")


def test_redact_event_leaves_unrelated_events_alone() -> None:
    event = ActionExecuted("utter_ok", policy="RulePolicy", confidence=1.0).as_dict()
    assert redact_event(event) == event


def test_endpoints_file_selects_the_redacting_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The configured module path resolves: Rasa would silently fall back to memory if not."""
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "x")
    endpoints = ROOT / "bot" / "endpoints.yml"
    if not endpoints.exists():
        pytest.fail("bot/endpoints.yml is missing")
    config = read_endpoint_config(str(endpoints), "tracker_store")
    assert config is not None
    assert config.type == "bot.tracker_store.RedactingSQLTrackerStore"
    config.kwargs["db"] = str(tmp_path / "from-endpoints.db")
    store = create_tracker_store(config, DOMAIN)
    inner = getattr(store, "_tracker_store", store)
    assert isinstance(inner, RedactingSQLTrackerStore)


def test_url_env_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "via-env.db"
    monkeypatch.setenv("RASA_TRACKER_STORE_URL", f"sqlite:///{target}")
    store = create_tracker_store(
        EndpointConfig(type="bot.tracker_store.RedactingSQLTrackerStore", db="ignored.db"), DOMAIN
    )
    inner = getattr(store, "_tracker_store", store)
    assert isinstance(inner, RedactingSQLTrackerStore)
    assert str(inner.engine.url.database) == str(target)


def test_status_word_in_a_secret_slot_survives() -> None:
    event = SlotSet("otp_code", "verified").as_dict()
    assert redact_event(event)["value"] == "verified"
    assert redact_event(SlotSet("otp_code", CODE).as_dict())["value"] == "[redacted]"


@pytest.mark.postgres
async def test_same_redaction_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    import psycopg2

    from tests.support.stack import fresh_postgres_database

    with fresh_postgres_database("tracker_unit") as url:
        monkeypatch.setenv("RASA_TRACKER_STORE_URL", url)
        store = RedactingSQLTrackerStore(domain=DOMAIN)
        assert store.engine.dialect.name == "postgresql"
        tracker = DialogueStateTracker.from_events("carol", _turn_events(), DOMAIN.slots)
        for event in _second_turn():
            tracker.update(event)
        await store.save(tracker)
        store.engine.dispose()
        conn = psycopg2.connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT data FROM events WHERE sender_id = 'carol'")
                dump = "\n".join(row[0] for row in cur.fetchall())
        finally:
            conn.close()
    assert "138****8000" in dump
    for secret in SECRETS:
        assert secret not in dump, secret


def test_machine_values_in_slots_survive() -> None:
    """Proofs, ids and ISO times drive the next turn: the text redaction must not touch them."""
    proof = "eyJqdGkiOiIxMjM0NTYiLCJjaWQiOiJDLTAwMDEifQ.Z3-138001380_00.123456-abcdef"
    values = {
        "subject_proof": proof,
        "proof_expires_at": "2026-11-22T00:58:12.123456+00:00",
        "verification_id": "4222cb21-7654-4098-9611-138001380000",
    }
    for name, value in values.items():
        assert redact_event(SlotSet(name, value).as_dict())["value"] == value
    # Typed identifiers are still caught, in slots and in text.
    assert redact_event(SlotSet("rect_value", MOBILE).as_dict())["value"] == "138****8000"
    assert ID_NUMBER not in json.dumps(redact_event(SlotSet("rect_value", ID_NUMBER).as_dict()))
    user = _user(f"{proof} {CODE}").as_dict()
    assert CODE not in json.dumps(redact_event(user))
