"""Use cases: import OSM walking/cycling networks into PostGIS, list and load them."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely

from gridmap.analysis import isochrones as iso
from gridmap.analysis.coverage import (
    floor_area_m2,
)
from gridmap.config import Settings
from gridmap.geo.crs import lonlat_to_metric
from gridmap.geo.geometry import ewkb_hex
from gridmap.ingest.osm import read_osm_network
from gridmap.store import networks as network_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


@dataclass
class NetworkReport:
    network_id: int
    name: str
    profile: str
    source: str
    nodes: int
    edges: int
    largest_component_nodes: int
    buildings: int
    ways_kept: int
    ways_dropped: int
    total_length_km: float
    metric_crs: str


def import_network(
    db: Database, settings: Settings, path: Path, *, name: str, profile: str = "walk"
) -> NetworkReport:
    """Read an OSM extract, keep what ``profile`` may use, store nodes, edges and buildings."""
    osm = read_osm_network(path, profile=profile)
    network, mapping = iso.build_network(
        osm.node_osm_id, osm.node_lon, osm.node_lat, osm.edge_u, osm.edge_v
    )
    # the first input segment behind each kept edge gives its way id and highway value
    kept_ids, first = np.unique(mapping[mapping >= 0], return_index=True)
    origin = np.flatnonzero(mapping >= 0)[first]
    assert len(kept_ids) == len(network.edge_u)
    node_wkb = ewkb_hex(np.asarray(shapely.points(network.node_lon, network.node_lat)))
    coords = np.stack(
        [
            np.column_stack([network.node_lon[network.edge_u], network.node_lat[network.edge_u]]),
            np.column_stack([network.node_lon[network.edge_v], network.node_lat[network.edge_v]]),
        ],
        axis=1,
    )
    edge_wkb = ewkb_hex(np.asarray(shapely.linestrings(coords)))
    b = osm.buildings
    b_geoms = b.geometry.to_numpy()
    footprint = shapely.area(network.to_metric_geoms(b_geoms)) if len(b) else np.zeros(0)
    floor = floor_area_m2(footprint, b["levels"].to_numpy(), b["height_m"].to_numpy())
    epsg = network.crs.to_epsg() or 0

    def opt(value: float) -> float | None:
        return None if not math.isfinite(value) else float(value)

    report = NetworkReport(
        network_id=0,
        name=name,
        profile=profile,
        source=str(path),
        nodes=network.node_count,
        edges=len(network.edge_u),
        largest_component_nodes=int(network.node_in_largest.sum()),
        buildings=len(b),
        ways_kept=osm.ways_kept,
        ways_dropped=osm.ways_dropped,
        total_length_km=round(float(network.edge_length_m.sum()) / 1000, 3),
        metric_crs=f"EPSG:{epsg}",
    )
    with db.transaction() as conn:
        network_id = network_store.create_network(
            conn,
            name=name,
            profile=profile,
            source=str(path),
            metric_epsg=epsg,
            report=report.__dict__,
        )
        network_store.copy_nodes(
            conn,
            network_id,
            zip(
                range(network.node_count),
                network.node_osm_id.tolist(),
                network.node_in_largest.tolist(),
                node_wkb,
                strict=True,
            ),
        )
        network_store.copy_edges(
            conn,
            network_id,
            zip(
                range(len(network.edge_u)),
                network.edge_u.tolist(),
                network.edge_v.tolist(),
                osm.edge_way_id[origin].tolist(),
                osm.edge_highway[origin].tolist(),
                network.edge_length_m.tolist(),
                edge_wkb,
                strict=True,
            ),
        )
        network_store.copy_buildings(
            conn,
            network_id,
            (
                (t, int(i), opt(lv), opt(h), float(fp), float(fa), g)
                for t, i, lv, h, fp, fa, g in zip(
                    b["osm_type"],
                    b["osm_id"],
                    b["levels"],
                    b["height_m"],
                    footprint,
                    floor,
                    ewkb_hex(shapely.force_2d(b_geoms)) if len(b) else [],
                    strict=True,
                )
            ),
        )
    report.network_id = network_id
    LOGGER.info("network %s imported: %s", name, report)
    return report


def list_networks(db: Database) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return network_store.list_networks(conn)


def load_network(db: Database, name: str) -> tuple[network_store.StoredNetwork, iso.Network]:
    """The stored network and its routable in-memory form (lengths as stored)."""
    with db.connection() as conn:
        stored = network_store.load_network(conn, name)
    crs = pyproj.CRS.from_epsg(stored.metric_epsg)
    x, y = lonlat_to_metric(stored.node_lon, stored.node_lat, crs)
    network = iso.Network(
        crs=crs,
        node_osm_id=stored.node_osm_id,
        node_lon=stored.node_lon,
        node_lat=stored.node_lat,
        node_x=x,
        node_y=y,
        edge_u=stored.edge_u,
        edge_v=stored.edge_v,
        edge_length_m=stored.edge_length_m,
        node_in_largest=stored.node_in_largest,
    )
    return stored, network
