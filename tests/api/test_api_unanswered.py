"""The review loop's record: what the bot could not answer well, kept masked for 90 days at
most, only from the bot, grouped by similarity, exported as training examples."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_helpers import BOT, STAFF
from conftest import make_settings
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api import cli
from api.core.clock import FixedClock
from api.core.settings import Settings
from api.unanswered import grouping, service
from bot.answers import review

MOBILE, ID_NUMBER, VIN, CODE = "13800138000", "110105199001010023", "WMWXR3100N2K12345", "246810"


def question(text: str, **fields: Any) -> dict[str, Any]:
    return {
        "brand": "mini",
        "language": "zh",
        "channel": "chat",
        "text": text,
        "answer_kind": "abstain",
        "topic": None,
        "clause": None,
        "score": 0.2,
        "margin": 0.05,
        **fields,
    }


def post(client: TestClient, text: str, **fields: Any) -> Any:
    return client.post("/v1/unanswered", headers=BOT, json=question(text, **fields))


def test_a_recorded_question_carries_no_mobile_id_number_vin_or_code(client: TestClient) -> None:
    text = (
        f"我手机 {MOBILE[:3]} {MOBILE[3:7]} {MOBILE[7:]}，身份证{ID_NUMBER}，车架号{VIN}，"
        f"验证码是{CODE}，my pin is 2468, password {CODE}, 手机号+86{MOBILE}"
    )
    r = post(client, text)
    assert r.status_code == 201, r.text
    stored = r.json()["text"]
    for secret in (MOBILE, MOBILE[3:7], ID_NUMBER, ID_NUMBER[6:14], VIN, CODE, "2468"):
        assert secret not in stored
    assert "138****8000" in stored and stored.startswith("我手机")
    (row,) = [g for g in _groups(client) if g.count == 1]
    assert all(secret not in " ".join(row.examples) for secret in (MOBILE, ID_NUMBER, VIN, CODE))


def _groups(client: TestClient, **filters: Any) -> list[service.ReviewGroup]:
    app: Any = client.app
    with app.state.session_factory() as s:
        return service.review_groups(s, service.Filters(**filters))


def test_only_the_bot_records_and_a_bad_field_is_named(client: TestClient) -> None:
    body = question("数据卖给谁了")
    assert client.post("/v1/unanswered", json=body).status_code == 401
    assert client.post("/v1/unanswered", headers=STAFF, json=body).status_code == 401
    r = post(client, "数据卖给谁了", answer_kind="guess")
    assert r.status_code == 422 and r.json()["error"]["field"] == "body.answer_kind"
    r = post(client, "数据卖给谁了", brand="audi")
    assert r.status_code == 422 and r.json()["error"]["field"] == "body.brand"
    topic = post(client, "你们会卖数据吗", answer_kind="topic", topic="ask_policy/data_sharing")
    assert topic.status_code == 201 and topic.json()["topic"] == "data_sharing"


def test_nothing_is_kept_longer_than_the_retention(client: TestClient, clock: FixedClock) -> None:
    start = clock.at
    assert post(client, "旧问题：车机会上传位置吗").status_code == 201
    clock.at = start + timedelta(days=89)
    assert post(client, "新问题：数据存多久").status_code == 201
    assert len(_groups(client)) == 2
    # The next write, 90 days and a minute after the first, deletes it.
    clock.at = start + timedelta(days=90, minutes=1)
    assert post(client, "第三个问题：谁能看我的数据").status_code == 201
    texts = {e for g in _groups(client) for e in g.examples}
    assert texts == {"新问题：数据存多久", "第三个问题：谁能看我的数据"}
    # The periodic purge does it without a write: `python -m api.cli purge` at a later time.
    app: Any = client.app
    with app.state.session_factory() as s:
        assert service.purge(s, start + timedelta(days=200), 90) == 2
    assert _groups(client) == []


def test_the_retention_cannot_be_set_past_90_days(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        make_settings("sqlite://", tmp_path, unanswered_retention_days=91)
    assert Settings().unanswered_retention_days == 90


def test_the_cli_purge_names_the_questions(client: TestClient, capsys: Any, app: Any) -> None:
    assert post(client, "车机会上传位置吗").status_code == 201
    with app.state.session_factory() as s:
        later = app.state.clock.now() + timedelta(days=91)
        assert "1 unanswered questions purged" in cli.purge(s, app.state.settings, later)


@pytest.mark.parametrize(
    "answer",
    [
        {"kind": "abstain", "score": 0.12, "margin": 0.01, "topic": None},
        {"kind": "quote", "score": 0.61, "margin": 0.2, "clause": "mini.intro"},
        {"kind": "topic", "score": 0.7, "margin": 0.03, "topic": "ask_policy/location_data"},
    ],
)
def test_the_backend_takes_what_the_bot_sends(client: TestClient, answer: dict[str, Any]) -> None:
    body = review.record_body(answer, f"车机上传位置吗 {MOBILE}", "bmw", "zh", voice=True)
    r = client.post("/v1/unanswered", headers=BOT, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["answer_kind"] == answer["kind"] and MOBILE not in r.json()["text"]


def test_questions_asked_alike_fall_in_one_group() -> None:
    asked = [
        "车机是不是一直在上传位置啊 138****8000",
        "车机一直上传我的位置吗",
        "你们会把数据卖给别人吗",
        "数据会卖给第三方吗",
        "does the app sell my data",
        "r u selling my data??",
        "can police get my data",
        "will the police get my data from you",
        "what happens to my data after i delete the app",
        "is my data kept after deleting my account",
        "删了app以后数据还在吗",
        "注销账号后数据还保留吗",
    ]
    groups = grouping.group(asked, text=lambda q: q, key=lambda q: q.isascii())
    assert [g.items for g in groups] == [asked[i : i + 2] for i in range(0, len(asked), 2)]
