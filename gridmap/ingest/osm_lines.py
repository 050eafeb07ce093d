"""Read the lines that bound city blocks from an OSM extract (XML or PBF): roads by class,
rivers and canals, railways. Cell generation cuts parent units along them.

Separate from ingest.osm (routing networks): a block boundary is any road a vehicle or a wall
of traffic separates, whoever may walk on it; footpaths and corridors are not block edges.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import osmium
import shapely

from gridmap.errors import InputError

LOGGER = logging.getLogger(__name__)

# Road classes that separate blocks, coarse to fine: grid makers pick a prefix of this tuple
# (streets follow main roads; cells follow every street down to service roads).
ROAD_CLASSES = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
    "pedestrian",
    "service",
)
MAJOR_ROAD_CLASSES = ROAD_CLASSES[:4]
WATERWAYS = ("river", "canal", "stream")
RAILWAYS = ("rail", "light_rail", "subway", "tram")
_UNDERGROUND = ("tunnel", "covered")


def read_barrier_lines(
    path: Path,
    *,
    road_classes: tuple[str, ...] = ROAD_CLASSES,
    waterways: bool = True,
    railways: bool = False,
) -> gpd.GeoDataFrame:
    """Lines (EPSG:4326) with ``osm_id``, ``kind`` (road/water/rail), ``class`` and ``name``.

    ``*_link`` roads count as their class; tunnels and subways underground are skipped (they
    do not divide the ground).
    """
    if not path.exists():
        raise InputError("file_missing", path=path)
    wanted = set(road_classes) | {f"{c}_link" for c in road_classes}
    rows: list[dict[str, object]] = []
    factory = osmium.geom.WKBFactory()
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway", "waterway", "railway"))
    )
    try:
        for entity in processor:
            way = cast(osmium.osm.Way, entity)  # the EntityFilter passes ways only
            tags = way.tags
            if any(tags.get(key, "no") not in ("no", "") for key in _UNDERGROUND):
                continue
            highway, waterway, railway = (tags.get(k) for k in ("highway", "waterway", "railway"))
            if highway in wanted:
                kind, klass = "road", highway.removesuffix("_link")
            elif waterways and waterway in WATERWAYS:
                kind, klass = "water", waterway
            elif railways and railway in RAILWAYS:
                kind, klass = "rail", railway
            else:
                continue
            try:
                wkb = factory.create_linestring(way)
            except (RuntimeError, osmium.InvalidLocationError):
                continue  # a way cut by the extract's bbox with fewer than two nodes inside
            rows.append(
                {
                    "osm_id": way.id,
                    "kind": kind,
                    "class": klass,
                    "name": tags.get("name", ""),
                    "wkb": bytes.fromhex(wkb),
                }
            )
    except RuntimeError as exc:
        raise InputError("file_unreadable", path=path, reason=str(exc)) from exc
    wkb_values = np.array([r.pop("wkb") for r in rows], dtype=object)
    geometry: Any = shapely.from_wkb(wkb_values) if rows else []
    LOGGER.info("read %d block-boundary lines from %s", len(rows), path)
    return gpd.GeoDataFrame(rows, geometry=geometry, crs="EPSG:4326")
