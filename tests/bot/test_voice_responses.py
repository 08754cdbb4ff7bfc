"""Voice variations of the responses: complete, speakable, short, and the ones Rasa picks.

Rasa 3.6 (ResponseVariationFilter) prefers a variation of the output channel whose conditions
match over any channel-less one, so every voice variation must repeat the slot conditions of
the chat variation it stands for. Checked here for the files listed in VOICE_FILES.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.voice import speakable

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
VOICE_CHANNELS = ("ivr", "twilio_voice")
# Response files whose every response has voice variations (all of them). A response without
# one falls back on the hotline to its chat text, made speakable by the channel.
VOICE_FILES = ("policy_collection.yml", "policy_rights.yml", "core.yml", "requests.yml")
MAX_CHARS = {"zh": 130, "en": 320}
MAX_SENTENCES = 3  # one or two sentences, plus the spoken citation

CJK = re.compile(r"[\u3400-\u9fff]")
LINK = re.compile(r"https?://|www\.|@|\.(com|cn|net|org)\b", re.IGNORECASE)
MARKDOWN = re.compile(r"\*\*|__|`|\[[^\]]*\]\(|^\s*(#|[-*] )", re.MULTILINE)
SENTENCE_END = re.compile(r"[。！？]|[.!?](?=\s|$)")
CITATION = {
    "zh": re.compile(r"依据 (MINI|BMW) 隐私政策(第[一二三四五六七八九]部分|引言|开篇说明)。$"),
    "en": re.compile(r"Per the (MINI|BMW) policy, (part [1-9]|introduction)\.$"),
}


def _load(name: str) -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load((DOMAIN_DIR / name).read_text(encoding="utf-8")) or {}
    return data.get("responses") or {}


RESPONSES = {name: _load(name) for name in VOICE_FILES}
ALL = [(f, name) for f, responses in RESPONSES.items() for name in sorted(responses)]
VOICE = [
    (name, channel, v)
    for _, responses in RESPONSES.items()
    for name, variations in sorted(responses.items())
    for v in variations
    for channel in [v.get("channel")]
    if channel in VOICE_CHANNELS
]


def conditions(variation: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(
        sorted(
            ((c["name"], c["value"]) for c in variation.get("condition") or []
             if c.get("type") == "slot"),
            key=lambda c: c[0],
        )
    )


def text_lang(variation: dict[str, Any]) -> str:
    return "zh" if CJK.search(str(variation.get("text") or "")) else "en"


def twin_conditions(
    variation: dict[str, Any], variations: list[dict[str, Any]]
) -> tuple[tuple[str, Any], ...]:
    """The conditions a voice variation standing for this chat variation must have.

    The chat variations overlap (a brand-less one also matches a known brand; one without any
    condition matches every language) and Rasa picks among the matches at random. Voice
    variations are kept mutually exclusive instead: always a lang condition, and where the
    response varies by brand, `brand: null` on the brand-less ones.
    """
    slots = dict(conditions(variation))
    slots.setdefault("lang", text_lang(variation))
    by_brand = any("brand" in dict(conditions(v)) for v in variations if not v.get("channel"))
    if by_brand:
        slots.setdefault("brand", None)
    return tuple(sorted(slots.items(), key=lambda c: c[0]))


def test_voice_files_have_responses() -> None:
    assert len(ALL) > 50
    chat = sum(
        1 for responses in RESPONSES.values() for vs in responses.values()
        for v in vs if not v.get("channel")
    )
    assert len(VOICE) == chat * len(VOICE_CHANNELS)


@pytest.mark.parametrize(("file", "name"), ALL)
def test_every_chat_variation_has_voice_twins(file: str, name: str) -> None:
    variations = RESPONSES[file][name]
    chat = sorted(
        (twin_conditions(v, variations) for v in variations if not v.get("channel")), key=repr
    )
    assert chat, f"{name} has no chat variation"
    for channel in VOICE_CHANNELS:
        voice = sorted(
            (conditions(v) for v in variations if v.get("channel") == channel), key=repr
        )
        assert voice == chat, f"{name}: {channel} variations do not mirror the chat ones"


@pytest.mark.parametrize(("name", "channel", "variation"), VOICE)
def test_voice_text_is_speakable_and_short(
    name: str, channel: str, variation: dict[str, Any]
) -> None:
    text = str(variation.get("text") or "")
    slots = dict(conditions(variation))
    lang = slots["lang"]
    assert text, f"{name} ({channel}) is empty"
    assert not LINK.search(text), f"{name} ({channel}) has a link or e-mail: {text}"
    assert not MARKDOWN.search(text), f"{name} ({channel}) has markdown: {text}"
    assert "\n" not in text
    # Already in the form the channel would give it: identifiers digit by digit.
    assert speakable(text) == text, f"{name} ({channel}) is not speakable: {text}"
    assert len(text) <= MAX_CHARS[lang], f"{name} ({channel}) is {len(text)} chars long"
    assert len(SENTENCE_END.findall(text)) <= MAX_SENTENCES, f"{name} ({channel}): {text}"
    if lang == "zh":
        assert CJK.search(text), f"{name} ({channel}) should be Chinese"
    else:
        assert not CJK.search(text), f"{name} ({channel}) should be English only"
    if name.startswith("utter_ask_policy/"):
        citation = CITATION[lang].search(text)
        assert citation, f"{name} ({channel}) does not end with its spoken citation: {text}"
        assert citation.group(1).lower() == slots["brand"], f"{name} ({channel}) cites wrong brand"


def test_ivr_and_twilio_say_the_same() -> None:
    for responses in RESPONSES.values():
        for name, variations in responses.items():
            by_channel = {
                channel: {
                    conditions(v): v["text"] for v in variations if v.get("channel") == channel
                }
                for channel in VOICE_CHANNELS
            }
            assert by_channel["ivr"] == by_channel["twilio_voice"], name


# -- what Rasa actually picks -------------------------------------------------------------

DOMAIN = Domain.load(str(DOMAIN_DIR))
NLG = TemplatedNaturalLanguageGenerator(DOMAIN.responses)


def _tracker(slots: dict[str, Any]) -> DialogueStateTracker:
    events = [SlotSet(k, v) for k, v in slots.items() if v is not None]
    return DialogueStateTracker.from_events("voice-test", events, slots=DOMAIN.slots)


def _matches(variation: dict[str, Any], slots: dict[str, Any]) -> bool:
    return all(slots.get(name) == value for name, value in conditions(variation))


def _filled(variation: dict[str, Any], tracker: DialogueStateTracker) -> str:
    filled = NLG._fill_response(dict(variation), tracker.current_slot_values())
    return str(filled["text"])


def _cases(file: str, name: str) -> list[dict[str, Any]]:
    """lang x brand, the brand unknown too where the response has a brand-less variation."""
    brands: list[str | None] = ["mini", "bmw"]
    if not name.startswith("utter_ask_policy/") and name != "utter_policy_passage":
        brands.append(None)
    return [{"lang": lang, "brand": brand} for lang in ("zh", "en") for brand in brands]


@pytest.mark.parametrize(("file", "name"), ALL)
async def test_rasa_picks_the_variation_of_channel_lang_and_brand(file: str, name: str) -> None:
    for slots in _cases(file, name):
        tracker = _tracker(slots)
        current = tracker.current_slot_values()
        for channel in VOICE_CHANNELS:
            candidates = [
                v for v in DOMAIN.responses[name]
                if v.get("channel") == channel and _matches(v, current)
            ]
            # Voice variations never overlap: exactly one fits, and it is the caller's language.
            assert len(candidates) == 1, f"{name} {channel} {slots}: {len(candidates)} fit"
            assert dict(conditions(candidates[0]))["lang"] == slots["lang"]
            generated = await NLG.generate(name, tracker, channel)
            assert generated is not None, f"{name} {channel} {slots}"
            assert generated["text"] == _filled(candidates[0], tracker), f"{name} {channel} {slots}"
        # The chat channel never gets a voice variation.
        generated = await NLG.generate(name, tracker, "rest")
        assert generated is not None
        chat = {_filled(v, tracker) for v in DOMAIN.responses[name] if not v.get("channel")}
        assert generated["text"] in chat, f"{name} rest {slots}"
