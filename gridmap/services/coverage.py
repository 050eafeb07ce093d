"""Use cases for 15-minute service circles: run coverage over a stored network and facility
set, what-if changes, site suggestions, exports (networks and facilities: their own modules).

One core for every front end: the CLI runs a coverage job in the foreground with a progress
callback; the web will start the same ``run_coverage`` as a background job and poll the
progress stored on the run row.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.analysis import isochrones as iso
from gridmap.analysis.coverage import (
    UNIT_COLUMNS,
    CoverageModel,
    build_model,
    study_extent,
)
from gridmap.analysis.locate import UnitIndex
from gridmap.analysis.siting import coverage_matrix, maximal_covering
from gridmap.config import Settings
from gridmap.errors import GridmapError, InputError
from gridmap.geo.geometry import ewkb_hex
from gridmap.services.facilities import import_facilities, read_facilities
from gridmap.services.locate import load_unit_index
from gridmap.services.networks import import_network, load_network
from gridmap.store import coverage as coverage_store
from gridmap.store import networks as network_store
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

NANJING_DEMO_NETWORK = "nanjing_xinjiekou_walk"
NANJING_DEMO_FACILITIES = "nanjing_xinjiekou_services"


def _multi(geom: shapely.Geometry) -> shapely.Geometry:
    """Any polygonal result as a MultiPolygon (empty when nothing is left)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    return shapely.MultiPolygon(parts)


def parse_minutes(text: str) -> list[int]:
    """ "5,10,15" -> [5, 10, 15] (sorted, unique, each > 0); clear error otherwise."""
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise InputError("minutes_invalid", value=text) from exc
    if not values or values[0] <= 0:
        raise InputError("minutes_invalid", value=text)
    return values


# --- the coverage session: everything loaded, evaluations in milliseconds ---------------------


@dataclass
class Facilities:
    """Facilities of a run: ids (None for added points), labels, lon/lat and their snap."""

    ids: list[int | None]
    names: list[str]
    types: list[str]
    lon: np.ndarray
    lat: np.ndarray
    snap: iso.Snap


@dataclass
class CoverageSession:
    """A network, its coverage model and the speed: what a run and its what-ifs share."""

    settings: Settings
    stored: network_store.StoredNetwork
    network: iso.Network
    model: CoverageModel
    speed_kmh: float
    generation: int | None
    population: dict[str, float] | None = None
    population_level: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def budget_m(self, minutes: float) -> float:
        return minutes * iso.metres_per_minute(self.speed_kmh)

    def snap_facilities(
        self, ids: list[int | None], names: list[str], types: list[str], lon: Any, lat: Any
    ) -> Facilities:
        x, y = self.network.to_metric(np.asarray(lon, float), np.asarray(lat, float))
        snap = iso.snap_geometries(
            self.network,
            np.asarray(shapely.points(x, y)),
            max_m=self.settings.coverage_max_access_m,
        )
        return Facilities(ids, names, types, np.asarray(lon, float), np.asarray(lat, float), snap)

    def node_distances(self, facilities: Facilities) -> iso.NodeTimes:
        ok = facilities.snap.ok
        sources = iso.sources_from_snap(self.network, facilities.snap.subset(ok))
        return iso.nearest_source_distances(self.network, sources)

    def unit_table(self, times: iso.NodeTimes, minutes: Sequence[int]) -> pd.DataFrame:
        return self.model.evaluate(
            self.network, times, budgets_m={m: self.budget_m(m) for m in minutes}
        )

    def summary(self, times: iso.NodeTimes) -> dict[str, Any]:
        target = self.settings.coverage_target_minutes
        result = self.model.summary(
            self.network,
            times,
            budget_m=self.budget_m(target),
            target_share=self.settings.coverage_target_share,
        )
        return {"target_minutes": target, **result}


