"""Boundary generations, admin units and their subdivided lookup copy."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from gridmap.errors import DatabaseError, NotFoundError
from gridmap.store.db import json_text

LOGGER = logging.getLogger(__name__)

# Rows valid in generation %(gen)s. Every query that reads units goes through this predicate.
IN_GENERATION = "u.generation_low <= %(gen)s AND u.generation_high >= %(gen)s"


@dataclass(frozen=True)
class NewUnits:
    """One level's units ready for the database, as index-aligned columns: geometries as
    EWKB with SRID 4326 (see ``geo.geometry.ewkb``), areas measured by the import checks, and
    the subdivided lookup pieces with the index of the unit each belongs to."""

    codes: Sequence[str]
    names: Sequence[str]
    parent_level: str | None  # of every unit that has a parent code
    parent_codes: Sequence[str | None]
    geoms_ewkb: Sequence[bytes]
    areas_m2: Sequence[float]
    properties: Sequence[dict[str, Any]]
    part_units: Sequence[int]
    parts_ewkb: Sequence[bytes]


# --- generations -----------------------------------------------------------------------------


def active_generation(conn: psycopg.Connection) -> int | None:
    try:
        row = conn.execute("SELECT id FROM boundary_generation WHERE active").fetchone()
    except psycopg.errors.UndefinedTable as exc:
        raise DatabaseError("db_not_migrated", table="boundary_generation") from exc
    return row[0] if row else None


def create_generation(conn: psycopg.Connection, *, description: str) -> int:
    row = conn.execute(
        "INSERT INTO boundary_generation (description) VALUES (%s) RETURNING id", (description,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def save_generation_report(conn: psycopg.Connection, generation: int, report: dict) -> None:
    conn.execute(
        "UPDATE boundary_generation SET report = %s WHERE id = %s",
        (json_text(report), generation),
    )


def activate_generation(
    conn: psycopg.Connection, generation: int, *, kind: str = "activate"
) -> int | None:
    """Make ``generation`` the only active one, in the caller's transaction (atomic switch),
    and log it; returns the generation that was active before."""
    # lock every generation row: two concurrent activations serialise here
    rows = conn.execute(
        "SELECT id, active FROM boundary_generation ORDER BY id FOR UPDATE"
    ).fetchall()
    if generation not in {r[0] for r in rows}:
        raise NotFoundError("generation_unknown", generation=generation)
    previous = next((r[0] for r in rows if r[1]), None)
    conn.execute(
        "INSERT INTO generation_activation (generation_id, previous_id, kind) VALUES (%s, %s, %s)",
        (generation, previous, kind),
    )
    conn.execute(
        "UPDATE boundary_generation SET active = false WHERE active AND id <> %s", (generation,)
    )
    conn.execute(
        "UPDATE boundary_generation SET active = true, activated_at = now() WHERE id = %s",
        (generation,),
    )
    return previous


def generation_before_active(conn: psycopg.Connection) -> int | None:
    """The generation that was active before the current one (what a rollback returns to)."""
    row = conn.execute(
        """
        SELECT a.previous_id FROM generation_activation a
        JOIN boundary_generation g ON g.id = a.generation_id AND g.active
        ORDER BY a.id DESC LIMIT 1
        """
    ).fetchone()
    return row[0] if row else None


def generation_report(conn: psycopg.Connection, generation: int) -> dict[str, Any]:
    row = conn.execute(
        "SELECT report, active FROM boundary_generation WHERE id = %s", (generation,)
    ).fetchone()
    if row is None:
        raise NotFoundError("generation_unknown", generation=generation)
    return {**row[0], "active_now": row[1]}


def level_diff(
    conn: psycopg.Connection, *, base: int, new: int, level: str
) -> list[tuple[str, str, float | None, float | None, bool, bool]]:
    """Per code of ``level``: (code, name, old area, new area, geometry changed, renamed)
    for units added, removed or changed between two generations."""
    return conn.execute(
        """
        WITH b AS (SELECT code, name, geom, area_m2 FROM admin_unit
                   WHERE generation_low <= %(base)s AND generation_high >= %(base)s
                     AND level = %(level)s),
             n AS (SELECT code, name, geom, area_m2 FROM admin_unit
                   WHERE generation_low <= %(new)s AND generation_high >= %(new)s
                     AND level = %(level)s)
        SELECT coalesce(n.code, b.code), coalesce(n.name, b.name), b.area_m2, n.area_m2,
               -- exact vertex equality first: cheap, and true for unchanged re-imports
               b.geom IS NOT NULL AND n.geom IS NOT NULL
                   AND NOT (ST_OrderingEquals(b.geom, n.geom) OR ST_Equals(b.geom, n.geom)),
               b.name IS DISTINCT FROM n.name AND b.name IS NOT NULL AND n.name IS NOT NULL
        FROM b FULL JOIN n ON n.code = b.code
        WHERE b.code IS NULL OR n.code IS NULL OR b.name <> n.name
           OR NOT (ST_OrderingEquals(b.geom, n.geom) OR ST_Equals(b.geom, n.geom))
        ORDER BY 1
        """,
        {"base": base, "new": new, "level": level},
    ).fetchall()


def list_generations(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT g.id, g.created_at, g.activated_at, g.active, g.description,
                   (SELECT count(*) FROM admin_unit u WHERE u.generation_low <= g.id
                       AND u.generation_high >= g.id) AS units
            FROM boundary_generation g ORDER BY g.id
            """
        ).fetchall()


