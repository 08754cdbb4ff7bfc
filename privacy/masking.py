"""Masking of personal numbers in free text, for every form that is written down.

Both runtimes import this module (it needs only python-stdnum and phonenumbers, which both
carry), so the tracker store, the ticket details and the logs mask the same things the same way:

- ID-card numbers (居民身份证号码), 18 or 15 digits, with spaces, dashes or full-width digits,
  recognised by `stdnum.cn.ric` (birth date and region); a wrong check digit is still somebody's
  mistyped number and is masked too: 110105********002X;
- mobile numbers found by `phonenumbers.PhoneNumberMatcher` (any spelling it parses), masked as
  138****8000; landlines and hotlines (400-800-6699) stay readable;
- digits typed after a word that asks for a secret ("code: 20 50 92", "密码是 9081 72",
  "my pin is 2468"): every digit masked.

Full-width and other Unicode decimal digits are read as ASCII digits first (one character for
one, so positions do not move).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, ValidationError

CODE_MASK = "******"

_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
# Candidates only: 15 or 18 characters of digits (the last may be X), single separators allowed.
# Whether a candidate is an ID number is stdnum's decision.
_ID_CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z])\d(?:[ -]?\d){14}(?:(?:[ -]?\d){2}[ -]?[\dXx])?(?![0-9A-Za-z])"
)
_SECRET_WORDS = (
    r"(?:verification\s+code|one[- ]time\s+code|otp|code|pin|passcode|password|passwd|pwd"
    r"|验证码|校验码|动态码|密码|口令)"
)
# The word, a few joining characters ("is", "是", ":"; no sentence punctuation, nothing masked),
# then the digits with the spaces, dashes or dots between them; never a part of a masked number.
_KEYED_AFTER_WORD = re.compile(
    _SECRET_WORDS
    + r"(?P<join>[^0-9\n*,.;!?，。；！？]{0,12}?)(?P<digits>\d(?:[ \t\-.]*\d)*)(?![\d*])",
    re.IGNORECASE,
)

# Glued to letters, dashes, dots or colons: VINs, PR-2026-000123, times, versions; left alone.
_BARE_CODE = re.compile(r"(?<![0-9A-Za-z_\-./:])[0-9]{6,8}(?![0-9A-Za-z_\-])")


def ascii_digits(text: str) -> str:
    """Full-width letters and digits (２４６８, Ｘ) and other decimal digits as ASCII.

    One character for one, so positions do not move; full-width punctuation (，：) is kept.
    """
    if text.isascii():
        return text
    return "".join(_ascii_char(ch) for ch in text)


def _ascii_char(ch: str) -> str:
    if ch.isascii():
        return ch
    if "\uff10" <= ch <= "\uff19" or "\uff21" <= ch <= "\uff3a" or "\uff41" <= ch <= "\uff5a":
        return chr(ord(ch) - 0xFEE0)
    digit = unicodedata.decimal(ch, None)
    return ch if digit is None else str(digit)


def is_id_number(candidate: str) -> bool:
    """18 or 15 digits that stdnum reads as a resident ID number (check digit may be wrong)."""
    number = re.sub(r"[ -]", "", candidate).upper()
    if len(number) == 15 and number.isdigit():
        # First-generation card: no century, no check digit. Read it as its 18-digit form.
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
    try:
        ric.validate(number)
    except InvalidChecksum:
        return True
    except ValidationError:
        return False
    return True


def mask_id_number(value: str) -> str:
    """110***********002X: the first three and the last four stay (the birth date goes)."""
    compact = re.sub(r"[ -]", "", value)
    return compact[:3] + "*" * (len(compact) - 7) + compact[-4:]


def mask_id_numbers(text: str) -> str:
    return _ID_CANDIDATE.sub(
        lambda m: mask_id_number(m.group()) if is_id_number(m.group()) else m.group(), text
    )


def mask_mobile(number: str) -> str:
    """138****8000 (+86138****8000) from any spelling of a mobile; other numbers all starred."""
    digits = re.sub(r"\D", "", ascii_digits(number))
    prefix = ""
    if digits.startswith("86") and len(digits) == 13:
        prefix, digits = ("+86" if "+" in number else "86"), digits[2:]
    if len(digits) != 11:
        return "*" * len(digits)
    return f"{prefix}{digits[:3]}****{digits[-4:]}"


def _mobile_matches(text: str) -> list[tuple[int, int, phonenumbers.PhoneNumber]]:
    # The matcher refuses a number glued to a Latin letter ("mobile13800138000"); it reads a
    # copy with letters blanked (same length), and the spans are cut from the original.
    probe = re.sub(r"[A-Za-z]", " ", ascii_digits(text))
    return [
        (match.start, match.end, match.number)
        for match in phonenumbers.PhoneNumberMatcher(
            probe, "CN", leniency=phonenumbers.Leniency.VALID
        )
        if phonenumbers.number_type(match.number) in _MOBILE_TYPES
    ]


def normalise_mobile(text: str) -> str | None:
    """The 11-digit national number of the one mainland mobile in `text` (typed with spaces,
    dashes, +86, full-width digits), else None (none, several, a landline, another country)."""
    found = {
        str(number.national_number)
        for _start, _end, number in _mobile_matches(text)
        if number.country_code == 86
    }
    return found.pop() if len(found) == 1 else None


def mobile_e164(raw: str) -> str | None:
    """E.164 form of a mainland (default region CN) or international number, else None."""
    try:
        number = phonenumbers.parse(ascii_digits(raw), "CN")
    except Exception:  # the parser rejects odd input in several ways
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_mobiles(text: str) -> str:
    pieces: list[str] = []
    cursor = 0
    for start, end, _number in _mobile_matches(text):
        raw = text[start:end]
        lead = len(raw) - len(raw.lstrip())
        pieces.append(text[cursor : start + lead])
        pieces.append(mask_mobile(raw))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def mask_keyed_secrets(text: str) -> str:
    """Digits after a word asking for a code or password: every digit starred, layout kept."""

    def _star(m: re.Match[str]) -> str:
        digits = re.sub(r"\d", "*", m.group("digits"))
        return m.group()[: m.start("digits") - m.start()] + digits

    return _KEYED_AFTER_WORD.sub(_star, text)


def mask_bare_codes(text: str) -> str:
    """Runs of 6 to 8 digits standing alone (codes, passwords) starred; references kept.

    For logs only: in customer text a 6-digit run may be a postcode worth keeping.
    """
    return _BARE_CODE.sub(lambda m: "*" * len(m.group()), ascii_digits(text))


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
