"""Lexical tokens of both languages for the BM25 score of the answer ranker.

spaCy's Chinese tokenizer (jieba segmenter) and English tokenizer cut the text
(bot/components/segmentation.py); Chinese tokens are kept as they are, Latin tokens are
lower-cased and lightly stemmed, stop words of both languages and punctuation are dropped.
The keyword bridge of ``data/policies/search_terms.yml`` adds the other language's words (and
the policy's own wording for colloquial ones) to a question: every group the question mentions
adds all of its words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import yaml

from bot.components.segmentation import words

__all__ = ["Bridge", "tokenize"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_EN_STOP = _words(
    """
    a about above after again all am an and any are as at be been before being below between
    both but by can could did do does doing done down during each else ever every few for from
    further get gets got had has have having he her here hers him his how i if in into is it
    its itself just me more most much must my myself no nor not now of off on once only or other
    our ours out over own please same shall she should so some such tell than that the their
    them then there these they this those through to too under until up upon very want was we
    were what when where whether which while who whom why will with would you your yours
    yourself s t d ll m re ve know let like need may might also anything something thing things
    way ways happen happens happened going go ok okay hi hello thanks thank policy privacy bmw
    mini say says said give make one long until there's what's it's i'm
    """
)
_ZH_STOP = _words(
    """
    的 了 吗 呢 吧 啊 呀 么 嘛 哦 和 与 及 或 或者 是 在 有 我 我们 你 你们 您 您的 他 她 它 他们
    这 那 这个 那个 这些 那些 哪 哪些 哪个 什么 怎么 怎样 怎么样 如何 为什么 为何 多少 几 能 能否
    可以 可否 会 要 想 想要 需要 应该 请 请问 一下 一个 是否 是不是 有没有 就 也 都 还 又 很 太
    把 被 对 对于 从 向 给 让 用 以 于 为 之 其 该 等 等等 上 下 中 里 所 如果 因为 所以 但 但是 而
    如 即 则 并 并且 不想 再 会用 自己 个 这样 那么 知道 告诉 一般 现在 时候 隐私 政策 隐私政策
    宝马 迷你 规定 相关 进行 关于 本 办 怎么办 该怎么办 发生
    """
)
_PUNCT_OR_SPACE = re.compile(r"^[\W_]+$", re.UNICODE)
_LATIN = re.compile(r"^[A-Za-z][A-Za-z0-9'’\-]*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _stem(word: str) -> str:
    """A deliberately small English stemmer: enough to meet "deleting"/"deletion"/"delete"."""
    w = word.lower().replace("’", "'").split("'")[0]
    for suffix, repl in (
        ("ies", "i"),
        ("ied", "i"),
        ("ations", ""),
        ("ation", ""),
        ("ions", ""),
        ("ion", ""),
        ("ings", ""),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
        ("ly", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= (4 if suffix == "ly" else 3):
            w = w[: len(w) - len(suffix)] + repl
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    elif w.endswith("y") and len(w) > 3:
        w = w[:-1] + "i"
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]
    return w


def tokenize(text: str) -> list[str]:
    """Cut Chinese and English text into normalised content tokens (stop words removed)."""
    tokens: list[str] = []
    for piece in words(text):
        piece = piece.strip()
        if not piece or _PUNCT_OR_SPACE.match(piece):
            continue
        if _LATIN.match(piece):
            low = piece.lower()
            if low in _EN_STOP or piece in _ZH_STOP:
                continue
            stem = _stem(low)
            if len(stem) < 2:
                continue
            tokens.append(stem)
        elif _CJK.search(piece):
            if piece in _ZH_STOP:
                continue
            tokens.append(piece)
            # Compounds also count by their two-character words ("注销账户" meets "注销"),
            # as jieba's search mode did.
            if len(piece) > 2:
                tokens.extend(piece[i : i + 2] for i in range(len(piece) - 1))
        elif piece.isdigit():
            tokens.append(piece)
    return tokens


class Bridge:
    """The keyword groups of search_terms.yml: a question's words bring their group's words."""

    def __init__(self, groups: Sequence[tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]]):
        # Each group: the token sequences that trigger it, and the tokens it adds.
        self._groups = groups

    @classmethod
    def load(cls, path: Path) -> Bridge:
        if not path.exists():
            return cls(())
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        groups = []
        for entry in data.get("terms") or []:
            terms = [str(t) for t in (entry.get("en") or []) + (entry.get("zh") or [])]
            triggers = tuple(t for t in (tuple(tokenize(term)) for term in terms) if t)
            added = tuple(sorted({token for trigger in triggers for token in trigger}))
            groups.append((triggers, added))
        return cls(tuple(groups))

    def expand(self, tokens: Sequence[str]) -> list[str]:
        """The question's tokens, then the words of every group it mentions."""
        present = set(tokens)
        extra: list[str] = []
        for triggers, added in self._groups:
            if any(all(t in present for t in trigger) for trigger in triggers):
                extra.extend(t for t in added if t not in present)
        return [*tokens, *dict.fromkeys(extra)]


@lru_cache(maxsize=4)
def bridge(path: str) -> Bridge:
    return Bridge.load(Path(path))
