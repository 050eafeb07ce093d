"""Cell generation: along roads (a real OSM XML file), square and hex grids, numbering west to
east / north to south, partial regeneration, and the import checks on the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from gridmap.cli import main
from gridmap.config import Settings
from gridmap.domain.codes import CodeProfile
from gridmap.domain.levels import Hierarchy
from gridmap.errors import ConfigError, InputError
from gridmap.geo.grids import GridSpec
from gridmap.services.boundaries import import_boundaries
from gridmap.services.grids import generate_cells
from gridmap.services.locate import locate_point
from tests.conftest import CHINA_LEVELS, REPO

pytestmark = pytest.mark.db

# two communities side by side near 新街口, each ~300 m x 330 m
LON0, LAT0, DLON, DLAT = 118.780, 32.040, 0.00318, 0.003


@pytest.fixture
def gb_settings(settings: Settings) -> Settings:
    return Settings(
        database_url=settings.database_url,
        levels=Hierarchy.parse(CHINA_LEVELS),
        code_profile=CodeProfile.parse("gb"),
    )


@pytest.fixture
def communities(database, gb_settings, write_layer):
    path = write_layer(
        "communities",
        [
            {
                "code": "320102002001",
                "name": "甲社区",
                "geometry": shapely.box(LON0, LAT0, LON0 + DLON, LAT0 + DLAT),
            },
            {
                "code": "320102002002",
                "name": "乙社区",
                "geometry": shapely.box(LON0 + DLON, LAT0, LON0 + 2 * DLON, LAT0 + DLAT),
            },
        ],
    )
    import_boundaries(
        database,
        gb_settings,
        path,
        level="community",
        code_field="code",
        name_field="name",
        commit=True,
        activate=True,
    )


def _osm_crossroads(path: Path) -> Path:
    """An OSM XML file: a north-south and an east-west residential road through community 1,
    and a footway (not a block edge) through community 2."""
    mid_lon, mid_lat = LON0 + DLON / 2, LAT0 + DLAT / 2
    nodes = {
        1: (mid_lon, LAT0 - 0.001),
        2: (mid_lon, LAT0 + DLAT + 0.001),
        3: (LON0 - 0.001, mid_lat),
        4: (LON0 + DLON + 0.0002, mid_lat),
        5: (LON0 + 1.5 * DLON, LAT0 - 0.001),
        6: (LON0 + 1.5 * DLON, LAT0 + DLAT + 0.001),
    }
    xml = ['<?xml version="1.0" encoding="UTF-8"?><osm version="0.6" generator="test">']
    xml += [
        f'<node id="{i}" version="1" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()
    ]
    for way, (a, b), highway in (
        (10, (1, 2), "residential"),
        (11, (3, 4), "residential"),
        (12, (5, 6), "footway"),
    ):
        xml.append(
            f'<way id="{way}" version="1"><nd ref="{a}"/><nd ref="{b}"/>'
            f'<tag k="highway" v="{highway}"/><tag k="name" v="路{way}"/></way>'
        )
    xml.append("</osm>")
    path.write_text("".join(xml), encoding="utf-8")
    return path


def test_roads_method_cuts_along_roads_and_numbers_nw_first(
    database, gb_settings, communities, tmp_path
):
    network = _osm_crossroads(tmp_path / "roads.osm")
    result = generate_cells(
        database,
        gb_settings,
        parent_level="community",
        spec=GridSpec("roads", 10_000),
        network=network,
        commit=True,
        activate=True,
    )
    report = result.report
    assert report.check_errors == 0 and report.committed  # no gaps, no overlaps, nested
    assert result.areas["cells"] == report.level_counts["cell"]
    assert 0.6 * 10_000 < result.areas["median"] < 1.4 * 10_000
    assert result.areas["share_within_50pct_of_target"] >= 0.9
    # the crossroads are cell edges: points just either side of the road are in different cells
    mid_lon, mid_lat = LON0 + DLON / 2, LAT0 + DLAT / 2
    west = locate_point(database, gb_settings, mid_lon - 0.0001, mid_lat + 0.0005).unit["code"]
    east = locate_point(database, gb_settings, mid_lon + 0.0001, mid_lat + 0.0005).unit["code"]
    assert west != east
    # codes: community code + 3-digit sequence, 001 in the north-west corner
    nw = locate_point(database, gb_settings, LON0 + 0.0002, LAT0 + DLAT - 0.0002).unit["code"]
    se = locate_point(database, gb_settings, LON0 + DLON - 0.0002, LAT0 + 0.0002).unit["code"]
    assert nw == "320102002001001" and se > nw  # numbered from the north-west
    chain = locate_point(database, gb_settings, LON0 + 0.0002, LAT0 + 0.0002).chain
    assert [u["level"] for u in chain] == ["community", "cell"]
    assert len(chain[-1]["code"]) == 15 and chain[-1]["code"].startswith("320102002001")


@pytest.mark.parametrize("method", ["square", "hex"])
def test_regular_grids(database, gb_settings, communities, method):
    result = generate_cells(
        database, gb_settings, parent_level="community", spec=GridSpec(method, 5_000), commit=True
    )
    assert result.report.check_errors == 0
    assert result.areas["median"] == pytest.approx(5_000, rel=0.05)
    total = 2 * 299.9 * 332.6  # the two communities, m2
    assert result.areas["cells"] * result.areas["mean"] == pytest.approx(total, rel=0.01)


def test_one_parent_regenerated_keeps_the_others(database, gb_settings, communities):
    generate_cells(
        database,
        gb_settings,
        parent_level="community",
        spec=GridSpec("square", 10_000),
        commit=True,
        activate=True,
    )
    before = locate_point(database, gb_settings, LON0 + 1.5 * DLON, LAT0 + 0.001).unit["code"]
    result = generate_cells(
        database,
        gb_settings,
        parent_level="community",
        parent_code="320102002001",
        spec=GridSpec("hex", 3_000),
        commit=True,
        activate=True,
    )
    assert result.parents == 1
    assert locate_point(database, gb_settings, LON0 + 1.5 * DLON, LAT0 + 0.001).unit["code"] == (
        before
    )
    assert not result.report.diff["removed"] or all(
        u["code"].startswith("320102002001") for u in result.report.diff["removed"]
    )


def test_generation_errors(database, gb_settings, communities):
    with pytest.raises(InputError, match="--network"):
        generate_cells(database, gb_settings, parent_level="community", spec=GridSpec("roads"))
    with pytest.raises(ConfigError, match="lowest level"):
        generate_cells(database, gb_settings, parent_level="cell", spec=GridSpec("square"))
    with pytest.raises(Exception, match="999"):
        generate_cells(
            database,
            gb_settings,
            parent_level="community",
            parent_code="999",
            spec=GridSpec("square"),
        )
    with pytest.raises(ValueError, match="method"):
        GridSpec("triangles")


def test_real_nanjing_network_cli(env, communities, gb_settings):
    network = REPO / "data/nanjing/nanjing_xinjiekou_overpass_2021-06-12.osm"
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "grids",
            "generate",
            "--parent-level",
            "community",
            "--method",
            "roads",
            "--network",
            str(network),
        ],
        env={**env, "GRIDMAP_CODE_PROFILE": "gb"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "cell areas (m2)" in result.output
    assert "checks:" not in result.output or "0 error(s)" in result.output
    assert np.isfinite(float(result.output.split("median ")[1].split(",")[0].replace(",", "")))
