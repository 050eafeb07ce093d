"""Issue intake and routing against real PostGIS: worker, backup, up the hierarchy,
department rules, triage, near edge, idempotency under concurrent retries, duplicates,
photos without EXIF, and a bad-input battery that must store nothing and never 5xx."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from PIL import Image

from gridmap.app import create_app
from gridmap.errors import AmbiguousError, DatabaseError, InputError
from gridmap.geo.coords import wgs84_to_gcj02
from gridmap.services import categories as category_service
from gridmap.services import intake
from gridmap.services import routing as routing_service
from gridmap.store import issues as issue_store
from gridmap.store import workers as worker_store
from tests.conftest import STEP, X0, Y0

pytestmark = pytest.mark.db

CELL_W1 = (X0 + STEP / 2, Y0 + STEP / 4)  # centre of cell 320101001 (west district)
CELL_E1 = (X0 + 1.5 * STEP, Y0 + STEP / 4)  # centre of cell 320102001 (east district)
GRID_CATEGORY = "E0101"  # exposed garbage: the grid worker's
DEPT_CATEGORY = "C0104"  # power cable manhole cover: the power company's


@pytest.fixture
def grid_with_categories(database, settings, load_small_grid):
    category_service.load_categories(database, settings, "cn")
    return settings


def _worker(database, name, code, role="primary", level="cell"):
    with database.transaction() as conn:
        wid = worker_store.add_worker(conn, name=name, phone="13800000000", department=None)
        worker_store.assign_worker(conn, worker_id=wid, level=level, code=code, role=role)
    return wid


def _submit(database, settings, point=CELL_W1, category=GRID_CATEGORY, idempotency_key=None, **kw):
    sub = intake.IssueSubmission(category=category, lon=point[0], lat=point[1], **kw)
    return intake.submit_issue(database, settings, sub, idempotency_key=idempotency_key)


def _count(database):
    with database.connection() as conn:
        return issue_store.count_issues(conn)


def test_grid_issue_goes_to_the_cells_primary_worker(database, grid_with_categories):
    settings = grid_with_categories
    primary = _worker(database, "王网格", "320101001")
    _worker(database, "李备岗", "320101001", role="backup")
    result = _submit(database, settings, description="垃圾堆放", reporter_phone="13900000000")
    body = result.body
    assert result.status == 201
    assert body["unit"]["code"] == "320101001"
    assert body["target"] == {
        "kind": "worker",
        "worker": {"id": primary, "name": "王网格"},
        "department": None,
    }
    assert body["state"] == "dispatched" and body["status"] == "open"
    assert body["due_at"] is not None and body["deadlines"]
    assert "13900000000" not in str(intake.get_issue(database, body["id"]))
    with database.connection() as conn:
        events = [e["to_state"] for e in issue_store.issue_events(conn, body["id"])]
    assert events == ["reported", "filed", "dispatched"]


def test_off_duty_primary_falls_back_to_backup_then_up_the_hierarchy(
    database, grid_with_categories
):
    settings = grid_with_categories
    primary = _worker(database, "王网格", "320101001")
    backup = _worker(database, "李备岗", "320101001", role="backup")
    district = _worker(database, "区值班", "320101", level="district")
    past = datetime.now(UTC) - timedelta(days=2)
    with database.transaction() as conn:  # the primary works a roster that is over
        worker_store.add_duties(conn, [(primary, past, past + timedelta(hours=8))])
    assert _submit(database, settings).body["target"]["worker"]["id"] == backup
    with database.transaction() as conn:
        worker_store.add_duties(conn, [(backup, past, past + timedelta(hours=8))])
    decided = _submit(database, settings).body
    assert decided["target"]["worker"]["id"] == district
    assert any("off duty" in step for step in decided["routing"])


def test_department_category_follows_the_most_specific_rule(database, grid_with_categories):
    settings = grid_with_categories
    assert (
        _submit(database, settings, category=DEPT_CATEGORY).body["target"]["department"]["code"]
        == "power"
    )
    category_service.add_responsibility(
        database, settings, department="municipal", major="01", unit_code="320102"
    )
    category_service.add_responsibility(
        database, settings, department="telecom", category=DEPT_CATEGORY
    )
    east = _submit(database, settings, point=CELL_E1, category=DEPT_CATEGORY).body
    west = _submit(database, settings, category=DEPT_CATEGORY).body
    assert east["target"]["department"]["code"] == "municipal"  # deeper unit wins
    assert west["target"]["department"]["code"] == "telecom"  # city-wide exact rule


def test_outside_goes_to_triage_and_near_edge_is_flagged(database, grid_with_categories):
    settings = grid_with_categories
    _worker(database, "王网格", "320101001")
    outside = _submit(database, settings, point=(X0 - 0.05, Y0)).body
    assert outside["target"]["kind"] == "triage" and outside["state"] == "triage"
    near = _submit(database, settings, point=(X0 + STEP / 2, Y0 + STEP / 2 - 0.00003)).body
    assert near["target"]["kind"] == "worker" and near["needs_confirmation"] is True
    explained = routing_service.routing_history(database, near["id"])[-1]["steps"]
    assert [s["key"] for s in explained][:2] == ["route_placed", "route_near_edge"]


def test_the_answer_is_the_stored_view(database, grid_with_categories):
    """The intake answer is built before the issue is written, from the facts in hand: it must
    equal the view read back, whatever the decision (worker, near edge, triage outside,
    department, an address nobody could place), the reporter's time zone or the attributes."""
    settings = grid_with_categories
    _worker(database, "王网格", "320101001")
    beijing = timezone(timedelta(hours=8))
    submissions = [
        {"point": CELL_W1},
        {"point": CELL_W1, "reported_at": datetime.now(beijing).replace(microsecond=120000)},
        {"point": (X0 + STEP / 2, Y0 + STEP / 2 - 0.00003)},
        {"point": (X0 - 0.05, Y0)},
        {"point": CELL_E1, "category": "C0101", "attributes": {"problem": "missing"}},
        {"point": (None, None), "address": "无名路 999 号", "description": "路灯不亮"},
    ]
    for kw in submissions:
        body = _submit(database, settings, **kw).body
        stored = intake.get_issue(database, body["id"])
        assert body["routing"] and body["routing"] == stored["routing"]
        assert {k: v for k, v in body.items() if k != "possible_duplicates"} == stored


