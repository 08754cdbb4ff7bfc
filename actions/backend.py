"""Async client of the rights backend (/v1).

Retries are bounded and exponential. A call is retried only when repeating it cannot do harm:
connect errors for every call (the request never reached the server); timeouts and 5xx only for
reads and for ticket filing, which carries an Idempotency-Key. 4xx answers are never retried.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from actions.settings import Settings, get_settings

log = logging.getLogger(__name__)


class BackendUnavailable(Exception):
    """The backend could not be reached or kept failing (connect error, timeout, 5xx)."""


class BackendError(Exception):
    """A 4xx answer, with the contract's error body."""

    def __init__(
        self,
        status: int,
        code: str = "",
        message: str = "",
        field: str | None = None,
        retry_after_s: int | None = None,
        details: list[Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after_s = retry_after_s
        self.details = details or []


class _Transient(Exception):
    """Internal: a failure worth another attempt."""


_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)
_TIMEOUTS = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout, httpx.RemoteProtocolError)


def _error_from(response: httpx.Response) -> BackendError:
    try:
        body = response.json().get("error") or {}
    except (ValueError, AttributeError):
        body = {}
    retry_after: int | None = None
    header = response.headers.get("Retry-After")
    if header and header.strip().isdigit():
        retry_after = int(header.strip())
    return BackendError(
        status=response.status_code,
        code=str(body.get("code") or ""),
        message=str(body.get("message") or ""),
        field=body.get("field"),
        retry_after_s=retry_after,
        details=list(body.get("details") or []),
    )


class RightsClient:
    def __init__(
        self,
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        # Tests inject a transport to simulate a failing backend.
        self.transport = transport

    def _headers(self, proof: str | None = None, idempotency_key: str | None = None) -> dict:
        headers = {"X-API-Key": self.settings.bot_api_key, "Accept": "application/json"}
        if proof:
            headers["X-Subject-Proof"] = proof
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def _request(
        self,
        method: str,
        path: str,
        *,
        safe_to_repeat: bool,
        json: dict | None = None,
        headers: dict | None = None,
    ) -> httpx.Response:
        s = self.settings
        timeout = httpx.Timeout(s.timeout_s, connect=s.connect_timeout_s)

        async def attempt(client: httpx.AsyncClient) -> httpx.Response:
            try:
                response = await client.request(method, path, json=json, headers=headers)
            except _CONNECT_ERRORS as exc:
                raise _Transient(type(exc).__name__) from exc
            except _TIMEOUTS as exc:
                if safe_to_repeat:
                    raise _Transient(type(exc).__name__) from exc
                raise BackendUnavailable(type(exc).__name__) from exc
            if response.status_code >= 500:
                if safe_to_repeat:
                    raise _Transient(f"HTTP {response.status_code}")
                raise BackendUnavailable(f"HTTP {response.status_code}")
            return response

        try:
            async with httpx.AsyncClient(
                base_url=s.api_url, timeout=timeout, transport=self.transport
            ) as client:
                async for try_ in AsyncRetrying(
                    stop=stop_after_attempt(s.attempts),
                    wait=wait_exponential(
                        multiplier=s.backoff_initial_s, max=s.backoff_max_s
                    ),
                    retry=retry_if_exception_type(_Transient),
                    reraise=True,
                ):
                    with try_:
                        return await attempt(client)
        except _Transient as exc:
            # Path only: bodies may hold mobile numbers or codes.
            log.warning("rights backend unavailable: %s %s (%s)", method, path, exc)
            raise BackendUnavailable(str(exc)) from exc
        except httpx.HTTPError as exc:
            log.warning("rights backend error: %s %s (%s)", method, path, type(exc).__name__)
            raise BackendUnavailable(type(exc).__name__) from exc
        raise BackendUnavailable("no attempt made")  # pragma: no cover

    @staticmethod
    def _json(response: httpx.Response, *expected: int) -> dict:
        if response.status_code not in expected:
            raise _error_from(response)
        try:
            data = response.json()
        except ValueError as exc:
            raise BackendUnavailable("invalid JSON from backend") from exc
        if not isinstance(data, dict):
            raise BackendUnavailable("unexpected body from backend")
        return data

    async def start_verification(
        self, mobile: str, channel: str = "chat", language: str = "zh", method: str = "sms_code"
    ) -> dict:
        body = {"method": method, "mobile": mobile, "channel": channel, "language": language}
        response = await self._request(
            "POST", "/v1/verifications", safe_to_repeat=False, json=body, headers=self._headers()
        )
        return self._json(response, 200, 201)

    async def check_verification(self, verification_id: str, code: str) -> dict:
        response = await self._request(
            "POST",
            f"/v1/verifications/{verification_id}/check",
            safe_to_repeat=False,
            json={"code": code},
            headers=self._headers(),
        )
        return self._json(response, 200)

    async def app_session(self, session_token: str) -> dict:
        response = await self._request(
            "POST",
            "/v1/verifications/app-session",
            safe_to_repeat=False,
            json={"session_token": session_token},
            headers=self._headers(),
        )
        return self._json(response, 200, 201)

    async def file_ticket(self, proof: str, idempotency_key: str, body: dict) -> dict:
        response = await self._request(
            "POST",
            "/v1/tickets",
            safe_to_repeat=True,
            json=body,
            headers=self._headers(proof, idempotency_key),
        )
        return self._json(response, 200, 201)

    async def get_ticket(self, proof: str, reference: str) -> dict | None:
        """The subject's own ticket, or None when it is not theirs or does not exist."""
        response = await self._request(
            "GET", f"/v1/tickets/{reference}", safe_to_repeat=True, headers=self._headers(proof)
        )
        if response.status_code == 404:
            return None
        return self._json(response, 200)

    async def my_tickets(self, proof: str) -> list[dict]:
        response = await self._request(
            "GET", "/v1/subjects/me/tickets", safe_to_repeat=True, headers=self._headers(proof)
        )
        items = self._json(response, 200).get("items") or []
        return [item for item in items if isinstance(item, dict)]
