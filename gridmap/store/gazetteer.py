"""The gazetteer table: rebuilt in one transaction (COPY), searched by trigram similarity."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridmap.errors import DatabaseError
from gridmap.store.db import copy_rows, json_text
from gridmap.store.units import IN_GENERATION

LOGGER = logging.getLogger(__name__)

# the columns of an OSM entry as the service hands them over (one row per name of a thing);
# geom and line are hex EWKB (SRID 4326)
OSM_COLUMNS = (
    "name",
    "name_norm",
    "kind",
    "precision",
    "geom",
    "line",
    "housenumber",
    "housenumber_norm",
    "street",
    "street_norm",
    "postcode",
    "city",
    "city_norm",
    "source_file",
    "osm_type",
    "osm_id",
    "tag",
)
# a unit's entry: its row id and its normalised name (the normaliser is Python, shared with
# queries); everything else comes from admin_unit
UNIT_COLUMNS = ("unit_id", "name_norm")

# Score of a name against a query, 0..1: the mean of trigram similarity (whole strings alike)
# and word similarity (the query found inside the name). An exact name scores 1; a query that
# is only part of a name (德基 in 德基广场) is found, but below the exact one.
_SCORE = "(similarity({col}, %(q)s) + word_similarity(%(q)s, {col})) / 2"
# trigram match: `%` (similarity above pg_trgm.similarity_threshold, 0.3) or `<%` (the query
# inside the name, word_similarity above 0.6); both are served by the GIN trigram index
_MATCH = "({col} %% %(q)s OR %(q)s <%% {col})"
# Entries inside the deployment's units are in its city by definition; outside every unit,
# an entry's own addr:city must be the context city (or unknown).
_IN_CITY = (
    "(%(city)s::text IS NULL OR e.unit_code IS NOT NULL OR e.city_norm IS NULL "
    "OR e.city_norm = %(city)s)"
)
_IN_UNITS = "(cardinality(%(units)s::text[]) = 0 OR e.unit_names @> %(units)s::text[])"
# one candidate per thing: its names (name, name:en ...) are separate rows
_THING = "coalesce(e.osm_type || e.osm_id::text, 'unit:' || e.unit_level || ':' || e.unit_code)"
_CANDIDATE_COLUMNS = """
    e.id, e.name, e.kind, e.precision, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.source,
    e.unit_level, e.unit_code, e.unit_codes, e.housenumber, e.street, e.postcode, e.city,
    e.osm_type, e.osm_id, e.tag
