"""Use cases: read units for the API and the map pages (one generation, GeoJSON out)."""

from __future__ import annotations

import logging
import math
from typing import Any

from gridmap.config import Settings
from gridmap.errors import AmbiguousError, InputError, NotFoundError
from gridmap.services.generations import require_active_generation
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)

_METRES_PER_DEGREE = 111_320.0
# A view never needs more detail than about one part in 1,500 of its width (~1 px on a screen).
_VIEW_DETAIL_FRACTION = 1 / 1500


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InputError("bbox_invalid", value=text) from exc
    values = (x0, y0, x1, y1)
    if not (
        all(math.isfinite(v) for v in values)
        and x0 <= x1
        and y0 <= y1
        and x0 >= -180
        and x1 <= 180
        and y0 >= -90
        and y1 <= 90
    ):
        raise InputError("bbox_invalid", value=text)
    return values


def display_tolerance_deg(settings: Settings, width_deg: float) -> float:
    """Simplification tolerance in degrees: the setting, grown with the view's width."""
    metres = max(
        settings.display_simplify_m, width_deg * _METRES_PER_DEGREE * _VIEW_DETAIL_FRACTION
    )
    return metres / _METRES_PER_DEGREE


def _check_level(settings: Settings, level: str | None) -> None:
    if level is not None:
        settings.levels.get(level)


def find_unit(
    db: Database, settings: Settings, code: str, *, level: str | None = None
) -> dict[str, Any]:
    """One unit as a GeoJSON Feature with its chain, children and level labels."""
    _check_level(settings, level)
    generation = require_active_generation(db)
    with db.connection() as conn:
        rows = unit_store.get_unit(conn, code, generation=generation, level=level)
        if not rows:
            raise NotFoundError("unit_unknown", code=code)
        if len(rows) > 1:
            raise AmbiguousError(
                "unit_ambiguous", code=code, levels=", ".join(r["level"] for r in rows)
            )
        row = rows[0]
        chain = unit_store.unit_ancestors(
            conn, level=row["level"], code=row["code"], generation=generation
        )
        children = unit_store.children_geojson(
            conn, generation=generation, level=row["level"], code=row["code"], tolerance_deg=0
        )
    return {
        "type": "Feature",
        "id": row["code"],
        "bbox": row["bbox"],
        "geometry": row["geometry"],
        "properties": {
            "level": row["level"],
            "code": row["code"],
            "name": row["name"],
            "parent": chain[-2] if len(chain) > 1 else None,
            "chain": chain,
            "area_m2": round(row["area_m2"], 1),
            "generation": generation,
            "children": [
                {
                    "level": f["properties"]["level"],
                    "code": f["properties"]["code"],
                    "name": f["properties"]["name"],
                }
                for f in children["features"]
            ],
            "attributes": row["properties"],
        },
    }


def units_geojson(
    db: Database, settings: Settings, *, level: str | None, bbox: str | None
) -> dict[str, Any]:
    """Units of a level inside a bbox, simplified for display."""
    _check_level(settings, level)
    box = parse_bbox(bbox) if bbox else None
    generation = require_active_generation(db)
    width = (box[2] - box[0]) if box else 1.0
    with db.connection() as conn:
        return unit_store.units_geojson(
            conn,
            generation=generation,
            level=level,
            bbox=box,
            tolerance_deg=display_tolerance_deg(settings, width),
        )


def top_units(db: Database, settings: Settings) -> list[dict[str, Any]]:
    """Properties of the units of the highest level that has any (the index page's list);
    empty before the first generation is active."""
    with db.connection() as conn:
        generation = unit_store.active_generation(conn)
        if generation is None:
            return []
        counts = unit_store.level_counts(conn, generation)
        top = next((name for name in settings.levels.names if counts.get(name)), None)
        if top is None:
            return []
        collection = unit_store.units_geojson(
            conn, generation=generation, level=top, bbox=None, tolerance_deg=0
        )
    return [feature["properties"] for feature in collection["features"]]


def unit_map_layers(
    db: Database, settings: Settings, code: str, *, level: str | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(unit feature, children collection, neighbours collection) for a unit's map page."""
    unit = find_unit(db, settings, code, level=level)
    x0, _, x1, _ = unit["bbox"]
    tolerance = display_tolerance_deg(settings, (x1 - x0) * 3)
    props = unit["properties"]
    with db.connection() as conn:
        children = unit_store.children_geojson(
            conn,
            generation=props["generation"],
            level=props["level"],
            code=props["code"],
            tolerance_deg=tolerance,
        )
        neighbours = unit_store.neighbours_geojson(
            conn,
            generation=props["generation"],
            level=props["level"],
            code=props["code"],
            tolerance_deg=tolerance,
        )
    return unit, children, neighbours
