"""Rasa's Twilio Voice channel with keypad digits, Chinese, signature checks, hang-up and transfer.

POST /webhooks/twilio_voice/webhook (name `twilio_voice`, as Rasa's own channel):

- every request must carry a valid X-Twilio-Signature (HMAC-SHA1 with the account's auth
  token over the full URL Twilio called plus the sorted POST parameters, base64), else 403;
- the conversation is the call (CallSid), the caller number (From) goes into the message
  metadata with `channel`, `lang` and, if the number's webhook URL carries `?brand=`, `brand`;
- the first request of a call (CallStatus ringing) sends `/greet`; SpeechResult or Digits are
  the caller's turn; a lone `0` sends `/request_human` and dials the agent; a finished call
  (status callback) sends `/goodbye`;
- answers are TwiML: the bot's replies spoken with the voice of their language, then a
  <Gather input="dtmf speech"> in that language (keys and speech are always both heard; a
  prompt that asks for digits or offers keys sets numDigits, so one press of "按 1" answers),
  or <Dial> / <Hangup/> when the bot transfers or ends the call. An empty Gather (silence)
  repeats the last reply with its keypad options, and ends the call after MAX_SILENCES in a
  row.

The reply language also goes into the Gather's action URL (`?lang=`), so the next turn's
metadata follows the language the caller last spoke.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.twilio_voice import TwilioVoiceInput
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot.channels.voice import (
    TAKES_DIGITS,
    VoiceCollectingOutputChannel,
    build_prompts,
    intent_payload,
)
from contract import Brand

log = logging.getLogger(__name__)

LANGS = ("zh", "en")
BRANDS = Brand.values()
DEFAULT_VOICES = {"zh": "Polly.Zhiyu", "en": "Polly.Joanna-Neural"}
DEFAULT_SPEECH_LANGUAGES = {"zh": "zh-CN", "en": "en-US"}
FINISHED_STATUSES = ("completed", "canceled", "busy", "failed", "no-answer")
MAX_SILENCES = 3
SILENCE_GOODBYE = {
    "zh": "很抱歉一直没有听到您的声音，本次通话将结束。再见。",
    "en": "I still can't hear you, so I'll end the call now. Goodbye.",
}
REPROMPT = {
    "zh": "抱歉，我没有听清，请再说一遍。",
    "en": "Sorry, I didn't catch that. Could you say it again?",
}
NO_AGENT = {
    "zh": "抱歉，现在无法为您转接人工服务，请稍后再拨。",
    "en": "Sorry, I can't put you through to an agent right now. Please call again later.",
}


def twilio_signature(auth_token: str, url: str, params: dict[str, list[str]]) -> str:
    """X-Twilio-Signature as Twilio computes it: HMAC-SHA1(url + key1 + value1 + ...)."""
    payload = url
    for key in sorted(params):
        for value in sorted(params[key]):
            payload += key + value
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> Iterable[str]:
    """The URL as called, and with / without the default port (proxies differ on it)."""
    yield url
    parts = urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    if parts.port is not None and parts.port == default_port:
        yield urlunsplit(parts._replace(netloc=parts.hostname or ""))
    elif parts.port is None and default_port is not None:
        netloc = f"{parts.hostname}:{default_port}"
        yield urlunsplit(parts._replace(netloc=netloc))


class TwilioVoiceOutput(VoiceCollectingOutputChannel):
    @classmethod
    def name(cls) -> str:
        return "twilio_voice"


class TwilioVoiceChannel(TwilioVoiceInput):
    """Twilio Voice for the hotline: see the module docstring."""

    @classmethod
    def name(cls) -> str:
        return "twilio_voice"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            auth_token=credentials.get("auth_token") or os.environ.get("TWILIO_AUTH_TOKEN"),
            agent_number=credentials.get("agent_number") or os.environ.get("TWILIO_AGENT_NUMBER"),
            public_url=credentials.get("public_url") or os.environ.get("TWILIO_PUBLIC_URL"),
            validate_signature=str(credentials.get("validate_signature", "true")).lower()
            != "false",
            default_lang=str(credentials.get("default_lang", "zh")),
            voices={**DEFAULT_VOICES, **(credentials.get("voices") or {})},
            speech_languages={
                **DEFAULT_SPEECH_LANGUAGES,
                **(credentials.get("speech_languages") or {}),
            },
            speech_timeout=str(credentials.get("speech_timeout", "3")),
            speech_model=str(credentials.get("speech_model", "default")),
        )

    def __init__(
        self,
        auth_token: str | None = None,
        agent_number: str | None = None,
        public_url: str | None = None,
        validate_signature: bool = True,
        default_lang: str = "zh",
        voices: dict[str, str] | None = None,
        speech_languages: dict[str, str] | None = None,
        speech_timeout: str = "3",
        speech_model: str = "default",
    ) -> None:
        self.voices = {**DEFAULT_VOICES, **(voices or {})}
        # Rasa's checks know no Chinese voice: they see the English one only.
        english_voice = self.voices["en"]
        super().__init__(
            initial_prompt="/greet",
            reprompt_fallback_phrase=REPROMPT["en"],
            assistant_voice=english_voice
            if english_voice in self.SUPPORTED_VOICES
            else "Polly.Joanna-Neural",
            speech_timeout=speech_timeout,
            speech_model=speech_model,
        )
        self.auth_token = auth_token
        self.agent_number = agent_number
        self.public_url = public_url.rstrip("/") if public_url else None
        self.validate_signature = validate_signature
        self.default_lang = default_lang if default_lang in LANGS else "zh"
        self.speech_languages = {**DEFAULT_SPEECH_LANGUAGES, **(speech_languages or {})}
        if validate_signature and not auth_token:
            log.warning(
                "twilio_voice has no auth token (credentials auth_token or TWILIO_AUTH_TOKEN):"
                " every webhook request will be refused."
            )

    # -- signature ---------------------------------------------------------------------

    def _signed_url(self, request: Request) -> str:
        if not self.public_url:
            return request.url
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{self.public_url}{request.path}{query}"

    def signature_valid(self, request: Request) -> bool:
        if not self.validate_signature:
            return True
        signature = request.headers.get("X-Twilio-Signature")
        if not self.auth_token or not signature:
            return False
        params = {key: list(values) for key, values in (request.form or {}).items()}
        return any(
            hmac.compare_digest(twilio_signature(self.auth_token, url, params), signature)
            for url in _url_variants(self._signed_url(request))
        )

    # -- TwiML -------------------------------------------------------------------------

    def _action_url(self, lang: str, brand: str | None, silences: int) -> str:
        query: dict[str, str | int] = {"lang": lang}
        if brand:
            query["brand"] = brand
        if silences:
            query["silences"] = silences
        return f"/webhooks/{self.name()}/webhook?{urlencode(query)}"

    def twiml(
        self,
        prompts: list[dict[str, Any]],
        brand: str | None = None,
        silences: int = 0,
    ) -> str:
        """TwiML for a turn's prompts (bot.channels.voice.build_prompts)."""
        twiml = VoiceResponse()
        last = prompts[-1]
        lang = "en" if last["lang"].startswith("en") else "zh"
        for prompt in prompts[:-1]:
            if prompt["say"]:
                prompt_lang = "en" if prompt["lang"].startswith("en") else "zh"
                twiml.say(prompt["say"], voice=self.voices[prompt_lang])

        if last.get("transfer_to") or last.get("end_call"):
            if last["say"]:
                twiml.say(last["say"], voice=self.voices[lang])
            if last.get("transfer_to") and self.agent_number:
                twiml.dial(self.agent_number)
            elif last.get("transfer_to"):
                twiml.say(NO_AGENT[lang], voice=self.voices[lang])
                twiml.hangup()
            else:
                twiml.hangup()
            return str(twiml)

        gather_options: dict[str, Any] = {
            "input": "dtmf speech",
            "action": self._action_url(lang, brand, silences),
            "method": "POST",
            "actionOnEmptyResult": True,
            "language": self.speech_languages[lang],
            "speechTimeout": self.speech_timeout,
            "speechModel": self.speech_model,
            "finishOnKey": "#",
        }
        if last.get("expect") in TAKES_DIGITS and last.get("max_digits"):
            gather_options["numDigits"] = last["max_digits"]
        gather = Gather(**gather_options)
        if last["say"]:
            gather.say(last["say"], voice=self.voices[lang])
        twiml.append(gather)
        return str(twiml)

    @staticmethod
    def _xml(body: str, status: int = 200) -> HTTPResponse:
        return response.text(body, status=status, content_type="text/xml")

    async def _last_bot_message(self, request: Request, sender_id: str) -> dict[str, Any] | None:
        """The last reply as it was said: its text and the buttons read as keypad options."""
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or agent.tracker_store is None:
            return None
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is None:
            return None
        last = next((e for e in reversed(tracker.events) if isinstance(e, BotUttered)), None)
        if last is None or not last.text:
            return None
        return {"text": last.text, "buttons": (last.data or {}).get("buttons") or []}

    # -- webhook -----------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        twilio = Blueprint("twilio_voice_webhook", __name__)

        @twilio.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @twilio.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.signature_valid(request):
                return self._xml(str(VoiceResponse()), status=403)

            form = request.form or {}
            call_sid = form.get("CallSid") or form.get("From")
            if not call_sid:
                return self._xml(str(VoiceResponse()), status=400)
            caller = form.get("From")
            status = (form.get("CallStatus") or "").lower()
            lang = request.args.get("lang")
            lang = lang if lang in LANGS else self.default_lang
            brand = request.args.get("brand")
            brand = brand if brand in BRANDS else None
            try:
                silences = max(0, int(request.args.get("silences") or 0))
            except ValueError:
                silences = 0
            speech = (form.get("SpeechResult") or "").strip()
            digits = (form.get("Digits") or "").strip().rstrip("#")

            transfer = end_call = False
            if status in FINISHED_STATUSES:
                text, end_call = intent_payload("goodbye", lang, brand), True
            elif digits == "0":
                text, transfer = intent_payload("request_human", lang, brand), True
            elif digits:
                text = digits
            elif speech:
                text = speech
            elif status == "ringing":
                text = intent_payload("greet", lang, brand)
            else:
                return self._xml(await self._silence(request, call_sid, lang, brand, silences))

            metadata: dict[str, Any] = {"channel": self.name(), "lang": lang}
            if caller:
                metadata["caller"] = caller
            if brand:
                metadata["brand"] = brand
            collector = TwilioVoiceOutput()
            await on_new_message(
                UserMessage(text, collector, call_sid, input_channel=self.name(), metadata=metadata)
            )
            if status in FINISHED_STATUSES:
                # The caller is gone: nothing to say, only close the call.
                twiml = VoiceResponse()
                twiml.hangup()
                return self._xml(str(twiml))
            prompts = build_prompts(collector.messages, lang, transfer=transfer, end_call=end_call)
            return self._xml(self.twiml(prompts, brand))

        return twilio

    async def _silence(
        self, request: Request, call_sid: str, lang: str, brand: str | None, silences: int
    ) -> str:
        silences += 1
        if silences >= MAX_SILENCES:
            goodbye = [
                {"say": SILENCE_GOODBYE[lang], "lang": lang, "expect": "none", "end_call": True}
            ]
            return self.twiml(goodbye, brand)
        last = await self._last_bot_message(request, call_sid)
        prompts = build_prompts([last or {"text": REPROMPT[lang]}], lang)
        return self.twiml(prompts, brand, silences)
