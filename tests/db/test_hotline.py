"""Hotline imports written straight into the issue tables by COPY: concurrent imports of one
file, a clash with a row stored meanwhile by another client, the same id twice in a file,
and each imported issue's rows (event, decision, placement, unit) across batches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import openpyxl
import psycopg
import pytest

from gridmap.errors import AmbiguousError, InputError
from gridmap.geo import coords
from gridmap.services import categories as category_service
from gridmap.services import hotline
from gridmap.services import routing as routing_service
from gridmap.services import workers as worker_service
from gridmap.store import hotline as hotline_store
from gridmap.store import issues as issue_store
from tests.conftest import STEP, X0, Y0

pytestmark = pytest.mark.db

CELL_W1 = (X0 + STEP / 2, Y0 + STEP / 4)  # cell 320101001
CELL_E1 = (X0 + 1.5 * STEP, Y0 + STEP / 4)  # cell 320102001
MAPPING_PAIRS = ("id=external_id", "type=category", "created=reported_at", "x=lon", "y=lat")
MAPPING = hotline.parse_mapping(MAPPING_PAIRS)


@pytest.fixture
def grid_with_categories(database, settings, load_small_grid):
    category_service.load_categories(database, settings, "cn")
    return settings


def _export(tmp_path, ids, name="hotline.csv", extra=()):
    rows = ["id,type,created,x,y", *extra]
    for i, external_id in enumerate(ids):
        x, y = CELL_W1 if i % 2 == 0 else CELL_E1
        rows.append(f"{external_id},E0101,2026-03-02T09:{i % 60:02d}:00+08:00,{x},{y}")
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _counts(database):
    with database.connection() as conn:
        return conn.execute(
            """
            SELECT (SELECT count(*) FROM issue),
                   (SELECT count(*) FROM issue_event_history),
                   (SELECT count(*) FROM routing_decision_history),
                   (SELECT count(*) FROM placement WHERE subject = 'issue'),
                   (SELECT count(*) FROM placement_unit),
                   (SELECT count(*) FROM issue_rejected)
            """
        ).fetchone()


def _deadline_sets(conn, import_id):
    """How many deadline sets the import stored, and how many distinct ones."""
    return conn.execute(
        "SELECT count(*), count(DISTINCT deadlines) FROM issue_import_deadlines "
        "WHERE import_id = %s",
        (import_id,),
    ).fetchone()


def test_every_issue_gets_its_rows_across_batches(
    database, grid_with_categories, tmp_path, monkeypatch
):
    monkeypatch.setattr(hotline, "CHUNK_ROWS", 7)  # 25 rows: four batches
    path = _export(tmp_path, [f"B{i}" for i in range(25)])
    report = hotline.import_issues(database, grid_with_categories, path, mapping=MAPPING)
    assert (report.imported, report.already_imported) == (25, 0)
    assert _counts(database) == (25, 25, 25, 25, 25, 0)
    with database.connection() as conn:
        mismatched = conn.execute(
            """
            SELECT count(*) FROM issue i
            JOIN issue_event_history e ON e.issue_id = i.id
            JOIN routing_decision_history d ON d.issue_id = i.id
            JOIN placement p ON p.subject = 'issue' AND p.subject_id = i.id
            JOIN placement_unit u ON u.placement_id = p.id
            WHERE e.to_state IS DISTINCT FROM i.state
               OR (d.unit_code, d.target_kind) IS DISTINCT FROM (i.unit_code, i.target_kind)
               OR (p.lon, p.lat) IS DISTINCT FROM (i.input_lon, i.input_lat)
               OR u.unit_code IS DISTINCT FROM i.unit_code OR u.generation <> i.generation
               OR NOT ST_Equals(i.geom, ST_SetSRID(ST_MakePoint(i.input_lon, i.input_lat), 4326))
               OR ST_SRID(i.geom) <> 4326
            """
        ).fetchone()[0]
        cells = dict(
            conn.execute(
                "SELECT external_id, unit_code FROM issue WHERE external_id IN ('B0', 'B1')"
            )
        )
    assert mismatched == 0
    assert cells == {"B0": "320101001", "B1": "320102001"}


def test_imported_issues_read_their_deadlines_from_the_imports_shared_sets(
    database, grid_with_categories, tmp_path, monkeypatch
):
    """Each deadline set is written once per import, whichever batch meets it first, and every
    imported issue reads the deadlines intake's calendar gives for it."""
    from gridmap.domain.calendar import deadline_entry
    from gridmap.services.categories import current_taxonomy

    monkeypatch.setattr(hotline, "CHUNK_ROWS", 5)
    rows = ["id,type,created,x,y"]
    for i in range(30):
        x, y = CELL_W1 if i % 2 == 0 else CELL_E1
        category = "C0109" if i % 3 else "C0101"  # working days, and hours from the instant
        rows.append(
            f"L{i},{category},2026-09-{28 + i // 10}T{8 + i % 11:02d}:{i:02d}:00+08:00,{x},{y}"
        )
    path = tmp_path / "days.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = hotline.import_issues(database, grid_with_categories, path, mapping=MAPPING)
    assert report.imported == 30
    taxonomy = current_taxonomy(database)
    with database.connection() as conn:
        sets = _deadline_sets(conn, report.import_id)
        ids = [r[0] for r in conn.execute("SELECT id FROM issue ORDER BY id")]
        issues = [issue_store.get_issue(conn, issue_id) for issue_id in ids]
    # C0101: one set per filing instant (10 rows); C0109: one per filing day (3 days)
    assert sets == (13, 13)
    for issue in issues:
        limits = taxonomy.categories.category(issue["category_code"]).time_limits
        expected = taxonomy.calendar.deadlines(issue["reported_at"], limits)
        assert issue["deadlines"] == [deadline_entry(limit, due) for limit, due in expected]
        assert issue["due_at"] == max(due for _, due in expected)


