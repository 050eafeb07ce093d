"""Cell generation: cut parent units into cells along roads, or lay a regular grid, aiming at
a target area, and number the cells west to east, north to south. Metric CRS in, metric out.

The road method follows how 单元网格 are drawn: along roads first (a block is what roads
enclose), then big blocks are split and small ones merged toward the target area (the Beijing
method's ~10,000 m2).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

LOGGER = logging.getLogger(__name__)

METHODS = ("roads", "square", "hex")
_NODING_GRID_M = 0.01


@dataclass(frozen=True)
class GridSpec:
    """How to cut: method, target area (m2), and the band of acceptable sizes around it."""

    method: str = "roads"
    target_area_m2: float = 10_000.0
    min_fraction: float = 0.4  # pieces smaller than this x target merge into a neighbour
    max_fraction: float = 1.6  # blocks larger than this x target are split

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        if not (self.target_area_m2 > 0 and math.isfinite(self.target_area_m2)):
            raise ValueError("target area must be a positive number of m2")


def cut_by_lines(parent: BaseGeometry, lines: np.ndarray) -> list[BaseGeometry]:
    """The blocks ``lines`` cut ``parent`` into (dangling line ends cut nothing)."""
    if len(lines) == 0:
        return [parent]
    near = lines[shapely.intersects(lines, parent)]
    if len(near) == 0:
        return [parent]
    # Node everything (roads with each other and with the parent's edge) on a 1 cm grid before
    # polygonizing: at projected coordinates in the millions, a road clipped to the parent
    # ends a hair off its edge and would close no ring. Unclipped roads also node cleanly;
    # the pieces outside the parent are dropped below.
    noded = shapely.union_all(
        np.concatenate([near, [shapely.boundary(parent)]]), grid_size=_NODING_GRID_M
    )
    pieces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    inside = shapely.covered_by(shapely.point_on_surface(pieces), parent)
    blocks = list(pieces[inside])
    return blocks or [parent]


def _long_axis(poly: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Centre and unit direction of the long side of the minimum rotated rectangle."""
    ring = shapely.get_coordinates(shapely.minimum_rotated_rectangle(poly))
    edges = np.diff(ring[:3], axis=0)
    longest = edges[np.argmax(np.hypot(edges[:, 0], edges[:, 1]))]
    direction = longest / max(float(np.hypot(*longest)), 1e-9)
    return np.asarray(poly.centroid.coords[0]), direction


def _cut_at(poly: BaseGeometry, centre: np.ndarray, direction: np.ndarray, offset: float):
    """The parts of ``poly`` before and after the line across ``direction`` at ``offset``."""
    normal = np.array([-direction[1], direction[0]])
    reach = math.sqrt(poly.area) * 10 + poly.length
    base = centre + direction * offset
    half = shapely.Polygon(
        [
            base + normal * reach,
            base + normal * reach - direction * reach,
            base - normal * reach - direction * reach,
            base - normal * reach,
        ]
    )
    return shapely.intersection(poly, half), shapely.difference(poly, half)


def split_to_target(poly: BaseGeometry, spec: GridSpec) -> list[BaseGeometry]:
    """Split a block into about area/target pieces by cuts across its long axis, each cut
    placed (by bisection) so the pieces get areas in proportion to their share of cells."""
    count = round(poly.area / spec.target_area_m2)
    if count <= 1 or poly.area <= spec.max_fraction * spec.target_area_m2:
        return [poly]
    first = count // 2
    share = first / count
    centre, direction = _long_axis(poly)
    coords = shapely.get_coordinates(poly)
    along = (coords - centre) @ direction
    low, high = float(along.min()), float(along.max())
    for _ in range(40):  # bisection on the cut position: area before the cut = share
        middle = (low + high) / 2
        before, _after = _cut_at(poly, centre, direction, middle)
        if before.area < share * poly.area:
            low = middle
        else:
            high = middle
    before, after = _cut_at(poly, centre, direction, (low + high) / 2)
    pieces: list[BaseGeometry] = []
    for part in (before, after):
        for piece in shapely.get_parts(part):
            if piece.geom_type == "Polygon" and piece.area > 0:
                pieces.extend(split_to_target(piece, spec))
    return pieces


def _merge_into_neighbour(cells: list[BaseGeometry], i: int) -> bool:
    """Merge ``cells[i]`` into the neighbour sharing the longest boundary; False if none."""
    tree = shapely.STRtree(cells)
    shared = [
        (shapely.length(shapely.intersection(cells[i].boundary, cells[j].boundary)), j)
        for j in tree.query(cells[i], predicate="intersects")
        if j != i
    ]
    shared = [(length, j) for length, j in shared if length > 0]
    if not shared:
        return False
    _length, j = max(shared)
    cells[j] = shapely.union(cells[j], cells[i])
    del cells[i]
    return True


