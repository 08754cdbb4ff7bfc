"""The bot's review records: an abstention, a quote or a low-margin answer is posted masked to
the backend in the background; a confident answer is not; a backend down or slow never holds
up or breaks the reply."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.answers import review
from bot.nlg import BrandResponseGenerator

DOMAIN = Domain.from_dict(
    {
        "slots": {
            "brand": {"type": "text", "mappings": [{"type": "custom"}]},
            "lang": {"type": "text", "mappings": [{"type": "custom"}]},
        },
        "responses": {
            "utter_policy_unknown": [{"text": "我不知道，请拨打热线 {hotline}。"}],
            "utter_policy_passage": [{"text": "{clause_title}：{passage}"}],
            "utter_ask_policy/location_data": [{"text": "车辆位置信息仅在使用相关服务时收集。"}],
        },
    }
)
QUESTION = "我手机13800138000，车架号WMWXR3100N2K12345，验证码246810，车机一直上传位置吗"
ABSTAIN = {"kind": "abstain", "score": 0.21, "margin": 0.04, "topic": None, "clause": None}


def generator(transport: httpx.AsyncBaseTransport, key: str = "bot-key") -> BrandResponseGenerator:
    config = EndpointConfig.from_dict(
        {"type": "bot.nlg.BrandResponseGenerator", "review_low_margin": 0.1}
    )
    nlg = BrandResponseGenerator(endpoint_config=config, domain=DOMAIN)
    nlg.review = review.Recorder(
        review.ReviewSettings("http://rights.test", key, low_margin=0.1), transport
    )
    return nlg


def tracker(answer: dict[str, Any], text: str = QUESTION) -> DialogueStateTracker:
    parse = {"intent": {"name": "ask_policy"}, "answer": {"brands": {"mini": answer}}}
    events = [SlotSet("brand", "mini"), SlotSet("lang", "zh"), UserUttered(text, parse_data=parse)]
    return DialogueStateTracker.from_events("review-test", events, slots=DOMAIN.slots)


class Backend:
    """Records what the bot posts; `gate` holds every answer until it is set."""

    def __init__(self, status: int = 201) -> None:
        self.posted: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []
        self.status = status
        self.gate = asyncio.Event()
        self.gate.set()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await self.gate.wait()
        self.posted.append(json.loads(request.content))
        self.headers.append(request.headers)
        return httpx.Response(self.status, json={})


async def say(nlg: BrandResponseGenerator, answer: dict[str, Any], channel: str = "rest") -> str:
    message = await nlg.generate("utter_ask_policy/location_data", tracker(answer), channel)
    assert message is not None
    return str(message["text"])


async def test_an_abstention_is_posted_masked_with_its_brand_language_and_answer() -> None:
    backend = Backend()
    nlg = generator(httpx.MockTransport(backend.handle))
    assert (await say(nlg, ABSTAIN)).startswith("我不知道")
    await nlg.review.drain()
    (body,) = backend.posted
    assert backend.headers[0]["x-api-key"] == "bot-key"
    assert {k: body[k] for k in ("brand", "language", "channel", "answer_kind")} == {
        "brand": "mini",
        "language": "zh",
        "channel": "chat",
        "answer_kind": "abstain",
    }
    assert body["score"] == 0.21 and body["margin"] == 0.04 and body["topic"] is None
    for secret in ("13800138000", "WMWXR3100N2K12345", "246810"):
        assert secret not in body["text"]
    assert "138****8000" in body["text"] and body["text"].endswith("车机一直上传位置吗")


async def test_quotes_and_low_margin_answers_are_posted_confident_ones_are_not() -> None:
    backend = Backend()
    nlg = generator(httpx.MockTransport(backend.handle))
    topic = {"kind": "topic", "topic": "ask_policy/location_data", "score": 0.9, "clause": None}
    assert await say(nlg, {**topic, "margin": 0.6}) == "车辆位置信息仅在使用相关服务时收集。"
    await say(nlg, {**topic, "margin": 0.05})
    quote = {"kind": "quote", "score": 0.6, "margin": 0.3, "clause": "mini.5.7", "quote": "……"}
    await say(nlg, {**quote, "title": "位置信息"}, channel="ivr")
    await nlg.review.drain()
    assert [(b["answer_kind"], b["topic"], b["clause"], b["channel"]) for b in backend.posted] == [
        ("topic", "ask_policy/location_data", None, "chat"),
        ("quote", None, "mini.5.7", "ivr"),
    ]


async def test_the_reply_does_not_wait_for_the_backend() -> None:
    backend = Backend()
    backend.gate.clear()  # the backend has not answered yet
    nlg = generator(httpx.MockTransport(backend.handle))
    assert (await say(nlg, ABSTAIN)).startswith("我不知道")
    assert backend.posted == []
    backend.gate.set()
    await nlg.review.drain()
    assert len(backend.posted) == 1


@pytest.mark.parametrize("status", [401, 503])
async def test_a_refused_record_is_logged_and_dropped(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    nlg = generator(httpx.MockTransport(Backend(status).handle))
    with caplog.at_level(logging.WARNING, logger="bot.answers.review"):
        assert (await say(nlg, ABSTAIN)).startswith("我不知道")
        await nlg.review.drain()
    assert f"HTTP {status}" in caplog.text


async def test_a_backend_down_costs_the_record_only(caplog: pytest.LogCaptureFixture) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    nlg = generator(httpx.MockTransport(refuse))
    with caplog.at_level(logging.WARNING, logger="bot.answers.review"):
        assert (await say(nlg, ABSTAIN)).startswith("我不知道")
        await nlg.review.drain()
    assert "review record not sent: ConnectError" in caplog.text
    assert "13800138000" not in caplog.text


def test_the_endpoint_sets_the_margin_and_the_environment_the_backend(monkeypatch: Any) -> None:
    monkeypatch.setenv("RIGHTS_API_URL", "http://127.0.0.1:7123/")
    monkeypatch.setenv("RIGHTS_BOT_API_KEY", "the-bot-key")
    settings = review.ReviewSettings.from_endpoint({"review_low_margin": 0.25})
    assert settings.api_url == "http://127.0.0.1:7123" and settings.bot_api_key == "the-bot-key"
    assert settings.low_margin == 0.25


def test_without_a_brand_or_a_text_nothing_is_recorded() -> None:
    assert review.record_body(ABSTAIN, "你好", "", "zh", voice=False) is None
    assert review.record_body(ABSTAIN, "  ", "mini", "zh", voice=False) is None


async def test_without_a_bot_key_nothing_is_sent() -> None:
    backend = Backend()
    nlg = generator(httpx.MockTransport(backend.handle), key="")
    assert (await say(nlg, ABSTAIN)).startswith("我不知道")
    await nlg.review.drain()
    assert backend.posted == []
