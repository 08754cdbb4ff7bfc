"""The unseen evaluation sets stay unseen: no message of them, nor a near-copy, in data/.

tests/nlu/unseen_phrasings.yml measures how the NLU copes with wording it was never trained on
(scripts/evaluate_unseen.py); tests/nlu/unseen_questions.yml measures what a customer gets from
the whole bot (scripts/evaluate_answers.py). A training example copied from either, or an edit
of one, would make those measurements flatter the model, so this test compares every message
with every text under data/ (NLU examples, story and rule turns, the held-out topic questions).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
UNSEEN = ROOT / "tests" / "nlu" / "unseen_phrasings.yml"
QUESTIONS = ROOT / "tests" / "nlu" / "unseen_questions.yml"
INTENTS = {
    "greet",
    "goodbye",
    "affirm",
    "deny",
    "thank",
    "bot_challenge",
    "out_of_scope",
    "request_human",
    "inform",
    "ask_policy",
    "request_unsubscribe",
    "request_withdraw_consent",
    "request_cancel_account",
    "request_access_copy",
    "request_rectification",
    "request_deletion",
    "request_portability",
    "request_decision_explanation",
    "file_complaint",
    "check_ticket_status",
}
# Edits that keep 90% of the characters in order are copies, not new phrasings.
NEAR_COPY_RATIO = 0.9


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", r"\1\2", text)
    return re.sub(r"[\W_]+", "", text)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def data_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "data").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for value in _strings(document):
            lines = value.splitlines() if "\n" in value else [value]
            texts += [line.strip().removeprefix("- ").strip() for line in lines]
    return [t for t in texts if len(normalise(t)) >= 4]


def unseen_messages(path: Path = UNSEEN) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["messages"])


def _grams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(max(1, len(text) - 2))}


def near_copies(messages: list[str], corpus: list[str]) -> list[tuple[str, str, float]]:
    normal = [normalise(t) for t in corpus]
    index: dict[str, list[int]] = {}
    for i, text in enumerate(normal):
        for gram in _grams(text):
            index.setdefault(gram, []).append(i)
    found = []
    for message in messages:
        target = normalise(message)
        grams = _grams(target)
        shared = Counter(i for gram in grams for i in index.get(gram, ()))
        for i, count in shared.items():
            # Cheap filter first: a near-copy shares most of its character trigrams.
            if count < 0.6 * max(len(grams), len(_grams(normal[i]))):
                continue
            ratio = difflib.SequenceMatcher(None, target, normal[i]).ratio()
            if ratio >= NEAR_COPY_RATIO:
                found.append((message, corpus[i], round(ratio, 3)))
    return found


def test_the_set_is_large_bilingual_and_well_labelled() -> None:
    messages = unseen_messages()
    assert len(messages) >= 300
    langs = Counter(m["lang"] for m in messages)
    assert langs["zh"] >= 120 and langs["en"] >= 120, langs
    _assert_labelled(messages)
    assert sum(1 for m in messages if m.get("topic") == "uncovered") >= 40


def _assert_labelled(messages: list[dict[str, Any]]) -> None:
    topics = _topic_keys()
    for message in messages:
        assert message["intent"] in INTENTS, message
        assert message["lang"] in ("zh", "en") and message["brand"] in ("mini", "bmw"), message
        topic = message.get("topic")
        if message["intent"] == "ask_policy":
            assert topic is not None, message
        if topic is not None:
            assert message["intent"] == "ask_policy", message
            for key in topic if isinstance(topic, list) else [topic]:
                assert key == "uncovered" or key in topics, message


def test_the_question_set_has_200_per_language_a_quarter_unanswered_and_crossed_brands() -> None:
    messages = unseen_messages(QUESTIONS)
    _assert_labelled(messages)
    for lang in ("zh", "en"):
        chosen = [m for m in messages if m["lang"] == lang]
        assert len(chosen) >= 200, (lang, len(chosen))
        uncovered = sum(1 for m in chosen if m.get("topic") == "uncovered")
        assert 0.2 <= uncovered / len(chosen) <= 0.3, (lang, uncovered, len(chosen))
        assert {m["brand"] for m in chosen} == {"mini", "bmw"}
        assert sum(1 for m in chosen if m["intent"] != "ask_policy") >= 20, lang
    texts = [normalise(m["text"]) for m in messages]
    assert len(set(texts)) == len(texts), "a question is in the set twice"


def _topic_keys() -> set[str]:
    keys: set[str] = set()
    for path in (ROOT / "data" / "policy" / "topics").glob("*.yml"):
        keys |= set((yaml.safe_load(path.read_text(encoding="utf-8")) or {})["topics"])
    return keys


@pytest.mark.parametrize("path", [UNSEEN, QUESTIONS], ids=lambda p: p.name)
def test_no_message_of_the_set_or_a_near_copy_is_in_the_training_data(path: Path) -> None:
    copies = near_copies([m["text"] for m in unseen_messages(path)], data_texts())
    assert not copies, "unseen messages found in data/: " + "; ".join(
        f"{a!r} ~ {b!r} ({r})" for a, b, r in copies[:20]
    )


def test_the_near_copy_check_catches_an_edited_copy() -> None:
    corpus = ["How can I stop your marketing newsletter?", "我想注销我的账户"]
    assert near_copies(["how can i stop your marketing newsletter"], corpus)
    assert near_copies(["我想注销我的账户。"], corpus)
    assert not near_copies(["what do you do with my location data"], corpus)
