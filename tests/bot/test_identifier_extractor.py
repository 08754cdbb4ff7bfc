"""The NLU component hands Rasa what `privacy.identifiers` finds (tested in tests/privacy)."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.components.identifiers import IdentifierExtractor


def test_component_adds_entities() -> None:
    message = Message(data={"text": "我的手机号是138 0013 8000"})
    IdentifierExtractor().process([message])
    (entity,) = message.get("entities")
    assert entity["entity"] == "mobile"
    assert entity["value"] == "13800138000"
    assert (entity["start"], entity["end"]) == (6, 19)
    assert entity["extractor"] == "IdentifierExtractor"


def test_component_reads_an_id_number_glued_to_letters() -> None:
    message = Message(data={"text": "ID11010519491231002X"})
    IdentifierExtractor().process([message])
    (entity,) = message.get("entities")
    assert (entity["entity"], entity["value"]) == ("id_number", "11010519491231002X")
    assert (entity["start"], entity["end"]) == (2, 20)
