"""Real data: the 10,000 real LA 2020 311 requests located into the 99 Neighborhood Councils
must agree with the council the city itself recorded (issue: >= 98.5 %)."""

from __future__ import annotations

import pandas as pd
import pytest

from gridmap.config import Settings
from gridmap.domain.levels import Hierarchy
from gridmap.errors import ImportChecksError
from gridmap.services.boundaries import import_boundaries
from gridmap.services.demo import load_los_angeles
from gridmap.services.locate import locate_point
from gridmap.store.db import Database
from tests.conftest import REPO

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
    result = load_los_angeles(la_database, la_settings, data_dir=REPO / "data", out_dir=tmp_path)
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
    assert not load_los_angeles(
        la_database, la_settings, data_dir=REPO / "data", out_dir=tmp_path
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
