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
