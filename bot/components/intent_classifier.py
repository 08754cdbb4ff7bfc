"""Rasa's logistic-regression intent classifier with its regularisation and class weights set."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def intent_class_weights(counts: Mapping[str, int], power: float) -> dict[str, float]:
    """Each intent weighed by n_intent ** -power, scaled so that the weights of all examples sum
    to their number: power 1 is sklearn's "balanced", power 0 no weighting."""
    raw = {intent: n**-power for intent, n in counts.items()}
    scale = sum(counts.values()) / sum(counts[intent] * w for intent, w in raw.items())
    return {intent: w * scale for intent, w in raw.items()}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class WeightedLogisticRegressionClassifier(LogisticRegressionClassifier):
    """LogisticRegressionClassifier with a configurable inverse regularisation `C` and
    `class_weight_power` (Rasa fixes them at 1.0 and "balanced", i.e. power 1).

    ask_policy has ~20 times the examples of any other intent: unweighted, it swallows
    requests phrased like questions; fully balanced, policy questions drift to the requests.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        defaults = LogisticRegressionClassifier.get_default_config()
        # use_sparse: false reads the dense sentence features only (the n-gram counts are
        # still there for other components).
        return {**defaults, "C": 1.0, "class_weight_power": 1.0, "use_sparse": True}

    def __init__(
        self,
        config: dict[str, Any],
        name: str,
        model_storage: ModelStorage,
        resource: Resource,
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))

    def _create_X(self, messages: list[Message]) -> scipy.sparse.csr_matrix:
        if self.config.get("use_sparse", True):
            return super()._create_X(messages)
        rows = []
        for message in messages:
            dense = message.get_dense_features(attribute=TEXT)[1]
            # "/intent" payloads (buttons, call events) have no text features; Rasa runs them
            # through the graph anyway and sets their intent afterwards, so any row will do.
            width = self.clf.n_features_in_ if hasattr(self.clf, "n_features_in_") else 1
            features = dense.features if dense is not None else np.zeros((1, width))
            rows.append(scipy.sparse.csr_matrix(features))
        return scipy.sparse.vstack(rows).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        counts = Counter(
            example.get("intent")
            for example in training_data.intent_examples
            if example.get("intent") and example.get("text")
        )
        if counts:
            weights = intent_class_weights(counts, float(self.config["class_weight_power"]))
            self.clf.set_params(class_weight=weights)
        return super().train(training_data)
