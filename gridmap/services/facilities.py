"""Use cases: import service facilities (points from files, CSV or OSM tags) as named sets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridmap.errors import InputError
from gridmap.geo.geometry import ewkb_hex
from gridmap.ingest.boundaries import read_boundary_file
from gridmap.ingest.osm import read_osm_points
from gridmap.ingest.tables import read_point_table
from gridmap.store import coverage as coverage_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


@dataclass
class FacilityReport:
    set_id: int
    name: str
    source: str
    facilities: int
    types: dict[str, int]


def read_facilities(
    path: Path,
    *,
    type_field: str | None = None,
    name_field: str = "name",
    lon_col: str = "lon",
    lat_col: str = "lat",
) -> gpd.GeoDataFrame:
    """Facilities as points (``ref``, ``name``, ``type``) in EPSG:4326 from GeoJSON/GPKG/SHP,
    CSV (``lon_col``/``lat_col``) or OSM tags (``type_field`` is the tag key, default amenity)."""
    suffix = path.name.lower()
    if suffix.endswith((".osm", ".pbf", ".osm.bz2")):
        points = read_osm_points(path, key=type_field or "amenity")
        points["ref"] = points["osm_id"].astype(str)
        return points[["ref", "name", "type", "geometry"]]
    if suffix.endswith(".csv"):
        frame, lon, lat = read_point_table(path, lon_col=lon_col, lat_col=lat_col)
        bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat)))
        if len(bad):
            raise InputError(
                "facility_not_point",
                path=path,
                feature=int(bad[0]),
                name=frame.iloc[bad[0]].get(name_field, ""),
                geom_type="row without coordinates",
            )
        geometry = np.asarray(shapely.points(lon, lat))
    else:
        frame = read_boundary_file(path).frame
        geometry = frame.geometry.to_numpy()
        kinds = shapely.get_type_id(geometry)
        # a one-point MultiPoint is a point; anything else is an error naming the feature
        single = (kinds == 4) & (shapely.get_num_geometries(geometry) == 1)
        geometry = np.where(single, shapely.get_geometry(geometry, 0), geometry)
        bad = np.flatnonzero(shapely.get_type_id(geometry) != 0)
        if len(bad):
            i = int(bad[0])
            raise InputError(
                "facility_not_point",
                path=path,
                feature=i,
                name=str(frame.iloc[i].get(name_field, "")),
                geom_type=shapely.get_type_id(geometry[i]),
            )
    columns = {str(c).casefold(): c for c in frame.columns}

    def text(field_name: str | None, default: str = "") -> np.ndarray:
        if field_name is None:
            return np.full(len(frame), default, dtype=object)
        column = columns.get(field_name.casefold())
        if column is None:
            fields = ", ".join(str(c) for c in frame.columns if c != "geometry")
            raise InputError(
                "field_missing", path=path, field=field_name, option="--type-field", fields=fields
            )
        return frame[column].astype("string").fillna("").to_numpy(dtype=object)

    if type_field is None and "amenity" in columns:
        type_field = "amenity"
    ref_field = next((columns[c] for c in ("osm_id", "id", "ref") if c in columns), None)
    return gpd.GeoDataFrame(
        {
            "ref": text(str(ref_field)) if ref_field is not None else np.arange(len(frame)),
            "name": text(name_field) if name_field.casefold() in columns else "",
            "type": text(type_field),
        },
        geometry=list(geometry),
        crs="EPSG:4326",
    )


def import_facilities(
    db: Database,
    path: Path,
    *,
    name: str,
    type_field: str | None = None,
    name_field: str = "name",
    lon_col: str = "lon",
    lat_col: str = "lat",
) -> FacilityReport:
    """Store a named facility set (snapping happens per run, against the run's network)."""
    points = read_facilities(
        path, type_field=type_field, name_field=name_field, lon_col=lon_col, lat_col=lat_col
    )
    if len(points) == 0:
        raise InputError("layer_empty", path=path)
    wkb = ewkb_hex(points.geometry.to_numpy())
    rows: Iterator[tuple[Any, ...]] = (
        (i, str(ref), str(n), str(t), g, {})
        for i, (ref, n, t, g) in enumerate(
            zip(points["ref"], points["name"], points["type"], wkb, strict=True)
        )
    )
    with db.transaction() as conn:
        set_id = coverage_store.create_facility_set(conn, name=name, source=str(path), rows=rows)
    types = {str(k): int(v) for k, v in points["type"].value_counts().items()}
    return FacilityReport(set_id, name, str(path), len(points), types)


def list_facility_sets(db: Database) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return coverage_store.list_facility_sets(conn)
