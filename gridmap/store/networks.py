"""Street networks (nodes, edges, buildings of an OSM extract) in PostGIS: write with COPY, read
back as arrays."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import dict_row

from gridmap.errors import DatabaseError, InputError, NotFoundError
from gridmap.store.db import copy_rows, json_text

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredNetwork:
    """A network as read back: its row and its arrays (indices are the stored ``idx``)."""

    id: int
    name: str
    profile: str
    source: str
    metric_epsg: int
    node_osm_id: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    node_in_largest: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray


def create_network(
    conn: psycopg.Connection,
    *,
    name: str,
    profile: str,
    source: str,
    metric_epsg: int,
    report: dict[str, Any],
) -> int:
    try:
        with conn.transaction():
            row = conn.execute(
                """
                INSERT INTO network (name, profile, source, metric_epsg, report)
                VALUES (%s, %s, %s, %s, %s) RETURNING id
                """,
                (name, profile, source, metric_epsg, json_text(report)),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise InputError("network_exists", name=name) from exc
    except psycopg.errors.UndefinedTable as exc:
        raise DatabaseError("db_not_migrated", table="network") from exc
    assert row is not None
    return int(row[0])


def copy_nodes(conn: psycopg.Connection, network_id: int, rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY (idx, osm_id, in_largest, hex EWKB point) rows: one round trip for the lot."""
    copy_rows(
        conn,
        "network_node",
        ["idx", "osm_id", "in_largest", "geom"],
        rows,
        prefix={"network_id": network_id},
    )


def copy_edges(conn: psycopg.Connection, network_id: int, rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY (idx, source, target, osm_way_id, highway, length_m, hex EWKB line) rows."""
    copy_rows(
        conn,
        "network_edge",
        ["idx", "source", "target", "osm_way_id", "highway", "length_m", "geom"],
        rows,
        prefix={"network_id": network_id},
    )


def copy_buildings(
    conn: psycopg.Connection, network_id: int, rows: Iterable[tuple[Any, ...]]
) -> None:
    """COPY (osm_type, osm_id, levels, height_m, footprint_m2, floor_area_m2, hex EWKB) rows."""
    copy_rows(
        conn,
        "network_building",
        ["osm_type", "osm_id", "levels", "height_m", "footprint_m2", "floor_area_m2", "geom"],
        rows,
        prefix={"network_id": network_id},
    )


def find_network(conn: psycopg.Connection, name: str) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        try:
            row = cur.execute("SELECT * FROM network WHERE name = %s", (name,)).fetchone()
        except psycopg.errors.UndefinedTable as exc:
            raise DatabaseError("db_not_migrated", table="network") from exc
    if row is None:
        raise NotFoundError("network_unknown", name=name)
    return row


def load_network(conn: psycopg.Connection, name: str) -> StoredNetwork:
    """The network's arrays in ``idx`` order (two reads)."""
    meta = find_network(conn, name)
    nodes = conn.execute(
        """
        SELECT osm_id, ST_X(geom), ST_Y(geom), in_largest FROM network_node
        WHERE network_id = %s ORDER BY idx
        """,
        (meta["id"],),
    ).fetchall()
    edges = conn.execute(
        "SELECT source, target, length_m FROM network_edge WHERE network_id = %s ORDER BY idx",
        (meta["id"],),
    ).fetchall()
    node_arr = np.array(nodes, dtype=object).reshape(-1, 4)
    edge_arr = np.array(edges, dtype=float).reshape(-1, 3)
    return StoredNetwork(
        id=meta["id"],
        name=meta["name"],
        profile=meta["profile"],
        source=meta["source"],
        metric_epsg=meta["metric_epsg"],
        node_osm_id=node_arr[:, 0].astype(np.int64),
        node_lon=node_arr[:, 1].astype(float),
        node_lat=node_arr[:, 2].astype(float),
        node_in_largest=node_arr[:, 3].astype(bool),
        edge_u=edge_arr[:, 0].astype(np.int64),
        edge_v=edge_arr[:, 1].astype(np.int64),
        edge_length_m=edge_arr[:, 2],
    )


def load_buildings(conn: psycopg.Connection, network_id: int) -> tuple[list[bytes], np.ndarray]:
    """Building footprints (WKB, EPSG:4326) and floor areas of a network's extract."""
    rows = conn.execute(
        """
        SELECT ST_AsBinary(geom), floor_area_m2 FROM network_building
        WHERE network_id = %s ORDER BY osm_type, osm_id
        """,
        (network_id,),
    ).fetchall()
    return [bytes(r[0]) for r in rows], np.array([r[1] for r in rows], dtype=float)


def list_networks(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT n.id, n.name, n.profile, n.source, n.created_at,
                   (SELECT count(*) FROM network_node x WHERE x.network_id = n.id) AS nodes,
                   (SELECT count(*) FROM network_edge x WHERE x.network_id = n.id) AS edges,
                   (SELECT count(*) FROM network_building x WHERE x.network_id = n.id)
                       AS buildings
            FROM network n ORDER BY n.id
            """
        ).fetchall()
