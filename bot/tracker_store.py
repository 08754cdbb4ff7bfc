"""SQL tracker store that redacts every event before it is written.

Rasa keeps the tracker in memory only for the turn it processes (lock, retrieve, run, save), so
the actions of a turn still see what the customer typed; what rests in the database, and what the
next turn and `GET /conversations/{id}/tracker` read back, is redacted:

- every string in the event (user text, parse_data text, entity values, slot values, bot texts
  and buttons, metadata) goes through `bot.components.identifiers.redact`, then through a
  regex safety net: mobiles masked as 138****8000, 18-digit ID numbers and bare 6 to 8 digit
  runs (one-time codes, the phone password) replaced;
- slots and entities that hold secrets (one-time code, phone password, ID number, session
  tokens) are replaced whatever their value looks like; mobile slots are masked.

Events are masked, never dropped: Rasa finds the events still to write by counting the stored
ones, and a form must still see a secret slot as filled on the next turn.

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
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
URL_ENV = "RASA_TRACKER_STORE_URL"
REDACTED = "[redacted]"

# Slot and entity names whose values are secrets whatever they look like.
SECRET_NAMES = frozenset(
    {
        "otp_code", "code", "sms_code", "verification_code",
        "phone_password", "password", "pin",
        "id_number", "id_card", "id_card_number",
        "session_token", "app_session_token", "token",
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

_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?(1[3-9][0-9])[ -]?[0-9]{4}[ -]?([0-9]{4})(?![0-9])")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
# Bare 6-8 digit runs: one-time codes and the phone password. Runs glued to letters, dashes or
# dots (VINs, ticket references like PR-2026-000123, versions) are left alone.
_CODE = re.compile(r"(?<![0-9A-Za-z_\-./:])[0-9]{6,8}(?![0-9A-Za-z_])")
# A message of nothing but 4-12 keyed digits answers a keypad question: a code or the phone
# password, whatever its length (an option number is shorter, a mobile is masked before).
# Only message texts: a slot of the same digits may be a customer's answer (a correction).
_KEYED_SECRET = re.compile(r"\s*(?:[0-9]{4,12}|\[code\]|\*{4,12})\s*#?\s*")


def _load_identifier_redact() -> Callable[[str], str] | None:
    try:
        from bot.components.identifiers import redact
    except Exception:  # pragma: no cover - the regex net below still applies
        logger.error("bot.components.identifiers.redact unavailable; using the regex net only")
        return None
    return redact


_identifier_redact: Callable[[str], str] | None = None
_identifier_loaded = False


def mask_mobile(value: str) -> str:
    """13800138000 -> 138****8000; anything not a mobile number is redacted whole."""
    match = _MOBILE.search(value)
    if match and "*" not in value:
        return f"{match.group(1)}****{match.group(2)}"
    return value if re.fullmatch(r"1[3-9][0-9]\*{4}[0-9]{4}", value) else REDACTED


def redact_text(text: str) -> str:
    """Customer identifiers masked in free text."""
    global _identifier_redact, _identifier_loaded
    if not _identifier_loaded:
        _identifier_redact = _load_identifier_redact()
        _identifier_loaded = True
    if _identifier_redact is not None:
        text = _identifier_redact(text)
    text = _ID_NUMBER.sub("[id_number]", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _CODE.sub("[code]", text)


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
        return True, mask_mobile(value) if isinstance(value, str) else REDACTED
    return False, value


def _walk(value: Any, secret_names: frozenset[str], key: str | None = None) -> Any:
    if isinstance(value, str):
        if key in _SKIP_KEYS or (key != "text" and _MACHINE_VALUE.fullmatch(value)):
            return value
        redacted = redact_text(value)
        return "[code]" if key == "text" and _KEYED_SECRET.fullmatch(redacted) else redacted
    if isinstance(value, list):
        return [_walk(v, secret_names) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            hit, replacement = _secret_value(k, v, secret_names)
            out[k] = replacement if hit else _walk(v, secret_names, k)
        # Named values: slot events {"name", "value"}, entities {"entity", "value"}.
        for name_key in ("name", "entity"):
            if name_key in out and "value" in out:
                hit, replacement = _secret_value(
                    out[name_key], value.get("value"), secret_names, slot=True
                )
                if hit:
                    out["value"] = replacement
        return out
    return value


def redact_event(
    event: dict[str, Any], secret_names: Iterable[str] = SECRET_NAMES
) -> dict[str, Any]:
    """A redacted copy of one serialised Rasa event."""
    names = frozenset(n.lower() for n in secret_names)
    redacted: dict[str, Any] = _walk(event, names)
    return redacted


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
        logger.info(
            "redacting tracker store on %s", self.engine.url.render_as_string(hide_password=True)
        )

    @staticmethod
    def _sqlite_path(db: str) -> str:
        # Relative to the repository, not the working directory; SQLite will not create folders.
        if not db or db == ":memory:":
            return db
        path = Path(db)
        if not path.is_absolute():
            path = ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """As SQLTrackerStore.save, with each event redacted before it is serialised."""
        await self.stream_events(tracker)

        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = redact_event(event.as_dict(), self.secret_names)
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

    async def _stream_new_events(
        self, event_broker: EventBroker, new_events: list, sender_id: str
    ) -> None:
        for event in new_events:
            body: dict[str, Any] = {"sender_id": sender_id}
            body.update(redact_event(event.as_dict(), self.secret_names))
            event_broker.publish(body)
