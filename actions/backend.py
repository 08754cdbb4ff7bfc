"""Async client of the rights backend (/v1).

Retries are bounded and exponential. A call is retried only when repeating it cannot do harm:
connect errors for every call (the request never reached the server); timeouts and 5xx only for
reads and for ticket filing, which carries an Idempotency-Key. 4xx answers are never retried.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from actions.formatting import parse_iso
from actions.settings import Settings, get_settings
from contract import Assurance, Channel, Language, Status

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


# The API's answer when a request would change nothing (already unsubscribed, already withdrawn).
ALREADY_IN_EFFECT = "already_in_effect"


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


class CheckStatus(str, Enum):
    """The outcome of a code or password check (the API's CheckOut.status)."""

    VERIFIED = "verified"
    INVALID = "invalid"
    LOCKED = "locked"
    EXPIRED = "expired"


# What the API keeps of a header the bot says about its customer (api.core.clients).
MAX_HEADER = 128
_HEADER_SAFE = re.compile(rf"[\x20-\x7e]{{1,{MAX_HEADER}}}")


def _header_value(value: str) -> str:
    """A header value that names the same thing every time: as it is when it is short
    printable ASCII, else a digest (a long or non-ASCII id must not be cut into another's)."""
    value = value.strip()
    if _HEADER_SAFE.fullmatch(value):
        return value
    return "sha256-" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:48]


@dataclass(frozen=True)
class Conversation:
    """Whom the bot speaks for on a call: the backend counts its limits per conversation, per
    customer address and per caller line, and binds proofs it re-issues to the conversation.
    Without these every chat customer would count as the action server's one address."""

    id: str
    client_address: str | None = None
    caller_line: str | None = None

    def headers(self) -> dict[str, str]:
        named = {
            "X-Conversation-Id": self.id,
            "X-Client-Address": self.client_address,
            "X-Caller-Line": self.caller_line,
        }
        return {name: _header_value(value) for name, value in named.items() if value}


def _time(value: Any) -> datetime | None:
    return parse_iso(str(value)) if value else None


@dataclass(frozen=True)
class Challenge:
    """A started verification: an SMS code was sent, or the phone password is to be asked."""

    id: str
    masked_mobile: str
    attempts_left: int | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> Challenge:
        return cls(
            id=str(data.get("id")),
            masked_mobile=str(data.get("masked_mobile") or ""),
            attempts_left=data.get("attempts_left"),
        )


@dataclass(frozen=True)
class Proof:
    """A verified subject: the short-lived proof and who it proves."""

    token: str
    expires_at: str | None
    assurance: str | None
    customer_id: str | None
    brand: str | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> Proof:
        """A proof the backend re-issued from the conversation's check (ProofOut)."""
        if not data.get("proof"):
            raise BackendUnavailable("a re-issued proof without a token")
        return cls(
            token=str(data["proof"]),
            expires_at=data.get("proof_expires_at"),
            assurance=data.get("assurance"),
            customer_id=data.get("customer_id"),
            brand=data.get("brand"),
        )


@dataclass(frozen=True)
class Check:
    status: CheckStatus
    attempts_left: int | None
    proof: Proof | None
    # With a lock: until when, and what works meanwhile (the API's `ways_through`).
    locked_until: datetime | None = None
    ways_through: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: dict[str, Any]) -> Check:
        try:
            status = CheckStatus(data.get("status"))
        except ValueError as exc:
            raise BackendUnavailable("unknown verification status") from exc
        proof = None
        if data.get("proof"):
            proof = Proof(
                token=str(data["proof"]),
                expires_at=data.get("proof_expires_at"),
                assurance=data.get("assurance"),
                customer_id=data.get("customer_id"),
                brand=data.get("brand"),
            )
        if status is CheckStatus.VERIFIED and proof is None:
            # A verified answer without a proof cannot file anything: treat it as a wrong code.
            status = CheckStatus.INVALID
        ways = tuple(
            str(way.get("way"))
            for way in data.get("ways_through") or []
            if isinstance(way, dict) and way.get("way")
        )
        return cls(
            status=status,
            attempts_left=data.get("attempts_left"),
            proof=proof,
            locked_until=_time(data.get("locked_until")),
            ways_through=ways,
        )


@dataclass(frozen=True)
class Ticket:
    reference: str
    type: str
    status: str
    brand: str | None
    due_at: datetime | None
    due_at_provisional: bool = False
    channel: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    closed_at: datetime | None = None
    resolution: str | None = None
    refusal_ground: str | None = None
    # What the customer was told of the present state (the outcome notice's text).
    outcome_text: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == Status.COMPLETED

    @classmethod
    def of(cls, data: dict[str, Any]) -> Ticket:
        return cls(
            reference=str(data.get("reference") or ""),
            type=str(data.get("type") or ""),
            status=str(data.get("status") or ""),
            brand=data.get("brand"),
            due_at=_time(data.get("due_at")),
            due_at_provisional=bool(data.get("due_at_provisional")),
            channel=data.get("channel"),
            details=dict(data.get("details") or {}),
            closed_at=_time(data.get("closed_at")),
            resolution=data.get("resolution"),
            refusal_ground=data.get("refusal_ground"),
            outcome_text=data.get("outcome_text") or None,
        )