"""


def _check_migrated(conn: psycopg.Connection) -> None:
    row = conn.execute("SELECT to_regclass('gazetteer_entry') IS NOT NULL").fetchone()
    if not (row and row[0]):
        raise DatabaseError("db_not_migrated", table="gazetteer_entry")


def generation_units(conn: psycopg.Connection, *, generation: int) -> list[tuple[int, str, str]]:
    """(row id, level, name) of every unit of ``generation``: the names to normalise."""
    rows = conn.execute(
        f"SELECT u.id, u.level, u.name FROM admin_unit u WHERE {IN_GENERATION} ORDER BY u.id",
        {"gen": generation},
    ).fetchall()
    return [(int(i), lv, n) for i, lv, n in rows]


def rebuild(
    conn: psycopg.Connection,
    *,
    unit_rows: Iterable[Sequence[Any]],
    osm_rows: Iterable[Sequence[Any]],
    generation: int | None,
    levels: Sequence[str],
    sources: Sequence[str],
) -> dict[str, int]:
    """Replace every entry, in the caller's transaction: all or nothing.

    Rows are COPYed into temporary tables, then moved in three set-based statements: the
    old entries deleted (readers keep seeing them until commit: MVCC, no TRUNCATE lock), the
    units' entries inserted with a point on their surface, the OSM entries inserted with the
    units of ``generation`` containing them (one spatial join on the subdivided lookup copy).
    Returns the new entries counted by kind.
    """
    _check_migrated(conn)
    # one rebuild at a time: a second one waits here, then replaces the first one's rows
    # (its own DELETE then sees them). Readers of the entries are not blocked.
    conn.execute("LOCK TABLE gazetteer_build IN EXCLUSIVE MODE")
    _stage_units(conn, unit_rows)
    conn.execute(
        """
        CREATE TEMP TABLE staged_osm_entry (
            sid bigint GENERATED ALWAYS AS IDENTITY, name text, name_norm text, kind text,
            precision text, geom geometry, line geometry, housenumber text,
            housenumber_norm text, street text, street_norm text, postcode text, city text,
            city_norm text, source_file text, osm_type text, osm_id bigint, tag text
        ) ON COMMIT DROP
        """
    )
    copy_rows(conn, "staged_osm_entry", OSM_COLUMNS, osm_rows)
    conn.execute("ANALYZE staged_osm_entry")
    conn.execute("DELETE FROM gazetteer_entry")
    params = {"gen": generation, "levels": list(levels)}
    if generation is not None:
        conn.execute(_INSERT_UNITS, params)
    conn.execute(_INSERT_OSM, params)
    counts = _record_build(conn, generation=generation, sources=sources)
    LOGGER.info("gazetteer rebuilt from generation %s and %s: %s", generation, sources, counts)
    return counts


def _stage_units(conn: psycopg.Connection, unit_rows: Iterable[Sequence[Any]]) -> None:
    """(unit row id, normalised name) of the units to enter, in a temporary table."""
    conn.execute(
        """
        CREATE TEMP TABLE staged_unit_entry (unit_id bigint PRIMARY KEY, name_norm text NOT NULL)
        ON COMMIT DROP
        """
    )
    copy_rows(conn, "staged_unit_entry", UNIT_COLUMNS, unit_rows)


def _record_build(
    conn: psycopg.Connection, *, generation: int | None, sources: Sequence[str]
) -> dict[str, int]:
    """After entries changed: index them, count them by kind, and record the build."""
    # move the new rows from the GIN pending lists into the indexes now, in bulk (see the
    # migration): queries after the commit find them indexed
    conn.execute(
        "SELECT gin_clean_pending_list('gazetteer_entry_name_trgm'), "
        "gin_clean_pending_list('gazetteer_entry_road_trgm')"
    )
    counts = {
        kind: int(n)
        for kind, n in conn.execute(
            "SELECT kind, count(*) FROM gazetteer_entry GROUP BY kind ORDER BY kind"
        ).fetchall()
    }
    conn.execute(
        "INSERT INTO gazetteer_build (generation, sources, counts) VALUES (%s, %s, %s)",
        (generation, list(sources), json_text(counts)),
    )
    conn.execute("ANALYZE gazetteer_entry")
    return counts


# Every unit of the generation covering a point, one per level (lowest code on a shared
# edge, as in locate), with its depth in the hierarchy. ST_Covers, not ST_Contains: a point
# on a shared edge still belongs to a unit.
_COVERING = f"""
    SELECT DISTINCT ON (pt.key, u.level)
           pt.key, u.level, u.code, s.name_norm,
           array_position(%(levels)s::text[], u.level) AS depth
    FROM pt
    JOIN admin_unit_part p ON ST_Covers(p.geom, pt.geom)
    JOIN admin_unit u ON u.id = p.unit_id
    JOIN staged_unit_entry s ON s.unit_id = u.id
    WHERE {IN_GENERATION}
    ORDER BY pt.key, u.level, u.code
