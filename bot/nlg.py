"""Response generator: brand facts from one table, one set of variations for both voice channels.

Named in `bot/endpoints*.yml` (`nlg: type: bot.nlg.BrandResponseGenerator`); Rasa builds it with
the domain and otherwise chooses and fills variations as its templated generator does.

- Brand facts: a response writes `{hotline}`, `{email}`, `{operator}`, `{deadline}` (the brand
  in the `brand` slot, in the language of the `lang` slot) or `{mini_hotline}`, `{bmw_email}`, …
  (either brand, for texts that name both) instead of copies of `data/policy/rights.yml`'s
  `brands`. Slots and the values an action passes win over them. Rasa leaves a text whose
  variable has no value unfilled altogether, so `{hotline}` belongs only in variations that
  name a brand in their condition.
- Voice: the IVR gateway and Twilio Voice say the same things, so variations are written once
  as `channel: voice`. For those output channels a variation of the channel's own name still
  comes first; otherwise the `voice` ones are chosen, falling back to the channel-less ones as
  Rasa does. The channels make the text speakable (numbers digit by digit) themselves.
"""

from __future__ import annotations

from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from contract import BRANDS, brand_facts
from contract.brands import BrandFacts

VOICE = "voice"
VOICE_CHANNELS = ("ivr", "twilio_voice")


def _facts_variables(facts: BrandFacts, lang: str, prefix: str = "") -> dict[str, str]:
    return {
        f"{prefix}hotline": facts.hotline,
        f"{prefix}email": facts.email,
        f"{prefix}operator": facts.operator_in(lang),
        f"{prefix}deadline": facts.deadline(lang),
    }


def brand_variables(brand: Any, lang: Any) -> dict[str, str]:
    """The brand-fact variables of a response: both brands by prefix, the slot's brand plain."""
    lang = str(lang or "zh")
    variables: dict[str, str] = {}
    for key, each in BRANDS.items():
        variables |= _facts_variables(each, lang, prefix=f"{key.value}_")
    facts = brand_facts(brand if isinstance(brand, str) else None)
    if facts is not None:
        variables |= _facts_variables(facts, lang)
    return variables


class BrandResponseGenerator(TemplatedNaturalLanguageGenerator):
    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        domain: Domain | None = None,
        responses: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        if responses is None:
            responses = domain.responses if domain is not None else {}
        super().__init__(responses)

    def variation_channel(self, utter_action: str, output_channel: str) -> str:
        """The channel name the variations are chosen by."""
        if output_channel not in VOICE_CHANNELS:
            return output_channel
        own = any(v.get("channel") == output_channel for v in self.responses.get(utter_action, []))
        return output_channel if own else VOICE

    def _random_response_for(
        self, utter_action: str, output_channel: str, filled_slots: dict[str, Any]
    ) -> dict[str, Any] | None:
        channel = self.variation_channel(utter_action, output_channel)
        return super()._random_response_for(utter_action, channel, filled_slots)

    @staticmethod
    def _response_variables(filled_slots: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        slots = filled_slots or {}
        return brand_variables(slots.get("brand"), slots.get("lang")) | slots | kwargs
