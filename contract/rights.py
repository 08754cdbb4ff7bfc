"""The rights vocabulary of `data/policy/rights.yml`, typed, for every process.

`RIGHTS` is read once at import; `load_rights(path)` reads another file (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contract.vocabulary import Assurance, Brand, Language, Status, TicketType

RIGHTS_FILE = Path(__file__).resolve().parents[1] / "data" / "policy" / "rights.yml"

Texts = dict[str, str]  # language -> text


@dataclass(frozen=True)
class TicketTypeRules:
    type: TicketType
    label: Texts
    # The `details` fields a ticket of the type must carry, in the order the bot asks for them.
    required_details: tuple[str, ...]
    # The weakest verification that may file it.
    assurance_floor: Assurance
    # "always", "never", or "where_policy_answers": the brand's automated_decisions entry has an
    # answer, and the ticket is completed with it.
    takes_effect_at_once: str
    # The consent purpose a ticket of the type always withdraws (unsubscribe: marketing), if any.
    consent_purpose: str | None = None


@dataclass(frozen=True)
class Rights:
    ticket_types: dict[TicketType, TicketTypeRules]
    # status -> audience ("customer" or "staff") -> language -> label
    status_labels: dict[Status, dict[str, Texts]]
    consent_purposes: dict[str, Texts]
    deletion_grounds: dict[str, dict[str, Any]]  # brand -> {"clause", "grounds": {id: texts}}
    refusal_grounds: dict[str, dict[str, str]]
    refusal_clauses: dict[str, str]
    refusal_words: dict[str, Texts]  # ground -> the sentence the customer is told
    deletion_recipients: dict[str, list[dict[str, str]]]
    automated_decisions: dict[str, dict[str, Any]]

    def rules(self, ticket_type: str) -> TicketTypeRules:
        return self.ticket_types[TicketType(ticket_type)]

    def takes_effect_at_once(self, ticket_type: str, brand: str) -> bool:
        """Whether the backend completes a ticket of the type for the brand when it is filed."""
        mode = self.rules(ticket_type).takes_effect_at_once
        if mode == "where_policy_answers":
            return bool(self.automated_decisions.get(brand, {}).get("answer"))
        return mode == "always"

    def withdrawn_purpose(self, ticket_type: str, details: dict[str, Any]) -> str | None:
        """The consent purpose a ticket withdraws: its type's own, or the one its details name."""
        rules = self.rules(ticket_type)
        if rules.consent_purpose is not None:
            return rules.consent_purpose
        if "purpose" in rules.required_details:
            return str(details["purpose"])
        return None

    def type_label(self, ticket_type: str, lang: str) -> str:
        return _in(self.rules(ticket_type).label, lang)

    def status_label(self, status: str, lang: str, audience: str = "customer") -> str:
        return _in(self.status_labels[Status(status)][audience], lang)

    def refusal_in_words(self, ground: str, lang: str) -> str:
        return _in(self.refusal_words[ground], lang)

    def deletion_ground_ids(self, brand: str) -> list[str]:
        return list(self.deletion_grounds.get(brand, {}).get("grounds", {}))


def _in(texts: Texts, lang: str) -> str:
    return texts.get(lang) or texts[Language.ZH]


def load_rights(path: Path = RIGHTS_FILE) -> Rights:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    types = {
        TicketType(type_id): TicketTypeRules(
            type=TicketType(type_id),
            label=entry["label"],
            required_details=tuple(entry.get("required_details", ())),
            assurance_floor=Assurance(entry["assurance_floor"]),
            takes_effect_at_once=entry["takes_effect_at_once"],
            consent_purpose=entry.get("consent_purpose"),
        )
        for type_id, entry in data["ticket_types"].items()
    }
    unworded = set(data["refusal_grounds"]) - set(data["refusal_grounds_in_words"])
    if unworded:
        raise ValueError(f"{path}: refusal_grounds_in_words lacks {sorted(unworded)}")
    missing = set(TicketType) - set(types)
    if missing:
        raise ValueError(f"{path}: ticket_types lacks {sorted(missing)}")
    for rules in types.values():
        if rules.consent_purpose not in (None, *data["consent_purposes"]):
            raise ValueError(f"{path}: {rules.type} withdraws an unknown purpose")
    for brand in data["automated_decisions"]:
        Brand(brand)
    return Rights(
        ticket_types=types,
        status_labels={Status(key): value for key, value in data["ticket_statuses"].items()},
        consent_purposes=data["consent_purposes"],
        deletion_grounds=data["deletion_grounds"],
        refusal_grounds=data["refusal_grounds"],
        refusal_clauses=data["refusal_clauses"],
        refusal_words=data["refusal_grounds_in_words"],
        deletion_recipients=data["deletion_recipients"],
        automated_decisions=data["automated_decisions"],
    )


RIGHTS = load_rights()
