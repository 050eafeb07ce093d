"""Facility sets and coverage runs (parameters, state, bands, per-unit table, node times)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridmap.errors import DatabaseError, InputError, NotFoundError
from gridmap.store.db import copy_rows, json_text
from gridmap.store.units import IN_GENERATION

LOGGER = logging.getLogger(__name__)


# --- facility sets ---------------------------------------------------------------------------


def create_facility_set(
    conn: psycopg.Connection, *, name: str, source: str, rows: Iterable[tuple[Any, ...]]
) -> int:
    """A new named set and its facilities: rows are (feature, ref, name, type, hex EWKB, props)."""
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO facility_set (name, source) VALUES (%s, %s) RETURNING id",
                (name, source),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise InputError("facility_set_exists", name=name) from exc
    except psycopg.errors.UndefinedTable as exc:
        raise DatabaseError("db_not_migrated", table="facility_set") from exc
    assert row is not None
    set_id = int(row[0])
    with conn.cursor().copy(
        "COPY facility (set_id, feature, ref, name, type, geom, properties) FROM STDIN"
    ) as copy:
        for feature, ref, fname, ftype, wkb_hex, props in rows:
            copy.write_row((set_id, feature, ref, fname, ftype, wkb_hex, json_text(props)))
    return set_id


def load_facilities(conn: psycopg.Connection, name: str) -> tuple[int, list[tuple[Any, ...]]]:
    """(set id, rows of (id, feature, ref, name, type, lon, lat)) of the named set."""
    found = conn.execute("SELECT id FROM facility_set WHERE name = %s", (name,)).fetchone()
    if found is None:
        raise NotFoundError("facility_set_unknown", name=name)
    rows = conn.execute(
        """
        SELECT id, feature, ref, name, type, ST_X(geom), ST_Y(geom) FROM facility
        WHERE set_id = %s ORDER BY feature
        """,
        (found[0],),
    ).fetchall()
    return int(found[0]), rows


def list_facility_sets(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT s.id, s.name, s.source, s.created_at, count(f.id) AS facilities
            FROM facility_set s LEFT JOIN facility f ON f.set_id = s.id
            GROUP BY s.id ORDER BY s.id
            """
        ).fetchall()


# --- units -----------------------------------------------------------------------------------


def unit_areas(conn: psycopg.Connection, generation: int) -> list[tuple[str, str, float]]:
    """(level, code, area on the spheroid in m2) of every unit of the generation."""
    rows = conn.execute(
        f"SELECT u.level, u.code, u.area_m2 FROM admin_unit u WHERE {IN_GENERATION}",
        {"gen": generation},
    ).fetchall()
    return [(lv, code, float(area)) for lv, code, area in rows]


# --- runs ------------------------------------------------------------------------------------


