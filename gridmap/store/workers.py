"""Grid workers and their current assignments to units."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

LOGGER = logging.getLogger(__name__)


def add_worker(
    conn: psycopg.Connection, *, name: str, phone: str | None, department: str | None
) -> int:
    row = conn.execute(
        "INSERT INTO worker (name, phone, department) VALUES (%s, %s, %s) RETURNING id",
        (name, phone, department),
    ).fetchone()
    assert row is not None
    return int(row[0])


def worker_exists(conn: psycopg.Connection, worker_id: int) -> bool:
    return conn.execute("SELECT 1 FROM worker WHERE id = %s", (worker_id,)).fetchone() is not None


def assign_worker(
    conn: psycopg.Connection, *, worker_id: int, level: str, code: str, role: str
) -> int:
    """Assign from now on; a new primary ends the unit's current primary (history is kept)."""
    if role == "primary":
        conn.execute(
            """
            UPDATE worker_assignment SET valid_to = now()
            WHERE unit_level = %s AND unit_code = %s AND role = 'primary' AND valid_to IS NULL
            """,
            (level, code),
        )
    row = conn.execute(
        """
        INSERT INTO worker_assignment (worker_id, unit_level, unit_code, role)
        VALUES (%s, %s, %s, %s) RETURNING id
        """,
        (worker_id, level, code, role),
    ).fetchone()
    assert row is not None
    return int(row[0])


def unit_workers(conn: psycopg.Connection, *, level: str, code: str) -> list[dict[str, Any]]:
    """Current workers of a unit, primary first (public fields only: no phone)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT w.id, w.name, w.department, a.role, a.valid_from
            FROM worker_assignment a JOIN worker w ON w.id = a.worker_id
            WHERE a.unit_level = %s AND a.unit_code = %s AND a.valid_to IS NULL AND w.active
            ORDER BY a.role = 'primary' DESC, a.valid_from
            """,
            (level, code),
        ).fetchall()


def list_workers(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT w.id, w.name, w.phone, w.department, w.active,
                   coalesce(string_agg(a.unit_code || ' (' || a.role || ')', ', '
                                       ORDER BY a.unit_code), '') AS units
            FROM worker w LEFT JOIN worker_assignment a
                 ON a.worker_id = w.id AND a.valid_to IS NULL
            GROUP BY w.id ORDER BY w.id
            """
        ).fetchall()


def add_duties(conn: psycopg.Connection, periods: Sequence[tuple[int, Any, Any]]) -> int:
    """Insert (worker_id, starts_at, ends_at) periods, skipping ones already stored (a roster
    file imported twice adds nothing); returns how many were new."""
    if not periods:
        return 0
    workers, starts, ends = (list(column) for column in zip(*periods, strict=True))
    cursor = conn.execute(
        """
        INSERT INTO worker_duty (worker_id, starts_at, ends_at)
        SELECT DISTINCT p.worker_id, p.starts_at, p.ends_at
        FROM unnest(%s::int[], %s::timestamptz[], %s::timestamptz[])
             AS p (worker_id, starts_at, ends_at)
        WHERE NOT EXISTS (SELECT 1 FROM worker_duty d WHERE d.worker_id = p.worker_id
                          AND d.starts_at = p.starts_at AND d.ends_at = p.ends_at)
        """,
        (workers, starts, ends),
    )
    return cursor.rowcount


def duties(
    conn: psycopg.Connection, *, worker_id: int | None = None, since: Any = None
) -> list[dict[str, Any]]:
    """Duty periods (of one worker, ending after ``since``), in time order."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT d.worker_id, w.name, d.starts_at, d.ends_at
            FROM worker_duty d JOIN worker w ON w.id = d.worker_id
            WHERE (%(worker)s::int IS NULL OR d.worker_id = %(worker)s)
              AND (%(since)s::timestamptz IS NULL OR d.ends_at > %(since)s)
            ORDER BY d.starts_at, d.worker_id
            """,
            {"worker": worker_id, "since": since},
        ).fetchall()


def missing_workers(conn: psycopg.Connection, worker_ids: Sequence[int]) -> list[int]:
    rows = conn.execute(
        "SELECT i FROM unnest(%s::int[]) AS i WHERE NOT EXISTS "
        "(SELECT 1 FROM worker w WHERE w.id = i) ORDER BY i",
        (list(worker_ids),),
    ).fetchall()
    return [int(r[0]) for r in rows]


# Current assignments of some units, primary first, each with whether the worker is on duty
# at %(at)s: a worker with no duty periods at all is always on duty, one with a roster only
# inside a period. {units} is a query giving (level, code) rows: an unnest of arrays here, the
# located chain in intake's one-statement read (store.intake). ``rank`` is the order as a column
# too: an aggregate of these rows (intake) keeps it by name.
# LATERAL with OFFSET 0 / LIMIT 1 (kept as subqueries, not flattened): index probes per unit
# (worker_assignment_unit) and per worker (worker_duty_worker). Flattened, the planner misjudged
# the few units of a chain and hashed every assignment and every duty period of the city on
# each call, a cost that grows with the city (intake benchmark). Comments stay out of the SQL
# text: see store.intake on its length.
WORKERS_ON_UNITS_SQL = """
SELECT a.unit_level, a.unit_code, w.id AS worker_id, w.name, a.role,
       (roster.worker_id IS NULL OR period.worker_id IS NOT NULL) AS on_duty,
       row_number() OVER (ORDER BY a.role = 'primary' DESC, a.valid_from, w.id) AS rank
FROM ({units}) AS u (level, code)
JOIN LATERAL (
    SELECT * FROM worker_assignment a
    WHERE a.unit_code = u.code AND a.unit_level = u.level AND a.valid_to IS NULL OFFSET 0
) a ON true
JOIN worker w ON w.id = a.worker_id
LEFT JOIN LATERAL (
    SELECT d.worker_id FROM worker_duty d WHERE d.worker_id = w.id LIMIT 1
) roster ON true
LEFT JOIN LATERAL (
    SELECT d.worker_id FROM worker_duty d
    WHERE d.worker_id = w.id AND d.starts_at <= %(at)s AND d.ends_at > %(at)s LIMIT 1
) period ON true
WHERE w.active
ORDER BY rank
"""
_WORKERS_ON_LISTED_UNITS = WORKERS_ON_UNITS_SQL.format(
    units="SELECT * FROM unnest(%(unit_levels)s::text[], %(unit_codes)s::text[])"
)


def group_by_unit(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Rows of WORKERS_ON_UNITS_SQL by (level, code), in their order."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault((row["unit_level"], row["unit_code"]), []).append(row)
    return found


def workers_on_units(
    conn: psycopg.Connection, units: list[tuple[str, str]], *, at: Any
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Current assignments of the given (level, code) units (WORKERS_ON_UNITS_SQL)."""
    if not units:
        return {}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _WORKERS_ON_LISTED_UNITS,
            {"at": at, "unit_levels": [u[0] for u in units], "unit_codes": [u[1] for u in units]},
        ).fetchall()
    return group_by_unit(rows)
