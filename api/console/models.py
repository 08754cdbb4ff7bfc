"""Console sessions held server-side, and failed sign-ins per client address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
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
    """One refused console sign-in; counted per (keyed hash of the) client address."""

    __tablename__ = "console_sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
