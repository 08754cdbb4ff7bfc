"""Jieba tokenizer that copes with English and mixed Chinese/English messages."""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class MixedLanguageTokenizer(JiebaTokenizer):
    """JiebaTokenizer without the whitespace tokens jieba emits between Latin words.

    Jieba returns " " as a token of its own on "what is MINI", which turns a space into a
    feature for the count vectorizers and the lexical featurizer. Case is left alone: the
    featurizers lowercase where they need to, and identifiers keep their spelling.
    """

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        return [token for token in tokens if token.text.strip()]
