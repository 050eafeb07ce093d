"""Real data: the 10,000 real LA 2020 311 requests located into the 99 Neighborhood Councils
must agree with the council the city itself recorded (issue: >= 98.5 %)."""

from __future__ import annotations

import pandas as pd
import pytest

from gridmap.config import Settings
from gridmap.domain.codes import CodeProfile
from gridmap.domain.levels import Hierarchy
from gridmap.errors import ImportChecksError
from gridmap.services.boundaries import import_boundaries
from gridmap.services.demo import load_city
from gridmap.services.locate import locate_point
from gridmap.store.db import Database
from tests.conftest import CHINA_LEVELS, REPO

pytestmark = pytest.mark.db

LA_LEVELS = "city:City:市,region:Service region:服务片区,council:Neighborhood council:邻里议会"


@pytest.fixture
def la_settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, levels=Hierarchy.parse(LA_LEVELS))


@pytest.fixture
def la_database(la_settings):
    with Database(la_settings.database_url, max_size=2) as db:
        yield db


def test_la_311_requests_agree_with_the_citys_own_council(la_database, la_settings, tmp_path):
    result = load_city(
        la_database, la_settings, "los_angeles", data_dir=REPO / "data", out_dir=tmp_path
    )
    assert result.loaded
    assert sum(result.counts.values()) == 10_000
    assert result.counts["missing_coordinates"] == 11
    # recompute from the written file, independently of the service's own figure
    located = pd.read_csv(result.located_csv, dtype=str, keep_default_na=False)
    recorded = pd.to_numeric(located["nc"], errors="coerce")
    ours = pd.to_numeric(located["council_code"], errors="coerce")
    both = recorded.gt(0) & ours.notna()
    agreement = (recorded[both] == ours[both]).mean()
    assert both.sum() > 9_500
    assert agreement >= 0.985
    assert result.agreement == pytest.approx(agreement)
    # every located council sits in its service region and the city
    assert (located.loc[both, "region_code"].str.match(r"R\d\d")).all()
    assert (located.loc[both, "city_code"] == "LA").all()
    # a second run does not import again
    assert not load_city(
        la_database, la_settings, "los_angeles", data_dir=REPO / "data", out_dir=tmp_path
    ).loaded


def test_la_shapefile_with_invalid_polygons_is_repaired(la_database, la_settings):
    councils = REPO / "data/los_angeles/neighborhood_councils_shp"
    options = {"level": "council", "code_field": "nc_id", "name_field": "name"}
    # the real councils overlap (up to 4 km2): blocked unless the admin allows it
    with pytest.raises(ImportChecksError, match="overlap by"):
        import_boundaries(la_database, la_settings, councils, commit=True, **options)
    report = import_boundaries(
        la_database,
        la_settings,
        councils,
        allow=["check_overlap"],
        commit=True,
        activate=True,
        **options,
    )
    assert report.features == 99
    assert len(report.repaired) == 4
    assert report.check_errors == 0 and report.allowed == ["check_overlap"]
    severities = {c["severity"] for c in report.checks}
    assert "allowed" in severities and "error" not in severities
    location = locate_point(la_database, la_settings, -118.2877979, 34.07243977)
    assert location.unit["name"] == "RAMPART VILLAGE NC"


def test_nanjing_sample_city_loads_with_generated_levels_and_cells(db_url, tmp_path):
    settings = Settings(
        database_url=db_url,
        levels=Hierarchy.parse(CHINA_LEVELS),
        code_profile=CodeProfile.parse("gb"),
    )
    with Database(db_url, max_size=2) as database:
        result = load_city(database, settings, "nanjing", data_dir=REPO / "data", out_dir=tmp_path)
        assert result.loaded and any("cells along the roads" in line for line in result.lines)
        assert any(line.startswith("walking coverage run") for line in result.lines)
        # 39 real service facilities of the extract, each placed in a cell with the whole chain
        assert result.counts == {"located": 39}
        located = pd.read_csv(result.located_csv, dtype=str, keep_default_na=False)
        assert (located["cell_code"].str.len() == 15).all()
        assert (located["city_code"] == "3201").all()
        assert located["street_name"].str.endswith("街道").all()
        for column in ("district", "street", "community"):  # codes nest by prefix
            pairs = zip(located["cell_code"], located[f"{column}_code"], strict=True)
            assert all(cell.startswith(parent) for cell, parent in pairs)
        location = locate_point(database, settings, 118.7840, 32.0410)  # 新街口
        assert [u["level"] for u in location.chain] == [
            "city",
            "district",
            "street",
            "community",
            "cell",
        ]
        assert not load_city(
            database, settings, "nanjing", data_dir=REPO / "data", out_dir=tmp_path
        ).loaded
