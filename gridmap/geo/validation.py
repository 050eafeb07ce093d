"""Surveyor's checks on a layer of units: nesting in parents, sibling overlaps and gaps,
slivers. Pure geometry in a local metric CRS; the import decides what blocks a commit.

Tolerances are widths in metres: an overlap or gap thinner than the tolerance everywhere (the
usual digitising noise along a shared edge) vanishes under a negative buffer of half the
tolerance and is ignored; anything wider is reported with its area and location.

Most units of a real layer have nothing to report, so each check first settles the common
case with a cheap test that can only err on the side of looking closer (a unit inside its
parent grown by a quarter of the tolerance, eroded neighbours that do not meet, a parent
shrunk by a quarter of the tolerance inside its children's union), and runs the exact
overlay only on what is left. The quarter (not half) leaves a margin for the polygonal
approximation of buffers, so the quick test never drops what the exact one would report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyproj
import shapely

from gridmap.geo.crs import WGS84, local_metric_crs
from gridmap.geo.geometry import to_valid_multipolygons

LOGGER = logging.getLogger(__name__)

ERROR = "error"
WARNING = "warning"
ALLOWED = "allowed"  # an error the admin accepted for this layer (recorded in the report)
# every kind of finding this module produces (the import's --allow takes these)
CHECK_KEYS = (
    "check_overlap",
    "check_gap",
    "check_enclosed_gap",
    "check_outside_parent",
    "check_several_parents",
    "check_sliver",
    "code_malformed",
    "code_not_under_parent",
)
# Polsby-Popper compactness (4 pi A / P^2) below which a small polygon counts as a sliver
_SLIVER_COMPACTNESS = 0.1
_MAX_LISTED = 50  # findings of one kind listed in full; the rest are counted
_GRID_M = 0.001  # metric coordinates snapped to 1 mm
# the quick tests grow or shrink by this share of the tolerance (see the module docstring)
_QUICK_SHARE = 0.25


@dataclass(frozen=True)
class Tolerances:
    """Widths and areas (metres, m2) under which a defect is digitising noise."""

    width_m: float = 0.5
    sliver_area_m2: float = 50.0


@dataclass
class Finding:
    """One problem found: a message key and its parameters, where it is and how big."""

    severity: str
    key: str
    params: dict[str, Any]
    lon: float | None = None
    lat: float | None = None
    area_m2: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "key": self.key,
            "params": self.params,
            "lon": self.lon,
            "lat": self.lat,
            "area_m2": self.area_m2,
        }


@dataclass
class LayerCheck:
    """The findings, and each unit's area in m2 (measured in the local metric CRS, corrected
    by the projection's areal scale at the unit's centroid: ellipsoidal to ~1e-9 for cells)."""

    findings: list[Finding]
    areas_m2: np.ndarray


@dataclass
class _Projected:
    """Geometries in the local metric CRS, and the way back to lon/lat for locations."""

    crs: pyproj.CRS
    to_lonlat: pyproj.Transformer
    geoms: np.ndarray
    parents: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))


def _project(geoms: np.ndarray, parents: np.ndarray) -> _Projected:
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    crs = local_metric_crs((x0 + x1) / 2, (y0 + y1) / 2)
    forward = pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = forward.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    def metric(values: np.ndarray) -> np.ndarray:
        # Snap to a 1 mm grid: reprojected real-world rings can self-touch by a hair, which
        # makes GEOS overlays fail ("non-noded intersection"); the grid keeps them robust.
        # pointwise: round the coordinates only (15x faster than noding); one repair
        # afterwards fixes both a ring the projection made invalid and one the rounding did
        snapped = shapely.set_precision(
            shapely.transform(values, project), _GRID_M, mode="pointwise"
        )
        return to_valid_multipolygons(snapped).geometries

    return _Projected(
        crs=crs,
        to_lonlat=pyproj.Transformer.from_crs(crs, WGS84, always_xy=True),
        geoms=metric(geoms),
        parents=metric(parents) if len(parents) else parents,
    )


def _wide_parts(pieces: np.ndarray, width_m: float) -> np.ndarray:
    """Keep the pieces that are wider than ``width_m`` somewhere (survive a -w/2 buffer)."""
    if len(pieces) == 0:
        return pieces
    pieces = pieces[~shapely.is_empty(pieces)]
    core = shapely.buffer(pieces, -width_m / 2.0)
    return pieces[~shapely.is_empty(core)]


def _where(projected: _Projected, geom: Any) -> tuple[float, float]:
    point = shapely.point_on_surface(geom)
    lon, lat = projected.to_lonlat.transform(point.x, point.y)
    return round(float(lon), 7), round(float(lat), 7)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Polygons only, exploded (intersections may return lines and points as well)."""
    parts = shapely.get_parts(geoms)
    kinds = shapely.get_type_id(parts)
    return parts[np.isin(kinds, [shapely.GeometryType.POLYGON])]