"""

_INSERT_UNITS = f"""
WITH unit AS (
    SELECT u.id, u.level, u.code, u.name, s.name_norm, ST_PointOnSurface(u.geom) AS geom,
           array_position(%(levels)s::text[], u.level) AS depth
    FROM admin_unit u JOIN staged_unit_entry s ON s.unit_id = u.id
    WHERE {IN_GENERATION}
), pt AS (SELECT id AS key, geom FROM unit),
covering AS ({_COVERING}),
-- a unit's chain: the units above it covering its point, then itself
above AS (
    SELECT c.key, array_agg(c.code ORDER BY c.depth) AS codes,
           array_agg(c.name_norm ORDER BY c.depth) AS names
    FROM covering c JOIN unit ON unit.id = c.key
    WHERE c.depth < unit.depth
    GROUP BY c.key
)
INSERT INTO gazetteer_entry (name, name_norm, kind, precision, geom, unit_level, unit_code,
                             unit_codes, unit_names, source)
SELECT unit.name, unit.name_norm, 'unit', unit.level, unit.geom, unit.level, unit.code,
       coalesce(above.codes, '{{}}') || unit.code, coalesce(above.names, '{{}}') || unit.name_norm,
       'unit'
FROM unit LEFT JOIN above ON above.key = unit.id
"""

# Each point's chain of units (top-down codes and names, and the deepest unit), from ``pt``
# (key, geom) defined before it.
_CHAIN = f"""covering AS ({_COVERING}),
chain AS (
    SELECT key, array_agg(code ORDER BY depth) AS codes,
           array_agg(name_norm ORDER BY depth) AS names,
           (array_agg(level ORDER BY depth DESC))[1] AS deepest_level,
           (array_agg(code ORDER BY depth DESC))[1] AS deepest_code
    FROM covering GROUP BY key
)"""

_INSERT_OSM = f"""
WITH pt AS (SELECT sid AS key, ST_SetSRID(geom, 4326) AS geom FROM staged_osm_entry),
-- no active generation (gen NULL): no unit covers anything, the chain stays empty
{_CHAIN}
INSERT INTO gazetteer_entry (name, name_norm, kind, precision, geom, line, housenumber,
                             housenumber_norm, street, street_norm, postcode, city, city_norm,
                             unit_level, unit_code, unit_codes, unit_names, source, source_file,
                             osm_type, osm_id, tag)
SELECT s.name, s.name_norm, s.kind, s.precision, ST_SetSRID(s.geom, 4326),
       ST_Multi(ST_SetSRID(s.line, 4326)), s.housenumber, s.housenumber_norm, s.street,
       s.street_norm, s.postcode, s.city, s.city_norm, c.deepest_level, c.deepest_code,
       coalesce(c.codes, '{{}}'), coalesce(c.names, '{{}}'), 'osm', s.source_file, s.osm_type,
       s.osm_id, s.tag
FROM staged_osm_entry s LEFT JOIN chain c ON c.key = s.sid
"""


_RELOCATE_OSM = f"""
WITH pt AS (SELECT id AS key, geom FROM gazetteer_entry WHERE source = 'osm'),
{_CHAIN}
UPDATE gazetteer_entry e
SET unit_level = c.deepest_level, unit_code = c.deepest_code,
    unit_codes = coalesce(c.codes, '{{}}'), unit_names = coalesce(c.names, '{{}}')
