"""Rights vocabulary from data/policy/rights.yml (consent purposes, deletion grounds, what an
irreversible request means)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from actions.settings import ROOT
from contract import Brand

RIGHTS_FILE = ROOT / "data" / "policy" / "rights.yml"


@lru_cache(maxsize=1)
def _rights() -> dict[str, Any]:
    with RIGHTS_FILE.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return data if isinstance(data, dict) else {}


def _lang(lang: str | None) -> str:
    return "en" if lang == "en" else "zh"


def consent_purposes(lang: str | None) -> dict[str, str]:
    """Purpose id -> text in the customer's language, in the file's order."""
    return {pid: texts[_lang(lang)] for pid, texts in _rights()["consent_purposes"].items()}


def deletion_grounds(brand: str | None, lang: str | None) -> dict[str, str]:
    """Ground id -> text for the brand's policy (MINI when the brand is unknown)."""
    grounds = _rights()["deletion_grounds"]
    entry = grounds.get(brand or "") or grounds[Brand.MINI]
    return {gid: texts[_lang(lang)] for gid, texts in entry["grounds"].items()}


def deletion_recipients(brand: str | None, lang: str | None) -> list[str]:
    """Who is told to delete, for the brand's policy (MINI when the brand is unknown)."""
    recipients = _rights()["deletion_recipients"]
    entries = recipients.get(brand or "") or recipients[Brand.MINI]
    return [entry[_lang(lang)] for entry in entries]


# The facts of `irreversible` that the confirmations of cancel_account and deletion say.
CONSEQUENCE_FACTS = ("cancel_stops", "deletion_stops", "deleted", "kept", "kept_for", "backups")


def consequences(brand: str | None, lang: str | None) -> dict[str, str]:
    """What cancelling or deleting means under the brand's policy (MINI when unknown), as the
    template variables of the confirmation: `cancel_stops`, `kept`, `kept_for`, ..."""
    entries = _rights()["irreversible"]
    entry = entries.get(brand or "") or entries[Brand.MINI]
    return {fact: entry[fact][_lang(lang)] for fact in CONSEQUENCE_FACTS}


def match_choice(value: str, choices: dict[str, str]) -> str | None:
    """Map an answer to a choice id: the id itself, its number in the list, or its text."""
    answer = value.strip().lower().lstrip("/")
    if not answer:
        return None
    ids = list(choices)
    if answer in choices:
        return answer
    if answer.isdigit() and 1 <= int(answer) <= len(ids):
        return ids[int(answer) - 1]
    for cid, text in choices.items():
        lowered = text.lower()
        if answer == lowered or (len(answer) >= 2 and answer in lowered):
            return cid
    return None
