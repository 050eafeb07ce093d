"""The connection pool under a server's first burst of requests, and after it was closed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from gridmap.store.db import Database

pytestmark = pytest.mark.db


def _select_one(db: Database) -> int:
    with db.connection() as conn:
        row = conn.execute("SELECT 1").fetchone()
    assert row is not None
    return int(row[0])


def test_the_first_requests_arriving_together_all_get_a_connection(settings):
    """Waitress threads take the first requests at the same moment; each opens the pool
    lazily. Two concurrent opens once made the losing one close the pool under the winner,
    and every request after that was a 503."""
    db = Database(settings.database_url, max_size=4)
    start = threading.Barrier(8)

    def first_request(_: int) -> int:
        start.wait()
        return _select_one(db)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(first_request, range(8))) == [1] * 8
        assert _select_one(db) == 1
        db.close()
        assert _select_one(db) == 1  # a closed pool is opened afresh, not refused
    finally:
        db.close()
