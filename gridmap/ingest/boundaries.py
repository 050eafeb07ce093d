"""Read a boundary file (Shapefile plain/zipped, GeoPackage, GeoJSON, KML) into EPSG:4326.

Decides, and reports, the two things Chinese boundary files most often get wrong: the DBF
text encoding (GBK without a .cpg) and the coordinate system (missing .prj, Gauss-Kruger with a
zone prefix, legacy datums, GCJ-02/BD-09 offsets from web maps).
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import shapely

from gridmap.errors import InputError
from gridmap.geo.coords import COORD_TYPES, to_wgs84
from gridmap.geo.crs import WGS84, infer_crs, legacy_datum, parse_crs, with_towgs84

LOGGER = logging.getLogger(__name__)

_LAYER_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".kml")
# Records are decoded as UTF-8 only if every byte sequence is valid UTF-8; GB18030 is a
# superset of GBK and GB2312 and decodes any byte string, so it is the fallback, not a guess.
_FALLBACK_ENCODING = "GB18030"


@dataclass(frozen=True)
class BoundaryFile:
    """A boundary layer read and reprojected to EPSG:4326, with what was learnt on the way."""

    frame: gpd.GeoDataFrame
    source: str
    layer: str | None
    source_crs: str
    crs_from: str  # "file", "--crs", "inferred: <why>" or "generated"
    encoding: str | None
    encoding_from: str = "file"  # ".cpg", "UTF-8 check", "fallback", "--encoding" or "file"
    coord_type: str = "wgs84"


def _zip_members(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return [
            n
            for n in archive.namelist()
            if n.lower().endswith(_LAYER_SUFFIXES) and "__MACOSX" not in n
        ]


def _choose_member(path: Path, members: list[str], layer: str | None) -> str:
    """The one layer in the zip, or the one ``layer`` names (full inner path, file or stem)."""
    if not members:
        raise InputError("zip_no_layer", path=path)
    if layer is not None:
        hits = [m for m in members if layer in (m, PurePosixPath(m).name, PurePosixPath(m).stem)]
        if len(hits) == 1:
            return hits[0]
        raise InputError("layer_unknown", path=path, layer=layer, layers=", ".join(members))
    if len(members) > 1:
        raise InputError("layers_many", path=path, layers=", ".join(sorted(members)))
    return members[0]


def _read_sidecar(path: Path, member: str | None, suffix: str) -> bytes | None:
    """A shapefile's .cpg/.dbf next to it, on disk or in the zip (any letter case)."""
    if member is None:
        for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
            if candidate.exists():
                return candidate.read_bytes()
        return None
    stem = str(PurePosixPath(member).with_suffix(""))
    with zipfile.ZipFile(path) as archive:
        names = {n.lower(): n for n in archive.namelist()}
        name = names.get((stem + suffix).lower())
        return archive.read(name) if name else None


def detect_dbf_encoding(dbf: bytes) -> tuple[str, str]:
    """(encoding, how it was decided) for a DBF without a .cpg: strict UTF-8 if its records
    decode, otherwise GB18030 (the usual encoding of Chinese agencies' files)."""
    header_length = int.from_bytes(dbf[8:10], "little") if len(dbf) >= 10 else 0
    records = dbf[header_length:]
    try:
        records.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return _FALLBACK_ENCODING, "fallback"
    return "UTF-8", "UTF-8 check"


def _decide_encoding(
    path: Path, member: str | None, dataset: str, encoding: str | None
) -> tuple[str | None, str]:
    if encoding is not None:
        return encoding, "--encoding"
    if not dataset.lower().endswith(".shp"):
        return None, "file"  # GeoPackage, GeoJSON and KML are UTF-8 by specification
    cpg = _read_sidecar(path, member, ".cpg")
    if cpg is not None:
        return cpg.decode("ascii", errors="replace").strip() or None, ".cpg"
    dbf = _read_sidecar(path, member, ".dbf")
    if dbf is None:
        return None, "file"
    return detect_dbf_encoding(dbf)


def _resolve_crs(
    path: Path,
    frame: gpd.GeoDataFrame,
    *,
    crs: str | None,
    towgs84: str | None,
) -> tuple[pyproj.CRS, str]:
    if crs is not None:
        source_crs, crs_from = parse_crs(crs), "--crs"
    elif frame.crs is not None:
        source_crs, crs_from = pyproj.CRS(frame.crs), "file"
    else:
        x0, y0, x1, y1 = (float(v) for v in frame.total_bounds)
        inferred = infer_crs((x0, y0, x1, y1))
        if inferred is None:
            x0, y0, x1, y1 = (round(float(v), 1) for v in frame.total_bounds)
            raise InputError("crs_ambiguous", path=path, bounds=f"{x0}, {y0}, {x1}, {y1}")
        source_crs, crs_from = inferred[0], f"inferred: {inferred[1]}"
    legacy = legacy_datum(source_crs)
    if legacy is not None:
        if towgs84 is None:
            raise InputError("crs_legacy_datum", path=path, datum=legacy, crs=source_crs.name)
        try:
            source_crs = with_towgs84(source_crs, towgs84)
        except ValueError as exc:
            raise InputError("towgs84_invalid", path=path, value=towgs84, reason=str(exc)) from exc
        crs_from += f" + towgs84 {towgs84}"
    return source_crs, crs_from


