"""Retrieval over the clauses of the MINI and BMW privacy policies.

The policies live in ``data/policies/{mini,bmw}.yml`` (one list of clauses each, ids as in
docs/ARCHITECTURE.md "Clause ids"). :class:`PolicySearch` builds one BM25 index
(``rank_bm25.BM25Okapi``) per brand over the clauses and answers a free-text question with the
best clause and a short quoted passage from it, or ``None`` when nothing in the policy matches
well enough.

Tokenisation is shared by both languages: jieba cuts the text (Chinese words; Latin words come
out whole), Chinese tokens are kept as they are, Latin tokens are lower-cased and lightly
stemmed, stop words of both languages and whitespace/punctuation tokens are dropped.

A question in the other language than the policy (an English question about the Chinese MINI
policy, a Chinese one about the English BMW policy) is bridged by the keyword groups in
``data/policies/search_terms.yml``: every group the question mentions adds all of its words to
the query. The same groups bring colloquial words to the policy's own wording ("删掉" → "删除").

Confidence is the share of the question's content words (weighted by their rarity in the
policy) that the chosen clause covers; a hit needs both a minimum BM25 score and a minimum
confidence. A question without content words, or whose words the policy does not know, gets
``None``.

Usage::

    search = PolicySearch.load("data/policies")
    hit = search.search("How long do you keep my data?", brand="bmw", lang="en")
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import jieba
import yaml
from rank_bm25 import BM25Okapi

from contract import Brand

__all__ = ["PolicySearch", "SearchHit", "tokenize"]

jieba.setLogLevel(logging.WARNING)

BRANDS = Brand.values()
MIN_SCORE = 4.0
"""Lowest BM25 score of the best clause that still counts as a hit."""
MIN_CONFIDENCE = 0.5
"""Lowest share of the question's (weighted) content words the best clause must cover."""
BM25_K1 = 1.2
BM25_B = 0.3
"""BM25 parameters; ``b`` below the usual 0.75 so one-line list items do not outrank sections."""
TITLE_WEIGHT = 3
"""How many times a clause's title counts among its words."""
ALTERNATIVE_WEIGHT = 1.0
"""Weight of a bridge alternative when the question's own word occurs in the policy."""
MAX_PASSAGE_ZH = 160
"""Longest passage, in characters, quoted from a Chinese clause."""
MAX_PASSAGE_EN = 60
"""Longest passage, in words, quoted from an English clause."""


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
_tokenizer_lock = threading.Lock()


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
    with _tokenizer_lock:  # jieba's lazy initialisation is not thread-safe
        pieces = jieba.lcut_for_search(text)
    tokens: list[str] = []
    for piece in pieces:
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
        elif piece.isdigit():
            tokens.append(piece)
    return tokens


@dataclass(frozen=True)
class SearchHit:
    """The clause that best answers a question.

    ``passage`` is a short quotation of the best-matching sentence(s) of the clause, not the
    whole clause; ``score`` is the raw BM25 score and ``confidence`` the share (0..1) of the
    question's weighted content words the clause covers.
    """

    clause_id: str
    title: str
    passage: str
    score: float
    confidence: float
    brand: str
    part: int = 0

    def part_name(self, lang: str) -> str:
        """The part as the policy's readers name it: 第五部分 / part 5 (MINI) / part V (BMW)."""
        if not 1 <= self.part <= len(_PART_NUMERALS_ZH):
            return "开篇说明" if lang == "zh" else "introduction"
        if lang == "zh":
            return f"第{_PART_NUMERALS_ZH[self.part - 1]}部分"
        return f"part {_PART_ROMAN[self.part - 1] if self.brand == Brand.BMW else self.part}"


_PART_NUMERALS_ZH = "一二三四五六七八九"
_PART_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")


@dataclass(frozen=True)
class _Clause:
    id: str
    part: int
    title: str
    text: str
    language: str


@dataclass(frozen=True)
class _Group:
    """One keyword group of the bridge: the token sequences that trigger it, and its tokens."""

    triggers: tuple[tuple[str, ...], ...]
    raw_terms: tuple[str, ...]
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class _Unit:
    """One concept of the question: the words the question used, and the bridge's alternatives."""

    own: tuple[str, ...]
    alternatives: tuple[str, ...] = ()

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.own + self.alternatives


