"""Working calendars: turn a category's time limits into deadlines, holidays and 调休 included.

A calendar (``data/calendars/NAME.toml``) holds a deployment's working periods of the day
(e.g. 09:00-12:00 and 13:30-17:30), its regular working weekdays, and, per year, the official
holidays and swapped working days (调休, a weekend that is worked to bridge a holiday). These
change every year by government notice, so they are data, never code (DOMAIN.md section 2).

Conventions (see :meth:`WorkingCalendar.add`):

- ``working_hours`` count only time inside the working periods of working days, in the
  calendar's local wall-clock time; filing outside working time starts the clock at the next
  working period.
- ``working_days`` are whole days: the filing day itself is not counted and the deadline is the
  end of the last working period of the N-th working day after it. This follows the PRC Civil
  Code art. 201 (a period counted in days starts on the day after the event) and 12345 practice,
  where a case filed at 16:00 does not lose a whole working day to its last hour and a half;
  being at the end of the day, a deadline never falls in the middle of a workday's lunch break.
- ``hours`` and ``days`` are plain elapsed time (24 h a day, also across a daylight-saving change:
  2026-03-07 20:00 PST + 1 day = 2026-03-08 21:00 PDT), for emergencies that do not stop at night.

A year the file does not list is not silently treated as holiday-free: it is counted on the
regular working weekdays only (deadlines must still be computable at intake), a warning naming
the calendar and year is logged once per year, and :meth:`WorkingCalendar.covers` tells callers
that a deadline is provisional.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gridmap.domain.categories import (
    TIME_UNITS,
    Table,
    TimeLimit,
    check_timezone,
    read_toml,
    resolve_data_file,
)
from gridmap.domain.messages import bilingual
from gridmap.errors import InputError

LOGGER = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
TIME_OF_DAY = re.compile(r"^\d{2}:\d{2}$")
# Units whose deadline depends on the local filing day only, not on the time of day (working
# days are whole: see the module docstring); bulk callers compute those once per day.
DAY_BASED_UNITS = frozenset({"working_days"})


@dataclass(frozen=True)
class DayNote:
    """Why a date is special: a holiday's name, or the holiday a swapped working day serves."""

    name_en: str
    name_zh: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang.startswith("zh") else self.name_en


