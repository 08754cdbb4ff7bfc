"""Identifiers in user messages: mobile, id_number, vin, otp_code, ticket_ref.

Only valid identifiers are extracted (checksums, number plans); an invalid one is left for the
conversation to re-ask. `find_identifiers` and `redact` are pure functions shared with the
tracker-store redaction.

Rules work on characters, not tokens: spaCy's blank tokenizers (and jieba) do not split
"手机号是13800138000" at the digits, so a token Matcher would miss most Chinese messages.

VIN check digit (ISO 3779 position 9): mandatory in North America (WMI 1-5) and China (WMI L),
where regulations require it; European manufacturers are not obliged to use it, so other WMIs
(WBA, WMW, ...) are accepted on format alone (17 characters, no I/O/Q). The four demo VINs
all carry a correct check digit anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.training_data.message import Message
from stdnum.cn import ric

from bot.components.rule_extractor import RuleEntityExtractor
from privacy.masking import mask_mobile, normalise_mobile

CODE_MASK = "******"
ID_MASK = "******************"

_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
_NOT_DIGIT_BEFORE = r"(?<![0-9])"
_NOT_DIGIT_AFTER = r"(?![0-9])"

TICKET_REF = re.compile(_NOT_ALNUM_BEFORE + r"PR-(\d{4})-(\d{6})" + _NOT_ALNUM_AFTER, re.I)
VIN = re.compile(_NOT_ALNUM_BEFORE + r"[A-HJ-NPR-Z0-9]{17}" + _NOT_ALNUM_AFTER, re.I)
ID_NUMBER = re.compile(_NOT_ALNUM_BEFORE + r"\d{17}[\dXx]" + _NOT_ALNUM_AFTER)
# +86 / 86 prefix optional; groups of digits may be separated by one space or dash (138 0013 8000).
MOBILE = re.compile(
    _NOT_DIGIT_BEFORE + r"(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}" + _NOT_DIGIT_AFTER
)
# A code stands alone: not glued to other digits, nor part of "138 0013" style groups.
OTP = re.compile(r"(?<![0-9][ -])(?<![0-9A-Za-z])\d{6}(?![0-9A-Za-z])(?![ -][0-9])")

_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=False)),
    **dict(zip("JKLMN", range(1, 6), strict=False)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=False)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_CHECKED_REGIONS = tuple("L12345")


@dataclass(frozen=True)
class Identifier:
    entity: str
    value: str
    start: int
    end: int
    text: str


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin.upper(), _VIN_WEIGHTS, strict=False))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def is_valid_vin(vin: str) -> bool:
    vin = vin.upper()
    if len(vin) != 17 or not re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", vin):
        return False
    # A run of 17 digits is far more likely a mistyped number than a VIN.
    if vin.isdigit():
        return False
    if vin.startswith(_VIN_CHECKED_REGIONS):
        return vin[8] == vin_check_digit(vin)
    return True


def _overlaps(start: int, end: int, taken: list[Identifier]) -> bool:
    return any(start < item.end and end > item.start for item in taken)


def find_identifiers(text: str) -> list[Identifier]:
    """All valid identifiers in `text`, ordered by position, without overlaps."""
    found: list[Identifier] = []
    if not text:
        return found

    for match in TICKET_REF.finditer(text):
        value = f"PR-{match.group(1)}-{match.group(2)}"
        found.append(Identifier("ticket_ref", value, match.start(), match.end(), match.group()))

    for match in ID_NUMBER.finditer(text):
        value = match.group().upper()
        if ric.is_valid(value) and not _overlaps(match.start(), match.end(), found):
            found.append(Identifier("id_number", value, match.start(), match.end(), match.group()))

    for match in VIN.finditer(text):
        value = match.group().upper()
        if is_valid_vin(value) and not _overlaps(match.start(), match.end(), found):
            found.append(Identifier("vin", value, match.start(), match.end(), match.group()))

    for match in MOBILE.finditer(text):
        mobile = normalise_mobile(match.group())
        if mobile and not _overlaps(match.start(), match.end(), found):
            found.append(Identifier("mobile", mobile, match.start(), match.end(), match.group()))

    for match in OTP.finditer(text):
        if not _overlaps(match.start(), match.end(), found):
            found.append(
                Identifier("otp_code", match.group(), match.start(), match.end(), match.group())
            )

    return sorted(found, key=lambda item: item.start)


def redact(text: str) -> str:
    """`text` with mobiles masked and codes, ID numbers masked entirely.

    Six-digit runs are masked whether or not they were meant as a one-time code or phone
    password: a leaked code costs more than a masked order number. VINs and ticket
    references are not secrets and stay.
    """
    if not text:
        return text
    pieces: list[str] = []
    cursor = 0
    for item in find_identifiers(text):
        if item.entity == "mobile":
            replacement = mask_mobile(item.value)
        elif item.entity == "otp_code":
            replacement = CODE_MASK
        elif item.entity == "id_number":
            replacement = ID_MASK
        else:
            continue
        pieces.append(text[cursor : item.start])
        pieces.append(replacement)
        cursor = item.end
    pieces.append(text[cursor:])
    redacted = "".join(pieces)
    # Invalid ID numbers (bad checksum) are still secrets to whoever typed them.
    return ID_NUMBER.sub(ID_MASK, redacted)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class IdentifierExtractor(RuleEntityExtractor):
    """Adds the valid identifiers of a message as entities."""

    def entities_of(self, text: str, message: Message) -> list[dict[str, Any]]:
        return [
            {
                "entity": item.entity,
                "value": item.value,
                "start": item.start,
                "end": item.end,
                "confidence_entity": 1.0,
                "extractor": self.name,
            }
            for item in find_identifiers(text)
        ]
