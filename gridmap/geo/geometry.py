"""Geometry repair: any polygonal input becomes a valid 2-D MultiPolygon, or is refused."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

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
    """Repair (make_valid, keep polygonal parts), drop Z/M and promote to MultiPolygon."""
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms)
    had_z = np.zeros(len(geoms), dtype=bool)
    had_z[~missing] = shapely.has_z(geoms[~missing])
    flat = geoms.copy()
    flat[had_z] = shapely.force_2d(geoms[had_z])

    problem: list[str | None] = [None] * len(flat)
    out = np.empty(len(flat), dtype=object)
    repaired = np.zeros(len(flat), dtype=bool)
    for i, geom in enumerate(flat):
        # A plain loop: only the rare invalid or non-polygonal inputs take the slow branch;
        # the common valid polygon is checked and promoted by vectorised calls below.
        if geom is None or geom.is_empty:
            problem[i] = "empty"
            continue
        if geom.geom_type not in POLYGONAL:
            problem[i] = geom.geom_type
            continue
        out[i] = geom
    ok = np.array([p is None for p in problem], dtype=bool)
    if ok.any():
        invalid = ok.copy()
        invalid[ok] = ~shapely.is_valid(out[ok].astype(object))
        for i in np.flatnonzero(invalid):
            fixed = _polygonal_part(shapely.make_valid(out[i]))
            if fixed.is_empty:
                problem[i] = "empty"
                ok[i] = False
                out[i] = None
            else:
                out[i] = fixed
                repaired[i] = True
        single = ok & (shapely.get_type_id(out) == shapely.GeometryType.POLYGON)
        out[single] = [shapely.MultiPolygon([g]) for g in out[single]]
    return RepairResult(out, repaired, had_z, problem)