def test_intake_sees_changes_another_process_made_to_reference_data(database, grid_with_categories):
    """Intake keeps the category set, rules, departments and generation in memory; a change
    made elsewhere (plain SQL here: this process's cache hears nothing of it) is seen by the
    next report, and a report taken meanwhile stores nothing twice."""
    settings = grid_with_categories
    assert (
        _submit(database, settings, category=DEPT_CATEGORY).body["target"]["department"]["code"]
        == "power"
    )
    with database.transaction() as conn:
        conn.execute(
            "INSERT INTO department (code, name_en, name_zh) "
            "VALUES ('grid-office', 'Grid office', '网格办')"
        )
        conn.execute(
            "INSERT INTO responsibility (set_name, category_code, department_code) "
            "VALUES ('cn', %s, 'grid-office')",
            (DEPT_CATEGORY,),
        )
    body = _submit(database, settings, category=DEPT_CATEGORY).body
    assert body["target"]["department"] == {
        "code": "grid-office",
        "name_en": "Grid office",
        "name_zh": "网格办",
    }
    assert _count(database) == 2
    with database.transaction() as conn:
        conn.execute(
            "UPDATE category SET withdrawn = true WHERE set_name = 'cn' AND code = %s",
            (GRID_CATEGORY,),
        )
    with pytest.raises(InputError) as refused:
        _submit(database, settings)
    assert refused.value.key == "category_withdrawn"
    # the cached copy now knows the category as withdrawn: taken back elsewhere, it is taken
    # again here (the checks that refused it ran on the cached copy)
    with database.transaction() as conn:
        conn.execute(
            "UPDATE category SET withdrawn = false WHERE set_name = 'cn' AND code = %s",
            (GRID_CATEGORY,),
        )
    assert _submit(database, settings).status == 201
    with database.transaction() as conn:
        conn.execute(
            "UPDATE category SET withdrawn = true WHERE set_name = 'cn' AND code = %s",
            (GRID_CATEGORY,),
        )
    with database.transaction() as conn:
        conn.execute("UPDATE boundary_generation SET active = false")
    body = _submit(database, settings, category=DEPT_CATEGORY).body
    assert body["unit"] is None and body["target"]["kind"] == "triage"
    assert _count(database) == 4


