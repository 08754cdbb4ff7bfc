"""The identifiers of a message as entities: mobile, id_number, vin, otp_code, ticket_ref.

What an identifier is, and which ones are valid, is decided in `privacy.identifiers`, the module
the tracker store's and the action server's masking use too; this component only hands what it
finds to Rasa. Rules work on characters, not tokens: spaCy's blank tokenizers (and jieba) do not
split "手机号是13800138000" at the digits, so a token Matcher would miss most Chinese messages.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.training_data.message import Message

from bot.components.rule_extractor import RuleEntityExtractor
from privacy.identifiers import find_identifiers


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class IdentifierExtractor(RuleEntityExtractor):
    """Adds the valid identifiers of a message as entities."""

    def entities_of(self, text: str, message: Message) -> list[dict[str, Any]]:
        return [
            {
                "entity": item.entity,
                "value": item.value,
                "start": item.start,
                "end": item.end,
                "confidence_entity": 1.0,
                "extractor": self.name,
            }
            for item in find_identifiers(text)
        ]
