"""The full text of a brand's privacy policy as one HTML page, from data/policies/<brand>.yml.

The chat links to it (`policy/<brand>`, `#part-5` for a part, `#part-5-1` for a clause), so the
whole policy is one tap from any answer. Every text from the file is escaped; the page uses the
chat's style sheet and runs no script.
"""

from __future__ import annotations

import functools
from html import escape
from pathlib import Path
from typing import Any

import yaml

from bot.answers.knowledge import clause_anchor
from contract import Brand

POLICY_DIR = Path(__file__).resolve().parents[2] / "data" / "policies"
BRANDS = Brand.values()
HTML_LANG = {"zh": "zh-CN", "en": "en"}
CONTENTS = {"zh": "目录", "en": "Contents"}
UPDATED = {"zh": "最近更新：", "en": "Last updated: "}
HOTLINE = {"zh": "客服热线：", "en": "Hotline: "}
BACK = {"zh": "返回对话", "en": "Back to the chat"}


def _paragraphs(text: str) -> str:
    paragraphs = [p.strip() for p in str(text).split("\n") if p.strip()]
    return "".join(f"<p>{escape(p)}</p>" for p in paragraphs)


def _anchor(clause: dict[str, Any]) -> str:
    """`part-5` for a part, `part-5-3` for its items: stable links without internal ids."""
    return clause_anchor(str(clause["id"]))


@functools.lru_cache(maxsize=len(BRANDS))
def render(brand: str) -> str:
    """The policy page of `brand` (one of BRANDS)."""
    data = yaml.safe_load((POLICY_DIR / f"{brand}.yml").read_text(encoding="utf-8"))
    policy, clauses = data["policy"], data["clauses"]
    lang = policy.get("language", "zh")
    title = escape(policy["title"])
    contents = "".join(
        f'<li><a href="#{_anchor(c)}">{escape(c["title"])}</a></li>'
        for c in clauses
        if str(c["id"]).count(".") == 1 and str(c["id"]).split(".")[1].isdigit()
    )
    sections = []
    for clause in clauses:
        depth = str(clause["id"]).count(".")
        level = 2 if depth <= 1 else 3
        heading = (
            ""
            if clause["id"].endswith(".intro")
            else (f"<h{level}>{escape(clause['title'])}</h{level}>")
        )
        sections.append(
            f'<section id="{_anchor(clause)}">{heading}{_paragraphs(clause["text"])}</section>'
        )
    meta = [f"{UPDATED[lang]}{escape(str(policy.get('updated', '')))}"]
    if policy.get("hotline"):
        meta.append(f"{HOTLINE[lang]}{escape(str(policy['hotline']))}")
    return (
        f'<!doctype html><html lang="{HTML_LANG[lang]}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{title}</title>'
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="../chat.css"></head>'
        f'<body class="policy-page" data-brand="{brand}"><main class="policy">'
        f'<p><a href="../?brand={brand}">{BACK[lang]}</a></p>'
        f'<h1>{title}</h1><p class="policy-meta">{" · ".join(meta)}</p>'
        f'<nav aria-label="{CONTENTS[lang]}"><h2>{CONTENTS[lang]}</h2><ol>{contents}</ol></nav>'
        f"{''.join(sections)}</main></body></html>"
    )
