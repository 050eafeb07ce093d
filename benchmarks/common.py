"""Shared by the benchmark scripts: the side-by-side table, timers, the scratch database and
the synthetic Nanjing grid (districts and Voronoi cells) loaded through the real import."""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from gridmap.config import Settings
from gridmap.services.boundaries import import_boundaries
from gridmap.store.db import Database
from gridmap.store.migrations import ensure_database, upgrade

GRID_LEVELS = "district:District:区,cell:Cell:网格"
CENTRE_LON, CENTRE_LAT = 118.78, 32.04  # Nanjing
SIDE_M = 10_000.0  # the grid covers SIDE_M x SIDE_M metres
DISTRICTS_PER_SIDE = 10  # 10 x 10 = 100 square districts


@dataclass
class Row:
    """One line of the result table; ``anchor``/``goal`` may be absent. ``unit`` says how
    value and anchor print: ``s`` (times in seconds), ``/s`` (a rate) or ``n`` (a count)."""

    name: str
    value: float | None
    anchor_name: str = ""
    anchor: float | None = None
    goal: str = ""
    met: bool | None = None
    unit: str = "s"

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.anchor:
            return None
        return self.value / self.anchor


@dataclass
class Section:
    title: str
    rows: list[Row]


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if abs(seconds) < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if abs(seconds) < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "/s":
        return f"{value:,.0f} /s"
    if unit == "n":
        return f"{value:,.0f}"
    if unit == "x":  # a ratio of two measurements
        return f"{value:.2f}x"
    return format_time(value)


def print_table(sections: list[Section]) -> None:
    """Rows per measurement; columns: time/latency, anchor, ratio, goal, met?."""
    header = ("measurement", "gridmap", "anchor", "anchor value", "ratio", "goal", "met?")
    lines: list[tuple[str, ...] | str] = []
    for section in sections:
        lines.append(section.title)
        for row in section.rows:
            ratio = row.ratio
            met = "" if row.met is None else ("yes" if row.met else "NO")
            lines.append(
                (
                    "  " + row.name,
                    format_value(row.value, row.unit),
                    row.anchor_name,
                    format_value(row.anchor, row.unit),
                    "" if ratio is None else f"{ratio:.2f}x",
                    row.goal,
                    met,
                )
            )
    cells = [header, *(line for line in lines if isinstance(line, tuple))]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    right = {1, 3, 4}  # numbers right-aligned

    def render(cols: tuple[str, ...]) -> str:
        return " | ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cols, widths, strict=True))
        ).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    print(render(header))
    print(rule)
    for line in lines:
        print(line if isinstance(line, str) else render(line))


@contextmanager
def instrumented(
    timings: dict[str, float], targets: list[tuple[Any, str, str]]
) -> Iterator[dict[str, float]]:
    """Time every call of ``owner.attr`` into ``timings[key]`` for each (owner, attr, key)
    while the block runs, then put the originals back. Owners are modules or classes: the
    code measured looks these names up at call time, so it runs the timed wrappers. A
    returned generator is drained inside the timer so its work counts.
    """
    saved: list[tuple[Any, str, Any]] = []

    def wrap(original: Callable[..., Any], key: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with stopwatch(timings, key):
                result = original(*args, **kwargs)
                if isinstance(result, Iterator):
                    result = iter(list(result))
                return result

        return timed

    try:
        for owner, attr, key in targets:
            original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
            saved.append((owner, attr, original))
            setattr(owner, attr, wrap(getattr(owner, attr), key))
        yield timings
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


@contextmanager
def stopwatch(timings: dict[str, float], key: str) -> Iterator[None]:
    """Add the block's wall time to ``timings[key]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - start


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per key, the fastest of the repeated runs (the least disturbed by other load)."""
    return {key: min(run[key] for run in runs) for key in runs[0]}


def recreate_database(url: str, *, also_contains: str = "") -> None:
    """Drop the scratch database, create it again and migrate it (runs are independent).

    The name must contain ``bench`` (and ``also_contains`` when given, so that a benchmark
    only ever drops its own scratch database)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    dbname = str(info.get("dbname") or "")
    for word in ("bench", also_contains):
        if word not in dbname:
            sys.exit(f"refusing to drop database {dbname!r}: its name must contain {word!r}")
    maintenance = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
    ensure_database(url)
    upgrade(url)


def describe_machine(url: str) -> str:
    """Cores and library versions, printed with the results so figures can be compared."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_setting('server_version'), postgis_lib_version()")
        server, postgis = row.fetchone() or ("?", "?")
    return (
        f"{os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"Python {platform.python_version()}; PostgreSQL {server}, PostGIS {postgis}; "
        f"GEOS {shapely.geos_version_string}, shapely {shapely.__version__}, geopandas "
        f"{gpd.__version__}, pandas {pd.__version__}, numpy {np.__version__}, psycopg "
        f"{psycopg.__version__}"
    )