def _remove_web_offset(frame: gpd.GeoDataFrame, coord_type: str) -> gpd.GeoDataFrame:
    """Undo the GCJ-02 or BD-09 offset of data digitised on Chinese web maps (vectorised)."""

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1], coord_type=coord_type)
        return np.column_stack([lon, lat])

    frame = frame.copy()
    frame.geometry = shapely.transform(frame.geometry.to_numpy(), convert)
    return frame


def read_boundary_file(
    path: Path,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    crs: str | None = None,
    towgs84: str | None = None,
    coord_type: str = "wgs84",
) -> BoundaryFile:
    """Read every feature of one layer and reproject it to EPSG:4326.

    Parameters
    ----------
    path
        a file, a shapefile's folder, or a zip (a layer may sit in a folder inside it).
    layer
        which layer of a multi-layer file, or which file inside a zip.
    encoding
        DBF text encoding; default: the .cpg, else strict UTF-8 if it decodes, else GB18030.
    crs
        declares the file's CRS when it has none or a wrong one (does not reproject twice).
    towgs84
        Helmert parameters that make a Xian 1980 / Beijing 1954 file usable.
    coord_type
        ``gcj02`` or ``bd09`` for data digitised on Amap/Tencent or Baidu maps.
    """
    if coord_type not in COORD_TYPES:
        raise InputError("coord_type_invalid", value=coord_type, types=", ".join(COORD_TYPES))
    if not path.exists():
        raise InputError("file_missing", path=path)
    member: str | None = None
    dataset = str(path)
    read_layer = layer
    if path.suffix.lower() == ".zip":
        member = _choose_member(path, _zip_members(path), layer)
        dataset, read_layer = f"/vsizip/{path}/{member}", None
    elif path.is_dir():  # a shapefile's folder: pick its one .shp (or the one named)
        shapefiles = {p.stem: p for p in sorted(path.glob("*.shp"))}
        if not shapefiles:
            raise InputError("zip_no_layer", path=path)
        if layer is None and len(shapefiles) > 1:
            raise InputError("layers_many", path=path, layers=", ".join(shapefiles))
        chosen = shapefiles.get(PurePosixPath(layer).stem if layer else next(iter(shapefiles)))
        if chosen is None:
            raise InputError("layer_unknown", path=path, layer=layer, layers=", ".join(shapefiles))
        dataset, read_layer = str(chosen), None
    sidecar_base = path if member is not None else Path(dataset)
    chosen_encoding, encoding_from = _decide_encoding(sidecar_base, member, dataset, encoding)
    if dataset.lower().endswith(".shp") and _read_sidecar(sidecar_base, member, ".dbf") is None:
        raise InputError("dbf_missing", path=path)
    try:
        names = [str(n) for n in pyogrio.list_layers(dataset)[:, 0]]
        if read_layer is None and len(names) > 1:
            raise InputError("layers_many", path=path, layers=", ".join(names))
        if read_layer is not None and read_layer not in names:
            raise InputError("layer_unknown", path=path, layer=read_layer, layers=", ".join(names))
        frame = pyogrio.read_dataframe(dataset, layer=read_layer, encoding=chosen_encoding)
    except InputError:
        raise
    except Exception as exc:  # GDAL reports format problems with several exception types
        raise InputError("file_unreadable", path=path, reason=str(exc).strip()) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise InputError("file_unreadable", path=path, reason="no geometry column")
    if len(frame) == 0:
        raise InputError("layer_empty", path=path)
    source_crs, crs_from = _resolve_crs(path, frame, crs=crs, towgs84=towgs84)
    frame = frame.set_crs(source_crs, allow_override=True)
    if not source_crs.equals(WGS84, ignore_axis_order=True):
        frame = frame.to_crs(WGS84)
    if coord_type != "wgs84":
        frame = _remove_web_offset(frame, coord_type)
    return BoundaryFile(
        frame=frame,
        source=str(path) if member is None else f"{path}/{member}",
        layer=layer,
        source_crs=source_crs.to_string() if source_crs.to_epsg() else source_crs.name,
        crs_from=crs_from,
        encoding=chosen_encoding,
        encoding_from=encoding_from,
        coord_type=coord_type,
    )