def create_run(
    conn: psycopg.Connection,
    *,
    network_id: int,
    facility_set_id: int | None,
    generation: int | None,
    minutes: Sequence[int],
    parameters: dict[str, Any],
) -> int:
    row = conn.execute(
        """
        INSERT INTO coverage_run (network_id, facility_set_id, generation, minutes, parameters,
                                  state, stage)
        VALUES (%s, %s, %s, %s, %s, 'running', 'start') RETURNING id
        """,
        (
            network_id,
            facility_set_id,
            generation,
            list(minutes),
            json_text(parameters),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def set_progress(conn: psycopg.Connection, run_id: int, *, progress: float, stage: str) -> None:
    conn.execute(
        "UPDATE coverage_run SET progress = %s, stage = %s WHERE id = %s",
        (min(max(progress, 0.0), 1.0), stage, run_id),
    )


def finish_run(conn: psycopg.Connection, run_id: int, *, summary: dict[str, Any]) -> None:
    conn.execute(
        """
        UPDATE coverage_run SET state = 'done', progress = 1, stage = 'done', summary = %s,
                                finished_at = now()
        WHERE id = %s
        """,
        (json_text(summary), run_id),
    )


def fail_run(conn: psycopg.Connection, run_id: int, *, error: str) -> None:
    conn.execute(
        """
        UPDATE coverage_run SET state = 'failed', error = %s, finished_at = now() WHERE id = %s
        """,
        (error, run_id),
    )


def save_run_facilities(
    conn: psycopg.Connection, run_id: int, rows: Iterable[tuple[Any, ...]]
) -> None:
    """rows: (facility_id or None, name, type, hex EWKB point, snapped, access_m or None)."""
    copy_rows(
        conn,
        "coverage_run_facility",
        ["facility_id", "name", "type", "geom", "snapped", "access_m"],
        rows,
        prefix={"run_id": run_id},
    )


def save_bands(conn: psycopg.Connection, run_id: int, rows: Iterable[tuple[Any, ...]]) -> None:
    """rows: (minutes, kind, area_m2, hex EWKB multipolygon)."""
    copy_rows(
        conn,
        "coverage_band",
        ["minutes", "kind", "area_m2", "geom"],
        rows,
        prefix={"run_id": run_id},
    )


def save_units(
    conn: psycopg.Connection,
    run_id: int,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
) -> None:
    """The per-unit coverage table; ``columns`` name the values of each row (the analysis
    layer's UNIT_COLUMNS, so the column list is written once)."""
    copy_rows(conn, "coverage_unit", columns, rows, prefix={"run_id": run_id})


def save_node_times(
    conn: psycopg.Connection, run_id: int, rows: Iterable[tuple[int, float | None]]
) -> None:
    copy_rows(conn, "coverage_node_time", ["node_idx", "minutes"], rows, prefix={"run_id": run_id})


def get_run(conn: psycopg.Connection, run_id: int) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        try:
            row = cur.execute(
                """
                SELECT r.*, n.name AS network, s.name AS facility_set
                FROM coverage_run r JOIN network n ON n.id = r.network_id
                LEFT JOIN facility_set s ON s.id = r.facility_set_id
                WHERE r.id = %s
                """,
                (run_id,),
            ).fetchone()
        except psycopg.errors.UndefinedTable as exc:
            raise DatabaseError("db_not_migrated", table="coverage_run") from exc
    if row is None:
        raise NotFoundError("run_unknown", run=run_id)
    return row


def list_runs(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT r.id, r.created_at, r.state, r.progress, r.minutes, n.name AS network,
                   s.name AS facility_set, r.summary
            FROM coverage_run r JOIN network n ON n.id = r.network_id
            LEFT JOIN facility_set s ON s.id = r.facility_set_id ORDER BY r.id
            """
        ).fetchall()


def run_facilities(conn: psycopg.Connection, run_id: int) -> list[tuple[Any, ...]]:
    """(facility_id, name, type, lon, lat, snapped, access_m) of the run, in stored order."""
    return conn.execute(
        """
        SELECT facility_id, name, type, ST_X(geom), ST_Y(geom), snapped, access_m
        FROM coverage_run_facility WHERE run_id = %s ORDER BY ctid
        """,
        (run_id,),
    ).fetchall()


def run_bands(conn: psycopg.Connection, run_id: int) -> list[tuple[int, str, float, bytes]]:
    rows = conn.execute(
        """
        SELECT minutes, kind, area_m2, ST_AsBinary(geom) FROM coverage_band
        WHERE run_id = %s ORDER BY kind, minutes
        """,
        (run_id,),
    ).fetchall()
    return [(int(m), k, float(a), bytes(g)) for m, k, a, g in rows]


def run_units(conn: psycopg.Connection, run_id: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT level, code, name, minutes, area_m2, covered_area_m2, buildings,
                   covered_buildings, population, covered_population
            FROM coverage_unit WHERE run_id = %s ORDER BY level, code, minutes
            """,
            (run_id,),
        ).fetchall()


def run_node_times(conn: psycopg.Connection, run_id: int) -> list[tuple[Any, ...]]:
    """(osm_node_id, lon, lat, minutes) for every node of the run's network."""
    return conn.execute(
        """
        SELECT n.osm_id, ST_X(n.geom), ST_Y(n.geom), t.minutes
        FROM coverage_node_time t
        JOIN coverage_run r ON r.id = t.run_id
        JOIN network_node n ON n.network_id = r.network_id AND n.idx = t.node_idx
        WHERE t.run_id = %s ORDER BY t.node_idx
        """,
        (run_id,),
    ).fetchall()
