"""Where the IVR channel keeps a call's state between events (bot.channels.ivr).

In memory by default, which is right for one Rasa process. Behind a load balancer the next event
of a call may reach another replica, so replicas share the state in Redis instead: one JSON
object per call under a key prefix, with a TTL refreshed on every event.
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from typing import Any, Protocol

from redis import asyncio as aioredis
from redis.exceptions import RedisError

# Calls remembered per process; the oldest is forgotten first (a gateway that never sends
# hangup must not grow memory without bound).
MAX_CALLS = 10_000
# In Redis, a call that never sends hangup expires by itself this long after its last event.
CALL_TTL_SECONDS = 2 * 60 * 60
KEY_PREFIX = "ivr:call:"
# The gateway waits for the answer: a hung Redis must fail fast so the channel can degrade.
REDIS_TIMEOUT_SECONDS = 1.0


class CallStateError(Exception):
    """The store failed; the channel goes on with what the event itself tells."""


class CallStateStore(Protocol):
    async def get(self, call_id: str) -> dict[str, Any] | None: ...

    async def save(self, call_id: str, state: dict[str, Any]) -> None: ...

    async def delete(self, call_id: str) -> None: ...


class InMemoryCallStateStore:
    def __init__(self, max_calls: int = MAX_CALLS) -> None:
        self.max_calls = max_calls
        self.calls: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def get(self, call_id: str) -> dict[str, Any] | None:
        state = self.calls.get(call_id)
        # Copies both ways, as through Redis: a change counts only once saved.
        return copy.deepcopy(state) if state is not None else None

    async def save(self, call_id: str, state: dict[str, Any]) -> None:
        self.calls[call_id] = copy.deepcopy(state)
        self.calls.move_to_end(call_id)
        while len(self.calls) > self.max_calls:
            self.calls.popitem(last=False)

    async def delete(self, call_id: str) -> None:
        self.calls.pop(call_id, None)


class RedisCallStateStore:
    def __init__(
        self, url: str, key_prefix: str = KEY_PREFIX, ttl_seconds: int = CALL_TTL_SECONDS
    ) -> None:
        # Connects lazily, on the first event, in the server's event loop.
        self.client = aioredis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self.key_prefix = key_prefix
        self.ttl_seconds = ttl_seconds

    def key(self, call_id: str) -> str:
        return f"{self.key_prefix}{call_id}"

    async def get(self, call_id: str) -> dict[str, Any] | None:
        try:
            raw = await self.client.get(self.key(call_id))
            state = None if raw is None else json.loads(raw)
        except (RedisError, OSError, ValueError) as error:
            raise CallStateError(f"{type(error).__name__}: {error}") from error
        if state is not None and not isinstance(state, dict):
            raise CallStateError("stored call state is not a JSON object")
        return state

    async def save(self, call_id: str, state: dict[str, Any]) -> None:
        try:
            await self.client.set(self.key(call_id), json.dumps(state), ex=self.ttl_seconds)
        except (RedisError, OSError) as error:
            raise CallStateError(f"{type(error).__name__}: {error}") from error

    async def delete(self, call_id: str) -> None:
        try:
            await self.client.delete(self.key(call_id))
        except (RedisError, OSError) as error:
            raise CallStateError(f"{type(error).__name__}: {error}") from error


def call_state_store(url: str | None) -> CallStateStore:
    """The store a `call_state_url` names: empty for memory, else a redis://, rediss:// or
    unix:// URL (a bad one raises ValueError at start-up, not on the first call)."""
    if not url:
        return InMemoryCallStateStore()
    return RedisCallStateStore(url)
