"""Voice variations of the responses: complete, speakable, short, and the ones Rasa picks.

Both voice channels (the IVR gateway, Twilio Voice) are served by one set of `channel: voice`
variations (bot/nlg.py). Rasa 3.6 (ResponseVariationFilter) prefers a variation of the channel
whose conditions match over any channel-less one, so every voice variation must repeat the slot
conditions of the chat variation it stands for. Checked here for the files listed in VOICE_FILES.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.nlg import interpolator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.voice import SPEECH_OR_DIGITS, TAKES_DIGITS, build_prompts, speakable
from bot.nlg import VOICE, VOICE_CHANNELS, BrandResponseGenerator, brand_variables

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
# Response files whose every response has voice variations (all of them). A response without
# one falls back on the hotline to its chat text, made speakable by the channel.
VOICE_FILES = ("policy_collection.yml", "policy_rights.yml", "core.yml", "requests.yml")
MAX_CHARS = {"zh": 130, "en": 320}
MAX_SENTENCES = 3  # one or two sentences, plus the spoken citation

CJK = re.compile(r"[\u3400-\u9fff]")
LINK = re.compile(r"https?://|www\.|@|\.(com|cn|net|org)\b", re.IGNORECASE)
MARKDOWN = re.compile(r"\*\*|__|`|\[[^\]]*\]\(|^\s*(#|[-*] )", re.MULTILINE)
# Brand facts an action passes itself (the confirmation's deadline, of the verified subject).
PASSED_BY_ACTIONS = {"deadline"}
# Three or more single digits in a row ("4 0 0"), the form speakable() gives a number.
SPELLED_DIGITS = re.compile(r"(?<!\d)\d(?: \d){2,}(?!\d)")
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
VOICE_VARIATIONS = [
    (name, v)
    for _, responses in RESPONSES.items()
    for name, variations in sorted(responses.items())
    for v in variations
    if v.get("channel") == VOICE
]


def conditions(variation: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(
        sorted(
            (
                (c["name"], c["value"])
                for c in variation.get("condition") or []
                if c.get("type") == "slot"
            ),
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
        1
        for responses in RESPONSES.values()
        for vs in responses.values()
        for v in vs
        if not v.get("channel")
    )
    assert len(VOICE_VARIATIONS) == chat


def test_no_variation_is_written_per_voice_channel() -> None:
    for responses in RESPONSES.values():
        for name, variations in responses.items():
            channels = {v.get("channel") for v in variations}
            assert not channels & set(VOICE_CHANNELS), f"{name}: write it as channel: {VOICE}"


@pytest.mark.parametrize(("file", "name"), ALL)
def test_every_chat_variation_has_a_voice_twin(file: str, name: str) -> None:
    variations = RESPONSES[file][name]
    chat = sorted(
        (twin_conditions(v, variations) for v in variations if not v.get("channel")), key=repr
    )
    assert chat, f"{name} has no chat variation"
    voice = sorted((conditions(v) for v in variations if v.get("channel") == VOICE), key=repr)
    assert voice == chat, f"{name}: voice variations do not mirror the chat ones"


def spoken(variation: dict[str, Any]) -> str:
    """What the caller hears: brand facts filled in, then made speakable by the channel."""
    slots = dict(conditions(variation))
    text = str(variation.get("text") or "")
    variables: dict[str, Any] = {
        name: "{" + name + "}" for name in re.findall(r"{([a-z_]+)}", text)
    }
    variables |= brand_variables(slots.get("brand"), slots["lang"])
    return speakable(interpolator.interpolate_text(text, variables))


@pytest.mark.parametrize(("name", "variation"), VOICE_VARIATIONS)
def test_voice_text_is_speakable_and_short(name: str, variation: dict[str, Any]) -> None:
    channel = VOICE
    text = str(variation.get("text") or "")
    slots = dict(conditions(variation))
    lang = slots["lang"]
    assert text, f"{name} ({channel}) is empty"
    assert not LINK.search(text), f"{name} ({channel}) has a link or e-mail: {text}"
    assert not MARKDOWN.search(text), f"{name} ({channel}) has markdown: {text}"
    assert "\n" not in text
    # Numbers are written plainly: the channel spells them (speakable), not the domain.
    assert not SPELLED_DIGITS.search(text), f"{name} ({channel}) spells digits by hand: {text}"
    said = spoken(variation)
    unfilled = set(re.findall(r"{([a-z_]+)}", said)) & set(brand_variables("mini", lang))
    unfilled -= PASSED_BY_ACTIONS
    assert not unfilled, f"{name} ({channel}) names a brand fact its conditions do not fix: {said}"
    assert len(said) <= MAX_CHARS[lang], f"{name} ({channel}) is {len(said)} chars long"
    assert len(SENTENCE_END.findall(text)) <= MAX_SENTENCES, f"{name} ({channel}): {text}"
    if lang == "zh":
        assert CJK.search(text), f"{name} ({channel}) should be Chinese"
    else:
        assert not CJK.search(text), f"{name} ({channel}) should be English only"
    if name.startswith("utter_ask_policy/"):
        citation = CITATION[lang].search(text)
        assert citation, f"{name} ({channel}) does not end with its spoken citation: {text}"
        assert citation.group(1).lower() == slots["brand"], f"{name} ({channel}) cites wrong brand"


# -- what Rasa actually picks -------------------------------------------------------------

DOMAIN = Domain.load(str(DOMAIN_DIR))
NLG = BrandResponseGenerator(domain=DOMAIN)


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
        candidates = [
            v for v in DOMAIN.responses[name] if v.get("channel") == VOICE and _matches(v, current)
        ]
        for channel in VOICE_CHANNELS:
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


# -- what is said and what is listened for agree --------------------------------------------

# Any way a prompt may tell the caller to press a key, wider than the channel's own reading:
# digits ASCII or full-width, Chinese numerals, the star and hash keys spelled as symbols.
SAYS_PRESS = re.compile(
    r"按\s*(?:[0-9０-９*#＊＃](?![0-9０-９])|[零一二三四五六七八九十](?!下))"
    r"|\b(?:press|push|dial|key)\s+(?:[0-9*#]|zero|one|two|three|four|five|six|seven|eight|nine)\b",
    re.IGNORECASE,
)
# Buttons an action adds to a response (the consent purposes, the deletion grounds).
ACTION_BUTTONS = [{"title": "A", "payload": "/inform"}, {"title": "B", "payload": "/inform"}]


def _as_sent(name: str) -> list[dict[str, Any]]:
    """The variations a voice channel sends for a response: its voice ones, else (as bot/nlg.py
    falls back) its chat ones, each as the message the channel receives."""
    variations = DOMAIN.responses[name]
    chosen = [v for v in variations if v.get("channel") == VOICE] or [
        v for v in variations if not v.get("channel")
    ]
    return [
        {
            "text": str(v.get("text") or ""),
            "buttons": v.get("buttons") or [],
            "custom": v.get("custom"),
            "utter_action": name,
        }
        for v in chosen
    ]


@pytest.mark.parametrize("name", sorted(DOMAIN.responses))
def test_a_prompt_that_says_press_listens_for_keys(name: str) -> None:
    """Every voice prompt that tells the caller to press a key ("按 1", "press 0", buttons read
    as keypad options) is sent with an expectation that takes the key."""
    for message in _as_sent(name):
        for sent in (message, {**message, "buttons": [*message["buttons"], *ACTION_BUTTONS]}):
            for fallback in ("zh", "en"):
                prompts = build_prompts([sent], fallback)
                said = " ".join(p["say"] for p in prompts)
                last = prompts[-1]
                if not SAYS_PRESS.search(said) or last.get("transfer_to") or last.get("end_call"):
                    continue
                assert last["expect"] in TAKES_DIGITS, (name, said, last)
                if last["expect"] == SPEECH_OR_DIGITS:
                    assert last.get("max_digits", 0) >= 1, (name, said, last)


def test_the_press_check_reads_what_the_domain_says() -> None:
    said = [
        p["say"] for name in DOMAIN.responses for m in _as_sent(name) for p in build_prompts([m])
    ]
    pressing = [s for s in said if SAYS_PRESS.search(s)]
    assert any("按 0" in s for s in pressing) and any("Press 0" in s for s in pressing)
    assert any("按 1，" in s for s in pressing)  # an offer's button, read as a keypad option
    assert SAYS_PRESS.search("请按一号键") and SAYS_PRESS.search("press one for English")
    for no_key in ("请按一下", "please press the hash key", "按 15 个工作日计算"):
        assert not SAYS_PRESS.search(no_key), no_key
