"""Benchmark gridmap's boundary import and generation switch against their anchors, in one run.

What it measures
----------------
A. Import of a cell layer: ``--cells`` (default 10,000) Voronoi cells of about ``--vertices``
   (default 200) vertices each, nested in 100 square districts, from a GeoPackage through the
   real ``import_boundaries(..., commit=True)``, end to end and phase by phase (read file,
   repair, columns, lookup pieces, parents, every check, COPY), best of ``--repeat`` runs. Anchors:
   ``ogr2ogr -f PostgreSQL`` loading the same file into PostGIS (no checks at all) and a bare
   ``pyogrio.read_dataframe`` of it. Goal: the whole import, all checks included, <= 10 s.
B. Generation switch with ``--placements`` (default 1,000,000) stored placements:
   ``activate_generation`` of the imported generation (every placement placed for the first
   time), then of a second generation whose cells were all re-tessellated (nearly every
   placement moves), phase by phase: the placements without a unit row for that generation
   are read, located in memory and appended with one COPY, then the moves are counted in SQL.
   Goal: the re-location of 1,000,000 placements <= 10 s.

Why
---
Replacing the cell layer is a routine job (a city redraws its grid); the issue asks that a
whole city's cells import, with every surveyor's check, in seconds, and that switching to the
new generation re-locates every stored placement in one transaction, also in seconds.

Set-up (idempotent, fixed seed): the scratch database named in ``--database-url`` is dropped,
recreated and migrated. A 10 km x 10 km square around Nanjing is cut into 10 x 10 districts
(each 1 km2); each district into ``--cells``/100 Voronoi cells clipped to it, edges densified
with ``shapely.segmentize`` and coordinates snapped to 1e-7 degree (as real files store them),
so neighbours share identical vertices and cells tile their district exactly. Districts and
cells go to GeoPackages (cells also to a zipped Shapefile, read for information). Placements
are uniform random points in the square, loaded with ``copy_placements_in``.

Correctness (non-zero exit status on any failure): both imports commit with no check error
and every cell gets its district; after each activation, a sample of ``--sample`` placements
has the cell that ``locate_point`` (SQL) gives, every placement strictly inside one cell of
the layer file (per ``geopandas.sjoin``) holds that cell, the moved count equals the number
of placements whose cell changed, and every placement has its ``placement_unit`` row.

Run: ``.venv/bin/python benchmarks/boundaries.py [--cells 10000] [--vertices 200]
[--placements 1000000] [--repeat 2] [--sample 1000] [--database-url URL]``
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import common
import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyogrio
import shapely
from common import (
    DISTRICTS_PER_SIDE,
    Row,
    Section,
    grid_extent,
    instrumented,
    print_table,
    recreate_database,
    stopwatch,
    tessellate,
)
from psycopg import sql

import gridmap.geo.validation as validation
import gridmap.services.boundaries as boundaries
from gridmap.analysis.locate import UnitIndex
from gridmap.config import Settings
from gridmap.domain.levels import Hierarchy
from gridmap.errors import GridmapError
from gridmap.services.boundaries import ImportReport, activate_generation, import_boundaries
from gridmap.services.locate import locate_point
from gridmap.store import placements as placement_store
from gridmap.store import units as unit_store
from gridmap.store.db import Database

DEFAULT_URL = "postgresql://postgres@localhost:5432/gridmap_boundaries_bench"
LEVELS = "district:District:区,cell:Cell:网格"
SEED = 20240611
GRID_DEG = 1e-7  # coordinates snapped to 7 decimals (~1 cm), as boundary files store them
SUBJECT = "bench_point"

IMPORT_GOAL_S = 10.0  # whole cell import, every check included
SWITCH_GOAL_S = 10.0  # activation re-locating every placement (1,000,000)


# --- set-up ------------------------------------------------------------------------------------


def snap(geoms: np.ndarray) -> np.ndarray:
    """Coordinates on the 1e-7 degree grid; shared vertices stay shared (same rounding)."""
    return shapely.set_precision(geoms, GRID_DEG)


def make_districts(extent: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """The shared benchmark districts (about 1 km2 each), snapped like the cells."""
    districts = common.make_districts(extent)
    return districts.set_geometry(snap(districts.geometry.to_numpy()))


def densify(cells: np.ndarray, vertices: int) -> np.ndarray:
    """One segment length for the whole layer (so a shared edge is cut the same way on both
    sides), chosen so that cells have about ``vertices`` vertices on average."""
    step = float(shapely.length(cells).sum()) / (len(cells) * vertices)
    for _ in range(3):  # segmentize adds the original vertices too: adjust the step
        dense = shapely.segmentize(cells, step)
        mean = float(shapely.get_num_coordinates(dense).mean())
        if abs(mean - vertices) <= 0.02 * vertices:
            break
        step *= mean / vertices
    return snap(dense)


def make_cells(
    districts: gpd.GeoDataFrame, count: int, vertices: int, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    cells = densify(tessellate(districts, count, rng), vertices)
    codes = [f"C{i:05d}" for i in range(1, len(cells) + 1)]
    names = [f"网格{i:05d}" for i in range(1, len(cells) + 1)]
    return gpd.GeoDataFrame({"code": codes, "name": names}, geometry=cells, crs="EPSG:4326")


def reshape(
    cells: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    args: argparse.Namespace,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """The second generation: ``--reshaped`` districts re-tessellated with other seeds (their
    cells keep their codes, not their shapes); the other districts' cells stay identical."""
    fresh = make_cells(districts, args.cells, args.vertices, rng)
    per_district = len(cells) // len(districts)  # tessellate keeps one block per district
    chosen = rng.choice(len(districts), size=min(args.reshaped, len(districts)), replace=False)
    rows = (chosen[:, None] * per_district + np.arange(per_district)).ravel()
    out = cells.copy()
    out.iloc[rows, out.columns.get_loc("geometry")] = fresh.geometry.iloc[rows].to_numpy()
    return out


