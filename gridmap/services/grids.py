"""Use case: generate cells (or any child level) inside parent units and import them like a
file: dry run by default, checks, report, a new generation on --commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from gridmap.config import Settings
from gridmap.errors import ConfigError, InputError, NotFoundError
from gridmap.geo.crs import WGS84, local_metric_crs
from gridmap.geo.grids import GridSpec, area_summary, make_cells, number_order
from gridmap.ingest.boundaries import BoundaryFile
from gridmap.ingest.osm_lines import ROAD_CLASSES, read_barrier_lines
from gridmap.services.boundaries import ImportReport, import_layer
from gridmap.services.generations import require_active_generation
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


@dataclass
class GridResult:
    report: ImportReport
    areas: dict[str, float]
    parents: int


def _transformers(geoms: np.ndarray) -> tuple[pyproj.Transformer, pyproj.Transformer]:
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    crs = local_metric_crs((x0 + x1) / 2, (y0 + y1) / 2)
    return (
        pyproj.Transformer.from_crs(WGS84, crs, always_xy=True),
        pyproj.Transformer.from_crs(crs, WGS84, always_xy=True),
    )


def _apply(transformer: pyproj.Transformer, geoms: Any) -> Any:
    return shapely.transform(
        geoms, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1]))
    )


def generate_cells(
    db: Database,
    settings: Settings,
    *,
    parent_level: str,
    parent_code: str | None = None,
    spec: GridSpec,
    network: Path | None = None,
    road_classes: tuple[str, ...] = ROAD_CLASSES,
    commit: bool = False,
    activate: bool = False,
    allow: tuple[str, ...] = (),
) -> GridResult:
    """Cut the parent level's units (or one of them) into units of the level below.

    With ``parent_code``, the other parents' existing children are kept as they are.
    """
    child = settings.levels.child_of(parent_level)
    if child is None:
        raise ConfigError("level_has_no_child", level=parent_level)
    if spec.method == "roads" and network is None:
        raise InputError("network_required")
    generation = require_active_generation(db)
    with db.connection() as conn:
        parents = unit_store.level_units(
            conn, generation=generation, level=parent_level, code=parent_code
        )
        kept = (
            []
            if parent_code is None
            else [
                u
                for u in unit_store.level_units(conn, generation=generation, level=child.name)
                if u[3] != parent_code
            ]
        )
    if not parents and parent_code is not None:
        raise NotFoundError("unit_unknown", code=parent_code)
    if not parents:
        raise NotFoundError("level_empty", level=parent_level)
    parent_geoms = shapely.from_wkb(np.array([p[4] for p in parents], dtype=object))
    forward, back = _transformers(parent_geoms)
    lines = np.empty(0, dtype=object)
    if spec.method == "roads" and network is not None:
        found = read_barrier_lines(network, road_classes=road_classes)
        lines = _apply(forward, found.geometry.to_numpy()) if len(found) else lines

    rows: list[dict[str, Any]] = []
    areas: list[float] = []
    for (code, name, *_), geom in zip(parents, _apply(forward, parent_geoms), strict=True):
        cells = make_cells(geom, spec, lines)
        for sequence, index in enumerate(number_order(cells), start=1):
            cell = cells[index]
            areas.append(cell.area)
            rows.append(
                {
                    "code": settings.code_profile.child_code(child.name, code, sequence),
                    "name": f"{name} {child.label(settings.lang)} {sequence:03d}",
                    "parent_code": code,
                    "geometry": _apply(back, cell),
                }
            )
    for code, name, _pl, pcode, wkb in kept:
        rows.append(
            {"code": code, "name": name, "parent_code": pcode, "geometry": shapely.from_wkb(wkb)}
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    source = (
        f"generated: {spec.method} cells of {spec.target_area_m2:g} m2 in "
        f"{parent_level} {parent_code or '(all)'}"
        + (f" along {network.name}" if network is not None else "")
    )
    boundary = BoundaryFile(
        frame=frame,
        source=source,
        layer=None,
        source_crs="EPSG:4326",
        crs_from="generated",
        encoding=None,
    )
    report = import_layer(
        db,
        settings,
        boundary,
        level=child.name,
        code_field="code",
        name_field="name",
        parent_field="parent_code",
        allow=allow,
        commit=commit,
        activate=activate,
        description=source,
    )
    summary = area_summary(np.array(areas), spec.target_area_m2)
    LOGGER.info("%s: %s", source, summary)
    return GridResult(report, summary, len(parents))
