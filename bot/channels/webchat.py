"""A web chat page served by Rasa itself, at GET /webhooks/webchat/.

The channel receives no messages: the page posts to the REST channel (/webhooks/rest/webhook) on
the same origin, so the browser needs no CORS and the REST channel's validation applies as is.
Only the files of bot/channels/webchat/ listed in STATIC_FILES are served (no directory walking),
with a strict Content-Security-Policy: the page loads nothing from other origins and runs no
inline script, which backs up the page's rule of rendering all chat text as text.

GET /webhooks/webchat/policy/<brand> is the brand's full policy (bot.channels.policy_page).
GET /webhooks/webchat/conversations/<sender>/transcript returns what the page showed in the
conversation's current session (bot.channels.transcript), so a reload keeps the conversation.
The conversation id is the unguessable random id the page keeps in the browser: who holds it
can already post into that conversation, and what the transcript shows is redacted as stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import policy_page
from bot.channels.rest import MAX_SENDER_LENGTH
from bot.channels.transcript import visible_transcript

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("webchat")
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "chat.js": "text/javascript; charset=utf-8",
    "chat.css": "text/css; charset=utf-8",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Small files that change with deployments: always revalidate rather than go stale.
    "Cache-Control": "no-cache",
}


# The ids the page makes (UUIDs) and any other id an app may use, without path or query syntax.
SENDER_ID = re.compile(rf"[A-Za-z0-9_.:@-]{{1,{MAX_SENDER_LENGTH}}}")
# A transcript is one customer's conversation: never kept by a cache on the way.
TRANSCRIPT_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}


def _error(status: int, code: str, message: str, field: str | None = None) -> HTTPResponse:
    return response.json(
        {"error": {"code": code, "message": message, "field": field, "details": []}},
        status=status,
        headers=TRANSCRIPT_HEADERS,
    )


async def _transcript(request: Request, sender: str) -> HTTPResponse:
    if not SENDER_ID.fullmatch(sender):
        return _error(400, "invalid_request", "'sender' is not a conversation id.", "sender")
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return _error(503, "unavailable", "The assistant is starting; try again shortly.")
    try:
        tracker = await agent.tracker_store.retrieve(sender)
    except Exception:  # a store that is down: the page starts empty rather than breaks
        logger.exception("transcript of a conversation could not be read")
        return _error(503, "unavailable", "The conversation cannot be read right now.")
    messages = visible_transcript(tracker.events) if tracker is not None else []
    return response.json({"sender": sender, "messages": messages}, headers=TRANSCRIPT_HEADERS)


def _serve(name: str) -> HTTPResponse:
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        return _error(404, "not_found", "No such file.")
    # Read per request: a few kilobytes, and an edited page shows without a restart.
    body = (STATIC_DIR / name).read_bytes()
    return response.raw(body, content_type=content_type, headers=SECURITY_HEADERS)


class WebChatInput(InputChannel):
    """Serves the web chat page; messages go through the `rest` channel."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebChatInput:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webchat = Blueprint("webchat_page", __name__)

        @webchat.route("/", methods=["GET", "HEAD"], strict_slashes=True)
        async def page(request: Request) -> HTTPResponse:
            return _serve("index.html")

        # Without the slash the page's relative links (chat.js, ../rest/webhook) would resolve
        # one level too high.
        @webchat.route("", methods=["GET", "HEAD"], strict_slashes=True)
        async def page_without_slash(request: Request) -> HTTPResponse:
            query = f"?{request.query_string}" if request.query_string else ""
            return response.redirect(f"{request.path}/{query}", status=308)

        @webchat.route("/conversations/<sender:str>/transcript", methods=["GET"])
        async def transcript(request: Request, sender: str) -> HTTPResponse:
            return await _transcript(request, sender)

        @webchat.route("/policy/<brand:str>", methods=["GET", "HEAD"])
        async def policy(request: Request, brand: str) -> HTTPResponse:
            if brand not in policy_page.BRANDS:
                return _error(404, "not_found", "No such policy.")
            return response.html(policy_page.render(brand), headers=SECURITY_HEADERS)

        @webchat.route("/<name:str>", methods=["GET", "HEAD"])
        async def static_file(request: Request, name: str) -> HTTPResponse:
            return _serve(name)

        return webchat
