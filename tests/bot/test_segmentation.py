"""Sentences and words of policy clauses and customer messages, in Chinese and English."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.components import segmentation
from bot.components.segmentation import pipeline, sentences, words

POLICIES = Path(__file__).resolve().parents[2] / "data" / "policies"


def _clauses() -> list[tuple[str, str, str]]:
    out = []
    for brand in ("mini", "bmw"):
        data: dict[str, Any] = yaml.safe_load((POLICIES / f"{brand}.yml").read_text("utf-8"))
        lang = data["policy"]["language"]
        out += [(c["id"], str(c["text"]), lang) for c in data["clauses"]]
    return out


CLAUSES = _clauses()


def _bare(text: str) -> str:
    return re.sub(r"\s", "", text)


@pytest.mark.parametrize(("clause_id", "text", "lang"), CLAUSES, ids=[c[0] for c in CLAUSES])
def test_policy_clause_is_its_sentences(clause_id: str, text: str, lang: str) -> None:
    parts = sentences(text, lang)
    assert parts and all(p == p.strip() and p for p in parts)
    assert _bare("".join(parts)) == _bare(text)
    # A sentence of a single conjunction or marker quotes nothing.
    assert all(re.search(r"[\w\u4e00-\u9fff]{3,}", p) for p in parts), parts


# (language, text, its sentences separated by " | ")
SENTENCES = [
    pytest.param(
        "zh",
        "我们会删除您的信息。您可以随时撤回同意！需要帮助吗？请联系我们；谢谢! OK? 好的",
        "我们会删除您的信息。 | 您可以随时撤回同意！ | 需要帮助吗？ | 请联系我们；"
        " | 谢谢! | OK? | 好的",
        id="chinese and half-width punctuation",
    ),
    pytest.param(
        "en",
        "We keep your data for 3 years. Do you agree? Contact us; we reply within 30 days!",
        "We keep your data for 3 years. | Do you agree? | Contact us; | we reply within 30 days!",
        id="english",
    ),
    pytest.param(
        "en",
        "China Unicom Network Communication Co., Ltd. Shanghai Branch operates it, e.g. the App.",
        "China Unicom Network Communication Co., Ltd. Shanghai Branch operates it, e.g. the App.",
        id="english abbreviations",
    ),
    pytest.param(
        "zh",
        "请使用BMW ID登录My BMW App 2.0版本，或访问https://www.bmw.com.cn/zh/privacy.html了解详情。"
        "您也可以发送邮件至ConnectedDrive@bmw.com.cn。",
        "请使用BMW ID登录My BMW App 2.0版本，或访问https://www.bmw.com.cn/zh/privacy.html了解详情。"
        " | 您也可以发送邮件至ConnectedDrive@bmw.com.cn。",
        id="mixed chinese and english",
    ),
    pytest.param(
        "en",
        "Write to ConnectedDrive@bmw.com.cn or see www.bmw.com.cn. Version 2.0 applies.",
        "Write to ConnectedDrive@bmw.com.cn or see www.bmw.com.cn. | Version 2.0 applies.",
        id="english links and decimals",
    ),
    pytest.param(
        "zh",
        "本政策将帮助您了解以下内容：\n1．我们如何收集您的个人信息\n2．您的权利\n"
        "（1）与关联公司共享。\n（2）与经销商共享。\n•车辆基本数据\n•车辆状态数据",
        "本政策将帮助您了解以下内容： | 1．我们如何收集您的个人信息 | 2．您的权利"
        " | （1）与关联公司共享。 | （2）与经销商共享。 | •车辆基本数据 | •车辆状态数据",
        id="chinese numbered lists",
    ),
    pytest.param(
        "zh",
        "我们收集以下信息：(a)姓名；(b)手机号码。",
        "我们收集以下信息： | (a)姓名； | (b)手机号码。",
        id="chinese inline list",
    ),
    pytest.param(
        "en",
        "It includes: (a) emergency call; and (b) remote service.",
        "It includes: | (a) emergency call; | and (b) remote service.",
        id="english inline list",
    ),
    pytest.param(
        "en",
        "The policy covers:\n1. Our business functions\n2. Your rights\n· Basic vehicle data",
        "The policy covers: | 1. Our business functions | 2. Your rights | · Basic vehicle data",
        id="english numbered list and bullets",
    ),
    pytest.param(
        "en",
        "(7) Where it would damage the rights of another individual or organization; or",
        "(7) Where it would damage the rights of another individual or organization; or",
        id="trailing conjunction stays with its item",
    ),
]


@pytest.mark.parametrize(("lang", "text", "expected"), SENTENCES)
def test_sentences(lang: str, text: str, expected: str) -> None:
    assert sentences(text, lang) == expected.split(" | ")


def test_empty_and_blank_text_has_no_sentences() -> None:
    assert sentences("", "zh") == [] and sentences(" \n ", "en") == []


# (text, its words separated by spaces)
WORDS = [
    pytest.param(
        "我想删除我的个人信息，谢谢！", "我 想 删除 我 的 个人信息 谢谢", id="chinese: jieba"
    ),
    pytest.param("How long do you KEEP my data?", "how long do you keep my data", id="english"),
    pytest.param(
        "BMW ID登录不了App 2.0，请写信至ConnectedDrive@bmw.com.cn。",
        "bmw id 登录 不了 app 2.0 请 写信 至 connecteddrive@bmw.com.cn",
        id="mixed: links and decimals whole",
    ),
]


@pytest.mark.parametrize(("text", "expected"), WORDS)
def test_words(text: str, expected: str) -> None:
    assert words(text) == expected.split(" ")


def test_pipelines_are_built_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segmentation, "_pipelines", {})
    seen: list[int] = []

    def build() -> None:
        seen.append(id(pipeline("zh")))
        seen.append(id(pipeline("en")))

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 2
    assert pipeline("zh-CN") is pipeline("zh") and pipeline("en-US") is pipeline("en")
