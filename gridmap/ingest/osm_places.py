"""Read the named things of an OSM extract (XML or PBF) for the gazetteer: places, POIs,
roads and ``addr:*`` house numbers, one row per thing with all its names.

pyosmium reads both formats with the same code (see gridmap.ingest.osm) and assembles closed
ways and multipolygon relations into areas, whose point on surface stands for them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridmap.errors import InputError
from gridmap.geo.crs import local_metric_crs, lonlat_to_metric
from gridmap.ingest.osm import _check_readable

LOGGER = logging.getLogger(__name__)

KINDS = ("place", "poi", "road", "house_number")
# tags that make a named object a point of interest (building last: a named building that is
# also a shop is listed as the shop)
POI_KEYS = (
    "amenity",
    "shop",
    "tourism",
    "office",
    "leisure",
    "healthcare",
    "historic",
    "public_transport",
    "building",
)
# the names a thing is searched by, the main one first; alt_name and friends may hold
# several names separated by ';'
NAME_KEYS = (
    "name",
    "name:zh",
    "name:zh-Hans",
    "name:zh-Hant",
    "name:en",
    "official_name",
    "alt_name",
    "old_name",
    "short_name",
)
# ways of the same name closer than this belong to one road (its carriageways, the segments
# between crossings, short gaps at bridges); same-named roads farther apart stay separate,
# as they are in a city (two 中山路 in two districts)
ROAD_JOIN_M = 100.0
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class OsmPlaces:
    """The named things of one extract. ``frame`` has one row per thing: ``osm_type``
    (n/w/r), ``osm_id``, ``kind`` (place, poi, road, house_number), ``name`` (the main one),
    ``names`` (tuple of every distinct name), ``tag`` (e.g. amenity=school), ``place`` (the
    place=* value), ``housenumber``, ``street``, ``city``, ``district``, ``postcode``,
    ``geometry`` (a Point, EPSG:4326) and ``line`` (roads: a MultiLineString, else None)."""

    source: str
    frame: gpd.GeoDataFrame
    skipped_areas: int  # closed ways / relations osmium could not assemble


def _names(tags: Any) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for key in NAME_KEYS:
        for part in (tags.get(key) or "").split(";"):
            name = part.strip()
            if name:
                seen.setdefault(name, None)
    return tuple(seen)


def address_label(street: str, housenumber: str) -> str:
    """A readable label for an address without a name: 中山路18号, or 18 Main Street."""
    if _CJK.search(street):
        return f"{street}{housenumber}" + ("" if housenumber.endswith("号") else "号")
    return f"{housenumber} {street}"


def _is_poi_tag(tags: Any, key: str) -> bool:
    # public_transport: stations only; stops and platforms are named after the crossing road
    # and would compete with the road itself
    value = tags.get(key)
    return value is not None and (key != "public_transport" or value == "station")


def _record(tags: Any) -> dict[str, Any] | None:
    """The gazetteer fields of a tagged object, or None when it names nothing we index."""
    names = _names(tags)
    street = tags.get("addr:street") or tags.get("addr:place") or ""
    numbers = tags.get("addr:housenumber") or ""
    tag = next((f"{k}={tags.get(k)}" for k in POI_KEYS if _is_poi_tag(tags, k)), None)
    if names and "place" in tags:
        kind, tag = "place", f"place={tags.get('place')}"
    elif names and tag is not None:
        kind = "poi"
    elif street and numbers:
        kind = "house_number"
    else:
        return None
    return {
        "kind": kind,
        "name": names[0] if names else "",
        "names": names,
        "tag": tag,
        "place": tags.get("place"),
        "housenumber": numbers or None,
        "street": street or None,
        "city": tags.get("addr:city"),
        "district": tags.get("addr:district"),
        "postcode": tags.get("addr:postcode"),
    }


def _split_numbers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """addr:housenumber=12;14 is two addresses at the same place: one row each."""
    out = []
    for row in rows:
        numbers = [n.strip() for n in (row["housenumber"] or "").split(";") if n.strip()]
        if len(numbers) <= 1:
            out.append(row)
            continue
        for number in numbers:
            copy = {**row, "housenumber": number}
            if row["kind"] == "house_number":
                copy["name"] = address_label(row["street"], number)
                copy["names"] = (copy["name"],)
            out.append(copy)
    return out


def read_osm_places(path: Path) -> OsmPlaces:
    """Every named place, POI and road, and every ``addr:*`` house number, of ``path``."""
    _check_readable(path)
    keys = ("name", "name:zh", "name:en", "addr:housenumber", "place")
    processor: Any = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas(osmium.filter.KeyFilter(*keys))
        .with_filter(osmium.filter.KeyFilter(*keys))
    )
    wkb_factory = osmium.geom.WKBFactory()
    things: list[dict[str, Any]] = []
    road_ways: list[dict[str, Any]] = []
    skipped = 0
    try:
        for obj in processor:
            if obj.is_node():
                record = _record(obj.tags)
                if record is not None and obj.location.valid():
                    loc = obj.location
                    things.append(
                        {**record, "osm_type": "n", "osm_id": obj.id, "x": loc.lon, "y": loc.lat}
                    )
            elif obj.is_way():
                # linear named roads; closed ways with POI tags come back as areas below
                if "highway" in obj.tags and obj.tags.get("area") != "yes":
                    names = _names(obj.tags)
                    if names:
                        parts = _way_parts(obj)
                        if parts:
                            road_ways.append({"osm_id": obj.id, "names": names, "parts": parts})
            elif obj.is_area():
                record = _record(obj.tags)
                if record is None or ("highway" in obj.tags and record["kind"] != "place"):
                    continue
                try:
                    wkb = wkb_factory.create_multipolygon(obj)
                except RuntimeError:  # broken ring: osmium cannot assemble it
                    skipped += 1
                    continue
                shape = shapely.from_wkb(bytes.fromhex(wkb) if isinstance(wkb, str) else wkb)
                point = shapely.point_on_surface(shape)
                things.append(
                    {
                        **record,
                        "osm_type": "w" if obj.from_way() else "r",
                        "osm_id": obj.orig_id(),
                        "x": point.x,
                        "y": point.y,
                    }
                )
    except RuntimeError as exc:  # libosmium reports malformed input as RuntimeError
        raise InputError("file_unreadable", path=path, reason=str(exc).strip()) from exc
    for row in things:
        if row["kind"] == "house_number":
            row["name"] = address_label(row["street"], row["housenumber"])
            row["names"] = (row["name"],)
    things = _split_numbers(things)
    roads = _merge_roads(road_ways)
    frame = pd.DataFrame(things + roads)
    if frame.empty:
        raise InputError("osm_no_places", path=path)
    for column in ("line", "city", "district", "postcode", "place", "tag", "housenumber"):
        if column not in frame:
            frame[column] = None
    geometry = shapely.points(frame["x"].to_numpy(float), frame["y"].to_numpy(float))
    columns = [
        "osm_type",
        "osm_id",
        "kind",
        "name",
        "names",
        "tag",
        "place",
        "housenumber",
        "street",
        "city",
        "district",
        "postcode",
        "line",
    ]
    result = gpd.GeoDataFrame(
        frame[columns].astype({"osm_id": np.int64}).replace({np.nan: None}),
        geometry=geometry,
        crs="EPSG:4326",
    )
    LOGGER.info(
        "%s: %s named things (%d areas not assembled)",
        path,
        result["kind"].value_counts().to_dict(),
        skipped,
    )
    return OsmPlaces(source=str(path), frame=result, skipped_areas=skipped)


def _way_parts(way: Any) -> list[list[tuple[float, float]]]:
    """The way's coordinates, split where a node lies outside the extract (bbox cut)."""
    parts: list[list[tuple[float, float]]] = [[]]
    for ref in way.nodes:
        if ref.location.valid():
            parts[-1].append((ref.location.lon, ref.location.lat))
        elif parts[-1]:
            parts.append([])
    return [p for p in parts if len(p) >= 2]


