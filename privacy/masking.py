"""Masking of personal data in text, for every form that is written down.

What counts as personal data is decided in `privacy.identifiers`; this module decides how each
kind is written once masked, for both runtimes (the tracker store, the action server's and the
API's logs, ticket details, notes and the outbox):

- ID-card numbers keep their first three and last four characters, 110***********002X: the
  birth date never survives; a wrong check digit is still somebody's mistyped number, masked too;
- mobiles keep their first three and last four digits, 138****8000, whatever the spelling;
  landlines and hotlines (400-800-6699) stay readable;
- digits typed after a word that asks for a secret ("code: 20 50 92", "my pin is 2468") are all
  starred; in stored conversations and logs, stand-alone codes too;
- in a stored conversation, a code or password typed alone is a word in the conversation's
  language, "[验证码]" or "[code]" (`code_placeholder`), as the customer rereads it.

Full-width and other Unicode decimal digits come out as ASCII digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from privacy.identifiers import (
    BARE_CODE,
    KEYED_AFTER_WORD,
    MASKED_MOBILE,
    OTP,
    Found,
    ascii_digits,
    find_id_numbers,
    find_mobiles,
    is_id_number,
    is_keyed_secret,
    mobile_e164,
    normalise_mobile,
)

# Detection, read through this module by callers that only mask.
__all__ = [
    "CODE_MASK",
    "CODE_PLACEHOLDER",
    "CODE_PLACEHOLDERS",
    "REDACTED",
    "ascii_digits",
    "code_placeholder",
    "is_id_number",
    "mask_bare_codes",
    "mask_digits",
    "mask_id_number",
    "mask_id_numbers",
    "mask_keyed_secrets",
    "mask_log_text",
    "mask_mobile",
    "mask_mobile_value",
    "mask_mobiles",
    "mask_name",
    "mask_personal",
    "mask_stored_message",
    "mask_stored_text",
    "mask_vin",
    "mobile_e164",
    "normalise_mobile",
]

CODE_MASK = "******"
# What a stored conversation shows for a code or password typed alone, in the conversation's
# language (read by the customer on the chat page after a reload, and by staff).
CODE_PLACEHOLDERS = {"zh": "[验证码]", "en": "[code]"}
CODE_PLACEHOLDER = CODE_PLACEHOLDERS["en"]
REDACTED = "[redacted]"


def _replace(text: str, found: list[Found], mask: Callable[[str], str]) -> str:
    pieces: list[str] = []
    cursor = 0
    for item in found:
        pieces.append(text[cursor : item.start])
        pieces.append(mask(item.digits))
        cursor = item.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def mask_id_number(value: str) -> str:
    """110***********002X: the first three and the last four stay (the birth date goes)."""
    compact = re.sub(r"[^0-9Xx]", "", ascii_digits(value))
    return compact[:3] + "*" * (len(compact) - 7) + compact[-4:]


def mask_id_numbers(text: str) -> str:
    text = ascii_digits(text)
    return _replace(text, find_id_numbers(text), mask_id_number)


def mask_mobile(number: str) -> str:
    """138****8000 (+86138****8000) from any spelling of a mobile; other numbers all starred."""
    digits = re.sub(r"\D", "", ascii_digits(number))
    prefix = ""
    if digits.startswith("86") and len(digits) == 13:
        prefix, digits = ("+86" if "+" in number else "86"), digits[2:]
    if len(digits) != 11:
        return "*" * len(digits)
    return f"{prefix}{digits[:3]}****{digits[-4:]}"


def _mask_found_mobile(digits: str) -> str:
    if digits.startswith("+"):  # another country's: every digit starred
        return "*" * (len(digits) - 1)
    return mask_mobile(digits)


def mask_mobiles(text: str) -> str:
    text = ascii_digits(text)
    return _replace(text, find_mobiles(text), _mask_found_mobile)


def mask_mobile_value(value: str) -> str:
    """A value that should be a mobile (a slot): 138****8000, or [redacted] if it is not one."""
    if MASKED_MOBILE.fullmatch(value):
        return value
    masked = mask_mobiles(value)
    found = MASKED_MOBILE.search(masked)
    return found.group() if found and masked != ascii_digits(value) else REDACTED


def mask_keyed_secrets(text: str) -> str:
    """Digits after a word asking for a code or password: every digit starred, layout kept."""

    def _star(m: re.Match[str]) -> str:
        digits = re.sub(r"\d", "*", m.group("digits"))
        return m.group()[: m.start("digits") - m.start()] + digits

    return KEYED_AFTER_WORD.sub(_star, text)


def mask_bare_codes(text: str, mask: str | None = None) -> str:
    """Runs of 6 to 8 digits standing alone (codes, passwords) starred, or `mask`; references
    kept. Not for customer free text in tickets: there a 6-digit run may be a postcode."""
    return BARE_CODE.sub(lambda m: mask or "*" * len(m.group()), ascii_digits(text))


def mask_digits(text: str) -> str:
    """Every digit starred: a message typed while a code or password was asked for."""
    return re.sub(r"\d", "*", ascii_digits(text))


def mask_personal(text: str) -> str:
    """ID numbers, mobiles and keyed secrets masked in `text` (digits read as ASCII)."""
    if not text:
        return text
    text = ascii_digits(text)
    if not any(ch.isdigit() for ch in text):
        return text
    return mask_keyed_secrets(mask_mobiles(mask_id_numbers(text)))


# A VIN by its form: 17 letters and digits without I, O, Q, with both letters and digits.
_VIN_FORM = re.compile(
    r"(?<![0-9A-Za-z])(?=[A-HJ-NPR-Z0-9]*[A-HJ-NPR-Z])(?=[A-HJ-NPR-Z0-9]*[0-9])"
    r"[A-HJ-NPR-Z0-9]{17}(?![0-9A-Za-z])",
    re.IGNORECASE,
)
VIN_MASK = "*" * 17


def mask_vins(text: str) -> str:
    """Every VIN-shaped run starred: a question kept for review needs no car's identity."""
    return _VIN_FORM.sub(VIN_MASK, text)


