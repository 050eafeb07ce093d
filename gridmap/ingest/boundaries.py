"""Read a boundary file (GeoJSON, Shapefile, zipped Shapefile, GeoPackage) into EPSG:4326."""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio
import pyproj

from gridmap.errors import InputError
from gridmap.geo.crs import WGS84, parse_crs

LOGGER = logging.getLogger(__name__)

_LAYER_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json")


@dataclass(frozen=True)
class BoundaryFile:
    """A boundary layer read and reprojected to EPSG:4326, with what was learnt on the way."""

    frame: gpd.GeoDataFrame
    source: str
    layer: str | None
    source_crs: str
    crs_from: str  # "file" or "--crs"
    encoding: str | None


def _dataset_path(path: Path) -> str:
    """The path GDAL should open: a zip is opened inside through /vsizip/."""
    if path.suffix.lower() != ".zip":
        return str(path)
    with zipfile.ZipFile(path) as archive:
        inner = [
            n
            for n in archive.namelist()
            if n.lower().endswith(_LAYER_SUFFIXES) and not n.startswith("__MACOSX")
        ]
    if not inner:
        raise InputError("zip_no_layer", path=path)
    if len(inner) > 1:
        raise InputError("zip_many_layers", path=path, layers=", ".join(sorted(inner)))
    return f"/vsizip/{path}/{inner[0]}"


def read_boundary_file(
    path: Path,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    crs: str | None = None,
) -> BoundaryFile:
    """Read every feature of one layer and reproject it to EPSG:4326.

    ``crs`` declares the file's coordinate system when the file has none or a wrong one; it
    does not reproject from the declared CRS to another.
    """
    if not path.exists():
        raise InputError("file_missing", path=path)
    dataset = _dataset_path(path)
    try:
        names = [str(n) for n in pyogrio.list_layers(dataset)[:, 0]]
        if layer is None and len(names) > 1:
            raise InputError("layers_many", path=path, layers=", ".join(names))
        if layer is not None and layer not in names:
            raise InputError("layer_unknown", path=path, layer=layer, layers=", ".join(names))
        frame = pyogrio.read_dataframe(dataset, layer=layer, encoding=encoding)
    except InputError:
        raise
    except Exception as exc:  # GDAL reports format problems with several exception types
        raise InputError("file_unreadable", path=path, reason=str(exc).strip()) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise InputError("file_unreadable", path=path, reason="no geometry column")
    if crs is not None:
        source_crs: pyproj.CRS = parse_crs(crs)
        frame = frame.set_crs(source_crs, allow_override=True)
        crs_from = "--crs"
    elif frame.crs is None:
        raise InputError("crs_missing", path=path)
    else:
        source_crs = pyproj.CRS(frame.crs)
        crs_from = "file"
    if not source_crs.equals(WGS84, ignore_axis_order=True):
        frame = frame.to_crs(WGS84)
    return BoundaryFile(
        frame=frame,
        source=str(path),
        layer=layer,
        source_crs=source_crs.to_string(),
        crs_from=crs_from,
        encoding=encoding,
    )
