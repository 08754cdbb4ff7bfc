"""A message in neither Chinese nor English becomes the intent `other_language`.

The assistant understands Chinese and English only. A French or Japanese message would
otherwise be read as a policy question (and answered "the policy does not say"), or as Chinese
because of its kanji; instead a rule answers it in both languages, naming the two languages and
the hotline (data/rules/core.yml, `utter_other_language`).

Last in the pipeline, after the intent classifier and the answer ranker, whose choice it
overrides; the intent they chose stays in the ranking. Needs no training. What counts:

- Japanese kana, Korean hangul, or two or more letters of another script (Cyrillic, Arabic,
  Thai, ...) in a message without Chinese characters;
- Latin text with more function words or greetings of another European language ("je
  voudrais", "meine Daten", "hola") than English ones, or with no English word and accented
  letters (é, ü, ñ) in two or more words.

The words are in data/languages/words.yml. Short or unclear text (a name, "ok", pinyin, a
VIN) is left to the rest of the pipeline.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

OTHER_LANGUAGE_INTENT = "other_language"
# The script or language found, in the parse data for the logs and the review loop.
DETECTED_KEY = "other_language"

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SCRIPTS: dict[str, re.Pattern[str]] = {
    "ja": re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9d]"),
    "ko": re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
    "ar": re.compile(r"[\u0600-\u06ff\u0750-\u077f]"),
    "he": re.compile(r"[\u0590-\u05ff]"),
    "el": re.compile(r"[\u0370-\u03ff]"),
    "hi": re.compile(r"[\u0900-\u097f]"),
    "th": re.compile(r"[\u0e00-\u0e7f]"),
    "vi": re.compile(r"[\u1ea0-\u1ef9]"),
}
# Scripts that Chinese text borrows no letters from: present at all, they decide.
ALWAYS_FOREIGN = ("ja", "ko")
LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'’-]*")
# The accents of French, German, Spanish, Italian, Portuguese; not pinyin's tone marks (ǎ, ō).
ACCENTED = re.compile(r"[àâäáãåçèéêëìíîïñòóôöõøùúûüýÿßœæ]", re.IGNORECASE)
# Tone marks only pinyin writes (shānchú, wǒ): Chinese in Latin letters.
PINYIN_TONES = re.compile(r"[āēīōūǎěǐǒǔǖǘǚǜ]", re.IGNORECASE)

WORDS_FILE = Path(__file__).resolve().parents[2] / "data" / "languages" / "words.yml"


@functools.lru_cache(maxsize=1)
def _words() -> dict[str, frozenset[str]]:
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    return {key: frozenset(str(data[key]).lower().split()) for key in ("english", "foreign")}


def other_language(text: str) -> str | None:
    """The language or script of a message in neither Chinese nor English, else None."""
    han = len(HAN.findall(text))
    for code, script in SCRIPTS.items():
        letters = len(script.findall(text))
        if code in ALWAYS_FOREIGN and letters >= 2:
            return code
        if letters >= 2 and letters > han:
            return code
    if han or PINYIN_TONES.search(text):
        return None
    words = [w.lower().strip("'’-") for w in LATIN_WORD.findall(text)]
    english = sum(w in _words()["english"] for w in words)
    foreign = sum(w in _words()["foreign"] for w in words)
    accented = sum(bool(ACCENTED.search(w)) for w in words)
    # Some words are both ("was", "a"): the language with more of them wins.
    if foreign > english and (foreign >= 2 or len(words) <= 2 or accented):
        return "latin"
    if not english and accented >= 2:
        return "latin"
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OtherLanguageClassifier(GraphComponent):
    """Sets the intent `other_language` (confidence 1) on a message in a third language."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OtherLanguageClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or text.startswith(INTENT_MESSAGE_PREFIX):
                continue
            detected = other_language(text)
            if detected is None:
                continue
            intent = {INTENT_NAME_KEY: OTHER_LANGUAGE_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [
                r
                for r in message.get(INTENT_RANKING_KEY) or []
                if r.get(INTENT_NAME_KEY) != OTHER_LANGUAGE_INTENT
            ]
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
            message.set(DETECTED_KEY, detected, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