def test_the_same_id_twice_in_a_file_is_imported_once(
    database, grid_with_categories, tmp_path, monkeypatch
):
    monkeypatch.setattr(hotline, "CHUNK_ROWS", 2)  # the repeat falls in a later batch
    path = _export(tmp_path, ["D1", "D2", "D3", "D1", "D2"])
    report = hotline.import_issues(database, grid_with_categories, path, mapping=MAPPING)
    assert (report.imported, report.already_imported) == (3, 2)
    assert _counts(database)[:3] == (3, 3, 3)


def test_concurrent_imports_of_one_file_store_it_once(database, grid_with_categories, tmp_path):
    path = _export(tmp_path, [f"C{i}" for i in range(40)])
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(
            pool.map(
                lambda _: hotline.import_issues(
                    database, grid_with_categories, path, mapping=MAPPING
                ),
                range(2),
            )
        )
    # they took turns: one stored every row, the other found them all there
    assert sorted((r.imported, r.already_imported) for r in reports) == [(0, 40), (40, 0)]
    assert _counts(database) == (40, 40, 40, 40, 40, 0)


def test_a_row_stored_meanwhile_by_another_client_refuses_the_whole_import(
    database, grid_with_categories, tmp_path, monkeypatch
):
    settings = grid_with_categories
    first = hotline.import_issues(
        database, settings, _export(tmp_path, ["E3"], "one.csv"), mapping=MAPPING
    )
    assert first.imported == 1
    before = _counts(database)
    # E3 stored after the probe for known ids (the window another client could use): the
    # probe is made to miss it, as it would have
    monkeypatch.setattr(hotline_store, "known_external_ids", lambda *a, **k: set())
    path = _export(tmp_path, ["E1", "E2", "E3", "E4"], extra=["E5,no such type,2026-03-02,1,1"])
    with pytest.raises(AmbiguousError) as caught:
        hotline.import_issues(database, settings, path, mapping=MAPPING)
    assert caught.value.key == "import_clash" and caught.value.http_status == 409
    assert "E3" in caught.value.message("en") and "E3" in caught.value.message("zh-CN")
    assert _counts(database) == before  # nothing of it stored, not even its rejected rows
    assert [r["id"] for r in hotline.import_history(database)] == [first.import_id]


