"""Redis lock store whose ticket operations are atomic across Rasa replicas.

Rasa's `RedisLockStore` issues a conversation's ticket by reading the lock, adding a ticket and
writing the lock back: three steps with nothing in between. Two messages of one sender that
reach two replicas at the same moment can both read the empty lock, both get ticket 0, and both
run at once; the second save then misses events of the first (the tracker store writes only the
events past the stored count). Here every read-modify-write of a lock (issue, finish, clean up,
drop expired tickets) runs as one optimistic Redis transaction (WATCH / MULTI / EXEC), retried
when another replica changed the lock in between, so tickets are unique and handed out in order.

Keys also expire, shortly after the last ticket in them would: a replica killed while holding a
ticket leaves nothing behind for longer than the lock lifetime.

Configured in bot/endpoints.scale.yml as `type: bot.lock_store.AtomicRedisLockStore` with the
same keys as Rasa's `redis` type (`url` is the host, `port`, `db`, `key_prefix`, `password`...).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import WatchError

T = TypeVar("T")

# Seconds a lock key outlives its last ticket's expiry.
KEY_GRACE_SECONDS = 30
# Optimistic transactions retried this often under contention before giving up.
MAX_ATTEMPTS = 50


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            # As Rasa builds its own `redis` type: the endpoint's `url` is the host.
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs}
        super().__init__(**kwargs)

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    def _update(self, conversation_id: str, change: Callable[[TicketLock], T]) -> T:
        """Applies `change` to the stored lock (a new one if none) in one transaction.

        The lock is written back while it holds tickets and deleted once it holds none.
        """
        key = self._key(conversation_id)
        for _ in range(MAX_ATTEMPTS):
            with self.red.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = (
                        TicketLock.from_dict(json.loads(raw))
                        if raw
                        else TicketLock(conversation_id)
                    )
                    result = change(lock)
                    lock.remove_expired_tickets()
                    pipe.multi()
                    if lock.tickets:
                        last_expiry = max(t.expires for t in lock.tickets)
                        ttl = max(1, math.ceil(last_expiry - time.time()) + KEY_GRACE_SECONDS)
                        pipe.set(key, lock.dumps(), ex=ttl)
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except WatchError:
                    continue
        raise LockError(f"lock of conversation '{conversation_id}' too contended")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._update(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        except LockError:
            raise
        except Exception as error:  # as Rasa's: any store failure is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._update(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Finishing the ticket deletes the lock when no one else waits: one step, not two.
        self.finish_serving(conversation_id, ticket_number)

    def update_lock(self, conversation_id: str) -> None:
        # Drops expired tickets; an absent lock stays absent.
        self._update(conversation_id, lambda lock: None)
