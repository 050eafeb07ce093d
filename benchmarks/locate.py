"""Benchmark gridmap's locate against its anchors, side by side in one run on one machine.

What it measures
----------------
A. Bulk locate, end to end, of N points (default 1,000,000) into 10,000 cells:
   gridmap's ``locate_csv`` (read CSV, load the lookup index from PostGIS, STRtree locate,
   edge distances, parent chain, write CSV), each of its pieces separately, and the anchor
   ``geopandas.sjoin(points, cells, predicate="within")`` both bare and end to end from the
   same CSV. Goal: gridmap end to end no slower than sjoin end to end (ratio <= 1).
B. Single-point latency over ``--calls`` random points: gridmap's store-layer
   ``locate_point`` (full chain + edge distance in one statement) against a plain PostGIS
   ``ST_Covers`` query on the same connection. Goal: gridmap p99 <= 1 ms.

Why
---
The anchors are what a user would otherwise write by hand; gridmap has to be at least as
fast while returning more (the whole chain, the distance to the edge, every input row kept).
Both sides run in the same process, on the same data, so the ratios are comparable.

Set-up (idempotent, fixed seed): the scratch database named in ``--database-url`` is dropped
and recreated, migrated, and loaded through the real import (GeoPackage files ->
``import_boundaries``) with 100 square districts and ``--cells`` Voronoi cells over about
10 km x 10 km of Nanjing, so each cell is about 10,000 m2 and the chain is real.

The benchmark also checks correctness: every point strictly inside one cell (per sjoin) must
get the same cell from gridmap, and single-point locate must agree with bulk locate. Any
difference is printed and the script exits with status 1.

Run: ``.venv/bin/python benchmarks/locate.py [--cells 10000] [--points 1000000]
[--calls 10000] [--database-url URL]``
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from common import (
    GRID_LEVELS,
    Row,
    Section,
    best_of,
    describe_machine,
    grid_extent,
    import_grid,
    print_table,
    recreate_database,
    stopwatch,
    write_grid,
)

from gridmap.analysis.locate import UnitIndex
from gridmap.config import Settings
from gridmap.domain.levels import Hierarchy
from gridmap.ingest.tables import read_point_table, write_table
from gridmap.services.generations import require_active_generation
from gridmap.services.locate import load_unit_index, locate_csv, locate_table
from gridmap.store import units as unit_store
from gridmap.store.db import Database

DEFAULT_URL = "postgresql://postgres@localhost:5432/gridmap_bench"
SEED = 20240607
BAD_SHARE = 0.01  # share of points with blank or garbage coordinates
WARMUP_CALLS = 200

BULK_GOAL_RATIO = 1.0  # gridmap end to end <= sjoin end to end
SINGLE_P99_GOAL_S = 1e-3  # gridmap single point p99 <= 1 ms, chain included

PLAIN_POSTGIS_SQL = (
    "SELECT code FROM admin_unit WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
)
PART_POSTGIS_SQL = (
    "SELECT u.code FROM admin_unit_part p JOIN admin_unit u ON u.id = p.unit_id "
    "WHERE ST_Covers(p.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
)


# --- results -----------------------------------------------------------------------------------


def instrument(obj: Any, method: str, timings: dict[str, float]) -> None:
    """Time every call of ``obj.method`` into ``timings[method]`` (this instance only)."""
    original: Callable[..., Any] = getattr(obj, method)

    def timed(*args: Any, **kwargs: Any) -> Any:
        with stopwatch(timings, method):
            return original(*args, **kwargs)

    setattr(obj, method, timed)


# --- set-up ------------------------------------------------------------------------------------


def write_points_csv(
    path: Path, count: int, extent: tuple[float, float, float, float], rng: np.random.Generator
) -> np.ndarray:
    """``count`` uniform random points (id, lon, lat, note), ~1 % of them with blank or garbage
    coordinates (none of which lies inside the grid); return the mask of those bad rows."""
    lon0, lat0, lon1, lat1 = extent
    lon = np.char.mod("%.7f", rng.uniform(lon0, lon1, count)).astype(object)
    lat = np.char.mod("%.7f", rng.uniform(lat0, lat1, count)).astype(object)
    bad_mask = rng.random(count) < BAD_SHARE
    bad = np.flatnonzero(bad_mask)
    garbage = np.array(["", " ", "n/a", "abc", "32,04", "200.5", "-95"], dtype=object)
    lon[bad] = garbage[rng.integers(0, len(garbage), len(bad))]
    lat[bad[::2]] = garbage[rng.integers(0, len(garbage), len(bad[::2]))]
    notes = np.array(["", "路灯损坏", "井盖缺失", "007", "note, with comma"], dtype=object)
    pd.DataFrame(
        {
            "id": np.arange(1, count + 1),
            "lon": lon,
            "lat": lat,
            "note": notes[rng.integers(0, len(notes), count)],
        }
    ).to_csv(path, index=False)
    return bad_mask


# --- A. bulk -----------------------------------------------------------------------------------


def time_gridmap_end_to_end(db: Database, settings: Settings, csv_in: Path, out: Path) -> float:
    start = time.perf_counter()
    locate_csv(db, settings, csv_in, lon_col="lon", lat_col="lat", out=out)
    return time.perf_counter() - start


def time_gridmap_pieces(
    db: Database, settings: Settings, csv_in: Path, out: Path
) -> tuple[dict[str, float], pd.DataFrame, UnitIndex]:
    """The steps of locate_csv one by one, with UnitIndex.locate's own steps inside."""
    timings: dict[str, float] = {}
    with stopwatch(timings, "read"):
        frame, lon, lat = read_point_table(csv_in, lon_col="lon", lat_col="lat")
    with stopwatch(timings, "load_index"):
        index = load_unit_index(db, settings)
    for method in ("locate", "deepest_units", "edge_distance_m"):
        instrument(index, method, timings)
    with stopwatch(timings, "locate_table"):
        result = locate_table(index, frame, lon, lat)
    with stopwatch(timings, "write"):
        write_table(result, out)  # what locate_csv writes with
    for method in ("locate", "deepest_units", "edge_distance_m"):
        delattr(index, method)  # back to the class methods
    return timings, result, index


