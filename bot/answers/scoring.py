"""Features and decisions of the answer ranker, free of Rasa so that training, calibration and
the evaluation scripts share them.

For one question and one brand every candidate gets a probability of being relevant:

- a curated topic, from the topic classifier's probability, its nearest training question
  (dense similarity), and how well the topic's cited clauses match the question (the best
  dense and lexical score of their passages);
- a passage, from its dense similarity and BM25 share, both also relative to the best passage,
  and from the topic classifier's belief in the topics that cite its clause.

Two logistic regressions (one per kind of candidate) turn those features into probabilities;
they are fitted on held-out folds of the training questions, so the probabilities mean the same
on a new question. The best candidate wins, a curated topic before a quote unless the quote is
clearly better, and below the language's threshold the ranker abstains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

TOPIC_FEATURES = 6
PASSAGE_FEATURES = 6
PASSAGE_SHORTLIST = 30
"""Passages per question scored by the passage model: the best by dense and by lexical score."""
TOPIC_PREFERENCE = 0.85
"""A curated answer wins over a quote whose probability is less than 1/0.85 of its own."""


@dataclass(frozen=True)
class BrandView:
    """What the ranker knows of one brand: its passages and which topics cite which of them."""

    vectors: np.ndarray  # passages x dim, unit rows
    clause_ids: tuple[str, ...]  # per passage
    # topic key -> indexes of the passages of the clauses that topic cites for this brand
    topic_passages: Mapping[str, np.ndarray]
    # passage index -> topic keys whose clauses contain it
    passage_topics: Mapping[int, tuple[str, ...]]


@dataclass(frozen=True)
class QuestionScores:
    """The raw signals for one question against one brand."""

    topic_probs: Mapping[str, float]
    topic_knn: Mapping[str, float]
    dense: np.ndarray
    lexical: np.ndarray  # BM25 share in 0..1 per passage
    uncovered: float


def topic_matrix(scores: QuestionScores, view: BrandView, topics: Sequence[str]) -> np.ndarray:
    """One row of features per topic: classifier probability, nearest training question (and
    its gap to the best topic's), the best dense score of the topic's passages against the
    best of all passages, the best lexical share among them, and the "uncovered" probability."""
    best_dense = float(scores.dense.max(initial=0.0))
    best_knn = max(scores.topic_knn.values(), default=0.0)
    rows = np.zeros((len(topics), TOPIC_FEATURES))
    for row, topic in enumerate(topics):
        passages = view.topic_passages.get(topic)
        knn = scores.topic_knn.get(topic, 0.0)
        rows[row, :3] = (scores.topic_probs.get(topic, 0.0), knn, knn - best_knn)
        if passages is not None and len(passages):
            rows[row, 3] = float(scores.dense[passages].max()) - best_dense
            rows[row, 4] = float(scores.lexical[passages].max())
        else:
            rows[row, 3] = -best_dense
    rows[:, 5] = scores.uncovered
    return rows


def shortlist(scores: QuestionScores) -> np.ndarray:
    k = min(PASSAGE_SHORTLIST, len(scores.dense))
    if k == 0:
        return np.array([], dtype=int)
    by_dense = np.argpartition(-scores.dense, k - 1)[:k]
    by_lex = np.argpartition(-scores.lexical, k - 1)[:k]
    return np.unique(np.concatenate([by_dense, by_lex]))


def passage_matrix(scores: QuestionScores, view: BrandView, listed: np.ndarray) -> np.ndarray:
    """One row per shortlisted passage: dense score and its gap to the best, lexical share and
    its gap to the best, the classifier's belief in the topics citing its clause, and the
    "uncovered" probability."""
    rows = np.zeros((len(listed), PASSAGE_FEATURES))
    rows[:, 0] = scores.dense[listed]
    rows[:, 1] = rows[:, 0] - scores.dense.max(initial=0.0)
    rows[:, 2] = scores.lexical[listed]
    rows[:, 3] = rows[:, 2] - scores.lexical.max(initial=0.0)
    rows[:, 4] = [
        max(
            (scores.topic_probs.get(t, 0.0) for t in view.passage_topics.get(int(i), ())),
            default=0.0,
        )
        for i in listed
    ]
    rows[:, 5] = scores.uncovered
    return rows


def ranked(keys: Sequence[Any], probabilities: np.ndarray) -> list[tuple[Any, float]]:
    order = np.argsort(-np.asarray(probabilities), kind="stable")
    return [(keys[i], float(probabilities[i])) for i in order]


@dataclass
class Decision:
    kind: str  # "topic", "quote" or "abstain"
    score: float
    topic: str | None = None  # the best topic (also for a quote: its offer may follow)
    topic_score: float = 0.0
    passage: int | None = None
    passage_score: float = 0.0
    margin: float = 0.0


@dataclass
class Ranker:
    """The two fitted models and the per-language abstain thresholds."""

    topic_model: LogisticRegression
    passage_model: LogisticRegression
    thresholds: dict[str, float]
    abstain_keys: frozenset[str]

    def answerable(self, view: BrandView, topics: Sequence[str]) -> list[str]:
        return [t for t in topics if t not in self.abstain_keys and t in view.topic_passages]

    def candidates(
        self, scores: QuestionScores, view: BrandView, topics: Sequence[str]
    ) -> tuple[list[tuple[str, float]], list[tuple[int, float]]]:
        answerable = self.answerable(view, topics)
        listed = shortlist(scores)
        topic_p = _positive(self.topic_model, topic_matrix(scores, view, answerable))
        passage_p = _positive(self.passage_model, passage_matrix(scores, view, listed))
        return ranked(answerable, topic_p), ranked([int(i) for i in listed], passage_p)

    def decide(
        self, scores: QuestionScores, view: BrandView, topics: Sequence[str], lang: str
    ) -> Decision:
        ranked_topics, ranked_passages = self.candidates(scores, view, topics)
        return choose(ranked_topics, ranked_passages, self.thresholds.get(lang, 0.5))


def _positive(model: LogisticRegression, rows: np.ndarray) -> np.ndarray:
    return model.predict_proba(rows)[:, 1] if len(rows) else np.zeros(0)


def choose(
    ranked_topics: Sequence[tuple[str, float]],
    ranked_passages: Sequence[tuple[int, float]],
    threshold: float,
) -> Decision:
    topic, topic_score = ranked_topics[0] if ranked_topics else (None, 0.0)
    passage, passage_score = ranked_passages[0] if ranked_passages else (None, 0.0)
    runner_up = ranked_topics[1][1] if len(ranked_topics) > 1 else 0.0
    best = max(topic_score, passage_score)
    base = Decision(
        "abstain",
        best,
        topic=topic,
        topic_score=topic_score,
        passage=passage,
        passage_score=passage_score,
        margin=topic_score - runner_up,
    )
    if best < threshold:
        return base
    if topic is not None and topic_score >= TOPIC_PREFERENCE * passage_score:
        base.kind, base.score = "topic", topic_score
    else:
        base.kind, base.score = "quote", passage_score
    return base


def calibrate_threshold(
    decisions: Sequence[tuple[Decision, set[str] | None, set[int] | None]],
    max_wrong: float,
    min_abstain: float,
) -> float:
    """The lowest threshold (0.05 steps) at which held-out questions meet both targets.

    Each item: the decision at threshold 0, the relevant topics (None: no policy answers it)
    and the relevant passages. Wrong = a topic or quote not relevant to an answerable question;
    abstain = share of unanswerable questions for which nothing is said.
    """
    candidates = [round(0.05 * step, 2) for step in range(1, 20)]
    for threshold in candidates:
        wrong = covered = abstained = uncovered = 0
        for decision, topics, passages in decisions:
            kind = "abstain" if decision.score < threshold else decision.kind
            if topics is None:
                uncovered += 1
                abstained += kind == "abstain"
                continue
            covered += 1
            if (kind == "topic" and decision.topic not in topics) or (
                kind == "quote" and decision.passage not in (passages or set())
            ):
                wrong += 1
        wrong_ok = covered == 0 or wrong / covered <= max_wrong
        abstain_ok = uncovered == 0 or abstained / uncovered >= min_abstain
        if wrong_ok and abstain_ok:
            return threshold
    return candidates[-1]
