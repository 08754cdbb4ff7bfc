"""Messages in neither Chinese nor English get the intent other_language (answered, in both
languages, with the two languages the assistant understands and the hotline); Chinese,
English, pinyin, names and identifiers are left alone."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.language_check import (
    OTHER_LANGUAGE_INTENT,
    OtherLanguageClassifier,
    other_language,
)

THIRD_LANGUAGES = [
    ("Bonjour, je voudrais supprimer mes données personnelles.", "latin"),
    ("Combien de temps gardez-vous mes données ?", "latin"),
    ("Wie lange speichern Sie meine Daten?", "latin"),
    ("Was passiert mit meinen Daten?", "latin"),
    ("Quiero borrar mis datos personales", "latin"),
    ("Hola", "latin"),
    ("Vorrei cancellare i miei dati", "latin"),
    ("個人情報を削除してください。", "ja"),
    ("データはどこに保存されますか", "ja"),
    ("개인정보를 삭제하고 싶어요", "ko"),
    ("Как удалить мои данные?", "ru"),
    ("أريد حذف بياناتي", "ar"),
]
CHINESE_OR_ENGLISH = [
    "你们会把我的数据传到境外吗？",
    "我想退订营销短信",
    "MINI 的隐私政策在哪里看？",
    "Do you transfer my data abroad?",
    "I want to unsubscribe from marketing messages",
    "What is the VIN of my car?",
    "Was my data shared?",
    "ok",
    "yes",
    "MINI",
    "Chen Jing",
    "13800138000",
    "LBV12345678901234",
    "123456",
    "ni hao ma",
    "wo xiang shan chu wo de shu ju le",
    "wǒ xiǎng shānchú shùjù",
    "我の车",
    "😀👍",
    "",
]


@pytest.mark.parametrize(("text", "found"), THIRD_LANGUAGES)
def test_a_third_language_is_found(text: str, found: str) -> None:
    assert other_language(text) == found


@pytest.mark.parametrize("text", CHINESE_OR_ENGLISH)
def test_chinese_english_and_what_is_neither_are_left_alone(text: str) -> None:
    assert other_language(text) is None


def _parsed(text: str, intent: str = "ask_policy") -> Message:
    message = Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": 0.8},
            "intent_ranking": [{"name": intent, "confidence": 0.8}],
        }
    )
    (result,) = OtherLanguageClassifier().process([message])
    return result


def test_the_component_sets_the_intent_and_keeps_the_classifiers_choice_ranked() -> None:
    message = _parsed("Je veux supprimer mes données")
    assert message.get("intent") == {"name": OTHER_LANGUAGE_INTENT, "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == [
        OTHER_LANGUAGE_INTENT,
        "ask_policy",
    ]
    assert message.get("other_language") == "latin"


@pytest.mark.parametrize("text", ["我想删除我的数据", "delete my data", '/inform{"lang": "fr"}'])
def test_the_component_leaves_other_messages_and_payloads(text: str) -> None:
    message = _parsed(text, "request_deletion")
    assert message.get("intent")["name"] == "request_deletion"
    assert message.get("other_language") is None
