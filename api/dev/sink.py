"""The dev gateway: keeps each message's full text in the dev outbox for testers.

Built only by `api.assembly.gateway_for` when RIGHTS_ENV=dev; production never constructs it.
It knows the gateway's `Message`; the gateway knows nothing of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.dev.models import DevOutboxCopy
from api.notifications.gateway import Message


class DevOutboxSink:
    def deliver(self, session: Session, message: Message) -> None:
        session.add(
            DevOutboxCopy(
                kind=message.kind,
                to=message.to,
                body=message.body,
                created_at=message.created_at,
            )
        )


def purge(session: Session, cutoff: datetime) -> int:
    """Deletes the copies older than `cutoff` (the outbox retention, like the outbox's)."""
    result = session.execute(delete(DevOutboxCopy).where(DevOutboxCopy.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def newest(session: Session, limit: int = 100) -> list[DevOutboxCopy]:
    stmt = select(DevOutboxCopy).order_by(DevOutboxCopy.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())
