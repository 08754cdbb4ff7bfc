"""The curated answer for a policy question: a logistic regression over the sentence features.

Rasa's ResponseSelector (a DIET model) took over four minutes of a six-minute training on two
cores and, on customers' own wording, picked a wrong topic as readily as the right one. With
the sentence encoder's paraphrase-aware vector among the features, a linear model picks topics
better and trains in seconds. One of its classes, `ask_policy/uncovered`, is trained on
privacy questions that neither policy answers: when it wins, or no topic is probable enough,
RetrievalConfidenceGate sends the question to the clause search instead of a curated answer.

The output has the ResponseSelector's shape (`response_selector.<intent>.response` with
`intent_response_key`, `utter_action`, `confidence`, and a `ranking`), so Rasa's
`utter_ask_policy` action, the policy actions and the NLU evaluation read it unchanged.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

log = logging.getLogger(__name__)

RANKING_LENGTH = 5


def sentence_features(message: Message, use_sparse: bool) -> scipy.sparse.csr_matrix:
    """The message's dense sentence feature, with its sparse one in front when asked for."""
    sparse, dense = message.get_sparse_features(TEXT)[1], message.get_dense_features(TEXT)[1]
    parts = []
    if use_sparse and sparse is not None:
        parts.append(scipy.sparse.csr_matrix(sparse.features))
    if dense is not None:
        parts.append(scipy.sparse.csr_matrix(dense.features))
    if not parts:
        raise ValueError(
            "TopicSelector found no sentence features: put SentenceEmbeddingFeaturizer "
            "(and the count vectorizers, with use_sparse) before it in bot/config.yml"
        )
    return scipy.sparse.hstack(parts).tocsr()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TopicSelector(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "retrieval_intent": "ask_policy",
            # Inverse L2 regularisation; chosen by cross-validation (docs/ARCHITECTURE.md).
            "C": 20.0,
            "max_iter": 1000,
            # The n-gram counts beside the dense vector (names, clause numbers, brand words).
            "use_sparse": True,
            "random_seed": 42,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: LogisticRegression | None = None,
    ) -> None:
        self._config = config
        self._intent = str(config["retrieval_intent"])
        self._storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TopicSelector:
        return cls(config, model_storage, resource)

    def _examples(self, training_data: TrainingData) -> list[Message]:
        return [
            m
            for m in training_data.intent_examples
            if m.get(INTENT) == self._intent and m.get(INTENT_RESPONSE_KEY) and m.get(TEXT)
        ]

    def train(self, training_data: TrainingData) -> Resource:
        examples = self._examples(training_data)
        if len({m.get(INTENT_RESPONSE_KEY) for m in examples}) < 2:
            log.warning("TopicSelector: fewer than two topics of %s; not trained", self._intent)
            return self._resource
        features = scipy.sparse.vstack(
            [sentence_features(m, bool(self._config["use_sparse"])) for m in examples]
        )
        labels = [str(m.get(INTENT_RESPONSE_KEY)) for m in examples]
        model = LogisticRegression(
            C=float(self._config["C"]),
            max_iter=int(self._config["max_iter"]),
            random_state=int(self._config["random_seed"]),
        )
        model.fit(features, labels)
        self._model = model
        with self._storage.write_to(self._resource) as directory:
            (directory / "topic_selector.pkl").write_bytes(pickle.dumps(model))
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TopicSelector:
        model = None
        try:
            with model_storage.read_from(resource) as directory:
                model = pickle.loads((directory / "topic_selector.pkl").read_bytes())
        except (ValueError, FileNotFoundError):
            log.warning("TopicSelector: no trained model found; no curated answers")
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        for message in messages:
            if not message.get(TEXT):
                continue
            try:
                features = sentence_features(message, bool(self._config["use_sparse"]))
            except ValueError:
                continue  # e.g. a "/intent" payload: no text features, no topic
            probabilities = self._model.predict_proba(features)[0]
            order = np.argsort(probabilities)[::-1]
            classes = [str(c) for c in self._model.classes_]
            ranking = [
                {
                    "id": int(index),
                    PREDICTED_CONFIDENCE_KEY: float(probabilities[index]),
                    INTENT_RESPONSE_KEY: classes[index],
                }
                for index in order[:RANKING_LENGTH]
            ]
            best = ranking[0]
            key = str(best[INTENT_RESPONSE_KEY])
            selected = {
                RESPONSE_SELECTOR_PREDICTION_KEY: {
                    RESPONSE_SELECTOR_RESPONSES_KEY: [],
                    PREDICTED_CONFIDENCE_KEY: best[PREDICTED_CONFIDENCE_KEY],
                    INTENT_RESPONSE_KEY: key,
                    RESPONSE_SELECTOR_UTTER_ACTION_KEY: f"utter_{key}",
                },
                RESPONSE_SELECTOR_RANKING_KEY: ranking,
            }
            properties = message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}
            properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = [self._intent]
            properties[self._intent] = selected
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
        return messages
