"""Audit entries in words of the console's language: who (a person's name, a staff token, the
system, the customer through the assistant) and what (field names and values as people say
them: "原状态 已受理", not "from: received"). The stored entries keep their codes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.audit.models import AuditEntry
from api.console import staff
from api.console.queue import local, restated
from api.core.policy import Policy
from api.tickets import rules


@dataclass(frozen=True)
class AuditLine:
    id: int
    created_at: datetime
    actor: str  # in words
    actor_id: str  # as stored
    action: str
    pairs: list[tuple[str, str]]  # (field, value), both in words
    hash: str


def actor_words(actor: str, names: dict[str, str], t: Callable[..., str]) -> str:
    if actor in names:
        return f"{names[actor]} ({actor.removeprefix(staff.ACTOR_PREFIX)})"
    if actor.startswith(staff.ACTOR_PREFIX):
        return t("actor_token", fp=actor.removeprefix(staff.ACTOR_PREFIX))
    if actor.startswith("subject:"):
        return t("actor_customer", customer=actor.removeprefix("subject:"))
    return t(f"actor.{actor}")


def _value(
    action: str,
    key: str,
    value: Any,
    t: Callable[..., str],
    policy: Policy,
    lang: str,
    names: dict[str, str],
) -> str:
    if isinstance(value, bool):
        if key in ("granted", "previous"):
            return t("consent_granted") if value else t("consent_withdrawn")
        return t("yes") if value else t("no")
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(action, key, v, t, policy, lang, names) for v in value)
    if not isinstance(value, str):
        return str(value)
    if key in ("from", "to"):
        if action == "ticket.transition":
            return t(f"status.{value}")
        if action == "ticket.notice_reply":
            return t(f"notice.{value}")
        if action == "ticket.due_recomputed":
            return _time(value)
    if key in ("status", "type", "brand", "channel", "view", "search", "via", "shown", "assurance"):
        return t(f"{key}.{value}")
    if key == "source":
        return t(f"type.{value}") if value in rules.TICKET_TYPES else t(f"source.{value}")
    if key == "refusal_ground" and value in policy.refusal_grounds:
        return policy.refusal_grounds[value][lang]
    if key == "purpose" and value in policy.consent_purposes:
        return policy.consent_purposes[value][lang]
    if key == "recipient":
        for recipients in policy.deletion_recipients.values():
            for r in recipients:
                if r["id"] == value:
                    return r[lang]
    if key in ("assignee", "previous_assignee"):
        return actor_words(value, names, t)
    if key == "due_at":
        return _time(value)
    if key == "reason" and action == "ticket.transition":
        return restated(value, policy, lang)
    return value


def _time(iso: str) -> str:
    try:
        return local(datetime.fromisoformat(iso))
    except ValueError:
        return iso


def audit_lines(
    entries: list[AuditEntry],
    t: Callable[..., str],
    policy: Policy,
    lang: str,
    names: dict[str, str],
) -> list[AuditLine]:
    lines = []
    for e in entries:
        data = json.loads(e.data)
        pairs = [
            (t(f"field.{k}"), _value(e.action, k, v, t, policy, lang, names))
            for k, v in sorted(data.items())
            if v is not None
        ]
        lines.append(
            AuditLine(
                e.id,
                e.created_at,
                actor_words(e.actor, names, t),
                e.actor,
                e.action,
                pairs,
                e.hash,
            )
        )
    return lines
