"""Chinese web-map coordinate offsets: GCJ-02 (Amap, Tencent, WeChat) and BD-09 (Baidu) to and
from WGS84, vectorised over numpy arrays.

These are obfuscations with no EPSG code or PROJ pipeline, so no CRS library covers them; the
published formulas are implemented here. GCJ-02 -> WGS84 has no closed form and is solved by
fixed-point iteration (converges to well under a millimetre in a few steps).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

LOGGER = logging.getLogger(__name__)

COORD_TYPES = ("wgs84", "gcj02", "bd09")
# Reported points (intake, hotline exports) may also say cgcs2000: CGCS2000 and WGS84 (G1762)
# agree to a few centimetres, far below what a report's location means, so its lon/lat are
# taken as they are. GCJ-02 and BD-09 are offsets of hundreds of metres and are removed.
POINT_COORD_TYPES = (*COORD_TYPES, "cgcs2000")
TAKEN_AS_WGS84 = ("wgs84", "cgcs2000")  # no offset to remove

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula
_A = 6378245.0
_EE = 0.00669342162296594323
_BD_X_PI = np.pi * 3000.0 / 180.0
# the published formula applies no offset outside this rough rectangle around China
_CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = _CHINA_BOX
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def _offset_deg(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 at a WGS84 position, in degrees."""
    x = lon - 105.0
    y = lat - 35.0
    sq = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sq
        + common
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sq
        + common
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _offset_deg(lon, lat)
    return lon + dlon, lat + dlat


Forward = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _invert(
    forward: Forward,
    lon: np.ndarray,
    lat: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
    *,
    tolerance_deg: float = 1e-10,
    max_iter: int = 30,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(x) = target by fixed-point iteration (the offsets vary slowly, so each
    step removes almost all of the remaining error)."""
    x, y = start
    for _ in range(max_iter):
        fx, fy = forward(x, y)
        err_x, err_y = fx - lon, fy - lat
        x, y = x - err_x, y - err_y
        worst = max(np.nanmax(np.abs(err_x), initial=0.0), np.nanmax(np.abs(err_y), initial=0.0))
        if worst < tolerance_deg:
            break
    return x, y


def gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The WGS84 point whose GCJ-02 image is the given point."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return _invert(wgs84_to_gcj02, lon, lat, (lon.copy(), lat.copy()))


def gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The published closed-form inverse (~0.2 m off), refined to the exact inverse."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return _invert(gcj02_to_bd09, lon, lat, _bd09_to_gcj02_approx(lon, lat))


def _bd09_to_gcj02_approx(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def to_wgs84(lon: np.ndarray, lat: np.ndarray, *, coord_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert from ``coord_type`` (POINT_COORD_TYPES) to WGS84."""
    if coord_type in TAKEN_AS_WGS84:
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if coord_type == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if coord_type == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown coord_type {coord_type!r}; expected one of {COORD_TYPES}")
