from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base, UTCDateTime


class UnansweredQuestion(Base):
    """One question the bot abstained on, quoted a passage for, or answered with a low margin.

    The text is stored masked (privacy.masking.mask_question). A staff member's mark (answered
    by a topic, new topic needed, out of scope) is kept per question: groups are recomputed by
    similarity on every read, so a mark on a group is written to each question in it.
    """

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(8), index=True)
    language: Mapped[str] = mapped_column(String(4))
    channel: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    answer_kind: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str | None] = mapped_column(String(64))
    clause: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    margin: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    mark: Mapped[str | None] = mapped_column(String(20))
    mark_topic: Mapped[str | None] = mapped_column(String(64))
    marked_by: Mapped[str | None] = mapped_column(String(64))
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