def write_shapefile_zip(frame: gpd.GeoDataFrame, path: Path) -> None:
    """A zipped Shapefile (with .cpg), as agencies hand them out."""
    folder = path.with_suffix("")
    folder.mkdir()
    frame.to_file(folder / "cells.shp", engine="pyogrio", encoding="UTF-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(folder.iterdir()):
            archive.write(member, member.name)
    shutil.rmtree(folder)


def random_points(
    count: int, extent: tuple[float, float, float, float], rng: np.random.Generator
) -> pd.DataFrame:
    lon0, lat0, lon1, lat1 = extent
    return pd.DataFrame(
        {
            "subject": SUBJECT,
            "subject_id": np.arange(1, count + 1, dtype=np.int64),
            "lon": rng.uniform(lon0, lon1, count),
            "lat": rng.uniform(lat0, lat1, count),
        }
    )


def copy_csv_in(conn: psycopg.Connection, frame: pd.DataFrame) -> None:
    """Anchor for ``copy_placements_in``: the frame as CSV text (pyarrow), one COPY stream."""
    columns = ["subject", "subject_id", "lon", "lat"]
    buffer = io.BytesIO()
    table = pa.Table.from_pandas(frame[columns], preserve_index=False)
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
    data = buffer.getbuffer()
    with conn.cursor().copy(
        f"COPY placement ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
    ) as copy:
        for start in range(0, len(data), 1 << 22):
            copy.write(data[start : start + (1 << 22)])


def load_placements(db: Database, frame: pd.DataFrame) -> dict[str, float]:
    """The anchor COPY in a rolled-back transaction, then the real ``copy_placements_in``."""
    timings: dict[str, float] = {}
    with stopwatch(timings, "csv_copy"), db.transaction(commit=False) as conn:
        copy_csv_in(conn, frame)
    with stopwatch(timings, "copy_placements_in"), db.transaction() as conn:
        placement_store.copy_placements_in(conn, frame)
    return timings


def vacuum(url: str, *tables: str) -> None:
    """VACUUM ANALYZE (needs autocommit): a switch after a bulk load sees settled tables."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))


# --- A. import ---------------------------------------------------------------------------------

# (owner, attribute, key): the functions import_boundaries calls, timed where they are looked up
IMPORT_PHASES: list[tuple[Any, str, str]] = [
    (boundaries, "read_boundary_file", "read"),
    (boundaries, "to_valid_multipolygons", "repair"),
    (boundaries, "_unit_columns", "columns"),
    (boundaries, "_lookup_pieces", "lookup_pieces"),
    (boundaries, "subdivide", "subdivide"),
    (unit_store, "carry_over_units", "carry_over"),
    (boundaries, "_assign_parents", "assign_parents"),
    (unit_store, "level_geometries", "parent_geoms"),
    (boundaries, "_run_checks", "run_checks"),
    (boundaries, "check_layer", "check_layer"),
    (validation, "_project", "check_project"),
    (validation, "_clean_groups", "check_coverage"),
    (validation, "_overlaps", "check_overlaps"),
    (validation, "_slivers", "check_slivers"),
    (validation, "_nesting", "check_nesting"),
    (validation, "_gaps_in_parents", "check_gaps"),
    (unit_store, "insert_units", "insert"),
    (boundaries, "_check_hierarchy_after", "hierarchy_after"),
    (boundaries, "_diff", "diff"),
    (unit_store, "save_generation_report", "save_report"),
]
# the phases called directly by import_boundaries/import_layer (they do not overlap; the
# lookup pieces are cut in a worker thread meanwhile, so they are left out of the sum)
IMPORT_TOP = (
    "read",
    "repair",
    "columns",
    "carry_over",
    "assign_parents",
    "run_checks",
    "insert",
    "hierarchy_after",
    "diff",
    "save_report",
)
CHECK_PARTS = (
    "check_project",
    "check_coverage",
    "check_overlaps",
    "check_slivers",
    "check_nesting",
    "check_gaps",
)


def timed_import(
    db: Database, settings: Settings, path: Path, level: str
) -> tuple[dict[str, float], ImportReport]:
    """The real ``import_boundaries(commit=True)`` (no activation), end to end and by phase."""
    timings: dict[str, float] = {key: 0.0 for _, _, key in IMPORT_PHASES}
    with instrumented(timings, IMPORT_PHASES), stopwatch(timings, "end_to_end"):
        report = import_boundaries(
            db,
            settings,
            path,
            level=level,
            code_field="code",
            name_field="name",
            commit=True,
        )
    return timings, report


def check_import(report: ImportReport, expected: int, parents: int) -> list[str]:
    problems = []
    errors = [c for c in report.checks if c["severity"] == "error"]
    if not report.committed or report.check_errors or errors:
        problems.append(f"import of {report.source}: {report.check_errors} check errors")
    if report.without_parent:
        problems.append(f"{len(report.without_parent)} cells without a district")
    if report.level_counts != {"district": parents, "cell": expected}:
        problems.append(f"level counts {report.level_counts}, expected {expected} cells")
    return problems


def ogr2ogr_anchor(url: str, cells_path: Path) -> float:
    """``ogr2ogr -f PostgreSQL PG:... cells.gpkg -nln anchor_cells -overwrite`` (wall time)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    conninfo = " ".join(f"{k}={v}" for k, v in info.items() if v is not None)
    command = [
        "ogr2ogr",
        "-f",
        "PostgreSQL",
        f"PG:{conninfo}",
        str(cells_path),
        "-nln",
        "anchor_cells",
        "-overwrite",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def pyogrio_anchor(cells_path: Path) -> float:
    start = time.perf_counter()
    frame = pyogrio.read_dataframe(cells_path)
    seconds = time.perf_counter() - start
    assert len(frame)
    return seconds


def run_import(
    db: Database,
    settings: Settings,
    url: str,
    cells_path: Path,
    shapefile_zip: Path,
    count: int,
    repeat: int,
    has_ogr2ogr: bool,
) -> tuple[Section, int, list[str]]:
    """``repeat`` identical imports of the cells: each makes a new generation on the active
    one (districts only), none is activated; the last one is the generation used in B."""
    runs, ogr, bare, shapefile = [], [], [], []
    problems: list[str] = []
    generation = None
    for i in range(repeat):
        timings, report = timed_import(db, settings, cells_path, "cell")
        problems += check_import(report, count, DISTRICTS_PER_SIDE**2)
        generation = report.generation
        runs.append(timings)
        print(
            f"  import run {i + 1}/{repeat}: {timings['end_to_end']:.2f} s, generation "
            f"{generation}, {report.features} features, parents from {report.parents_from}, "
            f"{len(report.checks)} findings, {report.check_errors} errors, "
            f"repaired {len(report.repaired)}"
        )
        if has_ogr2ogr:
            ogr.append(ogr2ogr_anchor(url, cells_path))
        bare.append(pyogrio_anchor(cells_path))
        start = time.perf_counter()
        boundaries.read_boundary_file(shapefile_zip)
        shapefile.append(time.perf_counter() - start)
    assert generation is not None
    t = {key: min(run[key] for run in runs) for key in runs[0]}
    e2e = t["end_to_end"]
    ogr2ogr = min(ogr) if ogr else None
    pieces = sum(t[k] for k in IMPORT_TOP)
    checks_rest = t["check_layer"] - sum(t[k] for k in CHECK_PARTS)
    rows = [
        Row(
            "import_boundaries end to end (commit)",
            e2e,
            "ogr2ogr to PostGIS" if ogr2ogr else "",
            ogr2ogr,
            f"<= {IMPORT_GOAL_S:g} s",
            e2e <= IMPORT_GOAL_S,
        ),
        Row("1 read_boundary_file (GeoPackage)", t["read"], "pyogrio read", min(bare)),
        Row("2 to_valid_multipolygons (repair)", t["repair"]),
        Row("3 _unit_columns (codes, names, properties)", t["columns"]),
        Row("4 carry_over_units (districts)", t["carry_over"]),
        Row("5 _assign_parents (point on surface, STRtree)", t["assign_parents"]),
        Row("  of which level_geometries (district read)", t["parent_geoms"]),
        Row("6 _run_checks (code profile + check_layer)", t["run_checks"]),
        Row("  check_layer (all geometry checks)", t["check_layer"]),
        Row("    _project (to metric, snap, repair)", t["check_project"]),
        Row("    _clean_groups (coverage_is_valid)", t["check_coverage"]),
        Row("    _overlaps (STRtree, relate, erosion)", t["check_overlaps"]),
        Row("    _slivers", t["check_slivers"]),
        Row("    _nesting (inside own district)", t["check_nesting"]),
        Row("    _gaps_in_parents (union per district)", t["check_gaps"]),
        Row("    rest of check_layer (areas)", checks_rest),
        Row("7 insert_units (2 binary COPYs)", t["insert"]),
        Row("8 _check_hierarchy_after", t["hierarchy_after"]),
        Row("9 _diff against base generation", t["diff"]),
        Row("10 save_generation_report", t["save_report"]),
        Row("rest (EWKB, transaction, commit, waiting)", e2e - pieces),
        Row("in a worker thread during 4-6: _lookup_pieces", t["lookup_pieces"]),
        Row("  of which subdivide (GEOS clipping)", t["subdivide"]),
        Row(
            "read_boundary_file (zipped Shapefile, info)", min(shapefile), "pyogrio read", min(bare)
        ),
    ]
    title = f"A. import {count:,} cells (best of {repeat}, commit, checks on, not activated)"
    return Section(title, rows), generation, problems


# --- B. activation -----------------------------------------------------------------------------

SWITCH_PHASES: list[tuple[Any, str, str]] = [
    (boundaries, "load_unit_index", "load_index"),
    (unit_store, "activate_generation", "switch"),
    (placement_store, "read_unplaced", "read_unplaced"),
    (UnitIndex, "deepest_units", "deepest_units"),
    (placement_store, "write_units", "write_units"),
    (placement_store, "count_moves", "count_moves"),
]


def timed_activation(
    db: Database, settings: Settings, generation: int
) -> tuple[dict[str, float], boundaries.Activation]:
    timings: dict[str, float] = {key: 0.0 for _, _, key in SWITCH_PHASES}
    with instrumented(timings, SWITCH_PHASES), stopwatch(timings, "end_to_end"):
        switched = activate_generation(db, settings, generation)
    return timings, switched


def stored_placements(db: Database, generation: int | None) -> pd.DataFrame:
    """Every placement with its unit in ``generation`` (None: no unit columns filled)."""
    with db.connection() as conn:
        if generation is None:
            frame = placement_store.read_unplaced(conn, -1)
            frame["unit_level"] = frame["unit_code"] = pd.Series(pd.NA, dtype="string")
            return frame
        return placement_store.read_placements(conn, generation)


def active_generation(db: Database) -> int | None:
    with db.connection() as conn:
        return unit_store.active_generation(conn)


def check_activation(
    db: Database,
    settings: Settings,
    switched: boundaries.Activation,
    before: pd.DataFrame,
    cells_path: Path,
    sample: int,
    rng: np.random.Generator,
) -> list[str]:
    """Stored cells against SQL locate (sample) and against sjoin on the layer file (all)."""
    problems: list[str] = []
    after = stored_placements(db, switched.generation)
    if len(after) != len(before) or not (after["id"].to_numpy() == before["id"].to_numpy()).all():
        return [f"placements changed in number: {len(before)} -> {len(after)}"]
    old = before["unit_code"].fillna("").to_numpy(dtype=object)
    new = after["unit_code"].fillna("").to_numpy(dtype=object)
    changed = int((old != new).sum())
    rows = unit_rows(db, switched.generation)
    print(
        f"  moved {switched.moved:,} of {switched.placements:,} placements; cell changed for "
        f"{changed:,}; unit rows for generation {switched.generation}: {rows:,}"
    )
    if switched.moved != changed:
        problems.append(f"moved {switched.moved} placements, but {changed} changed cell")
    if rows != switched.placements:
        problems.append(f"{rows} unit rows for {switched.placements} placements")
    unplaced = int((new == "").sum())
    if unplaced:
        problems.append(f"{unplaced} placements inside the grid left without a cell")

    # sample against the SQL single-point locate of the (now active) generation
    picks = rng.choice(len(after), size=min(sample, len(after)), replace=False)
    differ = 0
    for i in picks:
        lon, lat = float(after["lon"].iat[i]), float(after["lat"].iat[i])
        try:
            code = locate_point(db, settings, lon, lat).unit["code"]
        except GridmapError:
            code = ""
        differ += code != new[i]
    print(f"  locate_point agrees for {len(picks) - differ:,} of {len(picks):,} sampled placements")
    if differ:
        problems.append(f"{differ} of {len(picks)} sampled placements differ from locate_point")

    # every placement against an independent spatial join on the imported file
    cells = gpd.read_file(cells_path, engine="pyogrio")
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(after["lon"], after["lat"]), crs="EPSG:4326"
    )
    joined = gpd.sjoin(points, cells, predicate="within")
    matches = joined.index.value_counts()
    unique = matches.index[matches.to_numpy() == 1]
    expected = joined.loc[unique, "code"].to_numpy(dtype=object)
    wrong = int((new[unique.to_numpy()] != expected).sum())
    print(
        f"  sjoin agrees for {len(unique) - wrong:,} of {len(unique):,} placements strictly "
        "within one cell"
    )
    if wrong:
        problems.append(f"{wrong} placements hold another cell than sjoin finds")
    return problems


def unit_rows(db: Database, generation: int) -> int:
    """Rows of ``generation`` in placement_unit (one per placement after its activation)."""
    with db.connection() as conn:
        row = conn.execute(
            "SELECT count(*) FROM placement_unit WHERE generation = %s", (generation,)
        ).fetchone()
    return int(row[0]) if row else 0


def switch_rows(t: dict[str, float], switched: boundaries.Activation, goal: bool) -> list[Row]:
    e2e = t["end_to_end"]
    pieces = sum(t[key] for _, _, key in SWITCH_PHASES)
    return [
        Row(
            f"activate_generation end to end ({switched.moved:,} moved)",
            e2e,
            "",
            None,
            f"<= {SWITCH_GOAL_S:g} s" if goal else "",
            (e2e <= SWITCH_GOAL_S) if goal else None,
        ),
        Row("1 load_unit_index (new generation)", t["load_index"]),
        Row("2 switch active generation (SQL)", t["switch"]),
        Row(f"3 read_unplaced (of {switched.placements:,}, COPY)", t["read_unplaced"]),
        Row("4 UnitIndex.deepest_units (STRtree)", t["deepest_units"]),
        Row("5 write_units (one COPY into placement_unit)", t["write_units"]),
        Row("6 count_moves (SQL, against the previous generation)", t["count_moves"]),
        Row("rest (unit arrays, count, commit)", e2e - pieces),
    ]


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        epilog="The scratch database is dropped and recreated on every run.",
    )
    parser.add_argument("--cells", type=int, default=10_000, help="cells (default 10000)")
    parser.add_argument(
        "--vertices", type=int, default=200, help="mean vertices per cell (default 200)"
    )
    parser.add_argument(
        "--placements", type=int, default=1_000_000, help="stored placements (default 1000000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="cell imports; the best is shown (default 2)"
    )
    parser.add_argument(
        "--reshaped",
        type=int,
        default=DISTRICTS_PER_SIDE**2,
        help="districts whose cells are redrawn in the second generation (default all 100)",
    )
    parser.add_argument(
        "--sample", type=int, default=1_000, help="placements checked by locate_point (1000)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help=f"scratch database, DROPPED and recreated (default {DEFAULT_URL})",
    )
    return parser.parse_args(argv)


