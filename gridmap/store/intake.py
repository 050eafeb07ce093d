"""Intake's two statements, each its own transaction (autocommit: no BEGIN or COMMIT round
trips). The read has no effect but reserving the issue's id: it finds an earlier answer to the
idempotency key, reads the reference counter, locates the point (chain and edge distance) and
reads the workers of the chain and the likely duplicates. The write is atomic on its own: the
issue, its events, routing decision, placement, photos and the key with its answer. Two
statements instead of a dozen: per-statement costs, client and server side, were most of
intake's time (benchmarks/intake.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridmap.store.db import json_text
from gridmap.store.issues import NEARBY_OPEN_CTES, issue_insert_sql, issue_params
from gridmap.store.units import EDGE_DISTANCE_SQL, LOCATE_CTES, levels_text
from gridmap.store.workers import WORKERS_ON_UNITS_SQL, group_by_unit

DUPLICATES_SHOWN = 10

# One JSON value, not a row of columns: psycopg sets up a loader per result column on every
# execute (a cursor's loaders are not kept), which cost more client CPU than parsing the
# whole answer as one JSON text (benchmarks/intake.py: intake's server process is bound by its
# Python time). The duplicates' timestamps come as JSON text: ISO 8601 in the session's time
# zone, as the answer shows every timestamp.
#
# No comments inside the SQL text, and little indentation: psycopg caches its parsing of a
# query (placeholders to $n) only up to 4,096 characters, and re-parsing this one on every
# request cost a tenth of intake's CPU (py-spy profile of benchmarks/intake.py).
#
# The issue's identity sequence is named, not looked up: pg_get_serial_sequence() searches the
# catalog on every call (pg_depend), while a regclass constant is resolved once, when the
# statement is prepared (about 20 us per request, benchmarks/intake.py).
_READ_SQL = f"""
WITH RECURSIVE {LOCATE_CTES}, duty AS (
    {WORKERS_ON_UNITS_SQL.format(units="SELECT level, code FROM chain")}
), {NEARBY_OPEN_CTES}, earlier AS (
    SELECT fingerprint, status, body FROM idempotency_key WHERE key = %(key)s
)
SELECT json_build_object(
    'earlier', (SELECT row_to_json(earlier) FROM earlier),
    'issue_id', nextval('issue_id_seq'::regclass),
    'reference_version', (SELECT version FROM reference_version),
    'chain', (SELECT json_agg(json_build_object('level', level, 'code', code, 'name', name)
                              ORDER BY depth DESC) FROM chain),
    'edge_distance_m', {EDGE_DISTANCE_SQL},
    'workers', (SELECT json_agg(duty ORDER BY rank) FROM duty),
    'duplicates', (SELECT json_agg(json_build_object('id', id, 'state', state,
        'description', description, 'distance_m', distance_m, 'reported_at', reported_at)
        ORDER BY distance_m, id) FROM nearby))
