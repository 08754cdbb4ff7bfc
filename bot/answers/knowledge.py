"""The policy knowledge the ranker and the response generator read from data/policy: which
clauses each curated topic rests on, and which offer follows which topic."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from contract import Brand

ROOT = Path(__file__).resolve().parents[2]
TOPICS_DIR = ROOT / "data" / "policy" / "topics"
OFFERS_FILE = ROOT / "data" / "policy" / "offers.yml"
RETRIEVAL_PREFIX = "ask_policy/"


@lru_cache(maxsize=1)
def topic_clauses() -> dict[str, dict[str, tuple[str, ...]]]:
    """`ask_policy/<topic>` -> brand -> the clause ids its curated answer rests on."""
    clauses: dict[str, dict[str, tuple[str, ...]]] = {}
    for path in sorted(TOPICS_DIR.glob("*.yml")):
        topics = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("topics") or {}
        for name, topic in topics.items():
            clauses[RETRIEVAL_PREFIX + name] = {
                str(brand): tuple(str(c) for c in ids)
                for brand, ids in (topic.get("clauses") or {}).items()
            }
    return clauses


@dataclass(frozen=True)
class Offer:
    name: str
    response: str
    requests: tuple[str, ...]


@lru_cache(maxsize=1)
def _offers_data() -> dict:
    data = yaml.safe_load(OFFERS_FILE.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def offers() -> dict[str, Offer]:
    return {
        name: Offer(name, str(entry["response"]), tuple(entry["requests"]))
        for name, entry in (_offers_data().get("offers") or {}).items()
    }


def offer_for_topic(topic: str | None) -> Offer | None:
    """The offer that follows the curated answer of `topic` (with or without the prefix)."""
    if not topic:
        return None
    name = (_offers_data().get("topics") or {}).get(topic.removeprefix(RETRIEVAL_PREFIX))
    return offers().get(name) if name else None


def marketing_words() -> list[str]:
    return [str(w) for w in _offers_data().get("marketing_words") or []]


def complaint_openers() -> dict[str, list[str]]:
    """The opening words of a complaint by language, longest first."""
    openers = _offers_data().get("complaint_openers") or {}
    return {
        lang: sorted((str(w).lower() for w in words or []), key=len, reverse=True)
        for lang, words in openers.items()
    }


def complaint_description_minimum() -> tuple[int, int]:
    """(English words, Chinese characters) a complaint's description needs at least."""
    limits = _offers_data().get("complaint_description") or {}
    return int(limits.get("min_words", 4)), int(limits.get("min_chars", 6))


_PART_NUMERALS_ZH = "一二三四五六七八九"
_PART_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")


def part_name(brand: str, part: int, lang: str) -> str:
    """The part as the policy's readers name it: 第五部分 / part 5 (MINI) / part V (BMW)."""
    if not 1 <= part <= len(_PART_NUMERALS_ZH):
        return "开篇说明" if lang == "zh" else "introduction"
    if lang == "zh":
        return f"第{_PART_NUMERALS_ZH[part - 1]}部分"
    return f"part {_PART_ROMAN[part - 1] if brand == Brand.BMW else part}"


def clause_anchor(clause_id: str) -> str:
    """The policy page's anchor of a clause: `part-5` for a part, `part-5-3` for its items."""
    return "part-" + "-".join(str(clause_id).split(".")[1:])
