"""Dates as the customer sees them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# China keeps one offset all year; a fixed zone avoids depending on tzdata being installed.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def format_date(value: str | datetime, lang: str | None) -> str:
    """`2026-12-11T15:59:59+00:00` -> 2026年12月11日 / 11 December 2026, in Asia/Shanghai."""
    moment = value if isinstance(value, datetime) else parse_iso(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(SHANGHAI)
    if lang == "en":
        return f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year}"
    return f"{local.year}年{local.month}月{local.day}日"


def format_time(value: str | datetime, lang: str | None) -> str:
    """`2026-12-07T09:45:00+00:00` -> 12月7日 17:45 / 17:45 on 7 December, in Beijing time (the
    responses say "北京时间" / "Beijing time" around it)."""
    moment = value if isinstance(value, datetime) else parse_iso(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(SHANGHAI)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if lang == "en":
        return f"{clock} on {local.day} {_MONTHS_EN[local.month - 1]}"
    return f"{local.month}月{local.day}日 {clock}"
