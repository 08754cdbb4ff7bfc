"""The visible transcript of a conversation, as the web chat page shows it after a reload.

Built from the tracker's events: what the customer typed (or the title of the button they
tapped, not its `/intent` payload) and what the bot said, with its buttons and the time. Every
text goes through the tracker store's redaction again, so a transcript never shows more than
the store keeps, whichever store is configured: one-time codes and phone passwords are a word in
the conversation's language (`[验证码]`, `[code]`: the store's own `event_languages`), mobile
numbers 138****8000.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa.shared.core.events import BotUttered, Event, UserUttered

from bot.tracker_store import event_languages, messages_answering_a_secret, redact_event

INTENT_PREFIX = "/"


def _buttons(data: dict[str, Any]) -> list[dict[str, str]]:
    buttons = data.get("buttons") or []
    return [
        {"title": str(b.get("title") or b.get("payload") or ""), "payload": str(b["payload"])}
        for b in buttons
        if isinstance(b, dict) and b.get("payload")
    ]


def visible_transcript(events: Iterable[Event]) -> list[dict[str, Any]]:
    """`{"from": "user"|"bot", "text", "time", "buttons"}` per message, oldest first.

    A button payload is shown as the title of the button that sent it; an `/intent` message no
    button offered (sent by an app, not typed) is not part of what the customer saw.
    """
    events = list(events)
    asked = messages_answering_a_secret(events)
    languages = event_languages(events)
    transcript: list[dict[str, Any]] = []
    offered: dict[str, str] = {}  # payload -> title of the buttons since the last user turn
    for event in events:
        if not isinstance(event, (UserUttered, BotUttered)):
            continue
        data = redact_event(
            event.as_dict(), asked_secret=id(event) in asked, lang=languages.get(id(event))
        )
        text = str(data.get("text") or "")
        if isinstance(event, BotUttered):
            buttons = _buttons(data.get("data") or {})
            offered.update({b["payload"]: b["title"] for b in buttons})
            if text or buttons:
                transcript.append(
                    {"from": "bot", "text": text, "time": data.get("timestamp"), "buttons": buttons}
                )
            continue
        # The raw payload: redaction may mask digits inside it, the offered ones are unmasked.
        raw = (event.text or "").strip()
        shown = offered.get(raw) or offered.get(text.strip())
        offered = {}
        if shown is None and raw.startswith(INTENT_PREFIX):
            continue
        transcript.append(
            {"from": "user", "text": shown or text, "time": data.get("timestamp"), "buttons": []}
        )
    return transcript
