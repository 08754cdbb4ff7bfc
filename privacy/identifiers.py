"""What personal data in text is: the one place that finds identifiers in what people type.

Both runtimes import it (standard library, python-stdnum and phonenumbers only): the bot's NLU
component turns what it finds into entities, `privacy.masking` masks it for the tracker store,
the action server's and the API's logs and the API's stored free text.

- ID-card numbers (居民身份证号码), 18 or 15 digits, recognised by `stdnum.cn.ric` (birth date,
  region, check digit) in any spelling: groups joined by spaces (double, ideographic), dashes,
  dots or slashes, full-width digits, glued to letters ("ID11010519491231002X"), after another
  number ("card 2 110105 19491231 002X");
- mainland mobiles, 11 digits validated by `phonenumbers`, in the same spellings and after +86,
  86 or 0086; other countries' mobiles through `phonenumbers.PhoneNumberMatcher`;
- VINs (ISO 3779, with the check digit where it is mandatory), one-time codes (six digits
  standing alone), ticket references (PR-2026-000123), and digits typed after a word that asks
  for a secret ("code: 20 50 92", "密码是 9081 72").

Full-width and other Unicode decimal digits are read as ASCII digits first, one character for
one, so every span found is a span of the original text.

VIN check digit (ISO 3779 position 9): mandatory in North America (WMI 1-5) and China (WMI L),
where regulations require it; European manufacturers are not obliged to use it, so other WMIs
(WBA, WMW, ...) are accepted on format alone (17 characters, no I/O/Q).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)

# What people put between groups of digits: any whitespace (double, ideographic), dashes, dots,
# slashes, underscores, middle dots, in ASCII or full width; up to three in a row ("138 - 0013").
_SEPARATOR = r"[\s\-./_·・\u2010-\u2015\u2212\uff0d\uff0e\uff0f\uff3f]"
_DIGIT_RUN = re.compile(rf"[0-9](?:{_SEPARATOR}{{0,3}}[0-9])*(?:{_SEPARATOR}{{0,3}}[Xx])?")
# The oldest and newest birth years an ID number inside a longer run of digits may carry.
_BIRTH_YEARS = range(1880, 2100)

TICKET_REF = re.compile(r"(?<![0-9A-Za-z])PR-(\d{4})-(\d{6})(?![0-9A-Za-z])", re.I)
VIN = re.compile(r"(?<![0-9A-Za-z])[A-HJ-NPR-Z0-9]{17}(?![0-9A-Za-z])", re.I)
# A code stands alone: not glued to other digits, nor part of "138 0013" style groups.
OTP = re.compile(r"(?<![0-9][ -])(?<![0-9A-Za-z])\d{6}(?![0-9A-Za-z])(?![ -][0-9])")
# Bare 6 to 8 digit runs (codes, the phone password); glued to letters, dashes, dots or colons
# (VINs, PR-2026-000123, times, versions) they are references and stay.
BARE_CODE = re.compile(r"(?<![0-9A-Za-z_\-./:])[0-9]{6,8}(?![0-9A-Za-z_\-])")
# A message of nothing but 4-12 keyed digits answers a keypad question: a code or the phone
# password, whatever its length (an option number is shorter). Already masked forms count too.
_KEYED_MESSAGE = re.compile(r"\s*(?:[0-9]{4,12}|\[code\]|\*{4,12})\s*#?\s*")
# 4 to 8 digits standing alone: what an answer to "type the code" holds.
_TYPED_CODE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")
_SECRET_WORDS = (
    r"(?:verification\s+code|one[- ]time\s+code|otp|code|pin|passcode|password|passwd|pwd"
    r"|验证码|校验码|动态码|密码|口令)"
)
# The word, a few joining characters ("is", "是", ":"; no sentence punctuation, nothing masked),
# then the digits with the spaces, dashes or dots between them; never a part of a masked number.
KEYED_AFTER_WORD = re.compile(
    _SECRET_WORDS
    + r"(?P<join>[^0-9\n*,.;!?，。；！？]{0,12}?)(?P<digits>\d(?:[ \t\-.]*\d)*)(?![\d*])",
    re.IGNORECASE,
)
# A mobile already masked (138****8000, +86138****8000).
MASKED_MOBILE = re.compile(r"(\+?86)?1[3-9][0-9]\*{4}[0-9]{4}")

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
    entity: str  # mobile, id_number, vin, otp_code, ticket_ref
    value: str  # normalised: 13800138000, 11010519491231002X, upper-case VIN
    start: int
    end: int
    text: str  # as typed


@dataclass(frozen=True)
class Found:
    """A personal number in text: its span, and its digits without the separators."""

    start: int
    end: int
    digits: str
    valid: bool = True  # False: a mistyped ID number (wrong check digit), masked all the same


# ---------------------------------------------------------------- reading digits


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


@dataclass(frozen=True)
class _Run:
    """Digits joined by separators: each digit (or the final X) and its place in the text."""

    chars: str
    places: tuple[int, ...]

    def glued(self, i: int) -> bool:
        """Whether character i follows character i - 1 with nothing between them."""
        return 0 < i < len(self.chars) and self.places[i] == self.places[i - 1] + 1

    def span(self, i: int, length: int) -> tuple[int, int]:
        return self.places[i], self.places[i + length - 1] + 1


def _runs(text: str) -> Iterator[_Run]:
    for match in _DIGIT_RUN.finditer(text):
        places = tuple(
            match.start() + k for k, ch in enumerate(match.group()) if ch.isdigit() or ch in "Xx"
        )
        yield _Run("".join(text[p] for p in places).upper(), places)


# ---------------------------------------------------------------- ID-card numbers


def _id_form(number: str) -> str | None:
    """The 18-character form of a 15- or 18-character candidate, else None."""
    if len(number) == 15 and number.isdigit():
        # First-generation card: no century, no check digit. Read it as its 18-digit form.
        body = number[:6] + "19" + number[6:]
        return body + ric.calc_check_digit(body + "0")
    if len(number) == 18 and number[:17].isdigit():
        return number
    return None


def _birth_date_ok(number: str) -> bool:
    try:
        return ric.get_birth_date(number).year in _BIRTH_YEARS
    except ValidationError:
        return False


def _region_known(number: str) -> bool:
    # stdnum's region table has entries without counties, on which it raises KeyError.
    try:
        ric.get_birth_place(number)
    except (ValidationError, KeyError):
        return False
    return True


def id_number_checks(candidate: str, *, alone: bool = True) -> bool | None:
    """True: a valid ID number; False: a mistyped one, masked all the same; None: none.

    Valid: a correct check digit and a real birth date (stdnum's region table misses newer
    districts such as 440304, Shenzhen Futian, so the region is not required). 18 characters
    standing `alone` (nothing but separators around them) are somebody's number whatever their
    check digit and date. Inside a longer run of digits, a mistyped one needs a real birth date
    and a known region, so that a window of a longer number is not taken for one; a 15-digit
    number has no check digit of its own and always needs them.
    """
    digits = re.sub(rf"{_SEPARATOR}", "", candidate).upper()
    number = _id_form(digits)
    if number is None:
        return None
    dated = _birth_date_ok(number)
    if len(digits) == 18:
        if dated and number[-1] == ric.calc_check_digit(number):
            return True
        if alone:
            return False
    if dated and _region_known(number):
        return len(digits) == 15
    return None


def is_id_number(candidate: str) -> bool:
    """18 or 15 digits that stdnum reads as a resident ID number (check digit may be wrong)."""
    return id_number_checks(candidate) is not None


def find_id_numbers(text: str) -> list[Found]:
    """Every ID number in `text` (digits read as ASCII), mistyped check digits included."""
    text = ascii_digits(text)
    found: list[Found] = []
    for run in _runs(text):
        i = 0
        while i < len(run.chars):
            for length in (18, 15):
                window = run.chars[i : i + length]
                if len(window) < length or "X" in window[:-1]:
                    continue
                # Inside a longer run, a number starts and ends at a separator ("card 2 110105
                # 19491231 002X"), never in the middle of a group of digits.
                if run.glued(i) or run.glued(i + length):
                    continue
                alone = len(window) == len(run.chars)
                checks = id_number_checks(window, alone=alone)
                if checks is not None:
                    found.append(Found(*run.span(i, length), window, checks))
                    i += length
                    break
            else:
                i += 1
    return found


# ---------------------------------------------------------------- mobiles


def _is_mainland_mobile(digits: str) -> bool:
    if len(digits) != 11 or digits[0] != "1" or not digits.isdigit():
        return False
    number = phonenumbers.parse(digits, "CN")
    return (
        phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE_TYPES
    )


def _mainland_mobiles(text: str) -> Iterator[Found]:
    for run in _runs(text):
        i = 0
        while i < len(run.chars):
            # A number starts where its run starts or after a separator, after the country
            # code (86, 0086) or not, and ends where the run ends or at a separator.
            starts = [i]
            for prefix in ("86", "0086"):
                if run.chars.startswith(prefix, i):
                    starts.append(i + len(prefix))
            hit = None
            if not run.glued(i):
                for j in starts:
                    end = j + 11
                    digits = run.chars[j:end]
                    if (end == len(run.chars) or not run.glued(end)) and _is_mainland_mobile(
                        digits
                    ):
                        hit = Found(*run.span(j, 11), digits)
                        break
            if hit is not None:
                yield hit
                i = run.places.index(hit.end - 1) + 1
            else:
                i += 1


def _matched_mobiles(text: str) -> Iterator[Found]:
    """Mobiles `phonenumbers.PhoneNumberMatcher` reads, other countries' ones included."""
    # The matcher refuses a number glued to a Latin letter ("mobile+447911123456"); it reads a
    # copy with letters blanked (same length), and the spans are cut from the original.
    probe = re.sub(r"[A-Za-z]", " ", text)
    for match in phonenumbers.PhoneNumberMatcher(probe, "CN", leniency=phonenumbers.Leniency.VALID):
        if phonenumbers.number_type(match.number) not in _MOBILE_TYPES:
            continue
        raw = text[match.start : match.end]
        start = match.start + len(raw) - len(raw.lstrip())
        national = str(match.number.national_number)
        if match.number.country_code != 86:
            national = f"+{match.number.country_code}{national}"
        yield Found(start, match.end, national)


