"""Rasa's REST channel with request validation, registered under the same name `rest`.

POST /webhooks/rest/webhook answers 400 with the project's error body
`{"error": {"code", "message", "field", "details"}}` for a body that is not a JSON object,
a missing / empty / over-long `sender` or `message`, or bad `metadata`. Valid requests are
handed to Rasa's RestInput unchanged, metadata included, except that the channel writes the
customer's address into the metadata itself (`client_address`, bot.channels.client_address):
a value the client sends there is replaced, so nobody picks the address they are counted by.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.client_address import METADATA_KEY, client_address
from contract import Brand, Language

MAX_SENDER_LENGTH = 128
MAX_MESSAGE_LENGTH = 2000
METADATA_CHOICES = {"brand": Brand.values(), "lang": Language.values()}
METADATA_STRINGS = ("session_token",)


class RequestError(ValueError):
    def __init__(self, field: str | None, message: str, code: str = "invalid_request"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "field": self.field,
                "details": [],
            }
        }


def _required_text(body: dict[str, Any], field: str, max_length: int) -> None:
    value = body.get(field)
    if value is None:
        raise RequestError(field, f"'{field}' is required.", "missing_field")
    if not isinstance(value, str):
        raise RequestError(field, f"'{field}' must be a string.")
    if not value.strip():
        raise RequestError(field, f"'{field}' must not be empty.")
    if len(value) > max_length:
        raise RequestError(field, f"'{field}' must be at most {max_length} characters long.")


def validate_body(body: Any) -> None:
    """Raises RequestError naming the first wrong field of a webhook body."""
    if not isinstance(body, dict):
        raise RequestError(None, "The request body must be a JSON object.", "invalid_body")
    _required_text(body, "sender", MAX_SENDER_LENGTH)
    _required_text(body, "message", MAX_MESSAGE_LENGTH)

    metadata = body.get("metadata")
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise RequestError("metadata", "'metadata' must be a JSON object.")
    for key, allowed in METADATA_CHOICES.items():
        if key in metadata and metadata[key] not in allowed:
            raise RequestError(
                f"metadata.{key}", f"'metadata.{key}' must be one of: {', '.join(allowed)}."
            )
    for key in METADATA_STRINGS:
        if key in metadata and not isinstance(metadata[key], str):
            raise RequestError(f"metadata.{key}", f"'metadata.{key}' must be a string.")


class ValidatingRestInput(RestInput):
    """RestInput that rejects malformed webhook bodies before they reach the bot."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        """The client's metadata, with the address the request came from (never the client's
        own word for it)."""
        given = super().get_metadata(request)
        metadata = dict(given) if isinstance(given, dict) else {}
        metadata.pop(METADATA_KEY, None)
        address = client_address(request)
        if address:
            metadata[METADATA_KEY] = address
        return metadata or None

    def blueprint(self, on_new_message: Any) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.on_request
        async def validate(request: Request) -> HTTPResponse | None:
            if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook"):
                return None
            try:
                body = request.json
            except Exception:  # sanic raises on invalid JSON
                body = None
            try:
                validate_body(body)
            except RequestError as error:
                return response.json(error.body(), status=400)
            return None

        return blueprint
