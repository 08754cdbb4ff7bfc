"""The dev outbox: full copies of what was sent, for testers. Written only in dev."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base, UTCDateTime


class DevOutboxCopy(Base):
    """What the dev gateway received, code and number in clear (`GET /v1/dev/outbox`).

    The table exists in every environment (one schema), but only the dev sink writes to it and
    the outbox retention purges it like the outbox.
    """

    __tablename__ = "dev_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    to: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
