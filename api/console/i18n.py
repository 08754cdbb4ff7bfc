"""Every text of the staff console, in Chinese and English, from one catalogue (texts.yml).

Policy wording (refusal grounds, deletion recipients, consent purposes) and the names of ticket
types and statuses are not repeated here: they come from data/policy/rights.yml, through the loaded
Policy and the shared contract, in the console language.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from contract import RIGHTS, Brand, Language

LANGS = Language.values()
DEFAULT_LANG = "zh"

TEXTS: dict[str, dict[str, str]] = yaml.safe_load(
    Path(__file__).with_name("texts.yml").read_text(encoding="utf-8")
)
TEXTS.update({f"type.{key}": rules.label for key, rules in RIGHTS.ticket_types.items()})
TEXTS.update({f"status.{key}": labels["staff"] for key, labels in RIGHTS.status_labels.items()})

# The confirmations a ticket page shows after a change other than a move (?done=...).
DONE_KEYS = frozenset({"assigned", "note", "delay", "reply"})

_ZH_NUMERALS = "零一二三四五六七八九十"
_ROMAN = ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def pick_lang(value: str | None) -> str | None:
    return value if value in LANGS else None


def translator(lang: str) -> Callable[..., str]:
    """t("key", **fields): the text in `lang`; an unknown key shows as itself, never fails."""

    def t(key: str, **fields: Any) -> str:
        entry = TEXTS.get(key)
        if entry is None:
            return key.split(".", 1)[-1] if "." in key else key
        text = entry.get(lang) or entry[DEFAULT_LANG]
        return text.format(**fields) if fields else text

    return t


def clause_words(clause_id: str, lang: str) -> str:
    """mini.5.7 -> "MINI 隐私政策第五部分（七）" / "MINI policy, part 5 (7)"; BMW parts in roman
    numerals ("BMW policy, part V.8"), as the answers of the assistant cite them."""
    parts = clause_id.split(".")
    brand, nums = parts[0], [int(p) for p in parts[1:] if p.isdigit()]
    if not nums or nums[0] >= len(_ROMAN):
        return clause_id
    name = brand.upper()
    part = nums[0]
    section = nums[1] if len(nums) > 1 else None
    if lang == "zh":
        text = f"{name} 隐私政策第{_zh_number(part)}部分"
        if section is not None:
            text += f"（{_zh_number(section)}）" if brand == Brand.MINI else f"第{section}条"
        return text
    if brand == Brand.BMW:
        return f"{name} policy, part {_ROMAN[part]}" + (f".{section}" if section else "")
    return f"{name} policy, part {part}" + (f" ({section})" if section else "")


def _zh_number(n: int) -> str:
    if n <= 10:
        return _ZH_NUMERALS[n]
    if n < 20:
        return "十" + _ZH_NUMERALS[n - 10]
    return str(n)