def test_an_import_is_recorded_and_its_routes_are_each_issues_first_event_and_decision(
    database, grid_with_categories, tmp_path, monkeypatch
):
    settings = grid_with_categories
    monkeypatch.setattr(hotline, "CHUNK_ROWS", 7)  # 26 rows: four batches share their routes
    closed = "F99,E0101,2026-03-02T08:00:00+08:00,{},{},2026-03-02T10:00:00+08:00".format(*CELL_W1)
    rows = ["id,type,created,x,y,closed", closed]
    for i in range(25):
        x, y = CELL_W1 if i % 2 == 0 else CELL_E1
        rows.append(f"F{i},E0101,2026-03-02T09:{i:02d}:00+08:00,{x},{y},")
    path = tmp_path / "march.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    mapping = hotline.parse_mapping((*MAPPING_PAIRS, "closed=closed_at"))
    report = hotline.import_issues(database, settings, path, mapping=mapping, actor="王调度")
    again = hotline.import_issues(database, settings, path, mapping=mapping, actor="王调度")
    assert (report.imported, again.imported, again.already_imported) == (26, 0, 26)
    assert again.import_id > report.import_id > 0

    runs = hotline.import_history(database)
    assert [(r["id"], r["imported"], r["already_imported"]) for r in runs] == [
        (again.import_id, 0, 26),
        (report.import_id, 26, 0),
    ]
    assert runs[1]["file_name"] == "march.csv" and runs[1]["actor"] == "王调度"
    assert runs[1]["rows"] == 26 and runs[1]["targets"] == dict(report.targets)
    assert len(runs[1]["file_sha256"]) == 64 and runs[1]["finished_at"] is not None
    with database.connection() as conn:
        # one route per decision and state of the import, not one per issue nor per batch:
        # W1's decision (the first, 0) filed open and closed, E1's (1) open; numbered
        # decision x 2 + closed
        routes = conn.execute(
            "SELECT route, to_state, unit_code FROM issue_import_route WHERE import_id = %s "
            "ORDER BY route",
            (report.import_id,),
        ).fetchall()
        assert routes == [
            (0, "triage", "320101001"),
            (1, "closed", "320101001"),
            (2, "triage", "320102001"),
        ]
        # each distinct deadline set kept once, whichever batch met it (E0101 counts working
        # hours from the filing instant; F99, filed before the working day, shares F0's)
        assert _deadline_sets(conn, report.import_id) == (25, 25)
        stored = conn.execute(
            "SELECT count(*) FROM issue WHERE import_id = %s AND deadlines IS NULL "
            "AND import_deadline_set IS NOT NULL",
            (report.import_id,),
        ).fetchone()
        assert stored == (26,)
        ids = dict(conn.execute("SELECT external_id, id FROM issue WHERE external_id LIKE 'F%'"))
        assert conn.execute("SELECT count(*) FROM issue_event").fetchone()[0] == 0
        events = issue_store.issue_events(conn, ids["F99"])
    assert [(e["actor"], e["from_state"], e["to_state"]) for e in events] == [
        ("import:csv", None, "closed")
    ]
    assert events[0]["data"] == {
        "channel": "import",
        "source": "csv",
        "worker_id": None,
        "department": None,
    }

    # a later routing decision is the issue's own, after the import's
    worker_id = worker_service.add_worker(database, name="李网格")
    worker_service.assign_worker(database, settings, worker_id, "320102001")
    routing_service.reroute_issue(database, settings, ids["F1"])
    history = routing_service.routing_history(database, ids["F1"])
    assert [(d["target_kind"], d["worker_id"]) for d in history] == [
        ("triage", None),
        ("worker", worker_id),
    ]
    with database.connection() as conn:
        latest = issue_store.latest_steps(conn, [ids["F1"], ids["F3"]])
    assert latest[ids["F1"]] == history[1]["steps"] and latest[ids["F3"]] == history[0]["steps"]


