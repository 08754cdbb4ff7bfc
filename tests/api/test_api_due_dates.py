"""Due dates: golden dates across the holiday weeks, properties, provisional years."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.tickets import due

SH = due.SHANGHAI


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SH)


# Expected values counted by hand from the State Council holiday notices:
# 2026 Spring Festival: off 15-23 Feb, make-up working Saturdays 14 Feb and 28 Feb.
# 2025 National Day + Mid-Autumn: off 1-8 Oct, make-up working days Sun 28 Sep and Sat 11 Oct.
# 2026 National Day: off 1-7 Oct, make-up working days Sun 20 Sep and Sat 10 Oct.
GOLDEN = [
    ("mini", "access_copy", date(2026, 2, 10), date(2026, 3, 9)),
    ("mini", "deletion", date(2025, 9, 26), date(2025, 10, 23)),
    ("mini", "complaint", date(2026, 9, 25), date(2026, 10, 22)),
    ("bmw", "access_copy", date(2026, 2, 10), date(2026, 3, 12)),
    ("bmw", "deletion", date(2025, 9, 26), date(2025, 10, 26)),
    ("bmw", "cancel_account", date(2026, 2, 10), date(2026, 3, 9)),
    ("mini", "cancel_account", date(2025, 9, 26), date(2025, 10, 23)),
]


@pytest.mark.parametrize(("brand", "ticket_type", "created", "expected"), GOLDEN)
def test_golden_due_dates(brand: str, ticket_type: str, created: date, expected: date) -> None:
    due_at, provisional = due.due_at(at(created), brand, ticket_type)
    assert due_at == datetime.combine(expected, time(23, 59, 59), tzinfo=SH)
    assert due_at.isoformat() == f"{expected.isoformat()}T23:59:59+08:00"
    assert provisional is False


def test_make_up_saturdays_count() -> None:
    assert due.is_working_day(date(2026, 2, 14)) == (True, True)
    assert due.is_working_day(date(2026, 2, 28)) == (True, True)
    assert due.is_working_day(date(2026, 2, 17)) == (False, True)


def test_day_is_the_shanghai_day() -> None:
    # 17:00 UTC on 10 Feb is 01:00 on 11 Feb in Shanghai: counting starts a day later.
    late = datetime(2026, 2, 10, 17, 0, tzinfo=timezone.utc)
    assert due.due_date(late, "mini", "access_copy") == (date(2026, 3, 10), False)


def test_december_2026_is_provisional() -> None:
    due_at, provisional = due.due_at(at(date(2026, 12, 15)), "mini", "deletion")
    assert provisional is True
    # Weekdays stand in for 2027: Fri 1 Jan counts until the calendar is known.
    assert due_at.date() == date(2027, 1, 5)
    assert due.due_at(at(date(2026, 12, 1)), "mini", "deletion") == (
        datetime.combine(date(2026, 12, 22), time(23, 59, 59), tzinfo=SH),
        False,
    )


def test_bmw_calendar_days_never_provisional() -> None:
    assert due.due_at(at(date(2026, 12, 15)), "bmw", "deletion")[1] is False


KNOWN_DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2026, 11, 30))


@settings(max_examples=300, deadline=None)
@given(
    day=KNOWN_DAYS,
    hour=st.integers(0, 23),
    ticket_type=st.sampled_from(["access_copy", "deletion", "cancel_account"]),
)
def test_mini_due_is_fifteenth_working_day(day: date, hour: int, ticket_type: str) -> None:
    created = at(day, hour)
    result, provisional = due.due_date(created, "mini", ticket_type)
    assert not provisional
    assert result > day
    assert chinese_calendar.is_workday(result)
    between = [day + timedelta(days=i) for i in range(1, (result - day).days + 1)]
    assert sum(chinese_calendar.is_workday(d) for d in between) == due.WORKING_DAYS


@settings(max_examples=200, deadline=None)
@given(day=KNOWN_DAYS)
def test_bmw_due_is_thirty_days(day: date) -> None:
    assert due.due_date(at(day), "bmw", "portability") == (day + timedelta(days=30), False)
    cancel, _ = due.due_date(at(day), "bmw", "cancel_account")
    assert cancel == due.due_date(at(day), "mini", "cancel_account")[0]


@settings(max_examples=100, deadline=None)
@given(day=st.dates(min_value=date(2026, 12, 12), max_value=date(2027, 12, 31)))
def test_unknown_years_count_weekdays_and_are_provisional(day: date) -> None:
    result, provisional = due.due_date(at(day), "mini", "access_copy")
    assert provisional is True
    assert result.weekday() < 5
    assert result > day