def test_reference_data_that_never_settles_is_a_503_and_stores_nothing(
    database, grid_with_categories, monkeypatch
):
    settings = grid_with_categories
    with database.connection() as conn:
        current = category_service.reference_in_use(conn)
    outdated = dataclasses.replace(current, version=current.version - 1)
    monkeypatch.setattr(category_service, "cached_reference", lambda db: outdated)
    with pytest.raises(DatabaseError) as refused:
        _submit(database, settings, idempotency_key="never-settles")
    assert refused.value.key == "reference_changing" and refused.value.http_status == 503
    assert _count(database) == 0
    monkeypatch.undo()
    # the key was not kept: the client's retry is taken
    assert _submit(database, settings, idempotency_key="never-settles").status == 201


def test_gcj02_location_is_converted_to_wgs84(database, grid_with_categories):
    settings = grid_with_categories
    gx, gy = wgs84_to_gcj02(np.array([CELL_W1[0]]), np.array([CELL_W1[1]]))
    body = _submit(database, settings, point=(float(gx[0]), float(gy[0])), coord_type="gcj02").body
    assert math.isclose(body["lon"], CELL_W1[0], abs_tol=1e-6)
    assert math.isclose(body["lat"], CELL_W1[1], abs_tol=1e-6)
    assert body["unit"]["code"] == "320101001"


