"""Open311 GeoReport v2 on a live HTTP server over real PostGIS, read with the independent
`georeport` client from PyPI (JSON and XML) and posted with plain `requests` as the spec
describes (form-encoded; georeport has no POST method)."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from georeport import GeoReport
from werkzeug.serving import make_server

from gridmap.app import create_app
from gridmap.services import apikeys as apikey_service
from gridmap.services import categories as category_service
from gridmap.store import issues as issue_store
from gridmap.store import workers as worker_store
from tests.conftest import STEP, X0, Y0

pytestmark = pytest.mark.db

CELL_W1 = (X0 + STEP / 2, Y0 + STEP / 4)  # centre of cell 320101001
GRID_CATEGORY = "E0101"  # exposed garbage: the grid worker's
COVER_CATEGORY = "C0101"  # manhole cover: a department's, with a required "problem" attribute


@pytest.fixture
def server(settings, database, load_small_grid) -> Iterator[str]:
    """The app on a real HTTP server in a thread; yields the Open311 root URL."""
    category_service.load_categories(database, settings, "cn")
    with database.transaction() as conn:
        worker = worker_store.add_worker(conn, name="王网格", phone="13800000000", department=None)
        worker_store.assign_worker(
            conn, worker_id=worker, level="cell", code="320101001", role="primary"
        )
    app = create_app(settings, database=database)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}/open311/v2"
    http.shutdown()
    thread.join()


@pytest.fixture
def api_key(database) -> str:
    return apikey_service.create_api_key(database, "test client")[1]


def _post(root, fmt="json", **fields):
    return requests.post(f"{root}/requests.{fmt}", data=fields, timeout=10)


def _error(answer, fmt):
    """(code, description) of the spec's error document, in either format."""
    if fmt == "json":
        [error] = answer.json()
        return error["code"], error["description"]
    root = ET.fromstring(answer.content)
    assert root.tag == "errors" and len(root) == 1
    return int(root.findtext("error/code")), root.findtext("error/description")


def _count(database):
    with database.connection() as conn:
        return issue_store.count_issues(conn)


