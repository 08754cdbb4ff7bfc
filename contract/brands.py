"""Brand facts of `data/policy/rights.yml` (`brands`): operator, hotline, e-mail, reply deadline
and how a copy reaches the customer, in both languages, for every process that speaks of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from contract.rights import RIGHTS_FILE
from contract.vocabulary import Brand, Language

Texts = dict[str, str]


@dataclass(frozen=True)
class BrandFacts:
    brand: Brand
    name: str
    operator: Texts
    hotline: str
    email: str
    deadline_days: int
    deadline_unit: str  # "working_days" or "calendar_days"
    deadline_texts: Texts  # "{days} working days", by language
    copy_delivery: Texts
    complaint_route: Texts  # where a customer dissatisfied with an outcome complains

    def deadline(self, lang: str) -> str:
        """`15 个工作日` / `30 days`."""
        return _in(self.deadline_texts, lang).format(days=self.deadline_days)

    def operator_in(self, lang: str) -> str:
        return _in(self.operator, lang)

    def copy_delivery_in(self, lang: str) -> str:
        return _in(self.copy_delivery, lang)

    def complaint_route_in(self, lang: str) -> str:
        return _in(self.complaint_route, lang)


def _in(texts: Texts, lang: str) -> str:
    return texts.get(lang) or texts[Language.ZH]


def load_brands(path: Path = RIGHTS_FILE) -> dict[Brand, BrandFacts]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    units = data["deadline_units"]
    facts = {
        Brand(key): BrandFacts(
            brand=Brand(key),
            name=str(entry["name"]),
            operator=entry["operator"],
            hotline=str(entry["hotline"]),
            email=str(entry.get("email") or ""),
            deadline_days=int(entry["reply_deadline"]["days"]),
            deadline_unit=str(entry["reply_deadline"]["unit"]),
            deadline_texts=units[entry["reply_deadline"]["unit"]],
            copy_delivery=entry["copy_delivery"],
            complaint_route=entry["complaint_route"],
        )
        for key, entry in data["brands"].items()
    }
    missing = set(Brand) - set(facts)
    if missing:
        raise ValueError(f"{path}: brands lacks {sorted(missing)}")
    return facts


BRANDS = load_brands()


def brand_facts(brand: str | None) -> BrandFacts | None:
    """The facts of a known brand, None for an unknown one."""
    return BRANDS.get(Brand(brand)) if brand in Brand.values() else None
