"""The customer's messages, from `texts.yml` beside this file: the one place of every text the
backend sends to a customer (verification code, request filed, outcomes, delays)."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from contract import Brand, Language

TEXTS_FILE = Path(__file__).with_name("texts.yml")


@cache
def _texts() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8"))
    return data


def _lang(language: str) -> str:
    return Language.EN if language == Language.EN else Language.ZH


def _brand(brand: str) -> str:
    return brand if brand in Brand.values() else Brand.MINI


def signature(brand: str, language: str) -> str:
    """The SMS's sender in its first brackets: 【MINI互联出行】 / [MINI Connected]."""
    return str(_texts()["signature"][_brand(brand)][_lang(language)])


def app_name(brand: str, language: str) -> str:
    return str(_texts()["app"][_brand(brand)][_lang(language)])


def say(key: str, language: str, **values: object) -> str:
    """The text `key` (dotted: `outcome.refused`) in `language`, filled with `values`."""
    node: Any = _texts()
    for part in key.split("."):
        node = node[part]
    return str(node[_lang(language)]).format(**values)


def day_in(day: date, language: str) -> str:
    """2026年6月1日 / 1 June 2026."""
    if _lang(language) == Language.EN:
        return f"{day.day} {day:%B %Y}"
    return f"{day.year}年{day.month}月{day.day}日"
