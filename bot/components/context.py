"""Language and brand of every user message, emitted as the entities `lang` and `brand`.

Language comes from the text (any CJK character -> zh, otherwise Latin letters -> en), and only
when the text has neither (digits, emoji) from the REST metadata `lang`. Brand comes from the
metadata `brand` the app sends (it knows which app the customer uses; a MINI customer may
well write 宝马, the MINI controller's name), else from the text (MINI / 迷你 -> mini,
BMW / 宝马 -> bmw).

Entity spans: `brand` covers the brand word; `lang` covers the first CJK character (zh) or the
first Latin word (en) outside a brand mention, so that conversation test stories can annotate
both without overlap. Values taken from metadata have an empty span at 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.training_data.message import Message

from bot.components.rule_extractor import RuleEntityExtractor
from contract import Brand, Language

LANGUAGES = Language.values()
BRANDS = Brand.values()

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# MINI before BMW in the alternation does not matter: they never overlap. Word boundaries keep
# "minimum" or "admin" from counting as MINI; CJK needs none.
BRAND_PATTERN = re.compile(
    r"(?<![A-Za-z])(?P<mini_latin>mini)(?![A-Za-z])|(?P<mini_zh>迷你)"
    r"|(?<![A-Za-z])(?P<bmw_latin>bmw)(?![A-Za-z])|(?P<bmw_zh>宝马|寶馬)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ContextEntity:
    entity: str
    value: str
    start: int
    end: int

    def as_dict(self, extractor: str) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "confidence_entity": 1.0,
            "extractor": extractor,
        }


def _metadata_value(metadata: Any, key: str, allowed: tuple) -> str | None:
    if not isinstance(metadata, dict):
        return None
    value = metadata.get(key)
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    return None


def detect_context(text: str, metadata: dict[str, Any] | None = None) -> list[ContextEntity]:
    """Returns the `lang` and `brand` entities for one message (pure, for reuse and tests)."""
    text = text or ""
    found: list[ContextEntity] = []

    brand_spans: list[tuple] = []
    brand: ContextEntity | None = None
    for match in BRAND_PATTERN.finditer(text):
        brand_spans.append(match.span())
        if brand is None:
            is_mini = match.group("mini_latin") or match.group("mini_zh")
            named = Brand.MINI if is_mini else Brand.BMW
            brand = ContextEntity("brand", named.value, match.start(), match.end())

    def outside_brand(start: int, end: int) -> bool:
        return all(end <= b_start or start >= b_end for b_start, b_end in brand_spans)

    lang: ContextEntity | None = None
    cjk = [m for m in CJK.finditer(text) if outside_brand(*m.span())]
    if cjk or any(CJK.search(text[s:e]) for s, e in brand_spans):
        first = cjk[0] if cjk else None
        if first is not None:
            lang = ContextEntity("lang", "zh", first.start(), first.end())
        else:  # only a Chinese brand name, e.g. "宝马"
            start, end = next((s, e) for s, e in brand_spans if CJK.search(text[s:e]))
            lang = ContextEntity("lang", "zh", start, end)
    else:
        words = list(LATIN_WORD.finditer(text))
        if words:
            first_word = next((w for w in words if outside_brand(*w.span())), None)
            if first_word is not None:
                lang = ContextEntity("lang", "en", first_word.start(), first_word.end())
            else:  # only a Latin brand name, e.g. "MINI": the metadata language decides
                meta_lang = _metadata_value(metadata, "lang", LANGUAGES)
                if meta_lang:
                    lang = ContextEntity("lang", meta_lang, 0, 0)
        else:
            meta_lang = _metadata_value(metadata, "lang", LANGUAGES)
            if meta_lang:
                lang = ContextEntity("lang", meta_lang, 0, 0)

    meta_brand = _metadata_value(metadata, "brand", BRANDS)
    if meta_brand:
        brand = ContextEntity("brand", meta_brand, 0, 0)

    if lang is not None:
        found.append(lang)
    if brand is not None:
        found.append(brand)
    return found


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ConversationContextExtractor(RuleEntityExtractor):
    """Emits `lang` and `brand` on every message; needs no training."""

    def entities_of(self, text: str, message: Message) -> list[dict[str, Any]]:
        return [
            entity.as_dict(self.name) for entity in detect_context(text, message.get("metadata"))
        ]