def merge_small(pieces: list[BaseGeometry], spec: GridSpec) -> list[BaseGeometry]:
    """Merge each piece under min_fraction x target into the neighbour it shares the longest
    boundary with, smallest first, until none is left that has a neighbour."""
    cells = [p for p in pieces if p.area > 0]
    limit = spec.min_fraction * spec.target_area_m2
    while True:
        small = sorted(
            (i for i, c in enumerate(cells) if c.area < limit), key=lambda i: cells[i].area
        )
        # indices move after a merge: start again from the smallest remaining piece
        if not any(_merge_into_neighbour(cells, i) for i in small):
            return cells


def merge_to_count(pieces: list[BaseGeometry], count: int) -> list[BaseGeometry]:
    """Merge the smallest piece into a neighbour until at most ``count`` pieces are left
    (e.g. as many street polygons as the district has real streets to label them with)."""
    cells = [p for p in pieces if p.area > 0]
    while len(cells) > max(count, 1):
        order = sorted(range(len(cells)), key=lambda i: cells[i].area)
        if not any(_merge_into_neighbour(cells, i) for i in order):
            break  # islands without neighbours: cannot merge further
    return cells


def regular_grid(parent: BaseGeometry, spec: GridSpec) -> list[BaseGeometry]:
    """Squares or hexagons of the target area over the parent, clipped to it."""
    x0, y0, x1, y1 = parent.bounds
    if spec.method == "square":
        side = math.sqrt(spec.target_area_m2)
        xs, ys = np.arange(x0, x1, side), np.arange(y0, y1, side)
        cells = [shapely.box(x, y, x + side, y + side) for x in xs for y in ys]
    else:
        side = math.sqrt(2 * spec.target_area_m2 / (3 * math.sqrt(3)))  # flat-topped hexagon
        width, height = 2 * side, math.sqrt(3) * side
        angles = np.radians(np.arange(0, 360, 60))
        unit = np.column_stack([np.cos(angles), np.sin(angles)]) * side
        cells = []
        for col, cx in enumerate(np.arange(x0, x1 + width, 0.75 * width)):
            shift = height / 2 if col % 2 else 0.0
            for cy in np.arange(y0 - shift, y1 + height, height):
                cells.append(shapely.Polygon(unit + np.array([cx, cy])))
    clipped = shapely.intersection(np.array(cells, dtype=object), parent)
    return [p for p in shapely.get_parts(clipped) if p.geom_type == "Polygon" and p.area > 0]


def make_cells(
    parent: BaseGeometry, spec: GridSpec, lines: np.ndarray | None = None
) -> list[BaseGeometry]:
    """Cells for one parent (metric CRS), before numbering."""
    if spec.method == "roads":
        blocks = cut_by_lines(parent, lines if lines is not None else np.empty(0, dtype=object))
        pieces = [piece for block in blocks for piece in split_to_target(block, spec)]
    else:
        pieces = regular_grid(parent, spec)
    return merge_small(pieces, spec)


def number_order(cells: list[BaseGeometry]) -> np.ndarray:
    """Order of ``cells`` west to east within rows, rows north to south (the code order).

    Rows are found, not imposed: going north to south by each cell's point-on-surface, a cell
    starts a new row when it lies more than half a typical cell height below the row's first
    cell, so ragged road blocks still read like lines of text.
    """
    geoms = np.array(cells, dtype=object)
    points = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(points), shapely.get_y(points)
    bounds = shapely.bounds(geoms)
    half_height = 0.5 * float(np.median(bounds[:, 3] - bounds[:, 1]))
    row = np.empty(len(cells), dtype=np.int64)
    current, top = -1, np.inf
    for i in np.argsort(-y, kind="stable"):
        if y[i] < top - half_height:
            current, top = current + 1, y[i]
        row[i] = current
    return np.lexsort((x, row))


def area_summary(areas_m2: np.ndarray, target_m2: float) -> dict[str, float]:
    """The distribution a planner checks: quantiles and the share near the target."""
    if len(areas_m2) == 0:
        return {"cells": 0}
    q = np.percentile(areas_m2, [0, 10, 50, 90, 100])
    near = np.mean((areas_m2 >= 0.5 * target_m2) & (areas_m2 <= 1.5 * target_m2))
    return {
        "cells": len(areas_m2),
        "min": round(float(q[0]), 1),
        "p10": round(float(q[1]), 1),
        "median": round(float(q[2]), 1),
        "p90": round(float(q[3]), 1),
        "max": round(float(q[4]), 1),
        "mean": round(float(np.mean(areas_m2)), 1),
        "share_within_50pct_of_target": round(float(near), 3),
    }
