"""What a message is, by the cue words of data/policy/answer_cues.yml: a question, about
privacy, about how a right works."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

_WORD = re.compile(r"[a-z0-9']+")
# Clauses of a message: spaces stand for commas in messages typed on a phone.
_CLAUSE = re.compile(r"[\s,，;；。!！]+")
# A clause shorter than this is an answer ("不", "没有"), not a question ending in a particle.
_MIN_QUESTION_CLAUSE = 3


@dataclass(frozen=True)
class Cues:
    question_zh: tuple[str, ...]
    question_en_first: frozenset[str]
    question_zh_endings: tuple[str, ...]
    privacy_zh: tuple[str, ...]
    privacy_en: frozenset[str]
    how_to_zh: tuple[str, ...]
    how_to_en: tuple[str, ...]
    asking_zh: tuple[str, ...]
    asking_en_first: frozenset[str]
    request_zh: tuple[str, ...]
    request_en: tuple[str, ...]

    @staticmethod
    def _normal(text: str) -> str:
        return unicodedata.normalize("NFKC", text).lower()

    def is_question(self, text: str) -> bool:
        normal = self._normal(text)
        if "?" in normal or any(cue in normal for cue in self.question_zh):
            return True
        clauses = [c for c in _CLAUSE.split(normal) if c]
        # "还收集我信息不", "被黑过没": a yes-no question by its closing particle.
        if any(
            len(c) >= _MIN_QUESTION_CLAUSE and c.endswith(self.question_zh_endings) for c in clauses
        ):
            return True
        # "i clicked agree, am i bound by it": the question may follow a clause of context.
        first_words = (_WORD.findall(part) for part in re.split(r"[,;]", normal))
        return any(words and words[0] in self.question_en_first for words in first_words)

    def is_about_privacy(self, text: str) -> bool:
        normal = self._normal(text)
        if any(cue.lower() in normal for cue in self.privacy_zh):
            return True
        return any(word in self.privacy_en for word in _WORD.findall(normal))

    def is_how_to(self, text: str) -> bool:
        normal = self._normal(text)
        return any(cue in normal for cue in self.how_to_zh) or _has_phrase(normal, self.how_to_en)

    def is_asking(self, text: str) -> bool:
        """A question about what is true, not a request phrased as a question."""
        normal = self._normal(text)
        if any(cue in normal for cue in self.request_zh) or _has_phrase(normal, self.request_en):
            return False
        words = _WORD.findall(normal)
        return any(cue in normal for cue in self.asking_zh) or (
            bool(words) and words[0] in self.asking_en_first
        )


def _has_phrase(normal: str, phrases: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![a-z]){re.escape(p)}(?![a-z])", normal) for p in phrases)


@lru_cache(maxsize=4)
def load_cues(path: str) -> Cues:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}

    def listed(section: str, key: str) -> list[str]:
        return [str(v) for v in (data.get(section) or {}).get(key) or []]

    return Cues(
        question_zh=tuple(listed("question", "zh")),
        question_en_first=frozenset(listed("question", "en_first_words")),
        question_zh_endings=tuple(listed("question", "zh_endings")),
        privacy_zh=tuple(listed("privacy", "zh")),
        privacy_en=frozenset(w.lower() for w in listed("privacy", "en")),
        how_to_zh=tuple(listed("how_to", "zh")),
        how_to_en=tuple(w.lower() for w in listed("how_to", "en")),
        asking_zh=tuple(listed("asking", "zh")),
        asking_en_first=frozenset(listed("asking", "en_first_words")),
        request_zh=tuple(listed("request", "zh")),
        request_en=tuple(w.lower() for w in listed("request", "en")),
    )
