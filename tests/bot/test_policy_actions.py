from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import policy
from actions.policy_search import SearchHit as Hit


class FakeSearch:
    def __init__(self, hits: dict[str, Hit | None]) -> None:
        self.hits = hits
        self.calls: list[tuple[str, str, str]] = []

    def search(self, query: str, brand: str, lang: str = "zh") -> Hit | None:
        self.calls.append((query, brand, lang))
        return self.hits.get(brand)


@pytest.fixture
def search(monkeypatch: pytest.MonkeyPatch) -> FakeSearch:
    fake = FakeSearch({"mini": Hit("mini.4.1", "Cookie", "我们使用Cookie……", 5.0, 0.9, "mini", 4)})
    monkeypatch.setattr(policy, "policy_search", lambda: fake)
    return fake


DOMAIN: dict[str, Any] = {"responses": {"utter_ask_policy/cookies": [{"text": "x"}]}}


def tracker(slots: dict[str, Any], text: str = "问题", selector: str | None = None) -> Tracker:
    latest: dict[str, Any] = {"text": text, "intent": {"name": "ask_policy"}}
    if selector:
        latest["response_selector"] = {
            "ask_policy": {"response": {"intent_response_key": selector, "confidence": 0.9}}
        }
    return Tracker("u1", slots, latest, [], False, None, {}, "action_listen")


async def run(action: Any, slots: dict[str, Any], **kwargs: Any) -> tuple[list, list]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker(slots, **kwargs), DOMAIN)
    return dispatcher.messages, events


async def test_search_quotes_a_confident_hit(search: FakeSearch) -> None:
    messages, events = await run(policy.ActionPolicySearch(), {"brand": "mini", "lang": "en"})
    assert messages[0]["response"] == "utter_policy_passage"
    assert messages[0]["clause_id"] == "mini.4.1"
    assert (messages[0]["part_zh"], messages[0]["part_en"]) == ("第四部分", "part 4")
    assert messages[0]["passage"] == "我们使用Cookie……"
    assert search.calls == [("问题", "mini", "en")]
    assert SlotSet("policy_pending", None) in events


async def test_search_without_a_hit_says_so(search: FakeSearch) -> None:
    messages, _ = await run(policy.ActionPolicySearch(), {"brand": "bmw", "lang": "zh"})
    assert [m["response"] for m in messages] == ["utter_policy_unknown"]


async def test_search_with_unknown_brand_asks_once_when_a_policy_answers(
    search: FakeSearch,
) -> None:
    messages, events = await run(policy.ActionPolicySearch(), {"brand": None, "lang": "zh"})
    assert [m["response"] for m in messages] == ["utter_ask_brand"]
    assert SlotSet("policy_pending", True) in events
    assert SlotSet("policy_query", "问题") in events


async def test_search_with_unknown_brand_and_no_answer_anywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(policy, "policy_search", lambda: FakeSearch({}))
    messages, events = await run(policy.ActionPolicySearch(), {"brand": None, "lang": "en"})
    assert [m["response"] for m in messages] == ["utter_policy_unknown"]
    assert SlotSet("policy_pending", None) in events


async def test_a_failing_index_still_gives_the_hotline(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise RuntimeError("index missing")

    monkeypatch.setattr(policy, "policy_search", broken)
    messages, _ = await run(policy.ActionPolicySearch(), {"brand": "mini", "lang": "en"})
    assert [m["response"] for m in messages] == ["utter_policy_unknown"]


async def test_hold_remembers_the_selected_answer() -> None:
    _, events = await run(
        policy.ActionHoldPolicyQuestion(), {}, text="用Cookie吗", selector="ask_policy/cookies"
    )
    assert SlotSet("policy_pending", True) in events
    assert SlotSet("policy_topic", "ask_policy/cookies") in events


async def test_pending_curated_answer_after_the_brand_reply(search: FakeSearch) -> None:
    slots = {"brand": "bmw", "lang": "zh", "policy_topic": "ask_policy/cookies"}
    messages, events = await run(policy.ActionAnswerPendingPolicy(), slots, text="BMW")
    assert [m["response"] for m in messages] == ["utter_ask_policy/cookies"]
    assert SlotSet("policy_topic", None) in events
    assert search.calls == []


async def test_pending_search_question_after_the_brand_reply(search: FakeSearch) -> None:
    slots = {"brand": "mini", "lang": "zh", "policy_query": "Cookie是什么"}
    messages, _ = await run(policy.ActionAnswerPendingPolicy(), slots, text="MINI")
    assert messages[0]["response"] == "utter_policy_passage"
    assert search.calls == [("Cookie是什么", "mini", "zh")]


async def test_pending_question_with_brand_still_unknown(search: FakeSearch) -> None:
    slots = {"brand": None, "lang": "en", "policy_topic": "ask_policy/cookies"}
    messages, _ = await run(policy.ActionAnswerPendingPolicy(), slots, text="not sure")
    assert [m["response"] for m in messages] == ["utter_policy_unknown"]