def carry_over_units(conn: psycopg.Connection, *, base: int, new: int, except_level: str) -> None:
    """Make every unit of generation ``base`` (but ``except_level``) valid in ``new`` too.

    A row whose range ends just before ``new`` is extended; a row that ended earlier (the
    base is not the newest generation, e.g. after a rollback) is copied, so that extending it
    never makes it appear in the generations in between.
    """
    params = {"gen": base, "new": new, "level": except_level}
    conn.execute(
        f"""
        UPDATE admin_unit u SET generation_high = %(new)s
        WHERE {IN_GENERATION} AND u.level <> %(level)s AND u.generation_high = %(new)s - 1
        """,
        params,
    )
    copied = conn.execute(
        f"""
        WITH src AS (
            SELECT u.* FROM admin_unit u
            WHERE {IN_GENERATION} AND u.level <> %(level)s AND u.generation_high < %(new)s
        ), ins AS (
            INSERT INTO admin_unit (level, code, name, parent_level, parent_code, geom, area_m2,
                                    generation_low, generation_high, properties)
            SELECT level, code, name, parent_level, parent_code, geom, area_m2,
                   %(new)s, %(new)s, properties FROM src
            RETURNING id, level, code
        )
        INSERT INTO admin_unit_part (unit_id, geom)
        SELECT ins.id, p.geom FROM ins
        JOIN src ON src.level = ins.level AND src.code = ins.code
        JOIN admin_unit_part p ON p.unit_id = src.id
        """,
        params,
    )
    LOGGER.debug("carried over units into generation %s (%s parts copied)", new, copied.rowcount)


def level_counts(conn: psycopg.Connection, generation: int) -> dict[str, int]:
    rows = conn.execute(
        f"SELECT u.level, count(*) FROM admin_unit u WHERE {IN_GENERATION} GROUP BY u.level",
        {"gen": generation},
    ).fetchall()
    return {level: int(n) for level, n in rows}


# --- import -----------------------------------------------------------------------------------


def _properties_json(value: dict[str, Any]) -> Jsonb:
    return Jsonb(value, dumps=json_text)


