"""The customer's address as the chat channels saw it, for the backend's per-address limits.

The channels put it into the message metadata (`client_address`) and the action server hands
it to the rights backend as `X-Client-Address`, so that one busy customer's verifications do
not count against everyone who chats through the same action server.

It is the connecting host, or, when that host is a proxy listed in RASA_TRUSTED_PROXIES
(comma-separated addresses, e.g. the scaled stack's nginx on 127.0.0.1), the client the proxy
names in X-Forwarded-For (rightmost address that is not itself a trusted proxy) or X-Real-IP.
Nobody else's forwarding headers are believed: a client that sends its own X-Forwarded-For
straight to Rasa is counted by its real address.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

TRUSTED_PROXIES_ENV = "RASA_TRUSTED_PROXIES"
METADATA_KEY = "client_address"


def trusted_proxies() -> frozenset[str]:
    # Read per request: a handful of addresses, and tests and deployments set it late.
    raw = os.environ.get(TRUSTED_PROXIES_ENV, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _address(value: str | None) -> str | None:
    """An IP address in its normal spelling, or None for anything else."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_address(request: Any) -> str | None:
    """The customer's address for a Sanic request (None if the peer is unknown)."""
    peer = _address(getattr(request, "ip", None))
    trusted = trusted_proxies()
    if peer is None or peer not in trusted:
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            break  # a hop the proxies did not write: believe nothing further left
        if address not in trusted:
            return address
    return _address(request.headers.get("x-real-ip")) or peer
