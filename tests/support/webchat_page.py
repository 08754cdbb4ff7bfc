"""The web chat page without a stack: its own files, its policy pages and a scripted
transcript served by request interception, so browser tests drive the real page alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.channels import policy_page

# The files bot.channels.webchat serves (not imported: the browser tests run without Rasa).
STATIC_DIR = Path(policy_page.__file__).with_name("webchat")
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "chat.js": "text/javascript; charset=utf-8",
    "chat.css": "text/css; charset=utf-8",
}

CHAT_URL = "https://chat.example.test/webhooks/webchat/"  # https: crypto.randomUUID works


def static_server(transcript: list[dict] | None = None) -> Callable[[Any], None]:
    """The channel's files, its policy pages and (scripted) the transcript of any conversation."""

    def serve(route: Any) -> None:
        name = route.request.url.split("/webhooks/webchat/", 1)[1].split("?")[0] or "index.html"
        if name.startswith("policy/") and name.split("/")[1] in policy_page.BRANDS:
            route.fulfill(
                status=200,
                content_type="text/html; charset=utf-8",
                body=policy_page.render(name.split("/")[1]),
            )
        elif name.startswith("conversations/") and transcript is not None:
            route.fulfill(
                status=200,
                content_type="application/json",
                body=json.dumps({"messages": transcript}),
            )
        elif name in STATIC_FILES:
            route.fulfill(
                status=200, content_type=STATIC_FILES[name], body=(STATIC_DIR / name).read_bytes()
            )
        else:
            route.fulfill(status=404, body="")

    return serve


def kept_conversation(brand: str, sender: str, idle_minutes: float = 1) -> str:
    """An init script: this device holds `sender` as the brand's conversation, last used
    `idle_minutes` ago (set once, so that a reload sees what the page itself stored)."""
    return (
        f"if (!sessionStorage.getItem('kept.{brand}')) {{"
        f" localStorage.setItem('privacy-webchat.sender.{brand}', {json.dumps(sender)});"
        f" localStorage.setItem('privacy-webchat.active.{brand}',"
        f" String(Date.now() - {idle_minutes} * 60000));"
        f" sessionStorage.setItem('kept.{brand}', '1'); }}"
    )