def _population_table(path: Path, *, code_col: str, population_col: str) -> dict[str, float]:
    if not path.exists():
        raise InputError("file_missing", path=path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in (code_col, population_col):
        if column not in frame.columns:
            raise InputError(
                "column_missing", path=path, column=column, columns=", ".join(frame.columns)
            )
    counts = pd.to_numeric(frame[population_col].str.replace(",", ""), errors="coerce")
    return {
        str(c).strip(): float(v)
        for c, v in zip(frame[code_col], counts, strict=True)
        if math.isfinite(v)
    }


def open_session(
    db: Database,
    settings: Settings,
    *,
    network: str,
    population: Mapping[str, float] | None = None,
    population_level: str | None = None,
) -> CoverageSession:
    """Load a network, the active generation's units and the buildings; build the model."""
    stored, net = load_network(db, network)
    with db.connection() as conn:
        generation = unit_store.active_generation(conn)
        wkb, floor = network_store.load_buildings(conn, stored.id)
        areas = coverage_store.unit_areas(conn, generation) if generation is not None else []
    index: UnitIndex | None = load_unit_index(db, settings) if generation is not None else None
    if population_level is not None:
        settings.levels.get(population_level)  # unknown level: clear error
    unit_area = None
    if index is not None:
        by_key = {(lv, code): a for lv, code, a in areas}
        unit_area = np.array(
            [
                by_key.get((lv, c), np.nan)
                for lv, c in zip(index.unit_level, index.unit_code, strict=True)
            ]
        )
    buildings = shapely.from_wkb(np.array(wkb, dtype=object)) if wkb else np.array([], object)
    speed = settings.walk_speed_kmh if stored.profile == "walk" else settings.bike_speed_kmh
    model = build_model(
        net,
        index,
        buildings_m=net.to_metric_geoms(buildings),
        building_floor_m2=floor,
        unit_area_m2=unit_area,
        population=population,
        population_level=population_level if population is not None else None,
        grid_m=settings.coverage_grid_m,
        width_m=settings.coverage_street_width_m,
        max_access_m=settings.coverage_max_access_m,
    )
    session = CoverageSession(
        settings,
        stored,
        net,
        model,
        speed,
        generation,
        dict(population) if population is not None else None,
        population_level,
    )
    if model.population_missing:
        session.warnings.append(
            {
                "key": "population_missing",
                "params": {
                    "count": len(model.population_missing),
                    "level": population_level,
                    "codes": ", ".join(model.population_missing[:10]),
                },
            }
        )
    return session


# --- runs ------------------------------------------------------------------------------------


@dataclass
class RunResult:
    run_id: int
    summary: dict[str, Any]
    units: pd.DataFrame
    warnings: list[dict[str, Any]]
    timings_s: dict[str, float]


def _facility_warnings(session: CoverageSession, facilities: Facilities) -> list[dict[str, Any]]:
    out = []
    for i in np.flatnonzero(~facilities.snap.ok):
        out.append(
            {
                "key": "facility_too_far",
                "params": {
                    "feature": facilities.ids[i] if facilities.ids[i] is not None else f"+{i}",
                    "name": facilities.names[i],
                    "lon": float(facilities.lon[i]),
                    "lat": float(facilities.lat[i]),
                    "metres": session.settings.coverage_max_access_m,
                    "network": session.stored.name,
                },
            }
        )
    return out


def compute_bands(
    session: CoverageSession, times: iso.NodeTimes, minutes: Sequence[int]
) -> list[tuple[int, str, Any]]:
    """(minutes, "band"|"uncovered", polygon in the metric CRS) for every band, shortest first;
    each band contains the shorter ones."""
    net = session.network
    width = session.settings.coverage_street_width_m
    extent = study_extent(net, width_m=width)
    minutes = sorted(minutes)
    bands = iso.band_polygons(net, times, [session.budget_m(m) for m in minutes], width_m=width)
    out = []
    for m, band in zip(minutes, bands, strict=True):
        band = shapely.intersection(band, extent)
        uncovered = shapely.difference(extent, band)
        out.append((m, "band", band))
        out.append((m, "uncovered", uncovered))
    return out


def run_coverage(
    db: Database,
    settings: Settings,
    *,
    network: str,
    facilities: str,
    minutes: Sequence[int],
    population_file: Path | None = None,
    population_level: str | None = None,
    population_code_col: str = "unit_id",
    population_col: str = "population",
    add: Sequence[tuple[float, float]] = (),
    remove: Sequence[int] = (),
    progress: Progress | None = None,
    session: CoverageSession | None = None,
) -> RunResult:
    """Compute and store a coverage run; its id is in the result.

    Progress (0..1, stage) is stored on the run row as the run goes, for a UI to poll, and
    passed to ``progress`` (the CLI's bar). A failure marks the run failed with its error.
    ``add``/``remove`` make a what-if run from the set (points added, facility ids removed).
    """
    minutes = sorted(set(int(m) for m in minutes))
    if not minutes or minutes[0] <= 0:
        raise InputError("minutes_invalid", value=",".join(map(str, minutes)))
    population = (
        _population_table(
            population_file, code_col=population_code_col, population_col=population_col
        )
        if population_file is not None
        else None
    )
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    with db.connection() as conn:
        stored_meta = network_store.find_network(conn, network)
        set_id, rows = coverage_store.load_facilities(conn, facilities)
    parameters = {
        "network": network,
        "facilities": facilities,
        "population_file": str(population_file) if population_file else None,
        "population_level": population_level,
        "population": population,
        "add": [list(p) for p in add],
        "remove": list(remove),
        "walk_speed_kmh": settings.walk_speed_kmh,
        "bike_speed_kmh": settings.bike_speed_kmh,
        "street_width_m": settings.coverage_street_width_m,
        "max_access_m": settings.coverage_max_access_m,
        "grid_m": settings.coverage_grid_m,
        "target_share": settings.coverage_target_share,
        "target_minutes": settings.coverage_target_minutes,
    }
    with db.transaction() as conn:
        generation = unit_store.active_generation(conn)
        run_id = coverage_store.create_run(
            conn,
            network_id=stored_meta["id"],
            facility_set_id=set_id,
            generation=generation,
            minutes=minutes,
            parameters=parameters,
        )

    def step(fraction: float, stage: str) -> None:
        with db.transaction() as conn:
            coverage_store.set_progress(conn, run_id, progress=fraction, stage=stage)
        if progress is not None:
            progress(fraction, stage)

    try:
        step(0.05, "load")
        if session is None:
            session = open_session(
                db,
                settings,
                network=network,
                population=population,
                population_level=population_level,
            )
        timings["load"] = time.perf_counter() - clock
        step(0.2, "snap")
        fac = facilities_for(session, rows, add=add, remove=remove)
        ids = fac.ids
        warnings = list(session.warnings) + _facility_warnings(session, fac)
        if not fac.snap.ok.any():
            raise InputError(
                "facilities_none_snapped",
                metres=settings.coverage_max_access_m,
                network=network,
            )
        clock = time.perf_counter()
        times = session.node_distances(fac)
        timings["shortest_paths"] = time.perf_counter() - clock
        step(0.3, "bands")
        clock = time.perf_counter()
        bands = compute_bands(session, times, minutes)
        timings["polygons"] = time.perf_counter() - clock
        step(0.7, "units")
        clock = time.perf_counter()
        table = session.unit_table(times, minutes)
        summary = session.summary(times)
        timings["units"] = time.perf_counter() - clock
        summary.update(
            {
                "facilities": len(ids),
                "facilities_snapped": int(fac.snap.ok.sum()),
                "facilities_too_far": int((~fac.snap.ok).sum()),
                "nodes_reached": int((times.distance_m <= session.budget_m(max(minutes))).sum()),
                "warnings": warnings,
                "timings_s": {k: round(v, 4) for k, v in timings.items()},
            }
        )
        step(0.85, "save")
        minutes_per_node = times.minutes(session.speed_kmh)
        metric_bands = [(m, k, g) for m, k, g in bands]
        lonlat = session.network.to_lonlat(np.array([g for _, _, g in metric_bands], object))
        with db.transaction() as conn:
            coverage_store.save_run_facilities(
                conn,
                run_id,
                zip(
                    fac.ids,
                    fac.names,
                    fac.types,
                    ewkb_hex(np.asarray(shapely.points(fac.lon, fac.lat))),
                    fac.snap.ok.tolist(),
                    [float(a) if math.isfinite(a) else None for a in fac.snap.access_m],
                    strict=True,
                ),
            )
            coverage_store.save_bands(
                conn,
                run_id,
                (
                    (m, k, float(shapely.area(g)), ewkb_hex(np.array([_multi(ll)], object))[0])
                    for (m, k, g), ll in zip(metric_bands, lonlat, strict=True)
                ),
            )
            coverage_store.save_units(conn, run_id, UNIT_COLUMNS, _unit_rows(table))
            coverage_store.save_node_times(
                conn,
                run_id,
                (
                    (i, float(v) if math.isfinite(v) else None)
                    for i, v in enumerate(minutes_per_node.tolist())
                ),
            )
            coverage_store.finish_run(conn, run_id, summary=summary)
    except BaseException as exc:
        with db.transaction() as conn:
            text = exc.message("en") if isinstance(exc, GridmapError) else repr(exc)
            coverage_store.fail_run(conn, run_id, error=text)
        raise
    if progress is not None:
        progress(1.0, "done")
    LOGGER.info("coverage run %s done: %s", run_id, summary)
    return RunResult(run_id, summary, table, warnings, timings)


def _unit_rows(table: pd.DataFrame) -> list[tuple[Any, ...]]:
    rows: list[Any] = list(table.itertuples(index=False))

    def opt(v: Any) -> float | None:
        return None if v is None or not math.isfinite(float(v)) else float(v)

    return [
        (
            r.level,
            r.code,
            r.name,
            int(r.minutes),
            float(r.area_m2),
            float(r.covered_area_m2),
            int(r.buildings),
            int(r.covered_buildings),
            opt(r.population),
            opt(r.covered_population),
        )
        for r in rows
    ]


def get_run(db: Database, run_id: int) -> dict[str, Any]:
    with db.connection() as conn:
        run = coverage_store.get_run(conn, run_id)
        run["units"] = coverage_store.run_units(conn, run_id)
    return run


def compare_runs(db: Database, base_id: int, other_id: int) -> dict[str, Any]:
    """Two stored runs side by side: their summaries and, per unit and band both have, the
    covered shares of area, buildings and population with the change from base to other."""
    base, other = get_run(db, base_id), get_run(db, other_id)

    def shares(unit: Mapping[str, Any]) -> dict[str, float | None]:
        def share(part: str, whole: str) -> float | None:
            return unit[part] / unit[whole] if unit[whole] else None

        return {
            "area": share("covered_area_m2", "area_m2"),
            "buildings": share("covered_buildings", "buildings"),
            "population": share("covered_population", "population"),
        }

    before = {(u["level"], u["code"], u["minutes"]): shares(u) for u in base["units"]}
    rows = []
    for unit in other["units"]:
        key = (unit["level"], unit["code"], unit["minutes"])
        if key not in before:
            continue
        after = shares(unit)
        rows.append(
            {
                "level": key[0],
                "code": key[1],
                "minutes": key[2],
                **{
                    f"{name}_{which}": value
                    for name in ("area", "buildings", "population")
                    for which, value in (("base", before[key][name]), ("other", after[name]))
                },
                **{
                    f"{name}_change": (
                        after[name] - before[key][name]  # type: ignore[operator]
                        if after[name] is not None and before[key][name] is not None
                        else None
                    )
                    for name in ("area", "buildings", "population")
                },
            }
        )
    return {"base": base, "other": other, "units": rows}


def list_runs(db: Database) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return coverage_store.list_runs(conn)


def session_for_run(db: Database, settings: Settings, run: Mapping[str, Any]) -> CoverageSession:
    """The session a stored run was computed with (same network and population)."""
    params = run["parameters"]
    return open_session(
        db,
        settings,
        network=run["network"],
        population=params.get("population"),
        population_level=params.get("population_level"),
    )


def what_if(
    db: Database,
    settings: Settings,
    run_id: int,
    *,
    add: Sequence[tuple[float, float]] = (),
    remove: Sequence[int] = (),
    save: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Re-run a stored run with facilities added (lon, lat) and/or removed (facility ids).

    With ``save`` the result is stored as a new run; otherwise only the numbers are computed
    (no polygons), which takes milliseconds once the session is loaded.
    """
    with db.connection() as conn:
        run = coverage_store.get_run(conn, run_id)
    params = run["parameters"]
    session = session_for_run(db, settings, run)
    all_add = [tuple(p) for p in params.get("add", [])] + [tuple(p) for p in add]
    all_remove = list(params.get("remove", [])) + list(remove)
    if save:
        return run_coverage(
            db,
            settings,
            network=run["network"],
            facilities=run["facility_set"],
            minutes=run["minutes"],
            add=[(float(p[0]), float(p[1])) for p in all_add],
            remove=all_remove,
            progress=progress,
            session=session,
        )
    with db.connection() as conn:
        _, rows = coverage_store.load_facilities(conn, run["facility_set"])
    clock = time.perf_counter()
    fac = facilities_for(session, rows, add=all_add, remove=all_remove)
    times = session.node_distances(fac)
    table = session.unit_table(times, run["minutes"])
    summary = session.summary(times)
    return RunResult(
        0, summary, table, _facility_warnings(session, fac), {"eval": time.perf_counter() - clock}
    )


def facilities_for(
    session: CoverageSession,
    rows: Sequence[tuple[Any, ...]],
    *,
    add: Sequence[tuple[float, float]] = (),
    remove: Sequence[int] = (),
) -> Facilities:
    """A set's stored rows, less ``remove`` (facility ids), plus ``add`` (lon, lat), snapped."""
    removed = set(remove)
    kept = [r for r in rows if r[0] not in removed]
    return session.snap_facilities(
        [int(r[0]) for r in kept] + [None] * len(add),
        [str(r[3]) for r in kept] + [f"+{i}" for i in range(len(add))],
        [str(r[4]) for r in kept] + ["what-if"] * len(add),
        [float(r[5]) for r in kept] + [float(p[0]) for p in add],
        [float(r[6]) for r in kept] + [float(p[1]) for p in add],
    )


# --- site suggestions ------------------------------------------------------------------------


@dataclass
class Suggestion:
    rank: int
    lon: float
    lat: float
    uplift: float  # residents (or buildings / sample points) newly within the target time
    node_osm_id: int | None
    label: str


def candidate_sources(
    session: CoverageSession, candidates: Path | str
) -> tuple[iso.Sources, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Candidate sites as sources: every intersection or dead end (a node whose degree is not
    2) of the largest component ("nodes"), or the points of a facility file (snapped like
    facilities). Returns sources, lon, lat, labels and the OSM node id per candidate (-1 for
    file points)."""
    net = session.network
    if isinstance(candidates, str) and candidates == "nodes":
        degree = np.bincount(np.concatenate([net.edge_u, net.edge_v]), minlength=net.node_count)
        nodes = np.flatnonzero(net.node_in_largest & (degree != 2))
        return (
            iso.sources_at_nodes(nodes),
            net.node_lon[nodes],
            net.node_lat[nodes],
            [f"node {i}" for i in net.node_osm_id[nodes]],
            net.node_osm_id[nodes],
        )
    points = read_facilities(Path(candidates))
    lon = shapely.get_x(points.geometry.to_numpy())
    lat = shapely.get_y(points.geometry.to_numpy())
    x, y = net.to_metric(lon, lat)
    snap = iso.snap_geometries(
        net, np.asarray(shapely.points(x, y)), max_m=session.settings.coverage_max_access_m
    )
    ok = snap.ok
    if not ok.any():
        raise InputError(
            "candidates_none",
            metres=session.settings.coverage_max_access_m,
            network=session.stored.name,
        )
    labels = [str(n) or str(r) for n, r in zip(points["name"], points["ref"], strict=True)]
    return (
        iso.sources_from_snap(net, snap.subset(ok)),
        lon[ok],
        lat[ok],
        [labels[i] for i in np.flatnonzero(ok)],
        np.full(int(ok.sum()), -1),
    )


def suggest_sites(
    db: Database,
    settings: Settings,
    run_id: int,
    *,
    k: int,
    candidates: Path | str = "nodes",
    minutes: int | None = None,
    session: CoverageSession | None = None,
) -> list[Suggestion]:
    """Propose ``k`` new sites maximising the residents newly within ``minutes`` (default:
    the target time).

    Demand = population carriers (buildings, sample points) not yet within the target of
    the run's facilities; without population counts every building (or sample point) weighs 1.
    """
    with db.connection() as conn:
        run = coverage_store.get_run(conn, run_id)
        _, rows = coverage_store.load_facilities(conn, run["facility_set"])
    if run["state"] != "done":
        raise InputError("run_not_done", run=run_id, state=run["state"])
    if session is None:
        session = session_for_run(db, settings, run)
    params = run["parameters"]
    fac = facilities_for(
        session,
        rows,
        add=[tuple(p) for p in params.get("add", [])],
        remove=params.get("remove", []),
    )
    times = session.node_distances(fac)
    sources, lon, lat, labels, osm_ids = candidate_sources(session, candidates)
    minutes = minutes or settings.coverage_target_minutes
    return suggest_from(session, times, sources, lon, lat, labels, osm_ids, k=k, minutes=minutes)


def suggest_from(
    session: CoverageSession,
    times: iso.NodeTimes,
    sources: iso.Sources,
    lon: np.ndarray,
    lat: np.ndarray,
    labels: list[str],
    osm_ids: np.ndarray,
    *,
    k: int,
    minutes: int,
) -> list[Suggestion]:
    """Greedy + swap maximal covering of the demand not yet within ``minutes``."""
    budget = session.budget_m(minutes)
    demand, weights = session.model.demand()
    if not session.model.has_population:
        weights = np.ones(len(weights))
    reached = iso.point_distances(session.network, times, demand) <= budget
    open_ = demand.ok & ~reached & (weights > 0)
    demand = demand.subset(open_)
    weights = weights[open_]
    matrix = coverage_matrix(session.network, sources, demand, budget_m=budget)
    chosen = maximal_covering(matrix, weights, k=k)
    return [
        Suggestion(
            rank + 1,
            float(lon[c]),
            float(lat[c]),
            float(u),
            int(osm_ids[c]) if osm_ids[c] >= 0 else None,
            labels[c],
        )
        for rank, (c, u) in enumerate(zip(chosen.chosen, chosen.uplift, strict=True))
    ]


# --- export ----------------------------------------------------------------------------------

EXPORT_LAYERS = ("bands", "uncovered", "units", "nodes")


def export_run(db: Database, run_id: int, out: Path, *, layer: str | None = None) -> list[str]:
    """Write a run to ``out``: .gpkg gets every layer; .geojson the bands and uncovered areas
    (or ``layer``); .csv the per-node times (or ``layer`` = units). Returns the layers written."""
    suffix = out.suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".csv"):
        raise InputError("export_format", path=out)
    with db.connection() as conn:
        run = coverage_store.get_run(conn, run_id)
        if run["state"] != "done":
            raise InputError("run_not_done", run=run_id, state=run["state"])
        bands = coverage_store.run_bands(conn, run_id)
        units = pd.DataFrame(coverage_store.run_units(conn, run_id))
        nodes = pd.DataFrame(
            coverage_store.run_node_times(conn, run_id),
            columns=["osm_node_id", "lon", "lat", "minutes"],
        )
    polys = gpd.GeoDataFrame(
        {
            "run": run_id,
            "kind": [b[1] for b in bands],
            "minutes": [b[0] for b in bands],
            "area_m2": [round(b[2], 1) for b in bands],
        },
        geometry=shapely.from_wkb([b[3] for b in bands]),
        crs="EPSG:4326",
    )
    if units.empty:
        units = pd.DataFrame(columns=UNIT_COLUMNS)
    node_points = gpd.GeoDataFrame(
        nodes, geometry=shapely.points(nodes["lon"], nodes["lat"]), crs="EPSG:4326"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gpkg":
        if out.exists():
            out.unlink()
        polys[polys["kind"] == "band"].to_file(out, layer="bands", driver="GPKG")
        polys[polys["kind"] == "uncovered"].to_file(out, layer="uncovered", driver="GPKG")
        gpd.GeoDataFrame(units.astype({"population": float, "covered_population": float})).to_file(
            out, layer="units", driver="GPKG"
        )
        node_points.to_file(out, layer="nodes", driver="GPKG")
        return list(EXPORT_LAYERS)
    if suffix == ".geojson":
        chosen = layer or "bands+uncovered"
        if chosen == "nodes":
            node_points.to_file(out, driver="GeoJSON")
        elif chosen in ("bands", "uncovered"):
            polys[polys["kind"] == ("band" if chosen == "bands" else "uncovered")].to_file(
                out, driver="GeoJSON"
            )
        else:
            polys.to_file(out, driver="GeoJSON")
        return [chosen]
    chosen = layer or "nodes"
    (units if chosen == "units" else nodes).to_csv(out, index=False)
    return [chosen]


# --- demo ------------------------------------------------------------------------------------


def run_demo_nanjing(db: Database, settings: Settings, data_dir: Path) -> RunResult:
    """The Nanjing 新街口 demo: import the walking network and the 39 service facilities
    (once), then compute 5/10/15-minute coverage. ``data_dir`` is the project's data/."""
    folder = data_dir / "nanjing"
    with db.connection() as conn:
        names = {n["name"] for n in network_store.list_networks(conn)}
        sets = {s["name"] for s in coverage_store.list_facility_sets(conn)}
    if NANJING_DEMO_NETWORK not in names:
        import_network(
            db,
            settings,
            folder / "nanjing_xinjiekou_overpass_2021-06-12.osm",
            name=NANJING_DEMO_NETWORK,
        )
    if NANJING_DEMO_FACILITIES not in sets:
        import_facilities(
            db,
            folder / "nanjing_xinjiekou_osm_service_facilities.geojson",
            name=NANJING_DEMO_FACILITIES,
        )
    return run_coverage(
        db,
        settings,
        network=NANJING_DEMO_NETWORK,
        facilities=NANJING_DEMO_FACILITIES,
        minutes=(5, 10, 15),
    )
