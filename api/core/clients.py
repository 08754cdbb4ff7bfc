"""Who is behind a request, as far as limits count: the peer, and the customer the bot names.

The peer is the connecting host, or the client a proxy listed in RIGHTS_TRUSTED_PROXIES
forwards (api.main); nobody else's X-Forwarded-For is believed. The bot (a request with the
valid X-API-Key) speaks for every chat and hotline customer at once, so it names the customer
in headers that are believed from it alone:

- `X-Client-Address`: the customer's address as the bot's channel saw it;
- `X-Conversation-Id`: the conversation (Rasa's sender id);
- `X-Caller-Line`: on the hotline, the number the call comes from, as the IVR gateway gave it.

Only keyed hashes of these values are stored (see `bucket`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from api.core.auth import MAX_HEADER, is_bot
from api.core.crypto import keyed_hash
from contract import Channel


def peer_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _header(request: Request, name: str) -> str | None:
    value = request.headers.get(name, "").strip()[:MAX_HEADER]
    return value or None


@dataclass(frozen=True)
class Caller:
    peer: str
    address: str | None = None  # reported by the bot
    conversation: str | None = None
    caller_line: str | None = None

    @property
    def client_address(self) -> str:
        """The customer's address if the bot gave it, else the peer's."""
        return self.address or self.peer

    def source(self, channel: str) -> str:
        """Where guesses come from, the hardest to change first: the caller line on the hotline
        (the gateway's address is everyone's there), the customer's address in chat, then the
        conversation, then the peer."""
        if channel == Channel.IVR:
            first = [("line", self.caller_line), ("conversation", self.conversation)]
        else:
            first = [("address", self.address), ("conversation", self.conversation)]
        kind, value = next(((k, v) for k, v in first if v), ("peer", self.peer))
        return f"{kind}:{value}"


def caller_of(request: Request) -> Caller:
    """The peer, and what the bot says about its customer (ignored from anyone else)."""
    peer = peer_address(request)
    if not is_bot(request):
        return Caller(peer)
    return Caller(
        peer,
        address=_header(request, "x-client-address"),
        conversation=_header(request, "x-conversation-id"),
        caller_line=_header(request, "x-caller-line"),
    )


def bucket(pepper: str, kind: str, value: str) -> str:
    """A counter's key: the kind in clear, the value as a keyed hash (no readable client data)."""
    return f"{kind}:{keyed_hash(pepper, 'client-' + kind, value)[:40]}"
