"""Working calendars: deadlines in working hours and days, holidays, 调休, DST, uncovered years.

Expected deadlines are worked out by hand from the State Council notices and the City of
Los Angeles holiday list (see the calendar files), not from the code.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridmap.domain.calendar import WorkingCalendar, load_calendar, parse_calendar
from gridmap.domain.categories import TimeLimit, load_category_set
from gridmap.errors import InputError
from tests.conftest import REPO

DATA = REPO / "data"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@pytest.fixture()
def cn() -> WorkingCalendar:
    return load_calendar("cn", data_dir=DATA)


@pytest.fixture()
def la() -> WorkingCalendar:
    return load_calendar("los_angeles", data_dir=DATA)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def lax(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOS_ANGELES)  # type: ignore[misc]


# --- the shipped calendars -------------------------------------------------------------------


def test_cn_lists_the_state_council_days_of_2025_and_2026(cn):
    assert cn.years == {2025, 2026} and cn.timezone == "Asia/Shanghai"
    # 2026 notice: Spring Festival 2-15..2-23, worked Saturdays 2-14 and 2-28
    assert all(not cn.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert cn.is_working_day(date(2026, 2, 14)) and cn.is_working_day(date(2026, 2, 28))
    assert not cn.is_working_day(date(2026, 3, 7))  # an ordinary Saturday
    # 2025 notice: New Year 1 day, Spring Festival 1-28..2-04, worked Sunday 1-26
    assert not cn.is_working_day(date(2025, 1, 1)) and cn.is_working_day(date(2025, 1, 2))
    assert cn.is_working_day(date(2025, 1, 26)) and not cn.is_working_day(date(2025, 2, 4))
    assert not cn.is_working_day(date(2025, 10, 8)) and cn.is_working_day(date(2025, 10, 11))
    assert len(cn.holidays) == 61 and len(cn.working_days) == 11  # 2025: 28 + 5, 2026: 33 + 6
    assert cn.holidays[date(2026, 2, 17)].name("zh-CN") == "春节"


def test_los_angeles_lists_city_holidays(la):
    assert la.timezone == "America/Los_Angeles" and la.working_days == {}
    for day in (date(2026, 3, 30), date(2026, 7, 3), date(2026, 11, 27), date(2025, 10, 13)):
        assert not la.is_working_day(day), day  # Chávez, July 4th observed, day after Thanksgiving
    assert la.is_working_day(date(2026, 7, 6))
    # 2020, the year of the bundled 311 sample: MLK Day; July 4th fell on a Saturday
    assert not la.is_working_day(date(2020, 1, 20)) and not la.is_working_day(date(2020, 7, 3))
    assert la.is_working_day(date(2020, 1, 2))
    assert len(la.holidays) == 26 + 12


def test_the_shipped_sets_name_shipped_calendars_of_their_time_zone():
    for name in ("cn", "la311"):
        category_set = load_category_set(name, data_dir=DATA)
        calendar = load_calendar(category_set.calendar, data_dir=DATA)
        assert calendar.timezone == category_set.timezone


# --- working hours -----------------------------------------------------------------------------


def test_working_hours_skip_lunch_evenings_and_weekends(cn):
    # 09:00-12:00, 13:30-17:30
    assert cn.add(sh(2026, 3, 10, 11, 0), 2, "working_hours") == sh(2026, 3, 10, 14, 30)
    assert cn.add(sh(2026, 3, 10, 12, 45), 1, "working_hours") == sh(2026, 3, 10, 14, 30)
    assert cn.add(sh(2026, 3, 10, 18, 0), 1, "working_hours") == sh(2026, 3, 11, 10, 0)
    assert cn.add(sh(2026, 3, 10, 6, 0), 0.5, "working_hours") == sh(2026, 3, 10, 9, 30)
    # Friday 16:30: one hour on Friday, three on Monday morning
    assert cn.add(sh(2026, 3, 13, 16, 30), 4, "working_hours") == sh(2026, 3, 16, 12, 0)
    # ending exactly at the end of a period is due then, not at the start of the next one
    assert cn.add(sh(2026, 3, 10, 9, 0), 3, "working_hours") == sh(2026, 3, 10, 12, 0)
    # 7 working hours a day: 14 working hours from Monday 09:00 end on Tuesday 17:30
    assert cn.add(sh(2026, 3, 9, 9, 0), 14, "working_hours") == sh(2026, 3, 10, 17, 30)


def test_working_hours_stop_for_the_spring_festival_and_count_the_swapped_saturday(cn):
    # Friday 2026-02-13 17:00: half an hour left, then Saturday 2-14 is a working day (调休)
    assert cn.add(sh(2026, 2, 13, 17, 0), 1, "working_hours") == sh(2026, 2, 14, 9, 30)
    # Saturday 2-14 16:00: 1.5 h that day, the festival 2-15..2-23, then Tuesday 2-24
    assert cn.add(sh(2026, 2, 14, 16, 0), 4, "working_hours") == sh(2026, 2, 24, 11, 30)


def test_a_start_in_another_zone_is_counted_in_the_calendars_local_time(cn):
    utc_start = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    due = cn.add(utc_start, 2, "working_hours")
    assert due == sh(2026, 3, 10, 14, 30) and due.utcoffset() == timedelta(hours=8)


# --- working days ---------------------------------------------------------------------------------


def test_working_days_count_from_the_next_day_and_end_with_the_working_day(cn):
    assert cn.add(sh(2026, 3, 9, 9, 0), 1, "working_days") == sh(2026, 3, 10, 17, 30)
    assert cn.add(sh(2026, 3, 9, 23, 0), 1, "working_days") == sh(2026, 3, 10, 17, 30)
    assert cn.add(sh(2026, 3, 7, 10, 0), 1, "working_days") == sh(2026, 3, 9, 17, 30)  # Sat
    # Thursday 2-12: Friday (1), swapped Saturday 2-14 (2), festival, Tuesday 2-24 (3)
    assert cn.add(sh(2026, 2, 12, 10, 0), 3, "working_days") == sh(2026, 2, 24, 17, 30)


def test_multi_stage_deadlines_are_each_counted_from_filing(cn):
    structure = load_category_set("cn", data_dir=DATA).category("E0301")  # 违法建设
    filed = sh(2026, 9, 18, 16, 0)  # Friday before the Mid-Autumn and National Day holidays
    deadlines = cn.deadlines(filed, structure.time_limits)
    assert [(limit.stage, due) for limit, due in deadlines] == [
        # 1.5 h on Friday, Sunday 9-20 is worked (调休): 2.5 h more
        ("stop_work", sh(2026, 9, 20, 11, 30)),
        # 20 working days: 9-20..24 (5), 9-28..30 (8), 10-8, 10-9, Saturday 10-10 (11),
        # 10-12..16 (16), 10-19..22 (20)
        ("remove", sh(2026, 10, 22, 17, 30)),
    ]


# --- elapsed hours and days, daylight saving ---------------------------------------------------


def test_hours_and_days_are_elapsed_time_also_across_daylight_saving(la, cn):
    # DST starts 2026-03-08 02:00 in Los Angeles: 24 elapsed hours end at 21:00 PDT
    start = lax(2026, 3, 7, 20, 0)
    assert la.add(start, 24, "hours") == lax(2026, 3, 8, 21, 0)
    assert la.add(start, 1, "days") == lax(2026, 3, 8, 21, 0)
    # (in UTC: subtracting two times of one zone would compare wall clocks, 25 h here)
    elapsed = la.add(start, 1, "days").astimezone(UTC) - start.astimezone(UTC)
    assert elapsed == timedelta(hours=24)
    # DST ends 2026-11-01 02:00: 24 elapsed hours end at 19:00 PST
    assert la.add(lax(2026, 10, 31, 20, 0), 24, "hours") == lax(2026, 11, 1, 19, 0)
    # emergencies do not wait: a Saturday night on the Spring Festival
    assert cn.add(sh(2026, 2, 14, 23, 30), 1, "hours") == sh(2026, 2, 15, 0, 30)
    assert cn.add(sh(2026, 2, 14, 23, 30), 0.5, "hours") == sh(2026, 2, 15, 0, 0)


def test_working_time_keeps_to_the_local_clock_across_daylight_saving(la):
    # Friday 16:00 PST + 2 working hours: 1 h Friday, Monday 08:00-09:00 PDT
    due = la.add(lax(2026, 3, 6, 16, 0), 2, "working_hours")
    assert due == lax(2026, 3, 9, 9, 0) and due.utcoffset() == timedelta(hours=-7)
    # Friday 3-27, Monday 3-30 is César Chávez Day: due on Tuesday
    assert la.add(lax(2026, 3, 27, 16, 0), 2, "working_hours") == lax(2026, 3, 31, 9, 0)
    assert la.add(lax(2026, 11, 25, 10, 0), 1, "working_days") == lax(2026, 11, 30, 17, 0)


# --- years the file does not list --------------------------------------------------------------


def test_an_uncovered_year_counts_weekdays_only_and_warns_once(cn, caplog):
    assert not cn.covers(date(2027, 1, 1)) and cn.covers(date(2026, 12, 31))
    with caplog.at_level(logging.WARNING, logger="gridmap.domain.calendar"):
        # 2027-01-01 is a Friday: no holiday known for it, so a working day (provisionally)
        assert cn.is_working_day(date(2027, 1, 1))
        assert not cn.is_working_day(date(2027, 1, 2))
        due = cn.add(sh(2026, 12, 31, 17, 0), 1, "working_hours")
    assert due == sh(2027, 1, 1, 9, 30)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "'cn'" in text and "2027" in text and "cn.toml" in text and "节假日" in text


# --- bad arguments and bad files -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "unit", "fragment"),
    [
        (datetime(2026, 3, 10, 9, 0), 1, "working_hours", "no time zone"),
        (sh(2026, 3, 10, 9, 0), 1, "weeks", "'weeks'"),
        (sh(2026, 3, 10, 9, 0), 0, "hours", "> 0"),
        (sh(2026, 3, 10, 9, 0), -1, "working_days", "> 0"),
        (sh(2026, 3, 10, 9, 0), float("nan"), "hours", "nan"),
        (sh(2026, 3, 10, 9, 0), 1.5, "working_days", "whole"),
    ],
)
def test_bad_arguments_are_input_errors(cn, start, amount, unit, fragment):
    with pytest.raises(InputError, match=fragment):
        cn.add(start, amount, unit)


def test_deadlines_take_any_time_limits(cn):
    limits = [
        TimeLimit("a", 2, "working_hours", "A", "甲"),
        TimeLimit("b", 2, "hours", "B", "乙"),
    ]
    start = sh(2026, 3, 10, 11, 0)
    assert cn.deadlines(start, limits) == [
        (limits[0], sh(2026, 3, 10, 14, 30)),
        (limits[1], sh(2026, 3, 10, 13, 0)),
    ]


VALID = """
name = "test"
title_en = "Test"
title_zh = "测试"
timezone = "Asia/Shanghai"
working_weekdays = ["mon", "tue", "wed", "thu", "fri"]
working_periods = [["09:00", "12:00"], ["13:30", "17:30"]]

