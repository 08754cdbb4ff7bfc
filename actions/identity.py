"""Whether the conversation holds a proof good enough for a flow."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from actions.flows import STATUS, Flow
from actions.formatting import parse_iso

# A proof that expires within this margin is not used: the filing call must still see it valid.
_MARGIN = timedelta(seconds=60)


def proof_valid(slots: dict[str, Any], now: datetime | None = None) -> bool:
    if not slots.get("subject_proof"):
        return False
    expires = slots.get("proof_expires_at")
    if not expires:
        return True
    try:
        expires_at = parse_iso(str(expires))
    except ValueError:
        return False
    return expires_at - _MARGIN > (now or datetime.now(timezone.utc))


def identity_ok(flow: Flow, slots: dict[str, Any]) -> bool:
    """Verified, and with a strong enough method: an app session only for low-risk flows.

    The backend accepts one ticket per proof; a used proof still reads the status.
    """
    if not proof_valid(slots):
        return False
    if slots.get("proof_used") and flow.type != STATUS:
        return False
    return flow.app_session_ok or slots.get("proof_assurance") != "app_session"
