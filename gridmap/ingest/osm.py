"""Read OSM extracts (XML .osm or PBF) into arrays: the ways a profile may use, buildings, POIs.

pyosmium (the maintained binding of libosmium) reads both formats with the same code, keeps
node locations for us and assembles building multipolygons; pyrosm reads only PBF.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import shapely

from gridmap.errors import InputError

LOGGER = logging.getLogger(__name__)

PROFILES = ("walk", "bike")

# highway values nobody walks (or cycles) on, after OSMnx's "walk" / "bike" network filters,
# the de-facto reference for OSM routing networks. ``motor`` also rules out motorway(_link).
_WALK_EXCLUDED = re.compile(
    r"abandoned|bus_guideway|construction|cycleway|motor|^no$|planned|platform|proposed"
    r"|raceway|razed"
)
_BIKE_EXCLUDED = re.compile(
    r"abandoned|bus_guideway|construction|corridor|elevator|escalator|footway|motor|^no$"
    r"|planned|platform|proposed|raceway|razed|steps"
)
# an explicit permission on the way overrides the highway value (e.g. footway + bicycle=yes)
_ALLOWED = ("yes", "designated", "permissive", "official")
_FORBIDDEN = ("no", "private", "use_sidepath")
# floor height used when a building gives its height but not its number of levels
METRES_PER_LEVEL = 3.0


@dataclass(frozen=True)
class OsmNetwork:
    """The usable ways of an extract, split into node-to-node segments (unsimplified).

    Every OSM node on a kept way becomes a graph node, so each edge is a straight segment:
    partial edges of an isochrone are then a plain interpolation, no line splitting.

    Parameters
    ----------
    node_osm_id, node_lon, node_lat
        one entry per node (WGS84).
    edge_u, edge_v
        indices into the node arrays, one entry per segment.
    edge_way_id, edge_highway
        the OSM way each segment comes from and its highway value.
    buildings
        building footprints (``osm_id``, ``osm_type``, ``levels``, ``height_m``), EPSG:4326.
    """

    source: str
    profile: str
    node_osm_id: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_way_id: np.ndarray
    edge_highway: np.ndarray
    buildings: gpd.GeoDataFrame
    ways_kept: int
    ways_dropped: int
    missing_nodes: int = 0
    notes: list[str] = field(default_factory=list)


def way_usable(tags: dict[str, str], profile: str) -> bool:
    """Whether a pedestrian (``walk``) or cyclist (``bike``) may use a way with ``tags``."""
    highway = tags.get("highway")
    if not highway or tags.get("area") == "yes":
        return False
    own_key = "foot" if profile == "walk" else "bicycle"
    own = tags.get(own_key, "")
    if own in _FORBIDDEN:
        return False
    if own in _ALLOWED:
        return True
    if tags.get("access") in ("private", "no") or tags.get("service") == "private":
        return False
    excluded = _WALK_EXCLUDED if profile == "walk" else _BIKE_EXCLUDED
    return excluded.search(highway) is None


def _number(text: str | None) -> float:
    """The leading number of an OSM value such as "12", "12.5 m" or "4;5" (NaN if none)."""
    if not text:
        return math.nan
    match = re.match(r"\s*(\d+(?:[.,]\d+)?)", text)
    return float(match.group(1).replace(",", ".")) if match else math.nan


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError("file_missing", path=path)
    name = path.name.lower()
    if not (name.endswith(".osm") or name.endswith(".pbf") or name.endswith(".osm.bz2")):
        raise InputError("osm_format", path=path)


def read_osm_network(path: Path, *, profile: str = "walk") -> OsmNetwork:
    """Read the ways ``profile`` may use and every building of an OSM XML or PBF extract.

    Ways whose nodes lie outside the extract (a bbox cut) are split at the missing nodes
    rather than dropped, so the part inside still counts.
    """
    if profile not in PROFILES:
        raise InputError("profile_invalid", profile=profile, profiles=", ".join(PROFILES))
    _check_readable(path)
    node_index: dict[int, int] = {}
    lons: list[float] = []
    lats: list[float] = []
    osm_ids: list[int] = []
    us: list[int] = []
    vs: list[int] = []
    way_ids: list[int] = []
    highways: list[str] = []
    kept = dropped = missing = 0
    b_ids: list[int] = []
    b_types: list[str] = []
    b_levels: list[float] = []
    b_heights: list[float] = []
    b_wkb: list[bytes] = []
    wkb_factory = osmium.geom.WKBFactory()

    def node_at(ref: int, lon: float, lat: float) -> int:
        index = node_index.get(ref)
        if index is None:
            index = node_index[ref] = len(osm_ids)
            osm_ids.append(ref)
            lons.append(lon)
            lats.append(lat)
        return index

    # Any: pyosmium's stubs type each object as a union of every OSM entity kind
    processor: Any = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas(osmium.filter.KeyFilter("building"))
        .with_filter(osmium.filter.KeyFilter("highway", "building"))
    )
    try:
        for obj in processor:
            if obj.is_way() and "highway" in obj.tags:
                tags = dict(obj.tags)
                if not way_usable(tags, profile):
                    dropped += 1
                    continue
                kept += 1
                previous: int | None = None
                for ref in obj.nodes:
                    if not ref.location.valid():
                        missing += 1
                        previous = None  # split the way at a node outside the extract
                        continue
                    current = node_at(ref.ref, ref.location.lon, ref.location.lat)
                    if previous is not None and previous != current:
                        us.append(previous)
                        vs.append(current)
                        way_ids.append(obj.id)
                        highways.append(tags["highway"])
                    previous = current
            elif obj.is_area() and "building" in obj.tags:
                try:
                    wkb = wkb_factory.create_multipolygon(obj)
                except RuntimeError:  # broken ring: osmium cannot assemble it
                    continue
                b_ids.append(obj.orig_id())
                b_types.append("way" if obj.from_way() else "relation")
                b_levels.append(_number(obj.tags.get("building:levels")))
                b_heights.append(_number(obj.tags.get("height")))
                b_wkb.append(bytes.fromhex(wkb) if isinstance(wkb, str) else wkb)
    except RuntimeError as exc:  # libosmium reports malformed input as RuntimeError
        raise InputError("file_unreadable", path=path, reason=str(exc).strip()) from exc
    if not us:
        raise InputError("osm_no_ways", path=path, profile=profile)
    buildings = gpd.GeoDataFrame(
        {
            "osm_id": np.array(b_ids, dtype=np.int64),
            "osm_type": np.array(b_types, dtype=object),
            "levels": np.array(b_levels, dtype=float),
            "height_m": np.array(b_heights, dtype=float),
        },
        geometry=shapely.from_wkb(b_wkb) if b_wkb else [],
        crs="EPSG:4326",
    )
    LOGGER.info(
        "%s: %d %s ways kept, %d dropped, %d nodes, %d segments, %d buildings",
        path,
        kept,
        profile,
        dropped,
        len(osm_ids),
        len(us),
        len(buildings),
    )
    return OsmNetwork(
        source=str(path),
        profile=profile,
        node_osm_id=np.array(osm_ids, dtype=np.int64),
        node_lon=np.array(lons, dtype=float),
        node_lat=np.array(lats, dtype=float),
        edge_u=np.array(us, dtype=np.int64),
        edge_v=np.array(vs, dtype=np.int64),
        edge_way_id=np.array(way_ids, dtype=np.int64),
        edge_highway=np.array(highways, dtype=object),
        buildings=buildings,
        ways_kept=kept,
        ways_dropped=dropped,
        missing_nodes=missing,
    )


def read_osm_points(path: Path, *, key: str) -> gpd.GeoDataFrame:
    """Every node carrying the tag ``key`` (e.g. ``amenity``), as points with ``osm_id``,
    ``name`` and ``type`` (the tag's value), EPSG:4326."""
    _check_readable(path)
    ids: list[int] = []
    names: list[str] = []
    types: list[str] = []
    lons: list[float] = []
    lats: list[float] = []
    processor: Any = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(
        osmium.filter.KeyFilter(key)
    )
    try:
        for obj in processor:
            if obj.is_node() and obj.location.valid():
                ids.append(obj.id)
                names.append(obj.tags.get("name", ""))
                types.append(obj.tags.get(key, ""))
                lons.append(obj.location.lon)
                lats.append(obj.location.lat)
    except RuntimeError as exc:
        raise InputError("file_unreadable", path=path, reason=str(exc).strip()) from exc
    return gpd.GeoDataFrame(
        {"osm_id": ids, "name": names, "type": types},
        geometry=shapely.points(np.array(lons), np.array(lats)) if ids else [],
        crs="EPSG:4326",
    )
