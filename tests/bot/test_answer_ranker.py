"""The answer ranker's parts: what counts as a question, the passages it quotes, the lexical
index, the choice between a curated answer, a quote and "I don't know", and how the response
generator says the chosen answer with its offer in one message, with no action call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.answers.cues import load_cues
from bot.answers.lexical import bridge, tokenize
from bot.answers.passages import (
    MAX_CHARS,
    VECTORS_FILE,
    LexicalIndex,
    lexical_document,
    load_passages,
    load_vectors,
)
from bot.answers.scoring import Decision, calibrate_threshold, choose
from bot.nlg import BrandResponseGenerator

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "data" / "policies"
CUES = load_cues(str(ROOT / "data" / "policy" / "answer_cues.yml"))


@pytest.fixture(scope="module")
def passages() -> list[Any]:
    return load_passages(POLICIES)


# ------------------------------------------------------------------ cues


@pytest.mark.parametrize(
    "text",
    [
        "车的位置是不是一直在上传",
        "删了账号备份里还有我数据吗",
        "do you sell my data",
        "who runs this service?",
        "the app tracks me all the time?",
    ],
)
def test_privacy_questions_are_recognised_in_both_languages(text: str) -> None:
    assert CUES.is_question(text)
    assert CUES.is_about_privacy(text)


@pytest.mark.parametrize(
    "text",
    [
        "车机会偷偷录音不",  # a yes-no question by its closing particle
        "停了互联服务 app还定位我没",  # spaces for commas
        "i turned tracking off, does the car still upload my trips",  # after a clause
    ],
)
def test_colloquial_questions_are_questions(text: str) -> None:
    assert CUES.is_question(text)


@pytest.mark.parametrize(
    "text", ["不", "好不", "我不想要营销短信", "13800138000", "i live in beijing, my car is a mini"]
)
def test_answers_and_statements_are_not_questions(text: str) -> None:
    assert not CUES.is_question(text)


@pytest.mark.parametrize("text", ["再见", "bye", "thanks a lot", "好的谢谢"])
def test_small_talk_is_not_about_privacy(text: str) -> None:
    assert not CUES.is_about_privacy(text)


@pytest.mark.parametrize(
    ("text", "how_to", "asking"),
    [
        ("how do I cancel my account?", True, False),
        ("怎么注销账户", True, False),
        ("please cancel my account", False, False),
        ("帮我注销账户", False, False),
        ("why does the app want my location", False, True),
        ("app为什么老让我开定位权限", False, True),
        ("can you delete my data?", False, False),
        # Deletion and the consequences of cancelling: answered, then offered.
        ("how can I delete my data?", True, False),
        ("删除个人信息的流程是什么", True, True),
        ("what happens to my data if I cancel my account?", True, True),
        ("I want to cancel my account", False, False),
    ],
)
def test_how_to_and_asking_questions_are_told_from_requests(
    text: str, how_to: bool, asking: bool
) -> None:
    assert CUES.is_how_to(text) is how_to
    assert CUES.is_asking(text) is asking


# ------------------------------------------------------------------ passages


def test_passages_are_short_runs_of_their_clause(passages: list[Any]) -> None:
    texts = {}
    for brand in ("mini", "bmw"):
        import yaml

        data = yaml.safe_load((POLICIES / f"{brand}.yml").read_text(encoding="utf-8"))
        texts |= {c["id"]: "".join(str(c["text"]).split()) for c in data["clauses"]}
    assert {p.brand for p in passages} == {"mini", "bmw"}
    for passage in passages:
        assert "".join(passage.text.split()) in texts[passage.clause_id]
        assert len(passage.text) <= MAX_CHARS or "。" not in passage.text[:-1]


def test_every_passage_has_its_build_time_vector(passages: list[Any]) -> None:
    # No encoder given: a passage without a vector in passages.npz raises, naming the script.
    vectors = load_vectors(passages, POLICIES / VECTORS_FILE)
    assert vectors.shape[0] == len(passages)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_missing_vectors_name_the_build_script(passages: list[Any], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="build_passages"):
        load_vectors(passages[:3], tmp_path / VECTORS_FILE)


@pytest.mark.parametrize(
    ("question", "brand", "clause_prefix"),
    [
        ("do you use cookies", "mini", "mini.2"),  # English words bridged to the Chinese policy
        ("你们会把我的信息转移到境外吗", "bmw", "bmw.7"),  # and Chinese to the English one
        ("儿童的个人信息怎么处理", "mini", "mini.6"),
    ],
)
def test_lexical_index_crosses_languages_through_the_bridge(
    passages: list[Any], question: str, brand: str, clause_prefix: str
) -> None:
    own = [p for p in passages if p.brand == brand]
    index = LexicalIndex([lexical_document(p) for p in own])
    tokens = bridge(str(POLICIES / "search_terms.yml")).expand(tokenize(question))
    best = own[int(np.argmax(index.scores(tokens)))]
    assert best.clause_id.startswith(clause_prefix)


# ------------------------------------------------------------------ the choice


def test_curated_answer_wins_over_a_quote_unless_the_quote_is_clearly_better() -> None:
    assert choose([("ask_policy/cookies", 0.8)], [(3, 0.85)], 0.5).kind == "topic"
    assert choose([("ask_policy/cookies", 0.5)], [(3, 0.9)], 0.4).kind == "quote"
    abstained = choose([("ask_policy/cookies", 0.3)], [(3, 0.2)], 0.5)
    assert abstained.kind == "abstain"
    assert abstained.topic == "ask_policy/cookies"  # still known, for the review loop


def test_calibration_picks_the_lowest_threshold_meeting_both_targets() -> None:
    right = (Decision("topic", 0.9, topic="t"), {"t"}, set())
    wrong = (Decision("topic", 0.42, topic="u"), {"t"}, set())
    unanswerable = (Decision("quote", 0.32, passage=1), None, None)
    threshold = calibrate_threshold([right] * 18 + [wrong] * 2 + [unanswerable] * 10, 0.05, 0.9)
    # 0.35 silences the unanswerable ones, 0.45 also the wrong topics (10% > 5%).
    assert threshold == 0.45


# ------------------------------------------------------------------ said by the generator

DOMAIN = Domain.from_dict(
    {
        "slots": {
            "brand": {"type": "categorical", "values": ["mini", "bmw"], "mappings": []},
            "lang": {"type": "categorical", "values": ["zh", "en"], "mappings": []},
        },
        "responses": {
            "utter_ask_policy/right_deletion": [{"text": "You may ask us to delete."}],
            "utter_policy_passage": [
                {"text": '"{passage}" (Source: [{part_en}, "{clause_title}"]({clause_link}))'}
            ],
            "utter_policy_unknown": [{"text": "The policy does not say; call {hotline}."}],
            "utter_offer_deletion": [
                {"text": "Shall I file it?", "buttons": [{"title": "Yes", "payload": "/x"}]}
            ],
        },
    }
)


def _tracker(answer: dict[str, Any], brand: str = "bmw") -> DialogueStateTracker:
    parse = {
        "intent": {"name": "ask_policy", "confidence": 0.9},
        "entities": [],
        "answer": {**answer, "brands": {brand: answer}},
    }
    events = [
        SlotSet("brand", brand),
        SlotSet("lang", "en"),
        UserUttered("q", parse["intent"], [], parse_data=parse),
    ]
    return DialogueStateTracker.from_events("t", events, slots=DOMAIN.slots)


async def test_a_topic_answer_and_its_offer_are_one_message() -> None:
    nlg = BrandResponseGenerator(domain=DOMAIN)
    answer = {"kind": "topic", "topic": "ask_policy/right_deletion", "offer": "deletion"}
    message = await nlg.generate("utter_ask_policy/right_deletion", _tracker(answer), "rest")
    assert message is not None
    assert message["text"] == "You may ask us to delete.\n\nShall I file it?"
    assert message["buttons"] == [{"title": "Yes", "payload": "/x"}]
    assert message["offer"] == "deletion"


async def test_a_quote_links_to_its_clause() -> None:
    nlg = BrandResponseGenerator(domain=DOMAIN)
    answer = {
        "kind": "quote",
        "quote": "We keep it for three years.",
        "clause": "bmw.5.3",
        "title": "Retention",
        "part": 5,
        "offer": None,
    }
    message = await nlg.generate("utter_ask_policy/uncovered", _tracker(answer), "rest")
    assert message is not None
    assert message["text"] == (
        '"We keep it for three years." (Source: [part V, "Retention"](policy/bmw#part-5-3))'
    )
    assert "offer" not in message


async def test_no_answer_says_so_with_the_brand_hotline() -> None:
    nlg = BrandResponseGenerator(domain=DOMAIN)
    message = await nlg.generate(
        "utter_ask_policy/uncovered", _tracker({"kind": "abstain"}, "mini"), "rest"
    )
    assert message is not None
    assert message["text"] == "The policy does not say; call 400-800-6699."
