"""The redacting tracker store against a real SQLite file: what rests in the rows is redacted."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
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

from bot import proof_seal
from bot.tracker_store import (
    INITIAL_LANG,
    LANG_SLOT,
    RedactingSQLTrackerStore,
    event_languages,
    redact_event,
)
from privacy.masking import code_placeholder
from privacy.masking import mask_mobile_value as mask_mobile
from privacy.masking import mask_stored_text as redact_text

ROOT = Path(__file__).resolve().parents[2]
MOBILE = "13800138000"
ID_NUMBER = "11010519491231002X"  # fictional, valid checksum
CODE = "482913"
PASSWORD = "246810"
SESSION_TOKEN = "sess-abcdefghijklmnopqrstuvwxyz"
SECRETS = (MOBILE, ID_NUMBER, CODE, PASSWORD, SESSION_TOKEN, "138 0013 8000")
PROOF = "eyJqdGkiOiIxMjM0NTYiLCJjaWQiOiJDLTAwMDEifQ.Z3-138001380_00.123456-abcdef"

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
  subject_proof: {type: text, mappings: [{type: custom}]}
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


@pytest.fixture(autouse=True)
def seal_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(proof_seal.KEY_ENV, "test-tracker-seal-key-0123456789")


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
    """Ids and ISO times drive the next turn: the text redaction must not touch them."""
    values = {
        "proof_expires_at": "2026-11-22T00:58:12.123456+00:00",
        "verification_id": "4222cb21-7654-4098-9611-138001380000",
    }
    for name, value in values.items():
        assert redact_event(SlotSet(name, value).as_dict())["value"] == value
    # Typed identifiers are still caught, in slots and in text.
    assert redact_event(SlotSet("rect_value", MOBILE).as_dict())["value"] == "138****8000"
    assert ID_NUMBER not in json.dumps(redact_event(SlotSet("rect_value", ID_NUMBER).as_dict()))
    user = _user(f"{PROOF} {CODE}").as_dict()
    assert CODE not in json.dumps(redact_event(user))


# ---------------------------------------------------------------- the subject proof


def test_the_proof_is_never_kept_verbatim() -> None:
    # Without the store's sealer (a broker, a copy), the proof is dropped, not kept.
    assert redact_event(SlotSet("subject_proof", PROOF).as_dict())["value"] == "[redacted]"


async def test_the_proof_rests_sealed_and_works_on_the_next_turn(
    store: RedactingSQLTrackerStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [*_turn_events(), SlotSet("subject_proof", PROOF), ActionExecuted("action_listen")]
    await store.save(DialogueStateTracker.from_events("dora", events, DOMAIN.slots))
    dump = "\n".join(data for _, _, data in _rows(tmp_path / "t.db"))
    assert PROOF not in dump and PROOF[:40] not in dump
    assert proof_seal.PREFIX in dump

    restored = await store.retrieve("dora")
    assert restored is not None and restored.get_slot("subject_proof") == PROOF
    # The next turn appends without re-writing or un-sealing what is stored.
    restored.update(ActionExecuted("action_listen"))
    await store.save(restored)
    dump = "\n".join(data for _, _, data in _rows(tmp_path / "t.db"))
    assert PROOF not in dump

    # With another key (a stolen dump, a replica without the key) the proof opens to nothing.
    monkeypatch.setenv(proof_seal.KEY_ENV, "another-key-entirely-0123456789")
    other = await store.retrieve("dora")
    assert other is not None and other.get_slot("subject_proof") is None


SEALED_LOOKALIKE = "sealed:v1: my password is 246810, ID 110105194912310029, mobile 13800138000"


async def test_text_that_only_looks_sealed_is_masked_like_any_text(
    store: RedactingSQLTrackerStore, tmp_path: Path
) -> None:
    """Typed text, a free slot and the proof slot: only a value that really opens is kept."""
    forged = proof_seal.PREFIX + "gAAAAA" + "110105194912310029"
    events = [
        ActionExecuted("action_listen"),
        _user(SEALED_LOOKALIKE),
        SlotSet("brand", SEALED_LOOKALIKE),
        SlotSet("subject_proof", forged),
        BotUttered(SEALED_LOOKALIKE),
        ActionExecuted("action_listen"),
    ]
    await store.save(DialogueStateTracker.from_events("faye", events, DOMAIN.slots))
    dump = "\n".join(data for _, _, data in _rows(tmp_path / "t.db"))
    for secret in ("246810", "19491231", "13800138000", "0013", forged):
        assert secret not in dump, secret
    assert "my password is ******" in dump and "138****8000" in dump
    # The forged proof was sealed like any value: stored encrypted, it reads back as typed.
    restored = await store.retrieve("faye")
    assert restored is not None and restored.get_slot("subject_proof") == forged


def test_a_generated_seal_key_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "keys" / "seal.key"
    monkeypatch.delenv(proof_seal.KEY_ENV, raising=False)
    monkeypatch.setenv(proof_seal.KEY_FILE_ENV, str(key_file))
    sealed = proof_seal.seal(PROOF)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert proof_seal.unseal(sealed) == PROOF


# ---------------------------------------------------------------- what is typed for a code


ASKED_ANSWERS = (
    "2468 10",
    "密码是 9081 72",
    "code: 20 50 92",
    "my pin is 2468",
    "２４６８１０",
    "it's 4 8 2 9 1 3 I think",
    "482-913",
)


def _asked_events(answers: tuple[str, ...]) -> list:
    events: list = [
        ActionExecuted("action_listen"),
        _user("我想退订"),
        ActiveLoop("unsubscribe_form"),
        SlotSet("requested_slot", "otp_code"),
        BotUttered("请输入验证码"),
        ActionExecuted("action_listen"),
    ]
    for answer in answers:
        events += [_user(answer), BotUttered("验证码不正确"), ActionExecuted("action_listen")]
    return events


@pytest.mark.parametrize("answer", ASKED_ANSWERS)
def test_digits_typed_while_a_code_is_asked_are_never_stored(
    answer: str, store: RedactingSQLTrackerStore, tmp_path: Path
) -> None:
    import asyncio

    tracker = DialogueStateTracker.from_events("eve", _asked_events((answer,)), DOMAIN.slots)
    asyncio.get_event_loop().run_until_complete(store.save(tracker))
    users = [json.loads(d) for _, t, d in _rows(tmp_path / "t.db") if t == "user"]
    answered = users[-1]
    stored = json.dumps(answered, ensure_ascii=False)
    digits = "".join(ch for ch in answer if ch.isdigit())
    assert not any(ch.isdigit() for ch in answered["text"]), answered["text"]
    assert not any(ch.isdigit() for ch in answered["parse_data"]["text"])
    assert digits not in stored and answer not in stored


def test_the_same_words_elsewhere_keep_harmless_numbers() -> None:
    """Outside the question, keyed secrets are still masked; other numbers stay readable."""
    assert "2468" not in redact_text("my pin is 2468")
    assert "9081" not in redact_text("密码是 9081 72")
    assert redact_text("I have 2 cars") == "I have 2 cars"
    assert redact_event(_user("2").as_dict(), asked_secret=False)["text"] == "2"


# ------------------------------------------------------- a code, in the conversation's language


def _typed(text: str, lang: str | None = None, meta_lang: str | None = None) -> UserUttered:
    entities = [{"entity": "lang", "value": lang, "start": 0, "end": 0}] if lang else []
    return UserUttered(
        text,
        intent={"name": "inform", "confidence": 0.9},
        entities=entities,
        parse_data={
            "text": text,
            "intent": {"name": "inform", "confidence": 0.9},
            "entities": entities,
        },
        metadata={"lang": meta_lang} if meta_lang else {},
    )


FIRST_WORDS = {"zh": "我想退订营销短信", "en": "Stop the marketing texts, please"}


def _code_conversation(lang: str | None, answer: str, answer_lang: dict[str, str]) -> list:
    """A conversation in `lang` (None: nothing set it yet) in which the customer is asked for
    the code and types it alone."""
    said = [_typed(FIRST_WORDS[lang], lang=lang), SlotSet("lang", lang)] if lang else []
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        *said,
        ActiveLoop("unsubscribe_form"),
        SlotSet("requested_slot", "otp_code"),
        BotUttered("请输入验证码 / Please type the code"),
        ActionExecuted("action_listen"),
        _typed(answer, **answer_lang),
        BotUttered("ok"),
        ActionExecuted("action_listen"),
    ]


@pytest.mark.parametrize(
    ("lang", "answer", "answer_lang", "shown"),
    [
        ("zh", CODE, {}, "[验证码]"),
        ("zh", "１３５７９０", {}, "[验证码]"),  # full-width digits
        ("en", CODE, {}, "[code]"),
        (None, CODE, {}, "[验证码]"),  # the lang slot's initial value: Chinese
        # The message's own language (the page's metadata, NLU's entity) before the slot follows.
        ("zh", CODE, {"meta_lang": "en"}, "[code]"),
        ("en", CODE, {"lang": "zh"}, "[验证码]"),
    ],
    ids=["zh", "zh-full-width", "en", "no-lang-yet", "en-message-in-zh", "zh-message-in-en"],
)
async def test_a_code_typed_alone_is_stored_as_a_word_of_the_conversation(
    store: RedactingSQLTrackerStore,
    tmp_path: Path,
    lang: str | None,
    answer: str,
    answer_lang: dict[str, str],
    shown: str,
) -> None:
    events = _code_conversation(lang, answer, answer_lang)
    await store.save(DialogueStateTracker.from_events("lang", events, DOMAIN.slots))
    users = [json.loads(d) for _, t, d in _rows(tmp_path / "t.db") if t == "user"]
    assert users[-1]["text"] == users[-1]["parse_data"]["text"] == shown
    # Read back, as the next turn and the chat's transcript read it: the word stays.
    restored = await store.retrieve("lang")
    assert restored is not None
    assert [e.text for e in restored.events if isinstance(e, UserUttered)][-1] == shown


def test_the_language_follows_the_lang_slot_event_by_event() -> None:
    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        first := _typed("Hello", lang="en"),
        SlotSet("lang", "en"),
        bot_en := BotUttered("Hi"),
        code_en := _typed("2468"),
        SlotSet("lang", "zh"),
        bot_zh := BotUttered("你好"),
        restarted := SessionStarted(),
        code_new := _typed("2468"),
    ]
    languages = event_languages(events)
    assert languages[id(first)] == languages[id(bot_en)] == languages[id(code_en)] == "en"
    assert languages[id(bot_zh)] == "zh"
    assert languages[id(restarted)] == languages[id(code_new)] == INITIAL_LANG == "zh"


def test_the_initial_language_is_the_lang_slots() -> None:
    core = yaml.safe_load((ROOT / "bot" / "domain" / "core.yml").read_text("utf-8"))
    assert core["slots"][LANG_SLOT]["initial_value"] == INITIAL_LANG
    assert code_placeholder(None) == code_placeholder("fr") == "[code]"


# ---------------------------------------------------------------- identifiers in any spelling


@pytest.mark.parametrize(
    "typed",
    [
        "身份证 110105 19491231 002X",
        "身份证１１０１０５１９４９１２３１００２Ｘ",
        "old card 110105491231002",
        "ID 110105194912310021 (typo)",
        "phone +86 138-0013-8000",
        "手机１３８００１３８０００",
        "mobile13800138000",
    ],
)
def test_identifiers_in_any_spelling_are_masked(typed: str) -> None:
    out = json.dumps(redact_event(_user(typed).as_dict()), ensure_ascii=False)
    for needle in ("19491231", "491231", "0013", "００１３"):
        assert needle not in out, (typed, out)


def test_engine_hides_parameters_and_the_file_is_private(
    store: RedactingSQLTrackerStore, tmp_path: Path
) -> None:
    assert store.engine.hide_parameters is True
    assert stat.S_IMODE((tmp_path / "t.db").stat().st_mode) == 0o600


class _CollectingBroker:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


async def test_the_broker_gets_each_new_event_once_redacted_without_reloading_the_conversation(
    store: RedactingSQLTrackerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = _CollectingBroker()
    store.event_broker = broker  # type: ignore[assignment]
    tracker = DialogueStateTracker.from_events("eve", _turn_events(), DOMAIN.slots)
    await store.save(tracker)

    async def no_reload(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the stored conversation was loaded again to stream its events")

    monkeypatch.setattr(store, "retrieve", no_reload)
    monkeypatch.setattr(store, "_retrieve", no_reload)
    for event in _second_turn():
        tracker.update(event)
    await store.save(tracker)

    assert [e["event"] for e in broker.published[-len(_second_turn()) :]] == [
        e.type_name for e in _second_turn()
    ]
    assert {e["sender_id"] for e in broker.published} == {"eve"}
    dump = json.dumps(broker.published)
    for secret in SECRETS:
        assert secret not in dump, secret


def test_an_id_number_glued_into_a_long_token_is_not_kept_as_a_machine_value() -> None:
    # 32 characters without spaces look like an id or a proof; the ID number in it is masked.
    event = {"event": "slot", "name": "note", "value": "110105200001010008cardcardplease"}
    assert "200001010" not in redact_event(event)["value"]
    machine = {
        "event": "slot",
        "name": "verification_id",
        "value": "3f9a1c2be4d54f6aa9e0b7c1d2e3f4a5",
    }
    assert redact_event(machine) == machine
