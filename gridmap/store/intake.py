"""Intake's two statements. One reads everything a new issue needs: it claims the
idempotency key, reserves the issue's id, reads the reference counter, locates the point
(chain and edge distance), reads the workers of the chain and the likely duplicates. The other
writes everything: the issue, its events, its routing decision, its placement and the key's
stored answer. Two statements in one transaction instead of a dozen: per-statement costs,
client and server side, were most of intake's time (benchmarks/intake.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridmap.store.issues import NEARBY_OPEN_CTES, issue_insert_sql, issue_params
from gridmap.store.units import EDGE_DISTANCE_SQL, LOCATE_CTES
from gridmap.store.workers import WORKERS_ON_UNITS_SQL, group_by_unit

DUPLICATES_SHOWN = 10

# A data-modifying CTE runs once whether or not it is read. The key claim waits, like a plain
# INSERT ... ON CONFLICT, for a concurrent transaction holding the same key: a retry racing
# the first request blocks here until that one commits (then finds the key taken) or rolls
# back (then takes it). The stored answer cannot be read in this statement (its snapshot
# predates that commit): ``idempotency_answer`` reads it. The duplicates' timestamps come as
# timestamptz, not JSON text: they are shown like every other timestamp.
#
# No comments inside the SQL text, and little indentation: psycopg caches its parsing of a
# query (placeholders to $n) only up to 4,096 characters, and re-parsing this one on every
# request cost a tenth of intake's CPU (py-spy profile of benchmarks/intake.py).
_READ_SQL = f"""
WITH RECURSIVE claim AS (
    INSERT INTO idempotency_key (key, fingerprint, status, body)
    SELECT %(key)s, %(fingerprint)s, 0, '{{}}' WHERE %(key)s::text IS NOT NULL
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), {LOCATE_CTES}, duty AS (
    {WORKERS_ON_UNITS_SQL.format(units="SELECT level, code FROM chain")}
), {NEARBY_OPEN_CTES}
SELECT
    %(key)s::text IS NULL OR EXISTS (SELECT FROM claim) AS claimed,
    nextval(pg_get_serial_sequence('issue', 'id')) AS issue_id,
    (SELECT version FROM reference_version) AS reference_version,
    (SELECT json_agg(json_build_object('level', level, 'code', code, 'name', name)
                     ORDER BY depth DESC) FROM chain) AS chain,
    {EDGE_DISTANCE_SQL} AS edge_distance_m,
    (SELECT json_agg(duty ORDER BY rank) FROM duty) AS workers,
    (SELECT json_agg(json_build_object('id', id, 'state', state, 'description', description,
                                       'distance_m', distance_m) ORDER BY distance_m, id)
     FROM nearby) AS duplicates,
    (SELECT array_agg(reported_at ORDER BY distance_m, id) FROM nearby) AS duplicates_reported_at
"""


@dataclass(frozen=True)
class IntakeFacts:
    claimed: bool  # False: the idempotency key was used before (see idempotency_answer)
    issue_id: int  # reserved for this issue
    reference_version: int
    chain: list[dict[str, str]]  # top first; empty outside every unit or without a point
    edge_distance_m: float | None
    workers: dict[tuple[str, str], list[dict[str, Any]]]  # as workers.workers_on_units
    duplicates: list[dict[str, Any]]  # as issues.nearby_open_issues


def read_facts(
    conn: psycopg.Connection,
    *,
    key: str | None,
    fingerprint: str,
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
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            _READ_SQL,
            {
                "key": key,
                "fingerprint": fingerprint,
                "lon": lon,
                "lat": lat,
                "levels": levels,
                "gen": generation,
                "at": at,
                "radius": radius_m,
                "set": set_name,
                "cat": category_code,
                "since": since,
                "exclude": None,
                "limit": DUPLICATES_SHOWN,
            },
        ).fetchone()
    assert row is not None
    duplicates = [
        {**d, "reported_at": reported_at}
        for d, reported_at in zip(
            row["duplicates"] or [], row["duplicates_reported_at"] or [], strict=True
        )
    ]
    return IntakeFacts(
        claimed=bool(row["claimed"]),
        issue_id=int(row["issue_id"]),
        reference_version=int(row["reference_version"]),
        chain=row["chain"] or [],
        edge_distance_m=row["edge_distance_m"],
        workers=group_by_unit(row["workers"] or []),
        duplicates=duplicates,
    )


def idempotency_answer(conn: psycopg.Connection, key: str) -> dict[str, Any]:
    """The stored answer of a key claimed before (fingerprint, status, body, issue_id)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT fingerprint, status, body, issue_id FROM idempotency_key WHERE key = %s",
            (key,),
        ).fetchone()
    assert row is not None, "read_facts found the key taken"
    return row


# Every row of one new issue in one statement. The issue's id was reserved by read_facts, so the
# answer (stored with the key) could be built before. Nothing but the issue is written when its
# (external_source, external_id) exists already: every other CTE selects from new_issue.
_WRITE_SQL = f"""
WITH new_issue AS (
    {issue_insert_sql(with_id=True)}
), events AS (
    INSERT INTO issue_event (issue_id, actor, from_state, to_state, data)
    SELECT new_issue.id, e.actor, e.from_state, e.to_state, e.data
    FROM new_issue, ROWS FROM (jsonb_to_recordset(%(events)s::jsonb)
        AS (actor text, from_state text, to_state text, data jsonb))
        WITH ORDINALITY AS e (actor, from_state, to_state, data, n)
    ORDER BY e.n
), decision AS (
    INSERT INTO routing_decision (issue_id, generation, unit_level, unit_code, target_kind,
                                  worker_id, department_code, needs_confirmation, steps)
    SELECT id, %(generation)s, %(unit_level)s, %(unit_code)s, %(target_kind)s, %(worker_id)s,
           %(department_code)s, %(needs_confirmation)s, %(steps)s
    FROM new_issue
), placed AS (
    INSERT INTO placement (subject, subject_id, lon, lat)
    SELECT 'issue', id, %(lon)s, %(lat)s FROM new_issue WHERE %(lon)s::float8 IS NOT NULL
    RETURNING id
), placed_unit AS (
    INSERT INTO placement_unit (generation, placement_id, unit_level, unit_code)
    SELECT %(generation)s, id, %(unit_level)s, %(unit_code)s
    FROM placed WHERE %(generation)s::integer IS NOT NULL
), answer AS (
    UPDATE idempotency_key SET status = 201, body = %(body)s, issue_id = new_issue.id
    FROM new_issue WHERE key = %(key)s
)
SELECT id FROM new_issue
"""


def write_issue(
    conn: psycopg.Connection,
    issue_id: int,
    values: dict[str, Any],
    *,
    lon: float | None,
    lat: float | None,
    events: list[dict[str, Any]],
    decision: dict[str, Any],
    key: str | None,
    body: dict[str, Any],
) -> bool:
    """Store the issue and its rows; False (nothing written) when its external id exists."""
    params = {
        **issue_params(values, lon=lon, lat=lat),
        **decision,
        "id": issue_id,
        "events": json.dumps(events, ensure_ascii=False, default=str),
        "steps": json.dumps(decision["steps"], ensure_ascii=False),
        "key": key,
        "body": json.dumps(body, ensure_ascii=False, default=str),
    }
    return conn.execute(_WRITE_SQL, params).fetchone() is not None
