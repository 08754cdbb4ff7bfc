"""Every response speaks both languages; curated answers cover every brand x language pair."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
BRANDS = {"mini", "bmw"}
LANGS = {"zh", "en"}


CJK = re.compile(r"[\u3400-\u9fff]")


def load_responses(pattern: str = "*.yml") -> dict[str, list[dict[str, Any]]]:
    responses: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(DOMAIN_DIR.glob(pattern)):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        responses.update(data.get("responses") or {})
    return responses


RESPONSES = load_responses()
CORE_RESPONSES = load_responses("core.yml")


def conditions(variation: dict[str, Any]) -> dict[str, Any]:
    return {
        c["name"]: c["value"] for c in variation.get("condition") or [] if c.get("type") == "slot"
    }


def language(variation: dict[str, Any]) -> str:
    """The lang condition, or for a variation without one (a default) the language it is in."""
    lang = conditions(variation).get("lang")
    if lang:
        return str(lang)
    return "zh" if CJK.search(str(variation.get("text") or "")) else "en"


def pairs(variations: list[dict[str, Any]]) -> set[tuple[Any, Any]]:
    return {(conditions(v).get("brand"), language(v)) for v in variations}


def test_domain_has_responses() -> None:
    assert "utter_greet" in RESPONSES


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_response_has_both_languages(name: str) -> None:
    variations = RESPONSES[name]
    langs = {language(v) for v in variations}
    assert langs >= LANGS, f"{name} lacks a variation for {LANGS - langs}"
    for variation in variations:
        assert variation.get("text") or variation.get("custom"), f"{name} has an empty variation"


@pytest.mark.parametrize("name", sorted(n for n in RESPONSES if n.startswith("utter_ask_policy/")))
def test_curated_answers_cover_every_brand_and_language(name: str) -> None:
    have = pairs(RESPONSES[name])
    missing = {(b, lang) for b in BRANDS for lang in LANGS} - have
    assert not missing, f"{name} lacks {missing}"


@pytest.mark.parametrize("name", sorted(CORE_RESPONSES))
def test_brand_dependent_responses_also_work_without_a_brand(name: str) -> None:
    # A response that varies by brand needs a brand-less variation per language, unless it is
    # only used once the brand is known (curated answers, quoted passages).
    have = pairs(CORE_RESPONSES[name])
    if not any(brand for brand, _ in have):
        return
    if name.startswith("utter_ask_policy/") or name == "utter_policy_passage":
        return
    assert {(None, lang) for lang in LANGS} <= have, f"{name} needs brand-less variations"
