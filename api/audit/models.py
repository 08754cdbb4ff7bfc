from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base, UTCDateTime

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    """Append-only (database triggers refuse UPDATE and DELETE); hash-chained."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    ticket_reference: Mapped[str | None] = mapped_column(String(20), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 with the audit key (False only for entries written before keying began).
    keyed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())


class AuditHead(Base):
    """Single row locked to serialise appends to the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
