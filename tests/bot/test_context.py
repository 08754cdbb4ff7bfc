from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.context import ConversationContextExtractor, detect_context


def values(text: str, metadata: dict[str, Any] | None = None) -> dict[str, str]:
    return {e.entity: e.value for e in detect_context(text, metadata)}


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("你好", "zh"),
        ("我想删除我的个人信息", "zh"),
        ("MINI的cookie政策是什么", "zh"),  # any CJK makes it Chinese
        ("Hello, is anyone there?", "en"),
        ("What does BMW do with my data", "en"),
    ],
)
def test_language_from_text(text: str, lang: str) -> None:
    assert values(text)["lang"] == lang


def test_text_language_wins_over_metadata() -> None:
    assert values("你好", {"lang": "en"})["lang"] == "zh"
    assert values("hello", {"lang": "zh"})["lang"] == "en"


def test_metadata_language_when_text_has_no_letters() -> None:
    assert values("13800138000", {"lang": "en"})["lang"] == "en"
    assert "lang" not in values("13800138000")
    assert "lang" not in values("123456", {"lang": "fr"})


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("MINI的隐私政策", "mini"),
        ("my mini cooper", "mini"),
        ("迷你的数据", "mini"),
        ("宝马会把数据传到国外吗", "bmw"),
        ("Does BMW use cookies?", "bmw"),
    ],
)
def test_brand_from_text(text: str, brand: str) -> None:
    assert values(text)["brand"] == brand


def test_brand_words_inside_other_words_do_not_count() -> None:
    assert "brand" not in values("what is the minimum age")
    assert "brand" not in values("ask the admin")


def test_brand_from_app_metadata_first_then_text() -> None:
    assert values("你好", {"brand": "bmw"})["brand"] == "bmw"
    # The MINI app's customer naming 宝马 (MINI's controller) still gets MINI answers.
    assert values("宝马的关联公司会拿到我的数据吗", {"brand": "mini"})["brand"] == "mini"
    assert values("MINI的政策")["brand"] == "mini"
    assert "brand" not in values("你好", {"brand": "audi"})
    assert values("宝马的政策", {"brand": "audi"})["brand"] == "bmw"


def test_spans_do_not_overlap() -> None:
    text = "宝马的cookie"
    entities = {e.entity: e for e in detect_context(text)}
    assert text[entities["brand"].start : entities["brand"].end] == "宝马"
    assert text[entities["lang"].start : entities["lang"].end] == "的"


def test_component_adds_entities_and_skips_payloads() -> None:
    component = ConversationContextExtractor()
    message = Message(data={"text": "hi", "metadata": {"brand": "mini"}})
    payload = Message(data={"text": '/inform{"brand":"bmw"}', "metadata": {}})
    component.process([message, payload])
    by_name = {e["entity"]: e for e in message.get("entities")}
    assert by_name["lang"]["value"] == "en"
    assert by_name["brand"]["value"] == "mini"
    assert by_name["brand"]["extractor"] == "ConversationContextExtractor"
    assert not payload.get("entities")
