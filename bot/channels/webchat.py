"""A web chat page served by Rasa itself, at GET /webhooks/webchat/.

The channel receives no messages: the page posts to the REST channel (/webhooks/rest/webhook) on
the same origin, so the browser needs no CORS and the REST channel's validation applies as is.
Only the files of bot/channels/webchat/ listed in STATIC_FILES are served (no directory walking),
with a strict Content-Security-Policy: the page loads nothing from other origins and runs no
inline script, which backs up the page's rule of rendering all chat text as text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

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


def _serve(name: str) -> HTTPResponse:
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        return response.json(
            {"error": {"code": "not_found", "message": "No such file.", "field": None,
                       "details": []}},
            status=404,
        )
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

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
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

        @webchat.route("/<name:str>", methods=["GET", "HEAD"])
        async def static_file(request: Request, name: str) -> HTTPResponse:
            return _serve(name)

        return webchat