def read_points_frame(csv_in: Path) -> gpd.GeoDataFrame:
    """What a user would write: pandas CSV reader, bad coordinates as NaN, points_from_xy."""
    frame = pd.read_csv(csv_in)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy()
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy()
    points = gpd.points_from_xy(lon, lat)
    # Unparseable coordinates must become missing geometries, not POINT (NaN NaN): sjoin with
    # "within" builds its STRtree on the points, and NaN envelopes corrupt that tree so that
    # valid points are silently missed (seen here: ~0.2 % of the points, near the grid's edge).
    points[np.isnan(lon) | np.isnan(lat)] = None
    return gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")


def time_sjoin_end_to_end(
    csv_in: Path, cells_path: Path, out: Path
) -> tuple[dict[str, float], gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The anchor from the same CSV: read, build points, read cells, sjoin (left), write."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    with stopwatch(timings, "read"):
        points = read_points_frame(csv_in)
    with stopwatch(timings, "load_cells"):
        cells = gpd.read_file(cells_path, engine="pyogrio")
    with stopwatch(timings, "sjoin_left"):
        joined = gpd.sjoin(points, cells, how="left", predicate="within")
    with stopwatch(timings, "write"):
        joined.drop(columns="geometry").to_csv(out, index=False)
    timings["end_to_end"] = time.perf_counter() - start
    return timings, points, cells


def time_bare_sjoin(
    points: gpd.GeoDataFrame, cells: gpd.GeoDataFrame
) -> tuple[float, gpd.GeoDataFrame]:
    """sjoin alone, points already built (inner join, the textbook call)."""
    start = time.perf_counter()
    joined = gpd.sjoin(points, cells, predicate="within")
    return time.perf_counter() - start, joined


def check_bulk_agreement(
    result: pd.DataFrame, joined: gpd.GeoDataFrame, bad: np.ndarray
) -> list[str]:
    """Compare gridmap's cell with sjoin's for every point strictly within exactly one cell.

    Also: every row written with good coordinates is located, every bad one is not, and no
    point gridmap places off any edge is missed by sjoin (that would mean drifted geometry).
    """
    problems: list[str] = []
    matches = joined.index.value_counts()
    unique = matches.index[matches.to_numpy() == 1]
    sjoin_cell = joined.loc[unique, "code"].to_numpy(dtype=object)
    gridmap_cell = result["cell_code"].to_numpy(dtype=object)[unique.to_numpy()]
    differ = int((sjoin_cell != gridmap_cell).sum())
    print(
        f"  agreement: {len(unique) - differ:,} of {len(unique):,} points strictly within one "
        f"cell get the same cell from gridmap and sjoin ({differ} differ)"
    )
    if differ:
        problems.append(f"{differ} points strictly within one cell are placed differently")

    located = (result["locate_error"] == "").to_numpy()
    in_sjoin = np.zeros(len(result), dtype=bool)
    in_sjoin[joined.index.unique().to_numpy()] = True
    edge = pd.to_numeric(result["edge_distance_m"], errors="coerce").to_numpy()
    only_gridmap = located & ~in_sjoin
    on_edge = int((only_gridmap & (edge == 0)).sum())
    off_edge = int((only_gridmap & ~(edge == 0)).sum())
    in_several = int((matches.to_numpy() > 1).sum())
    print(
        f"  on an edge (gridmap located, sjoin 'within' none): {on_edge}; "
        f"within several cells per sjoin: {in_several}; "
        f"located off any edge by gridmap but nowhere by sjoin: {off_edge}"
    )
    if off_edge:
        problems.append(f"{off_edge} points located off any edge by gridmap, by sjoin nowhere")
    if (~located & in_sjoin).any():
        problems.append(f"{int((~located & in_sjoin).sum())} points located by sjoin only")

    outcomes = result["locate_error"].replace("", "located").value_counts().to_dict()
    print(f"  gridmap outcomes: {outcomes}; rows written with bad coordinates: {bad.sum():,}")
    if (located == bad).any():
        problems.append(
            f"{int((located & bad).sum())} bad rows located, "
            f"{int((~located & ~bad).sum())} good rows not located"
        )
    return problems


def run_bulk(
    db: Database,
    settings: Settings,
    workdir: Path,
    csv_in: Path,
    cells_path: Path,
    bad: np.ndarray,
    repeat: int,
) -> tuple[Section, UnitIndex, list[str]]:
    gridmap_e2e, gridmap_parts, sjoin_parts, bare = [], [], [], []
    result = joined = index = None
    for i in range(repeat):
        print(f"  bulk run {i + 1}/{repeat} ...")
        sjoin_times, points, cells = time_sjoin_end_to_end(
            csv_in, cells_path, workdir / "sjoin_out.csv"
        )
        sjoin_parts.append(sjoin_times)
        seconds, joined = time_bare_sjoin(points, cells)
        bare.append(seconds)
        del points
        gridmap_e2e.append(
            time_gridmap_end_to_end(db, settings, csv_in, workdir / "gridmap_out.csv")
        )
        parts, result, index = time_gridmap_pieces(
            db, settings, csv_in, workdir / "gridmap_pieces_out.csv"
        )
        gridmap_parts.append(parts)
    assert result is not None and joined is not None and index is not None
    problems = check_bulk_agreement(result, joined, bad)

    g = best_of(gridmap_parts)
    s = best_of(sjoin_parts)
    e2e, sj_bare = min(gridmap_e2e), min(bare)
    rest = g["locate"] - g["deepest_units"] - g["edge_distance_m"]
    pieces = sum(g[k] for k in ("read", "load_index", "locate_table", "write"))
    rows = [
        Row(
            "locate_csv end to end",
            e2e,
            "sjoin end to end",
            s["end_to_end"],
            f"<= {BULK_GOAL_RATIO:g}x",
            e2e <= BULK_GOAL_RATIO * s["end_to_end"],
        ),
        Row("locate_csv end to end (vs bare sjoin)", e2e, "bare sjoin", sj_bare),
        Row("sum of the pieces 1-5 below", pieces, "sjoin end to end", s["end_to_end"]),
        Row("locate_csv beyond its pieces (bookkeeping)", e2e - pieces),
        Row("1 read CSV (read_point_table)", g["read"], "pd.read_csv+xy", s["read"]),
        Row("2 load_unit_index", g["load_index"], "gpd.read_file", s["load_cells"]),
        Row("3 UnitIndex.locate", g["locate"], "bare sjoin", sj_bare),
        Row("  3a deepest_units (STRtree)", g["deepest_units"], "bare sjoin", sj_bare),
        Row("  3b edge_distance_m", g["edge_distance_m"]),
        Row("  3c chain + columns (rest)", rest),
        Row("4 locate_table concat", g["locate_table"] - g["locate"]),
        Row("5 write CSV (write_table)", g["write"], "to_csv", s["write"]),
        Row("sjoin left, in e2e (anchor)", s["sjoin_left"], "bare sjoin", sj_bare),
    ]
    return (
        Section(f"A. bulk locate ({len(result):,} points, best of {repeat})", rows),
        index,
        problems,
    )


# --- B. single point ---------------------------------------------------------------------------


def measure_latencies(
    call: Callable[[float, float], Any], lon: np.ndarray, lat: np.ndarray
) -> np.ndarray:
    """Seconds per call, one call per point, after a short warm-up."""
    for x, y in zip(lon[:WARMUP_CALLS], lat[:WARMUP_CALLS], strict=True):
        call(x, y)
    out = np.empty(len(lon))
    for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        start = time.perf_counter()
        call(x, y)
        out[i] = time.perf_counter() - start
    return out


def run_single(
    db: Database,
    settings: Settings,
    index: UnitIndex,
    calls: int,
    extent: tuple[float, float, float, float],
    rng: np.random.Generator,
) -> tuple[Section, list[str]]:
    lon0, lat0, lon1, lat1 = extent
    lon = rng.uniform(lon0, lon1, calls)
    lat = rng.uniform(lat0, lat1, calls)
    generation = require_active_generation(db)
    levels = settings.levels.names
    chains: list[tuple[str, ...]] = []

    with db.connection() as conn:

        def gridmap_call(x: float, y: float) -> None:
            chain, _edge = unit_store.locate_point(conn, x, y, levels=levels, generation=generation)
            chains.append(tuple(unit["code"] for unit in chain))

        gridmap_s = measure_latencies(gridmap_call, lon, lat)
        plain_s = measure_latencies(
            lambda x, y: conn.execute(PLAIN_POSTGIS_SQL, (x, y)).fetchall(), lon, lat
        )
        part_s = measure_latencies(
            lambda x, y: conn.execute(PART_POSTGIS_SQL, (x, y)).fetchall(), lon, lat
        )
        round_trip_s = measure_latencies(lambda x, y: conn.execute("SELECT 1").fetchall(), lon, lat)

    problems: list[str] = []
    located = index.locate(lon, lat)
    bulk = list(zip(*(located[f"{level}_code"] for level in levels), strict=True))
    differ = sum(a != b for a, b in zip(bulk, chains[-calls:], strict=True))
    print(
        f"  single vs bulk: {calls - differ:,} of {calls:,} points get the same chain "
        f"({' > '.join(levels)}) from locate_point and UnitIndex.locate ({differ} differ)"
    )
    if differ:
        problems.append(f"{differ} points: single-point locate disagrees with bulk locate")

    def pct(values: np.ndarray, q: float) -> float:
        return float(np.percentile(values, q))

    p99_ok = pct(gridmap_s, 99) <= SINGLE_P99_GOAL_S
    rows = [
        Row("locate_point p50 (chain+edge)", pct(gridmap_s, 50), "PostGIS p50", pct(plain_s, 50)),
        Row(
            "locate_point p99 (chain+edge)",
            pct(gridmap_s, 99),
            "PostGIS p99",
            pct(plain_s, 99),
            "<= 1 ms",
            p99_ok,
        ),
        Row("locate_point mean", float(gridmap_s.mean()), "PostGIS mean", float(plain_s.mean())),
        Row("PostGIS ST_Covers admin_unit p50 (anchor)", pct(plain_s, 50)),
        Row("PostGIS ST_Covers admin_unit p99 (anchor)", pct(plain_s, 99)),
        Row(
            "PostGIS admin_unit_part join p50 (info)",
            pct(part_s, 50),
            "PostGIS p50",
            pct(plain_s, 50),
        ),
        Row(
            "PostGIS admin_unit_part join p99 (info)",
            pct(part_s, 99),
            "PostGIS p99",
            pct(plain_s, 99),
        ),
        Row("SELECT 1 round trip p50 (floor, info)", pct(round_trip_s, 50)),
    ]
    return Section(f"B. single-point latency ({calls:,} calls, one connection)", rows), problems


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        epilog="The scratch database is dropped and recreated on every run.",
    )
    parser.add_argument("--cells", type=int, default=10_000, help="Voronoi cells (default 10000)")
    parser.add_argument(
        "--points", type=int, default=1_000_000, help="points to bulk-locate (default 1000000)"
    )
    parser.add_argument(
        "--calls", type=int, default=10_000, help="single-point calls per query (default 10000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="bulk runs; the best of them is shown (default 3)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help=f"scratch database, DROPPED and recreated (default {DEFAULT_URL})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows live
    rng = np.random.default_rng(SEED)
    extent = grid_extent()
    settings = Settings(database_url=args.database_url, levels=Hierarchy.parse(GRID_LEVELS))

    print(f"set-up: {args.cells:,} cells, {args.points:,} points, seed {SEED}")
    setup: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gridmap_bench_") as tmp:
        workdir = Path(tmp)
        with stopwatch(setup, "database"):
            recreate_database(args.database_url)
        print(f"  machine: {describe_machine(args.database_url)}")
        with stopwatch(setup, "grid"):
            _, districts_path, cells_path = write_grid(workdir, args.cells, rng)
        csv_in = workdir / "points.csv"
        with stopwatch(setup, "points"):
            bad = write_points_csv(csv_in, args.points, extent, rng)
        with Database(args.database_url) as db:
            imports = import_grid(db, settings, districts_path, cells_path)
            bulk, index, problems = run_bulk(
                db, settings, workdir, csv_in, cells_path, bad, max(args.repeat, 1)
            )
            single, single_problems = run_single(db, settings, index, args.calls, extent, rng)
            problems += single_problems

    setup_section = Section(
        "set-up (informational)",
        [
            Row("drop, create, migrate database", setup["database"]),
            Row("generate grid, write GeoPackages", setup["grid"]),
            Row(f"generate and write {args.points:,} points CSV", setup["points"]),
            Row("import_boundaries district (100)", imports["district"]),
            Row(f"import_boundaries cell ({args.cells:,})", imports["cell"]),
        ],
    )
    print()
    print_table([setup_section, bulk, single])
    if problems:
        print("\nCORRECTNESS CHECK FAILED:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("\ncorrectness checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
