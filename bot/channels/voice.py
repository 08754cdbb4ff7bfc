"""Speakable text and voice prompts, shared by the IVR gateway and Twilio Voice channels.

A bot message becomes a prompt `{"say", "lang", "expect", "max_digits"?, "end_call",
"transfer_to"?}`. What the caller is expected to do next comes from, in order:

1. a `voice` object in the message's custom payload, from a response
   (`custom: {voice: {expect: digits, max_digits: 6}}`) or an action
   (`dispatcher.utter_message(json_message={"voice": {"end_call": true}})`); keys `expect`
   (`speech` | `digits` | `speech_or_digits` | `none`), `max_digits`, `end_call`,
   `transfer_to` (`agent`);
2. the response name (RESPONSE_HINTS below), so the existing domain needs no payloads;
3. otherwise: speech.

What is said and what is listened for agree: a turn that tells the caller to press a key
("按 1，现在退订", buttons read as keypad options, "press 0 for a person") listens for the keys
too. A speech expectation becomes `speech_or_digits`, with `max_digits` the length of the
longest key offered (1: one key press answers); `digits` stays `digits`.

Only the last prompt of a turn listens; the prompts before it have `expect: none`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel

SPEECH, DIGITS, SPEECH_OR_DIGITS, NONE = "speech", "digits", "speech_or_digits", "none"
EXPECT_VALUES = (SPEECH, DIGITS, SPEECH_OR_DIGITS, NONE)
# Expectations under which a key press is an answer.
TAKES_DIGITS = (DIGITS, SPEECH_OR_DIGITS)
TTS_LANG = {"zh": "zh-CN", "en": "en-US"}

# Hints derived from the response name when the response carries no `voice` payload.
RESPONSE_HINTS: dict[str, dict[str, Any]] = {
    "utter_ask_mobile": {"expect": "digits", "max_digits": 11},
    "utter_mobile_invalid": {"expect": "digits", "max_digits": 11},
    "utter_code_expired": {"expect": "digits", "max_digits": 11},
    "utter_verification_unavailable": {"expect": "digits", "max_digits": 11},
    "utter_ask_otp_code": {"expect": "digits", "max_digits": 6},
    "utter_code_sent": {"expect": "digits", "max_digits": 6},
    "utter_code_format": {"expect": "digits", "max_digits": 6},
    "utter_code_invalid": {"expect": "digits", "max_digits": 6},
    "utter_code_invalid_last": {"expect": "digits", "max_digits": 6},
    # Phone passwords are 4 to 12 digits: the caller ends them with the hash key.
    "utter_ask_phone_password": {"expect": "digits", "max_digits": 12},
    "utter_password_invalid": {"expect": "digits", "max_digits": 12},
    "utter_password_invalid_last": {"expect": "digits", "max_digits": 12},
    "utter_password_format": {"expect": "digits", "max_digits": 12},
    # Locked out on the hotline: an agent verifies the caller another way.
    "utter_password_locked": {"transfer_to": "agent"},
    "utter_password_locked_later": {"transfer_to": "agent"},
    "utter_goodbye": {"end_call": True},
    "utter_handover": {"transfer_to": "agent"},
    "utter_request_handover": {"transfer_to": "agent"},
}

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"(?:https?://|www\.)[^\s)）]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MD_MARKS = re.compile(r"(\*\*|__|`|~~)")
_MD_LINE = re.compile(r"^\s*(?:#{1,6}\s+|[-*•]\s+|>\s*)", re.MULTILINE)
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")
# A reference such as PR-2026-000123: every letter and digit on its own.
_REFERENCE = re.compile(r"\b[A-Z]{1,4}(?:-\d+)+\b")
# Grouped digits: phone numbers (400-800-6699), masked mobiles (138****8000).
_GROUPED = re.compile(r"(?<![\d-])\d{2,}(?:(?:-|\*+|\s-\s)\d{2,})+(?![\d-])")
# A lone run of 5+ digits (mobile numbers, codes, VINs' tails); shorter numbers are amounts.
_LONG_DIGITS = re.compile(r"(?<![\d.])\d{5,}(?![\d.])")
# Dates (2026-12-15) are read as dates, not digit by digit.
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# A key the text tells the caller to press: "按 1", "请按0", "按 *", "press 0", "Press 1 for"
# (the domain writes keys as digits, as it writes every number; "按 15 个工作日" is no key).
_KEY_OFFER = re.compile(
    r"按\s*([0-9０-９*#＊＃])(?![0-9０-９])|\bpress\s+([0-9*#])(?![0-9])", re.IGNORECASE
)


def _spell(chars: str) -> str:
    return " ".join(c for c in chars if c.isalnum())


def _spell_reference(match: re.Match[str]) -> str:
    return _spell(match.group(0))


def _spell_groups(match: re.Match[str]) -> str:
    groups = re.findall(r"\d+", match.group(0))
    return ", ".join(_spell(group) for group in groups)


def _spell_digits(match: re.Match[str]) -> str:
    return _spell(match.group(0))


def speakable(text: str) -> str:
    """Text a TTS engine reads well: no links or markdown, identifiers digit by digit.

    Idempotent: text that is already speakable comes back unchanged.
    """
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _EMAIL.sub("", text)
    dates: list[str] = []

    def _keep_date(match: re.Match[str]) -> str:
        dates.append(match.group(0))
        return f"\x00{len(dates) - 1}\x00"

    text = _DATE.sub(_keep_date, text)
    text = _REFERENCE.sub(_spell_reference, text)
    text = _GROUPED.sub(_spell_groups, text)
    text = _LONG_DIGITS.sub(_spell_digits, text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: dates[int(m.group(1))], text)
    # Markdown after the numbers: a masked mobile (138****8000) is not bold text.
    text = _MD_MARKS.sub("", text)
    text = _MD_LINE.sub("", text)
    text = _EMOJI.sub("", text)
    # Brackets left empty by removed links / e-mails, and the spaces they leave behind.
    text = re.sub(r"[（(]\s*[)）]", "", text)
    text = re.sub(r"[ \t]*\n+[ \t]*", " ", text)
    text = re.sub(r"\s{2,}", " ", text)
    text = re.sub(r"\s+([,.;:!?，。；：！？])", r"\1", text)
    return text.strip()


def text_lang(text: str, fallback: str = "zh") -> str:
    """`zh` or `en`: the language a reply is written in (each variation has one)."""
    if _CJK.search(text):
        return "zh"
    if _LATIN.search(text):
        return "en"
    return fallback if fallback in TTS_LANG else "zh"


def intent_payload(intent: str, lang: str | None = None, brand: str | None = None) -> str:
    """`/intent{"lang": .., "brand": ..}`: Rasa skips the NLU pipeline for intent payloads, so
    the call's language and brand travel as entities (which fill the slots) rather than only
    as metadata."""
    entities = {key: value for key, value in (("lang", lang), ("brand", brand)) if value}
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, separators=(',', ':'))}"


def hints_for(message: dict[str, Any]) -> dict[str, Any]:
    """The voice hints of one bot message (payload first, then the response name)."""
    hints: dict[str, Any] = dict(RESPONSE_HINTS.get(str(message.get("utter_action") or ""), {}))
    custom = message.get("custom")
    if isinstance(custom, dict) and isinstance(custom.get("voice"), dict):
        payload = custom["voice"]
        if payload.get("expect") in EXPECT_VALUES:
            hints["expect"] = payload["expect"]
        if isinstance(payload.get("max_digits"), int) and payload["max_digits"] > 0:
            hints["max_digits"] = payload["max_digits"]
        if isinstance(payload.get("end_call"), bool):
            hints["end_call"] = payload["end_call"]
        if payload.get("transfer_to") == "agent":
            hints["transfer_to"] = "agent"
    return hints


def spoken_options(titles: list[str], lang: str) -> str:
    """Buttons read as keypad choices: the form takes an option's number as the answer."""
    if lang == "en":
        return " ".join(f"Press {n} for {title}." for n, title in enumerate(titles, 1))
    return "；".join(f"按 {n}，{title}" for n, title in enumerate(titles, 1)) + "。"


