"""Geometry repair: any polygonal input becomes a valid 2-D MultiPolygon, or is refused."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

LOGGER = logging.getLogger(__name__)

POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class RepairResult:
    """Repaired geometries plus what happened to each input, index-aligned with the input."""

    geometries: np.ndarray  # MultiPolygon or None where refused
    repaired: np.ndarray  # bool: was invalid, made valid
    had_z: np.ndarray  # bool: Z/M dropped
    problem: list[str | None]  # None, "empty" or the refused geometry type


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """make_valid may return a GeometryCollection with stray lines/points: keep the area."""
    if geom.geom_type in POLYGONAL:
        return geom
    polygons = [g for g in getattr(geom, "geoms", []) if g.geom_type in POLYGONAL]
    return shapely.union_all(polygons) if polygons else shapely.Polygon()


def to_valid_multipolygons(geoms: np.ndarray) -> RepairResult:
    """Repair (make_valid, keep polygonal parts), drop Z/M and promote to MultiPolygon.

    Vectorised: only the (rare) invalid geometries are repaired one by one.
    """
    flat = np.asarray(geoms, dtype=object).copy()
    missing = shapely.is_missing(flat)
    had_z = np.zeros(len(flat), dtype=bool)
    had_z[~missing] = shapely.has_z(flat[~missing])
    flat[had_z] = shapely.force_2d(flat[had_z])

    type_id = shapely.get_type_id(flat)  # -1 where missing
    empty = missing | shapely.is_empty(flat)
    polygonal = np.isin(type_id, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    problem: list[str | None] = [
        "empty" if empty[i] else (None if polygonal[i] else flat[i].geom_type)
        for i in range(len(flat))
    ]
    ok = polygonal & ~empty
    out = np.full(len(flat), None, dtype=object)
    out[ok] = flat[ok]
    repaired = np.zeros(len(flat), dtype=bool)
    invalid = ok.copy()
    invalid[ok] = ~shapely.is_valid(out[ok])
    for index in np.flatnonzero(invalid):
        fixed = _polygonal_part(shapely.make_valid(out[index]))
        if fixed.is_empty:
            problem[index], ok[index], out[index] = "empty", False, None
        else:
            out[index], repaired[index] = fixed, True
    single = ok & (shapely.get_type_id(out) == shapely.GeometryType.POLYGON)
    # indices: one MultiPolygon per input row (without them shapely merges the whole array)
    out[single] = shapely.multipolygons(out[single], indices=np.arange(int(single.sum())))
    return RepairResult(out, repaired, had_z, problem)


def ewkb_hex(geoms: np.ndarray) -> np.ndarray:
    """Hex EWKB with SRID 4326: what COPY hands to a geometry(..., 4326) column."""
    return np.asarray(shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True))
