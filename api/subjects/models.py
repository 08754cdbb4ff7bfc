from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, object_session

from api.core.database import Base, UTCDateTime
from api.core.fields import cipher_of


def mobile_context(customer_id: str) -> str:
    """What a customer's sealed mobile is bound to: its column and its row."""
    return f"customers.mobile_e164\x1f{customer_id}"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(8))
    # The number sealed under the field key (api.core.fields); found through mobile_hash.
    mobile_sealed: Mapped[str] = mapped_column(String(200))
    mobile_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    phone_password_hash: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))  # where one is on record
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def mobile_e164(self) -> str:
        """The number in clear, opened with the cipher of the session that loaded the row."""
        session = object_session(self)
        if session is None:
            raise RuntimeError("a customer's mobile opens only while its session is open")
        return cipher_of(session).open(self.mobile_sealed, mobile_context(self.id))


class Vehicle(Base):
    __tablename__ = "vehicles"

    vin: Mapped[str] = mapped_column(String(17), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    brand: Mapped[str] = mapped_column(String(8))
