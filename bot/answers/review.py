"""The bot's half of the review loop: a question it abstained on, answered with a quote, or
answered with a low margin is posted to the rights backend (`POST /v1/unanswered`, the bot's
API key), masked here as well as there.

Fire and forget: the post runs as its own asyncio task with a short timeout, so the reply never
waits for it; a backend that is down or slow costs one logged warning and the record, nothing
else. The backend's address and the bot key are the ones the action server uses
(RIGHTS_API_URL, RIGHTS_BOT_API_KEY or the dev secrets file); the margin below which a curated
answer is recorded is the nlg endpoint's `review_low_margin` in bot/endpoints*.yml.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from actions.settings import Settings as BackendSettings
from contract import AnswerKind, Brand, Channel, Language
from privacy.masking import mask_question

log = logging.getLogger(__name__)

PATH = "/v1/unanswered"
LOW_MARGIN = 0.15
TIMEOUT_S = 2.0
MAX_TEXT = 1000


@dataclass(frozen=True)
class ReviewSettings:
    api_url: str
    bot_api_key: str
    low_margin: float = LOW_MARGIN
    timeout_s: float = TIMEOUT_S

    @classmethod
    def from_endpoint(cls, kwargs: dict[str, Any] | None) -> ReviewSettings:
        backend = BackendSettings.from_env()
        kwargs = kwargs or {}
        return cls(
            api_url=backend.api_url,
            bot_api_key=backend.bot_api_key,
            low_margin=float(kwargs.get("review_low_margin", LOW_MARGIN)),
            timeout_s=float(kwargs.get("review_timeout", TIMEOUT_S)),
        )


def worth_review(answer: dict[str, Any], low_margin: float) -> bool:
    """An abstention, a quote, or a curated answer whose lead over the next topic is small."""
    kind = answer.get("kind")
    if kind in (AnswerKind.ABSTAIN, AnswerKind.QUOTE):
        return True
    return kind == AnswerKind.TOPIC and float(answer.get("margin") or 0.0) < low_margin


def record_body(
    answer: dict[str, Any], text: str, brand: str, lang: str, voice: bool
) -> dict[str, Any] | None:
    """The backend's body for one answer, the text masked; None when it cannot be recorded."""
    if brand not in Brand.values() or not text.strip():
        return None
    return {
        "brand": brand,
        "language": lang if lang in Language.values() else Language.ZH.value,
        "channel": (Channel.IVR if voice else Channel.CHAT).value,
        "text": mask_question(text.strip())[:MAX_TEXT],
        "answer_kind": str(answer.get("kind")),
        "topic": answer.get("topic") or None,
        "clause": answer.get("clause") or None,
        "score": min(1.0, max(0.0, float(answer.get("score") or 0.0))),
        "margin": min(1.0, max(-1.0, float(answer.get("margin") or 0.0))),
    }


class Recorder:
    """Posts review records in the background; keeps its tasks until they end."""

    def __init__(
        self, settings: ReviewSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._tasks: set[asyncio.Task[None]] = set()
        # One client per event loop, reused: building a client builds its TLS context, which
        # cost a fifth of the Rasa process's time when done for every post.
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def record(self, body: dict[str, Any]) -> asyncio.Task[None] | None:
        if not self.settings.bot_api_key:
            # No key, no backend to take it (a conversation test run without the API).
            log.debug("review record skipped: no bot API key")
            return None
        task = asyncio.get_running_loop().create_task(self._post(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _post(self, body: dict[str, Any]) -> None:
        s = self.settings
        try:
            response = await self._shared_client().post(
                PATH, json=body, headers={"X-API-Key": s.bot_api_key}
            )
            if response.status_code != 201:
                log.warning("review record refused: HTTP %s", response.status_code)
        except Exception as exc:  # never the customer's problem: logged, then dropped
            log.warning("review record not sent: %s", type(exc).__name__)

    def _shared_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop or self._client.is_closed:
            s = self.settings
            self._client = httpx.AsyncClient(
                base_url=s.api_url, timeout=s.timeout_s, transport=self._transport
            )
            self._client_loop = loop
        return self._client

    async def drain(self) -> None:
        """Waits for the posts still running (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
