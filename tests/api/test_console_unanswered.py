"""The console's "Unanswered questions": groups of similar questions with counts, newest first,
filters by brand and language, a group settled in one form, and the export of the questions
settled as answered by a topic as Rasa NLU training data."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_helpers import BOT
from conftest import make_settings
from fastapi.testclient import TestClient
from test_console import AGENT, sign_in

from api import cli
from api.core.clock import FixedClock

GROUP_RE = re.compile(r'<section class="card review-group" id="(group-\d+)"[^>]*data-count="(\d+)"')
IDS_RE = re.compile(r'name="ids" value="([\d,]+)"')

LOCATION = ["车机是不是一直在上传位置啊", "车机一直上传我的位置吗", "车是不是一直上传位置"]
SELLING = ["你们会把数据卖给别人吗", "数据会卖给第三方吗"]
POLICE = ["can police get my data", "will the police get my data from you"]


def record(client: TestClient, text: str, brand: str = "mini", lang: str = "zh", **kw: Any) -> None:
    body = {
        "brand": brand,
        "language": lang,
        "channel": "chat",
        "text": text,
        "answer_kind": "abstain",
        "score": 0.2,
        "margin": 0.05,
        **kw,
    }
    r = client.post("/v1/unanswered", headers=BOT, json=body)
    assert r.status_code == 201, r.text


def groups(html: str) -> list[tuple[str, int]]:
    return [(anchor, int(n)) for anchor, n in GROUP_RE.findall(html)]


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find('<section class="card review-group"', start)
    return html[start : end if end > 0 else len(html)]


@pytest.fixture
def questions(client: TestClient, clock: FixedClock) -> None:
    """Police (oldest, BMW, English), then selling, then location (newest), a minute apart."""
    start = clock.at
    for i, text in enumerate(POLICE):
        clock.at = start + timedelta(minutes=i)
        record(client, text, brand="bmw", lang="en", answer_kind="quote", clause="bmw.5.3")
    for i, text in enumerate(SELLING):
        clock.at = start + timedelta(minutes=10 + i)
        record(client, text, answer_kind="topic", topic="ask_policy/data_sharing", margin=0.02)
    for i, text in enumerate(LOCATION):
        clock.at = start + timedelta(minutes=20 + i)
        record(client, text)
    clock.at = start + timedelta(hours=1)


def test_the_view_needs_sign_in_and_is_in_the_navigation(client: TestClient) -> None:
    r = client.get("/console/unanswered", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next=")
    r = client.post("/console/unanswered/marks", data={"ids": "1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    sign_in(client, login=AGENT)
    queue = client.get("/console/queue").text
    assert '<a href="/console/unanswered">未解答的问题</a>' in queue
    assert (
        '<a href="/console/unanswered">Unanswered questions</a>'
        in client.get("/console/queue?lang=en").text
    )


def test_similar_questions_are_one_group_with_its_count_newest_first(
    client: TestClient, questions: None
) -> None:
    sign_in(client)
    html = client.get("/console/unanswered").text
    assert [n for _anchor, n in groups(html)] == [3, 2, 2]
    location, selling, police = (section(html, a) for a, _n in groups(html))
    assert "3 个问题 · MINI · 中文" in location and "车机一直上传我的位置吗" in location
    assert "“我不知道”，并给出热线（3 次）" in location
    assert "标准答案：data_sharing（2 次）" in selling
    assert "2 个问题 · BMW · 英文" in police and "引用了 BMW 隐私政策第五部分第3条" in police
    assert "共 3 组，7 个问题" in html
    english = client.get("/console/unanswered?lang=en").text
    assert (
        "3 questions · MINI · Chinese" in english and "Quoted BMW policy, part V.3 (2×)" in english
    )


def test_filters_by_brand_and_language(client: TestClient, questions: None) -> None:
    sign_in(client)
    assert [n for _a, n in groups(client.get("/console/unanswered?brand=bmw").text)] == [2]
    assert [n for _a, n in groups(client.get("/console/unanswered?language=zh").text)] == [3, 2]
    empty = client.get("/console/unanswered?brand=bmw&language=zh").text
    assert groups(empty) == [] and "没有符合筛选条件的问题。" in empty
    # An unknown value filters nothing rather than failing.
    assert len(groups(client.get("/console/unanswered?brand=audi").text)) == 3


def _mark(client: TestClient, csrf: str, ids: str, mark: str, topic: str = "") -> Any:
    data = {"ids": ids, "mark": mark, "topic": topic, "csrf_token": csrf}
    return client.post("/console/unanswered/marks", data=data, follow_redirects=False)


def test_a_group_is_settled_and_leaves_the_open_list(client: TestClient, questions: None) -> None:
    csrf = sign_in(client)
    html = client.get("/console/unanswered").text
    location_ids, selling_ids, police_ids = IDS_RE.findall(html)
    # Answered by a topic needs the topic, from data/policy/topics.
    r = _mark(client, csrf, location_ids, "answered_by_topic")
    assert r.status_code == 422 and "选择“已有主题可回答”时，请同时选择一个主题。" in r.text
    assert _mark(client, csrf, location_ids, "answered_by_topic", "no_such").status_code == 422
    assert _mark(client, csrf, location_ids, "").status_code == 422
    assert _mark(client, "forged", location_ids, "out_of_scope").status_code == 403
    r = _mark(client, csrf, location_ids, "answered_by_topic", "location_data")
    assert r.status_code == 303, r.text
    done = client.get(r.headers["location"]).text
    assert "已标记 3 个问题。" in done and [n for _a, n in groups(done)] == [2, 2]
    assert _mark(client, csrf, police_ids, "out_of_scope").status_code == 303
    assert _mark(client, csrf, selling_ids, "new_topic_needed").status_code == 303
    assert groups(client.get("/console/unanswered").text) == []
    settled = client.get("/console/unanswered?state=marked").text
    assert "处理结果：已有主题可回答 <code>location_data</code>" in settled
    assert "处理结果：需要新主题" in settled and "处理结果：不属于隐私政策范围" in settled
    assert "由 staff:lead.demo 于" in settled and 'name="ids"' not in settled


def test_the_topics_offered_are_the_curated_topics(client: TestClient) -> None:
    record(client, "车机会上传位置吗")
    sign_in(client)
    html = client.get("/console/unanswered").text
    offered = set(re.findall(r'<option value="([a-z_]+)">\1 — ', html))
    topics_dir = Path(__file__).resolve().parents[2] / "data" / "policy" / "topics"
    curated = {
        name
        for path in topics_dir.glob("*.yml")
        for name in yaml.safe_load(path.read_text(encoding="utf-8"))["topics"]
    }
    assert offered == curated and "location_data" in offered


def test_export_writes_the_settled_questions_as_rasa_nlu(
    client: TestClient,
    questions: None,
    db_url: str,
    tmp_path: Path,
    monkeypatch: Any,
    capsys: Any,
) -> None:
    csrf = sign_in(client)
    location_ids, selling_ids, police_ids = IDS_RE.findall(client.get("/console/unanswered").text)
    _mark(client, csrf, location_ids, "answered_by_topic", "location_data")
    _mark(client, csrf, police_ids, "answered_by_topic", "sharing_authorities")
    _mark(client, csrf, selling_ids, "out_of_scope")
    settings = make_settings(db_url, tmp_path)
    for name in ("database_url", "bot_api_key", "staff_tokens", "proof_secret"):
        monkeypatch.setenv(f"RIGHTS_{name.upper()}", str(getattr(settings, name)))
    for name in ("lookup_pepper", "audit_key", "audit_anchor_file", "dev_secrets_file"):
        monkeypatch.setenv(f"RIGHTS_{name.upper()}", str(getattr(settings, name)))
    out = tmp_path / "unanswered.yml"
    cli.main(["export-unanswered", "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text.startswith('version: "3.1"\nnlu:\n- intent: ask_policy/')
    assert "  examples: |\n    - 车机是不是一直在上传位置啊\n" in text
    data = yaml.safe_load(text)
    assert {e["intent"]: e["examples"].splitlines() for e in data["nlu"]} == {
        "ask_policy/sharing_authorities": [f"- {q}" for q in POLICE],
        "ask_policy/location_data": [f"- {q}" for q in LOCATION],
    }
    assert "5 examples of 2 topics" in capsys.readouterr().err
    cli.main(["export-unanswered"])  # stdout
    assert capsys.readouterr().out == text
