"""Due dates, computed by the server only (pure functions).

- MINI: 15 working days on the Chinese calendar (holidays off, make-up weekend days on).
- BMW: 30 calendar days.
- cancel_account: 15 working days for both brands.

Counting starts the day after creation, in Asia/Shanghai; the creation day never counts.
The ticket is due at the end of the due day, 23:59:59 Asia/Shanghai: the policies speak of
days, not hours, so the customer gets the whole last day.
Years the calendar library does not know yet are counted as Monday-Friday weeks and the due
date is marked provisional; recompute it once the library knows the year.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
WORKING_DAYS = 15
CALENDAR_DAYS = 30
END_OF_DAY = time(23, 59, 59)


def is_working_day(day: date) -> tuple[bool, bool]:
    """(working, known): weekdays stand in for years the calendar does not know."""
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: date, days: int) -> tuple[date, bool]:
    """The `days`-th working day after `start`, and whether the answer is provisional."""
    day, counted, provisional = start, 0, False
    while counted < days:
        day += timedelta(days=1)
        working, known = is_working_day(day)
        provisional = provisional or not known
        if working:
            counted += 1
    return day, provisional


def due_date(created_at: datetime, brand: str, ticket_type: str) -> tuple[date, bool]:
    local = created_at.astimezone(SHANGHAI).date()
    if ticket_type == "cancel_account" or brand == "mini":
        return add_working_days(local, WORKING_DAYS)
    return local + timedelta(days=CALENDAR_DAYS), False


def due_at(created_at: datetime, brand: str, ticket_type: str) -> tuple[datetime, bool]:
    day, provisional = due_date(created_at, brand, ticket_type)
    return datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI), provisional