def test_concurrent_retries_with_one_idempotency_key_create_one_issue(
    database, grid_with_categories
):
    settings = grid_with_categories
    sub = intake.IssueSubmission(category=GRID_CATEGORY, lon=CELL_W1[0], lat=CELL_W1[1])
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda _: intake.submit_issue(database, settings, sub, idempotency_key="k-1"),
                range(8),
            )
        )
    assert len({r.body["id"] for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert _count(database) == 1
    other = intake.IssueSubmission(category=GRID_CATEGORY, lon=CELL_E1[0], lat=CELL_E1[1])
    with pytest.raises(AmbiguousError):
        intake.submit_issue(database, settings, other, idempotency_key="k-1")
    assert _count(database) == 1


def test_a_retry_racing_the_first_request_waits_for_it_and_replays_its_answer(
    database, grid_with_categories
):
    """The first request's write is in flight (its key row inserted, not yet committed) when
    the retry writes: the retry waits on the key, then fails on it and answers what the first
    one stored, creating nothing."""
    settings = grid_with_categories
    sub = intake.IssueSubmission(category=GRID_CATEGORY, lon=CELL_W1[0], lat=CELL_W1[1])
    first_answer = {"id": 424242, "state": "dispatched", "note": "the first answer"}
    with database.connection() as first:
        first.execute(
            "INSERT INTO idempotency_key (key, fingerprint, status, body) VALUES (%s, %s, 201, %s)",
            ("k-race", intake.fingerprint(sub), json.dumps(first_answer)),
        )
        with ThreadPoolExecutor(max_workers=1) as pool:
            retry = pool.submit(
                intake.submit_issue, database, settings, sub, idempotency_key="k-race"
            )
            with pytest.raises(FuturesTimeout):
                retry.result(timeout=1.0)  # blocked on the uncommitted key
            first.commit()
            result = retry.result(timeout=30)
    assert result.replayed and result.status == 201 and result.body == first_answer
    assert _count(database) == 0


def test_nearby_open_issue_of_the_same_category_is_a_likely_duplicate(
    database, grid_with_categories
):
    settings = grid_with_categories
    first = _submit(database, settings).body
    second = _submit(database, settings, point=(CELL_W1[0] + 0.0002, CELL_W1[1])).body
    assert [d["id"] for d in second["possible_duplicates"]] == [first["id"]]
    assert 10 < second["possible_duplicates"][0]["distance_m"] < 30
    far = _submit(database, settings, point=CELL_E1).body
    assert far["possible_duplicates"] == []


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (32.0, 2.0, 24.0), 3: "E", 4: (118.0, 47.0, 0.0)}
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def client(database, grid_with_categories):
    app = create_app(grid_with_categories, database=database)
    return app.test_client()


def test_api_stores_photos_without_exif(client, database):
    raw = _jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif()  # the fixture really carries GPS
    response = client.post(
        "/api/v1/issues",
        json={
            "category": GRID_CATEGORY,
            "lon": CELL_W1[0],
            "lat": CELL_W1[1],
            "photos": [{"content_type": "image/jpeg", "data": base64.b64encode(raw).decode()}],
        },
    )
    assert response.status_code == 201, response.get_json()
    with database.connection() as conn:
        (data,) = conn.execute("SELECT data FROM issue_photo").fetchone()
    stored = Image.open(io.BytesIO(bytes(data)))
    assert stored.size == (40, 30) and not stored.getexif()


BAD_BODIES = [
    ("missing category", {"lon": CELL_W1[0], "lat": CELL_W1[1]}),
    ("unknown category", {"category": "X9999", "lon": CELL_W1[0], "lat": CELL_W1[1]}),
    ("no location", {"category": GRID_CATEGORY}),
    ("only lon", {"category": GRID_CATEGORY, "lon": CELL_W1[0]}),
    ("lon as text", {"category": GRID_CATEGORY, "lon": "east", "lat": CELL_W1[1]}),
    ("NaN lon", {"category": GRID_CATEGORY, "lon": "NaN", "lat": CELL_W1[1]}),
    ("lon out of range", {"category": GRID_CATEGORY, "lon": 200.5, "lat": CELL_W1[1]}),
    ("lat true", {"category": GRID_CATEGORY, "lon": CELL_W1[0], "lat": True}),
    ("unknown coord type", {"category": GRID_CATEGORY, "lon": 1, "lat": 1, "coord_type": "x"}),
    (
        "script tag",
        {
            "category": GRID_CATEGORY,
            "lon": CELL_W1[0],
            "lat": CELL_W1[1],
            "description": "<script>alert(1)</script>",
        },
    ),
    (
        "description not text",
        {"category": GRID_CATEGORY, "lon": CELL_W1[0], "lat": CELL_W1[1], "description": {"a": 1}},
    ),
    (
        "too long",
        {
            "category": GRID_CATEGORY,
            "lon": CELL_W1[0],
            "lat": CELL_W1[1],
            "description": "长" * 6000,
        },
    ),
    (
        "bad e-mail",
        {
            "category": GRID_CATEGORY,
            "lon": CELL_W1[0],
            "lat": CELL_W1[1],
            "reporter_email": "nobody",
        },
    ),
    (
        "unknown field",
        {"category": GRID_CATEGORY, "lon": CELL_W1[0], "lat": CELL_W1[1], "colour": "red"},
    ),
    (
        "broken photo",
        {
            "category": GRID_CATEGORY,
            "lon": CELL_W1[0],
            "lat": CELL_W1[1],
            "photos": [{"data": base64.b64encode(b"\xff\xd8 not a jpeg").decode()}],
        },
    ),
    (
        "photo not base64",
        {
            "category": GRID_CATEGORY,
            "lon": CELL_W1[0],
            "lat": CELL_W1[1],
            "photos": [{"data": "%%%"}],
        },
    ),
    (
        "four photos",
        {
            "category": GRID_CATEGORY,
            "lon": CELL_W1[0],
            "lat": CELL_W1[1],
            "photos": [{"data": base64.b64encode(_jpeg_with_gps()).decode()}] * 4,
        },
    ),
    ("required attribute missing", {"category": "C0101", "lon": CELL_W1[0], "lat": CELL_W1[1]}),
    (
        "bad date",
        {
            "category": GRID_CATEGORY,
            "lon": CELL_W1[0],
            "lat": CELL_W1[1],
            "reported_at": "yesterday",
        },
    ),
    (
        "naive date",
        {
            "category": GRID_CATEGORY,
            "lon": CELL_W1[0],
            "lat": CELL_W1[1],
            "reported_at": "2026-01-05T10:00:00",
        },
    ),
    ("a list", [1, 2, 3]),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
def test_bad_input_is_a_clear_4xx_and_stores_nothing(client, database, case, body):
    response = client.post("/api/v1/issues", json=body, headers={"Accept-Language": "zh-CN"})
    assert 400 <= response.status_code < 500, (case, response.get_json())
    error = response.get_json()
    assert error["message"] and error["error"] != "internal_error"
    assert _count(database) == 0


def test_raw_garbage_and_a_10_mb_body_are_refused(client, database):
    assert (
        client.post(
            "/api/v1/issues", data=b"{not json", content_type="application/json"
        ).status_code
        == 400
    )
    huge = client.post(
        "/api/v1/issues", data=b"x" * (10 * 1024 * 1024), content_type="application/json"
    )
    assert huge.status_code == 413
    assert _count(database) == 0


def test_an_address_the_gazetteer_cannot_place_goes_to_triage_with_its_result(
    database, grid_with_categories
):
    settings = grid_with_categories
    sub = intake.IssueSubmission(category=GRID_CATEGORY, address="无名路 999 号")
    body = intake.submit_issue(database, settings, sub).body
    assert body["target"]["kind"] == "triage" and body["lon"] is None
    assert body["geocode"]["decision"] != "accepted"
    assert "triage" in body["routing"][0]


def test_addresses_are_geocoded_from_the_gazetteer(database, grid_with_categories):
    from gridmap.services import geocode

    settings = grid_with_categories
    geocode.build_gazetteer(database, settings, osm_files=[])
    precise = intake.IssueSubmission(category=GRID_CATEGORY, address="网格1-1")
    body = intake.submit_issue(database, settings, precise).body
    # a cell's name alone is a unit, not a house number or POI: never guessed
    assert body["target"]["kind"] == "triage"
    assert body["geocode"]["candidates"]


def test_hotline_import_is_set_based_rejects_with_reasons_and_is_idempotent(
    database, grid_with_categories, tmp_path
):
    from gridmap.services import hotline

    settings = grid_with_categories
    _worker(database, "王网格", "320101001")
    rows = [
        "id,type,created,x,y,addr",
        f"A1,Exposed garbage,2026-03-02T09:00:00+08:00,{CELL_W1[0]},{CELL_W1[1]},",
        f"A2,E0101,2026-03-02T09:05:00,{CELL_E1[0]},{CELL_E1[1]},",
        f"A3,C0104,2026-03-02T09:10:00,{CELL_W1[0]},{CELL_W1[1]},",
        "A4,E0101,2026-03-02T09:00:00,,,somewhere",
        f"A5,E0101,2026-03-02T09:00:00,{X0 - 1},{Y0},",
        f"A6,no such thing,2026-03-02T09:00:00,{CELL_W1[0]},{CELL_W1[1]},",
        f"A7,E0101,not a date,{CELL_W1[0]},{CELL_W1[1]},",
        f"A8,E0101,2026-03-02T09:00:00,500,{CELL_W1[1]},",
    ]
    path = tmp_path / "hotline.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    mapping = hotline.parse_mapping(
        ("id=external_id", "type=category", "created=reported_at", "x=lon", "y=lat", "addr=address")
    )
    report = hotline.import_issues(database, settings, path, mapping=mapping, source="t")
    assert report.imported == 3
    assert dict(report.rejected) == {
        "missing_coordinates": 1,
        "outside": 1,
        "unknown_category": 1,
        "bad_date": 1,
        "bad_coordinates": 1,
    }
    assert dict(report.targets) == {"worker": 1, "triage": 1, "department": 1}
    again = hotline.import_issues(database, settings, path, mapping=mapping, source="t")
    assert (again.imported, again.already_imported) == (0, 3)
    with database.connection() as conn:
        assert issue_store.count_issues(conn) == 3
        assert conn.execute("SELECT count(*) FROM issue_rejected").fetchone()[0] == 5
        routed = conn.execute(
            "SELECT external_id, target_kind, due_at IS NOT NULL FROM issue ORDER BY 1"
        ).fetchall()
    assert routed == [("A1", "worker", True), ("A2", "triage", True), ("A3", "department", True)]
    with database.connection() as conn:
        events = conn.execute(
            "SELECT i.external_id, e.actor, e.from_state, e.to_state, e.data->>'source' "
            "FROM issue_event_history e JOIN issue i ON i.id = e.issue_id ORDER BY 1"
        ).fetchall()
    # one event per imported issue: the hotline took the report, the import filed and sent it
    assert events == [
        ("A1", "import:t", None, "dispatched", "t"),
        ("A2", "import:t", None, "triage", "t"),
        ("A3", "import:t", None, "dispatched", "t"),
    ]


def test_rows_closed_in_the_exporting_system_are_imported_closed(
    database, grid_with_categories, tmp_path
):
    from gridmap.app import create_app
    from gridmap.services import hotline

    settings = grid_with_categories
    rows = [
        "id,type,created,x,y,closed",
        f"C1,E0101,2026-03-02T09:00:00+08:00,{CELL_W1[0]},{CELL_W1[1]},2026-03-03T10:00:00+08:00",
        f"C2,E0101,2026-03-02T09:00:00+08:00,{CELL_W1[0]},{CELL_W1[1]},",
        f"C3,E0101,2026-03-02T09:00:00+08:00,{CELL_W1[0]},{CELL_W1[1]},soon",
        f"C4,E0101,2026-03-02T09:00:00+08:00,{CELL_W1[0]},{CELL_W1[1]},2026-03-01T09:00:00+08:00",
    ]
    path = tmp_path / "closed.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    mapping = hotline.parse_mapping(
        (
            "id=external_id",
            "type=category",
            "created=reported_at",
            "x=lon",
            "y=lat",
            "closed=closed_at",
        )
    )
    report = hotline.import_issues(database, settings, path, mapping=mapping, source="t")
    assert report.imported == 2 and dict(report.rejected) == {"bad_date": 2}
    with database.connection() as conn:
        stored = conn.execute(
            "SELECT external_id, state, closed_at IS NOT NULL FROM issue ORDER BY 1"
        ).fetchall()
    assert stored == [("C1", "closed", True), ("C2", "triage", False)]
    client = create_app(settings, database=database).test_client()
    answer = client.get(
        "/open311/v2/requests.json?start_date=2026-03-01T00:00:00Z&end_date=2026-03-05T00:00:00Z"
    ).get_json()
    assert sorted(r["status"] for r in answer) == ["closed", "open"]


