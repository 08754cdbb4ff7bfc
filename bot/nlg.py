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

import re
from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.answers import review
from bot.answers.knowledge import clause_anchor, offers, part_name, topic_clauses
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
        kwargs = endpoint_config.kwargs if endpoint_config is not None else {}
        self.review = review.Recorder(review.ReviewSettings.from_endpoint(kwargs))

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

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        if utter_action.startswith(POLICY_ANSWER_PREFIX):
            answer = chosen_answer(tracker)
            if answer is not None:
                return await self.policy_answer(answer, tracker, output_channel, **kwargs)
        return await super().generate(utter_action, tracker, output_channel, **kwargs)

    async def policy_answer(
        self,
        answer: dict[str, Any],
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """The ranker's chosen answer, then the offer that follows it, as one message.

        Said here rather than by an action: the answer and its offer are known in the bot, so
        a policy question costs no call to the action server.
        """
        kind = answer.get("kind")
        brand = str(tracker.get_slot("brand") or "")
        if kind == "topic" and answer.get("topic"):
            message = await super().generate(
                f"utter_{answer['topic']}", tracker, output_channel, **kwargs
            )
            if message is not None and message.get("text") and output_channel not in VOICE_CHANNELS:
                clauses = topic_clauses().get(str(answer["topic"]), {})
                message["text"] = linked_citations(message["text"], clauses)
        elif kind == "quote" and answer.get("quote"):
            message = await super().generate(
                QUOTE_RESPONSE, tracker, output_channel, **kwargs, **quote_variables(answer, brand)
            )
        else:
            message = await super().generate(UNKNOWN_RESPONSE, tracker, output_channel, **kwargs)
        if message is None:
            return None
        # Inside a request the question is a digression: no second request on offer.
        offer = None if tracker.active_loop_name else offers().get(str(answer.get("offer") or ""))
        if offer is not None:
            offered = await super().generate(offer.response, tracker, output_channel, **kwargs)
            if offered is not None:
                message = _joined(message, offered, output_channel)
                message[OFFER_KEY] = offer.name
        message[ANSWER_KEY] = {k: answer.get(k) for k in ("kind", "topic", "clause", "score")}
        self._record_for_review(answer, tracker, brand, output_channel)
        return message

    def _record_for_review(
        self, answer: dict[str, Any], tracker: DialogueStateTracker, brand: str, channel: str
    ) -> None:
        """Abstentions, quotes and low-margin answers go to the privacy team's review, in the
        background (bot/answers/review.py): the reply does not wait."""
        if not review.worth_review(answer, self.review.settings.low_margin):
            return
        latest = tracker.latest_message
        body = review.record_body(
            answer,
            str(latest.text or "") if latest else "",
            brand,
            str(tracker.get_slot("lang") or ""),
            voice=channel in VOICE_CHANNELS,
        )
        if body is not None:
            self.review.record(body)


POLICY_ANSWER_PREFIX = "utter_ask_policy/"
QUOTE_RESPONSE = "utter_policy_passage"
UNKNOWN_RESPONSE = "utter_policy_unknown"
# Kept in the bot event's metadata: the offer open after this message, and what was answered.
OFFER_KEY = "offer"
ANSWER_KEY = "answer"


def chosen_answer(tracker: DialogueStateTracker) -> dict[str, Any] | None:
    """The ranker's answer to the latest message for the conversation's brand, if any."""
    latest = tracker.latest_message
    answer = (latest.parse_data.get("answer") if latest else None) or {}
    by_brand = answer.get("brands") or {}
    chosen = by_brand.get(tracker.get_slot("brand"))
    return chosen if isinstance(chosen, dict) else None


def quote_variables(answer: dict[str, Any], brand: str) -> dict[str, str]:
    part = int(answer.get("part") or 0)
    return {
        "passage": str(answer.get("quote") or ""),
        "clause_id": str(answer.get("clause") or ""),
        "clause_title": str(answer.get("title") or ""),
        "part_zh": part_name(brand, part, "zh"),
        "part_en": part_name(brand, part, "en"),
        "clause_link": f"policy/{brand}#{clause_anchor(str(answer.get('clause') or ''))}",
    }


# A curated answer's citation of the policy ("MINI 隐私政策第五部分（一）", "BMW policy, part V.1"),
# with the numbering under the part that some add.
_PART_NUMBER = {n: i for i, n in enumerate("一二三四五六七八九", 1)} | {
    n: i for i, n in enumerate(("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"), 1)
}
_CITATION = re.compile(
    r"(?<!\[)(MINI|BMW) (?:隐私政策(?:第([一二三四五六七八九])部分(?:（[一二三四五六七八九十]+）)?"
    r"(?:第\d+[项条])?|(开篇说明|引言))|policy, (?:parts? (IX|IV|V?I{1,3}|V|[1-9])(?:\.\d+)?"
    r"(?: \(\d+\))?(?: item \d+)?(?![A-Za-z0-9])|(introduction)))"
)
INTRODUCTION = "intro"


def linked_citations(text: str, clauses: dict[str, tuple[str, ...]]) -> str:
    """Each citation of a part as a link to the clause of that part the answer rests on.

    The chat renders `[citation](policy/<brand>#part-5-1)` as a link to the clause on the
    policy page; a part none of `clauses` is in stays as written (the page links the part).
    """

    def link(match: re.Match[str]) -> str:
        brand = match.group(1).lower()
        numeral = match.group(2) or match.group(4)
        part = str(_PART_NUMBER.get(numeral) or numeral) if numeral else INTRODUCTION
        for clause in clauses.get(brand, ()):
            pieces = clause.split(".")
            if len(pieces) > 1 and pieces[1] == part:
                return f"[{match.group(0)}](policy/{brand}#{clause_anchor(clause)})"
        return match.group(0)

    return _CITATION.sub(link, text)


def _joined(answer: dict[str, Any], offer: dict[str, Any], output_channel: str) -> dict[str, Any]:
    separator = " " if output_channel in VOICE_CHANNELS else "\n\n"
    texts = [t for t in (answer.get("text"), offer.get("text")) if t]
    joined = {**answer, "text": separator.join(texts)}
    if offer.get("buttons"):
        joined["buttons"] = [*(answer.get("buttons") or []), *offer["buttons"]]
    return joined
