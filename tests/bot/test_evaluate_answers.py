"""scripts/evaluate_answers.py scores what a customer got, read from the conversation's tracker.

answer_trackers.json holds `recorded` trackers, as GET /conversations/<id>/tracker returned them
from Rasa serving a trained model with its action server, one question each: a curated answer,
a quote, the honest "I don't know", the core fallback's "rephrase", requests started, an answer
with its one-tap offer, a greeting. Its `constructed` trackers, in the same shape, stand for what
that run did not show: a quote from a numbered item and from an unrelated clause, a request with
the action server down, a model without the ranker's metadata.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts import evaluate_answers as ev

_FIXTURES = json.loads((Path(__file__).parent / "answer_trackers.json").read_text("utf-8"))
TRACKERS: dict[str, dict[str, Any]] = {**_FIXTURES["recorded"], **_FIXTURES["constructed"]}


def item(text: str, brand: str, lang: str, intent: str = "ask_policy", topic: Any = None) -> dict:
    found = {"text": text, "brand": brand, "lang": lang, "intent": intent}
    return found | ({"topic": topic} if topic is not None else {})


def scored(name: str, question: dict) -> str:
    return ev.outcome(question, ev.read_turn(TRACKERS[name]))


def test_the_turn_is_read_from_the_bot_event_the_request_form_or_the_fallback() -> None:
    curated = ev.read_turn(TRACKERS["curated_retention_mini_zh"])
    assert (curated.kind, curated.topic) == ("topic", "retention")
    assert curated.score is not None and curated.texts[0].startswith("除非另有说明")
    quote = ev.read_turn(TRACKERS["quote_opt_out_bmw_zh"])
    assert (quote.kind, quote.clause, quote.offer) == ("quote", "bmw.5.4", "unsubscribe")
    assert ev.read_turn(TRACKERS["abstain_mini_zh"]).kind == "unknown"
    rephrase = ev.read_turn(TRACKERS["rephrase_bmw_zh"])
    assert (rephrase.kind, rephrase.intent) == ("rephrase", "inform")
    started = ev.read_turn(TRACKERS["request_rectification_started_mini_zh"])
    assert (started.kind, started.request) == ("request", "rectification")
    assert started.utters == ["utter_request_started", "utter_ask_mobile"]
    # The action server down: the request is still the one the intent started.
    down = ev.read_turn(TRACKERS["request_without_action_server_en"])
    assert (down.kind, down.request) == ("request", "cancel_account")
    offered = ev.read_turn(TRACKERS["answer_with_offer_cancel_mini_en"])
    assert (offered.kind, offered.topic, offered.offer) == (
        "topic",
        "right_cancel_account",
        "cancel_account",
    )
    assert ev.read_turn(TRACKERS["greet_mini_zh"]).kind == "other"
    # A model without the ranker's metadata: the answer is the retrieval key.
    old = ev.read_turn(TRACKERS["curated_without_ranker_metadata_en"])
    assert (old.kind, old.topic) == ("topic", "cookies")


def test_a_curated_answer_is_relevant_only_for_a_labelled_topic() -> None:
    asked = item("我的信息你们要存几年", "mini", "zh", topic="retention")
    assert scored("curated_retention_mini_zh", asked) == ev.ANSWER
    either = item(
        "我的信息你们要存几年", "mini", "zh", topic=["account_cancellation_effects", "retention"]
    )
    assert scored("curated_retention_mini_zh", either) == ev.ANSWER
    other = item("我的信息你们要存几年", "mini", "zh", topic="sharing_dealers")
    assert scored("curated_retention_mini_zh", other) == ev.WRONG_ANSWER


def test_a_quote_is_relevant_when_its_clause_is_cited_by_the_topic_or_an_item_of_one() -> None:
    opt_out = item(
        "签了互联服务合同以后 营销推送是不是就退不掉了", "bmw", "zh", topic="marketing_opt_out"
    )
    assert scored("quote_opt_out_bmw_zh", opt_out) == ev.QUOTE
    asked = item(
        "when do i have the right to get my data erased", "bmw", "en", topic="right_deletion"
    )
    # right_deletion cites bmw.5.3; bmw.5.3.4 is one of its numbered grounds.
    assert scored("quote_deletion_ground_bmw_en", asked) == ev.QUOTE
    assert scored("quote_marketing_clause_bmw_en", asked) == ev.WRONG_QUOTE
    assert scored("quote_opt_out_bmw_zh", asked) == ev.WRONG_QUOTE
    # A part's sections are not the part: sensitive_data cites bmw.1, not bmw.1.6.
    assert not ev.relevant_clause("bmw.1.6", ["sensitive_data"], "bmw")
    assert ev.relevant_clause("bmw.1", ["sensitive_data"], "bmw")
    # The clauses are the brand's own.
    assert not ev.relevant_clause("bmw.5.3", ["right_deletion"], "mini")


def test_an_unanswered_question_is_right_only_with_i_dont_know() -> None:
    uncovered = item("can the dealer remotely unlock my car", "bmw", "en", topic="uncovered")
    assert scored("abstain_mini_zh", uncovered) == ev.UNKNOWN
    assert scored("curated_remote_services_bmw_en", uncovered) == ev.WRONG_ANSWER
    assert scored("quote_opt_out_bmw_zh", uncovered) == ev.WRONG_QUOTE
    assert scored("request_decision_started_mini_en", uncovered) == ev.WRONG_REQUEST
    assert scored("rephrase_bmw_zh", uncovered) == ev.REPHRASE
    assert scored("greet_mini_zh", uncovered) == ev.OTHER


def test_a_request_is_right_when_started_or_offered_by_the_answer() -> None:
    address = item("地址变了 更新一下", "mini", "zh", intent="request_rectification")
    assert scored("request_rectification_started_mini_zh", address) == ev.REQUEST
    cancel = item("close my account", "bmw", "en", intent="request_cancel_account")
    assert scored("request_without_action_server_en", cancel) == ev.REQUEST
    assert scored("request_rectification_started_mini_zh", cancel) == ev.WRONG_REQUEST
    # The answer about closing an account, with the one-tap offer to close it.
    cancel_mini = item("how do i close my account", "mini", "en", intent="request_cancel_account")
    assert scored("answer_with_offer_cancel_mini_en", cancel_mini) == ev.ANSWER
    assert scored("curated_retention_mini_zh", address) == ev.WRONG_ANSWER
    # A policy question whose topic offers the request may start it instead.
    wrong_info = item(
        "what if my details are wrong in ur system", "mini", "en", topic="right_rectification"
    )
    assert scored("request_rectification_started_mini_zh", wrong_info) == ev.REQUEST
    retention = item("how long do u store my stuff for", "mini", "en", topic="retention")
    assert scored("request_rectification_started_mini_zh", retention) == ev.WRONG_REQUEST


def _row(lang: str, kind: str, result: str) -> dict[str, str]:
    return {"lang": lang, "kind": kind, "outcome": result}


def test_the_summary_counts_each_outcome_and_the_headline_rates_per_language() -> None:
    rows = [
        _row("zh", "covered", ev.ANSWER),
        _row("zh", "covered", ev.QUOTE),
        _row("zh", "covered", ev.WRONG_ANSWER),
        _row("zh", "covered", ev.REPHRASE),
        _row("zh", "request", ev.REQUEST),
        _row("zh", "uncovered", ev.UNKNOWN),
        _row("zh", "uncovered", ev.WRONG_QUOTE),
        _row("en", "covered", ev.UNKNOWN),
        _row("en", "uncovered", ev.UNKNOWN),
    ]
    summary = ev.summarise(rows)
    assert list(summary)[:4] == ["zh covered", "zh request", "zh uncovered", "zh all"]
    assert summary["zh all"]["n"] == 7
    zh = summary["zh rates"]
    assert zh["relevant"] == pytest.approx(3 / 5, abs=1e-3)
    assert zh["confidently_wrong"] == pytest.approx(1 / 7, abs=1e-3)
    assert zh["uncovered_abstained"] == 0.5
    assert zh["rephrase"] == 1
    assert summary["en rates"]["relevant"] == 0.0
    text = ev.tables(summary)
    assert "| **zh all** | 7 | 1 (14%) | 1 (14%) | 1 (14%) | 2 (29%) | 1 (14%) | 1 (14%) |" in text
    assert "| zh | 60.0% of 5 | 14.3% | 50.0% of 2 | 1 |" in text


def test_the_set_gives_only_questions_and_a_limit_spreads_over_languages_and_kinds() -> None:
    questions = ev.load_questions(ev.DEFAULT_SET)
    assert {ev.label_kind(q) for q in questions} == {"covered", "request", "uncovered"}
    sample = ev.load_questions(ev.DEFAULT_SET, limit=20)
    assert len(sample) == 20
    assert {q["lang"] for q in sample} == {"zh", "en"}
    assert {ev.label_kind(q) for q in sample} == {"covered", "request", "uncovered"}
    assert all(q["lang"] == "zh" for q in ev.load_questions(ev.DEFAULT_SET, lang="zh"))
    # The phrasing set's greetings and yes/no answers are not questions.
    phrasings = ev.load_questions(ev.ROOT / "tests" / "nlu" / "unseen_phrasings.yml")
    assert all(q["intent"] not in ("greet", "affirm", "deny") for q in phrasings)


def test_only_the_local_bot_is_asked() -> None:
    assert ev.local_url("http://127.0.0.1:7105/") == "http://127.0.0.1:7105"
    with pytest.raises(SystemExit):
        ev.local_url("https://bot.example.com")


def asked_of(
    bot: Callable[[httpx.Request], httpx.Response], questions: list[dict], token: str = ""
) -> tuple[list[dict[str, Any]], int]:
    """The questions put to a stand-in for Rasa's REST channel and tracker endpoint."""
    transport = httpx.MockTransport(bot)
    return asyncio.run(ev.run_all(questions, "http://127.0.0.1:7105", token, transport=transport))


