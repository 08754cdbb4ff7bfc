"""The one error body for every 4xx/5xx, and the handlers that produce it."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("api.errors")


ERROR_DETAIL_EXAMPLE: JsonDict = {
    "code": "invalid_request",
    "message": "'mobile' must be at least 3 characters long",
    "field": "body.mobile",
    "details": [],
}
ERROR_EXAMPLE: JsonDict = {"error": ERROR_DETAIL_EXAMPLE}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ERROR_DETAIL_EXAMPLE]})

    code: str
    message: str
    field: str | None = None
    details: list[dict[str, Any]] = []


class ErrorBody(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ERROR_EXAMPLE]})

    error: ErrorDetail


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details or []
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        error=ErrorDetail(code=code, message=message, field=field, details=details or [])
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def dotted(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"field": dotted(e.get("loc", ())), "type": e.get("type"), "message": e.get("msg")}
        | ({"ctx": {k: _jsonable(v) for k, v in e["ctx"].items()}} if e.get("ctx") else {})
        for e in errors
    ]


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
}


# A JSON escape for NUL: \u0000 preceded by an even number of backslashes. The text of a
# literal backslash followed by u0000 (written \\u0000 in JSON) is no NUL and is accepted.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _form_nul(request: Request, body: bytes) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith("application/x-www-form-urlencoded") and b"%00" in body


def json_error_message(body: bytes, error: dict[str, Any]) -> str:
    """Where a JSON body stops parsing, in words: line, column and character."""
    loc = error.get("loc", ())
    position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    reason = str((error.get("ctx") or {}).get("error") or "it cannot be parsed")
    message = "the body is not valid JSON: " + reason[:1].lower() + reason[1:]
    if position is None:
        return message
    before = body.decode("utf-8", errors="replace")[:position]
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return f"{message} at line {line}, column {column} (character {position + 1})"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            exc.status, exc.code, exc.message, exc.field, exc.details, exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return error_response(
                422,
                "invalid_json",
                json_error_message(await req.body(), first),
                "body",
                validation_details(errors),
            )
        field = dotted(first.get("loc", ())) or None
        return error_response(
            422,
            "validation_error",
            f"{field}: {first.get('msg', 'invalid')}" if field else "invalid request",
            field,
            validation_details(errors),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(
            exc.status_code, code, str(exc.detail), None, None, getattr(exc, "headers", None)
        )

    @app.exception_handler(DataError)
    async def _data_error(_req: Request, exc: DataError) -> JSONResponse:
        # Values the database cannot hold (the NUL guard should catch them first).
        return error_response(422, "invalid_value", "a value cannot be stored as sent")

    @app.middleware("http")
    async def _refuse_nul(request: Request, call_next: Any) -> Any:
        # PostgreSQL text cannot hold NUL characters; refuse them at the door, wherever sent.
        raw = request.url.path + "?" + request.url.query
        if "\x00" in raw or "%00" in raw or any("\x00" in v for v in request.headers.values()):
            return error_response(
                400, "nul_character", "NUL characters are not accepted", "request"
            )
        if request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()
            if b"\x00" in body or _JSON_NUL.search(body) or _form_nul(request, body):
                return error_response(
                    400, "nul_character", "NUL characters are not accepted", "body"
                )
        return await call_next(request)

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "internal error")


# Declared on routes so that the OpenAPI document describes the error answers.
def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    # 400 (NUL guard), 413 (body size limit) and 422 (validation) can answer any request.
    return {
        s: {"model": ErrorBody, "description": _HTTP_CODES.get(s, "error")}
        for s in sorted({400, 413, 422, *statuses})
    }
