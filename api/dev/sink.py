"""The dev gateway: keeps each message's full text in the dev outbox for testers.

Built only by `gateway_for` when RIGHTS_ENV=dev; production never constructs it.
"""

from __future__ import annotations

from sqlalchemy import select
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


def newest(session: Session, limit: int = 100) -> list[DevOutboxCopy]:
    stmt = select(DevOutboxCopy).order_by(DevOutboxCopy.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())
