"""Recording, retention, review groups, marks and the NLU export of unanswered questions.

Retention: every write first deletes the questions older than the retention (at most 90 days,
RIGHTS_UNANSWERED_RETENTION_DAYS), and `python -m api.cli purge | upkeep` and the API start do
the same, so nothing older stays even when the bot is quiet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api.unanswered import grouping
from api.unanswered.models import UnansweredQuestion
from api.unanswered.schemas import UnansweredIn
from contract import ReviewMark
from privacy.masking import mask_question

ROOT = Path(__file__).resolve().parents[2]
TOPICS_DIR = ROOT / "data" / "policy" / "topics"
RETRIEVAL_PREFIX = "ask_policy/"
# The console groups at most this many of the newest questions (a few weeks of a busy bot).
MAX_GROUPED = 3000
EXAMPLES_SHOWN = 3


@lru_cache(maxsize=1)
def topics() -> dict[str, dict[str, str]]:
    """Topic name -> its held-out question per language (a hint of what the topic answers)."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(TOPICS_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, topic in (data.get("topics") or {}).items():
            found[str(name)] = {str(k): str(v) for k, v in (topic.get("questions") or {}).items()}
    return found


def bare_topic(topic: str | None) -> str | None:
    return topic.removeprefix(RETRIEVAL_PREFIX) if topic else None


def _delete_old(s: Session, now: datetime, retention_days: int) -> int:
    cutoff = now - timedelta(days=retention_days)
    result = s.execute(delete(UnansweredQuestion).where(UnansweredQuestion.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def purge(s: Session, now: datetime, retention_days: int) -> int:
    """Deletes the questions older than the retention; commits."""
    deleted = _delete_old(s, now, retention_days)
    s.commit()
    return deleted


def record(
    s: Session, body: UnansweredIn, now: datetime, retention_days: int
) -> UnansweredQuestion:
    """Stores one question, masked here whatever the bot already masked."""
    _delete_old(s, now, retention_days)
    row = UnansweredQuestion(
        brand=body.brand.value,
        language=body.language.value,
        channel=body.channel.value,
        text=mask_question(" ".join(body.text.split())),
        answer_kind=body.answer_kind.value,
        topic=bare_topic(body.topic),
        clause=body.clause,
        score=body.score,
        margin=body.margin,
        created_at=now,
    )
    s.add(row)
    s.commit()
    return row


@dataclass(frozen=True)
class Filters:
    brand: str | None = None
    language: str | None = None
    marked: bool = False  # False: the questions still to review; True: the settled ones


@dataclass(frozen=True)
class ReviewGroup:
    """Similar questions of one brand and language, newest first."""

    ids: tuple[int, ...]
    brand: str
    language: str
    count: int
    newest: datetime
    examples: tuple[str, ...]
    # What the bot said, most frequent first: (answer kind, topic or clause or None, count)
    answers: tuple[tuple[str, str | None, int], ...]
    mark: str | None
    mark_topic: str | None
    marked_by: str | None
    marked_at: datetime | None

    @property
    def anchor(self) -> str:
        return f"group-{min(self.ids)}"


def _given(row: UnansweredQuestion) -> tuple[str, str | None]:
    return row.answer_kind, row.topic or row.clause


def _as_group(rows: Sequence[UnansweredQuestion]) -> ReviewGroup:
    examples: list[str] = []
    for row in rows:
        if row.text not in examples:
            examples.append(row.text)
        if len(examples) == EXAMPLES_SHOWN:
            break
    answers = Counter(_given(r) for r in rows).most_common()
    return ReviewGroup(
        ids=tuple(r.id for r in rows),
        brand=rows[0].brand,
        language=rows[0].language,
        count=len(rows),
        newest=rows[0].created_at,
        examples=tuple(examples),
        answers=tuple((kind, given, n) for (kind, given), n in answers),
        mark=rows[0].mark,
        mark_topic=rows[0].mark_topic,
        marked_by=rows[0].marked_by,
        marked_at=rows[0].marked_at,
    )


def group_questions(rows: Sequence[UnansweredQuestion]) -> list[ReviewGroup]:
    """Pure: `rows` (newest first) in similarity groups of one brand, language and mark,
    newest group first."""
    groups = grouping.group(
        rows,
        text=lambda r: r.text,
        key=lambda r: (r.brand, r.language, r.mark, r.mark_topic),
    )
    return [_as_group(g.items) for g in groups]


def review_groups(s: Session, filters: Filters) -> list[ReviewGroup]:
    q = select(UnansweredQuestion)
    if filters.brand:
        q = q.where(UnansweredQuestion.brand == filters.brand)
    if filters.language:
        q = q.where(UnansweredQuestion.language == filters.language)
    marked = UnansweredQuestion.mark.is_not(None)
    q = q.where(marked if filters.marked else UnansweredQuestion.mark.is_(None))
    q = q.order_by(UnansweredQuestion.created_at.desc(), UnansweredQuestion.id.desc())
    rows = s.scalars(q.limit(MAX_GROUPED)).all()
    return group_questions(rows)


class MarkError(ValueError):
    """A mark the console cannot store (its text key is the message)."""


def mark(
    s: Session,
    ids: Iterable[int],
    mark: str,
    topic: str | None,
    actor: str,
    now: datetime,
) -> int:
    """Marks the questions of a group (still in the retention); commits; how many were marked."""
    if mark not in ReviewMark.values():
        raise MarkError("err_mark_required")
    if mark == ReviewMark.ANSWERED_BY_TOPIC:
        if not topic or topic not in topics():
            raise MarkError("err_mark_topic_required")
    else:
        topic = None
    chosen = sorted(set(ids))
    if not chosen:
        raise MarkError("err_mark_nothing")
    result = s.execute(
        update(UnansweredQuestion)
        .where(UnansweredQuestion.id.in_(chosen))
        .values(mark=mark, mark_topic=topic, marked_by=actor, marked_at=now)
    )
    s.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def marked_examples(s: Session) -> dict[str, list[str]]:
    """Topic -> the distinct questions staff marked as answered by it, oldest first."""
    rows = s.execute(
        select(UnansweredQuestion.mark_topic, UnansweredQuestion.text)
        .where(UnansweredQuestion.mark == ReviewMark.ANSWERED_BY_TOPIC.value)
        .order_by(UnansweredQuestion.mark_topic, UnansweredQuestion.created_at)
    ).all()
    out: dict[str, list[str]] = {}
    for topic, text in rows:
        examples = out.setdefault(str(topic), [])
        if text not in examples:
            examples.append(text)
    return out


def nlu_yaml(examples: dict[str, list[str]]) -> str:
    """Rasa NLU training data (format 3.1) of retrieval intents ask_policy/<topic>."""
    lines = ['version: "3.1"', "nlu:" if examples else "nlu: []"]
    for topic, texts in sorted(examples.items()):
        lines.append(f"- intent: {RETRIEVAL_PREFIX}{topic}")
        lines.append("  examples: |")
        lines.extend(f"    - {' '.join(text.split())}" for text in texts)
    return "\n".join(lines) + "\n"
