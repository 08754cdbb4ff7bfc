"""The atomic Redis lock store, against the real Redis server (PRIVACY_REDIS_HOST, port 6379).

Two store instances stand for two Rasa replicas: they must never hand out one ticket twice, a
second message must wait for the first, and nothing may stay behind in Redis. Database 5 with a
key prefix of its own per test, removed afterwards.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from bot.lock_store import AtomicRedisLockStore
from tests.support.stack import REDIS_HOST

REDIS_DB = 5


def _reachable() -> bool:
    try:
        return bool(redis.Redis(host=REDIS_HOST, port=6379, socket_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _reachable(), reason="Redis is not reachable")


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"locktest{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis(host=REDIS_HOST, port=6379, db=REDIS_DB)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def _replica(prefix: str) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(host=REDIS_HOST, port=6379, db=REDIS_DB, key_prefix=prefix)


def test_two_replicas_never_issue_one_ticket_twice(prefix: str) -> None:
    replicas = [_replica(prefix), _replica(prefix)]
    issued: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(len(replicas) * 4)

    def issue(store: AtomicRedisLockStore) -> None:
        start.wait()
        for _ in range(40):
            number = store.issue_ticket("conv")
            with guard:
                issued.append(number)

    threads = [threading.Thread(target=issue, args=(r,)) for r in replicas for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(issued) == list(range(len(threads) * 40))


async def test_second_message_waits_for_the_first_and_the_lock_is_removed(prefix: str) -> None:
    first, second = _replica(prefix), _replica(prefix)
    order: list[str] = []

    async def turn(store: AtomicRedisLockStore, name: str, hold: float) -> None:
        async with store.lock("conv", wait_time_in_seconds=0.05):
            order.append(f"{name} start")
            await asyncio.sleep(hold)
            order.append(f"{name} end")

    task = asyncio.create_task(turn(first, "a", 0.3))
    await asyncio.sleep(0.05)
    await turn(second, "b", 0)
    await task
    assert order == ["a start", "a end", "b start", "b end"]
    assert first.get_lock("conv") is None


def test_lock_key_expires_after_its_last_ticket(prefix: str) -> None:
    store = _replica(prefix)
    store.issue_ticket("conv", lock_lifetime=5)
    ttl = store.red.ttl(f"{store.key_prefix}conv")
    assert 5 < ttl <= 5 + 31
    store.cleanup("conv", 0)
    assert not store.red.exists(f"{store.key_prefix}conv")


def test_built_from_the_endpoint_config_as_rasa_does(prefix: str) -> None:
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(
        url=REDIS_HOST,
        type="bot.lock_store.AtomicRedisLockStore",
        port=6379,
        db=REDIS_DB,
        key_prefix=prefix,
    )
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix.startswith(prefix + ":")
    assert store.issue_ticket("conv") == 0