class _BrandIndex:
    """The BM25 index over one policy's clauses."""

    def __init__(self, brand: str, language: str, clauses: Sequence[_Clause]) -> None:
        self.brand = brand
        self.language = language
        # Section headings whose whole text lives in their items add nothing to search.
        self.clauses = [c for c in clauses if c.text.strip() != c.title.strip()]
        # The title counts TITLE_WEIGHT times: it says what the clause is about.
        self.docs = [tokenize(f"{c.title}\n" * TITLE_WEIGHT + c.text) for c in self.clauses]
        self.bm25 = BM25Okapi(self.docs, k1=BM25_K1, b=BM25_B)
        self.doc_sets = [set(d) for d in self.docs]
        self.idf: dict[str, float] = {t: max(float(v), 0.05) for t, v in self.bm25.idf.items()}
        ranked = sorted(self.idf.values())
        self.unknown_weight = ranked[len(ranked) // 2] if ranked else 1.0
        self._token_scores: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def weight(self, token: str) -> float:
        """Rarity of a token in this policy; a word the policy lacks weighs as a median one."""
        return self.idf.get(token, self.unknown_weight)

    def unit_weight(self, unit: _Unit) -> float:
        """Weight of a question concept: its rarest own word the policy knows, else the
        rarest alternative, else the weight of an unknown word."""
        for group in (unit.own, unit.alternatives):
            known = [self.idf[t] for t in group if t in self.idf]
            if known:
                return max(known)
        return self.unknown_weight

    def token_scores(self, token: str) -> list[float]:
        """BM25 score of one token for every clause (memoised)."""
        with self._lock:
            cached = self._token_scores.get(token)
        if cached is None:
            cached = [float(x) for x in self.bm25.get_scores([token])]
            with self._lock:
                if len(self._token_scores) < 50_000:
                    self._token_scores[token] = cached
        return cached

    def scores(self, units: Sequence[_Unit]) -> list[float]:
        """Score of every clause for the question.

        The question's own words add their BM25 scores; of a unit's bridge alternatives only
        the best counts, at full weight when none of the own words occurs in this policy
        (a question in the other language) and at half weight otherwise, so a keyword group
        with many words cannot outweigh the rest of the question.
        """
        n = len(self.clauses)
        totals = [0.0] * n
        for unit in units:
            own = [0.0] * n
            own_known = False
            for token in unit.own:
                if token in self.idf:
                    own_known = True
                    for i, value in enumerate(self.token_scores(token)):
                        own[i] += value
            best = [0.0] * n
            for token in unit.alternatives:
                if token in self.idf:
                    for i, value in enumerate(self.token_scores(token)):
                        best[i] = max(best[i], value)
            factor = ALTERNATIVE_WEIGHT if own_known else 1.0
            for i in range(n):
                totals[i] += own[i] + factor * best[i]
        return totals

    def coverage(self, units: Sequence[_Unit], doc: int) -> float:
        """Weighted share of the question's concepts the clause contains."""
        words = self.doc_sets[doc]
        total = covered = 0.0
        for unit in units:
            weight = self.unit_weight(unit)
            total += weight
            if any(t in words for t in unit.tokens):
                covered += weight
        return covered / total if total else 0.0


class PolicySearch:
    """BM25 retrieval over the clauses of both policies. Build it with :meth:`load`."""

    _cache: ClassVar[dict[Path, PolicySearch]] = {}
    _cache_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, indexes: dict[str, _BrandIndex], groups: Sequence[_Group]) -> None:
        self._indexes = indexes
        self._groups = list(groups)

    @classmethod
    def load(cls, data_dir: str | Path = "data/policies", *, reload: bool = False) -> PolicySearch:
        """Load the policies and the keyword bridge from ``data_dir``; cached per directory."""
        path = Path(data_dir).resolve()
        with cls._cache_lock:
            if not reload and path in cls._cache:
                return cls._cache[path]
            groups = _load_groups(path / "search_terms.yml")  # adds the terms to jieba first
            indexes: dict[str, _BrandIndex] = {}
            for brand in BRANDS:
                file = path / f"{brand}.yml"
                if not file.exists():
                    continue
                data = yaml.safe_load(file.read_text(encoding="utf-8"))
                language = str(data["policy"]["language"])
                clauses = [
                    _Clause(str(c["id"]), int(c["part"]), str(c["title"]), str(c["text"]), language)
                    for c in data["clauses"]
                ]
                indexes[brand] = _BrandIndex(brand, language, clauses)
            instance = cls(indexes, groups)
            cls._cache[path] = instance
            return instance

    @property
    def brands(self) -> list[str]:
        """The brands whose policy is loaded."""
        return list(self._indexes)

    def search(self, query: str, brand: str, lang: str = "zh") -> SearchHit | None:
        """Return the clause of ``brand``'s policy that best answers ``query``, or ``None``.

        ``lang`` is the language the customer writes in (``zh`` or ``en``). The query is
        tokenised whatever its script and always bridged through the keyword groups, so the
        result does not depend on ``lang`` being right; it is kept for callers and logging.
        """
        index = self._indexes.get(brand)
        if index is None or not query or not query.strip():
            return None
        units = self._units(query)
        if not units:
            return None
        scores = index.scores(units)
        best = max(range(len(scores)), key=lambda i: scores[i])
        best_score = scores[best]
        if best_score < MIN_SCORE:
            return None
        confidence = index.coverage(units, best)
        if confidence < MIN_CONFIDENCE:
            return None
        clause = index.clauses[best]
        return SearchHit(
            clause_id=clause.id,
            title=clause.title,
            passage=_best_passage(clause, units, index),
            score=round(best_score, 3),
            confidence=round(confidence, 3),
            brand=brand,
            part=clause.part,
        )

    def explain(self, query: str, brand: str, lang: str = "zh") -> dict[str, Any]:
        """Diagnostics for calibration: the query's units and the top clauses with their
        scores and coverage."""
        index = self._indexes[brand]
        units = self._units(query)
        scores = index.scores(units) if units else []
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])[:5]
        return {
            "units": [unit.own for unit in units],
            "top": [
                (index.clauses[i].id, round(scores[i], 2), round(index.coverage(units, i), 2))
                for i in ranked
            ],
        }

    def _units(self, query: str) -> list[_Unit]:
        """Cut the question into concepts: bridge groups it mentions, then its other words."""
        tokens = tokenize(query)
        if not tokens:
            return []
        token_set = set(tokens)
        lowered = query.lower()
        units: list[_Unit] = []
        claimed: set[str] = set()
        for group in self._groups:
            own: set[str] = set()
            for trigger in group.triggers:
                if trigger and all(t in token_set for t in trigger):
                    own.update(trigger)
            for term in group.raw_terms:
                if _CJK.search(term) and term.lower() in lowered:
                    own.update(t for t in tokenize(term) if t in token_set)
            own = {t for t in own if not _subsumed(t, claimed)}
            if not own:
                continue
            claimed |= own
            # "个人信息" counts once: its parts "个人", "信息" become alternatives
            whole = {t for t in own if not any(t != o and t in o for o in own)}
            alternatives = tuple(sorted((set(group.tokens) | own) - whole))
            units.append(_Unit(tuple(sorted(whole)), alternatives))
        rest = list(dict.fromkeys(t for t in tokens if not _subsumed(t, claimed)))
        for token in rest:
            if any(token != other and token in other for other in rest if _CJK.search(token)):
                continue  # a part of a longer word of the question
            parts = tuple(o for o in rest if o != token and o in token and _CJK.search(o))
            units.append(_Unit((token,), parts))
        return units


