"""The JSON API and the map page through Flask's test client, on real PostGIS."""

from __future__ import annotations

import pytest

from gridmap.app import create_app
from tests.conftest import STEP, X0, Y0

pytestmark = pytest.mark.db


@pytest.fixture
def client(settings, database, load_small_grid):
    return create_app(settings, database=database).test_client()


def test_locate(client):
    response = client.get(f"/api/v1/locate?lon={X0 + 0.002}&lat={Y0 + 0.001}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["unit"]["code"] == "320101001"
    assert [u["code"] for u in body["chain"]] == ["3201", "320101", "320101001"]
    assert body["chain"][0]["level_label_zh"] == "市"
    assert body["edge_distance_m"] == pytest.approx(110.9, abs=0.5)


@pytest.mark.parametrize(
    "query,status,key",
    [
        ("lon=0&lat=0", 404, "point_outside"),
        ("lon=abc&lat=32", 400, "coordinate_invalid"),
        ("lon=118&lat=95", 400, "coordinate_invalid"),
        ("lon=nan&lat=32", 400, "coordinate_invalid"),
        ("lat=32", 400, "parameter_missing"),
    ],
)
def test_locate_errors_are_clear(client, query, status, key):
    response = client.get(f"/api/v1/locate?{query}")
    assert response.status_code == status
    assert response.get_json()["error"] == key
    assert response.get_json()["message"]


def test_errors_follow_the_readers_language(client):
    zh = client.get("/api/v1/locate?lon=0&lat=0", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "不在" in zh.get_json()["message"]
    en = client.get("/api/v1/locate?lon=0&lat=0&lang=en", headers={"Accept-Language": "zh-CN"})
    assert "lies in no unit" in en.get_json()["message"]


def test_unit(client):
    body = client.get("/api/v1/units/320101").get_json()
    assert body["type"] == "Feature" and body["geometry"]["type"] == "MultiPolygon"
    props = body["properties"]
    assert props["level"] == "district" and props["name"] == "西区"
    assert props["parent"] == {"level": "city", "code": "3201", "name": "南京市"}
    assert [c["code"] for c in props["children"]] == ["320101001", "320101002"]
    assert props["area_m2"] == pytest.approx(944.6 * 1108.8, rel=0.01)
    missing = client.get("/api/v1/units/999")
    assert missing.status_code == 404 and "999" in missing.get_json()["message"]
    assert client.get("/api/v1/units/320101?level=nope").status_code == 400


def test_units_geojson_by_level_and_bbox(client):
    everything = client.get("/api/v1/units.geojson?level=cell")
    assert everything.mimetype == "application/geo+json"
    assert len(everything.get_json()["features"]) == 4
    west = client.get(
        f"/api/v1/units.geojson?level=cell&bbox={X0},{Y0},{X0 + STEP * 0.5},{Y0 + STEP * 0.2}"
    ).get_json()
    assert [f["id"] for f in west["features"]] == ["320101001"]
    assert client.get("/api/v1/units.geojson?bbox=1,2,3").status_code == 400
    assert len(client.get("/api/v1/units.geojson").get_json()["features"]) == 7


def test_map_page_uses_only_vendored_assets(client):
    page = client.get("/units/320101/map")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "http://" not in html and "https://" not in html
    assert "320101001" in html and "320102" in html  # children and the neighbour
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/units/nothing/map").status_code == 404
    zh = client.get("/units/320101/map?lang=zh-CN").get_data(as_text=True)
    assert 'lang="zh-CN"' in zh and "区 西区" in zh


def test_index_lists_top_units_and_levels(client):
    html = client.get("/?lang=zh-CN").get_data(as_text=True)
    assert "市 › 区 › 街道 › 社区 › 网格" in html
    assert '/units/3201/map?level=city&amp;lang=zh-CN">南京市</a>' in html
    assert "Grid levels" in client.get("/?lang=en").get_data(as_text=True)


def test_index_before_any_import(settings, database):
    page = create_app(settings, database=database).test_client().get("/")
    assert page.status_code == 200 and "Grid levels" in page.get_data(as_text=True)
