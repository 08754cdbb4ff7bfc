"""Fixed-window request counters shared by every API worker through the database.

A counter is one row per (bucket, window start), bumped with a single
INSERT ... ON CONFLICT DO UPDATE ... RETURNING: atomic on PostgreSQL and SQLite, so several
workers (or threads) agree on the count without a read-modify-write race.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Integer, String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.core.database import Base, UTCDateTime, upsert
from api.core.errors import ApiError


class RateCounter(Base):
    __tablename__ = "rate_counters"

    bucket: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Limit:
    bucket: str
    limit: int
    code: str
    message: str


def window_start(now: datetime, seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, timezone.utc)


def hit(session: Session, bucket: str, now: datetime, seconds: int) -> int:
    """Count one request in the bucket's current window; returns the count including it."""
    start = window_start(now, seconds)
    insert = upsert(session, RateCounter).values(bucket=bucket, window_start=start, count=1)
    bump = insert.on_conflict_do_update(
        index_elements=["bucket", "window_start"], set_={"count": RateCounter.count + 1}
    ).returning(RateCounter.count)
    return int(session.execute(bump).scalar_one())


def enforce(session: Session, limits: list[Limit], now: datetime, seconds: int) -> None:
    """Count the request against each limit in turn; the first one exceeded answers 429.

    Runs and commits in its own short transaction so that the hot counter rows (the global
    ceiling above all) are not held locked for the rest of the request. A request refused by
    one limit is not counted against the later ones.
    """
    start = window_start(now, seconds)
    for limit in limits:
        if limit.limit <= 0:
            continue
        count = hit(session, limit.bucket, now, seconds)
        if count > limit.limit:
            session.commit()
            retry = int((start + timedelta(seconds=seconds) - now).total_seconds()) + 1
            raise ApiError(
                429, limit.code, limit.message, None, headers={"Retry-After": str(max(retry, 1))}
            )
        if count == 1 and limit is limits[-1]:
            # The first request of a window (for the widest limit) clears the past windows:
            # once per window, so parallel requests do not contend for the old rows.
            purge(session, start)
    session.commit()


def purge(session: Session, before: datetime) -> int:
    """Delete counters of windows that started before `before`."""
    result = session.execute(delete(RateCounter).where(RateCounter.window_start < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
