"""Policy knowledge loaded from data/policy/rights.yml at startup (nothing of it lives in code)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Policy:
    consent_purposes: dict[str, dict[str, str]]
    deletion_grounds: dict[str, dict[str, Any]]  # brand -> {"clause", "grounds": {id: texts}}
    refusal_grounds: dict[str, dict[str, str]]
    refusal_clauses: dict[str, str]
    deletion_recipients: dict[str, list[dict[str, str]]]
    automated_decisions: dict[str, dict[str, Any]]

    def deletion_ground_ids(self, brand: str) -> list[str]:
        return list(self.deletion_grounds.get(brand, {}).get("grounds", {}))


def load_policy(path: Path) -> Policy:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Policy(
        consent_purposes=data["consent_purposes"],
        deletion_grounds=data["deletion_grounds"],
        refusal_grounds=data["refusal_grounds"],
        refusal_clauses=data["refusal_clauses"],
        deletion_recipients=data["deletion_recipients"],
        automated_decisions=data["automated_decisions"],
    )
