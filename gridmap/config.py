"""Settings: read once from GRIDMAP_* environment variables into one immutable object."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gridmap.domain.codes import CodeProfile
from gridmap.domain.levels import DEFAULT_LEVELS_SPEC, Hierarchy
from gridmap.errors import ConfigError


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0:  # also rejects NaN
        raise ValueError("must be a number >= 0")
    return number


def _lang(value: str) -> str:
    if value not in ("en", "zh-CN"):
        raise ValueError("must be en or zh-CN")
    return value


# --- coverage (issue 4) ---------------------------------------------------------------------


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):  # also rejects NaN
        raise ValueError("must be a number > 0")
    return number


def _share(value: str) -> float:
    number = float(value)
    if not 0 < number <= 1:
        raise ValueError("must be a share between 0 (excluded) and 1, e.g. 0.85")
    return number


# --- geocoding (issue 5) --------------------------------------------------------------------


def _names_list(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise ValueError("must list at least one name, separated by commas")
    return names


def _score(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:  # also rejects NaN
        raise ValueError("must be a number between 0 and 1")
    return number


@dataclass(frozen=True)
class Settings:
    """Every setting gridmap reads; the README's table is generated from ``describe()``.

    Each field's metadata carries the environment variable, its parser and its documentation.
    """

    database_url: str = field(
        default="postgresql://postgres@localhost:5432/gridmap",
        metadata={"env": "GRIDMAP_DATABASE_URL", "doc": "PostgreSQL/PostGIS connection URL"},
    )
    levels: Hierarchy = field(
        default_factory=lambda: Hierarchy.parse(DEFAULT_LEVELS_SPEC),
        metadata={
            "env": "GRIDMAP_LEVELS",
            "parse": Hierarchy.parse,
            "default_text": DEFAULT_LEVELS_SPEC,
            "doc": "grid levels from the top down, each `name:English label:中文标签`",
        },
    )
    lang: str = field(
        default="en",
        metadata={
            "env": "GRIDMAP_LANG",
            "parse": _lang,
            "doc": "default language of pages and CLI labels (`en` or `zh-CN`); "
            "pages also follow `?lang=` and Accept-Language",
        },
    )
    host: str = field(
        default="127.0.0.1",
        metadata={"env": "GRIDMAP_HOST", "doc": "address `gridmap serve` binds"},
    )
    port: int = field(
        default=8000,
        metadata={
            "env": "GRIDMAP_PORT",
            "parse": _positive_int,
            "doc": "port `gridmap serve` binds",
        },
    )
    threads: int = field(
        default=8,
        metadata={
            "env": "GRIDMAP_THREADS",
            "parse": _positive_int,
            "doc": "worker threads of the WSGI server (waitress)",
        },
    )
    pool_max: int = field(
        default=10,
        metadata={
            "env": "GRIDMAP_POOL_MAX",
            "parse": _positive_int,
            "doc": "largest number of database connections held by one process",
        },
    )
    subdivide_max_vertices: int = field(
        default=64,
        metadata={
            "env": "GRIDMAP_SUBDIVIDE_MAX_VERTICES",
            "parse": _positive_int,
            "doc": "vertices per piece in the subdivided lookup copy (smaller = faster "
            "point-in-polygon, more rows)",
        },
    )
    display_simplify_m: float = field(
        default=2.0,
        metadata={
            "env": "GRIDMAP_DISPLAY_SIMPLIFY_M",
            "parse": _non_negative_float,
            "doc": "tolerance in metres for simplifying polygons sent to maps "
            "(grows with the bbox so a city-wide view stays light)",
        },
    )
    code_profile: CodeProfile = field(
        default_factory=lambda: CodeProfile.parse("free"),
        metadata={
            "env": "GRIDMAP_CODE_PROFILE",
            "parse": CodeProfile.parse,
            "default_text": "free",
            "doc": "unit code layout: `free`, `gb` (6/9/12/15 digits nested by prefix) or "
            "`NAME:level=digits,...`",
        },
    )
    check_width_m: float = field(
        default=0.5,
        metadata={
            "env": "GRIDMAP_CHECK_WIDTH_M",
            "parse": _non_negative_float,
            "doc": "import checks ignore overlaps and gaps narrower than this (metres)",
        },
    )
    sliver_area_m2: float = field(
        default=50.0,
        metadata={
            "env": "GRIDMAP_SLIVER_AREA_M2",
            "parse": _non_negative_float,
            "doc": "thin polygon parts smaller than this (m2) are reported as slivers",
        },
    )
    tile_url: str = field(
        default="",
        metadata={
            "env": "GRIDMAP_TILE_URL",
            "doc": "base-map tile URL template `{z}/{x}/{y}`; empty = no base map (offline). "
            "GCJ-02 tiles (Amap, Tencent) are offset from WGS84 data",
        },
    )
    tile_attribution: str = field(
        default="",
        metadata={"env": "GRIDMAP_TILE_ATTRIBUTION", "doc": "attribution shown with the tiles"},
    )
    log_level: str = field(
        default="INFO",
        metadata={"env": "GRIDMAP_LOG_LEVEL", "doc": "logging level (DEBUG, INFO, WARNING ...)"},
    )

    # --- coverage (issue 4) -----------------------------------------------------------------
    walk_speed_kmh: float = field(
        default=4.5,
        metadata={
            "env": "GRIDMAP_WALK_SPEED_KMH",
            "parse": _positive_float,
            "doc": "walking speed for service circles (4.5 km/h: 15 minutes = 1,125 m)",
        },
    )
    bike_speed_kmh: float = field(
        default=15.0,
        metadata={
            "env": "GRIDMAP_BIKE_SPEED_KMH",
            "parse": _positive_float,
            "doc": "cycling speed for networks imported with `--profile bike`",
        },
    )
    coverage_street_width_m: float = field(
        default=40.0,
        metadata={
            "env": "GRIDMAP_COVERAGE_STREET_WIDTH_M",
            "parse": _positive_float,
            "doc": "half-width in metres of the street-side strip drawn around reachable "
            "streets; land farther from any street counts as not reached",
        },
    )
    coverage_max_access_m: float = field(
        default=150.0,
        metadata={
            "env": "GRIDMAP_COVERAGE_MAX_ACCESS_M",
            "parse": _positive_float,
            "doc": "farthest a facility or building may be from a usable way; a facility "
            "farther away is reported, not snapped",
        },
    )
    coverage_grid_m: float = field(
        default=10.0,
        metadata={
            "env": "GRIDMAP_COVERAGE_GRID_M",
            "parse": _positive_float,
            "doc": "spacing in metres of the sample points that measure covered area",
        },
    )
    coverage_target_share: float = field(
        default=0.85,
        metadata={
            "env": "GRIDMAP_COVERAGE_TARGET_SHARE",
            "parse": _share,
            "doc": "share of residents that should be within the target time (national target "
            "85 %)",
        },
    )
    coverage_target_minutes: int = field(
        default=15,
        metadata={
            "env": "GRIDMAP_COVERAGE_TARGET_MINUTES",
            "parse": _positive_int,
            "doc": "travel time of the coverage target, in minutes",
        },
    )

    # --- geocoding (issue 5) -----------------------------------------------------------------
    city: str = field(
        default="",
        metadata={
            "env": "GRIDMAP_CITY",
            "doc": "the deployment's city (e.g. `南京市`, `New York`): context for parsing "
            "addresses; an address in another city is not matched; empty = no context",
        },
    )
    geocode_accept: tuple[str, ...] = field(
        default=("house_number", "poi"),
        metadata={
            "env": "GRIDMAP_GEOCODE_ACCEPT",
            "parse": _names_list,
            "default_text": "house_number,poi",
            "doc": "precisions a geocoded address is accepted at (`house_number`, `poi`, "
            "`road` or level names); coarser matches go to triage with their candidates",
        },
    )
    geocode_margin: float = field(
        default=0.1,
        metadata={
            "env": "GRIDMAP_GEOCODE_MARGIN",
            "parse": _score,
            "doc": "two candidates whose scores (0-1) differ by less than this and that lie "
            "farther apart than `GRIDMAP_GEOCODE_AMBIGUOUS_M` make an address ambiguous",
        },
    )
    geocode_ambiguous_m: float = field(
        default=200.0,
        metadata={
            "env": "GRIDMAP_GEOCODE_AMBIGUOUS_M",
            "parse": _non_negative_float,
            "doc": "distance in metres beyond which two close-scoring candidates are "
            "different places (ambiguous), not one place mapped twice",
        },
    )
    geocode_min_score: float = field(
        default=0.5,
        metadata={
            "env": "GRIDMAP_GEOCODE_MIN_SCORE",
            "parse": _score,
            "doc": "lowest trigram score (0-1) a best candidate may have to be accepted; "
            "weaker matches go to triage",
        },
    )
    geocode_candidates: int = field(
        default=10,
        metadata={
            "env": "GRIDMAP_GEOCODE_CANDIDATES",
            "parse": _positive_int,
            "doc": "most candidates a geocoding result lists",
        },
    )

    # --- intake and routing (issue 5) ---------------------------------------------------------
    data_dir: Path = field(
        default=Path(__file__).resolve().parents[1] / "data",
        metadata={
            "env": "GRIDMAP_DATA_DIR",
            "parse": Path,
            "default_text": "the repository's data/",
            "doc": "folder of the shipped data: category sets (`categories/NAME.toml`) and "
            "working calendars (`calendars/NAME.toml`)",
        },
    )
    edge_margin_m: float = field(
        default=10.0,
        metadata={
            "env": "GRIDMAP_EDGE_MARGIN_M",
            "parse": _non_negative_float,
            "doc": "an issue closer than this (m) to the edge of the unit it was placed in is "
            "routed but flagged for confirmation (GPS error, a report on the boundary street)",
        },
    )

    # --- Open311 GeoReport v2 (issue 5) ---------------------------------------------------------
    open311_jurisdiction: str = field(
        default="",
        metadata={
            "env": "GRIDMAP_OPEN311_JURISDICTION",
            "doc": "the Open311 `jurisdiction_id` this server answers for (e.g. `nanjing.gov.cn`); "
            "empty: any or none is accepted, as the spec allows for a one-city endpoint",
        },
    )
    open311_contact: str = field(
        default="",
        metadata={
            "env": "GRIDMAP_OPEN311_CONTACT",
            "doc": "who to contact about the Open311 endpoint, shown in its discovery document",
        },
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every GRIDMAP_* variable once; a malformed value names the variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            parse: Callable[[str], Any] = f.metadata.get("parse", str)
            try:
                values[f.name] = parse(raw)
            except ConfigError:
                raise
            except ValueError as exc:
                raise ConfigError(
                    "setting_invalid", setting=f.metadata["env"], value=raw, reason=str(exc)
                ) from exc
        values.update(overrides)
        return cls(**values)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, meaning) for every setting: the README table."""
        rows = []
        for f in fields(cls):
            default = f.metadata.get("default_text", f.default)
            rows.append((f.metadata["env"], str(default), f.metadata["doc"]))
        return rows