def mask_question(text: str) -> str:
    """A customer's question as it is kept for review: ID numbers, mobiles, keyed secrets,
    VINs and bare 6-8 digit codes all masked. Both runtimes apply it (the bot before sending,
    the API before storing)."""
    return mask_bare_codes(mask_vins(mask_personal(text)))


def mask_log_text(text: str) -> str:
    """What a log line may hold: mobiles and ID numbers masked, codes and passwords starred."""
    return mask_bare_codes(mask_personal(text))


def code_placeholder(lang: str | None) -> str:
    """The word a stored conversation in `lang` shows for a code: [验证码] in Chinese, [code]
    in English and where the language is not known."""
    return CODE_PLACEHOLDERS.get(lang or "", CODE_PLACEHOLDER)


def mask_stored_text(text: str, placeholder: str = CODE_PLACEHOLDER) -> str:
    """Text of a stored conversation: personal numbers masked, one-time codes starred
    (******), other stand-alone 6 to 8 digit runs shown as `placeholder` ([code])."""
    text = OTP.sub(CODE_MASK, mask_personal(text))
    return mask_bare_codes(text, placeholder)


def mask_stored_message(text: str, placeholder: str = CODE_PLACEHOLDER) -> str:
    """A customer's message as a stored conversation keeps it: a message of nothing but keyed
    digits (a code or password, whatever its length) is `placeholder` ([code])."""
    masked = mask_stored_text(text, placeholder)
    return placeholder if is_keyed_secret(masked) else masked


def mask_name(name: str) -> str:
    """王芳 -> 王*, 欧阳娜娜 -> 欧***; a Latin name keeps each word's initial: C*** J***."""
    name = name.strip()
    if not name:
        return ""
    if " " in name:
        return " ".join(w[0] + "*" * max(len(w) - 1, 1) for w in name.split())
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_vin(vin: str) -> str:
    """Keeps the maker code and the last four characters: WMW**********2345."""
    if len(vin) <= 7:
        return "*" * len(vin)
    return vin[:3] + "*" * (len(vin) - 7) + vin[-4:]
