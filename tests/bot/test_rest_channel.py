from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.client_address import TRUSTED_PROXIES_ENV
from bot.channels.rest import MAX_MESSAGE_LENGTH, ValidatingRestInput

URL = "/webhooks/rest/webhook"


Client = tuple[httpx.AsyncClient, list[UserMessage]]


INBOX: list[UserMessage] = []


async def _on_new_message(message: UserMessage) -> None:
    INBOX.append(message)
    await message.output_channel.send_text_message(message.sender_id, f"echo {message.text}")


def _build_app() -> Sanic:
    """The channel's blueprint mounted the way Rasa mounts input channels."""
    channel = ValidatingRestInput()
    assert channel.name() == "rest"
    app = Sanic(f"rest_test_{uuid.uuid4().hex}")
    # Touch-up rewrites Sanic's request classes once per process; leave it to the next app
    # another suite may start in the same process.
    app.config.TOUCHUP = False
    app.blueprint(channel.blueprint(_on_new_message), url_prefix=f"/webhooks/{channel.name()}")
    return app


# One app for the module: Sanic apps are registered by name and started once.
APP = _build_app()
_started: list[bool] = []


@pytest_asyncio.fixture
async def client() -> AsyncIterator[Client]:
    if not _started:
        await APP._startup()
        _started.append(True)
    INBOX.clear()
    transport = httpx.ASGITransport(app=APP)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://rasa") as http:
        yield http, INBOX


async def post(client: Client, body: Any) -> tuple[int, Any]:
    response = await client[0].post(URL, json=body)
    return response.status_code, response.json()


async def test_valid_message_behaves_like_rasa_rest(client: Client) -> None:
    inbox = client[1]
    metadata = {"brand": "mini", "lang": "zh", "session_token": "abc", "extra": 1}
    status, body = await post(client, {"sender": "u1", "message": "你好", "metadata": metadata})
    assert status == 200
    assert body == [{"recipient_id": "u1", "text": "echo 你好"}]
    # ... and the address the request came from (the test client's, loopback).
    assert inbox[0].metadata == {**metadata, "client_address": "127.0.0.1"}
    assert inbox[0].input_channel == "rest"


async def test_the_metadata_carries_the_address_the_request_came_from(client: Client) -> None:
    """The backend limits verifications per customer address: the channel says it, the
    client cannot, not even through a forwarding header when it is no trusted proxy."""
    http, inbox = client
    spoofed = {"sender": "u1", "message": "hi", "metadata": {"client_address": "203.0.113.9"}}
    headers = {"X-Forwarded-For": "198.51.100.7", "X-Real-IP": "198.51.100.8"}
    assert (await http.post(URL, json=spoofed, headers=headers)).status_code == 200
    assert (await http.post(URL, json={"sender": "u2", "message": "hi"})).status_code == 200
    assert [m.metadata for m in inbox] == [{"client_address": "127.0.0.1"}] * 2


async def test_behind_a_trusted_proxy_the_forwarded_client_is_the_address(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, inbox = client
    monkeypatch.setenv(TRUSTED_PROXIES_ENV, "127.0.0.1, 10.0.0.5")
    body = {"sender": "u1", "message": "hi"}
    # The rightmost hop that is no trusted proxy: what the client wrote before it is ignored.
    forwarded = {"X-Forwarded-For": "192.0.2.66, 198.51.100.7, 10.0.0.5"}
    assert (await http.post(URL, json=body, headers=forwarded)).status_code == 200
    assert (await http.post(URL, json=body, headers={"X-Real-IP": "198.51.100.8"})).status_code
    assert (await http.post(URL, json=body, headers={"X-Forwarded-For": "junk"})).status_code
    assert [m.metadata["client_address"] for m in inbox] == [
        "198.51.100.7",
        "198.51.100.8",
        "127.0.0.1",
    ]


async def test_metadata_is_optional(client: Client) -> None:
    assert (await post(client, {"sender": "u1", "message": "hi"}))[0] == 200
    assert (await post(client, {"sender": "u1", "message": "hi", "metadata": None}))[0] == 200


async def test_health_route_still_there(client: Client) -> None:
    response = await client[0].get("/webhooks/rest/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "hi"}, "sender"),
        ({"sender": "", "message": "hi"}, "sender"),
        ({"sender": "   ", "message": "hi"}, "sender"),
        ({"sender": 42, "message": "hi"}, "sender"),
        ({"sender": "x" * 129, "message": "hi"}, "sender"),
        ({"sender": "u1"}, "message"),
        ({"sender": "u1", "message": ""}, "message"),
        ({"sender": "u1", "message": ["hi"]}, "message"),
        ({"sender": "u1", "message": "x" * (MAX_MESSAGE_LENGTH + 1)}, "message"),
        ({"sender": "u1", "message": "hi", "metadata": "mini"}, "metadata"),
        ({"sender": "u1", "message": "hi", "metadata": ["mini"]}, "metadata"),
        ({"sender": "u1", "message": "hi", "metadata": {"brand": "audi"}}, "metadata.brand"),
        ({"sender": "u1", "message": "hi", "metadata": {"brand": None}}, "metadata.brand"),
        ({"sender": "u1", "message": "hi", "metadata": {"lang": "fr"}}, "metadata.lang"),
        (
            {"sender": "u1", "message": "hi", "metadata": {"session_token": 5}},
            "metadata.session_token",
        ),
    ],
)
async def test_bad_bodies_name_the_field(client: Client, body: dict[str, Any], field: str) -> None:
    inbox = client[1]
    status, payload = await post(client, body)
    assert status == 400
    assert payload["error"]["field"] == field
    assert payload["error"]["code"]
    assert payload["error"]["message"]
    assert inbox == []


async def test_body_not_an_object(client: Client) -> None:
    inbox = client[1]
    status, payload = await post(client, ["hi"])
    assert status == 400
    assert payload["error"]["code"] == "invalid_body"
    response = await client[0].post(
        URL, content=b"not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert inbox == []


async def test_max_length_message_is_accepted(client: Client) -> None:
    status, _ = await post(client, {"sender": "u1", "message": "x" * MAX_MESSAGE_LENGTH})
    assert status == 200