def find_mobiles(text: str) -> list[Found]:
    """Every mobile in `text`, mainland ones as their 11 digits, others with their +country."""
    text = ascii_digits(text)
    found = list(_mainland_mobiles(text))
    for item in _matched_mobiles(text):
        if not any(item.start < f.end and item.end > f.start for f in found):
            found.append(item)
    return sorted(found, key=lambda f: f.start)


def normalise_mobile(text: str) -> str | None:
    """The 11-digit national number of the one mainland mobile in `text` (typed with spaces,
    dashes, +86, full-width digits), else None (none, several, a landline, another country)."""
    found = {f.digits for f in find_mobiles(text) if not f.digits.startswith("+")}
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


# ---------------------------------------------------------------- codes and secrets


def normalise_code(text: str) -> str | None:
    """The one run of 4 to 8 digits in an answer to "type the code", else None."""
    found = _TYPED_CODE.findall(ascii_digits(text))
    return found[0] if len(found) == 1 else None


def is_keyed_secret(message: str) -> bool:
    """A message of nothing but 4 to 12 keyed digits: a code or a phone password."""
    return _KEYED_MESSAGE.fullmatch(message) is not None


# ---------------------------------------------------------------- VINs


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


# ---------------------------------------------------------------- all of them, as entities


def _overlaps(start: int, end: int, taken: list[Identifier]) -> bool:
    return any(start < item.end and end > item.start for item in taken)


