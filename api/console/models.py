"""Console sessions held server-side, failed sign-ins per client address, the staff accounts,
and what the console adds to a ticket (assignee, internal notes) in tables of its own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base, UTCDateTime


class StaffSession(Base):
    """A signed-in console session. The cookie names it; sign-out ends it here.

    Only a hash of the session id is kept: the table alone does not open the console.
    """

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInFailure(Base):
    """One refused console sign-in; counted per (keyed hash of the) client address and per
    (keyed hash of the) login tried, if one was."""

    __tablename__ = "console_sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    login_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class StaffAccount(Base):
    """A named member of the privacy team. Audit rows name them as "staff:<login>"."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(8))  # agent | lead
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketAssignment(Base):
    """Who works a ticket now (one row per ticket; the audit keeps the history)."""

    __tablename__ = "ticket_assignments"

    ticket_reference: Mapped[str] = mapped_column(ForeignKey("tickets.reference"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketNote(Base):
    """An internal note: staff only, never shown to the customer."""

    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_reference: Mapped[str] = mapped_column(ForeignKey("tickets.reference"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsoleTicketRead(Base):
    """A ticket already shown in a console session: its read is audited once per session."""

    __tablename__ = "console_ticket_reads"

    session_hash: Mapped[str] = mapped_column(
        ForeignKey("console_sessions.id_hash", ondelete="CASCADE"), primary_key=True
    )
    ticket_reference: Mapped[str] = mapped_column(String(20), primary_key=True)
