"""Input channel for a generic hotline IVR gateway: POST /webhooks/ivr/webhook.

The gateway posts one JSON event per caller action:
`{"call_id", "event": "call_start"|"speech"|"digits"|"silence"|"hangup", "caller"?, "text"?,
"digits"?, "lang"?: "zh"|"en", "brand"?: "mini"|"bmw"}` and plays back the answer, a JSON list
of prompts (see bot.channels.voice): `[{"say", "lang", "expect", "max_digits"?, "end_call",
"transfer_to"?}]`. `expect` is what the gateway listens for after the last prompt: `speech`,
`digits` (up to `max_digits`, or until `#`), `speech_or_digits` (whichever comes first: the
prompt offered keys, "按 1，…" or "press 0 for a person", and `max_digits` keys answer at
once), or `none`.

- The call id is the conversation's sender id. The caller number, lang and brand given on
  call_start are remembered for the call and sent as message metadata on every turn (the
  hotline verifies a caller by caller number plus phone password), with `channel: "ivr"`.
- call_start sends `/greet`; a lone `0` on the keypad sends `/request_human` and the answer
  transfers to an agent; hangup sends `/goodbye` and the answer ends the call. These intent
  payloads carry the call's lang and brand as entities (`/greet{"lang":"en"}`).
- silence does not reach the bot: the last prompts are repeated, and after MAX_SILENCES in a row
  the call ends politely.

The call's state lives in a CallStateStore (bot.channels.call_state): in memory, or in Redis when
replicas share calls (`call_state_url` in the credentials, IVR_CALL_STATE_URL wins). If the store
fails, the event is still answered, with what it tells itself.

Bad events get 400 with the project's error body, naming the field.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.call_state import CallStateError, CallStateStore, call_state_store
from bot.channels.rest import RequestError
from bot.channels.voice import (
    TTS_LANG,
    VoiceCollectingOutputChannel,
    build_prompts,
    intent_payload,
)
from contract import Brand, Channel, Language

EVENTS = ("call_start", "speech", "digits", "silence", "hangup")
LANGS = Language.values()
BRANDS = Brand.values()
MAX_CALL_ID_LENGTH = 128
MAX_TEXT_LENGTH = 1000
MAX_DIGITS_LENGTH = 32
MAX_SILENCES = 3

log = logging.getLogger(__name__)

_CALLER = re.compile(r"^\+?\d{3,20}$")
_DIGITS = re.compile(r"^[0-9*#]+$")

SILENCE_REPROMPT = {
    "zh": "抱歉，我没有听到您的声音。",
    "en": "Sorry, I didn't hear you.",
}
SILENCE_GOODBYE = {
    "zh": "很抱歉一直没有听到您的声音，本次通话将结束。如需帮助，请再次来电。再见。",
    "en": "I still can't hear you, so I'll end the call now. Please call again if you need help. "
    "Goodbye.",
}


class IvrOutput(VoiceCollectingOutputChannel):
    @classmethod
    def name(cls) -> str:
        return Channel.IVR.value


def _optional_choice(body: dict[str, Any], field: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if value not in allowed:
        raise RequestError(field, f"'{field}' must be one of: {', '.join(allowed)}.")
    return str(value)


def _required_string(body: dict[str, Any], field: str, max_length: int) -> str:
    value = body.get(field)
    if value is None:
        raise RequestError(field, f"'{field}' is required.", "missing_field")
    if not isinstance(value, str):
        raise RequestError(field, f"'{field}' must be a string.")
    value = value.strip()
    if not value:
        raise RequestError(field, f"'{field}' must not be empty.")
    if len(value) > max_length:
        raise RequestError(field, f"'{field}' must be at most {max_length} characters long.")
    return value


def parse_event(body: Any) -> dict[str, Any]:
    """The validated event; raises RequestError naming the first wrong field."""
    if not isinstance(body, dict):
        raise RequestError(None, "The request body must be a JSON object.", "invalid_body")
    event: dict[str, Any] = {"call_id": _required_string(body, "call_id", MAX_CALL_ID_LENGTH)}
    kind = body.get("event")
    if kind is None:
        raise RequestError("event", "'event' is required.", "missing_field")
    if kind not in EVENTS:
        raise RequestError("event", f"'event' must be one of: {', '.join(EVENTS)}.")
    event["event"] = kind
    event["lang"] = _optional_choice(body, "lang", LANGS)
    event["brand"] = _optional_choice(body, "brand", BRANDS)

    caller = body.get("caller")
    if kind == "call_start" and caller is None:
        raise RequestError("caller", "'caller' is required on call_start.", "missing_field")
    if caller is not None:
        if not isinstance(caller, str) or not _CALLER.match(caller.strip()):
            raise RequestError("caller", "'caller' must be a phone number like +8613800138000.")
        event["caller"] = caller.strip()
    if kind == "speech":
        event["text"] = _required_string(body, "text", MAX_TEXT_LENGTH)
    if kind == "digits":
        digits = _required_string(body, "digits", MAX_DIGITS_LENGTH)
        if not _DIGITS.match(digits):
            raise RequestError("digits", "'digits' may contain only 0-9, * and #.")
        # The terminating key is the gateway's, not part of the caller's answer.
        digits = digits.rstrip("#")
        if not digits:
            raise RequestError("digits", "'digits' must not be empty.")
        event["digits"] = digits
    return event


class IvrInput(InputChannel):
    """Hotline IVR gateway channel; answers with prompts the gateway speaks and listens for."""

    @classmethod
    def name(cls) -> str:
        return Channel.IVR.value

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        # The environment wins so every replica can be pointed at the shared store; empty
        # means in memory.
        url = os.environ.get("IVR_CALL_STATE_URL", credentials.get("call_state_url") or "")
        return cls(
            default_lang=str(credentials.get("default_lang", "zh")),
            store=call_state_store(str(url)),
        )

    def __init__(self, default_lang: str = "zh", store: CallStateStore | None = None) -> None:
        self.default_lang = default_lang if default_lang in LANGS else "zh"
        # call id -> {"caller", "lang", "brand", "silences", "last_prompts"}
        self.store: CallStateStore = store if store is not None else call_state_store(None)

    async def _call(self, event: dict[str, Any]) -> dict[str, Any]:
        """The call's state with what this event tells; a fresh one if the store fails."""
        try:
            stored = await self.store.get(event["call_id"])
        except CallStateError as error:
            log.warning("IVR call state unavailable, answering from the event alone: %s", error)
            stored = None
        call: dict[str, Any] = {"silences": 0, "last_prompts": [], **(stored or {})}
        for key in ("caller", "lang", "brand"):
            if event.get(key):
                call[key] = event[key]
        return call

    async def _keep(self, call_id: str, call: dict[str, Any] | None) -> None:
        """Saves the call's state, or forgets it (None); a failing store costs only the state."""
        try:
            if call is None:
                await self.store.delete(call_id)
            else:
                await self.store.save(call_id, call)
        except CallStateError as error:
            log.warning("IVR call state not saved: %s", error)

    def _metadata(self, call: dict[str, Any]) -> dict[str, Any]:
        metadata: dict[str, Any] = {"channel": self.name()}
        for key in ("caller", "lang", "brand"):
            if call.get(key):
                metadata[key] = call[key]
        return metadata

    def _silence(self, call: dict[str, Any]) -> list[dict[str, Any]]:
        call["silences"] += 1
        lang = call.get("lang") or self.default_lang
        if call["silences"] >= MAX_SILENCES:
            return [
                {
                    "say": SILENCE_GOODBYE[lang],
                    "lang": TTS_LANG[lang],
                    "expect": "none",
                    "end_call": True,
                }
            ]
        repeat = [dict(p) for p in call["last_prompts"] if p.get("say")]
        if not repeat:
            repeat = [{"say": "", "lang": TTS_LANG[lang], "expect": "speech", "end_call": False}]
        sorry = {
            "say": SILENCE_REPROMPT[lang],
            "lang": TTS_LANG[lang],
            "expect": "none",
            "end_call": False,
        }
        return [sorry, *repeat]

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        ivr = Blueprint("ivr_webhook", __name__)

        @ivr.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @ivr.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # sanic raises on invalid JSON
                body = None
            try:
                event = parse_event(body)
            except RequestError as error:
                return response.json(error.body(), status=400)

            call_id = event["call_id"]
            call = await self._call(event)
            kind = event["event"]
            if kind == "silence":
                prompts = self._silence(call)
                await self._keep(call_id, call)
                return response.json(prompts)
            call["silences"] = 0

            transfer = end_call = False
            lang, brand = call.get("lang"), call.get("brand")
            if kind == "call_start":
                text = intent_payload("greet", lang, brand)
            elif kind == "hangup":
                text, end_call = intent_payload("goodbye", lang, brand), True
            elif kind == "digits" and event["digits"] == "0":
                text, transfer = intent_payload("request_human", lang, brand), True
            elif kind == "digits":
                text = event["digits"]
            else:
                text = event["text"]

            collector = IvrOutput()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        call_id,
                        input_channel=self.name(),
                        metadata=self._metadata(call),
                    )
                )
            except Exception:
                # The bot failed; the next event still knows the caller this one told.
                await self._keep(call_id, call)
                raise
            prompts = build_prompts(
                collector.messages, lang or self.default_lang, transfer=transfer, end_call=end_call
            )
            if prompts[-1].get("end_call") or prompts[-1].get("transfer_to"):
                await self._keep(call_id, None)
            else:
                call["last_prompts"] = prompts
                await self._keep(call_id, call)
            return response.json(prompts)

        return ivr