def test_each_question_is_a_new_conversation_with_its_brand_and_language() -> None:
    seen: list[dict[str, Any]] = []

    def bot(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            seen.append(body)
            return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": "…"}])
        assert request.url.params["token"] == "t0ken"
        assert request.url.path == f"/conversations/{seen[-1]['sender']}/tracker"
        return httpx.Response(200, json=TRACKERS["curated_retention_mini_zh"])

    questions = [
        item("我的信息你们要存几年", "mini", "zh", topic="retention"),
        item("how long do u store my stuff for", "bmw", "en", topic="retention"),
    ]
    rows, skipped = asked_of(bot, questions, token="t0ken")
    assert skipped == 0
    assert [b["metadata"] for b in seen] == [
        {"brand": "mini", "lang": "zh"},
        {"brand": "bmw", "lang": "en"},
    ]
    assert len({b["sender"] for b in seen}) == 2
    assert [r["outcome"] for r in rows] == [ev.ANSWER, ev.ANSWER]
    assert rows[0]["got"]["topic"] == "retention"


def test_the_api_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_API_TOKEN", "from-env")
    assert ev.api_token() == "from-env"


def test_without_the_environment_the_token_is_the_dev_secrets_last(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "dev-secrets.env"
    secrets.write_text("RASA_API_TOKEN=old\nACTION_SERVER_TOKEN=x\nRASA_API_TOKEN=new\n", "utf-8")
    monkeypatch.delenv("RASA_API_TOKEN", raising=False)
    monkeypatch.setattr(ev, "SECRETS", secrets)
    assert ev.api_token() == "new"


def test_a_question_the_bot_fails_on_is_reported_and_the_others_still_scored() -> None:
    def bot(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            text = json.loads(request.content)["message"]
            return httpx.Response(500 if text == "broken" else 200, json=[])
        return httpx.Response(200, json=TRACKERS["abstain_mini_zh"])

    questions = [
        item("broken", "mini", "zh", topic="uncovered"),
        item("你们会把我的数据上链吗 区块链那种", "mini", "zh", topic="uncovered"),
    ]
    rows, _ = asked_of(bot, questions)
    assert [r["outcome"] for r in rows] == [ev.ERROR, ev.UNKNOWN]
    assert ev.summarise(rows)["zh rates"]["uncovered_n"] == 1