"""


@dataclass(frozen=True)
class EarlierAnswer:
    """What an idempotency key answered the first time."""

    fingerprint: str
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class IntakeFacts:
    earlier: EarlierAnswer | None  # the key was used before
    issue_id: int  # reserved for this issue
    reference_version: int
    chain: list[dict[str, str]]  # top first; empty outside every unit or without a point
    edge_distance_m: float | None
    workers: dict[tuple[str, str], list[dict[str, Any]]]  # as workers.workers_on_units
    duplicates: list[dict[str, Any]]  # rows of issues.NEARBY_OPEN_CTES (nearest first)


def read_facts(
    conn: psycopg.Connection,
    *,
    key: str | None,
    point: tuple[float, float] | None,
    levels: list[str],
    generation: int | None,
    at: datetime,
    set_name: str,
    category_code: str,
    radius_m: float,
    since: datetime,
) -> IntakeFacts:
    lon, lat = point if point is not None else (None, None)
    row = conn.execute(
        _READ_SQL,
        {
            "key": key,
            "lon": lon,
            "lat": lat,
            "levels": levels_text(levels),
            "gen": generation,
            "at": at,
            "radius": radius_m,
            "set": set_name,
            "cat": category_code,
            "since": since,
            "limit": DUPLICATES_SHOWN,
        },
    ).fetchone()
    assert row is not None
    facts = row[0]
    earlier = facts["earlier"]
    return IntakeFacts(
        earlier=(
            EarlierAnswer(earlier["fingerprint"], earlier["status"], earlier["body"])
            if earlier is not None
            else None
        ),
        issue_id=int(facts["issue_id"]),
        reference_version=int(facts["reference_version"]),
        chain=facts["chain"] or [],
        edge_distance_m=facts["edge_distance_m"],
        workers=group_by_unit(facts["workers"] or []),
        duplicates=facts["duplicates"] or [],
    )


def idempotency_answer(conn: psycopg.Connection, key: str) -> EarlierAnswer | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT fingerprint, status, body FROM idempotency_key WHERE key = %s", (key,)
        ).fetchone()
    return EarlierAnswer(row["fingerprint"], row["status"], row["body"]) if row else None


def store_answer(
    conn: psycopg.Connection,
    key: str,
    *,
    fingerprint: str,
    status: int,
    body_json: str,
    issue_id: int,
) -> None:
    """Keep an answer for ``key`` unless one is kept already (a concurrent retry's)."""
    conn.execute(
        """
        INSERT INTO idempotency_key (key, fingerprint, status, body, issue_id)
        VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING
        """,
        (key, fingerprint, status, body_json, issue_id),
    )


# Every row of one new issue in one statement, so in one transaction even in autocommit. The
# issue's id was reserved by read_facts, so the answer kept with the key could be built before.
# Nothing is written when the issue's (external_source, external_id) exists already: every other
# CTE selects from new_issue. Parameters are binary (%(name)b), as in issue_insert_sql; the
# events come as one JSON array, not an array parameter per column (psycopg adapts each list
# in Python, element by element). The key
# is a plain INSERT: when a concurrent request with the same key got there first, this one
# waits for it on the primary key and then fails (UniqueViolation) as a whole, which
# write_issue reports as KEY_TAKEN.
_ISSUE_ROWS = f"""
WITH new_issue AS (
    {issue_insert_sql()}
), events AS (
    INSERT INTO issue_event (issue_id, actor, from_state, to_state, data)
    SELECT new_issue.id, e.actor, e.from_state, e.to_state, e.data
    FROM new_issue, ROWS FROM (jsonb_to_recordset(%(events)b::jsonb)
        AS (actor text, from_state text, to_state text, data jsonb))
        WITH ORDINALITY AS e (actor, from_state, to_state, data, n)
    ORDER BY e.n
), decision AS (
    INSERT INTO routing_decision (issue_id, generation, unit_level, unit_code, target_kind,
                                  worker_id, department_code, needs_confirmation, steps)
    SELECT id, %(generation)b, %(unit_level)b, %(unit_code)b, %(target_kind)b, %(worker_id)b,
           %(department_code)b, %(needs_confirmation)b, %(steps)b::jsonb
    FROM new_issue
)"""
_PLACEMENT_ROWS = """, placed AS (
    INSERT INTO placement (subject, subject_id, lon, lat)
    SELECT 'issue', id, %(lon)b, %(lat)b FROM new_issue WHERE %(lon)b::float8 IS NOT NULL
    RETURNING id
), placed_unit AS (
    INSERT INTO placement_unit (generation, placement_id, unit_level, unit_code)
    SELECT %(generation)b, id, %(unit_level)b, %(unit_code)b
    FROM placed WHERE %(generation)b::integer IS NOT NULL
)"""
_PHOTO_ROWS = """, photos AS (
    INSERT INTO issue_photo (issue_id, content_type, width, height, sha256, data)
    SELECT new_issue.id, p.* FROM new_issue, unnest(%(photo_types)b::text[],
        %(photo_widths)b::integer[], %(photo_heights)b::integer[], %(photo_sha256)b::text[],
        %(photo_data)b::bytea[]) AS p
)"""
_ANSWER_ROW = """, answer AS (
    INSERT INTO idempotency_key (key, fingerprint, status, body, issue_id)
    SELECT %(key)b, %(fingerprint)b, 201, %(body)b::jsonb, id FROM new_issue
    WHERE %(key)b::text IS NOT NULL
)
SELECT id FROM new_issue
"""
# The statement by (has a point, has photos). Most reports have a point and no photo: a CTE
# that inserts nothing still costs the server its executor node, table and index opening
# (about 30 us per request for the empty photo insert, benchmarks/intake.py), so it is left
# out of the text instead. Each variant is prepared on its own by psycopg.
_WRITE_SQL = {
    (placed, photos): _ISSUE_ROWS
    + (_PLACEMENT_ROWS if placed else "")
    + (_PHOTO_ROWS if photos else "")
    + _ANSWER_ROW
    for placed in (False, True)
    for photos in (False, True)
}


WRITTEN, EXTERNAL_ID_EXISTS, KEY_TAKEN = "written", "external_id_exists", "key_taken"


def write_issue(
    conn: psycopg.Connection,
    issue_id: int,
    values: dict[str, Any],
    *,
    lon: float | None,
    lat: float | None,
    events: list[dict[str, Any]],
    decision: dict[str, Any],
    photos: Sequence[Any],
    key: str | None,
    fingerprint: str,
    body_json: str,
) -> str:
    """Store the issue and all its rows, or nothing (``conn`` in autocommit mode): WRITTEN;
    EXTERNAL_ID_EXISTS (its
    external id was taken before); KEY_TAKEN (a concurrent request with the same idempotency
    key was stored first: its answer is the answer)."""
    params: dict[str, Any] = {
        **issue_params(values, lon=lon, lat=lat),
        **decision,
        "id": issue_id,
        "events": json_text(events),
        "steps": json_text(decision["steps"]),
        "key": key,
        "fingerprint": fingerprint,
        "body": body_json,
    }
    if photos:
        params["photo_types"] = [p.content_type for p in photos]
        params["photo_widths"] = [p.width for p in photos]
        params["photo_heights"] = [p.height for p in photos]
        params["photo_sha256"] = [p.sha256 for p in photos]
        params["photo_data"] = [p.data for p in photos]
    try:
        row = conn.execute(_WRITE_SQL[lon is not None, bool(photos)], params).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != "idempotency_key_pkey":
            raise
        return KEY_TAKEN
    return WRITTEN if row is not None else EXTERNAL_ID_EXISTS
