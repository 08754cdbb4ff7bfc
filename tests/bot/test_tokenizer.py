from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.components.tokenizer import MixedLanguageTokenizer


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> MixedLanguageTokenizer:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    return MixedLanguageTokenizer.create(
        MixedLanguageTokenizer.get_default_config(),
        storage,
        Resource("tokenizer"),
        ExecutionContext(None),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "text",
    [
        "What does MINI do with my location data?",
        "BMW的 cookie 政策是什么",
        "我想 unsubscribe  marketing messages",
        "  hello   world  ",
    ],
)
def test_no_whitespace_tokens(tokenizer: MixedLanguageTokenizer, text: str) -> None:
    tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
    assert tokens
    assert all(token.text.strip() == token.text and token.text for token in tokens)


def test_offsets_and_case_are_kept(tokenizer: MixedLanguageTokenizer) -> None:
    text = "Delete MINI data 删除数据"
    tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
    assert [t.text for t in tokens][:3] == ["Delete", "MINI", "data"]
    for token in tokens:
        assert text[token.start : token.end] == token.text


def test_chinese_is_segmented(tokenizer: MixedLanguageTokenizer) -> None:
    tokens = tokenizer.tokenize(Message(data={"text": "我想删除我的个人信息"}), "text")
    assert len(tokens) > 2
    assert "".join(t.text for t in tokens) == "我想删除我的个人信息"