def test_discovery_names_the_spec_and_formats(server):
    body = requests.get(f"{server}/discovery.json", timeout=10).json()
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == server
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert (
        requests.get(f"{server}/services.json", timeout=10).headers["Access-Control-Allow-Origin"]
        == "*"
    )
    xml = ET.fromstring(requests.get(f"{server}/discovery.xml", timeout=10).content)
    assert xml.tag == "discovery"
    assert [f.text for f in xml.iter("format")] == ["application/json", "text/xml"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_list_and_definition_through_georeport(server, fmt):
    client = GeoReport(server, output_format=fmt)
    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert len(codes) >= 40 and GRID_CATEGORY in codes and COVER_CATEGORY in codes
    cover = next(s for s in services if s["service_code"] == COVER_CATEGORY)
    assert cover["metadata"] in (True, "true")
    assert cover["type"] == "realtime" and cover["group"]
    definition = client.get_service_definition(COVER_CATEGORY)
    assert definition["service_code"] == COVER_CATEGORY
    attributes = definition["attributes"]
    attribute = attributes["attribute"] if fmt == "xml" else attributes[0]
    assert attribute["code"] == "problem" and attribute["datatype"] == "singlevaluelist"
    assert attribute["required"] in (True, "true") and attribute["variable"] in (True, "true")
    values = attribute["values"]["value"] if fmt == "xml" else attribute["values"]
    assert {"key": "missing", "name": "Missing"} in values


def test_service_names_follow_the_readers_language(server):
    services = requests.get(
        f"{server}/services.json", headers={"Accept-Language": "zh-CN"}, timeout=10
    ).json()
    garbage = next(s for s in services if s["service_code"] == GRID_CATEGORY)
    assert garbage["service_name"] == "暴露垃圾"


def test_post_then_read_back_with_georeport(server, api_key, database):
    answer = _post(
        server,
        api_key=api_key,
        service_code=GRID_CATEGORY,
        lat=CELL_W1[1],
        long=CELL_W1[0],
        description="垃圾堆放在路边",
        email="citizen@example.org",
        first_name="Li",
        last_name="Ming",
        phone="13900000000",
        device_id="device-1",
        account_id="acct-7",
        media_url="https://example.org/photo.jpg",
    )
    assert answer.status_code == 201, answer.text
    [created] = answer.json()
    request_id = created["service_request_id"]
    assert created["account_id"] == "acct-7"
    assert "王网格" in created["service_notice"]
    for fmt in ("json", "xml"):
        got = GeoReport(server, output_format=fmt).get_service_request(request_id)
        assert got["service_request_id"] == request_id
        assert got["service_code"] == GRID_CATEGORY and got["status"] == "open"
        assert float(got["lat"]) == pytest.approx(CELL_W1[1])
        assert float(got["long"]) == pytest.approx(CELL_W1[0])
        assert got["media_url"] == "https://example.org/photo.jpg"
        assert got["expected_datetime"] and got["expected_datetime"].endswith("+08:00")
        assert "320101001" in got["agency_responsible"]
        extended = got["extended_attributes"]
        assert extended["unit"]["code"] == "320101001"
        assert extended["routing_target"]["kind"] == "worker"
        assert extended["routing_target"]["worker"]["name"] == "王网格"
        text = str(got)
        for private in ("13900000000", "citizen@example.org", "device-1", "acct-7", "Ming"):
            assert private not in text
    # the single-request call is a one-element list, as the spec says
    raw = requests.get(f"{server}/requests/{request_id}.json", timeout=10).json()
    assert isinstance(raw, list) and len(raw) == 1
    assert _count(database) == 1


def test_post_with_attributes_routes_to_the_department(server, api_key):
    answer = _post(
        server,
        "xml",
        api_key=api_key,
        service_code=COVER_CATEGORY,
        lat=CELL_W1[1],
        long=CELL_W1[0],
        **{"attribute[problem]": "missing"},
    )
    assert answer.status_code == 201, answer.text
    request_id = ET.fromstring(answer.content).findtext("request/service_request_id")
    got = GeoReport(server).get_service_request(request_id)
    assert got["extended_attributes"]["routing_target"]["department"]["code"] == "water"
    assert (
        got["agency_responsible"]
        == got["extended_attributes"]["routing_target"]["department"]["name"]
    )


def test_get_requests_filters_and_pages(server, api_key):
    ids = []
    for i in range(5):
        category = GRID_CATEGORY if i % 2 == 0 else COVER_CATEGORY
        extra = {"attribute[problem]": "broken"} if category == COVER_CATEGORY else {}
        answer = _post(
            server,
            api_key=api_key,
            service_code=category,
            lat=CELL_W1[1],
            long=CELL_W1[0] + i * 1e-5,
            **extra,
        )
        ids.append(answer.json()[0]["service_request_id"])
    client = GeoReport(server)
    assert {r["service_request_id"] for r in client.get_service_requests()} == set(ids)
    garbage = client.get_service_requests(service_code=GRID_CATEGORY)
    assert [r["service_request_id"] for r in garbage] == [ids[4], ids[2], ids[0]]
    assert client.get_service_requests(status="closed") == []
    assert len(client.get_service_requests(status="open,closed")) == 5
    # service_request_id overrides every other filter
    picked = client.get_service_requests(
        service_request_id=f"{ids[1]},{ids[3]}", service_code=GRID_CATEGORY
    )
    assert sorted(r["service_request_id"] for r in picked) == sorted([ids[1], ids[3]])
    xml_list = GeoReport(server, output_format="xml").get_service_requests()
    assert len(xml_list) == 5
    page = requests.get(f"{server}/requests.json?page=2&page_size=2", timeout=10).json()
    assert [r["service_request_id"] for r in page] == [ids[2], ids[1]]
    far = "118.0,31.0,118.1,31.1"
    assert requests.get(f"{server}/requests.json?bbox={far}", timeout=10).json() == []
    near = f"{X0},{Y0},{X0 + STEP},{Y0 + STEP}"
    assert len(requests.get(f"{server}/requests.json?bbox={near}", timeout=10).json()) == 5
    past = (datetime.now(UTC) - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    older = (datetime.now(UTC) - timedelta(days=150)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get_service_requests(start_date=past, end_date=older) == []


@pytest.mark.parametrize(
    "fields,status,needle",
    [
        ({"service_code": GRID_CATEGORY, "lat": "32.04", "long": "118.78"}, 403, "api_key"),
        ({"api_key": "wrong", "service_code": GRID_CATEGORY, "lat": "1", "long": "1"}, 403, ""),
        ({"lat": "32.04", "long": "118.78"}, 400, "service_code"),
        ({"service_code": "NOPE", "lat": "32.04", "long": "118.78"}, 400, "NOPE"),
        ({"service_code": GRID_CATEGORY}, 400, "lat"),
        ({"service_code": GRID_CATEGORY, "lat": "nan", "long": "118.78"}, 400, "lat"),
        ({"service_code": GRID_CATEGORY, "lat": "95", "long": "118.78"}, 400, "lat"),
        ({"service_code": GRID_CATEGORY, "lat": "32.04"}, 400, "lon"),
        ({"service_code": COVER_CATEGORY, "lat": "32.04", "long": "118.78"}, 400, "problem"),
        (
            {"service_code": GRID_CATEGORY, "lat": "32.04", "long": "118.78", "bogus": "1"},
            400,
            "bogus",
        ),
        (
            {
                "service_code": GRID_CATEGORY,
                "lat": "32.04",
                "long": "118.78",
                "description": "<script>alert(1)</script>",
            },
            400,
            "description",
        ),
        (
            {
                "service_code": GRID_CATEGORY,
                "lat": "32.04",
                "long": "118.78",
                "media_url": "javascript:alert(1)",
            },
            400,
            "media_url",
        ),
        ({"service_code": GRID_CATEGORY, "address_id": "A17"}, 400, "address_id"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_posts_get_spec_errors_and_store_nothing(
    server, api_key, database, fields, status, needle, fmt
):
    if status != 403:
        fields = {"api_key": api_key, **fields}
    answer = _post(server, fmt, **fields)
    assert answer.status_code == status, answer.text
    code, description = _error(answer, fmt)
    assert code == status and needle in description
    assert _count(database) == 0


@pytest.mark.parametrize(
    "path,status",
    [
        ("requests/999999.json", 404),
        ("requests/abc.xml", 404),
        ("services/NOPE.json", 404),
        ("nothing.json", 404),
        ("requests.json?status=pending", 400),
        ("requests.json?page=0", 400),
        ("requests.json?page_size=5000", 400),
        ("requests.json?bbox=1,2,3", 400),
        ("requests.json?start_date=2020-01-01&end_date=2020-12-31", 400),
        ("requests.json?start_date=2020-02-01&end_date=2020-01-01", 400),
        ("requests.json?start_date=yesterday", 400),
        ("requests.json?service_request_id=1;drop", 400),
        ("requests.json?color=red", 400),
    ],
)
def test_bad_reads_get_spec_errors(server, path, status):
    answer = requests.get(f"{server}/{path}", timeout=10)
    assert answer.status_code == status, answer.text
    code, description = _error(answer, "xml" if ".xml" in path else "json")
    assert code == status and description


def test_a_10_mb_body_is_refused_in_the_specs_format(server, api_key, database):
    answer = requests.post(
        f"{server}/requests.xml",
        data={"api_key": api_key, "service_code": GRID_CATEGORY, "description": "x" * 10**7},
        timeout=30,
    )
    assert answer.status_code == 413
    code, description = _error(answer, "xml")
    assert code == 413 and "8 MB" in description
    assert _count(database) == 0


def test_wrong_method_and_zh_errors(server):
    answer = requests.delete(f"{server}/requests.json", timeout=10)
    assert answer.status_code == 405
    assert answer.json()[0]["code"] == 405
    answer = requests.get(
        f"{server}/services/NOPE.xml", headers={"Accept-Language": "zh-CN"}, timeout=10
    )
    assert "没有服务" in ET.fromstring(answer.content).findtext("error/description")


def test_jurisdiction_is_checked_when_configured(settings, database, load_small_grid):
    category_service.load_categories(database, settings, "cn")
    configured = settings.__class__(**{**settings.__dict__, "open311_jurisdiction": "nj.gov.cn"})
    client = create_app(configured, database=database).test_client()
    assert client.get("/open311/v2/services.json?jurisdiction_id=nj.gov.cn").status_code == 200
    assert client.get("/open311/v2/services.json").status_code == 200
    wrong = client.get("/open311/v2/services.json?jurisdiction_id=sh.gov.cn")
    assert wrong.status_code == 404 and "sh.gov.cn" in wrong.get_json()[0]["description"]


def test_idempotency_key_header_makes_a_post_retry_safe(server, api_key, database):
    fields = {
        "api_key": api_key,
        "service_code": GRID_CATEGORY,
        "lat": CELL_W1[1],
        "long": CELL_W1[0],
    }
    headers = {"Idempotency-Key": "open311-retry-1"}
    first = requests.post(f"{server}/requests.json", data=fields, headers=headers, timeout=10)
    again = requests.post(f"{server}/requests.json", data=fields, headers=headers, timeout=10)
    assert first.status_code == again.status_code == 201
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    assert _count(database) == 1
