"""Coordinate reference systems: parse what users give, pick a local metric CRS for a place."""

from __future__ import annotations

import logging
import warnings
from functools import lru_cache

import numpy as np
import pyproj
from pyproj.exceptions import CRSError

from gridmap.errors import InputError

LOGGER = logging.getLogger(__name__)

WGS84 = pyproj.CRS.from_epsg(4326)

# CGCS2000 3-degree Gauss-Kruger zones without the zone prefix: EPSG:4534 (CM 75E) ...
# EPSG:4554 (CM 135E), one every 3 degrees (e.g. 4548 = CM 117E).
_CGCS2000_GK3_FIRST_EPSG = 4534
_CGCS2000_GK3_FIRST_CM = 75
_CHINA_LON = (73.0, 135.5)
_CHINA_LAT = (17.5, 54.0)


def parse_crs(text: str) -> pyproj.CRS:
    """A CRS from anything pyproj reads (EPSG:4490, WKT, PROJ string); clear error otherwise."""
    try:
        return pyproj.CRS.from_user_input(text)
    except CRSError as exc:
        raise InputError("crs_invalid", crs=text, reason=str(exc)) from exc


def local_metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """The metric CRS surveyors would use at (lon, lat).

    In China, CGCS2000 3-degree Gauss-Kruger (the national survey standard); elsewhere the
    WGS84 UTM zone. Both keep scale error below ~0.1 % within a city.
    """
    if _CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1]:
        central_meridian = round(lon / 3.0) * 3
        central_meridian = min(max(central_meridian, _CGCS2000_GK3_FIRST_CM), 135)
        return pyproj.CRS.from_epsg(
            _CGCS2000_GK3_FIRST_EPSG + (central_meridian - _CGCS2000_GK3_FIRST_CM) // 3
        )
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


@lru_cache(maxsize=32)
def _from_wgs84(crs: pyproj.CRS) -> pyproj.Transformer:
    # building a Transformer costs ~50 ms (PROJ database lookups): build each one once
    return pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)


def lonlat_to_metric(
    lon: np.ndarray, lat: np.ndarray, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Project lon/lat arrays to ``crs`` (x, y order: always_xy)."""
    x, y = _from_wgs84(crs).transform(lon, lat)
    return np.asarray(x), np.asarray(y)


# --- inferring a missing CRS -----------------------------------------------------------------

# CGCS2000 Gauss-Kruger with the zone number prefixed to the false easting (e.g. 39 500 000):
# 3-degree zones 25..45 are EPSG:4513..4533, 6-degree zones 13..23 are EPSG:4491..4501. The two
# ranges do not overlap, so the prefix alone tells which projection it is.
_GK3_ZONES = (25, 45, 4513)
_GK6_ZONES = (13, 23, 4491)
# northings of China in metres (about 18 N .. 54 N)
_CHINA_NORTHING = (1_900_000.0, 6_100_000.0)


def infer_crs(bounds: tuple[float, float, float, float]) -> tuple[pyproj.CRS, str] | None:
    """Guess a CRS from coordinates alone, only where the guess is unambiguous.

    Returns (crs, reason) or None. Longitude/latitude ranges give EPSG:4326 (CGCS2000 and WGS84
    agree to a few centimetres); eastings with a Gauss-Kruger zone prefix give that zone.
    Plain metric coordinates without a prefix could be any zone, any datum: no guess.
    """
    x0, y0, x1, y1 = bounds
    if -180.0 <= x0 <= x1 <= 180.0 and -90.0 <= y0 <= y1 <= 90.0:
        return WGS84, "coordinates are in the longitude/latitude range"
    zone0, zone1 = int(x0 // 1_000_000), int(x1 // 1_000_000)
    if zone0 == zone1 and _CHINA_NORTHING[0] <= y0 <= y1 <= _CHINA_NORTHING[1]:
        for first, last, first_epsg in (_GK3_ZONES, _GK6_ZONES):
            if first <= zone0 <= last:
                crs = pyproj.CRS.from_epsg(first_epsg + zone0 - first)
                return crs, f"eastings carry the Gauss-Kruger zone prefix {zone0}"
    return None


# --- legacy Chinese datums -------------------------------------------------------------------

# PROJ knows these datums but has no transformation to WGS84 for them: it would silently apply a
# zero shift (tens to over a hundred metres wrong). Local 7-parameter sets exist per city.
LEGACY_DATUMS = ("Xian 1980", "Beijing 1954", "Xi'an 1980")


def legacy_datum(crs: pyproj.CRS) -> str | None:
    """The legacy datum's name when ``crs`` is on Xian 1980 or Beijing 1954, else None."""
    names = [crs.datum.name if crs.datum else "", crs.name]
    for name in names:
        for legacy in LEGACY_DATUMS:
            if legacy.replace("'", "").lower() in name.replace("'", "").replace("_", " ").lower():
                return legacy
    return None


def with_towgs84(crs: pyproj.CRS, towgs84: str) -> pyproj.CRS:
    """``crs`` with explicit Helmert parameters (3 or 7 numbers: dx,dy,dz[,rx,ry,rz,ds])."""
    parts = [p.strip() for p in towgs84.split(",")]
    if len(parts) not in (3, 7):
        raise ValueError("--towgs84 needs 3 or 7 comma-separated numbers")
    values = [float(p) for p in parts]
    # A PROJ string is the simple format that carries +towgs84; pyproj warns that converting
    # to one can lose information, which does not apply to the Gauss-Kruger/geographic CRSs
    # of these datums (projection, ellipsoid and units all survive).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    proj4 = " ".join(t for t in proj4.split() if not t.startswith(("+towgs84", "+datum")))
    return pyproj.CRS.from_proj4(f"{proj4} +towgs84={','.join(str(v) for v in values)}")
