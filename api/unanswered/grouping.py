"""Groups of similar questions, for the console: character n-gram TF-IDF and cosine similarity.

Pure and small on purpose: a few thousand questions in 90 days, in Chinese (no spaces, so words
are not a unit to count) or English with typos, for which character n-grams are a robust
measure. Questions are taken newest first; each joins the most similar group whose centroid is
at least THRESHOLD away in cosine, else starts a group of its own.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from privacy.masking import ascii_digits

THRESHOLD = 0.25

T = TypeVar("T")

_NOT_WORD = re.compile(r"[\W_]+")
# A masked number with the digits it keeps (138****8000): no measure of what was asked.
_MASKED = re.compile(r"[0-9A-Za-z]*\*+[0-9A-Za-z]*")
_HAN = re.compile(r"[\u3400-\u9fff]+")
# Particles, pronouns and function words say nothing of the subject: Chinese ones split a run
# of characters, English ones are dropped.
_HAN_STOP = re.compile("[的了吗啊呢吧呀嘛哦是在我你您们他她它会能要有就也都和这那么]+")
_STOPWORDS = frozenset(
    (  # noqa: SIM905 - a line of words reads better than fifty quoted ones
        "a an the i me my we our you your it its is are am was be do does did can could will "
        "would to of in on at for from with and or if about what how when who whom which that "
        "this there any get have has"
    ).split()
)


def normalised(text: str) -> str:
    """Lowercase, punctuation and masked stretches as single spaces."""
    text = _MASKED.sub(" ", ascii_digits(text).lower())
    return _NOT_WORD.sub(" ", text).strip()


def ngrams(text: str) -> Counter[str]:
    """Chinese: characters and character pairs; other words: their 3- and 4-grams (padded);
    stop words left out."""
    norm = normalised(text)
    grams: Counter[str] = Counter()
    for run in _HAN.findall(norm):
        for piece in _HAN_STOP.split(run):
            grams.update(piece)
            grams.update(piece[i : i + 2] for i in range(len(piece) - 1))
    for word in _HAN.sub(" ", norm).split():
        if word in _STOPWORDS:
            continue
        padded = f" {word} "
        grams.update(padded[i : i + n] for n in (3, 4) for i in range(max(1, len(padded) - n + 1)))
    return grams


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {k: w / norm for k, w in weights.items()} if norm else {}


def vectors(texts: Sequence[str]) -> list[dict[str, float]]:
    """Unit TF-IDF vectors: sublinear term frequency, smoothed idf over `texts` (a gram in every
    question still counts a little, so two questions of common words can group)."""
    counts = [ngrams(t) for t in texts]
    df: Counter[str] = Counter(g for c in counts for g in c)
    n = len(texts)
    idf = {g: math.log((1 + n) / (1 + d)) + 0.5 for g, d in df.items()}
    return [_unit({g: (1 + math.log(tf)) * idf[g] for g, tf in c.items()}) for c in counts]


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(g, 0.0) for g, w in a.items())


@dataclass
class Group(Generic[T]):
    key: Hashable
    items: list[T] = field(default_factory=list)
    _sum: dict[str, float] = field(default_factory=dict, repr=False)

    def add(self, item: T, vector: dict[str, float]) -> None:
        self.items.append(item)
        for g, w in vector.items():
            self._sum[g] = self._sum.get(g, 0.0) + w

    def centroid(self) -> dict[str, float]:
        return _unit(self._sum)


def group(
    items: Sequence[T],
    text: Callable[[T], str],
    key: Callable[[T], Hashable],
    threshold: float = THRESHOLD,
) -> list[Group[T]]:
    """`items` (newest first) in groups of similar text; only items of equal `key` (brand,
    language, mark) share a group. Groups keep the order of their newest item."""
    groups: list[Group[T]] = []
    centroids: list[dict[str, float]] = []
    for item, vector in zip(items, vectors([text(i) for i in items]), strict=True):
        k = key(item)
        best, best_sim = -1, threshold
        for index, candidate in enumerate(groups):
            if candidate.key != k:
                continue
            sim = cosine(vector, centroids[index])
            if sim >= best_sim:
                best, best_sim = index, sim
        if best < 0:
            groups.append(Group(k))
            centroids.append({})
            best = len(groups) - 1
        groups[best].add(item, vector)
        centroids[best] = groups[best].centroid()
    return groups