# --- the synthetic grid ------------------------------------------------------------------------


def grid_extent() -> tuple[float, float, float, float]:
    """(lon0, lat0, lon1, lat1) of a SIDE_M x SIDE_M square centred on CENTRE_LON/LAT."""
    half_lat = SIDE_M / 2 / 111_320.0
    half_lon = SIDE_M / 2 / (111_320.0 * math.cos(math.radians(CENTRE_LAT)))
    return (
        CENTRE_LON - half_lon,
        CENTRE_LAT - half_lat,
        CENTRE_LON + half_lon,
        CENTRE_LAT + half_lat,
    )


def make_districts(extent: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """DISTRICTS_PER_SIDE x DISTRICTS_PER_SIDE squares tiling the extent."""
    lon0, lat0, lon1, lat1 = extent
    xs = np.linspace(lon0, lon1, DISTRICTS_PER_SIDE + 1)
    ys = np.linspace(lat0, lat1, DISTRICTS_PER_SIDE + 1)
    boxes, codes, names = [], [], []
    for row in range(DISTRICTS_PER_SIDE):
        for col in range(DISTRICTS_PER_SIDE):
            number = row * DISTRICTS_PER_SIDE + col + 1
            boxes.append(shapely.box(xs[col], ys[row], xs[col + 1], ys[row + 1]))
            codes.append(f"D{number:03d}")
            names.append(f"区{number:03d}")
    return gpd.GeoDataFrame({"code": codes, "name": names}, geometry=boxes, crs="EPSG:4326")


def tessellate(districts: gpd.GeoDataFrame, count: int, rng: np.random.Generator) -> np.ndarray:
    """Voronoi cells of random seeds inside each district, clipped to it, so the cells nest
    in their districts (the import checks refuse cells that straddle a parent)."""
    per_district = max(1, count // len(districts))
    pieces = []
    for district in districts.geometry:
        lon0, lat0, lon1, lat1 = district.bounds
        seeds = shapely.multipoints(
            np.column_stack(
                [rng.uniform(lon0, lon1, per_district), rng.uniform(lat0, lat1, per_district)]
            )
        )
        tiles = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=district))
        pieces.append(shapely.intersection(tiles, district))
    return np.concatenate(pieces)


def make_cells(
    districts: gpd.GeoDataFrame, count: int, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """The tessellation as a layer with codes and names."""
    cells = tessellate(districts, count, rng)
    codes = [f"C{i:05d}" for i in range(1, len(cells) + 1)]
    names = [f"网格{i:05d}" for i in range(1, len(cells) + 1)]
    return gpd.GeoDataFrame({"code": codes, "name": names}, geometry=cells, crs="EPSG:4326")


def import_grid(db: Database, settings: Settings, districts: Path, cells: Path) -> dict[str, float]:
    """Load both levels through the real import (cells get their parents by geometry)."""
    timings: dict[str, float] = {}
    for level, path in (("district", districts), ("cell", cells)):
        with stopwatch(timings, level):
            report = import_boundaries(
                db,
                settings,
                path,
                level=level,
                code_field="code",
                name_field="name",
                commit=True,
                activate=True,
            )
        print(
            f"  imported {report.features} {level} features in {timings[level]:.2f} s; "
            f"generation {report.generation}, parents from {report.parents_from}, "
            f"without parent {len(report.without_parent)}, counts {report.level_counts}"
        )
    return timings


def write_grid(
    workdir: Path, cells: int, rng: np.random.Generator
) -> tuple[gpd.GeoDataFrame, Path, Path]:
    """Districts and ``cells`` Voronoi cells written as GeoPackages; returns the cells and the
    two paths (districts, cells) for ``import_grid``."""
    districts = make_districts(grid_extent())
    cell_frame = make_cells(districts, cells, rng)
    districts_path, cells_path = workdir / "districts.gpkg", workdir / "cells.gpkg"
    districts.to_file(districts_path, engine="pyogrio")
    cell_frame.to_file(cells_path, engine="pyogrio")
    return cell_frame, districts_path, cells_path
