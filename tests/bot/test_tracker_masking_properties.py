"""Property: no valid ID number or mobile, however it is typed, rests in a stored conversation.

The redacting tracker store on an SQLite file, as the embedded run uses it; what is checked is
every string of every stored row: the customer's message, its parse data, a free-text slot the
actions filled from it, and the bot's answer quoting it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import proof_seal
from bot.tracker_store import RedactingSQLTrackerStore
from tests.support.spellings import Typed, survivors, typed_numbers

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [inform]
slots:
  rect_value: {type: text, mappings: [{type: custom}]}
  subject_proof: {type: text, mappings: [{type: custom}]}
responses:
  utter_ok: [{text: ok}]
"""
)


@pytest.fixture(scope="module")
def stored() -> Iterator[tuple[RedactingSQLTrackerStore, Path]]:
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as folder:
        patch.setenv(proof_seal.KEY_ENV, "test-tracker-seal-key-0123456789")
        db = Path(folder) / "t.db"
        yield RedactingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db)), db


def _save_and_read(store: RedactingSQLTrackerStore, db: Path, text: str) -> list[str]:
    sender = uuid.uuid4().hex
    events = [
        ActionExecuted("action_listen"),
        UserUttered(
            text,
            intent={"name": "inform", "confidence": 0.9},
            parse_data={"text": text, "intent": {"name": "inform", "confidence": 0.9}},
        ),
        SlotSet("rect_value", text),
        SlotSet("subject_proof", text),
        BotUttered(f"您输入的是：{text}"),
        ActionExecuted("action_listen"),
    ]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events, DOMAIN.slots)))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT data FROM events WHERE sender_id = ?", (sender,)).fetchall()
    # As stored, the text unescaped: JSON's "\\u3000" must not read as digits.
    return [json.dumps(json.loads(data), ensure_ascii=False) for (data,) in rows]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(typed=typed_numbers())
def test_no_number_rests_in_a_stored_tracker(
    typed: Typed, stored: tuple[RedactingSQLTrackerStore, Path]
) -> None:
    strings = _save_and_read(*stored, typed.text)
    leaked = {s: survivors(typed, s) for s in strings if survivors(typed, s)}
    assert not leaked, (typed.text, leaked)
