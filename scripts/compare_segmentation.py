"""Sentence boundaries of 50 policy clauses: spaCy's segmentation beside a naive split.

The naive split is the hand-written way: a sentence ends after each of 。！？；.!? and nowhere
else. spaCy's is ``bot.components.segmentation`` (blank ``zh`` pipeline with jieba for MINI,
blank ``en`` for BMW, a sentencizer, list markers and line breaks). For each clause the text is
printed once with every boundary marked where it falls:

    ‖   both methods cut here
    ⟨S⟩ only spaCy cuts here
    ⟨N⟩ only the naive split cuts here

then the number of sentences of each. The 50 clauses cover both brands, numbered lists,
inline lists "(a) …; (b) …", mixed Chinese and English, links and e-mail addresses, and prose.
The result of reading them by hand is in docs/ARCHITECTURE.md ("Sentence segmentation").

Usage::

    PYTHONPATH=. .venv-bot/bin/python scripts/compare_segmentation.py [--only-differences]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import yaml

from bot.components.segmentation import pipeline

POLICIES = Path(__file__).resolve().parents[1] / "data" / "policies"
CLAUSES = (
    # MINI (Chinese, with English names, links and e-mail addresses)
    *("mini.intro", "mini.1", "mini.1.1", "mini.1.1.1", "mini.1.1.2", "mini.1.2.1"),
    *("mini.1.2.2", "mini.1.2.3", "mini.1.2.4", "mini.1.3", "mini.1.4", "mini.1.5"),
    *("mini.1.7", "mini.1.8", "mini.3.1", "mini.3.2", "mini.3.3", "mini.4.1"),
    *("mini.5.1", "mini.5.3", "mini.5.3.4", "mini.5.4", "mini.5.7", "mini.7", "mini.9"),
    # BMW (English)
    *("bmw.1.1.1", "bmw.1.1.2", "bmw.1.1.3", "bmw.1.3", "bmw.1.5", "bmw.1.6", "bmw.2"),
    *("bmw.3.1", "bmw.3.3", "bmw.3.4", "bmw.4.1", "bmw.4.2", "bmw.4.3", "bmw.4.4"),
    *("bmw.5", "bmw.5.1", "bmw.5.2", "bmw.5.3", "bmw.5.5", "bmw.5.7", "bmw.5.8"),
    *("bmw.5.8.6", "bmw.5.8.7", "bmw.7", "bmw.9"),
)
NAIVE_END = re.compile(r"[。！？；.!?]")
MARKS = {(True, True): "‖", (True, False): "⟨S⟩", (False, True): "⟨N⟩"}


def naive_starts(text: str) -> set[int]:
    """Where the naive split starts a sentence: the first non-space after each end mark."""
    starts = set()
    for match in NAIVE_END.finditer(text):
        rest = text[match.end() :]
        if rest.strip():
            starts.add(match.end() + len(rest) - len(rest.lstrip()))
    return starts


def spacy_starts(text: str, lang: str) -> set[int]:
    doc = pipeline(lang)(text)
    starts = set()
    for sent in list(doc.sents)[1:]:
        rest = text[sent.start_char :]
        starts.add(sent.start_char + len(rest) - len(rest.lstrip()))
    return starts - {len(text)}


def marked(text: str, spacy: set[int], naive: set[int]) -> str:
    out, last = [], 0
    for position in sorted(spacy | naive):
        out.append(text[last:position].rstrip())
        out.append(MARKS[(position in spacy, position in naive)])
        last = position
    out.append(text[last:])
    return "".join(out)


def load() -> dict[str, tuple[str, str]]:
    clauses: dict[str, tuple[str, str]] = {}
    for brand in ("mini", "bmw"):
        data: dict[str, Any] = yaml.safe_load((POLICIES / f"{brand}.yml").read_text("utf-8"))
        lang = str(data["policy"]["language"])
        for clause in data["clauses"]:
            clauses[str(clause["id"])] = (str(clause["text"]).strip(), lang)
    return clauses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only-differences", action="store_true", help="skip clauses both cut alike"
    )
    args = parser.parse_args()
    clauses = load()
    same = total_spacy = total_naive = 0
    for clause_id in CLAUSES:
        text, lang = clauses[clause_id]
        spacy, naive = spacy_starts(text, lang), naive_starts(text)
        total_spacy, total_naive = total_spacy + len(spacy) + 1, total_naive + len(naive) + 1
        same += spacy == naive
        if args.only_differences and spacy == naive:
            continue
        print(f"=== {clause_id} ({lang}): spaCy {len(spacy) + 1} sentences, naive {len(naive) + 1}")
        print(marked(text, spacy, naive))
        print()
    print(
        f"{len(CLAUSES)} clauses: {same} cut alike; sentences: spaCy {total_spacy}, "
        f"naive {total_naive}"
    )


if __name__ == "__main__":
    main()
