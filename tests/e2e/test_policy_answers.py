"""What a customer reads for the questions the answer ranker decides, through the REST channel
of the running stack: a quote that answers with a link to its clause, a quote across languages
that says it is the original, an honest "I don't know" with the brand's hotline, a privacy
question misread as small talk, and a how-to question answered and then offered."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

HOTLINES = {"mini": "400-800-6699", "bmw": "400-800-6666"}
REPHRASE = ("换个说法", "rephrase")
CLAUSE_LINK = re.compile(r"\]\(policy/(mini|bmw)#(part-[\w-]+)\)")


def ask(stack: Stack, text: str, brand: str, lang: str) -> tuple[str, list[dict[str, Any]]]:
    sender = f"answers-{uuid.uuid4().hex[:10]}"
    replies = stack.say(sender, text, metadata={"brand": brand, "lang": lang})
    text_out = "\n".join(str(r.get("text") or "") for r in replies)
    buttons = [b for r in replies for b in r.get("buttons") or []]
    return text_out, buttons


@pytest.mark.parametrize(
    ("question", "brand", "lang", "original_note"),
    [("签了互联服务合同以后 营销推送是不是就退不掉了", "bmw", "zh", "只有英文版")],
)
def test_a_colloquial_question_is_answered_by_a_quote_linked_to_its_clause(
    stack: Stack, question: str, brand: str, lang: str, original_note: str | None
) -> None:
    text, _ = ask(stack, question, brand, lang)
    link = CLAUSE_LINK.search(text)
    assert link, f"no clause link in: {text}"
    assert link.group(1) == brand
    assert link.group(2).count("-") >= 1
    if original_note:
        assert original_note in text
    assert not any(word in text for word in REPHRASE)


@pytest.mark.parametrize(
    ("question", "brand", "lang"),
    [
        ("你们有没有被黑客攻击过", "mini", "zh"),
        ("does the MINI policy say anything about blockchain?", "mini", "en"),
        ("does the BMW policy say anything about blockchain?", "bmw", "en"),
    ],
)
def test_a_question_no_policy_answers_gets_the_hotline_not_a_guess(
    stack: Stack, question: str, brand: str, lang: str
) -> None:
    text, _ = ask(stack, question, brand, lang)
    assert HOTLINES[brand] in text
    assert not CLAUSE_LINK.search(text)
    assert not any(word in text for word in REPHRASE)


@pytest.mark.parametrize(
    ("question", "brand", "lang"),
    [
        ("车的位置是不是一直在上传", "mini", "zh"),
        ("删了账号备份里还有我数据吗", "mini", "zh"),
        ("uh yeah hi so um do you guys share my location with anybody", "bmw", "en"),
    ],
)
def test_a_privacy_question_is_never_asked_to_be_rephrased(
    stack: Stack, question: str, brand: str, lang: str
) -> None:
    text, _ = ask(stack, question, brand, lang)
    assert not any(word in text for word in REPHRASE), text
    assert "隐私政策" in text or "policy" in text


@pytest.mark.parametrize(
    ("question", "brand", "lang", "payload"),
    [
        ("how do I cancel my account?", "bmw", "en", "/request_cancel_account"),
        ("怎么注销账户", "mini", "zh", "/request_cancel_account"),
    ],
)
def test_a_how_to_question_is_answered_then_offered(
    stack: Stack, question: str, brand: str, lang: str, payload: str
) -> None:
    text, buttons = ask(stack, question, brand, lang)
    assert [b["payload"] for b in buttons] == [payload]
    # The answer (it cites the policy), not the request form's first question.
    assert "依据" in text or "Source" in text, text