def check_layer(
    codes: np.ndarray,
    geoms: np.ndarray,
    *,
    assigned_parents: np.ndarray | None = None,
    parent_codes: np.ndarray | None = None,
    parent_geoms: np.ndarray | None = None,
    tolerances: Tolerances = Tolerances(),
) -> LayerCheck:
    """Check a complete level (all siblings) against its parent level, if there is one.

    Parameters
    ----------
    codes, geoms
        the units of the level being imported (EPSG:4326, valid MultiPolygons).
    assigned_parents
        each unit's parent code (from the parent field or by geometry; None if none).
    parent_codes, parent_geoms
        the parent level's units in the generation being built (EPSG:4326).
    """
    if parent_geoms is None or parent_codes is None:
        parent_geoms = np.empty(0, dtype=object)
        parent_codes = np.empty(0, dtype=object)
    geoms = np.asarray(geoms, dtype=object)
    projected = _project(geoms, np.asarray(parent_geoms, dtype=object))
    centroids = shapely.centroid(geoms)
    scale = (
        pyproj.Proj(projected.crs)
        .get_factors(shapely.get_x(centroids), shapely.get_y(centroids))
        .areal_scale
    )
    areas_m2 = shapely.area(projected.geoms) / np.asarray(scale)
    assigned = np.full(len(codes), -1)
    if len(parent_geoms) and assigned_parents is not None:
        position = {str(c): i for i, c in enumerate(parent_codes)}
        assigned = np.array(
            [position.get(str(p), -1) if p is not None else -1 for p in assigned_parents]
        )
    clean = _clean_groups(projected.geoms, assigned)
    findings: list[Finding] = []
    findings += _overlaps(codes, projected, tolerances, assigned, clean)
    findings += _slivers(codes, projected, tolerances)
    if len(parent_geoms):
        findings += _nesting(codes, parent_codes, assigned, projected, tolerances)
        findings += _gaps_in_parents(parent_codes, assigned, projected, tolerances, clean)
    else:
        findings += _holes_between_siblings(projected, tolerances)
    return LayerCheck(findings, areas_m2)


def _clean_groups(geoms: np.ndarray, group: np.ndarray) -> dict[int, bool]:
    """Per parent (-1: units without one), whether its children form a valid coverage (no
    overlaps, edges matching; GEOS's near-linear check): such siblings need no pairwise
    overlap test and union by dissolving shared edges."""
    return {int(g): bool(shapely.coverage_is_valid(geoms[group == g])) for g in np.unique(group)}


def _overlaps(
    codes: np.ndarray,
    projected: _Projected,
    tol: Tolerances,
    group: np.ndarray,
    clean: dict[int, bool],
) -> list[Finding]:
    geoms = projected.geoms
    left, right = shapely.STRtree(geoms).query(geoms)  # bounding boxes meet
    same_clean = (group[left] == group[right]) & np.array(
        [clean[int(g)] for g in group[left]], dtype=bool
    )
    keep = (left < right) & ~same_clean
    left, right = left[keep], right[keep]
    # interiors meet in an area ("2********"): unlike "overlaps", this also catches a unit
    # inside another and the same polygon twice; neighbours sharing only an edge do not match
    keep = shapely.relate_pattern(geoms[left], geoms[right], "2********")
    left, right = left[keep], right[keep]
    if len(left) and tol.width_m > 0:
        # An overlap has a part wider than w exactly where both units, eroded by w/2, still
        # meet (erosion distributes over intersection); eroding by less keeps a margin. The
        # common case, a hair-thin overlap along a shared edge, ends here without overlay.
        involved = np.unique(np.concatenate([left, right]))
        eroded = np.empty(len(geoms), dtype=object)
        eroded[involved] = shapely.buffer(geoms[involved], -_QUICK_SHARE * tol.width_m)
        shapely.prepare(eroded[involved])
        keep = shapely.intersects(eroded[left], eroded[right])
        left, right = left[keep], right[keep]
    if len(left) == 0:
        return []
    shared = shapely.intersection(projected.geoms[left], projected.geoms[right])
    findings = []
    for a, b, piece in zip(left, right, shared, strict=True):
        wide = _wide_parts(_polygonal(np.array([piece], dtype=object)), tol.width_m)
        if len(wide):
            area = float(shapely.area(wide).sum())
            lon, lat = _where(projected, wide[0])
            findings.append(
                Finding(
                    ERROR,
                    "check_overlap",
                    {"code": str(codes[a]), "other": str(codes[b]), "area_m2": round(area, 1)},
                    lon,
                    lat,
                    area,
                )
            )
    return findings


def _slivers(codes: np.ndarray, projected: _Projected, tol: Tolerances) -> list[Finding]:
    parts = shapely.get_parts(projected.geoms, return_index=True)
    pieces, owner = parts
    area = shapely.area(pieces)
    perimeter = shapely.length(pieces)
    compact = np.where(perimeter > 0, 4 * np.pi * area / np.maximum(perimeter, 1e-9) ** 2, 1.0)
    thin = (area < tol.sliver_area_m2) & (compact < _SLIVER_COMPACTNESS)
    findings = []
    for i in np.flatnonzero(thin):
        lon, lat = _where(projected, pieces[i])
        findings.append(
            Finding(
                WARNING,
                "check_sliver",
                {"code": str(codes[owner[i]]), "area_m2": round(float(area[i]), 1)},
                lon,
                lat,
                float(area[i]),
            )
        )
    return findings