def insert_units(conn: psycopg.Connection, *, generation: int, level: str, units: NewUnits) -> int:
    """Write a level's units into ``generation`` and their lookup pieces: two binary COPYs.

    Everything was computed by the caller (parents, checks, areas, pieces), so the rows go
    straight into their tables, with no temporary table and no geometry work in SQL. The
    unit ids are drawn from the identity sequence first, so the pieces can name their unit
    in the same pass (COPY writes given identity values).
    """
    count = len(units.codes)
    if count == 0:
        return 0
    ids = [
        int(r[0])
        for r in conn.execute(
            "SELECT nextval(pg_get_serial_sequence('admin_unit', 'id')) "
            "FROM generate_series(1, %s)",
            (count,),
        )
    ]
    with conn.cursor().copy(
        """
        COPY admin_unit (id, level, code, name, parent_level, parent_code, geom, area_m2,
                         generation_low, generation_high, properties) FROM STDIN (FORMAT BINARY)
        """
    ) as copy:
        # geometry travels as EWKB bytes: PostGIS's binary input for geometry
        copy.set_types(
            [
                *("int8", "text", "text", "text", "text", "text", "bytea"),
                *("float8", "int4", "int4", "jsonb"),
            ]
        )
        for i in range(count):
            parent = units.parent_codes[i]
            copy.write_row(
                (
                    ids[i],
                    level,
                    units.codes[i],
                    units.names[i],
                    units.parent_level if parent is not None else None,
                    parent,
                    units.geoms_ewkb[i],
                    float(units.areas_m2[i]),
                    generation,
                    generation,
                    _properties_json(units.properties[i]),
                )
            )
    with conn.cursor().copy(
        "COPY admin_unit_part (unit_id, geom) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "bytea"])
        for unit, piece in zip(units.part_units, units.parts_ewkb, strict=True):
            copy.write_row((ids[unit], piece))
    conn.execute("ANALYZE admin_unit_part")
    return count


# --- lookups ---------------------------------------------------------------------------------


def levels_text(levels: Sequence[str]) -> str:
    """LOCATE_CTES's %(levels)s: the level names top first, comma-separated (a name is an
    identifier, levels.Hierarchy.parse). One text, not an array parameter: psycopg adapts a
    list element by element in Python, on every intake request (benchmarks/intake.py)."""
    return ",".join(levels)


# Locate: the deepest unit whose lookup piece covers the point, then its ancestors by parent
# reference, in one statement (one round trip; p99 well under a millisecond on cells).
# ST_Covers, not ST_Contains: a point on a shared edge must still match. Ties (a point on the
# edge between two cells) go to the lowest code, so the same point always lands in the same cell.
# The CTEs (pt, hit, chain) and the edge distance are shared with intake's one-statement read
# (store.intake), which adds its own CTEs to the same WITH RECURSIVE.
LOCATE_CTES = f"""
pt AS (
    SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS geom
), hit AS (
    SELECT u.id, u.level, u.code, u.name, u.parent_level, u.parent_code, u.geom
    FROM admin_unit_part p JOIN admin_unit u ON u.id = p.unit_id, pt
    WHERE ST_Covers(p.geom, pt.geom) AND {IN_GENERATION}
    ORDER BY array_position(string_to_array(%(levels)s, ','), u.level) DESC NULLS LAST, u.code
    LIMIT 1
), chain AS (
    SELECT 0 AS depth, level, code, name, parent_level, parent_code FROM hit
    UNION ALL
    SELECT c.depth + 1, u.level, u.code, u.name, u.parent_level, u.parent_code
    FROM chain c JOIN admin_unit u ON u.level = c.parent_level AND u.code = c.parent_code
    WHERE {IN_GENERATION} AND c.depth < 32
)"""
# Distance to the unit's own boundary (not the lookup pieces' cut lines), on the spheroid.
# The spheroid distance to a whole boundary costs its vertex count in trigonometry: ~25 us for a
# cell, ~0.8 ms at p50 and 8 ms at p99 for the Los Angeles councils (hundreds to 9,000
# vertices), on every intake. So a boundary of more than 256 points is first measured in plane
# degrees (d, cheap), and only its part within a box of half-width r around the point goes to
# the spheroid. The box holds every boundary point that can be nearer on the spheroid than the
# plane-nearest one: a degree of longitude shrinks by cos(latitude) (taken at the box's far
# edge: lat + 10 d bounds it below 84 degrees), and 1.02 covers the spheroid's radii (< 0.7 %)
# and great-circle edges. Checked against the whole-boundary distance on 1,500 LA points: the
# same within 0.1 m (clipping moves a vertex onto the box), p50 0.8 -> 0.43 ms, p99 8 -> 1.3 ms.
# OFFSET 0 keeps ST_Boundary computed once, not once per use.
EDGE_DISTANCE_SQL = """
(SELECT ST_Distance((CASE WHEN e.d IS NULL THEN e.line ELSE ST_ClipByBox2D(e.line,
ST_Expand(pt.geom, 1.02 * e.d / cos(radians(least(abs(ST_Y(pt.geom)) + 10 * e.d, 84))) + 1e-9))
END)::geography, pt.geom::geography)
FROM hit, pt, LATERAL (SELECT b.line, CASE WHEN ST_NPoints(b.line) > 256
THEN ST_Distance(b.line, pt.geom) END AS d
FROM (SELECT ST_Boundary(hit.geom) AS line OFFSET 0) b OFFSET 0) e)"""
LOCATE_SQL = f"""
WITH RECURSIVE {LOCATE_CTES}
SELECT c.level, c.code, c.name, {EDGE_DISTANCE_SQL} AS edge_distance_m
FROM chain c ORDER BY c.depth DESC
"""


def locate_point(
    conn: psycopg.Connection, lon: float, lat: float, *, levels: Sequence[str], generation: int
) -> tuple[list[dict[str, str]], float | None]:
    """The chain of units (top first) containing the point, and its distance to the edge."""
    rows = conn.execute(
        LOCATE_SQL, {"lon": lon, "lat": lat, "levels": levels_text(levels), "gen": generation}
    ).fetchall()
    chain = [{"level": lv, "code": code, "name": name} for lv, code, name, _ in rows]
    edge = float(rows[0][3]) if rows else None
    return chain, edge


def get_unit(
    conn: psycopg.Connection, code: str, *, generation: int, level: str | None = None
) -> list[dict[str, Any]]:
    """Every unit with ``code`` (one per level at most) with its GeoJSON geometry."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"""
            SELECT u.id, u.level, u.code, u.name, u.parent_level, u.parent_code, u.area_m2,
                   u.properties, u.generation_low, u.generation_high,
                   ST_AsGeoJSON(u.geom, 7)::json AS geometry,
                   ARRAY[ST_XMin(u.geom), ST_YMin(u.geom), ST_XMax(u.geom), ST_YMax(u.geom)]
                       AS bbox
            FROM admin_unit u
            WHERE {IN_GENERATION} AND u.code = %(code)s
              AND (%(level)s::text IS NULL OR u.level = %(level)s)
            """,
            {"gen": generation, "code": code, "level": level},
        ).fetchall()


def unit_ancestors(
    conn: psycopg.Connection, *, level: str, code: str, generation: int
) -> list[dict[str, str]]:
    """The chain from the top down to (and including) the given unit."""
    rows = conn.execute(
        f"""
        WITH RECURSIVE chain AS (
            SELECT 0 AS depth, u.level, u.code, u.name, u.parent_level, u.parent_code
            FROM admin_unit u WHERE {IN_GENERATION} AND u.level = %(level)s AND u.code = %(code)s
            UNION ALL
            SELECT c.depth + 1, u.level, u.code, u.name, u.parent_level, u.parent_code
            FROM chain c JOIN admin_unit u ON u.level = c.parent_level AND u.code = c.parent_code
            WHERE {IN_GENERATION} AND c.depth < 32
        ) SELECT level, code, name FROM chain ORDER BY depth DESC
        """,
        {"gen": generation, "level": level, "code": code},
    ).fetchall()
    return [{"level": lv, "code": c, "name": n} for lv, c, n in rows]


def _feature_collection(conn: psycopg.Connection, where: str, params: dict[str, Any]) -> dict:
    """A GeoJSON FeatureCollection built inside PostGIS (no per-row Python work)."""
    row = conn.execute(
        f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
            COALESCE(json_agg(json_build_object(
                'type', 'Feature',
                'id', u.code,
                'geometry', ST_AsGeoJSON(
                    CASE WHEN %(tolerance_deg)s > 0
                         THEN ST_SimplifyPreserveTopology(u.geom, %(tolerance_deg)s)
                         ELSE u.geom END, 6)::json,
                'properties', json_build_object(
                    'level', u.level, 'code', u.code, 'name', u.name,
                    'parent_level', u.parent_level, 'parent_code', u.parent_code,
                    'area_m2', round(u.area_m2::numeric, 1))
            ) ORDER BY u.code), '[]'::json))
        FROM admin_unit u WHERE {IN_GENERATION} AND {where}
        """,
        params,
    ).fetchone()
    assert row is not None
    return dict(row[0])


