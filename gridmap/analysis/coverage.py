"""Per-unit coverage: share of area, buildings and population within each travel-time band.

A model is built once per (network, units, buildings, population): sample points on a regular
grid (area) and buildings (count, population) are snapped to the network and assigned to their
unit on every level. Evaluating a set of facilities is then a Dijkstra pass plus a few
``bincount`` calls, which is what makes what-if changes interactive.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from gridmap.analysis.isochrones import Network, NodeTimes, Snap, point_distances, snap_geometries
from gridmap.analysis.locate import UnitIndex

LOGGER = logging.getLogger(__name__)

UNIT_COLUMNS = [
    "level",
    "code",
    "name",
    "minutes",
    "area_m2",
    "covered_area_m2",
    "buildings",
    "covered_buildings",
    "population",
    "covered_population",
]

# floor height assumed when a building gives its height but not its levels (metres)
METRES_PER_LEVEL = 3.0


def floor_area_m2(footprint_m2: np.ndarray, levels: np.ndarray, height_m: np.ndarray) -> np.ndarray:
    """Footprint x levels: ``building:levels`` if tagged, else height / 3 m, else one level."""
    from_height = np.maximum(np.round(np.asarray(height_m, float) / METRES_PER_LEVEL), 1.0)
    n_levels = np.where(
        np.isfinite(levels) & (levels > 0),
        levels,
        np.where(np.isfinite(from_height), from_height, 1.0),
    )
    return np.asarray(footprint_m2, float) * n_levels


def study_extent(network: Network, *, width_m: float) -> shapely.Geometry:
    """Where the network can tell anything: the hull of its largest component, plus the street
    width (metric CRS). Areas outside an extract are not "uncovered", they are unknown."""
    nodes = shapely.points(
        network.node_x[network.node_in_largest], network.node_y[network.node_in_largest]
    )
    return shapely.convex_hull(shapely.multipoints(nodes)).buffer(width_m)


def unit_levels_of(index: UnitIndex, deepest: np.ndarray) -> np.ndarray:
    """For each point's deepest unit, the unit on every level: shape (points, levels), -1 = none."""
    out = np.full((len(deepest), len(index.levels)), -1, dtype=np.int64)
    current = deepest.copy()
    for _ in range(len(index.levels) + 1):
        active = current >= 0
        if not active.any():
            break
        rank = index.unit_rank[current[active]]
        rows = np.flatnonzero(active)
        good = rank >= 0
        out[rows[good], rank[good]] = current[active][good]
        current[active] = index.unit_parent[current[active]]
    return out