[[years]]
year = 2026
source = "notice"
holidays = [
    { from = 2026-02-15, to = 2026-02-23, name_en = "Spring Festival", name_zh = "春节" },
    { from = 2026-04-04, name_en = "Qingming", name_zh = "清明节" },
]
working_days = [
    { date = 2026-02-14, name_en = "Swap", name_zh = "调休" },
]
"""


def replaced(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


BROKEN = {
    "toml syntax": (replaced("year = 2026", "year = 2026 2027"), ["line"]),
    "overlapping periods": (
        replaced(
            '[["09:00", "12:00"], ["13:30", "17:30"]]', '[["09:00", "14:00"], ["13:30", "17:30"]]'
        ),
        ["working_periods", "overlap"],
    ),
    "period ending before it starts": (
        replaced('["13:30", "17:30"]', '["17:30", "13:30"]'),
        ["working_periods", "end after"],
    ),
    "time without leading zero": (replaced('"09:00"', '"9:00"'), ["'9:00'", "HH:MM"]),
    "impossible time": (replaced('"17:30"', '"25:30"'), ["'25:30'"]),
    "periods not pairs": (
        replaced('[["09:00", "12:00"], ["13:30", "17:30"]]', '["09:00", "12:00"]'),
        ["'working_periods'", "pairs"],
    ),
    "unknown weekday": (replaced('"fri"]', '"friday"]'), ["working_weekdays", "'friday'"]),
    "no weekday": (
        replaced('["mon", "tue", "wed", "thu", "fri"]', "[]"),
        ["working_weekdays", "at least one"],
    ),
    "unknown time zone": (
        replaced('"Asia/Shanghai"', '"Asia/Peking"'),
        ["'Asia/Peking'"],
    ),
    "swap on a weekday": (
        replaced("date = 2026-02-14", "date = 2026-02-13"),
        ["years[2026].working_days[2026-02-13]", "already"],
    ),
    "swap on a holiday": (
        replaced("date = 2026-02-14", "date = 2026-02-15"),
        ["working_days[2026-02-15]", "holidays[2026-02-15]"],
    ),
    "overlapping holidays": (
        replaced("from = 2026-04-04", "from = 2026-02-20"),
        ["holidays[2026-02-20]", "2026-02-20", "already listed"],
    ),
    "range backwards": (
        replaced("to = 2026-02-23", "to = 2026-02-13"),
        ["holidays[2026-02-15]", "before"],
    ),
    "date as a string": (
        replaced("from = 2026-04-04", 'from = "2026-04-04"'),
        ["holidays[#2]", "'from'", "YYYY-MM-DD"],
    ),
    "date years away": (
        replaced("from = 2026-04-04", "from = 2062-04-04"),
        ["holidays[#2]", "2062-04-04", "2026"],
    ),
    "year twice": (
        VALID + '\n[[years]]\nyear = 2026\nsource = "again"\n',
        ["years[2026]", "more than once"],
    ),
    "no source for a year": (replaced('source = "notice"\n', ""), ["years[2026]", "'source'"]),
    "misspelt field": (
        replaced('name_zh = "清明节"', 'name_zh = "清明节", nmae_en = "x"'),
        ["holidays[2026-04-04]", "'nmae_en'"],
    ),
    "missing Chinese name": (
        replaced(', name_zh = "调休"', ""),
        ["working_days[2026-02-14]", "'name_zh'"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_calendar_is_refused_naming_source_entry_and_problem(case):
    text, fragments = BROKEN[case]
    with pytest.raises(InputError) as caught:
        parse_calendar(text, source="broken.toml")
    english, chinese = caught.value.message("en"), caught.value.message("zh-CN")
    assert english.startswith("broken.toml: ") and chinese.startswith("broken.toml："), english
    for fragment in fragments:
        assert fragment in english, (fragment, english)


def test_the_valid_calendar_of_the_battery_parses():
    calendar = parse_calendar(VALID, source="ok.toml")
    assert calendar.is_working_day(date(2026, 2, 14)) and not calendar.is_working_day(
        date(2026, 4, 4)
    )


def test_a_missing_calendar_lists_the_shipped_ones(tmp_path):
    with pytest.raises(InputError) as caught:
        load_calendar("moon", data_dir=DATA)
    assert "'moon'" in str(caught.value) and "cn, los_angeles" in str(caught.value)
    path = tmp_path / "mine.toml"
    path.write_text(VALID, encoding="utf-8")
    assert load_calendar(path, data_dir=DATA).name == "test"