@dataclass(frozen=True)
class InEffect:
    """A choice that already holds: what it is about and since when (409 already_in_effect)."""

    purpose: str | None
    since: datetime | None

    @classmethod
    def of(cls, error: BackendError) -> InEffect | None:
        if error.code != ALREADY_IN_EFFECT:
            return None
        entry = next((d for d in error.details if isinstance(d, dict)), {})
        try:
            since = _time(entry.get("since"))
        except ValueError:
            since = None
        return cls(purpose=entry.get("purpose"), since=since)


class RightsClient:
    """One connection pool per client; the action server shares one client (`shared_client`)."""

    def __init__(
        self,
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        # Tests inject a transport to simulate a failing backend.
        self.transport = transport
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        # Opened on first use, inside the server's event loop, and kept: connections are reused.
        if self._http is None or self._http.is_closed:
            s = self.settings
            self._http = httpx.AsyncClient(
                base_url=s.api_url,
                timeout=httpx.Timeout(s.timeout_s, connect=s.connect_timeout_s),
                transport=self.transport,
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _headers(
        self,
        proof: str | None = None,
        idempotency_key: str | None = None,
        conversation: Conversation | None = None,
    ) -> dict:
        headers = {"X-API-Key": self.settings.bot_api_key, "Accept": "application/json"}
        if conversation is not None:
            headers.update(conversation.headers())
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
        client = self._client()

        async def attempt() -> httpx.Response:
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
            async for try_ in AsyncRetrying(
                stop=stop_after_attempt(s.attempts),
                wait=wait_exponential(multiplier=s.backoff_initial_s, max=s.backoff_max_s),
                retry=retry_if_exception_type(_Transient),
                reraise=True,
            ):
                with try_:
                    return await attempt()
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
        self,
        mobile: str,
        channel: str = Channel.CHAT,
        language: str = Language.ZH,
        method: str = Assurance.SMS_CODE,
        conversation: Conversation | None = None,
    ) -> Challenge:
        body = {"method": method, "mobile": mobile, "channel": channel, "language": language}
        response = await self._request(
            "POST",
            "/v1/verifications",
            safe_to_repeat=False,
            json=body,
            headers=self._headers(conversation=conversation),
        )
        return Challenge.of(self._json(response, 200, 201))

    async def check_verification(
        self, verification_id: str, code: str, conversation: Conversation | None = None
    ) -> Check:
        response = await self._request(
            "POST",
            f"/v1/verifications/{verification_id}/check",
            safe_to_repeat=False,
            json={"code": code},
            headers=self._headers(conversation=conversation),
        )
        return Check.of(self._json(response, 200))

    async def reissue_proof(
        self,
        verification_id: str,
        customer_id: str,
        assurance: str | None,
        conversation: Conversation,
    ) -> Proof:
        """A new single-use proof from the conversation's verified check (the customer is not
        asked for a code again); BackendError 403/404 when the check does not cover it."""
        body: dict[str, Any] = {"customer_id": customer_id}
        if assurance:
            body["assurance"] = assurance
        response = await self._request(
            "POST",
            f"/v1/verifications/{verification_id}/proofs",
            # A repeat only issues another proof of the same check: nothing is used up.
            safe_to_repeat=True,
            json=body,
            headers=self._headers(conversation=conversation),
        )
        return Proof.of(self._json(response, 200, 201))

    async def app_session(
        self, session_token: str, conversation: Conversation | None = None
    ) -> Check:
        response = await self._request(
            "POST",
            "/v1/verifications/app-session",
            safe_to_repeat=False,
            json={"session_token": session_token},
            headers=self._headers(conversation=conversation),
        )
        return Check.of(self._json(response, 200, 201))

    async def file_ticket(
        self,
        proof: str,
        idempotency_key: str,
        body: dict,
        conversation: Conversation | None = None,
    ) -> Ticket:
        """The filed ticket; a request that changes nothing raises BackendError 409
        `already_in_effect` (read it with `InEffect.of`). A re-issued proof files only with
        its conversation."""
        response = await self._request(
            "POST",
            "/v1/tickets",
            safe_to_repeat=True,
            json=body,
            headers=self._headers(proof, idempotency_key, conversation),
        )
        return Ticket.of(self._json(response, 200, 201))

    async def get_ticket(
        self, proof: str, reference: str, conversation: Conversation | None = None
    ) -> Ticket | None:
        """The subject's own ticket, or None when it is not theirs or does not exist."""
        response = await self._request(
            "GET",
            f"/v1/tickets/{reference}",
            safe_to_repeat=True,
            headers=self._headers(proof, conversation=conversation),
        )
        if response.status_code == 404:
            return None
        return Ticket.of(self._json(response, 200))

    async def my_tickets(
        self, proof: str, conversation: Conversation | None = None
    ) -> list[Ticket]:
        response = await self._request(
            "GET",
            "/v1/subjects/me/tickets",
            safe_to_repeat=True,
            headers=self._headers(proof, conversation=conversation),
        )
        items = self._json(response, 200).get("items") or []
        return [Ticket.of(item) for item in items if isinstance(item, dict)]


@lru_cache(maxsize=1)
def shared_client() -> RightsClient:
    """The action server's one client: every action shares its connection pool."""
    return RightsClient()


async def close_shared_client() -> None:
    """Closes the shared pool (the action server calls it when it stops)."""
    if shared_client.cache_info().currsize:
        await shared_client().aclose()