def test_a_dispatcher_merges_a_duplicate_and_both_reporters_remain(client, database):
    def post(phone):
        return client.post(
            "/api/v1/issues",
            json={
                "category": GRID_CATEGORY,
                "lon": CELL_W1[0],
                "lat": CELL_W1[1],
                "reporter_phone": phone,
            },
        ).get_json()

    master, duplicate = post("13900000001"), post("13900000002")
    assert [d["id"] for d in duplicate["possible_duplicates"]] == [master["id"]]
    merged = client.post(
        f"/api/v1/issues/{duplicate['id']}/merge",
        json={"master_id": master["id"], "note": "同一处垃圾"},
    )
    assert merged.status_code == 200, merged.get_json()
    assert merged.get_json()["duplicates"] == [duplicate["id"]]
    shown = client.get(f"/api/v1/issues/{duplicate['id']}").get_json()
    assert shown["state"] == "merged" and shown["master_id"] == master["id"]
    with database.connection() as conn:
        phones = [c["reporter_phone"] for c in issue_store.reporter_contacts(conn, master["id"])]
    assert phones == ["13900000001", "13900000002"]
    again = client.post(f"/api/v1/issues/{duplicate['id']}/merge", json={"master_id": master["id"]})
    assert again.status_code == 400
    into_dup = client.post(
        f"/api/v1/issues/{master['id']}/merge", json={"master_id": duplicate["id"]}
    )
    assert into_dup.status_code == 400


def test_a_key_first_used_on_a_known_external_id_replays_that_answer(
    database, grid_with_categories
):
    settings = grid_with_categories
    sub = intake.IssueSubmission(
        category=GRID_CATEGORY,
        lon=CELL_W1[0],
        lat=CELL_W1[1],
        external_source="app-x",
        external_id="r-1",
    )
    first = intake.submit_issue(database, settings, sub)
    again = intake.submit_issue(database, settings, sub, idempotency_key="late-key")
    retry = intake.submit_issue(database, settings, sub, idempotency_key="late-key")
    assert again.status == retry.status == 200 and again.replayed and retry.replayed
    assert retry.body["id"] == again.body["id"] == first.issue_id
    assert _count(database) == 1