def _subsumed(token: str, claimed: set[str]) -> bool:
    """Whether a Chinese token is part of, or contains, a word already taken by a unit.

    jieba's search mode yields a compound and its parts ("客服热线", "客服", "热线"); one
    concept must count once.
    """
    if token in claimed:
        return True
    if not _CJK.search(token):
        return False
    return any(_CJK.search(c) and (token in c or c in token) for c in claimed)


def _load_groups(path: Path) -> list[_Group]:
    """Read the keyword bridge; a missing file means no bridge."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    groups: list[_Group] = []
    for entry in data.get("terms", []):
        terms = [str(t) for t in (entry.get("en") or []) + (entry.get("zh") or [])]
        for term in terms:
            if _CJK.search(term):
                with _tokenizer_lock:
                    jieba.add_word(term)
        triggers = tuple(tuple(tokenize(t)) for t in terms)
        tokens = tuple(sorted({tok for trig in triggers for tok in trig}))
        groups.append(_Group(triggers, tuple(terms), tokens))
    return groups


# Sentences that point at a table the quotation cannot show ("您可以通过下表查看…").
_POINTS_AT_TABLE = re.compile(
    r"下表|以下表格|(?:table|chart) (?:below|above)|following table", re.IGNORECASE
)
_SENT_ZH = re.compile(r"(?<=[。；！？!?])")
_SENT_EN = re.compile(r"(?<=[.;!?])\s+(?=[A-Z(•·])")


def _sentences(text: str, language: str) -> list[tuple[str, bool]]:
    """The clause's sentences, each with whether it ends a paragraph."""
    splitter = _SENT_ZH if language == "zh" else _SENT_EN
    out: list[tuple[str, bool]] = []
    for paragraph in text.split("\n"):
        parts = [p.strip() for p in splitter.split(paragraph) if p and p.strip()]
        out.extend((part, i == len(parts) - 1) for i, part in enumerate(parts))
    return out