def test_an_imports_routes_and_deadline_sets_are_never_changed(
    database, grid_with_categories, tmp_path
):
    hotline.import_issues(
        database, grid_with_categories, _export(tmp_path, ["G1"]), mapping=MAPPING
    )
    for statement in (
        "UPDATE issue_import_route SET to_state = 'x'",
        "DELETE FROM issue_import_route",
        "UPDATE issue_import_deadlines SET deadlines = '[]'",
        "DELETE FROM issue_import_deadlines",
    ):
        with pytest.raises(psycopg.errors.RestrictViolation), database.transaction() as conn:
            conn.execute(statement)
    # an issue has its deadlines in one place: its own, or its import's set
    for statement in (
        "UPDATE issue SET deadlines = '[]'",
        "UPDATE issue SET import_deadline_set = NULL",
    ):
        with pytest.raises(psycopg.errors.CheckViolation), database.transaction() as conn:
            conn.execute(statement)


def test_zone_aware_times_reach_the_database_as_the_same_instants(database):
    """csv_data writes zone-aware Arrow times as UTC text (fast); COPY reads the same instants
    whatever the session's time zone."""
    from datetime import UTC, datetime

    import pyarrow as pa

    from gridmap.store.db import copy_data, csv_data

    instants = [
        datetime(2020, 3, 8, 9, 59, 59, 999999, tzinfo=UTC),
        None,
        datetime(1999, 12, 31, 23, 0, tzinfo=UTC),
    ]
    table = pa.table(
        {
            "la": pa.array(instants, pa.timestamp("us", tz="UTC")).cast(
                pa.timestamp("us", tz="America/Los_Angeles")
            ),
            "sh": pa.array(instants, pa.timestamp("ms", tz="Asia/Shanghai")),
        }
    )
    with database.transaction() as conn:
        conn.execute("SET LOCAL TIME ZONE 'Pacific/Auckland'")
        conn.execute("CREATE TEMP TABLE t (la timestamptz, sh timestamptz) ON COMMIT DROP")
        copy_data(conn, "COPY t (la, sh) FROM STDIN (FORMAT csv)", csv_data(table))
        rows = conn.execute("SELECT la, sh FROM t").fetchall()
    assert [r[0] for r in rows] == instants
    assert [r[1] for r in rows] == [
        i.replace(microsecond=999000) if i and i.microsecond else i for i in instants
    ]


def test_deadlines_computed_in_batches_with_a_shared_memo_equal_one_pass(
    database, grid_with_categories
):
    """An import's batches share the deadlines they computed (by filing day or instant):
    the result is the same as computing each row on its own."""
    import numpy as np
    import pandas as pd

    from gridmap.services.categories import current_taxonomy

    taxonomy = current_taxonomy(database)
    codes = np.array([c.code for c in taxonomy.categories.categories][:12], dtype=object)
    rng = np.random.default_rng(7)
    category = codes[rng.integers(0, len(codes), 400)]
    reported = pd.Series(
        pd.Timestamp("2026-09-28T00:00:00Z")  # across the National Day holidays
        + pd.to_timedelta(rng.integers(0, 14 * 24 * 60, 400), unit="min")
    )
    whole = hotline.deadlines_for(taxonomy, category, reported)
    known: dict = {}
    halves = [
        hotline.deadlines_for(
            taxonomy, category[part], reported.iloc[part].reset_index(drop=True), known=known
        )
        for part in (slice(0, 150), slice(150, 400))
    ]
    assert known  # the second half found the first half's days
    sets = [d.sets[g] for d in halves for g in d.group]
    assert sets == [whole.sets[g] for g in whole.group]
    due = pd.concat([d.due_at for d in halves], ignore_index=True)
    assert due.equals(whole.due_at)


