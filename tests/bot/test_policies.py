"""The structured policies in data/policies: ids, coverage of the text, cleaning, key figures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "policies"
ID_RE = re.compile(r"^(mini|bmw)\.(intro|[1-9](\.[1-9][0-9]?){0,2})$")


def _load(brand: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DATA_DIR / f"{brand}.yml").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module", params=["mini", "bmw"])
def policy(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(request.param)


def _clauses(brand: str) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in _load(brand)["clauses"]}


def _text(clause: dict[str, Any]) -> str:
    return str(clause["text"])


def test_metadata() -> None:
    mini, bmw = _load("mini")["policy"], _load("bmw")["policy"]
    assert mini["id"] == "mini" and mini["language"] == "zh"
    assert str(mini["updated"]) == "2022-10"
    assert mini["hotline"] == "400-800-6699"
    assert mini["email"] == "ConnectedDrive@bmw.com.cn"
    assert mini["operator"] == "联通智网科技有限公司"
    assert mini["controller"] == "宝马（中国）汽车贸易有限公司"
    assert mini["title"]
    assert bmw["id"] == "bmw" and bmw["language"] == "en"
    assert str(bmw["updated"]) == "2019-11"
    assert bmw["hotline"] == "400-800-6666"
    assert "China Unicom" in bmw["operator"]
    assert bmw["title"] and bmw["controller"]


def test_ids_unique_well_formed_and_in_order(policy: dict[str, Any]) -> None:
    brand = policy["policy"]["id"]
    ids = [c["id"] for c in policy["clauses"]]
    assert len(ids) == len(set(ids))
    for clause in policy["clauses"]:
        assert ID_RE.match(clause["id"]), clause["id"]
        assert clause["id"].startswith(brand + ".")
        assert set(clause) == {"id", "part", "title", "text"}
        assert clause["title"].strip() and clause["text"].strip()
        expected_part = 0 if clause["id"].endswith(".intro") else int(clause["id"].split(".")[1])
        assert clause["part"] == expected_part
    assert ids[0] == f"{brand}.intro"
    parts = [c["part"] for c in policy["clauses"]]
    assert parts == sorted(parts), "clauses are in document order"
    # every section or item has its parent
    for cid in ids:
        parent = cid.rsplit(".", 1)[0]
        if parent != brand and not cid.endswith(".intro"):
            assert parent in ids, cid


def test_every_part_present(policy: dict[str, Any]) -> None:
    brand = policy["policy"]["id"]
    ids = {c["id"] for c in policy["clauses"]}
    for part in range(1, 10):
        assert f"{brand}.{part}" in ids


NOISE = [
    re.compile(r"baidu\.com/link"),
    re.compile(r"^\s*\d{1,3}\s*$", re.M),  # page numbers
    re.compile(r"[\u4e00-\u9fff] +[\u4e00-\u9fff0-9]"),  # stray spaces in Chinese text
    re.compile(r"[\u4e00-\u9fff0-9] +[\u4e00-\u9fff]"),
    re.compile(r"[\u2f00-\u2fdf]"),  # Kangxi radicals from the PDF fonts
    re.compile(r"  "),
    re.compile(
        r"\b(ofparticular|fullunderstanding|CommunicationCo|BMWConnected|thisPrivacy|"
        r"PrivacyPolicy|WeUse|wewill|ofthe|inthe|tothe|andthe|personalinformation|"
        r"yourpersonal|serviceproviders|Forexample|basedon)\b"
    ),
]


def test_no_noise_left(policy: dict[str, Any]) -> None:
    for clause in policy["clauses"]:
        for pattern in NOISE:
            for field in ("title", "text"):
                assert not pattern.search(clause[field]), (clause["id"], pattern.pattern)


def test_no_hard_line_breaks_inside_chinese_sentences() -> None:
    for clause in _load("mini")["clauses"]:
        for para in _text(clause).split("\n"):
            # a paragraph never ends in the middle of a word pair such as "以\n下简称"
            assert not para.endswith(("（以", "联通智网科技", "的", "和")), (clause["id"], para)


def test_key_figures_in_the_right_clause() -> None:
    mini, bmw = _clauses("mini"), _clauses("bmw")
    assert "15个工作日" in _text(mini["mini.5.7"])
    assert "400-800-6699" in _text(mini["mini.5.7"])
    assert "400-800-6699" in _text(mini["mini.9"])
    assert "ConnectedDrive@bmw.com.cn" in _text(mini["mini.9"])
    assert "30 days" in _text(bmw["bmw.5.8"])
    assert "400-800-6666" in _text(bmw["bmw.9"])
    assert "不满14周岁" in _text(mini["mini.6"])
    assert "under the age of 14" in _text(bmw["bmw.6"])
    assert "不使用cookie" in _text(mini["mini.2"])
    assert "cookie policy" in _text(bmw["bmw.2"])
    assert "德国" in _text(mini["mini.7"])
    assert "will not be transferred" in _text(bmw["bmw.7"])


def test_ids_others_rely_on() -> None:
    mini, bmw = _clauses("mini"), _clauses("bmw")
    assert mini["mini.5.3"]["title"] == "删除您的个人信息"
    assert mini["mini.5.6"]["title"] == "信息系统自动决策的使用"
    assert mini["mini.5.7"]["title"] == "响应您的上述请求"
    assert bmw["bmw.5.3"]["title"] == "Deleting your personal information"
    assert bmw["bmw.5.8"]["title"] == "Responding to your requests"


def test_deletion_grounds_and_refusal_cases_are_items() -> None:
    mini, bmw = _clauses("mini"), _clauses("bmw")
    assert [f"mini.5.3.{i}" in mini for i in range(1, 7)] == [True] * 5 + [False]
    assert [f"mini.5.7.{i}" in mini for i in range(1, 10)] == [True] * 8 + [False]
    assert [f"bmw.5.3.{i}" in bmw for i in range(1, 7)] == [True] * 5 + [False]
    assert [f"bmw.5.8.{i}" in bmw for i in range(1, 10)] == [True] * 8 + [False]
    assert "商业秘密" in _text(mini["mini.5.7.8"])
    assert "trade secrets" in _text(bmw["bmw.5.8.8"])
    assert "撤回" in _text(mini["mini.5.3.5"])
    assert "位置权限" in _text(mini["mini.1.2.4"])


SENTENCE_SAMPLES = {
    "mini": [
        "我们委托其为实现本政策中的目的收集和处理您的个人信息",
        "我们不会仅依据信息系统、算法等在内的非人工自动决策机制做出决定",
        "为本政策之目的，我们将不满14周岁的任何人均视为儿童",
        "我们将尽力在15个工作日内回复您",
        "在注销账户之后，我们将停止为您提供产品或服务",
        "上述共计6项系统权限",
    ],
    "bmw": [
        "The confidentiality and integrity of your personal information is of particular concern",
        "ensure a full understanding of the meaning and corresponding legal consequences",
        "China Unicom Network Communication Co., Ltd. Shanghai Branch",
        "We will reply within 30 days.",
        "We regard any minor who is under the age of 14 as a child",
        "Where requests involve trade secrets.",
    ],
}


@pytest.mark.parametrize("brand", ["mini", "bmw"])
def test_sentences_kept(brand: str) -> None:
    whole = "\n".join(_text(c) for c in _load(brand)["clauses"])
    for sample in SENTENCE_SAMPLES[brand]:
        assert sample in whole, sample


@pytest.mark.parametrize(
    ("brand", "seed"), [("mini", "000_7e5435279cb163e3.txt"), ("bmw", "003_55983eb6ca13feab.txt")]
)
def test_nothing_dropped(brand: str, seed: str) -> None:
    """Every word of the seed text (bar noise) is in the clauses, in roughly the same amount."""
    path = Path("/work/shared/seeds") / seed
    if not path.exists():
        pytest.skip("seed text not available")
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"https?://www\.baidu\.com/link\S*", "", raw)
    data = _load(brand)
    whole = "".join(c["title"] + c["text"] for c in data["clauses"])
    letters = re.compile(r"[\u4e00-\u9fff]" if brand == "mini" else r"[A-Za-z]")

    def count(text: str) -> int:
        return len(letters.findall(text))

    assert count(whole) >= 0.97 * count(raw)
