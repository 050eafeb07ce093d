"""Bulk writes of a hotline import: issues with their first events, routing decisions and
placements in a few set-based statements, and the rejected rows.

The rows go to a temporary load table in one CSV COPY; a routing decision and a deadline set
are shared by many rows (one per unit x category, one per category x filing day), so each is
sent once in a small table and the rows carry its number. The INSERTs then copy the stored
JSON values instead of parsing the same text for every row."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa

from gridmap.store.db import arrow_table, copy_csv, copy_rows

LOGGER = logging.getLogger(__name__)

LOAD_SCHEMA = pa.schema(
    [
        ("external_id", pa.string()),
        ("category_code", pa.string()),
        ("severity", pa.string()),
        ("reported_at", pa.timestamp("us", tz="UTC")),
        ("due_at", pa.timestamp("us", tz="UTC")),
        ("deadline_group", pa.int32()),
        ("lon", pa.float64()),
        ("lat", pa.float64()),
        ("address", pa.string()),
        ("description", pa.string()),
        ("edge_distance_m", pa.float64()),
        ("decision_group", pa.int32()),
        ("closed_at", pa.timestamp("us", tz="UTC")),
    ]
)
_DECISION_COLUMNS = (
    "decision_group",
    "generation",
    "unit_level",
    "unit_code",
    "target_kind",
    "worker_id",
    "department_code",
    "needs_confirmation",
    "steps",
)


def known_external_ids(conn: psycopg.Connection, source: str, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` already imported from ``source`` (one indexed probe per id)."""
    rows = conn.execute(
        """
        SELECT i.external_id
        FROM unnest(%(ids)s::text[]) AS u(id)
        JOIN issue i ON i.external_source = %(source)s AND i.external_id = u.id
        """,
        {"ids": list(ids), "source": source},
    ).fetchall()
    return {r[0] for r in rows}


def load_issues(
    conn: psycopg.Connection,
    frame: pd.DataFrame,
    decisions: Sequence[dict[str, Any]],
    deadlines: Sequence[str],
) -> None:
    """Stage the rows (LOAD_SCHEMA's columns of ``frame``) with the decisions and deadline
    sets (JSON text) they point to by number; the tables go with the transaction."""
    conn.execute(
        """
        CREATE TEMP TABLE issue_load (
            external_id text, category_code text, severity text, reported_at timestamptz,
            due_at timestamptz, deadline_group integer, lon float8, lat float8, address text,
            description text, edge_distance_m float8, decision_group integer,
            closed_at timestamptz
        ) ON COMMIT DROP;
        CREATE TEMP TABLE decision_load (
            decision_group integer PRIMARY KEY, generation integer, unit_level text,
            unit_code text, target_kind text, worker_id integer, department_code text,
            needs_confirmation boolean, steps jsonb
        ) ON COMMIT DROP;
        CREATE TEMP TABLE deadline_load (
            deadline_group integer PRIMARY KEY, deadlines jsonb
        ) ON COMMIT DROP
        """
    )
    copy_csv(
        conn,
        f"COPY issue_load ({', '.join(LOAD_SCHEMA.names)}) FROM STDIN (FORMAT csv)",
        arrow_table(frame, LOAD_SCHEMA),
    )
    copy_rows(
        conn,
        "decision_load",
        _DECISION_COLUMNS,
        (
            (
                group,
                *(d[c] for c in _DECISION_COLUMNS[1:-1]),
                json.dumps(d["steps"], ensure_ascii=False, default=str),
            )
            for group, d in enumerate(decisions)
        ),
    )
    copy_rows(conn, "deadline_load", ("deadline_group", "deadlines"), enumerate(deadlines))
    conn.execute("ANALYZE issue_load")  # the joins below are planned on real row counts


