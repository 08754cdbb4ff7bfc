"""The response generator: brand facts from rights.yml, one set of voice variations for both
voice channels, chat unchanged, and the domain written against it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.nlg.generator import NaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from bot.channels.voice import speakable
from bot.nlg import VOICE_CHANNELS, BrandResponseGenerator
from contract import BRANDS, Brand

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_DIR = ROOT / "bot" / "domain"
MINI, BMW = BRANDS[Brand.MINI], BRANDS[Brand.BMW]


def _when(**slots: str | None) -> list[dict[str, Any]]:
    return [{"type": "slot", "name": name, "value": value} for name, value in slots.items()]


def _variation(text: str, channel: str | None = None, **slots: str | None) -> dict[str, Any]:
    variation: dict[str, Any] = {"text": text, "condition": _when(**slots)}
    if channel:
        variation["channel"] = channel
    return variation


RESPONSES: dict[str, list[dict[str, Any]]] = {
    "utter_contact": [
        _variation("请拨打 {hotline}，或写信至 {email}。", brand="mini", lang="zh"),
        _variation("Call {hotline}; {operator}, {deadline}.", brand="bmw", lang="en"),
        _variation("MINI {mini_hotline}, BMW {bmw_hotline}.", brand=None, lang="en"),
        _variation("请拨打 {hotline}。", "voice", brand="mini", lang="zh"),
        _variation("Call {mini_hotline}.", "voice", brand=None, lang="en"),
    ],
    "utter_only_chat": [{"text": "Hotline {mini_hotline}."}],
    "utter_own_ivr": [
        {"text": "chat"},
        {"channel": "voice", "text": "voice"},
        {"channel": "ivr", "text": "keypad"},
    ],
    "utter_passed": [{"condition": _when(brand="mini"), "text": "{deadline} / {reference}"}],
}
SLOTS = {"brand": ["mini", "bmw"], "lang": ["zh", "en"]}
DOMAIN = Domain.from_dict(
    {
        "slots": {
            name: {"type": "categorical", "values": values, "mappings": [{"type": "custom"}]}
            for name, values in SLOTS.items()
        },
        "responses": RESPONSES,
    }
)
NLG = BrandResponseGenerator(domain=DOMAIN)


def _tracker(domain: Domain = DOMAIN, **slots: str | None) -> DialogueStateTracker:
    events = [SlotSet(name, value) for name, value in slots.items() if value is not None]
    return DialogueStateTracker.from_events("nlg-test", events, slots=domain.slots)


async def _say(name: str, channel: str = "rest", **slots: str | None) -> str:
    generated = await NLG.generate(name, _tracker(**slots), channel)
    assert generated is not None
    return str(generated["text"])


async def test_the_brand_in_the_slot_gives_its_hotline_email_operator_and_deadline() -> None:
    assert await _say("utter_contact", brand="mini", lang="zh") == (
        "请拨打 400-800-6699，或写信至 ConnectedDrive@bmw.com.cn。"
    )
    assert await _say("utter_contact", brand="bmw", lang="en") == (
        f"Call 400-800-6666; {BMW.operator_in('en')}, 30 days."
    )


async def test_an_unknown_brand_names_both_hotlines() -> None:
    assert await _say("utter_contact", lang="en") == "MINI 400-800-6699, BMW 400-800-6666."
    assert await _say("utter_only_chat", lang="zh") == f"Hotline {MINI.hotline}."


async def test_values_an_action_passes_win_over_the_brand_facts() -> None:
    generated = await NLG.generate(
        "utter_passed", _tracker(brand="mini"), "rest", deadline="2 days", reference="PR-1"
    )
    assert generated is not None and generated["text"] == "2 days / PR-1"


@pytest.mark.parametrize("channel", VOICE_CHANNELS)
async def test_both_voice_channels_get_the_voice_variation(channel: str) -> None:
    assert await _say("utter_contact", channel, brand="mini", lang="zh") == "请拨打 400-800-6699。"
    assert await _say("utter_contact", channel, lang="en") == "Call 400-800-6699."
    # No voice variation: the chat one, as Rasa falls back.
    assert await _say("utter_contact", channel, brand="bmw", lang="en") == (
        f"Call 400-800-6666; {BMW.operator_in('en')}, 30 days."
    )
    assert await _say("utter_only_chat", channel) == "Hotline 400-800-6699."


async def test_a_variation_of_the_channels_own_name_comes_first() -> None:
    assert await _say("utter_own_ivr", "ivr") == "keypad"
    assert await _say("utter_own_ivr", "twilio_voice") == "voice"


@pytest.mark.parametrize("channel", ["rest", "webchat", "collector", "voice_web"])
async def test_chat_channels_never_get_a_voice_variation(channel: str) -> None:
    assert await _say("utter_contact", channel, brand="mini", lang="zh") == (
        "请拨打 400-800-6699，或写信至 ConnectedDrive@bmw.com.cn。"
    )
    assert await _say("utter_own_ivr", channel) == "chat"


def test_the_voice_channels_spell_the_hotline_as_it_was_written_by_hand() -> None:
    assert speakable(f"请拨打 {MINI.hotline}，") == "请拨打 4 0 0, 8 0 0, 6 6 9 9，"
    assert speakable(f"call {BMW.hotline}.") == "call 4 0 0, 8 0 0, 6 6 6 6."


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "endpoints.scale.yml"])
def test_the_endpoints_have_rasa_build_this_generator(
    endpoints: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ACTION_SERVER_URL", "ACTION_SERVER_TOKEN", "REDIS_HOST", "REDIS_PORT"):
        monkeypatch.setenv(name, "x")
    config = read_endpoint_config(str(ROOT / "bot" / endpoints), "nlg")
    nlg = NaturalLanguageGenerator.create(config, DOMAIN)
    assert isinstance(nlg, BrandResponseGenerator)
    assert nlg.responses == DOMAIN.responses


# -- the domain ---------------------------------------------------------------------------


def _variations() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variations in (data.get("responses") or {}).items():
            found += [(name, v) for v in variations]
    return found


def test_the_domain_copies_no_brand_fact() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOMAIN_DIR.glob("*.yml"))
    for facts in BRANDS.values():
        for constant in (facts.hotline, speakable(facts.hotline), facts.email):
            if constant:
                assert constant not in text, f"bot/domain copies {constant}"


def test_the_plain_brand_facts_are_only_in_variations_that_fix_the_brand() -> None:
    plain = {"hotline", "email", "operator"}
    for name, variation in _variations():
        used = set(re.findall(r"{([a-z_]+)}", str(variation.get("text") or ""))) & plain
        brands = {c["value"] for c in variation.get("condition") or [] if c["name"] == "brand"}
        assert not used or (brands and brands <= set(Brand.values())), f"{name}: {variation}"


async def test_every_domain_response_fills_its_brand_facts_for_any_brand() -> None:
    domain = Domain.load(str(DOMAIN_DIR))
    nlg = BrandResponseGenerator(domain=domain)
    brand_vars = re.compile(r"{((?:mini_|bmw_)?(?:hotline|email|operator))}")
    # What the actions pass (a missing one leaves the whole text unfilled, as Rasa does).
    passed = {
        key: "x"
        for _, variation in _variations()
        for key in re.findall(r"{([a-z_]+)}", str(variation.get("text") or ""))
        if not brand_vars.fullmatch("{" + key + "}")
    }
    for name in domain.responses:
        for brand in (None, "mini", "bmw"):
            for lang in ("zh", "en"):
                tracker = _tracker(domain, brand=brand, lang=lang)
                for channel in ("rest", *VOICE_CHANNELS):
                    generated = await nlg.generate(name, tracker, channel, **passed)
                    text = str((generated or {}).get("text") or "")
                    assert not brand_vars.search(text), f"{name} {channel} {brand} {lang}: {text}"