@pytest.mark.parametrize(
    ("coord_type", "offset"),
    [("gcj02", coords.wgs84_to_gcj02), ("bd09", coords.wgs84_to_bd09)],
)
def test_an_export_in_web_map_coordinates_is_placed_at_their_wgs84_points(
    database, grid_with_categories, tmp_path, coord_type, offset
):
    """A Chinese export whose agents clicked on Amap or Baidu: the points are hundreds of
    metres off WGS84. With --coord-type the issues land in their own cells, at the WGS84
    points (within a millimetre), and keep the export's values as their input."""
    points = [CELL_W1, CELL_E1]
    lon, lat = offset(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    rows = ["id,type,created,x,y"] + [
        f"C{i},E0101,2026-03-02T09:0{i}:00+08:00,{float(x)!r},{float(y)!r}"
        for i, (x, y) in enumerate(zip(lon, lat, strict=True))
    ]
    path = tmp_path / "web_map.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = hotline.import_issues(
        database, grid_with_categories, path, mapping=MAPPING, coord_type=coord_type
    )
    assert report.imported == 2
    with database.connection() as conn:
        stored = conn.execute(
            """
            SELECT i.unit_code, ST_X(i.geom), ST_Y(i.geom), i.input_lon, i.input_lat,
                   i.input_coord_type, p.lon, p.lat
            FROM issue i JOIN placement p ON p.subject = 'issue' AND p.subject_id = i.id
            ORDER BY i.external_id
            """
        ).fetchall()
    assert [r[0] for r in stored] == ["320101001", "320102001"]
    for (x, y), gx, gy, row in zip(points, lon, lat, stored, strict=True):
        assert row[1:3] == pytest.approx((x, y), abs=1e-8)  # ~1 mm
        assert row[3:5] == (gx, gy) and row[5] == coord_type
        assert row[6:8] == pytest.approx((x, y), abs=1e-8)
    # the offset is what the option removes: taken as WGS84, the points are elsewhere
    moved = coords.to_wgs84(lon, lat, coord_type="wgs84")
    assert abs(moved[0][0] - CELL_W1[0]) * 95_000 > 100  # metres at Nanjing's latitude


def test_an_unknown_coordinate_system_refuses_the_import(database, grid_with_categories, tmp_path):
    path = _export(tmp_path, ["U1"])
    with pytest.raises(InputError, match="coord_type 'utm' is unknown"):
        hotline.import_issues(
            database, grid_with_categories, path, mapping=MAPPING, coord_type="utm"
        )
    assert _counts(database) == (0, 0, 0, 0, 0, 0)


def test_an_xlsx_export_and_a_gb18030_csv_import_like_the_utf8_csv(
    database, grid_with_categories, tmp_path
):
    """12345 systems export workbooks (dates as date cells, in local time) or CSV in GB18030:
    both give the same issues as the UTF-8 CSV they hold."""
    book = openpyxl.Workbook()
    book.active.append(["id", "type", "created", "x", "y"])
    book.active.append(["X1", "E0101", datetime(2026, 3, 2, 9, 0), *CELL_W1])
    book.active.append(["X2", "E0101", datetime(2026, 3, 2, 9, 5), *CELL_E1])
    workbook = tmp_path / "export.xlsx"
    book.save(workbook)
    report = hotline.import_issues(database, grid_with_categories, workbook, mapping=MAPPING)
    assert (report.imported, dict(report.rejected)) == (2, {})
    gbk = tmp_path / "export_gbk.csv"
    gbk.write_bytes(
        (f"编号,类型,时间,经度,纬度\nG1,E0101,2026-03-02 09:10,{CELL_W1[0]},{CELL_W1[1]}\n").encode(
            "gb18030"
        )
    )
    chinese = hotline.parse_mapping(
        ("编号=external_id", "类型=category", "时间=reported_at", "经度=lon", "纬度=lat")
    )
    with pytest.raises(InputError, match="--encoding GB18030"):
        hotline.import_issues(database, grid_with_categories, gbk, mapping=chinese)
    report = hotline.import_issues(
        database, grid_with_categories, gbk, mapping=chinese, encoding="GB18030"
    )
    assert report.imported == 1
    with database.connection() as conn:
        stored = conn.execute(
            "SELECT external_id, unit_code, reported_at FROM issue ORDER BY external_id"
        ).fetchall()
    shanghai = ZoneInfo("Asia/Shanghai")  # the cn set's time zone: local times are its
    assert stored == [
        ("G1", "320101001", datetime(2026, 3, 2, 9, 10, tzinfo=shanghai)),
        ("X1", "320101001", datetime(2026, 3, 2, 9, 0, tzinfo=shanghai)),
        ("X2", "320102001", datetime(2026, 3, 2, 9, 5, tzinfo=shanghai)),
    ]


