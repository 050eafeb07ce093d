"""The triage queue on real PostGIS: a dispatcher lists it, places an issue at a point or at
one of its geocoding candidates, and it is routed with every step on record (API and CLI)."""

from __future__ import annotations

import pytest

from gridmap.app import create_app
from gridmap.errors import InputError, NotFoundError
from gridmap.services import categories as category_service
from gridmap.services import dispatch, geocode, intake
from gridmap.services import routing as routing_service
from gridmap.store import issues as issue_store
from gridmap.store import workers as worker_store
from tests.conftest import STEP, X0, Y0
from tests.web.test_cli import run  # noqa: F401  (the same CLI runner fixture)

pytestmark = pytest.mark.db

CELL_W1 = (X0 + STEP / 2, Y0 + STEP / 4)


@pytest.fixture
def grid(database, settings, load_small_grid):
    category_service.load_categories(database, settings, "cn")
    with database.transaction() as conn:
        worker = worker_store.add_worker(conn, name="王网格", phone=None, department=None)
        worker_store.assign_worker(
            conn, worker_id=worker, level="cell", code="320101001", role="primary"
        )
    return settings, worker


def _triage(database, settings, **kw):
    sub = intake.IssueSubmission(category="E0101", **kw)
    body = intake.submit_issue(database, settings, sub).body
    assert body["state"] == "triage"
    return body["id"]


def _events(database, issue_id):
    with database.connection() as conn:
        return [(e["from_state"], e["to_state"]) for e in issue_store.issue_events(conn, issue_id)]


def test_placing_an_outside_issue_at_a_point_routes_it(database, grid):
    settings, worker = grid
    issue_id = _triage(database, settings, lon=X0 - 0.05, lat=Y0)
    queue = dispatch.list_issues(database, state="triage")
    assert [v["id"] for v in queue] == [issue_id]
    view = dispatch.place_issue(database, settings, issue_id, lon=CELL_W1[0], lat=CELL_W1[1])
    assert view["state"] == "dispatched" and view["unit"]["code"] == "320101001"
    assert view["target"]["worker"]["id"] == worker
    assert view["lon"] == pytest.approx(CELL_W1[0])
    assert _events(database, issue_id)[-2:] == [("triage", "filed"), ("filed", "dispatched")]
    steps = routing_service.routing_history(database, issue_id)[-1]["steps"]
    assert steps[0]["key"] == "route_dispatcher_point"
    assert dispatch.list_issues(database, state="triage") == []


def test_placing_at_a_geocoding_candidate(database, grid):
    settings, worker = grid
    geocode.build_gazetteer(database, settings, osm_files=[])
    issue_id = _triage(database, settings, address="网格1-1")
    view = intake.get_issue(database, issue_id)
    names = [c["name"] for c in view["geocode"]["candidates"]]
    index = names.index("网格1-1") + 1
    placed = dispatch.place_issue(database, settings, issue_id, candidate=index)
    assert placed["unit"]["code"] == "320101001" and placed["target"]["worker"]["id"] == worker
    with pytest.raises(InputError, match="no candidate 99"):
        dispatch.place_issue(database, settings, issue_id, candidate=99)


def test_placing_still_outside_stays_in_triage(database, grid):
    settings, _ = grid
    issue_id = _triage(database, settings, lon=X0 - 0.05, lat=Y0)
    view = dispatch.place_issue(database, settings, issue_id, lon=X0 - 0.06, lat=Y0)
    assert view["state"] == "triage" and view["target"]["kind"] == "triage"
    assert _events(database, issue_id)[-1] == ("triage", "triage")


def test_bad_placements_change_nothing(database, grid):
    settings, _ = grid
    issue_id = _triage(database, settings, lon=X0 - 0.05, lat=Y0)
    before = intake.get_issue(database, issue_id)
    for kwargs, error in (
        ({}, InputError),
        ({"lon": 1.0, "lat": 1.0, "candidate": 1}, InputError),
        ({"lon": "nan", "lat": 32.0}, InputError),
        ({"lon": 118.0, "lat": 95.0}, InputError),
        ({"lon": 118.0, "lat": 32.0, "coord_type": "mars"}, InputError),
    ):
        with pytest.raises(error):
            dispatch.place_issue(database, settings, issue_id, **kwargs)
    with pytest.raises(NotFoundError):
        dispatch.place_issue(database, settings, 999999, lon=CELL_W1[0], lat=CELL_W1[1])
    assert intake.get_issue(database, issue_id) == before


def test_http_queue_and_place(database, grid):
    settings, worker = grid
    client = create_app(settings, database=database).test_client()
    issue_id = _triage(database, settings, lon=X0 - 0.05, lat=Y0)
    queue = client.get("/api/v1/issues?state=triage").get_json()
    assert [v["id"] for v in queue] == [issue_id]
    placed = client.post(
        f"/api/v1/issues/{issue_id}/place",
        json={"lon": CELL_W1[0], "lat": CELL_W1[1], "note": "called the reporter back"},
    )
    assert placed.status_code == 200, placed.get_json()
    assert placed.get_json()["target"]["worker"]["id"] == worker
    for body, status in (
        ({"lon": "x", "lat": 1}, 400),
        ({"candidate": True}, 400),
        ({"where": "there"}, 400),
        ("[]", 400),
    ):
        answer = client.post(f"/api/v1/issues/{issue_id}/place", json=body)
        assert answer.status_code == status and answer.get_json()["message"]
    assert client.get("/api/v1/issues?limit=0").status_code == 400
    assert client.get("/api/v1/issues?limit=x").status_code == 400


def test_cli_list_and_place(run, database, grid):  # noqa: F811
    settings, _ = grid
    issue_id = _triage(database, settings, lon=X0 - 0.05, lat=Y0)
    listed = run("issues", "list", "--state", "triage")
    assert listed.exit_code == 0 and str(issue_id) in listed.output
    placed = run("issues", "place", issue_id, "--lon", CELL_W1[0], "--lat", CELL_W1[1])
    assert placed.exit_code == 0, placed.output
    assert "dispatched, unit 320101001, worker 王网格" in placed.output
    assert run("issues", "place", issue_id).exit_code == 1
