"""SQL tracker store that redacts every event before it is written.

Rasa keeps the tracker in memory only for the turn it processes (lock, retrieve, run, save), so
the actions of a turn still see what the customer typed; what rests in the database, and what the
next turn and `GET /conversations/{id}/tracker` read back, is redacted:

- every string in the event (user text, parse_data text, entity values, slot values, bot texts
  and buttons, metadata) goes through `privacy.masking.mask_stored_text`: ID-card numbers and
  mobiles in any spelling (spaces, dots, dashes, full-width digits, glued to letters, after
  another number), digits after "code", "pin", "密码", "验证码" ..., and bare 6 to 8 digit runs
  (one-time codes, the phone password); text that merely starts like a sealed value is no
  exception;
- a message the customer sends while the code or the phone password is being asked for
  (`requested_slot` is `otp_code`) keeps none of its digits, however they are typed
  ("2468 10", "密码是 9081 72", "２４６８１０");
- a code or password typed alone is kept as a word in the conversation's language, "[验证码]"
  in Chinese and "[code]" in English (`event_languages`: the message's own language, else the
  `lang` slot in force), so the customer rereading the chat and staff reading the conversation
  see their language;
- slots and entities that hold secrets (one-time code, phone password, ID number, session
  tokens) are replaced whatever their value looks like; mobile slots are masked;
- the subject proof (slot `subject_proof`) is sealed with a key that is not in the database
  (`bot.proof_seal`) and opened again when the tracker is read back, so the next turn can use it;
  a value in that slot that only looks sealed is sealed like any other.

Events are masked, never dropped: Rasa finds the events still to write by counting the stored
ones, and a form must still see a secret slot as filled on the next turn. The engine hides bound
parameters from its logs and errors, and an SQLite file is created 0600.

Configured in bot/endpoints.yml (`type: bot.tracker_store.RedactingSQLTrackerStore`) with an
SQLite file by default. `RASA_TRACKER_STORE_URL` (an SQLAlchemy URL such as
`postgresql://postgres@127.0.0.1:5432/rasa`) overrides the file, so one endpoints file serves the
embedded run and PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot import proof_seal
from contract import Language
from privacy import masking
from privacy.files import create_private_file

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
URL_ENV = "RASA_TRACKER_STORE_URL"
REDACTED = masking.REDACTED

# Slot and entity names whose values are secrets whatever they look like.
SECRET_NAMES = frozenset(
    {
        "otp_code",
        "code",
        "sms_code",
        "verification_code",
        "phone_password",
        "password",
        "pin",
        "id_number",
        "id_card",
        "id_card_number",
        "session_token",
        "app_session_token",
        "token",
    }
)
# Slot and entity names holding a mobile number: kept, masked.
MOBILE_NAMES = frozenset({"mobile", "phone", "phone_number", "mobile_number", "caller_number"})
# Keys whose string values are machine data, never customer text.
_STATUS_WORD = re.compile(r"[a-z_]{1,24}")
# Machine values the flows keep in slots: ISO 8601 times (microseconds look like a code to the
# text redaction) and ids or signed proofs (long unspaced tokens). Corrupting them breaks the next
# turn; a customer's typed identifier is shorter, spaced or not ASCII, and still redacted.
_MACHINE_VALUE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|(?=[A-Za-z0-9_.=-]*[A-Za-z])[A-Za-z0-9_.=-]{32,}"
)
_SKIP_KEYS = frozenset({"event", "timestamp", "message_id", "name", "policy", "intent_name"})

# Slots whose question is answered with the one-time code or the phone password.
ASKED_SECRET_SLOTS = frozenset({"otp_code"})
# The conversation's language: the slot, the entity and metadata key that set it, and its value
# before anything sets it (the slot's initial value in bot/domain/core.yml).
LANG_SLOT = "lang"
INITIAL_LANG = Language.ZH.value


def _secret_value(
    name: Any, value: Any, secret_names: frozenset[str], slot: bool = False
) -> tuple[bool, Any]:
    """(True, replacement) when the named value must not be stored as it is."""
    if not isinstance(name, str) or value is None:
        return False, value
    key = name.lower()
    if key in secret_names:
        # Status words a flow writes into a secret slot ("verified") carry no secret and may
        # drive the next turn; anything else (digits, tokens) is replaced.
        if slot and isinstance(value, str) and _STATUS_WORD.fullmatch(value):
            return False, value
        return True, REDACTED
    if key in MOBILE_NAMES:
        return True, masking.mask_mobile_value(value) if isinstance(value, str) else REDACTED
    return False, value


def _walk(
    value: Any,
    secret_names: frozenset[str],
    key: str | None = None,
    *,
    asked: bool = False,
    seal: Callable[[str], str] | None = None,
    placeholder: str = masking.CODE_PLACEHOLDER,
) -> Any:
    if isinstance(value, str):
        # Text that only looks sealed ("sealed:v1: my password is ...") is masked like any
        # text: a sealed slot value that really opens is kept below, where slots are named.
        if key in _SKIP_KEYS:
            return value
        if asked:
            # Typed while a code or password was asked for: no digit of it is kept.
            value = masking.mask_digits(value)
        elif (
            key != "text"
            and _MACHINE_VALUE.fullmatch(value)
            and masking.mask_personal(value) == value
        ):
            # A machine value, unless an identifier hides in it ("1101052000...cardplease").
            return value
        if key == "text":
            return masking.mask_stored_message(value, placeholder)
        return masking.mask_stored_text(value, placeholder)
    if isinstance(value, list):
        return [
            _walk(v, secret_names, asked=asked, seal=seal, placeholder=placeholder) for v in value
        ]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            hit, replacement = _secret_value(k, v, secret_names)
            out[k] = (
                replacement
                if hit
                else _walk(v, secret_names, k, asked=asked, seal=seal, placeholder=placeholder)
            )
        # Named values: slot events {"name", "value"}, entities {"entity", "value"}.
        for name_key in ("name", "entity"):
            if name_key in out and "value" in out:
                name, raw = out[name_key], value.get("value")
                if name in proof_seal.SEALED_SLOTS and raw is not None:
                    # The proof is sealed when a sealer is given, else never kept; a value
                    # that is already sealed is kept only if it opens with the current key.
                    if proof_seal.opens(raw):
                        out["value"] = raw
                    else:
                        out["value"] = seal(str(raw)) if seal is not None else REDACTED
                    continue
                hit, replacement = _secret_value(name, raw, secret_names, slot=True)
                if hit:
                    out["value"] = replacement
        return out
    return value


def redact_event(
    event: dict[str, Any],
    secret_names: Iterable[str] = SECRET_NAMES,
    *,
    asked_secret: bool = False,
    seal: Callable[[str], str] | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """A redacted copy of one serialised Rasa event.

    `asked_secret`: a user message sent while a code or password was asked for (all its
    digits go). `seal`: how to keep the sealed slots (the subject proof); without it they are
    redacted. `lang`: the conversation's language at the event (`event_languages`), which
    words a code typed alone ([验证码], [code]; English when not given).
    """
    names = frozenset(n.lower() for n in secret_names)
    placeholder = masking.code_placeholder(lang)
    redacted: dict[str, Any] = _walk(
        event, names, asked=asked_secret, seal=seal, placeholder=placeholder
    )
    return redacted


def _message_language(event: UserUttered) -> str | None:
    """The language a message was written in, as NLU read it (its `lang` entity) or the channel
    said (metadata); the `lang` slot follows it only after the message."""
    languages = Language.values()
    for entity in event.entities or []:
        if entity.get("entity") == LANG_SLOT and entity.get("value") in languages:
            return str(entity["value"])
    meta = (event.metadata or {}).get(LANG_SLOT)
    return meta if isinstance(meta, str) and meta in languages else None


def event_languages(events: Iterable[Event], initial: str = INITIAL_LANG) -> dict[int, str]:
    """id of each event -> the conversation's language at it: a user message's own language,
    else the `lang` slot as the events before it left it. The one answer both the store (what
    it writes) and the chat's transcript (what it shows) use."""
    languages: dict[int, str] = {}
    current = initial
    for event in events:
        if isinstance(event, SessionStarted):
            current = initial  # a new session starts from the initial slots (carried ones follow)
        elif isinstance(event, SlotSet) and event.key == LANG_SLOT:
            current = event.value if event.value in Language.values() else initial
        elif isinstance(event, UserUttered):
            languages[id(event)] = _message_language(event) or current
            continue
        languages[id(event)] = current
    return languages


