"""Reading OSM extracts (XML and PBF) into a walkable network, buildings and POIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridmap.analysis.coverage import floor_area_m2
from gridmap.analysis.isochrones import build_network
from gridmap.errors import InputError
from gridmap.ingest.osm import read_osm_network, read_osm_points, way_usable
from tests.conftest import REPO

NANJING_OSM = REPO / "data" / "nanjing" / "nanjing_xinjiekou_overpass_2021-06-12.osm"
MIDTOWN_PBF = REPO / "data" / "nyc" / "midtown_manhattan.osm.pbf"
HELSINKI_PBF = REPO / "data" / "helsinki" / "Helsinki.osm.pbf"


@pytest.mark.parametrize(
    ("tags", "walk", "bike"),
    [
        ({"highway": "footway"}, True, False),
        ({"highway": "footway", "bicycle": "yes"}, True, True),
        ({"highway": "motorway"}, False, False),
        ({"highway": "cycleway"}, False, True),
        ({"highway": "cycleway", "foot": "designated"}, True, True),
        ({"highway": "residential", "foot": "no"}, False, True),
        ({"highway": "service", "access": "private"}, False, False),
        ({"highway": "steps"}, True, False),
        ({"highway": "pedestrian", "area": "yes"}, False, False),
        ({"building": "yes"}, False, False),
    ],
)
def test_way_usable(tags, walk, bike):
    assert way_usable(tags, "walk") is walk
    assert way_usable(tags, "bike") is bike


def test_nanjing_xml_walk_network():
    osm = read_osm_network(NANJING_OSM)
    assert osm.ways_kept + osm.ways_dropped == 384 and osm.ways_dropped <= 2
    assert len(osm.buildings) == 1277
    network, _ = build_network(osm.node_osm_id, osm.node_lon, osm.node_lat, osm.edge_u, osm.edge_v)
    assert network.crs.to_epsg() == 4549  # CGCS2000 GK zone CM 120E for Nanjing
    assert 0.8 < network.node_in_largest.mean() < 1.0  # a few islands at the bbox edge
    # ~16 km2 of central Nanjing: a street length of tens of km, not metres nor thousands
    assert 50_000 < network.edge_length_m.sum() < 400_000


def test_pbf_and_cut_ways_are_split_not_dropped():
    osm = read_osm_network(HELSINKI_PBF)
    assert osm.missing_nodes > 0  # ways cut by the extract's bbox
    assert len(osm.edge_u) > 5000
    midtown = read_osm_network(MIDTOWN_PBF, profile="bike")
    walk = read_osm_network(MIDTOWN_PBF, profile="walk")
    assert len(midtown.edge_u) < len(walk.edge_u)  # cyclists lose footways and steps
    assert (walk.buildings["height_m"].notna()).mean() > 0.8


def test_points_from_osm_tags():
    points = read_osm_points(NANJING_OSM, key="amenity")
    assert len(points) > 39 and "school" in set(points["type"])
    assert points.crs.to_epsg() == 4326


def test_floor_area_rules():
    area = floor_area_m2(
        np.array([100.0, 100.0, 100.0]),
        np.array([5, np.nan, np.nan]),
        np.array([np.nan, 30.0, np.nan]),
    )
    assert area.tolist() == [500.0, 1000.0, 100.0]


def test_errors_name_the_file(tmp_path: Path):
    with pytest.raises(InputError, match="file not found"):
        read_osm_network(tmp_path / "none.osm")
    wrong = tmp_path / "streets.geojson"
    wrong.write_text("{}")
    with pytest.raises(InputError, match=r"streets\.geojson: not an OSM extract") as info:
        read_osm_network(wrong)
    assert "不是 OSM 数据文件" in str(info.value)
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><way id='1'><nd ref=")
    with pytest.raises(InputError, match=r"broken\.osm"):
        read_osm_network(broken)
    with pytest.raises(InputError, match="profile 'car'"):
        read_osm_network(NANJING_OSM, profile="car")
