from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base, UTCDateTime


class Challenge(Base):
    """One verification attempt; created for unknown numbers too (customer_id is then null)."""

    __tablename__ = "verification_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    method: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(8))
    mobile_hash: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(32))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    # Keyed hash of where the check was started from (api.core.clients.Caller.source): its
    # wrong guesses count against that source, apart from other sources of the same number.
    source_hash: Mapped[str | None] = mapped_column(String(64))
    # Keyed hash of the conversation that started the check (X-Conversation-Id from the bot):
    # a verified check covers that conversation, and only that one, for a while (see
    # api.verification.service.reissue).
    conversation_hash: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # pending | verified | locked | expired | superseded (a newer SMS code for the number)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GuessLock(Base):
    """Wrong guesses per number and method (phone_password | sms_code), across challenges and
    sources: past the higher per-number limit the number is locked for everyone.

    One row per number and method, created with INSERT ... ON CONFLICT DO NOTHING and then
    locked (SELECT ... FOR UPDATE) for the whole check, so parallel checks of one number are
    counted one after the other. Unknown numbers get rows too: the answer never tells whether
    a number is registered.
    """

    __tablename__ = "guess_locks"

    mobile_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GuessSourceLock(Base):
    """Wrong guesses per number, method and source: a source past the lower limit is locked
    out of that number, while the customer's own conversation or line still gets through.
    Written only under the number's GuessLock row lock."""

    __tablename__ = "guess_source_locks"

    mobile_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    source_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProofUse(Base):
    """A subject proof consumed by a ticket creation (proofs are single use for writes)."""

    __tablename__ = "proof_uses"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())
