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


def in_language(message: Message, lang: str) -> Message:
    message.set("entities", [{"entity": "lang", "value": lang, "start": 0, "end": 1}])
    return message


def test_each_language_has_its_own_threshold() -> None:
    per_language = RetrievalConfidenceGate(
        {"retrieval_intent": "ask_policy", "threshold": 0.2, "thresholds": {"en": 0.5}}
    )
    (english,) = per_language.process([in_language(parsed("ask_policy", 0.4), "en")])
    (chinese,) = per_language.process([in_language(parsed("ask_policy", 0.4), "zh")])
    assert english.get("intent")["name"] == "nlu_fallback"
    assert chinese.get("intent")["name"] == "ask_policy"


def test_none_of_these_goes_to_retrieval_however_confident() -> None:
    abstaining = RetrievalConfidenceGate(
        {
            "retrieval_intent": "ask_policy",
            "threshold": 0.2,
            "abstain_keys": ["ask_policy/uncovered"],
        }
    )
    message = parsed("ask_policy", 0.95)
    message.data["response_selector"]["ask_policy"]["response"]["intent_response_key"] = (
        "ask_policy/uncovered"
    )
    (gated,) = abstaining.process([message])
    assert gated.get("intent")["name"] == "nlu_fallback"
    assert gated.get(GATED_INTENT)["name"] == "ask_policy"
