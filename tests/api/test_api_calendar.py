"""Holiday schedules loaded as data (data/calendar/<year>.yml): format checked against
chinesecalendar, validation on load, use by due dates and their recomputation, the console."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import chinese_calendar
import pytest
import yaml
from api_helpers import new_ticket
from conftest import make_settings
from fastapi.testclient import TestClient
from test_console import sign_in

from api.core.clock import FixedClock
from api.core.settings import ConfigurationError
from api.main import create_app
from api.tickets import due
from api.tickets.calendar import load_dir, load_file

SHIPPED = due.DEFAULT_CALENDAR_DIR
SH = due.SHANGHAI

# An invented 2027 (the real one must come from the State Council's notice): New Year
# 1-3 Jan with Sunday 10 Jan worked, and a long block 8-16 Feb.
INVENTED_2027 = {
    "year": 2027,
    "source": "test data, not the official schedule",
    "holidays": [
        {"name": "元旦", "from": date(2027, 1, 1), "to": date(2027, 1, 3)},
        {"name": "春节", "from": date(2027, 2, 8), "to": date(2027, 2, 16)},
    ],
    "workdays": [date(2027, 1, 10)],
}


@pytest.fixture(autouse=True)
def _restore_calendars() -> Iterator[None]:
    yield
    due.use_calendar_dir(SHIPPED)


def _library_schedule(year: int) -> dict[str, object]:
    """The year as chinesecalendar knows it, written in the data-file format."""
    blocks: list[dict[str, object]] = []
    for day in sorted(d for d in chinese_calendar.holidays if d.year == year):
        name = chinese_calendar.holidays[day]
        last = blocks[-1] if blocks else None
        if last and last["name"] == name and last["to"] == day - timedelta(days=1):
            last["to"] = day
        else:
            blocks.append({"name": name, "from": day, "to": day})
    workdays = sorted(d for d in chinese_calendar.workdays if d.year == year and d.weekday() >= 5)
    return {"year": year, "source": "chinesecalendar", "holidays": blocks, "workdays": workdays}


def _write(directory: Path, data: dict[str, object], name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or f"{data['year']}.yml")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _days(year: int) -> list[date]:
    return [
        date(year, 1, 1) + timedelta(days=i)
        for i in range((date(year, 12, 31) - date(year, 1, 1)).days + 1)
    ]


def test_shipped_files_agree_with_the_library() -> None:
    shipped = load_dir(SHIPPED)
    both = [y for y in shipped.years if y in due.LIBRARY_YEARS]
    assert both, "at least one shipped year is also in the library (2026)"
    for year in both:
        for day in _days(year):
            assert shipped.is_working_day(day) == chinese_calendar.is_workday(day), day


def test_format_expresses_every_library_year(tmp_path: Path) -> None:
    # Written from the library in the file format and read back, every known year agrees.
    for year in due.LIBRARY_YEARS:
        _write(tmp_path, _library_schedule(year))
    loaded = load_dir(tmp_path)
    assert sorted(loaded.years) == list(due.LIBRARY_YEARS)
    for year in due.LIBRARY_YEARS:
        for day in _days(year):
            assert loaded.is_working_day(day) == chinese_calendar.is_workday(day), day


def test_a_2027_file_makes_december_tickets_final(tmp_path: Path) -> None:
    created = datetime.combine(date(2026, 12, 15), time(10), tzinfo=SH)
    assert due.due_at(created, "mini", "deletion")[1] is True
    _write(tmp_path, INVENTED_2027)
    due.use_calendar_dir(tmp_path)
    due_at, provisional = due.due_at(created, "mini", "deletion")
    # 16-31 Dec: 12 working days; 1-3 Jan off; Mon 4, Tue 5, Wed 6 Jan -> the 15th is 6 Jan.
    assert (due_at.date(), provisional) == (date(2027, 1, 6), False)
    assert due.is_working_day(date(2027, 1, 10)) == (True, True)  # a worked Sunday
    assert due.is_working_day(date(2027, 2, 10)) == (False, True)  # inside the block
    assert due.known_years()[2027].endswith("2027.yml")
    # Beyond the file, still provisional.
    assert due.is_working_day(date(2028, 1, 3)) == (True, False)


def test_the_library_wins_for_years_it_knows(tmp_path: Path) -> None:
    wrong = _library_schedule(2026) | {"workdays": [date(2026, 3, 7)]}  # a Saturday
    _write(tmp_path, wrong)
    due.use_calendar_dir(tmp_path)
    assert due.is_working_day(date(2026, 3, 7)) == (False, True)
    assert due.known_years()[2026] == "chinesecalendar"


@pytest.mark.parametrize(
    ("change", "name", "message"),
    [
        ({}, "2028.yml", r"holds year 2027; name it 2027\.yml"),
        ({"workdays": [date(2027, 1, 11)]}, None, "is a weekday"),
        ({"workdays": [date(2027, 2, 13)]}, None, "listed as a holiday and as a workday"),
        (
            {"holidays": [{"name": "x", "from": date(2027, 5, 5), "to": date(2027, 5, 1)}]},
            None,
            "before 'from'",
        ),
        (
            {"holidays": [{"name": "x", "from": date(2029, 5, 1), "to": date(2029, 5, 2)}]},
            None,
            "not in or next to 2027",
        ),
        ({"holidays": []}, None, "holidays"),
        ({"extra": 1}, None, "extra"),
        ({"source": ""}, None, "source"),
    ],
    ids=[
        "year-vs-name",
        "weekday-workday",
        "both",
        "reversed",
        "far-date",
        "empty",
        "extra-key",
        "no-source",
    ],
)
def test_bad_files_are_refused_with_the_reason(
    tmp_path: Path, change: dict[str, object], name: str | None, message: str
) -> None:
    path = _write(tmp_path, INVENTED_2027 | change, name)
    with pytest.raises(ConfigurationError, match=message) as info:
        load_file(path)
    assert str(path) in str(info.value)


def test_a_bad_file_stops_the_start(db_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "calendar"
    _write(directory, INVENTED_2027 | {"workdays": [date(2027, 1, 11)]})
    with pytest.raises(ConfigurationError, match=r"2027\.yml"):
        create_app(make_settings(db_url, tmp_path, calendar_dir=directory))


def test_recompute_uses_the_file_and_the_console_shows_it(db_url: str, tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 12, 15, 2, 0, tzinfo=timezone.utc))
    directory = tmp_path / "calendar"
    directory.mkdir()
    staff = make_settings(db_url, tmp_path).staff_token_list[0]
    with TestClient(
        create_app(make_settings(db_url, tmp_path, calendar_dir=directory), clock=clock)
    ) as client:
        ticket = new_ticket(client, "deletion", {"ground": "consent_withdrawn"})
        assert ticket["due_at_provisional"] is True
        sign_in(client, token=staff)
        page = client.get("/console/queue").text
        assert "2004–2026" in page and "2027 年起未知" in page
        assert ticket["reference"] in page.split('<section class="calendar"')[1]
    _write(directory, INVENTED_2027)
    # The next start loads the file and recomputes the provisional due date.
    with TestClient(
        create_app(make_settings(db_url, tmp_path, calendar_dir=directory), clock=clock)
    ) as client:
        again = client.get(
            f"/v1/tickets/{ticket['reference']}", headers={"Authorization": f"Bearer {staff}"}
        ).json()
        assert (
            again["due_at"] == "2027-01-06T23:59:59+08:00" and again["due_at_provisional"] is False
        )
        sign_in(client, token=staff)
        calendar = client.get("/console/queue").text.split('<section class="calendar"')[1]
        assert "2027.yml" in calendar and "2028" in calendar
        assert ticket["reference"] not in calendar
