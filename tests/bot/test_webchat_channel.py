"""The web chat channel serves its page and static files beside the REST channel."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urljoin

import httpx
import pytest
import pytest_asyncio
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.rest import ValidatingRestInput
from bot.channels.webchat import STATIC_DIR, STATIC_FILES, WebChatInput
from tests.support.sanic_apps import start_sanic_app

PAGE = "/webhooks/webchat/"


async def _on_new_message(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, f"echo {message.text}")


def _build_app() -> Sanic:
    """Both channels mounted the way rasa.core.channels.channel.register mounts them."""
    app = Sanic(f"webchat_test_{uuid.uuid4().hex}")
    for channel in (ValidatingRestInput(), WebChatInput.from_credentials({})):
        prefix = urljoin("/webhooks/", channel.url_prefix())
        app.blueprint(channel.blueprint(_on_new_message), url_prefix=prefix)
    return app


APP = _build_app()
_started: list[bool] = []


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    if not _started:
        await start_sanic_app(APP)
        _started.append(True)
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://rasa") as http:
        yield http


def test_channel_name() -> None:
    assert WebChatInput.name() == "webchat"
    assert WebChatInput().url_prefix() == "webchat"


async def test_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get(PAGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert response.content == (STATIC_DIR / "index.html").read_bytes()
    assert 'src="chat.js"' in html and 'href="chat.css"' in html
    assert 'aria-live="polite"' in html
    assert 'name="viewport"' in html


async def test_page_without_slash_redirects(client: httpx.AsyncClient) -> None:
    # Relative links in the page only resolve from the URL with the slash.
    response = await client.get("/webhooks/webchat?brand=bmw")
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/webhooks/webchat/?brand=bmw"


@pytest.mark.parametrize(("name", "content_type"), sorted(STATIC_FILES.items()))
async def test_static_files(client: httpx.AsyncClient, name: str, content_type: str) -> None:
    response = await client.get(f"{PAGE}{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == (STATIC_DIR / name).read_bytes()
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp


@pytest.mark.parametrize(
    "path", ["nope.js", "..%2Fwebchat.py", "%2E%2E%2F%2E%2E%2Fcredentials.yml", "webchat.py"]
)
async def test_only_listed_files(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"{PAGE}{path}")
    assert response.status_code == 404
    assert b"import" not in response.content


async def test_page_posts_to_the_rest_channel(client: httpx.AsyncClient) -> None:
    """Same origin: the URL the script posts to answers, with the REST channel's validation."""
    script = (STATIC_DIR / "chat.js").read_text("utf-8")
    assert '"../rest/webhook"' in script
    url = httpx.URL(f"http://rasa{PAGE}").join("../rest/webhook")
    assert url.path == "/webhooks/rest/webhook"
    body = {"sender": "s1", "message": "你好", "metadata": {"brand": "mini", "lang": "zh"}}
    response = await client.post(url.path, json=body)
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "s1", "text": "echo 你好"}]
    bad = await client.post(url.path, json={**body, "metadata": {"brand": "audi"}})
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "metadata.brand"


async def test_webchat_receives_no_messages(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{PAGE}webhook", json={"sender": "s1", "message": "hi"})
    assert response.status_code in (404, 405)


def test_no_external_assets_and_no_html_injection() -> None:
    for name in STATIC_FILES:
        text = (STATIC_DIR / name).read_text("utf-8")
        # No CDN or other origin: every asset comes from this folder.
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), name
        assert "@import" not in text, name
    script = (STATIC_DIR / "chat.js").read_text("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
