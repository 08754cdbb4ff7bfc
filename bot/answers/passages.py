"""The passages of both policies: one to three sentences of a clause, with its title.

A passage is what the ranker can quote: short enough to answer a question, long enough to carry
its context. Every clause of ``data/policies/{mini,bmw}.yml`` is cut into sentences by spaCy
(bot/components/segmentation.py) and every run of one to three consecutive sentences within a
clause (at most ``MAX_CHARS`` characters, a single long sentence whole) is a passage.

Two indexes over them, per brand:

- dense: each passage's ``passage:`` vector of the multilingual encoder, computed once at build
  time by ``scripts/build_passages.py`` into ``data/policies/passages.npz`` (keyed by the hash
  of the embedded text, so a changed clause is re-embedded at training, never per message);
- lexical: BM25 over the lexical tokens (bot/answers/lexical.py), the title counted as often as
  ``TITLE_WEIGHT``, as a sparse matrix so one question is scored against every passage at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse
import yaml

from bot.answers.lexical import tokenize
from bot.components.segmentation import sentences
from contract import Brand

BRANDS = Brand.values()
MAX_SENTENCES = 3
MAX_CHARS = 360
"""Longest passage of several sentences, in characters (a single sentence may be longer)."""
TITLE_WEIGHT = 2
BM25_K1 = 1.2
BM25_B = 0.5
VECTORS_FILE = "passages.npz"


@dataclass(frozen=True)
class Passage:
    brand: str
    clause_id: str
    part: int
    title: str
    text: str
    language: str

    @property
    def embedded_text(self) -> str:
        """What the encoder sees: the clause title, then the sentences."""
        separator = "：" if self.language == "zh" else ": "
        return f"{self.title}{separator}{self.text}"

    @property
    def key(self) -> str:
        return hashlib.sha256(self.embedded_text.encode("utf-8")).hexdigest()


def _windows(parts: Sequence[str], joiner: str) -> list[str]:
    out: list[str] = []
    for start in range(len(parts)):
        for size in range(1, MAX_SENTENCES + 1):
            if start + size > len(parts):
                break
            text = joiner.join(parts[start : start + size])
            if size > 1 and len(text) > MAX_CHARS:
                break
            out.append(text)
    return out


def load_passages(policies_dir: Path) -> list[Passage]:
    """Every passage of both policies, in policy order."""
    passages: list[Passage] = []
    for brand in BRANDS:
        data = yaml.safe_load((policies_dir / f"{brand}.yml").read_text(encoding="utf-8"))
        language = str(data["policy"].get("language", "zh"))
        joiner = "" if language == "zh" else " "
        for clause in data["clauses"]:
            text, title = str(clause["text"]).strip(), str(clause["title"]).strip()
            if not text or text == title:
                continue  # a heading whose text lives in its items
            for window in _windows(sentences(text, language), joiner):
                passages.append(
                    Passage(
                        brand=brand,
                        clause_id=str(clause["id"]),
                        part=int(clause.get("part") or 0),
                        title=title,
                        text=window,
                        language=language,
                    )
                )
    return passages


def load_vectors(
    passages: Sequence[Passage],
    path: Path,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> np.ndarray:
    """The passages' unit vectors from the build-time file; missing ones from `encode`."""
    stored: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            stored = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    missing = [p for p in passages if p.key not in stored]
    if missing:
        if encode is None:
            raise FileNotFoundError(
                f"{len(missing)} policy passages have no vector in {path}: run "
                "scripts/build_passages.py"
            )
        for passage, vector in zip(
            missing, encode([p.embedded_text for p in missing]), strict=True
        ):
            stored[passage.key] = vector
    matrix = np.stack([np.asarray(stored[p.key], dtype=np.float32) for p in passages])
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)


def save_vectors(passages: Sequence[Passage], vectors: np.ndarray, path: Path) -> None:
    np.savez_compressed(
        path,
        keys=np.array([p.key for p in passages]),
        vectors=np.asarray(vectors, dtype=np.float16),
    )


class LexicalIndex:
    """BM25 of every passage of one brand for a question's tokens, in one sparse product."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        vocabulary: dict[str, int] = {}
        rows, cols, counts = [], [], []
        for row, tokens in enumerate(documents):
            for token, count in _counts(tokens).items():
                rows.append(row)
                cols.append(vocabulary.setdefault(token, len(vocabulary)))
                counts.append(count)
        shape = (len(documents), max(len(vocabulary), 1))
        tf = scipy.sparse.csr_matrix((counts, (rows, cols)), shape=shape, dtype=np.float64)
        lengths = np.asarray([len(d) for d in documents], dtype=np.float64)
        average = float(lengths.mean()) if len(lengths) else 1.0
        df = np.bincount(cols, minlength=shape[1]).astype(np.float64)
        n = float(len(documents))
        self.idf = np.log((n - df + 0.5) / (df + 0.5) + 1.0)
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / max(average, 1e-9))
        weighted = tf.tocoo()
        values = (
            self.idf[weighted.col]
            * weighted.data
            * (BM25_K1 + 1)
            / (weighted.data + norm[weighted.row])
        )
        self.weights = scipy.sparse.csc_matrix((values, (weighted.row, weighted.col)), shape=shape)
        self.vocabulary = vocabulary
        self.size = len(documents)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 of each passage, and the share of the question's weight it could reach."""
        columns = sorted({self.vocabulary[t] for t in tokens if t in self.vocabulary})
        if not columns:
            return np.zeros(self.size)
        return np.asarray(self.weights[:, columns].sum(axis=1)).ravel()

    def query_weight(self, tokens: Sequence[str]) -> float:
        """The most a passage could score: every known token at its saturated weight."""
        known = {self.vocabulary[t] for t in tokens if t in self.vocabulary}
        return float(sum(self.idf[c] for c in known) * (BM25_K1 + 1)) or 1.0


def _counts(tokens: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for token in tokens:
        counts[token] = counts.get(token, 0) + 1
    return counts


def lexical_document(passage: Passage) -> list[str]:
    return tokenize(f"{passage.title}\n" * TITLE_WEIGHT + passage.text)