def _nesting(
    codes: np.ndarray,
    parent_codes: np.ndarray,
    assigned: np.ndarray,
    projected: _Projected,
    tol: Tolerances,
) -> list[Finding]:
    """Each child inside its own parent (beyond the tolerance), and in no other."""
    children, parents = projected.geoms, projected.parents
    has_parent = assigned >= 0
    inside = np.zeros(len(children), dtype=bool)
    # the common case, settled with one vectorised predicate on prepared geometries: inside
    # its parent grown by part of the tolerance (whatever sticks out is then narrower than
    # the tolerance: the exact test below would find nothing wide enough to report)
    grown = shapely.buffer(parents, _QUICK_SHARE * tol.width_m) if tol.width_m > 0 else parents
    shapely.prepare(grown)
    inside[has_parent] = shapely.covers(grown[assigned[has_parent]], children[has_parent])
    tree = shapely.STRtree(parents)
    findings = []
    for i in np.flatnonzero(has_parent & ~inside):
        own = parents[assigned[i]]
        outside = _wide_parts(
            _polygonal(np.array([shapely.difference(children[i], own)], dtype=object)),
            tol.width_m,
        )
        if not len(outside):
            continue
        area = float(shapely.area(outside).sum())
        lon, lat = _where(projected, outside[0])
        others = [
            str(parent_codes[p])
            for p in tree.query(children[i], predicate="intersects")
            if p != assigned[i] and _wide_overlap(children[i], parents[p], tol.width_m)
        ]
        params = {
            "code": str(codes[i]),
            "parent": str(parent_codes[assigned[i]]),
            "area_m2": round(area, 1),
        }
        if others:
            params["parents"] = ", ".join(others)
            findings.append(Finding(ERROR, "check_several_parents", params, lon, lat, area))
        else:
            findings.append(Finding(ERROR, "check_outside_parent", params, lon, lat, area))
    return findings


def _wide_overlap(a: Any, b: Any, width_m: float) -> bool:
    pieces = _polygonal(np.array([shapely.intersection(a, b)], dtype=object))
    return bool(len(_wide_parts(pieces, width_m)))


def _gaps_in_parents(
    parent_codes: np.ndarray,
    assigned: np.ndarray,
    projected: _Projected,
    tol: Tolerances,
    clean: dict[int, bool],
) -> list[Finding]:
    """Area of each parent that none of its own children covers, wider than the tolerance."""
    children, parents = projected.geoms, projected.parents
    # a gap wider than the tolerance leaves part of the parent, shrunk by a share of the
    # tolerance, outside the children: if the shrunk parent is covered, there is none
    shrunk = shapely.buffer(parents, -_QUICK_SHARE * tol.width_m) if tol.width_m > 0 else parents
    findings = []
    for p in np.unique(assigned[assigned >= 0]):
        # a parent without children is reported by the import (lost children), not here;
        # a valid coverage unions by dissolving shared edges, much faster than overlay
        union = (shapely.coverage_union_all if clean[int(p)] else shapely.union_all)(
            children[assigned == p]
        )
        if shapely.covers(union, shrunk[p]):
            continue
        left = shapely.difference(parents[p], union)
        for piece in _wide_parts(_polygonal(np.array([left], dtype=object)), tol.width_m):
            area = float(shapely.area(piece))
            lon, lat = _where(projected, piece)
            params = {"parent": str(parent_codes[p]), "area_m2": round(area, 1)}
            findings.append(Finding(ERROR, "check_gap", params, lon, lat, area))
    return findings


def _holes_between_siblings(projected: _Projected, tol: Tolerances) -> list[Finding]:
    """Without a parent level, a hole enclosed by the siblings' union is a likely gap."""
    union = shapely.union_all(projected.geoms)
    holes = [shapely.Polygon(ring) for poly in shapely.get_parts(union) for ring in poly.interiors]
    findings = []
    for piece in _wide_parts(np.array(holes, dtype=object), tol.width_m):
        area = float(shapely.area(piece))
        lon, lat = _where(projected, piece)
        findings.append(
            Finding(WARNING, "check_enclosed_gap", {"area_m2": round(area, 1)}, lon, lat, area)
        )
    return findings


def summarise(findings: list[Finding]) -> list[dict[str, Any]]:
    """Findings as dicts, at most ``_MAX_LISTED`` of each kind (the report stays readable)."""
    seen: dict[str, int] = {}
    listed = []
    for finding in findings:
        seen[finding.key] = seen.get(finding.key, 0) + 1
        if seen[finding.key] <= _MAX_LISTED:
            listed.append(finding.as_dict())
    return listed
