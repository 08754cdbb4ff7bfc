"""Starting several Sanic channel apps in one test process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urljoin

import httpx
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sanic.handlers import ErrorHandler

from bot.channels.rest import ValidatingRestInput
from bot.channels.webchat import WebChatInput


def chat_channels_app(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Sanic:
    """The REST and web chat channels mounted the way rasa.core.channels.channel.register
    mounts them, on a new app."""
    app = Sanic(f"chat_channels_{uuid.uuid4().hex}")
    for channel in (ValidatingRestInput(), WebChatInput.from_credentials({})):
        prefix = urljoin("/webhooks/", channel.url_prefix())
        app.blueprint(channel.blueprint(on_new_message), url_prefix=prefix)
    return app


async def start_sanic_app(app: Sanic) -> None:
    """Sanic's start-up, made safe for several apps in one test process.

    Its TouchUp step rewrites methods of the Sanic class itself and cannot rewrite them twice.
    In test mode it keeps the originals and starts from them each time; if another app already
    rewrote them outside test mode (tests/bot/test_rest_channel.py), the rewritten class serves
    this app too and only the routing steps are left to do.
    """
    if getattr(Sanic, "__touched__", False) and not hasattr(Sanic, "_handle_request"):
        app.signalize()
        app.finalize()
        ErrorHandler.finalize(app.error_handler, config=app.config)
        app.state.is_started = True
        return
    Sanic.test_mode = True  # kept on: a later start-up must also start from the originals
    await app._startup()


_started: set[str] = set()


@asynccontextmanager
async def asgi_client(app: Sanic) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` in this process, the app started on first use."""
    if app.name not in _started:
        await start_sanic_app(app)
        _started.add(app.name)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rasa") as http:
        yield http
