"""Pure-Python pieces: levels, settings, messages, CRS choice, geometry repair, bulk index."""

from __future__ import annotations

import re

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from gridmap.analysis.locate import MISSING, OUT_OF_RANGE, OUTSIDE, UnitIndex
from gridmap.config import Settings
from gridmap.domain.levels import Hierarchy
from gridmap.domain.messages import MESSAGES, bilingual, message
from gridmap.errors import ConfigError
from gridmap.geo.crs import local_metric_crs
from gridmap.geo.geometry import (
    POINT_EWKB_HEX_WIDTH,
    covering,
    ewkb_hex,
    point_ewkb_hex,
    subdivide,
    to_valid_multipolygons,
)
from tests.conftest import REPO


def test_default_levels_are_chinas_five():
    levels = Settings().levels
    assert levels.names == ["city", "district", "street", "community", "cell"]
    assert [lv.label_zh for lv in levels.levels] == ["市", "区", "街道", "社区", "网格"]
    assert levels.parent_of("cell").name == "community" and levels.parent_of("city") is None


@pytest.mark.parametrize("spec", ["", "a,a", "bad name", "1x"])
def test_bad_level_specs_are_config_errors(spec):
    with pytest.raises(ConfigError, match="GRIDMAP_LEVELS"):
        Hierarchy.parse(spec)


def test_settings_from_env_and_errors_name_the_variable():
    settings = Settings.from_env(
        {"GRIDMAP_PORT": "9000", "GRIDMAP_LEVELS": "borough,block", "GRIDMAP_LANG": "zh-CN"}
    )
    assert settings.port == 9000 and settings.levels.names == ["borough", "block"]
    for env in (
        {"GRIDMAP_PORT": "-1"},
        {"GRIDMAP_PORT": "x"},
        {"GRIDMAP_LANG": "fr"},
        {"GRIDMAP_DISPLAY_SIMPLIFY_M": "nan"},
    ):
        with pytest.raises(ConfigError, match=next(iter(env))):
            Settings.from_env(env)