def insert_issues(conn: psycopg.Connection, *, set_name: str, source: str) -> int:
    """Insert the staged rows not imported before (by source + external id); returns how
    many. ``issue_new`` keeps what the later statements need of each new issue."""
    conn.execute(
        """
        CREATE TEMP TABLE issue_new ON COMMIT DROP AS
        WITH ins AS (
            INSERT INTO issue (set_name, category_code, description, channel, geom, input_lon,
                input_lat, input_coord_type, address, external_source, external_id, state,
                severity, reported_at, due_at, deadlines, generation, unit_level, unit_code,
                edge_distance_m, target_kind, worker_id, department_code, needs_confirmation,
                closed_at)
            SELECT %(set)s, l.category_code, l.description, 'import',
                ST_SetSRID(ST_MakePoint(l.lon, l.lat), 4326), l.lon, l.lat, 'wgs84', l.address,
                %(source)s, l.external_id,
                -- closed in the exporting system: closed here too, with its own closing time
                CASE WHEN l.closed_at IS NOT NULL THEN 'closed'
                     WHEN d.target_kind = 'triage' THEN 'triage' ELSE 'dispatched' END,
                l.severity, l.reported_at, l.due_at, t.deadlines, d.generation, d.unit_level,
                d.unit_code, l.edge_distance_m, d.target_kind, d.worker_id, d.department_code,
                d.needs_confirmation, l.closed_at
            FROM issue_load l
            JOIN decision_load d USING (decision_group)
            JOIN deadline_load t USING (deadline_group)
            ON CONFLICT (external_source, external_id) DO NOTHING
            RETURNING id, external_id, state, input_lon AS lon, input_lat AS lat, generation,
                unit_level, unit_code, worker_id, department_code
        ) SELECT * FROM ins
        """,
        {"set": set_name, "source": source},
    )
    row = conn.execute("SELECT count(*) FROM issue_new").fetchone()
    assert row is not None
    conn.execute("ANALYZE issue_new")
    return int(row[0])


def insert_events(conn: psycopg.Connection, *, source: str) -> None:
    """One event per new issue, from nothing to the state the import left it in.

    Intake through the API records reported, filed and dispatched as three steps because
    they happen here one after the other. An imported row was reported to the hotline
    earlier, and the import files and dispatches it in one step: one event says that, with
    the target in its data, at a third of the rows (and of the foreign-key checks) of three
    events per issue, which is most of an import's write time."""
    conn.execute(
        """
        INSERT INTO issue_event (issue_id, actor, from_state, to_state, data)
        SELECT n.id, %(actor)s, NULL, n.state,
               jsonb_build_object('channel', 'import', 'source', %(source)s::text,
                                  'worker_id', n.worker_id, 'department', n.department_code)
        FROM issue_new n
        ORDER BY n.id
        """,
        {"actor": f"import:{source}", "source": source},
    )


def insert_decisions(conn: psycopg.Connection) -> None:
    """Each new issue's routing decision with its reasons."""
    conn.execute(
        """
        INSERT INTO routing_decision (issue_id, generation, unit_level, unit_code, target_kind,
                                      worker_id, department_code, needs_confirmation, steps)
        SELECT n.id, d.generation, d.unit_level, d.unit_code, d.target_kind, d.worker_id,
               d.department_code, d.needs_confirmation, d.steps
        FROM issue_new n
        JOIN issue_load l USING (external_id)
        JOIN decision_load d USING (decision_group)
        ORDER BY n.id
        """
    )


def insert_placements(conn: psycopg.Connection, *, generation: int | None) -> None:
    """Where each new issue is, and its unit in the generation it was located in."""
    conn.execute(
        """
        WITH placed AS (
            INSERT INTO placement (subject, subject_id, lon, lat)
            SELECT 'issue', n.id, n.lon, n.lat FROM issue_new n ORDER BY n.id
            RETURNING id, subject_id
        )
        INSERT INTO placement_unit (generation, placement_id, unit_level, unit_code)
        SELECT %(gen)s, p.id, n.unit_level, n.unit_code
        FROM placed p JOIN issue_new n ON n.id = p.subject_id
        WHERE %(gen)s::integer IS NOT NULL AND n.unit_code IS NOT NULL
        """,
        {"gen": generation},
    )


def copy_rejected_in(conn: psycopg.Connection, rows: list[dict[str, Any]], *, source: str) -> None:
    """Record rejected rows (``raw``: the row as JSON text); one seen before (same source and
    content) is not added again."""
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
                r["raw"],
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
