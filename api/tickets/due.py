"""Due dates, computed by the server only (pure functions).

- MINI: 15 working days on the Chinese calendar (holidays off, make-up weekend days on).
- BMW: 30 calendar days.
- cancel_account: 15 working days for both brands.

Counting starts the day after creation, in Asia/Shanghai; the creation day never counts.
The ticket is due at the end of the due day, 23:59:59 Asia/Shanghai: the policies speak of
days, not hours, so the customer gets the whole last day.
Working days come from the `chinesecalendar` library; for a year it does not know yet, from
the schedule the privacy team loaded as data (data/calendar/<year>.yml, `api.tickets.calendar`).
Years neither knows are counted as Monday-Friday weeks and the due date is marked provisional;
`recompute_provisional` fixes it once either knows the year.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar

from api.tickets.calendar import Calendars, load_dir
from contract import Brand, TicketType

SHANGHAI = ZoneInfo("Asia/Shanghai")
WORKING_DAYS = 15
CALENDAR_DAYS = 30
END_OF_DAY = time(23, 59, 59)


LIBRARY_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
DEFAULT_CALENDAR_DIR = Path(__file__).resolve().parents[2] / "data" / "calendar"

_loaded: dict[str, Calendars] = {"files": load_dir(DEFAULT_CALENDAR_DIR)}


def use_calendar_dir(directory: Path) -> Calendars:
    """Load (and validate) the schedules of a directory; they replace the ones in use."""
    _loaded["files"] = load_dir(directory)
    return _loaded["files"]


def known_years() -> dict[int, str]:
    """Every year with a known schedule and where it comes from (library wins)."""
    years = {y: str(path) for y, path in _loaded["files"].years.items()}
    return dict(sorted((years | {y: "chinesecalendar" for y in LIBRARY_YEARS}).items()))


def is_working_day(day: date) -> tuple[bool, bool]:
    """(working, known): weekdays stand in for years neither the library nor a file knows."""
    if day.year in LIBRARY_YEARS:
        return bool(chinese_calendar.is_workday(day)), True
    from_file = _loaded["files"].is_working_day(day)
    if from_file is not None:
        return from_file, True
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
    if ticket_type == TicketType.CANCEL_ACCOUNT or brand == Brand.MINI:
        return add_working_days(local, WORKING_DAYS)
    return local + timedelta(days=CALENDAR_DAYS), False


def due_at(created_at: datetime, brand: str, ticket_type: str) -> tuple[datetime, bool]:
    day, provisional = due_date(created_at, brand, ticket_type)
    return datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI), provisional