FROM gazetteer_entry o LEFT JOIN chain c ON c.key = o.id
WHERE o.id = e.id AND e.source = 'osm'
"""


def refresh_units(
    conn: psycopg.Connection,
    *,
    unit_rows: Iterable[Sequence[Any]],
    generation: int,
    levels: Sequence[str],
) -> dict[str, int] | None:
    """After a generation switch, in the caller's transaction: the unit entries replaced by
    ``generation``'s and every OSM entry given the units of ``generation`` containing it, so
    that addresses are matched against the grid in force. The OSM entries themselves are
    kept (their files are not needed again). None when no gazetteer was ever built."""
    _check_migrated(conn)
    conn.execute("LOCK TABLE gazetteer_build IN EXCLUSIVE MODE")
    last = latest_build(conn)
    if last is None:
        return None
    _stage_units(conn, unit_rows)
    params = {"gen": generation, "levels": list(levels)}
    conn.execute("DELETE FROM gazetteer_entry WHERE source = 'unit'")
    conn.execute(_INSERT_UNITS, params)
    conn.execute(_RELOCATE_OSM, params)
    counts = _record_build(conn, generation=generation, sources=last["sources"])
    LOGGER.info("gazetteer units refreshed for generation %s: %s", generation, counts)
    return counts


def latest_build(conn: psycopg.Connection) -> dict[str, Any] | None:
    _check_migrated(conn)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, built_at, generation, sources, counts FROM gazetteer_build "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()


def known_unit_names(conn: psycopg.Connection, names: Sequence[str]) -> list[str]:
    """Those of ``names`` (normalised) that name a unit in the gazetteer."""
    if not names:
        return []
    rows = conn.execute(
        "SELECT DISTINCT name_norm FROM gazetteer_entry WHERE kind = 'unit' "
        "AND name_norm = ANY(%s::text[])",
        (list(names),),
    ).fetchall()
    return [r[0] for r in rows]


def search_house_numbers(
    conn: psycopg.Connection,
    *,
    housenumber: str,
    street: str,
    units: Sequence[str],
    city: str | None,
    postcode: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Entries with exactly this (normalised) house number on a street like ``street``,
    best street score first. An entry without a postcode is not ruled out by one."""
    score = _SCORE.format(col="e.street_norm")
    sql = f"""
        SELECT * FROM (
            SELECT DISTINCT ON ({_THING}) {_CANDIDATE_COLUMNS}, {score} AS score
            FROM gazetteer_entry e
            WHERE e.housenumber_norm = %(hn)s AND {_MATCH.format(col="e.street_norm")}
              AND {_IN_CITY} AND {_IN_UNITS}
              AND (%(postcode)s::text IS NULL OR e.postcode IS NULL OR e.postcode = %(postcode)s)
            ORDER BY {_THING}, score DESC, e.id
        ) t ORDER BY score DESC, id LIMIT %(limit)s
    """
    params = {
        "hn": housenumber,
        "q": street,
        "city": city,
        "units": list(units),
        "postcode": postcode,
        "limit": limit,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def _search_by_name(
    conn: psycopg.Connection, kind_predicate: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    # kind_predicate is one of the constants below, written out so that the planner can use
    # the partial trigram index it matches
    score = _SCORE.format(col="e.name_norm")
    sql = f"""
        SELECT * FROM (
            SELECT DISTINCT ON ({_THING}) {_CANDIDATE_COLUMNS}, {score} AS score
            FROM gazetteer_entry e
            WHERE {_MATCH.format(col="e.name_norm")} AND {kind_predicate}
              AND {_IN_CITY} AND {_IN_UNITS}
            ORDER BY {_THING}, score DESC, e.id
        ) t ORDER BY score DESC, id LIMIT %(limit)s
    """
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def search_names(
    conn: psycopg.Connection,
    *,
    name: str,
    kinds: Sequence[str],
    units: Sequence[str],
    city: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Entries of ``kinds`` (not house numbers: those are found by number and street) whose
    normalised name is like ``name``, best score first."""
    params = {"q": name, "kinds": list(kinds), "city": city, "units": list(units), "limit": limit}
    predicate = "e.kind <> 'house_number' AND e.kind = ANY(%(kinds)s::text[])"
    return _search_by_name(conn, predicate, params)


def search_roads(
    conn: psycopg.Connection, *, name: str, units: Sequence[str], city: str | None, limit: int
) -> list[dict[str, Any]]:
    """Roads whose normalised name is like ``name``, best score first."""
    params = {"q": name, "city": city, "units": list(units), "limit": limit}
    return _search_by_name(conn, "e.kind = 'road'", params)


def entry_count(conn: psycopg.Connection) -> int:
    _check_migrated(conn)
    row = conn.execute("SELECT count(*) FROM gazetteer_entry").fetchone()
    return int(row[0]) if row else 0
