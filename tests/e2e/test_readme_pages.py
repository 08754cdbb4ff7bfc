"""Every page of the README's table answers on the running stack: the README's default ports
(5005 Rasa, 8000 the rights API) stand for the ports this stack runs on."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.docs import API_PORT, RASA_PORT, Page, readme_pages
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

PAGES = readme_pages()


@pytest.mark.parametrize(
    "page", PAGES, ids=[urlsplit(p.url).netloc + p.path_and_query for p in PAGES]
)
def test_readme_page_answers(stack: Stack, page: Page) -> None:
    base = {RASA_PORT: stack.rasa_url, API_PORT: stack.api_url}[page.port]
    # The console without a session shows its sign-in page.
    response = httpx.get(base + page.path_and_query, follow_redirects=True, timeout=30)
    assert response.status_code == 200, page.url
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.strip()
