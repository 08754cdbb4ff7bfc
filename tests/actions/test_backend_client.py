"""The backend client's retry policy, timeouts and error mapping."""

from __future__ import annotations

import httpx
import pytest

from actions.backend import BackendError, BackendUnavailable, Conversation, RightsClient
from actions.formatting import format_date
from actions.settings import Settings
from privacy.identifiers import normalise_code, normalise_mobile
from privacy.masking import mask_mobile


def client_with(handler, attempts: int = 3) -> RightsClient:
    settings = Settings(
        api_url="http://rights.test",
        bot_api_key="key",
        attempts=attempts,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        timeout_s=0.5,
    )
    return RightsClient(settings, transport=httpx.MockTransport(handler))


async def test_4xx_is_not_retried_and_carries_the_error_body():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            422,
            json={"error": {"code": "invalid", "message": "bad", "field": "details.purpose"}},
        )

    with pytest.raises(BackendError) as caught:
        await client_with(handler).file_ticket("proof", "key-1", {"type": "x"})
    assert len(calls) == 1
    assert caught.value.status == 422
    assert caught.value.field == "details.purpose"
    assert calls[0].headers["X-API-Key"] == "key"
    assert calls[0].headers["X-Subject-Proof"] == "proof"


async def test_429_gives_retry_after():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, headers={"Retry-After": "1200"}, json={"error": {"code": "too_many_codes"}}
        )

    with pytest.raises(BackendError) as caught:
        await client_with(handler).start_verification("13800138000")
    assert caught.value.retry_after_s == 1200


async def test_5xx_on_reads_is_retried_then_reported_unavailable():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(502)

    with pytest.raises(BackendUnavailable):
        await client_with(handler, attempts=3).my_tickets("proof")
    assert len(calls) == 3


async def test_5xx_on_a_code_check_is_not_repeated():
    """Repeating a check could spend one of the customer's attempts twice."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    with pytest.raises(BackendUnavailable):
        await client_with(handler).check_verification("v1", "123456")
    assert len(calls) == 1


async def test_connect_errors_are_retried_for_every_call():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(BackendUnavailable):
        await client_with(handler, attempts=2).start_verification("13800138000")
    assert len(calls) == 2


async def test_a_slow_backend_times_out():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(BackendUnavailable):
        await client_with(handler, attempts=2).get_ticket("proof", "PR-2026-000001")


async def test_404_on_a_ticket_means_not_yours():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"code": "not_found"}})

    assert await client_with(handler).get_ticket("proof", "PR-2026-000001") is None


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        ("2026-12-11T23:59:59+08:00", "zh", "2026年12月11日"),
        ("2026-12-11T23:59:59+08:00", "en", "11 December 2026"),
        ("2026-12-11T16:30:00Z", "zh", "2026年12月12日"),  # already the 12th in Shanghai
        ("2027-01-05T00:00:00+00:00", "en", "5 January 2027"),
    ],
)
def test_due_dates_in_shanghai_time(value, lang, expected):
    assert format_date(value, lang) == expected


def test_masking_and_normalising():
    assert mask_mobile("13800138000") == "138****8000"
    assert normalise_mobile("+86 138-0013-8000") == "13800138000"
    assert normalise_mobile("call 13800138000 or 13900139000") is None
    assert normalise_code("验证码是 482913") == "482913"
    assert normalise_code("no code") is None


async def test_verification_calls_name_the_customer_the_bot_speaks_for():
    """The backend's limits count per conversation, address and caller line: the shared
    client sends them with each call, never one customer's with another's."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(201, json={"id": "v1", "masked_mobile": "138****8000"})

    client = client_with(handler)
    chat = Conversation("conv-1", client_address="198.51.100.7")
    call = Conversation("CA1234", caller_line="+8613800138000")
    await client.start_verification("13800138000", conversation=chat)
    await client.start_verification("13800138000", "ivr", conversation=call)
    await client.start_verification("13800138000")
    named = ("X-Conversation-Id", "X-Client-Address", "X-Caller-Line")
    assert [tuple(c.headers.get(h) for h in named) for c in calls] == [
        ("conv-1", "198.51.100.7", None),
        ("CA1234", None, "+8613800138000"),
        (None, None, None),
    ]


def test_an_id_that_is_no_short_ascii_is_sent_as_its_digest():
    def sent(conversation_id: str) -> str:
        return Conversation(conversation_id).headers()["X-Conversation-Id"]

    assert sent("会话-1").startswith("sha256-") and sent("会话-1") == sent("会话-1")
    # Not cut short: two long ids that share their first 128 characters stay apart.
    assert sent("x" * 200).startswith("sha256-") and sent("x" * 200) != sent("x" * 199)