def find_identifiers(text: str) -> list[Identifier]:
    """All valid identifiers in `text`, ordered by position, without overlaps.

    Only valid ones (checksums, number plans): an invalid one is left for the conversation to
    ask again.
    """
    found: list[Identifier] = []
    if not text:
        return found
    plain = ascii_digits(text)

    def add(entity: str, value: str, start: int, end: int) -> None:
        if not _overlaps(start, end, found):
            found.append(Identifier(entity, value, start, end, text[start:end]))

    for match in TICKET_REF.finditer(plain):
        add("ticket_ref", f"PR-{match.group(1)}-{match.group(2)}", match.start(), match.end())
    for item in find_id_numbers(plain):
        if item.valid and len(item.digits) == 18:
            add("id_number", item.digits, item.start, item.end)
    for item in find_mobiles(plain):
        if not item.digits.startswith("+"):
            add("mobile", item.digits, item.start, item.end)
    # After the numbers: 17 letters and digits may be a mobile's tail glued to words.
    for match in VIN.finditer(plain):
        if is_valid_vin(match.group()):
            add("vin", match.group().upper(), match.start(), match.end())
    for match in OTP.finditer(plain):
        add("otp_code", match.group(), match.start(), match.end())
    return sorted(found, key=lambda item: item.start)
