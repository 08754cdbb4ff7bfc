"""Sentences and lexical words of policy clauses and customer messages, in Chinese and English.

spaCy blank pipelines, no model download: ``zh`` with the jieba segmenter, ``en`` with spaCy's
rule-based tokenizer, each followed by a sentencizer. One component before the sentencizer
carries what punctuation alone does not: a line break ends a sentence (the policies' list items
and headings stand on lines of their own, without a full stop), a list marker ("1．", "（1）",
"(a)", "•") opens one, and a URL or e-mail address is one token, so that neither the jieba
segments of "ConnectedDrive@bmw.com.cn" nor a list marker's full stop ends a sentence.

Each pipeline is built once per process, under a lock: Rasa serves messages from threads.
"""

from __future__ import annotations

import re
import threading

import spacy
from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc, Token
from spacy.util import filter_spans

# Full stops of both widths, the Chinese semicolon ends a clause of a list sentence as it does
# in the policies' enumerations ("……；（2）……"); "．" only numbers list items.
_ZH_ENDS = ["。", "｡", "！", "？", "；", ".", "!", "?", ";", "…"]
# English semicolons separate the items of the policies' inline lists ("(a) …; (b) …").
_EN_ENDS = [*Sentencizer.default_punct_chars, ";"]

_LINK = re.compile(
    r"(?:https?://|www\.)[A-Za-z0-9\-._~/?#%&=+:@]*[A-Za-z0-9/#=]"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)
# A list marker at the start of a line, or right after a colon or semicolon ("包括：(a)…；(b)…").
_MARKER = re.compile(
    r"(?:^|(?<=[：:；;]))[ \t]*("
    r"\d{1,2}(?:\.\d{1,2})*[.．、]"
    r"|\d{1,2}(?:\.\d{1,2})+"
    r"|[（(](?:\d{1,2}|[a-zA-Z]|[ivxIVX]{1,4}|[一二三四五六七八九十]{1,3})[)）]"
    r"|[•·▪●]"
    r")",
    re.MULTILINE,
)
_TRAILING = {"and", "or", "以及", "或", "或者", "和"}
_HAN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")


@Language.component("clause_structure")
def clause_structure(doc: Doc) -> Doc:
    """Links and list markers one token each; a sentence starts at a marker and after a break."""
    text = doc.text
    links = [
        doc.char_span(m.start(), m.end(), alignment_mode="expand") for m in _LINK.finditer(text)
    ]
    markers = [
        doc.char_span(m.start(1), m.end(1), alignment_mode="expand") for m in _MARKER.finditer(text)
    ]
    with doc.retokenize() as retokenizer:
        for span in filter_spans([s for s in links + markers if s is not None and len(s) > 1]):
            retokenizer.merge(span)
    starts = {doc.char_span(s.start_char, s.end_char).start for s in markers if s is not None}
    after_break = False
    for token in doc:
        if token.is_space:
            after_break = after_break or "\n" in token.text
            continue
        if token.i > 0 and (after_break or token.i in starts):
            token.is_sent_start = True
        elif token.lower_ in _TRAILING and _ends_line(token):
            token.is_sent_start = False  # "…or organization; or" closes an item, not a sentence
        after_break = False
    return doc


def _ends_line(token: Token) -> bool:
    doc = token.doc
    if token.i + 1 == len(doc):
        return True
    nxt = doc[token.i + 1]
    return nxt.is_space and ("\n" in nxt.text or nxt.i + 1 == len(doc))


def _build(lang: str) -> Language:
    if lang == "zh":
        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        ends = _ZH_ENDS
    else:
        nlp = spacy.blank("en")
        ends = _EN_ENDS
    nlp.add_pipe("clause_structure")
    nlp.add_pipe("sentencizer", config={"punct_chars": ends})
    nlp("初始化。Warm up.")  # jieba loads its dictionary on first use, not per message
    return nlp


_pipelines: dict[str, Language] = {}
_lock = threading.Lock()


def pipeline(lang: str) -> Language:
    """The process's pipeline for ``lang`` ("zh…" is Chinese, anything else English)."""
    key = "zh" if lang.lower().startswith("zh") else "en"
    nlp = _pipelines.get(key)
    if nlp is None:
        with _lock:
            nlp = _pipelines.get(key)
            if nlp is None:
                nlp = _pipelines[key] = _build(key)
    return nlp


def sentences(text: str, lang: str) -> list[str]:
    """The sentences of ``text``, stripped, none empty; each list item a sentence of its own."""
    doc = pipeline(lang)(text)
    return [s for s in (sent.text.strip() for sent in doc.sents) if s]


def words(text: str) -> list[str]:
    """Lexical tokens for a BM25 score: jieba words for Chinese runs, lower-cased English words.

    Punctuation, symbols and whitespace are dropped; stop words are the caller's to filter.
    """
    zh, en = pipeline("zh").tokenizer, pipeline("en").tokenizer
    out: list[str] = []
    position = 0
    for match in _HAN.finditer(text):
        if match.start() > position:
            out.extend(_lexical(en(text[position : match.start()])))
        out.extend(_lexical(zh(match.group())))
        position = match.end()
    if position < len(text):
        out.extend(_lexical(en(text[position:])))
    return out


def _lexical(doc: Doc) -> list[str]:
    return [token.lower_ for token in doc if any(ch.isalnum() for ch in token.text)]