# eq=False: the day caches below are per instance; identity equality is all a calendar needs.
@dataclass(frozen=True, eq=False)
class WorkingCalendar:
    """A deployment's working time: periods of the day, weekdays, holidays and 调休 per year."""

    name: str
    title_en: str
    title_zh: str
    timezone: str  # IANA; working periods are local wall-clock times in it
    working_periods: tuple[tuple[time, time], ...]
    working_weekdays: frozenset[int]  # date.weekday(): 0 = Monday
    holidays: dict[date, DayNote]
    working_days: dict[date, DayNote]  # swapped working days (调休上班)
    years: frozenset[int]  # the years whose holidays the file lists
    source: str = ""
    _periods_cache: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, repr=False
    )
    # (filing day, count) -> deadline: a working-day deadline depends on the day only, and
    # intake counts one or more for every report
    _working_days_cache: dict[tuple[date, int], datetime] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _warned_years: set[int] = field(default_factory=set, init=False, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def title(self, lang: str) -> str:
        return self.title_zh if lang.startswith("zh") else self.title_en

    def covers(self, day: date) -> bool:
        """True if the file lists that year's holidays (else days count as regular weekdays)."""
        return day.year in self.years

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        if day in self.working_days:
            return True
        if not self.covers(day) and day.year not in self._warned_years:
            self._warned_years.add(day.year)
            LOGGER.warning(
                bilingual(
                    "calendar_year_not_covered",
                    name=self.name,
                    source=self.source or self.name,
                    year=day.year,
                )
            )
        return day.weekday() in self.working_weekdays

    def working_periods_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working periods of ``day`` as UTC instants (none on a rest day).

        UTC because subtracting two datetimes of the same zone ignores a daylight-saving change
        between them; instants make every duration real elapsed time.
        """
        cached = self._periods_cache.get(day)
        if cached is None:
            zone = self.zone
            cached = (
                tuple(
                    (
                        datetime.combine(day, start, tzinfo=zone).astimezone(UTC),
                        datetime.combine(day, end, tzinfo=zone).astimezone(UTC),
                    )
                    for start, end in self.working_periods
                )
                if self.is_working_day(day)
                else ()
            )
            self._periods_cache[day] = cached
        return cached

    def add(self, start: datetime, amount: float, unit: str) -> datetime:
        """The deadline ``amount`` ``unit`` after ``start`` (time zone-aware), in local time.

        Units and conventions are those of the module docstring: working hours count working
        time only, working days are whole and end with the day's last working period, hours
        and days are elapsed time.
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise InputError("datetime_naive", value=start.isoformat())
        if unit not in TIME_UNITS:
            raise InputError("time_unit_unknown", unit=unit, allowed=", ".join(TIME_UNITS))
        valid = (
            isinstance(amount, int | float)
            and not isinstance(amount, bool)
            and math.isfinite(amount)
            and amount > 0
        )
        if not valid or (unit == "working_days" and amount != int(amount)):
            raise InputError("time_amount_invalid", amount=amount)
        zone = self.zone
        instant = start.astimezone(UTC)
        if unit == "hours":
            return (instant + timedelta(hours=amount)).astimezone(zone)
        if unit == "days":
            return (instant + timedelta(days=amount)).astimezone(zone)
        if unit == "working_days":
            return self._add_working_days(start.astimezone(zone).date(), int(amount))
        return self._add_working_hours(instant, timedelta(hours=amount))

    def deadlines(
        self, start: datetime, time_limits: Iterable[TimeLimit]
    ) -> list[tuple[TimeLimit, datetime]]:
        """Each stage's deadline; every stage is counted from ``start`` (the filing time)."""
        return [(limit, self.add(start, limit.amount, limit.unit)) for limit in time_limits]

    def _add_working_days(self, filed: date, count: int) -> datetime:
        cached = self._working_days_cache.get((filed, count))
        if cached is None:
            day, done = filed, 0
            while done < count:
                day += timedelta(days=1)
                if self.is_working_day(day):
                    done += 1
            cached = self.working_periods_on(day)[-1][1].astimezone(self.zone)
            self._working_days_cache[filed, count] = cached
        return cached

    def _add_working_hours(self, instant: datetime, remaining: timedelta) -> datetime:
        # Terminates: validation guarantees a working weekday and a working period, and a
        # file lists finitely many holidays.
        day = instant.astimezone(self.zone).date()
        while True:
            for period_start, period_end in self.working_periods_on(day):
                if period_end <= instant:
                    continue
                begin = max(period_start, instant)
                available = period_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(self.zone)
                remaining -= available
            day += timedelta(days=1)


def deadline_entry(limit: TimeLimit, due: datetime) -> dict[str, Any]:
    """One stage's deadline as an issue stores and shows it."""
    return {
        "stage": limit.stage,
        "due_at": due.isoformat(),
        "label_en": limit.label_en,
        "label_zh": limit.label_zh,
    }


def parse_calendar(text: str, *, source: str) -> WorkingCalendar:
    """Parse and validate a working calendar from TOML text; ``source`` names it in messages."""
    top = Table(read_toml(text, source=source), source=source, where="(top level)")
    name = top.code("name")
    title_en, title_zh = top.text("title_en"), top.text("title_zh")
    timezone = check_timezone(top.text("timezone"), top)
    weekdays = _weekdays(top)
    periods = _periods(top)

    holidays: dict[date, DayNote] = {}
    working_days: dict[date, DayNote] = {}
    listed_by: dict[date, str] = {}  # which entry listed a date, for the "twice" message
    years: set[int] = set()
    for year_table in top.tables("years", required=False):
        year = year_table.integer("year")
        year_table.locate(str(year))
        if year in years:
            raise year_table.error("calendar_year_duplicate", year=year)
        years.add(year)
        year_table.text("source")  # provenance is required: which notice the dates come from
        for entry in year_table.tables("holidays", required=False):
            first = _date(entry, "from", year)
            last = _date(entry, "to", year) if entry.has("to") else first
            entry.locate(first.isoformat())
            if last < first:
                raise entry.error("calendar_range_invalid", start=first, end=last)
            note = DayNote(entry.text("name_en"), entry.text("name_zh"))
            entry.finish()
            for offset in range((last - first).days + 1):
                day = first + timedelta(days=offset)
                _claim(day, entry, listed_by)
                holidays[day] = note
        for entry in year_table.tables("working_days", required=False):
            day = _date(entry, "date", year)
            entry.locate(day.isoformat())
            if day.weekday() in weekdays:
                raise entry.error("calendar_swap_needless", day=day)
            _claim(day, entry, listed_by)
            working_days[day] = DayNote(entry.text("name_en"), entry.text("name_zh"))
            entry.finish()
        year_table.finish()
    top.finish()
    return WorkingCalendar(
        name=name,
        title_en=title_en,
        title_zh=title_zh,
        timezone=timezone,
        working_periods=periods,
        working_weekdays=weekdays,
        holidays=holidays,
        working_days=working_days,
        years=frozenset(years),
        source=source,
    )


def load_calendar(name: str | Path, *, data_dir: Path) -> WorkingCalendar:
    """Read ``data_dir/calendars/NAME.toml`` (or a TOML file path)."""
    path, text = resolve_data_file(
        name, folder="calendars", data_dir=data_dir, what="working calendar / 工作日历"
    )
    return parse_calendar(text, source=str(path))


def _weekdays(top: Table) -> frozenset[int]:
    names = top.texts("working_weekdays")
    if not names or len(set(names)) != len(names) or not set(names) <= set(WEEKDAYS):
        raise top.error("calendar_weekdays_invalid", value=list(names), allowed=", ".join(WEEKDAYS))
    return frozenset(WEEKDAYS.index(n) for n in names)


def _periods(top: Table) -> tuple[tuple[time, time], ...]:
    raw = top.raw("working_periods")
    pairs = raw if isinstance(raw, list) else [raw]
    periods = []
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise top.error("data_not_periods", field="working_periods", value=raw)
        periods.append((_time_of_day(top, pair[0]), _time_of_day(top, pair[1])))
    flat = [t for period in periods for t in period]
    # strictly increasing: each period ends after it starts and before the next one starts
    if not periods or any(a >= b for a, b in itertools.pairwise(flat)):
        raise top.error("calendar_periods_invalid", value=raw)
    return tuple(periods)


def _time_of_day(table: Table, value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and TIME_OF_DAY.match(value):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise table.error("calendar_time_invalid", value=value)


def _date(table: Table, key: str, year: int) -> date:
    value = table.raw(key)
    if isinstance(value, datetime) or not isinstance(value, date):
        raise table.error("data_not_date", field=key, value=value)
    # A notice may reach into the next year's first days or the last of the year before
    # (e.g. a New Year holiday from 31 December); anything further is a typo.
    if abs(value.year - year) > 1:
        raise table.error("calendar_date_far", day=value, year=year)
    return value


def _claim(day: date, table: Table, listed_by: dict[date, str]) -> None:
    other = listed_by.setdefault(day, table.where)
    if other != table.where:
        raise table.error("calendar_date_twice", day=day, other=other)
