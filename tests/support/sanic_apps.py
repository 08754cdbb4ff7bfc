"""Starting several Sanic channel apps in one test process."""

from __future__ import annotations

from sanic import Sanic
from sanic.handlers import ErrorHandler


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
