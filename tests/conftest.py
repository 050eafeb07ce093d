"""Shared fixtures: a real PostGIS database per test (cloned from a migrated template),
the Database pool and app built from it, and helpers that write real boundary files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pytest
from pytest_postgresql import factories
from shapely.geometry import box

from gridmap.config import Settings
from gridmap.domain.levels import Hierarchy
from gridmap.store import migrations
from gridmap.store.db import Database

REPO = Path(__file__).resolve().parents[1]


def migrate_template(
    host: str, port: int, user: str, dbname: str, password: str | None, **_: Any
) -> None:
    """Loader for pytest-postgresql: apply our migrations to the template database once."""
    migrations.upgrade(f"postgresql://{user}@{host}:{port}/{dbname}")


# Per-process database names: two test sessions on one server (two developers, a developer
# and CI) must not drop each other's template.
TEST_DB_PREFIX = "gridmap_test_"
postgresql_proc = factories.postgresql_noproc(
    dbname=f"{TEST_DB_PREFIX}{os.getpid()}", load=[migrate_template]
)
postgresql = factories.postgresql("postgresql_proc")


# --- CI: a skipped database or browser test is a failure ----------------------------------------


def pytest_sessionstart(session: pytest.Session) -> None:
    """Drop test databases left by sessions that were killed (their process is gone)."""
    try:
        conn = psycopg.connect("postgresql://postgres@localhost:5432/postgres", autocommit=True)
    except psycopg.OperationalError:
        return  # no server: the database tests will fail with the real reason
    with conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (TEST_DB_PREFIX + "%",)
            )
        ]
        for name in names:
            pid = name.removeprefix(TEST_DB_PREFIX).split("_")[0]
            if pid.isdigit() and not _process_alive(int(pid)):
                conn.execute(
                    psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        psycopg.sql.Identifier(name)
                    )
                )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and not os.environ.get("GRIDMAP_ALLOW_SKIPS"):
        if reporter:
            reporter.write_line(
                f"FAILED: {skipped} test(s) skipped; every database and browser test must run "
                "(set GRIDMAP_ALLOW_SKIPS=1 to allow skips locally)",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- database, settings, app -----------------------------------------------------------------


@pytest.fixture
def db_url(postgresql: psycopg.Connection) -> str:
    info = postgresql.info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


CHINA_LEVELS = (
    "city:City:市,district:District:区,street:Street:街道,community:Community:社区,cell:Cell:网格"
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, levels=Hierarchy.parse(CHINA_LEVELS))


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    with Database(settings.database_url, max_size=4) as db:
        yield db


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """Environment for running the `gridmap` command against this test's database."""
    return {
        **os.environ,
        "GRIDMAP_DATABASE_URL": settings.database_url,
        "GRIDMAP_LEVELS": CHINA_LEVELS,
        "GRIDMAP_LOG_LEVEL": "WARNING",
    }


# --- boundary files ----------------------------------------------------------------------------

# A small synthetic grid at Nanjing (lon/lat): one city square, two districts side by side,
# each district with two cells, so points on the shared edges are easy to construct.
X0, Y0, STEP = 118.78, 32.04, 0.01


def square(col: int, row: int, width: int = 1, height: int = 1) -> Any:
    return box(
        X0 + col * STEP, Y0 + row * STEP, X0 + (col + width) * STEP, Y0 + (row + height) * STEP
    )


@pytest.fixture
def write_layer(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (dicts with a shapely 'geometry') as a real file via pyogrio."""

    def write(
        name: str,
        rows: list[dict[str, Any]],
        *,
        crs: str = "EPSG:4326",
        driver: str = "GeoJSON",
        to_crs: str | None = None,
    ) -> Path:
        frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
        if to_crs:
            frame = frame.to_crs(to_crs)
        suffix = {"GeoJSON": ".geojson", "ESRI Shapefile": ".shp", "GPKG": ".gpkg"}[driver]
        path = tmp_path / f"{name}{suffix}"
        frame.to_file(path, driver=driver, engine="pyogrio")
        return path

    return write


@pytest.fixture
def small_grid(write_layer: Callable[..., Path]) -> dict[str, Path]:
    """city (2x1 squares) > districts D1 (west), D2 (east) > cells, each 1 x 0.5 squares."""
    city = write_layer("city", [{"code": "3201", "name": "南京市", "geometry": square(0, 0, 2, 1)}])
    districts = write_layer(
        "districts",
        [
            {"code": "320101", "name": "西区", "geometry": square(0, 0)},
            {"code": "320102", "name": "东区", "geometry": square(1, 0)},
        ],
    )
    half = STEP / 2
    cells = write_layer(
        "cells",
        [
            {
                "code": f"{d}{i:03d}",
                "name": f"网格{d[-1]}-{i}",
                "geometry": box(
                    X0 + c * STEP, Y0 + (i - 1) * half, X0 + (c + 1) * STEP, Y0 + i * half
                ),
            }
            for c, d in ((0, "320101"), (1, "320102"))
            for i in (1, 2)
        ],
    )
    return {"city": city, "district": districts, "cell": cells}


@pytest.fixture
def city_loaded(database: Database, settings: Settings, small_grid: dict[str, Path]) -> Path:
    """Only the small grid's city, committed and active (for checks against a parent)."""
    from gridmap.services.boundaries import import_boundaries

    import_boundaries(
        database,
        settings,
        small_grid["city"],
        level="city",
        code_field="code",
        name_field="name",
        commit=True,
        activate=True,
    )
    return small_grid["city"]


@pytest.fixture
def load_small_grid(
    database: Database, settings: Settings, small_grid: dict[str, Path]
) -> dict[str, Path]:
    for level in ("city", "district", "cell"):
        import_layer(database, settings, small_grid[level], level)
    return small_grid


def import_layer(database: Database, settings: Settings, path: Path, level: str) -> None:
    """Import and activate a layer whose features carry ``code`` and ``name``."""
    from gridmap.services.boundaries import import_boundaries

    import_boundaries(
        database,
        settings,
        path,
        level=level,
        code_field="code",
        name_field="name",
        commit=True,
        activate=True,
    )


def read_json(text: str) -> Any:
    return json.loads(text)
