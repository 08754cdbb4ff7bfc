"""Citations in curated policy answers link to the clause the answer rests on, on the policy
page, as quotes do: a customer who taps "MINI 隐私政策第五部分（一）" lands on that clause."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.answers.knowledge import topic_clauses
from bot.channels import policy_page
from bot.nlg import linked_citations

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(policy/(mini|bmw)#(part-[\w-]+)\)")


def _curated_chat_answers() -> list[tuple[str, str]]:
    answers = []
    for path in sorted((ROOT / "bot" / "domain").glob("*.yml")):
        responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {}
        for name, variations in responses.items():
            if name.startswith("utter_ask_policy/") and name != "utter_ask_policy/uncovered":
                answers += [(name, v["text"]) for v in variations if not v.get("channel")]
    return answers


ANSWERS = _curated_chat_answers()


def test_there_are_curated_answers_to_check() -> None:
    assert len(ANSWERS) > 200


@pytest.mark.parametrize("brand", sorted(policy_page.BRANDS))
def test_every_curated_citation_links_to_a_clause_on_the_policy_page(brand: str) -> None:
    page = policy_page.render(brand)
    clauses = topic_clauses()
    unlinked, missing = [], []
    for name, text in ANSWERS:
        name_of_policy = (f"{brand.upper()} 隐私政策", f"{brand.upper()} policy")
        if not any(words in text for words in name_of_policy):
            continue
        linked = linked_citations(text, clauses[name.removeprefix("utter_")])
        anchors = [a for b, a in LINK.findall(linked) if b == brand]
        if not anchors:
            unlinked.append(name)
        missing += [a for a in anchors if f'id="{a}"' not in page]
    assert unlinked == []
    assert missing == []


def test_a_citation_links_to_the_clause_of_the_part_it_names() -> None:
    clauses = {"mini": ("mini.intro", "mini.5.1"), "bmw": ("bmw.5.6", "bmw.9")}
    assert linked_citations("（依据：MINI 隐私政策第五部分（一））", clauses) == (
        "（依据：[MINI 隐私政策第五部分（一）](policy/mini#part-5-1)）"
    )
    assert linked_citations("(Source: BMW policy, parts V.6 and IX)", clauses) == (
        "(Source: [BMW policy, parts V.6](policy/bmw#part-5-6) and IX)"
    )
    assert linked_citations("(Source: MINI policy, introduction)", clauses) == (
        "(Source: [MINI policy, introduction](policy/mini#part-intro))"
    )
    # A part the answer does not rest on keeps its words (the page links the whole part).
    assert (
        linked_citations("依据 MINI 隐私政策第三部分。", clauses) == "依据 MINI 隐私政策第三部分。"
    )


def _topic_message(text: str, channel: str) -> Any:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.nlg import BrandResponseGenerator

    domain = Domain.from_dict(
        {
            "slots": {
                "brand": {"type": "categorical", "values": ["mini", "bmw"], "mappings": []},
                "lang": {"type": "categorical", "values": ["zh", "en"], "mappings": []},
            },
            "responses": {"utter_ask_policy/right_access": [{"text": text}]},
        }
    )
    answer = {"kind": "topic", "topic": "ask_policy/right_access", "offer": None}
    parse = {
        "intent": {"name": "ask_policy", "confidence": 0.9},
        "entities": [],
        "answer": {"brands": {"mini": answer}},
    }
    events = [
        SlotSet("brand", "mini"),
        SlotSet("lang", "zh"),
        UserUttered("q", parse["intent"], [], parse_data=parse),
    ]
    tracker = DialogueStateTracker.from_events("t", events, slots=domain.slots)
    return BrandResponseGenerator(domain=domain).generate(
        "utter_ask_policy/right_access", tracker, channel
    )


async def test_the_chat_gets_the_link_and_the_voice_channels_plain_words() -> None:
    text = "您可以查阅。（依据：MINI 隐私政策第五部分（一））"
    chat = await _topic_message(text, "rest")
    assert (
        chat["text"] == "您可以查阅。（依据：[MINI 隐私政策第五部分（一）](policy/mini#part-5-1)）"
    )
    voice = await _topic_message(text, "ivr")
    assert voice["text"] == text
