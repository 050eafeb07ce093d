"""Intake's two statements stay within what psycopg caches the parsing of: beyond it, every
request re-parses the statement's placeholders (a tenth of intake's CPU once)."""

from __future__ import annotations

from psycopg import _queries

from gridmap.store import intake


def test_intake_statements_are_short_enough_for_psycopgs_query_cache():
    limit = _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(intake._READ_SQL) <= limit
    assert len(intake._WRITE_SQL) == 4  # by (has a point, has photos)
    for variant, text in intake._WRITE_SQL.items():
        assert len(text) <= limit, variant