def test_readme_documents_every_setting():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(GRIDMAP_[A-Z0-9_]+)`", readme, flags=re.M))
    assert documented == {env for env, _, _ in Settings.describe()}


def test_every_message_has_both_languages_and_the_same_fields():
    field = re.compile(r"{(\w+)")
    for key, texts in MESSAGES.items():
        assert set(texts) == {"en", "zh-CN"}, key
        assert set(field.findall(texts["en"])) == set(field.findall(texts["zh-CN"])), key
    assert message("point_outside", "zh", lon=1, lat=2).startswith("点")
    assert " / " in bilingual("import_dry_run")


@pytest.mark.parametrize(
    "lon,lat,epsg",
    [
        (118.78, 32.04, 4549),  # Nanjing: CGCS2000 GK zone CM 120E (118.5-121.5E)
        (116.40, 39.90, 4548),  # Beijing: CM 117E
        (121.47, 31.23, 4549),  # Shanghai: CM 120E
        (-118.25, 34.05, 32611),  # Los Angeles: UTM 11N
        (-73.98, 40.75, 32618),  # New York: UTM 18N
        (151.2, -33.9, 32756),  # Sydney: UTM 56S
    ],
)
def test_local_metric_crs(lon, lat, epsg):
    assert local_metric_crs(lon, lat).to_epsg() == epsg


def test_geometry_repair():
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with_z = shapely.force_3d(box(2, 2, 3, 3), 5.0)
    result = to_valid_multipolygons(
        np.array([box(0, 0, 1, 1), bowtie, with_z, Point(0, 0), Polygon(), None], dtype=object)
    )
    assert [g.geom_type if g is not None else None for g in result.geometries] == [
        "MultiPolygon",
        "MultiPolygon",
        "MultiPolygon",
        None,
        None,
        None,
    ]
    assert result.repaired.tolist() == [False, True, False, False, False, False]
    assert result.had_z.tolist() == [False, False, True, False, False, False]
    assert not result.geometries[2].has_z
    assert result.problem[3:] == ["Point", "empty", "empty"]
    assert result.geometries[1].area == pytest.approx(0.5)
    # each row keeps its own geometry (promotion must not merge rows)
    assert result.geometries[0].bounds == (0, 0, 1, 1)
    assert result.geometries[2].bounds == (2, 2, 3, 3)


def test_subdivide_tiles_each_unit_in_small_pieces():
    # a detailed disc, a square with a detailed hole, and two islands in one MultiPolygon
    disc = Point(0, 0).buffer(10, quad_segs=128)
    holed = Polygon(
        box(20, 0, 30, 10).exterior.segmentize(0.1).coords,
        [box(22, 2, 28, 8).exterior.segmentize(0.1).coords],
    )
    islands = shapely.MultiPolygon([box(40, 0, 41, 1), Point(45, 0).buffer(1, quad_segs=64)])
    units = to_valid_multipolygons(np.array([disc, holed, islands], dtype=object)).geometries
    pieces, owner = subdivide(units, 32)
    assert set(shapely.get_type_id(pieces)) == {shapely.GeometryType.POLYGON}
    assert shapely.get_num_coordinates(pieces).max() <= 32 and shapely.is_valid(pieces).all()
    for i, unit in enumerate(units):
        mine = pieces[owner == i]
        assert len(mine) > 1
        # the pieces tile the unit: same area, nothing outside it, no overlap between them
        assert shapely.area(mine).sum() == pytest.approx(unit.area, rel=1e-9)
        assert shapely.union_all(mine).symmetric_difference(unit).area < 1e-9 * unit.area
    # small units stay whole
    small, owner = subdivide(np.array([shapely.MultiPolygon([box(0, 0, 1, 1)])]), 32)
    assert len(small) == 1 and small[0].equals(box(0, 0, 1, 1)) and owner.tolist() == [0]


def test_covering_gives_the_first_geometry_and_minus_one_outside():
    west, east = box(0, 0, 1, 1), box(1, 0, 2, 1)
    points = shapely.points([(0.5, 0.5), (1.0, 0.5), (1.5, 0.5), (5.0, 5.0)])
    # the point on the shared edge goes to the first geometry, in the caller's order
    assert covering(points, np.array([west, east])).tolist() == [0, 0, 1, -1]
    assert covering(points, np.array([east, west])).tolist() == [1, 0, 0, -1]
    assert covering(points[:0], np.array([west])).tolist() == []
    assert covering(points, np.array([], dtype=object)).tolist() == [-1, -1, -1, -1]


def test_unit_index_rules_without_a_database():
    # two cells sharing the edge x=1 under one parent; a third level-less stray unit
    west, east, parent = box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 0, 2, 1)
    index = UnitIndex(
        levels=["district", "cell"],
        unit_level=np.array(["cell", "cell", "district"], dtype=object),
        unit_code=np.array(["B", "A", "D"], dtype=object),
        unit_name=np.array(["b", "a", "d"], dtype=object),
        unit_parent_level=np.array(["district", "district", None], dtype=object),
        unit_parent_code=np.array(["D", "D", None], dtype=object),
        unit_boundary=shapely.boundary(np.array([west, east, parent], dtype=object)),
        part_unit=np.array([0, 1, 2]),
        part_geom=np.array([west, east, parent], dtype=object),
    )
    frame = index.locate(
        np.array([0.5, 1.0, 1.5, 5, np.nan, 200]), np.array([0.5, 0.5, 0.5, 5, 1, 0])
    )
    assert frame["cell_code"].tolist() == ["B", "A", "A", "", "", ""]  # edge -> lowest code
    assert frame["district_code"].tolist() == ["D", "D", "D", "", "", ""]
    assert frame["locate_error"].tolist() == ["", "", "", OUTSIDE, MISSING, OUT_OF_RANGE]


def test_points_packed_as_hex_ewkb_read_as_shapely_writes_them():
    lon = np.array([118.78, -118.2877979, 0.0, 180.0])
    lat = np.array([32.04, 34.07243977, -0.0, -90.0])
    packed = point_ewkb_hex(lon, lat).decode("ascii")
    assert len(packed) == POINT_EWKB_HEX_WIDTH * len(lon)
    expected = ewkb_hex(shapely.points(lon, lat))
    assert [
        packed[i : i + POINT_EWKB_HEX_WIDTH] for i in range(0, len(packed), POINT_EWKB_HEX_WIDTH)
    ] == [str(e).upper() for e in expected]