def messages_answering_a_secret(events: Iterable[Event]) -> set[int]:
    """ids of the user messages sent while a code or phone password was being asked for."""
    asked: set[int] = set()
    requested: Any = None
    for event in events:
        if isinstance(event, SlotSet) and event.key == "requested_slot":
            requested = event.value
        elif isinstance(event, ActiveLoop) and event.name is None:
            requested = None
        elif isinstance(event, UserUttered) and requested in ASKED_SECRET_SLOTS:
            asked.add(id(event))
    return asked


def _open_sealed(event: dict[str, Any]) -> dict[str, Any]:
    """A stored event as the next turn needs it: sealed slot values opened."""
    if event.get("event") == SlotSet.type_name and event.get("name") in proof_seal.SEALED_SLOTS:
        value = event.get("value")
        if isinstance(value, str) and proof_seal.is_sealed(value):
            return {**event, "value": proof_seal.unseal(value)}
        if value is not None:
            return {**event, "value": None}  # a redacted proof is no proof
    return event


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that writes (and streams) only redacted events."""

    def __init__(
        self,
        domain: Domain | None = None,
        dialect: str = "sqlite",
        host: str | None = None,
        port: int | None = None,
        db: str = "var/tracker.db",
        username: str | None = None,
        password: str | None = None,
        event_broker: EventBroker | None = None,
        login_db: str | None = None,
        query: dict | None = None,
        secret_slots: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        url = os.environ.get(URL_ENV, "").strip()
        if url:
            from sqlalchemy.engine import make_url

            parsed = make_url(url)
            dialect = parsed.drivername
            host, port = parsed.host, parsed.port
            db = parsed.database or db
            username, password = parsed.username, parsed.password
            query = dict(parsed.query) or query
        if dialect.startswith("sqlite"):
            db = self._sqlite_path(db)
        self.secret_names = SECRET_NAMES | frozenset(s.lower() for s in (secret_slots or ()))
        super().__init__(
            domain=domain,
            dialect=dialect,
            host=host,
            port=port,
            db=db,
            username=username,
            password=password,
            event_broker=event_broker,
            login_db=login_db,
            query=query,
            **kwargs,
        )
        # Bound parameters stay out of SQLAlchemy's logs and error messages.
        self.engine.hide_parameters = True
        logger.info(
            "redacting tracker store on %s", self.engine.url.render_as_string(hide_password=True)
        )

    @staticmethod
    def _sqlite_path(db: str) -> str:
        # Relative to the repository, not the working directory; SQLite will not create folders.
        # Created 0600 before SQLite opens it (its -wal and -shm files take the same mode).
        if not db or db == ":memory:":
            return db
        path = Path(db)
        if not path.is_absolute():
            path = ROOT / path
        create_private_file(path)
        return str(path)

    def _redacted(self, event: Event, asked: set[int], languages: dict[int, str]) -> dict[str, Any]:
        return redact_event(
            event.as_dict(),
            self.secret_names,
            asked_secret=id(event) in asked,
            seal=proof_seal.seal,
            lang=languages.get(id(event)),
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        """As SQLTrackerStore.save, with each event redacted before it is serialised.

        The new events also go to the event broker, redacted: Rasa's own stream_events loads
        the whole stored conversation again to find them, a cost that grows with every turn.
        """
        asked = messages_answering_a_secret(tracker.events)
        languages = event_languages(tracker.events)

        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = self._redacted(event, asked, languages)
                if self.event_broker is not None:
                    self.event_broker.publish({"sender_id": tracker.sender_id, **data})
                parse_data = data.get("parse_data") or {}
                intent = (parse_data.get("intent") or {}).get(INTENT_NAME_KEY)
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=intent,
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()

        logger.debug("tracker stored (redacted)")

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """As SQLTrackerStore._retrieve, with the sealed slots opened for the turn."""
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [_open_sealed(json.loads(row.data)) for row in rows]
        if self.domain is None or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
