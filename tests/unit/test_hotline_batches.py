"""How a hotline import cuts a file into batches: small first and last batches, every row in
exactly one batch, in order."""

from __future__ import annotations

import pytest

from gridmap.services import hotline


@pytest.mark.parametrize("rows", [0, 1, 4_999, 5_000, 5_001, 25_000, 26_000, 100_000, 123_457])
def test_batches_cover_every_row_once_in_order(rows):
    bounds = hotline.batch_bounds(rows)
    covered = [i for start, stop in bounds for i in range(start, stop)]
    assert covered == list(range(rows))
    assert all(stop > start for start, stop in bounds)
    sizes = [stop - start for start, stop in bounds]
    assert all(size <= hotline.CHUNK_ROWS for size in sizes)
    if sizes:  # the database starts early and has little left once Python is done
        assert sizes[0] <= hotline.FIRST_CHUNK_ROWS and sizes[-1] <= hotline.FIRST_CHUNK_ROWS


def test_a_hundred_thousand_rows():
    assert [stop - start for start, stop in hotline.batch_bounds(100_000)] == [
        5_000,
        20_000,
        20_000,
        20_000,
        20_000,
        10_000,
        5_000,
    ]


def test_times_are_parsed_alike_whichever_batch_they_come_in():
    """TimeParser remembers the texts it parsed across batches: a text gives the same instant
    in every batch, and each batch's result is what parsing its values one by one gives."""
    from zoneinfo import ZoneInfo

    import pandas as pd

    zone = ZoneInfo("America/Los_Angeles")
    parser = hotline.TimeParser((), zone)  # ISO 8601
    batches = [
        ["2020-03-08T01:30:00", "2020-03-08T01:30:00", "", "2020-03-08T10:00:00+08:00"],
        ["2020-03-08T02:30:00", "yesterday", "2020-03-08T01:30:00", "2020-11-01T01:30:00"],
        ["2020-03-08T10:00:00+08:00", "", "2020-07-01T12:00:00Z", "2020-07-01 12:00:00"],
    ]

    def one_by_one(text: str) -> pd.Timestamp:
        if text.endswith(("Z", "+08:00")):
            return pd.Timestamp(text).tz_convert("UTC")
        try:
            local = pd.Timestamp(text)
            return local.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")
        except ValueError:
            return pd.NaT

    for batch in batches:
        got = parser(pd.Series(batch, dtype="str"))
        assert str(got.dtype).startswith("datetime64") and str(got.dt.tz) == "UTC"
        assert [None if pd.isna(t) else t for t in got] == [
            None if pd.isna(t) else t for t in map(one_by_one, batch)
        ]
    # 02:30 on 8 March does not exist in Los Angeles, 01:30 on 1 November happens twice
    assert pd.isna(parser(pd.Series(["2020-03-08T02:30:00", "2020-11-01T01:30:00"]))).all()


def test_without_a_date_format_year_first_local_layouts_are_read_too():
    """Chinese 12345 exports write times like 2026/3/2 9:05 or 2026年3月2日 09:05: read without
    --date-format, in the deployment's zone. Month- or day-first dates are ambiguous and stay
    unread; with --date-format only that format is used."""
    from zoneinfo import ZoneInfo

    import pandas as pd

    zone = ZoneInfo("Asia/Shanghai")
    texts = [
        "2026/3/2 9:05",
        "2026/03/02 09:05:30",
        "2026.3.2 9:05",
        "2026年3月2日 09:05",
        "2026年3月2日9:05",
        "2026年3月2日 9时5分",
        "2026/3/2",
        "2026-03-02T09:05:00+08:00",
        "3/2/2026 9:05",
        "",
    ]
    got = hotline.TimeParser((), zone)(pd.Series(texts, dtype="str"))
    local = [None if pd.isna(t) else t.tz_convert(zone).strftime("%Y-%m-%d %H:%M:%S") for t in got]
    assert local == [
        "2026-03-02 09:05:00",
        "2026-03-02 09:05:30",
        "2026-03-02 09:05:00",
        "2026-03-02 09:05:00",
        "2026-03-02 09:05:00",
        "2026-03-02 09:05:00",
        "2026-03-02 00:00:00",
        "2026-03-02 09:05:00",
        None,
        None,
    ]
    explicit = hotline.TimeParser(("%m/%d/%Y %H:%M",), zone)(pd.Series(texts, dtype="str"))
    assert [pd.isna(t) for t in explicit] == [True] * 8 + [False, True]
