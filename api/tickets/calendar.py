"""Holiday schedules the privacy team loads as data: data/calendar/<year>.yml.

The State Council publishes the next year's schedule (holidays and make-up working days) each
November; `chinesecalendar` learns it with a later release. Until then a MINI ticket due in
that year would count Monday-Friday and be provisional. A file per year fills the gap:

    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕N号）
    holidays:                    # days off, weekends inside a holiday block included
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
    workdays: [2027-01-04]       # make-up working days (weekend days that are worked)

Files are validated on load (a bad file stops the start with its name and the reason). The
library's data wins for every year it knows; a file is only used for years it does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.core.settings import ConfigurationError

MAX_BLOCK_DAYS = 12  # the longest block on record is 9 days (Spring Festival 2026)


class HolidayBlock(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=80)
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> HolidayBlock:
        if self.end < self.start:
            raise ValueError(f"{self.name}: 'to' ({self.end}) is before 'from' ({self.start})")
        if (self.end - self.start).days >= MAX_BLOCK_DAYS:
            raise ValueError(f"{self.name}: longer than {MAX_BLOCK_DAYS} days")
        return self

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


class YearSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    source: str = Field(min_length=1, max_length=300)
    holidays: list[HolidayBlock] = Field(min_length=1)
    workdays: list[date] = []

    @model_validator(mode="after")
    def _consistent(self) -> YearSchedule:
        # A notice may reach into the neighbouring days of the previous or next year
        # (e.g. 元旦 from 30 December); nothing further.
        first, last = date(self.year - 1, 12, 1), date(self.year + 1, 1, 31)
        off = self.holiday_days()
        for day in [*off, *self.workdays]:
            if not first <= day <= last:
                raise ValueError(f"{day} is not in or next to {self.year}")
        for day in self.workdays:
            if day.weekday() < 5:
                raise ValueError(f"workday {day} is a weekday: list only weekend days worked")
            if day in off:
                raise ValueError(f"{day} is listed as a holiday and as a workday")
        return self

    def holiday_days(self) -> set[date]:
        return {day for block in self.holidays for day in block.days()}


@dataclass
class Calendars:
    """The loaded schedules merged: the days off, the make-up working days, the years known."""

    years: dict[int, Path] = field(default_factory=dict)
    off: set[date] = field(default_factory=set)
    worked: set[date] = field(default_factory=set)

    def is_working_day(self, day: date) -> bool | None:
        """None for a year no file knows."""
        if day.year not in self.years:
            return None
        if day in self.worked:
            return True
        return day not in self.off and day.weekday() < 5


def load_file(path: Path) -> YearSchedule:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        schedule = YearSchedule.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot be read as YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise ConfigurationError(f"{path}: {where}: {first['msg']}") from exc
    if path.stem != str(schedule.year):
        raise ConfigurationError(f"{path}: holds year {schedule.year}; name it {schedule.year}.yml")
    return schedule


def load_dir(directory: Path) -> Calendars:
    calendars = Calendars()
    if not directory.is_dir():
        return calendars
    for path in sorted(directory.glob("*.yml")):
        schedule = load_file(path)
        calendars.years[schedule.year] = path
        calendars.off |= schedule.holiday_days()
        calendars.worked |= set(schedule.workdays)
    return calendars