def test_a_category_map_names_the_exports_own_category_texts(
    database, grid_with_categories, tmp_path
):
    """A 12345 export names categories its own way ("市容环境/占道经营"): a two-column map
    file gives their codes, case, width and spaces aside; texts it does not list still match
    the set's own names and codes; a bad map refuses the import before anything is read."""
    export = tmp_path / "export.csv"
    export.write_text(
        "id,type,created,x,y\n"
        f"M1,市容环境 / 占道经营,2026-03-02T09:00:00+08:00,{CELL_W1[0]},{CELL_W1[1]}\n"
        f"M2,ＲＯＡＤ  LIGHT,2026-03-02T09:01:00+08:00,{CELL_E1[0]},{CELL_E1[1]}\n"
        f"M3,E0101,2026-03-02T09:02:00+08:00,{CELL_W1[0]},{CELL_W1[1]}\n"
        f"M4,别的类别,2026-03-02T09:03:00+08:00,{CELL_W1[0]},{CELL_W1[1]}\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "categories.csv"
    mapping.write_text(
        "导出类别,代码\n市容环境/占道经营,E0101\nroad light,C0109\n\n", encoding="utf-8"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("text,code\n占道经营,E0101\n路灯,NOPE\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv, line 3: .* no category 'NOPE'"):
        hotline.import_issues(
            database, grid_with_categories, export, mapping=MAPPING, category_map=bad
        )
    bad.write_text("text,code\n占道经营,E0101\n占道 经营,C0109\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3: the text '占道 经营' .* mapped twice"):
        hotline.import_issues(
            database, grid_with_categories, export, mapping=MAPPING, category_map=bad
        )
    assert _counts(database) == (0, 0, 0, 0, 0, 0)
    report = hotline.import_issues(
        database, grid_with_categories, export, mapping=MAPPING, category_map=mapping
    )
    assert (report.imported, dict(report.rejected)) == (3, {"unknown_category": 1})
    with database.connection() as conn:
        stored = dict(conn.execute("SELECT external_id, category_code FROM issue"))
    assert stored == {"M1": "E0101", "M2": "C0109", "M3": "E0101"}


def test_la311_reads_the_citys_own_download_as_well_as_the_sample(
    database, grid_with_categories, tmp_path
):
    """--format la311 takes the sample's spelling (srnumber, 1/1/20 0:05) and the city's
    open-data download (SRNumber, 01/01/2020 12:05:00 AM): columns match ignoring case, and
    the format's date layouts are tried in turn."""
    sample = tmp_path / "sample.csv"
    sample.write_text(
        "srnumber,requesttype,createddate,closeddate,latitude,longitude\n"
        f"1-1,E0101,3/2/26 9:05,,{CELL_W1[1]},{CELL_W1[0]}\n",
        encoding="utf-8",
    )
    download = tmp_path / "download.csv"
    download.write_text(
        "SRNumber,RequestType,CreatedDate,ClosedDate,Latitude,Longitude\n"
        f"1-2,E0101,03/02/2026 09:05:00 PM,03/03/2026 08:00:00 AM,{CELL_E1[1]},{CELL_E1[0]}\n",
        encoding="utf-8",
    )
    for path in (sample, download):
        report = hotline.import_issues(database, grid_with_categories, path, export_format="la311")
        assert (report.imported, dict(report.rejected)) == (1, {}), path.name
    shanghai = ZoneInfo("Asia/Shanghai")
    with database.connection() as conn:
        stored = conn.execute(
            "SELECT external_id, unit_code, reported_at, closed_at FROM issue ORDER BY 1"
        ).fetchall()
    assert stored == [
        ("1-1", "320101001", datetime(2026, 3, 2, 9, 5, tzinfo=shanghai), None),
        (
            "1-2",
            "320102001",
            datetime(2026, 3, 2, 21, 5, tzinfo=shanghai),
            datetime(2026, 3, 3, 8, 0, tzinfo=shanghai),
        ),
    ]