@dataclass
class CoverageModel:
    """Demand points ready for fast evaluation.

    Parameters
    ----------
    unit_level, unit_code, unit_name
        every unit of the generation (one entry per unit; indices used below).
    grid_snap, grid_units
        sample points (each standing for ``grid_m`` x ``grid_m``) snapped to the network, and
        their unit on every level (shape points x levels).
    building_snap, building_units
        the same for buildings inside the study extent.
    grid_population, building_population
        residents carried by each point (NaN where the unit's count is unknown).
    """

    levels: Sequence[str]
    unit_level: np.ndarray
    unit_code: np.ndarray
    unit_name: np.ndarray
    grid_m: float
    grid_snap: Snap
    grid_units: np.ndarray
    building_snap: Snap
    building_units: np.ndarray
    grid_population: np.ndarray
    building_population: np.ndarray
    population_level: str | None
    population_missing: list[str]

    @property
    def has_population(self) -> bool:
        return self.population_level is not None

    def demand(self) -> tuple[Snap, np.ndarray]:
        """Population carriers (buildings and sample points) and their residents (0 if none)."""
        snap = Snap.concat([self.building_snap, self.grid_snap])
        weights = np.nan_to_num(
            np.concatenate([self.building_population, self.grid_population]), nan=0.0
        )
        return snap, weights

    def evaluate(
        self, network: Network, times: NodeTimes, *, budgets_m: Mapping[int, float]
    ) -> pd.DataFrame:
        """One row per (unit, band): area, buildings, population and the parts within the band.

        ``budgets_m`` maps each band's minutes to its distance budget. Vectorised: each point
        contributes to its unit on every level through one flattened ``bincount``.
        """
        n_units = len(self.unit_code)
        if n_units == 0 or not len(self.levels):
            return pd.DataFrame(columns=UNIT_COLUMNS)
        grid_d = point_distances(network, times, self.grid_snap)
        building_d = point_distances(network, times, self.building_snap)
        g_units = self.grid_units.ravel()
        b_units = self.building_units.ravel()
        n_levels = len(self.levels)
        g_ok, b_ok = g_units >= 0, b_units >= 0

        def total(units: np.ndarray, ok: np.ndarray, weights: np.ndarray) -> np.ndarray:
            return np.bincount(units[ok], weights=weights[ok], minlength=n_units)

        cell = self.grid_m**2
        g_ones = np.repeat(np.ones(len(grid_d)), n_levels)
        b_ones = np.repeat(np.ones(len(building_d)), n_levels)
        g_pop = np.repeat(self.grid_population, n_levels)
        b_pop = np.repeat(self.building_population, n_levels)
        pop_known = total(g_units, g_ok, np.isfinite(g_pop) * 1.0) + total(
            b_units, b_ok, np.isfinite(b_pop) * 1.0
        )
        g_pop0, b_pop0 = np.nan_to_num(g_pop), np.nan_to_num(b_pop)
        area = total(g_units, g_ok, g_ones) * cell
        buildings = total(b_units, b_ok, b_ones)
        population = total(g_units, g_ok, g_pop0) + total(b_units, b_ok, b_pop0)
        population = np.where(pop_known > 0, population, np.nan)
        frames = []
        for minutes, budget in sorted(budgets_m.items()):
            g_in = np.repeat(grid_d <= budget, n_levels)
            b_in = np.repeat(building_d <= budget, n_levels)
            covered_pop = total(g_units, g_ok & g_in, g_pop0) + total(b_units, b_ok & b_in, b_pop0)
            frames.append(
                pd.DataFrame(
                    {
                        "unit": np.arange(n_units),
                        "minutes": minutes,
                        "area_m2": area,
                        "covered_area_m2": total(g_units, g_ok & g_in, g_ones) * cell,
                        "buildings": buildings.astype(np.int64),
                        "covered_buildings": total(b_units, b_ok & b_in, b_ones).astype(np.int64),
                        "population": population,
                        "covered_population": np.where(pop_known > 0, covered_pop, np.nan),
                    }
                )
            )
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if len(table):
            table.insert(1, "level", self.unit_level[table["unit"]])
            table.insert(2, "code", self.unit_code[table["unit"]])
            table.insert(3, "name", self.unit_name[table["unit"]])
            table = table[table["area_m2"] > 0].drop(columns="unit").reset_index(drop=True)
        return table

    def summary(
        self,
        network: Network,
        times: NodeTimes,
        *,
        budget_m: float,
        target_share: float,
    ) -> dict[str, float | bool | None]:
        """The whole study area against the target: shares within ``budget_m``.

        The target is judged on population when counts exist, else on buildings, else area.
        """
        grid_in = point_distances(network, times, self.grid_snap) <= budget_m
        building_in = point_distances(network, times, self.building_snap) <= budget_m
        area_share = float(grid_in.mean()) if len(grid_in) else None
        building_share = float(building_in.mean()) if len(building_in) else None
        pop = np.concatenate([self.grid_population, self.building_population])
        inside = np.concatenate([grid_in, building_in])
        known = np.isfinite(pop)
        pop_total = float(pop[known].sum())
        pop_share = float(pop[known & inside].sum() / pop_total) if pop_total > 0 else None
        judged = next((s for s in (pop_share, building_share, area_share) if s is not None), 0.0)
        return {
            "area_share": area_share,
            "building_share": building_share,
            "population": pop_total if pop_total > 0 else None,
            "population_share": pop_share,
            "target_share": target_share,
            "target_met": bool(judged >= target_share),
        }


