from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base, UTCDateTime


class OutboxMessage(Base):
    """What would be sent. The SMS gateway is mocked: this table is the gateway's input."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # sms | email | deletion_notice
    to: Mapped[str] = mapped_column(String(200))  # masked, for people to read
    # The full recipient sealed under the field key, and its keyed hash to find a person's
    # messages (for an SMS the same hash as customers.mobile_hash). Null on rows from before.
    to_sealed: Mapped[str | None] = mapped_column(String(400))
    to_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # False for the code "sent" to an unregistered number: written like any other (the same
    # work for every number), never handed to the gateway.
    sendable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
