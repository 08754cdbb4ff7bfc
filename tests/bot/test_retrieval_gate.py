from __future__ import annotations

from typing import Any

from rasa.shared.nlu.training_data.message import Message

from bot.components.retrieval_gate import GATED_INTENT, RetrievalConfidenceGate


def parsed(intent: str, selector_confidence: float | None) -> Message:
    data: dict[str, Any] = {"text": "q", "intent": {"name": intent, "confidence": 0.9}}
    if selector_confidence is not None:
        data["response_selector"] = {
            "ask_policy": {
                "response": {
                    "intent_response_key": "ask_policy/retention",
                    "confidence": selector_confidence,
                }
            }
        }
    return Message(data=data)


def gate() -> RetrievalConfidenceGate:
    return RetrievalConfidenceGate({"retrieval_intent": "ask_policy", "threshold": 0.2})


def test_unsure_curated_choice_goes_to_retrieval_and_keeps_the_intent() -> None:
    (message,) = gate().process([parsed("ask_policy", 0.15)])
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 0.9}
    assert message.get(GATED_INTENT) == {"name": "ask_policy", "confidence": 0.9}
    assert GATED_INTENT in message.as_dict(only_output_properties=True)


def test_confident_curated_choice_is_answered() -> None:
    (message,) = gate().process([parsed("ask_policy", 0.35)])
    assert message.get("intent")["name"] == "ask_policy"
    assert message.get(GATED_INTENT) is None


def test_other_intents_pass_untouched() -> None:
    (message,) = gate().process([parsed("request_deletion", 0.05)])
    assert message.get("intent")["name"] == "request_deletion"