def describe_machine(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_setting('server_version'), postgis_lib_version()")
        server, postgis = row.fetchone() or ("?", "?")
    ogr = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True).stdout
    return (
        f"{os.cpu_count()} cores; Python {platform.python_version()}; "
        f"PostgreSQL {server}, PostGIS {postgis}; GEOS {shapely.geos_version_string}, "
        f"shapely {shapely.__version__}, pyogrio {pyogrio.__version__} "
        f"(GDAL {pyogrio.__gdal_version_string__}), geopandas {gpd.__version__}; "
        f"{ogr.strip() or 'no ogr2ogr'}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows live
    rng = np.random.default_rng(SEED)
    extent = grid_extent()
    settings = Settings(database_url=args.database_url, levels=Hierarchy.parse(LEVELS))
    has_ogr2ogr = shutil.which("ogr2ogr") is not None
    if not has_ogr2ogr:
        print("  ogr2ogr not found (apt-get install gdal-bin): its anchor is left out")

    print(
        f"set-up: {args.cells:,} cells of ~{args.vertices} vertices, "
        f"{args.placements:,} placements, seed {SEED}"
    )
    setup: dict[str, float] = {}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gridmap_bench_") as tmp:
        workdir = Path(tmp)
        with stopwatch(setup, "database"):
            recreate_database(args.database_url)
        print(f"  machine: {describe_machine(args.database_url)}")
        paths = {
            name: workdir / name
            for name in ("districts.gpkg", "cells.gpkg", "cells_b.gpkg", "cells.zip")
        }
        with stopwatch(setup, "grid"):
            districts = make_districts(extent)
            cells = make_cells(districts, args.cells, args.vertices, rng)
            cells_b = reshape(cells, districts, args, np.random.default_rng(SEED + 1))
        vertex_counts = shapely.get_num_coordinates(cells.geometry.to_numpy())
        print(
            f"  {len(cells):,} cells, vertices per cell: mean {vertex_counts.mean():.0f}, "
            f"min {vertex_counts.min()}, max {vertex_counts.max()} "
            f"({int(vertex_counts.sum()):,} in all)"
        )
        with stopwatch(setup, "write"):
            districts.to_file(paths["districts.gpkg"], engine="pyogrio")
            cells.to_file(paths["cells.gpkg"], engine="pyogrio")
            cells_b.to_file(paths["cells_b.gpkg"], engine="pyogrio")
            write_shapefile_zip(cells, paths["cells.zip"])
        with Database(args.database_url) as db:
            with stopwatch(setup, "districts"):
                report = import_boundaries(
                    db,
                    settings,
                    paths["districts.gpkg"],
                    level="district",
                    code_field="code",
                    name_field="name",
                    commit=True,
                    activate=True,
                )
            if report.check_errors or not report.activated:
                problems.append(f"district import: {report.check_errors} check errors")

            section_a, gen_a, import_problems = run_import(
                db,
                settings,
                args.database_url,
                paths["cells.gpkg"],
                paths["cells.zip"],
                len(cells),
                max(args.repeat, 1),
                has_ogr2ogr,
            )
            problems += import_problems

            print(f"  loading {args.placements:,} placements ...")
            frame = random_points(args.placements, extent, rng)
            setup.update(load_placements(db, frame))
            del frame
            vacuum(args.database_url, "placement")

            print(f"  activating generation {gen_a} (placements placed for the first time) ...")
            before = stored_placements(db, active_generation(db))
            first, switched_a = timed_activation(db, settings, gen_a)
            problems += check_activation(
                db, settings, switched_a, before, paths["cells.gpkg"], args.sample, rng
            )
            vacuum(args.database_url, "placement", "placement_unit")

            print("  importing the re-tessellated cells (second generation, not activated) ...")
            second_import, report_b = timed_import(db, settings, paths["cells_b.gpkg"], "cell")
            problems += check_import(report_b, len(cells_b), DISTRICTS_PER_SIDE**2)
            gen_b = report_b.generation
            assert gen_b is not None
            changed = len(report_b.diff.get("changed", []))
            print(
                f"  generation {gen_b}: {second_import['end_to_end']:.2f} s, {changed:,} cells "
                f"reshaped against generation {report_b.base_generation}"
            )

            print(f"  activating generation {gen_b} (re-location) ...")
            before = stored_placements(db, active_generation(db))
            second, switched_b = timed_activation(db, settings, gen_b)
            problems += check_activation(
                db, settings, switched_b, before, paths["cells_b.gpkg"], args.sample, rng
            )

    setup_section = Section(
        "set-up (informational)",
        [
            Row("drop, create, migrate database", setup["database"]),
            Row("generate districts and 2 x cells", setup["grid"]),
            Row("write 3 GeoPackages + zipped Shapefile", setup["write"]),
            Row("import_boundaries district (100, activate)", setup["districts"]),
            Row(
                f"copy_placements_in {args.placements:,} rows",
                setup["copy_placements_in"],
                "CSV COPY (pyarrow)",
                setup["csv_copy"],
            ),
        ],
    )
    section_b1 = Section(
        f"B1. first activation: {args.placements:,} placements placed in generation {gen_a}",
        switch_rows(first, switched_a, goal=False),
    )
    section_b2 = Section(
        f"B2. re-location: {args.placements:,} placements into generation {gen_b} "
        f"({args.reshaped} of {DISTRICTS_PER_SIDE**2} districts' cells redrawn)",
        [
            *switch_rows(second, switched_b, goal=True),
            Row("import of that generation (commit; base has cells)", second_import["end_to_end"]),
            Row("  of which _diff against the base (level_diff)", second_import["diff"]),
            Row("  of which check_layer", second_import["check_layer"]),
        ],
    )
    print()
    print_table([setup_section, section_a, section_b1, section_b2])
    if problems:
        print("\nCORRECTNESS CHECK FAILED:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("\ncorrectness checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