def units_geojson(
    conn: psycopg.Connection,
    *,
    generation: int,
    level: str | None,
    bbox: tuple[float, float, float, float] | None,
    tolerance_deg: float,
) -> dict:
    """Units of a level (or all) whose geometry meets ``bbox`` (lon/lat), simplified."""
    where = "(%(level)s::text IS NULL OR u.level = %(level)s)"
    params: dict[str, Any] = {"gen": generation, "level": level, "tolerance_deg": tolerance_deg}
    if bbox is not None:
        # && uses the GiST index on admin_unit.geom; the envelope test is enough for display.
        where += " AND u.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"
        params.update(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    return _feature_collection(conn, where, params)


def children_geojson(
    conn: psycopg.Connection, *, generation: int, level: str, code: str, tolerance_deg: float
) -> dict:
    return _feature_collection(
        conn,
        "u.parent_level = %(plevel)s AND u.parent_code = %(pcode)s",
        {"gen": generation, "plevel": level, "pcode": code, "tolerance_deg": tolerance_deg},
    )


def neighbours_geojson(
    conn: psycopg.Connection, *, generation: int, level: str, code: str, tolerance_deg: float
) -> dict:
    """Units of the same level that touch (share at least a point with) the given unit."""
    return _feature_collection(
        conn,
        """u.level = %(level)s AND u.code <> %(code)s AND EXISTS (
            SELECT 1 FROM admin_unit t WHERE t.level = %(level)s AND t.code = %(code)s
              AND t.generation_low <= %(gen)s AND t.generation_high >= %(gen)s
              -- ST_DWithin with a tiny tolerance also catches neighbours whose shared edge
              -- was digitised twice with sub-millimetre differences
              AND ST_DWithin(u.geom, t.geom, 1e-8))""",
        {"gen": generation, "level": level, "code": code, "tolerance_deg": tolerance_deg},
    )


def lookup_tables(
    conn: psycopg.Connection, *, generation: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Everything bulk locate needs, in two reads.

    Returns (units, parts): units are (id, level, code, name, parent_level, parent_code,
    boundary WKB); parts are (unit_id, piece WKB).
    """
    units = conn.execute(
        f"""
        SELECT u.id, u.level, u.code, u.name, u.parent_level, u.parent_code,
               ST_AsBinary(ST_Boundary(u.geom))
        FROM admin_unit u WHERE {IN_GENERATION}
        """,
        {"gen": generation},
    ).fetchall()
    parts = conn.execute(
        f"""
        SELECT p.unit_id, ST_AsBinary(p.geom)
        FROM admin_unit_part p JOIN admin_unit u ON u.id = p.unit_id WHERE {IN_GENERATION}
        """,
        {"gen": generation},
    ).fetchall()
    return units, parts


def level_geometries(
    conn: psycopg.Connection, *, generation: int, level: str
) -> tuple[list[str], list[bytes]]:
    """Codes and WKB geometries of one level in a generation, by code (for the import: parents
    by geometry, where a tie goes to the first, and the checks)."""
    rows = conn.execute(
        f"SELECT u.code, ST_AsBinary(u.geom) FROM admin_unit u "
        f"WHERE {IN_GENERATION} AND u.level = %(level)s ORDER BY u.code",
        {"gen": generation, "level": level},
    ).fetchall()
    return [r[0] for r in rows], [bytes(r[1]) for r in rows]


def parents_without_children(
    conn: psycopg.Connection, *, base: int, new: int, level: str
) -> list[str]:
    """Units of ``level`` that had children in ``base`` but have none in ``new``."""
    rows = conn.execute(
        """
        SELECT p.code FROM admin_unit p
        WHERE p.generation_low <= %(new)s AND p.generation_high >= %(new)s AND p.level = %(level)s
          AND EXISTS (SELECT 1 FROM admin_unit c
                      WHERE c.generation_low <= %(base)s AND c.generation_high >= %(base)s
                        AND c.parent_level = %(level)s AND c.parent_code = p.code)
          AND NOT EXISTS (SELECT 1 FROM admin_unit c
                      WHERE c.generation_low <= %(new)s AND c.generation_high >= %(new)s
                        AND c.parent_level = %(level)s AND c.parent_code = p.code)
        ORDER BY p.code
        """,
        {"base": base, "new": new, "level": level},
    ).fetchall()
    return [r[0] for r in rows]


def orphaned_children(conn: psycopg.Connection, *, generation: int, level: str) -> list[str]:
    """Units whose parent (a unit of ``level``) does not exist in ``generation``."""
    rows = conn.execute(
        f"""
        SELECT u.code FROM admin_unit u
        WHERE {IN_GENERATION} AND u.parent_level = %(level)s AND NOT EXISTS (
            SELECT 1 FROM admin_unit p
            WHERE p.generation_low <= %(gen)s AND p.generation_high >= %(gen)s
              AND p.level = %(level)s AND p.code = u.parent_code)
        ORDER BY u.code
        """,
        {"gen": generation, "level": level},
    ).fetchall()
    return [r[0] for r in rows]


def level_units(
    conn: psycopg.Connection, *, generation: int, level: str, code: str | None = None
) -> list[tuple[str, str, str | None, str | None, bytes]]:
    """(code, name, parent_level, parent_code, WKB) of a level's units, or of one unit."""
    rows = conn.execute(
        f"""
        SELECT u.code, u.name, u.parent_level, u.parent_code, ST_AsBinary(u.geom)
        FROM admin_unit u
        WHERE {IN_GENERATION} AND u.level = %(level)s
          AND (%(code)s::text IS NULL OR u.code = %(code)s)
        ORDER BY u.code
        """,
        {"gen": generation, "level": level, "code": code},
    ).fetchall()
    return [(c, n, pl, pc, bytes(w)) for c, n, pl, pc, w in rows]


def set_generation_description(conn: psycopg.Connection, generation: int, text: str) -> None:
    conn.execute(
        "UPDATE boundary_generation SET description = %s WHERE id = %s", (text, generation)
    )