def _length(text: str, language: str) -> int:
    return len(text) if language == "zh" else len(text.split())


def _truncate(text: str, language: str) -> str:
    if language == "zh":
        return text if len(text) <= MAX_PASSAGE_ZH else text[: MAX_PASSAGE_ZH - 1] + "…"
    words = text.split(" ")
    return text if len(words) <= MAX_PASSAGE_EN else " ".join(words[: MAX_PASSAGE_EN - 1]) + " …"


def _best_passage(clause: _Clause, units: Sequence[_Unit], index: _BrandIndex) -> str:
    """The sentence of the clause that matches the question best, with a neighbour if short.

    A sentence scores the weights of the question's concepts it mentions, a concept met by
    several of its words (答复, 工作日) a little more than one met once.
    """
    sentences = _sentences(clause.text, clause.language) or [(clause.text, True)]

    def score(sentence: str) -> float:
        words = set(tokenize(sentence))
        total = 0.0
        for unit in units:
            found = sum(1 for t in set(unit.tokens) if t in words)
            if found:
                total += index.unit_weight(unit) * (1.0 + 0.5 * (min(found, 3) - 1))
        return total

    # A sentence about a table that is not quoted leaves the reader looking for it.
    scored = [-1.0 if _POINTS_AT_TABLE.search(text) else score(text) for text, _ in sentences]
    best = max(range(len(sentences)), key=lambda i: (scored[i], -i))
    chosen = [best]
    limit = MAX_PASSAGE_ZH if clause.language == "zh" else MAX_PASSAGE_EN
    short = limit // 3

    def total(ids: Iterable[int]) -> int:
        return sum(_length(sentences[i][0], clause.language) for i in ids)

    # A short sentence (a list heading, "We will reply within 30 days.") reads better with
    # the sentence that follows or precedes it.
    while total(chosen) < short:
        nxt, prv = chosen[-1] + 1, chosen[0] - 1
        options = [i for i in (nxt, prv) if 0 <= i < len(sentences)]
        options = [i for i in options if total([*chosen, i]) <= limit and scored[i] >= 0]
        if not options:
            break
        pick = max(options, key=lambda i: (scored[i], i == nxt))
        chosen = sorted([*chosen, pick])
    inline = "" if clause.language == "zh" else " "
    passage = ""
    for n, i in enumerate(chosen):
        if n:
            passage += "\n" if sentences[chosen[n - 1]][1] else inline
        passage += sentences[i][0]
    return _truncate(passage, clause.language)
