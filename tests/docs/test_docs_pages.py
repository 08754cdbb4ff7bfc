"""The README's table of pages: each URL is on the port `scripts/run.sh` gives its process, and
answers there: the chat pages from the web chat channel in this process, the API's pages from
the rights API in a subprocess. tests/e2e/test_readme_pages.py asks the whole stack."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from rasa.core.channels.channel import UserMessage

from tests.support.api_process import running_api
from tests.support.docs import API_PORT, RASA_PORT, Page, readme_pages
from tests.support.sanic_apps import asgi_client, chat_channels_app

PAGES = readme_pages()
CHAT_PAGES = [p for p in PAGES if p.port == RASA_PORT]
API_PAGES = [p for p in PAGES if p.port == API_PORT]


async def _no_reply(message: UserMessage) -> None:
    return None


APP = chat_channels_app(_no_reply)


@pytest_asyncio.fixture
async def chat() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(APP) as http:
        yield http


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with running_api() as backend, httpx.Client(base_url=backend.url, timeout=10) as http:
        yield http


def test_every_page_is_on_the_port_of_rasa_or_the_api() -> None:
    assert len(PAGES) >= 8  # both brands and languages, both policies, console, both API docs
    assert all(p.url.startswith("http://127.0.0.1:") for p in PAGES)
    assert [p for p in PAGES if p.port not in (RASA_PORT, API_PORT)] == []


@pytest.mark.parametrize("page", CHAT_PAGES, ids=[p.path_and_query for p in CHAT_PAGES])
async def test_chat_page_answers(chat: httpx.AsyncClient, page: Page) -> None:
    response = await chat.get(page.path_and_query)
    assert response.status_code == 200, page.url
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("page", API_PAGES, ids=[p.path_and_query for p in API_PAGES])
def test_api_page_answers(api: httpx.Client, page: Page) -> None:
    # The console without a session shows its sign-in page.
    response = api.get(page.path_and_query, follow_redirects=True)
    assert response.status_code == 200, page.url
    assert response.headers["content-type"].startswith("text/html")
