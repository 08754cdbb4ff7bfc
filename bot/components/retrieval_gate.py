"""Turns an uncertain retrieval-intent prediction into `nlu_fallback`.

FallbackClassifier only looks at the intent confidence. A message can be confidently
`ask_policy` while the ResponseSelector cannot tell which curated answer fits; answering the
neighbouring topic would state policy the customer did not ask about, so such messages take
the same path as low-confidence intents: retrieval over the policy text. The intent it
overrode is kept in the parse data under `gated_intent`, so that logs and the NLU evaluation
can tell a gated policy question from a message the classifier did not understand.

Two things gate a choice: a confidence under the threshold of the message's language (the
`lang` entity; the selector's confidences differ between Chinese and English, so each language
has its own, calibrated on cross-validation folds), and a chosen key among `abstain_keys`: the
selector's "none of these" class, trained on questions that neither policy answers.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

RESPONSE_SELECTOR = "response_selector"
GATED_INTENT = "gated_intent"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RetrievalConfidenceGate(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "retrieval_intent": "ask_policy",
            "threshold": 0.3,
            # Per-language thresholds; a language not listed uses `threshold`.
            "thresholds": {},
            "abstain_keys": [],
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self._intent = config["retrieval_intent"]
        self._threshold = float(config["threshold"])
        self._thresholds = {
            str(lang): float(value) for lang, value in (config.get("thresholds") or {}).items()
        }
        self._abstain = {str(key) for key in config.get("abstain_keys") or []}

    def threshold_for(self, message: Message) -> float:
        for entity in message.get(ENTITIES) or []:
            if entity.get("entity") == "lang" and entity.get("value") in self._thresholds:
                return self._thresholds[str(entity["value"])]
        return self._threshold

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RetrievalConfidenceGate:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != self._intent:
                continue
            selected = (message.get(RESPONSE_SELECTOR) or {}).get(self._intent) or {}
            response = selected.get("response") or {}
            confidence = response.get(PREDICTED_CONFIDENCE_KEY)
            unsure = confidence is not None and confidence < self.threshold_for(message)
            if unsure or response.get("intent_response_key") in self._abstain:
                message.set(GATED_INTENT, intent, add_to_output=True)
                message.data[INTENT] = {
                    INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                    PREDICTED_CONFIDENCE_KEY: intent.get(PREDICTED_CONFIDENCE_KEY, 0.0),
                }
        return messages