def build_model(
    network: Network,
    index: UnitIndex | None,
    *,
    buildings_m: np.ndarray,
    building_floor_m2: np.ndarray,
    unit_area_m2: np.ndarray | None,
    population: Mapping[str, float] | None,
    population_level: str | None,
    grid_m: float,
    width_m: float,
    max_access_m: float,
) -> CoverageModel:
    """Sample the study extent, snap samples and buildings, spread population over them.

    Population of a unit (``population`` by code on ``population_level``) is first scaled to
    the unit's share inside the study extent (an extract may cut a unit), then spread over its
    buildings by floor area, or evenly over its sample points when it has no building.
    """
    extent = study_extent(network, width_m=width_m)
    x0, y0, x1, y1 = shapely.bounds(extent)
    xs = np.arange(x0 + grid_m / 2, x1, grid_m)
    ys = np.arange(y0 + grid_m / 2, y1, grid_m)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    grid = np.asarray(shapely.points(gx, gy))
    grid = grid[shapely.contains_xy(extent, gx, gy)]
    # sample points stand for street-side area: farther than the street width, never reached
    grid_snap = snap_geometries(network, grid, max_m=width_m)
    b_geoms = np.asarray(buildings_m, dtype=object)
    b_anchor = shapely.point_on_surface(b_geoms) if len(b_geoms) else np.array([], dtype=object)
    inside = shapely.contains(extent, b_anchor) if len(b_geoms) else np.zeros(0, bool)
    b_geoms, b_anchor = b_geoms[inside], b_anchor[inside]
    floor = np.asarray(building_floor_m2, float)[inside]
    building_snap = snap_geometries(network, b_geoms, max_m=max_access_m)

    levels: Sequence[str] = index.levels if index is not None else ()
    if index is not None and len(index.unit_code):
        to_lonlat = network.to_lonlat

        def units_of(points: np.ndarray) -> np.ndarray:
            ll = to_lonlat(points)
            deepest = index.deepest_units(shapely.get_x(ll), shapely.get_y(ll))
            return unit_levels_of(index, deepest)

        grid_units = units_of(grid)
        building_units = units_of(b_anchor)
        unit_level, unit_code, unit_name = index.unit_level, index.unit_code, index.unit_name
    else:
        grid_units = np.full((len(grid), 0), -1, dtype=np.int64)
        building_units = np.full((len(b_geoms), 0), -1, dtype=np.int64)
        unit_level = unit_code = unit_name = np.array([], dtype=object)

    grid_pop = np.full(len(grid), np.nan)
    building_pop = np.full(len(b_geoms), np.nan)
    missing: list[str] = []
    if population is not None and population_level is not None and index is not None:
        rank = list(levels).index(population_level)
        g_unit = grid_units[:, rank] if grid_units.shape[1] else np.full(len(grid), -1)
        b_unit = building_units[:, rank] if building_units.shape[1] else np.full(len(b_geoms), -1)
        n_units = len(unit_code)
        cells = np.bincount(g_unit[g_unit >= 0], minlength=n_units) * grid_m**2
        area = np.asarray(unit_area_m2, float) if unit_area_m2 is not None else cells
        share_inside = np.divide(cells, area, out=np.zeros(n_units), where=area > 0)
        share_inside = np.minimum(share_inside, 1.0)
        count = np.array([population.get(str(c), np.nan) for c in unit_code], dtype=float)
        on_level = unit_level == population_level
        missing = sorted(str(c) for c in unit_code[on_level & ~np.isfinite(count) & (cells > 0)])
        residents = count * share_inside
        floor_sum = np.bincount(b_unit[b_unit >= 0], weights=floor[b_unit >= 0], minlength=n_units)
        by_floor = floor_sum > 0
        ok = b_unit >= 0
        building_pop[ok] = np.where(
            by_floor[b_unit[ok]],
            residents[b_unit[ok]] * floor[ok] / np.where(by_floor, floor_sum, 1.0)[b_unit[ok]],
            np.nan,
        )
        points = np.bincount(g_unit[g_unit >= 0], minlength=n_units)
        ok = g_unit >= 0
        grid_pop[ok] = np.where(
            by_floor[g_unit[ok]],
            residents[g_unit[ok]] * 0.0,  # carried by the buildings (NaN stays unknown)
            residents[g_unit[ok]] / np.maximum(points[g_unit[ok]], 1),
        )
    else:
        population_level = None
    LOGGER.info(
        "coverage model: %d sample points (%d near a street), %d buildings (%d snapped)",
        len(grid),
        int(grid_snap.ok.sum()),
        len(b_geoms),
        int(building_snap.ok.sum()),
    )
    return CoverageModel(
        levels=levels,
        unit_level=unit_level,
        unit_code=unit_code,
        unit_name=unit_name,
        grid_m=grid_m,
        grid_snap=grid_snap,
        grid_units=grid_units,
        building_snap=building_snap,
        building_units=building_units,
        grid_population=grid_pop,
        building_population=building_pop,
        population_level=population_level,
        population_missing=missing,
    )
