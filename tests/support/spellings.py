"""Hypothesis strategies: ID-card numbers and mobiles as people type them, inside other text.

Every generated number is valid (ID numbers carry a correct check digit and a real region and
birth date; mobiles pass `phonenumbers`), spelled in groups joined by any separator the masking
claims to read (spaces, double and ideographic spaces, dashes, dots, slashes, full-width forms),
with digits in ASCII or full width, glued to letters or after another number, among Chinese and
English words. `survivors` says which parts of a number a masked text still shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hypothesis import strategies as st
from stdnum.cn import ric

from privacy.identifiers import ascii_digits

# Regions that exist (Beijing Chaoyang, Shanghai Huangpu, Shenzhen Futian, Chengdu Jinjiang, ...).
REGIONS = ("110105", "310101", "440304", "510104", "330106", "420102", "120101", "370102")
SEPARATORS = (
    "",
    " ",
    "  ",
    "\u3000",
    "-",
    ".",
    "/",
    "_",
    "·",
    " - ",
    "\t",
    "\uff0d",  # full-width hyphen
    "\uff0e",  # full-width full stop
    "\u2014",  # em dash
)
WORDS = (
    "身份证",
    "身份证号码是",
    "手机",
    "我的手机号",
    "请联系",
    "ID",
    "id no.",
    "my mobile is",
    "call me on",
    "card",
    "tel",
    "，",
    "。",
    ": ",
    "(",
    ")",
    "谢谢",
    "please",
)


@dataclass(frozen=True)
class Typed:
    """A number and the text it was typed in."""

    digits: str  # the number without separators, ASCII
    text: str
    kind: str  # "id_number" or "mobile"


def _full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if ch.isdigit() or ch == "X" else ch


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2012, 12, 31)))
    sequence = draw(st.integers(min_value=0, max_value=999))
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(("130", "135", "138", "139", "150", "158", "177", "186", "199")))
    return prefix + draw(st.text("0123456789", min_size=8, max_size=8))


@st.composite
def spelled(draw: st.DrawFn, digits: str) -> str:
    """`digits` cut into groups, joined by separators, each digit ASCII or full width."""
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=4)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    out = groups[0]
    for group in groups[1:]:
        out += draw(st.sampled_from(SEPARATORS)) + group
    if draw(st.booleans()):
        out = "".join(_full_width(ch) if draw(st.booleans()) else ch for ch in out)
    return out


@st.composite
def surrounding(draw: st.DrawFn, before: bool) -> str:
    """Words around a number; the text before may end glued to letters or with a lone digit."""
    words = draw(st.lists(st.sampled_from(WORDS), max_size=3))
    text = draw(st.sampled_from(("", " "))).join(words)
    if before:
        text += draw(st.sampled_from(("", " ", "ID", "No", " 2 ", "第2张 ", "sealed:v1: ")))
    else:
        text = draw(st.sampled_from(("", " ", "号", " x"))) + text
    return text


@st.composite
def typed_numbers(draw: st.DrawFn) -> Typed:
    """One ID number or mobile, in some spelling, inside some text."""
    kind = draw(st.sampled_from(("id_number", "mobile")))
    digits = draw(id_numbers() if kind == "id_number" else mobiles())
    number = draw(spelled(digits))
    if kind == "mobile":
        number = draw(st.sampled_from(("", "+86", "+86 ", "86", "0086 ", "(+86)"))) + number
    text = draw(surrounding(before=True)) + number + draw(surrounding(before=False))
    return Typed(digits, text, kind)


_SEPARATOR = "[" + re.escape("".join(set("".join(SEPARATORS)))) + "]*"


def _digit_runs(text: str) -> list[str]:
    """The digits of each group of digits joined by separators, as a masked text shows them."""
    plain = ascii_digits(text).upper()
    return [
        re.sub(r"[^0-9X]", "", run) for run in re.findall(rf"[0-9X](?:{_SEPARATOR}[0-9X])*", plain)
    ]


def survivors(typed: Typed, masked: str) -> list[str]:
    """The parts of `typed` that `masked` still shows: the birth date, or 7 digits in a row."""
    secrets = {typed.digits[i : i + 7] for i in range(len(typed.digits) - 6)}
    if typed.kind == "id_number":
        secrets.add(typed.digits[6:14])
    return sorted({s for run in _digit_runs(masked) for s in secrets if s in run})
