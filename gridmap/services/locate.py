"""Use case: place points in the grid, one at a time (SQL) or in bulk (vectorised)."""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from gridmap.analysis.locate import UnitIndex
from gridmap.config import Settings
from gridmap.errors import InputError, OutsideError
from gridmap.ingest.tables import read_point_table, write_table
from gridmap.services.generations import require_active_generation
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Location:
    """Where a point lies: the chain of units from the top down, and its edge distance."""

    lon: float
    lat: float
    generation: int
    chain: list[dict[str, str]]
    edge_distance_m: float

    @property
    def unit(self) -> dict[str, str]:
        """The deepest unit (normally the cell)."""
        return self.chain[-1]


def check_coordinate(value: object, *, name: str, low: float, high: float) -> float:
    """A finite float in [low, high], or a clear InputError naming the parameter."""
    try:
        # a JSON true is not a coordinate, though float(True) would make it 1.0
        number = math.nan if isinstance(value, bool) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        raise InputError("coordinate_invalid", name=name, low=low, high=high, value=value)
    return number


def locate_point(db: Database, settings: Settings, lon: object, lat: object) -> Location:
    """Locate one point; OutsideError when it lies in no unit of the active generation."""
    x = check_coordinate(lon, name="lon", low=-180, high=180)
    y = check_coordinate(lat, name="lat", low=-90, high=90)
    generation = require_active_generation(db)
    with db.connection() as conn:
        chain, edge = unit_store.locate_point(
            conn, x, y, levels=settings.levels.names, generation=generation
        )
    if not chain or edge is None:
        raise OutsideError("point_outside", lon=x, lat=y)
    return Location(x, y, generation, chain, edge)


def load_unit_index(
    db: Database, settings: Settings, *, generation: int | None = None
) -> UnitIndex:
    """A generation's units and lookup pieces (default: the active one) as an in-memory index."""
    if generation is None:
        generation = require_active_generation(db)
    with db.connection() as conn:
        units, parts = unit_store.lookup_tables(conn, generation=generation)
    ids = np.array([u[0] for u in units], dtype=np.int64)
    position = pd.Series(np.arange(len(ids)), index=ids)
    part_unit_ids = np.array([p[0] for p in parts], dtype=np.int64)

    def column(i: int) -> np.ndarray:
        return np.array([u[i] for u in units], dtype=object)

    return UnitIndex(
        levels=settings.levels.names,
        unit_level=column(1),
        unit_code=column(2),
        unit_name=column(3),
        unit_parent_level=column(4),
        unit_parent_code=column(5),
        unit_boundary=shapely.from_wkb(column(6)),
        part_unit=position.reindex(part_unit_ids).to_numpy(dtype=np.int64),
        part_geom=shapely.from_wkb(np.array([p[1] for p in parts], dtype=object)),
    )


def locate_table(
    index: UnitIndex, frame: pd.DataFrame, lon: np.ndarray, lat: np.ndarray
) -> pd.DataFrame:
    """Every input row, with the location columns appended (replacing same-named columns)."""
    located = index.locate(lon, lat)
    kept = frame.drop(columns=[c for c in located.columns if c in frame.columns])
    return pd.concat([kept.reset_index(drop=True), located], axis=1)


def locate_csv(
    db: Database,
    settings: Settings,
    source: Path,
    *,
    lon_col: str,
    lat_col: str,
    out: Path,
) -> Counter[str]:
    """Locate every row of a CSV and write it to ``out``; return counts by outcome."""
    frame, lon, lat = read_point_table(source, lon_col=lon_col, lat_col=lat_col)
    index = load_unit_index(db, settings)
    result = locate_table(index, frame, lon, lat)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_table(result, out)
    outcomes = result["locate_error"].replace("", "located").value_counts()
    counts = Counter({str(k): int(v) for k, v in outcomes.items()})
    LOGGER.info("located %s -> %s: %s", source, out, dict(counts))
    return counts
