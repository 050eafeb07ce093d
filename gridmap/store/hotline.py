"""Bulk writes of a hotline import: the import's record, its routes (each one routing
decision and first event shared by the issues filed alike, migration 0012) and deadline sets
(shared by the issues of one category filed on one day, migration 0016), the issues and
their placements, each table in one COPY of its final rows, and the rejected rows.

The issue and placement ids are taken from their sequences up front (``reserve_ids``), so
every row (route, issue, placement, placement unit) is known before anything is written and
each table is filled by one CSV COPY straight into it: no staging table, no
``INSERT ... SELECT`` joining it back, no ``RETURNING``. COPY writes the given values into
the identity columns (as ``INSERT ... OVERRIDING SYSTEM VALUE`` would).

A route and a deadline set are shared by many rows (one per unit x category x state, one
per category x filing day) and numbered across the import's batches: each is turned into
JSON text and written once, by the first batch that has it, and the rows name it by number,
so no per-row Python work is left here either.

COPY has no ``ON CONFLICT``: the caller holds ``lock_source`` and leaves out the ids
``known_external_ids`` finds, so a second import of the same file (even a concurrent one,
which waits for the first) adds nothing; a row that another path (an API client reporting
with the same external id) stores meanwhile makes the COPY fail on the unique index, and the
whole import is refused with ``AmbiguousError`` (409) and rolled back."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from gridmap.errors import AmbiguousError
from gridmap.geo.geometry import POINT_EWKB_HEX_WIDTH, point_ewkb_hex
from gridmap.store.db import arrow_table, copy_data, copy_rows, csv_data, json_text

LOGGER = logging.getLogger(__name__)

# what each new issue brings of its own; the rest comes from its decision and deadline set
ROW_SCHEMA = pa.schema(
    [
        ("external_id", pa.string()),
        ("category_code", pa.string()),
        ("severity", pa.string()),
        ("reported_at", pa.timestamp("us", tz="UTC")),
        ("due_at", pa.timestamp("us", tz="UTC")),
        ("deadline_set", pa.int32()),
        ("lon", pa.float64()),  # WGS84
        ("lat", pa.float64()),
        ("input_lon", pa.float64()),  # as the export gives them, in IssueBatch.coord_type
        ("input_lat", pa.float64()),
        ("address", pa.string()),
        ("description", pa.string()),
        ("edge_distance_m", pa.float64()),
        ("route", pa.int32()),
        ("closed_at", pa.timestamp("us", tz="UTC")),
    ]
)
_DECISION_SCHEMA = pa.schema(
    [
        ("generation", pa.int32()),
        ("unit_level", pa.string()),
        ("unit_code", pa.string()),
        ("target_kind", pa.string()),
        ("worker_id", pa.int32()),
        ("department_code", pa.string()),
        ("needs_confirmation", pa.bool_()),
    ]
)


@dataclass
class IssueBatch:
    """New issues of one import: ``rows`` (ROW_SCHEMA's columns, one per issue), each with its
    route (its decision's number in ``decisions`` x 2, + 1 if filed closed) and deadline set
    (a number); the routes and deadline sets (number, JSON) that no earlier batch of the
    import wrote."""

    rows: pd.DataFrame
    decisions: Sequence[dict[str, Any]]  # the import's, by number
    new_routes: np.ndarray
    new_deadline_sets: Sequence[tuple[int, str]]
    set_name: str
    source: str
    generation: int | None
    import_id: int
    coord_type: str = "wgs84"  # of the export's coordinates (rows' input_lon, input_lat)


def start_import(
    conn: psycopg.Connection, *, source: str, file_name: str, file_sha256: str, actor: str
) -> int:
    """Record an import's start (inside its transaction); returns its id."""
    row = conn.execute(
        """
        INSERT INTO issue_import (source, file_name, file_sha256, actor)
        VALUES (%s, %s, %s, %s) RETURNING id
        """,
        (source, file_name, file_sha256, actor),
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish_import(
    conn: psycopg.Connection,
    import_id: int,
    *,
    rows: int,
    imported: int,
    already_imported: int,
    rejected: dict[str, int],
    targets: dict[str, int],
) -> None:
    conn.execute(
        """
        UPDATE issue_import SET finished_at = clock_timestamp(), rows = %s, imported = %s,
            already_imported = %s, rejected = %s, targets = %s
        WHERE id = %s
        """,
        (
            rows,
            imported,
            already_imported,
            Jsonb(rejected),
            Jsonb(targets),
            import_id,
        ),
    )


def imports(conn: psycopg.Connection, *, limit: int) -> list[dict[str, Any]]:
    """The latest ``limit`` imports, newest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT id, source, file_name, file_sha256, actor, started_at, finished_at, rows,
                   imported, already_imported, rejected, targets
            FROM issue_import ORDER BY started_at DESC, id DESC LIMIT %s
            """,
            (limit,),
        ).fetchall()


def check_references_per_statement(conn: psycopg.Connection) -> None:
    """Until the end of the transaction, the issue rows' references (category, worker,
    department) are checked once per statement, set-based, instead of once per row
    (migration 0013): a COPY of 20,000 issues checks their few hundred distinct references
    together. The check reads the statement's rows from a transition table (about 9 MB for
    20,000 issues): with the default 4 MB of work_mem it went to disk, 40 ms more per batch
    (median of six)."""
    conn.execute("SET LOCAL gridmap.reference_checks = 'per_statement'")
    conn.execute("SET LOCAL work_mem = '64MB'")


def lock_source(conn: psycopg.Connection, source: str) -> None:
    """Imports from one source take turns until the end of the transaction: the second one
    then finds the first one's rows already there instead of clashing with them."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"gridmap.import:{source}",)
    )


def known_external_ids(conn: psycopg.Connection, source: str, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` already imported from ``source`` (one indexed probe per id).

    The ids travel as one text split by the server: psycopg adapting a list of 100,000
    strings to an array takes ~0.2 s. Ids holding a line break go as an array."""
    values: str | list[str]
    if "\n" not in "".join(ids):
        values, split = "\n".join(ids), "string_to_array(%(ids)s, E'\\n')"
    else:
        values, split = list(ids), "%(ids)s::text[]"
    rows = conn.execute(
        psycopg.sql.SQL(
            """
            SELECT i.external_id
            FROM unnest({}) AS u(id)
            JOIN issue i ON i.external_source = %(source)s AND i.external_id = u.id
            """
        ).format(psycopg.sql.SQL(split)),
        {"ids": values, "source": source},
    ).fetchall()
    return {r[0] for r in rows}


def reserve_ids(conn: psycopg.Connection, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` new issue ids and ``n`` new placement ids, ascending, from the tables' own
    sequences (so intake, which takes its ids there too, never collides with them)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    row = conn.execute(
        """
        WITH s AS MATERIALIZED (
            SELECT pg_get_serial_sequence('issue', 'id')::regclass AS issue_seq,
                   pg_get_serial_sequence('placement', 'id')::regclass AS placement_seq
        )
        SELECT array_agg(nextval(s.issue_seq)), array_agg(nextval(s.placement_seq))
        FROM s, generate_series(1, %s)
        """,
        (n,),
    ).fetchone()
    assert row is not None
    return np.sort(np.array(row[0], dtype=np.int64)), np.sort(np.array(row[1], dtype=np.int64))


def _geometry_hex(lon: np.ndarray, lat: np.ndarray) -> pa.Array:
    """Points as hex EWKB in an Arrow string column (the text COPY of a geometry column reads
    it as it is), without a Python string per point."""
    n = len(lon)
    offsets = np.arange(n + 1, dtype=np.int32) * POINT_EWKB_HEX_WIDTH
    text = point_ewkb_hex(lon, lat)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))


def _constant(value: Any, n: int, type_: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), n) if value is not None else pa.nulls(n, type_)


@dataclass
class CopyData:
    """One table's rows, ready to be sent: the COPY statement and its CSV text."""

    table: str
    statement: psycopg.sql.Composed
    data: memoryview


def issue_tables(
    batch: IssueBatch, issue_ids: np.ndarray, placement_ids: np.ndarray
) -> list[CopyData]:
    """The batch's rows of every table, as CSV for COPY, under the given ids (``reserve_ids``,
    one per row): its new routes and deadline sets, its issues pointing to them, and one
    placement (with its unit in the batch's generation) each. Needs no connection: it is
    prepared while the previous batch is being written."""
    rows = arrow_table(batch.rows, ROW_SCHEMA)
    n = rows.num_rows
    if n == 0:
        return []
    assert len(issue_ids) == len(placement_ids) == n
    issue_id, placement_id = pa.array(issue_ids), pa.array(placement_ids)
    route = rows["route"].to_numpy()
    # the decisions this batch's rows use (the import's so far are many more), as a table in
    # the order of their numbers; ``used`` maps a number to its row there
    used = np.unique(route // 2)
    decisions = pa.Table.from_pylist(
        [{c: batch.decisions[d][c] for c in _DECISION_SCHEMA.names} for d in used.tolist()],
        schema=_DECISION_SCHEMA,
    )
    on_route = decisions.take(pa.array(np.searchsorted(used, route // 2)))
    route_state = _route_state(on_route["target_kind"], route % 2 == 1)
    new_routes = np.asarray(batch.new_routes, dtype=np.int64)
    new_decisions = new_routes // 2  # each among the batch's own
    new_rows = pa.array(np.searchsorted(used, new_decisions))
    route_table = pa.table(
        {
            "import_id": _constant(batch.import_id, len(new_routes), pa.int64()),
            "route": pa.array(new_routes, pa.int32()),
            "to_state": _route_state(decisions["target_kind"].take(new_rows), new_routes % 2 == 1),
            **{c: decisions[c].take(new_rows) for c in decisions.column_names},
            "steps": pa.array(
                [json_text(batch.decisions[d]["steps"]) for d in new_decisions.tolist()],
                pa.string(),
            ),
        }
    )
    deadline_table = pa.table(
        {
            "import_id": _constant(batch.import_id, len(batch.new_deadline_sets), pa.int64()),
            "deadline_set": pa.array([k for k, _ in batch.new_deadline_sets], pa.int32()),
            "deadlines": pa.array([d for _, d in batch.new_deadline_sets], pa.string()),
        }
    )
    issues = pa.table(
        {
            "id": issue_id,
            "set_name": _constant(batch.set_name, n, pa.string()),
            "category_code": rows["category_code"],
            "description": pc.fill_null(rows["description"], ""),
            "channel": _constant("import", n, pa.string()),
            "geom": _geometry_hex(
                rows["lon"].to_numpy(zero_copy_only=False),
                rows["lat"].to_numpy(zero_copy_only=False),
            ),
            "input_lon": rows["input_lon"],
            "input_lat": rows["input_lat"],
            "input_coord_type": _constant(batch.coord_type, n, pa.string()),
            "address": rows["address"],
            "external_source": _constant(batch.source, n, pa.string()),
            "external_id": rows["external_id"],
            "state": route_state,
            "severity": rows["severity"],
            "reported_at": rows["reported_at"],
            "due_at": rows["due_at"],
            "deadlines": pa.nulls(n, pa.string()),  # in the import's deadline set
            **{c: on_route[c] for c in ("generation", "unit_level", "unit_code")},
            "edge_distance_m": rows["edge_distance_m"],
            **{
                c: on_route[c]
                for c in ("target_kind", "worker_id", "department_code", "needs_confirmation")
            },
            "closed_at": rows["closed_at"],
            "import_id": _constant(batch.import_id, n, pa.int64()),
            "import_route": rows["route"],
            "import_deadline_set": rows["deadline_set"],
        }
    )
    placements = pa.table(
        {
            "id": placement_id,
            "subject": _constant("issue", n, pa.string()),
            "subject_id": issue_id,
            "lon": rows["lon"],
            "lat": rows["lat"],
        }
    )
    units = pa.table(
        {
            "generation": _constant(batch.generation, n, pa.int32()),
            "placement_id": placement_id,
            "unit_level": on_route["unit_level"],
            "unit_code": on_route["unit_code"],
        }
    ).filter(pc.is_valid(on_route["unit_code"]))
    if batch.generation is None:
        units = units.slice(0, 0)
    tables = {
        "issue_import_route": route_table,
        "issue_import_deadlines": deadline_table,
        "issue": issues,
        "placement": placements,
        "placement_unit": units,
    }
    copies = [
        CopyData(name, copy_statement(name, table.column_names), csv_data(table))
        for name, table in tables.items()
        if table.num_rows
    ]
    return copies


def _route_state(target_kind: pa.Array, closed: np.ndarray) -> pa.Array:
    """The state a route files its issues in: closed in the exporting system is closed here
    too (with its own closing time), else triage or dispatched as the decision says."""
    return pc.if_else(
        pa.array(closed),
        "closed",
        pc.if_else(pc.equal(target_kind, "triage"), "triage", "dispatched"),
    )


def copy_statement(table: str, columns: Sequence[str]) -> psycopg.sql.Composed:
    return psycopg.sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        psycopg.sql.Identifier(table),
        psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(c) for c in columns),
    )


def store_issues(conn: psycopg.Connection, tables: Sequence[CopyData], *, source: str) -> None:
    """Write one batch's tables (``issue_tables``), issues first. A unique clash (an id
    stored meanwhile by another client) refuses the whole import."""
    try:
        for table in tables:
            copy_table(conn, table)
    except psycopg.errors.UniqueViolation as exc:
        LOGGER.info("import from %s clashed: %s", source, exc.diag.message_detail)
        raise AmbiguousError(
            "import_clash", source=source, detail=exc.diag.message_detail or ""
        ) from exc


def copy_table(conn: psycopg.Connection, table: CopyData) -> None:
    copy_data(conn, table.statement, table.data)


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