def _merge_roads(ways: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One road per cluster of same-named ways within ROAD_JOIN_M of each other.

    Distances are measured in the local metric CRS of the extract; the clusters are the
    connected components of the "within ROAD_JOIN_M" graph (one STRtree query per name).
    """
    if not ways:
        return []
    lines = [shapely.MultiLineString(w["parts"]) for w in ways]
    first = shapely.get_point(shapely.get_geometry(lines[0], 0), 0)
    crs = local_metric_crs(first.x, first.y)

    def to_metric(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(lonlat_to_metric(xy[:, 0], xy[:, 1], crs))

    metric = shapely.transform(np.array(lines, dtype=object), to_metric)
    by_name: dict[str, list[int]] = {}
    for i, way in enumerate(ways):
        by_name.setdefault(way["names"][0], []).append(i)
    roads = []
    for name, members in by_name.items():
        group = metric[members]
        tree = shapely.STRtree(group)
        left, right = tree.query(group, predicate="dwithin", distance=ROAD_JOIN_M)
        n = len(members)
        graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        for cluster in np.unique(label):
            picked = [members[i] for i in np.flatnonzero(label == cluster)]
            parts = [p for i in picked for p in ways[i]["parts"]]
            line = shapely.MultiLineString(parts)
            # the point of the road nearest its middle: on the road, not beside a curve
            point = shapely.line_interpolate_point(
                line, shapely.line_locate_point(line, shapely.centroid(line))
            )
            names = dict.fromkeys(nm for i in picked for nm in ways[i]["names"])
            roads.append(
                {
                    "osm_type": "w",
                    "osm_id": min(ways[i]["osm_id"] for i in picked),
                    "kind": "road",
                    "name": name,
                    "names": tuple(names),
                    "tag": "highway",
                    "street": name,
                    "line": line,
                    "x": point.x,
                    "y": point.y,
                }
            )
    return roads
