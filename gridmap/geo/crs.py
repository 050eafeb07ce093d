"""Coordinate reference systems: parse what users give, pick a local metric CRS for a place."""

from __future__ import annotations

import logging

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


def lonlat_to_metric(
    lon: np.ndarray, lat: np.ndarray, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Project lon/lat arrays to ``crs`` (x, y order: always_xy)."""
    transformer = pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return np.asarray(x), np.asarray(y)
