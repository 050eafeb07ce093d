"""Bulk writes of a hotline import: issues with their first events, routing decisions and
placements in a few set-based statements, and the rejected rows."""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg

from gridmap.store.db import copy_rows

LOGGER = logging.getLogger(__name__)

_LOAD_COLUMNS = (
    "external_id",
    "category_code",
    "severity",
    "reported_at",
    "due_at",
    "deadlines",
    "lon",
    "lat",
    "address",
    "description",
    "edge_distance_m",
    "state",
    "generation",
    "unit_level",
    "unit_code",
    "target_kind",
    "worker_id",
    "department_code",
    "needs_confirmation",
    "steps",
)


def copy_issues_in(
    conn: psycopg.Connection,
    rows: list[dict[str, Any]],
    *,
    set_name: str,
    source: str,
    generation: int | None,
) -> int:
    """Insert the rows not imported before (by source + external id); returns how many."""
    conn.execute(
        """
        CREATE TEMP TABLE issue_load (
            external_id text, category_code text, severity text, reported_at timestamptz,
            due_at timestamptz, deadlines jsonb, lon float8, lat float8, address text,
            description text, edge_distance_m float8, state text, generation integer,
            unit_level text, unit_code text, target_kind text, worker_id integer,
            department_code text, needs_confirmation boolean, steps jsonb
        ) ON COMMIT DROP
        """
    )
    copy_rows(
        conn,
        "issue_load",
        _LOAD_COLUMNS,
        (
            tuple(
                json.dumps(r[c], ensure_ascii=False, default=str)
                if c in ("deadlines", "steps")
                else r[c]
                for c in _LOAD_COLUMNS
            )
            for r in rows
        ),
    )
    conn.execute(
        """
        CREATE TEMP TABLE issue_new ON COMMIT DROP AS
        WITH ins AS (
            INSERT INTO issue (set_name, category_code, description, channel, geom, input_lon,
                input_lat, input_coord_type, address, external_source, external_id, state,
                severity, reported_at, due_at, deadlines, generation, unit_level, unit_code,
                edge_distance_m, target_kind, worker_id, department_code, needs_confirmation)
            SELECT %(set)s, category_code, description, 'import',
                ST_SetSRID(ST_MakePoint(lon, lat), 4326), lon, lat, 'wgs84', address,
                %(source)s, external_id, state, severity, reported_at, due_at, deadlines,
                generation, unit_level, unit_code, edge_distance_m, target_kind, worker_id,
                department_code, needs_confirmation
            FROM issue_load
            ON CONFLICT (external_source, external_id) DO NOTHING
            RETURNING id, external_id
        ) SELECT * FROM ins
        """,
        {"set": set_name, "source": source},
    )
    conn.execute(
        """
        INSERT INTO issue_event (issue_id, actor, from_state, to_state, data)
        SELECT n.id, 'import', s.from_state, s.to_state, '{}'::jsonb
        FROM issue_new n JOIN issue_load l USING (external_id),
        LATERAL (VALUES (0, NULL, 'reported'),
                        (1, 'reported', CASE WHEN l.state = 'triage' THEN 'triage'
                                             ELSE 'filed' END),
                        (2, 'filed', CASE WHEN l.state = 'triage' THEN NULL
                                          ELSE 'dispatched' END))
            AS s(step, from_state, to_state)
        WHERE s.to_state IS NOT NULL
        ORDER BY n.id, s.step
        """
    )
    conn.execute(
        """
        INSERT INTO routing_decision (issue_id, generation, unit_level, unit_code, target_kind,
                                      worker_id, department_code, needs_confirmation, steps)
        SELECT n.id, l.generation, l.unit_level, l.unit_code, l.target_kind, l.worker_id,
               l.department_code, l.needs_confirmation, l.steps
        FROM issue_new n JOIN issue_load l USING (external_id)
        """
    )
    conn.execute(
        """
        WITH placed AS (
            INSERT INTO placement (subject, subject_id, lon, lat)
            SELECT 'issue', n.id, l.lon, l.lat
            FROM issue_new n JOIN issue_load l USING (external_id)
            RETURNING id, subject_id
        )
        INSERT INTO placement_unit (generation, placement_id, unit_level, unit_code)
        SELECT %(gen)s, p.id, i.unit_level, i.unit_code
        FROM placed p JOIN issue i ON i.id = p.subject_id
        WHERE %(gen)s::integer IS NOT NULL
        """,
        {"gen": generation},
    )
    row = conn.execute("SELECT count(*) FROM issue_new").fetchone()
    assert row is not None
    return int(row[0])


def copy_rejected_in(conn: psycopg.Connection, rows: list[dict[str, Any]], *, source: str) -> None:
    """Record rejected rows; one seen before (same source and content) is not added again."""
    conn.execute(
        """
        CREATE TEMP TABLE rejected_load (
            row_number integer, external_id text, fingerprint text, reason text, raw jsonb
        ) ON COMMIT DROP
        """
    )
    copy_rows(
        conn,
        "rejected_load",
        ("row_number", "external_id", "fingerprint", "reason", "raw"),
        (
            (
                r["row_number"],
                r["external_id"],
                r["fingerprint"],
                r["reason"],
                json.dumps(r["raw"], ensure_ascii=False),
            )
            for r in rows
        ),
    )
    conn.execute(
        """
        INSERT INTO issue_rejected (source, row_number, external_id, fingerprint, reason, raw)
        SELECT %s, row_number, external_id, fingerprint, reason, raw FROM rejected_load
        ON CONFLICT (source, fingerprint) DO NOTHING
        """,
        (source,),
    )


def rejected_counts(conn: psycopg.Connection, *, source: str) -> dict[str, int]:
    return {
        r: int(n)
        for r, n in conn.execute(
            "SELECT reason, count(*) FROM issue_rejected WHERE source = %s GROUP BY reason",
            (source,),
        )
    }