def offered_keys(message: dict[str, Any], say: str) -> list[str]:
    """The keys a message tells the caller to press: its buttons' numbers (read as "按 1，…"),
    and the keys its text names ("按 0" -> "0", "press 0" -> "0"). "按井号键" (press the hash
    key, to end a number) names no answer and is not listed."""
    buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict) and b.get("title")]
    keys = [str(n) for n in range(1, len(buttons) + 1)]
    keys += [
        unicodedata.normalize("NFKC", match.group(1) or match.group(2))
        for match in _KEY_OFFER.finditer(say)
    ]
    return keys


def message_text(message: dict[str, Any]) -> str:
    """The spoken part of a message: its text, then its buttons as numbered options."""
    text = str(message.get("text") or "")
    parts = [text]
    titles = [
        str(button["title"])
        for button in message.get("buttons") or []
        if isinstance(button, dict) and button.get("title")
    ]
    if titles:
        parts.append(spoken_options(titles, text_lang(text or " ".join(titles))))
    custom = message.get("custom")
    if isinstance(custom, dict) and isinstance(custom.get("voice"), dict):
        parts.append(str(custom["voice"].get("say") or ""))
    return " ".join(p for p in parts if p.strip())


def build_prompts(
    messages: list[dict[str, Any]],
    fallback_lang: str = "zh",
    *,
    transfer: bool = False,
    end_call: bool = False,
) -> list[dict[str, Any]]:
    """One prompt per spoken message; the turn's hints go on the last prompt.

    `transfer` / `end_call` force the outcome (the caller pressed 0, or hung up) whatever the
    bot answered.
    """
    prompts: list[dict[str, Any]] = []
    turn: dict[str, Any] = {}
    keys: list[str] = []  # every key the turn tells the caller to press
    for message in messages:
        turn.update(hints_for(message))
        say = speakable(message_text(message))
        if not say:
            continue
        keys += offered_keys(message, say)
        lang = text_lang(say, fallback_lang)
        prompts.append({"say": say, "lang": TTS_LANG[lang], "expect": "none", "end_call": False})
    if transfer:
        turn["transfer_to"] = "agent"
    if end_call:
        turn["end_call"] = True
    if not prompts:
        lang = fallback_lang if fallback_lang in TTS_LANG else "zh"
        prompts.append({"say": "", "lang": TTS_LANG[lang], "expect": "none", "end_call": False})
    last = prompts[-1]
    if turn.get("transfer_to") == "agent":
        last["transfer_to"] = "agent"
    elif turn.get("end_call"):
        last["end_call"] = True
    else:
        last["expect"] = turn.get("expect", SPEECH)
        if keys and last["expect"] == SPEECH:
            # Said "press 1": the key is an answer too, and one press of it is enough.
            last["expect"] = SPEECH_OR_DIGITS
            turn.setdefault("max_digits", max(len(key) for key in keys))
        if last["expect"] in TAKES_DIGITS and turn.get("max_digits"):
            last["max_digits"] = int(turn["max_digits"])
    return prompts


class VoiceCollectingOutputChannel(CollectingOutputChannel):
    """Collects whole bot messages, keeping the response name and custom payload together.

    Subclasses name the channel: Rasa picks response variations by the output channel's name.
    """

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        kept = {
            key: message[key]
            for key in ("text", "buttons", "custom", "utter_action")
            if message.get(key)
        }
        if kept:
            kept["recipient_id"] = recipient_id
            await self._persist_message(kept)
