"""The `gridmap categories|issues|apikeys` commands end to end on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridmap.geo.coords import wgs84_to_gcj02
from gridmap.services import apikeys as apikey_service
from gridmap.services import intake
from tests.conftest import STEP, X0, Y0
from tests.web.test_cli import run  # noqa: F401  (the same CLI runner fixture)

pytestmark = pytest.mark.db


def test_load_categories_route_explain_and_api_key(
    run,  # noqa: F811
    database,
    settings,
    load_small_grid,
):
    loaded = run("categories", "load", "cn")
    assert loaded.exit_code == 0, loaded.output
    assert "category set cn" in loaded.output and "calendar cn" in loaded.output
    again = run("categories", "load", "cn")
    assert "0 new" in again.output
    worker_id = run("workers", "add", "王网格").output.split()[-1]
    assert run("workers", "assign", worker_id, "320101001").exit_code == 0
    issue = intake.submit_issue(
        database,
        settings,
        intake.IssueSubmission(category="E0101", lon=X0 + STEP / 2, lat=Y0 + STEP / 4),
    )
    explained = run("issues", "route", issue.issue_id, "--explain")
    assert explained.exit_code == 0, explained.output
    assert f"worker {worker_id}" in explained.output
    assert "primary grid worker of cell 320101001" in explained.output
    rerouted = run("issues", "route", issue.issue_id, "--again", "--explain")
    assert rerouted.output.count("worker " + worker_id) == 2
    assert run("issues", "route", 999999).exit_code == 1
    unknown_department = run("categories", "responsible", "nobody", "--category", "C0104")
    assert unknown_department.exit_code == 1
    assert run("categories", "responsible", "municipal", "--major", "01").exit_code == 0
    created = run("apikeys", "create", "georeport-client")
    key = created.output.split()[-1]
    assert apikey_service.client_for_key(database, key) == "georeport-client"
    assert apikey_service.client_for_key(database, key + "x") is None


def test_loading_a_broken_set_changes_nothing(run, tmp_path):  # noqa: F811
    broken = tmp_path / "categories" / "bad.toml"
    broken.parent.mkdir()
    broken.write_text('name = "bad"\ntitle_en = 3\n', encoding="utf-8")
    result = run("categories", "load", broken)
    assert result.exit_code == 1
    assert "bad.toml" in result.output


def test_duty_roster_from_the_cli_decides_who_is_routed_to(
    run,  # noqa: F811
    database,
    settings,
    load_small_grid,
    tmp_path,
):
    assert run("categories", "load", "cn").exit_code == 0
    primary = run("workers", "add", "王网格").output.split()[-1]
    backup = run("workers", "add", "李备岗").output.split()[-1]
    run("workers", "assign", primary, "320101001")
    run("workers", "assign", backup, "320101001", "--role", "backup")
    now = datetime.now(UTC)
    # the primary's only shift ended an hour ago; the backup is on duty now
    roster = tmp_path / "roster.csv"
    hours = [(now + timedelta(hours=h)).isoformat() for h in (-9, -1, 7)]
    roster.write_text(
        "worker_id,starts_at,ends_at\n"
        f"{primary},{hours[0]},{hours[1]}\n{backup},{hours[1]},{hours[2]}\n",
        encoding="utf-8",
    )
    imported = run("workers", "duty", "import", roster)
    assert imported.exit_code == 0, imported.output
    assert "2 periods read, 2 new" in imported.output
    assert "2 periods read, 0 new" in run("workers", "duty", "import", roster).output
    listed = run("workers", "duty", "list")
    assert "李备岗" in listed.output and "王网格" not in listed.output  # the primary's is over
    assert "王网格" in run("workers", "duty", "list", "--all").output

    def route():
        return intake.submit_issue(
            database,
            settings,
            intake.IssueSubmission(category="E0101", lon=X0 + STEP / 2, lat=Y0 + STEP / 4),
        ).body["target"]["worker"]["id"]

    assert route() == int(backup)
    # a naive time is read in the category set's time zone (Asia/Shanghai for cn)
    local = now.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    added = run(
        "workers",
        "duty",
        "add",
        primary,
        (local - timedelta(minutes=5)).isoformat(),
        (local + timedelta(hours=1)).isoformat(),
    )
    assert added.exit_code == 0 and "added: 1" in added.output
    assert route() == int(primary)


@pytest.mark.parametrize(
    "text,needle",
    [
        ("worker_id,starts_at\n1,2026-01-01T08:00+08:00\n", "columns"),
        (
            "worker_id,starts_at,ends_at\nx,2026-01-01T08:00+08:00,2026-01-01T16:00+08:00\n",
            "line 3",
        ),
        ("worker_id,starts_at,ends_at\nWID,2026-01-01T08:00+08:00,soon\n", "soon"),
        (
            "worker_id,starts_at,ends_at\nWID,2026-01-01T16:00+08:00,2026-01-01T08:00+08:00\n",
            "after",
        ),
        ("worker_id,starts_at,ends_at\n999,2026-01-01T08:00+08:00,2026-01-01T16:00+08:00\n", "999"),
    ],
)
def test_bad_rosters_are_refused_whole(
    run,  # noqa: F811
    database,
    load_small_grid,
    tmp_path,
    text,
    needle,
):
    worker = run("workers", "add", "王网格").output.split()[-1]
    good = f"{worker},2026-01-02T08:00+08:00,2026-01-02T16:00+08:00\n"
    roster = tmp_path / "roster.csv"
    lines = text.replace("WID", worker).splitlines(keepends=True)
    roster.write_text("".join([lines[0], good, *lines[1:]]), encoding="utf-8")
    result = run("workers", "duty", "import", roster)
    assert result.exit_code == 1 and needle in result.output, result.output
    assert "王网格" not in run("workers", "duty", "list", "--all").output  # nothing stored


def test_a_hotline_import_prints_its_counts_in_both_languages_and_is_listed(
    run,  # noqa: F811
    load_small_grid,
    tmp_path,
):
    assert run("issues", "imports").output.strip() == "no imports yet / 尚无导入记录"
    assert run("categories", "load", "cn").exit_code == 0
    export = tmp_path / "hotline.csv"
    export.write_text(
        "id,type,created,x,y\n"
        f"H1,E0101,2026-03-02T09:00:00+08:00,{X0 + STEP / 2},{Y0 + STEP / 4}\n"
        f"H2,E0101,2026-03-02T09:05:00+08:00,,\n"
        f"H3,no such type,2026-03-02T09:05:00+08:00,{X0 + STEP / 2},{Y0 + STEP / 4}\n",
        encoding="utf-8",
    )
    mapping = ("id=external_id", "type=category", "created=reported_at", "x=lon", "y=lat")
    args = [a for pair in mapping for a in ("--map", pair)]
    first = run("issues", "import", export, *args, "--source", "12345")
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0].startswith("import ") and lines[0].endswith(
        "3 rows: 1 imported, 0 already imported, 2 rejected / 导入批次 "
        + lines[0].split()[1].rstrip(":")
        + "：共 3 行，新导入 1 行，已导入过 0 行，拒收 2 行"
    )
    assert "  rejected (missing_coordinates): 1 / 拒收（missing_coordinates）：1" in lines
    assert "  routed to triage: 1 / 派往 triage：1" in lines
    again = run("issues", "import", export, *args, "--source", "12345")
    assert "1 already imported" in again.output
    listing = run("issues", "imports").output.splitlines()
    assert listing[0].startswith("import ") and "12345  hotline.csv" in listing[0]
    assert "0 imported, 1 already imported, 2 rejected" in listing[0]
    assert sum(line.startswith("import ") for line in listing) == 2


def test_a_hotline_import_takes_the_coordinate_system_of_its_columns(
    run,  # noqa: F811
    database,
    load_small_grid,
    tmp_path,
):
    assert run("categories", "load", "cn").exit_code == 0
    x, y = wgs84_to_gcj02(np.array([X0 + STEP / 2]), np.array([Y0 + STEP / 4]))
    export = tmp_path / "amap.csv"
    export.write_text(
        f"id,type,created,x,y\nG1,E0101,2026-03-02T09:00:00+08:00,{x[0]:.9f},{y[0]:.9f}\n",
        encoding="utf-8",
    )
    mapping = ("id=external_id", "type=category", "created=reported_at", "x=lon", "y=lat")
    args = [a for pair in mapping for a in ("--map", pair)]
    wrong = run("issues", "import", export, *args, "--coord-type", "gcj")
    assert wrong.exit_code == 1
    assert "coord_type 'gcj' is unknown; use one of: wgs84, gcj02, bd09, cgcs2000" in wrong.output
    assert "坐标类型 'gcj' 未知" in wrong.output
    done = run("issues", "import", export, *args, "--coord-type", "gcj02")
    assert done.exit_code == 0 and "1 imported" in done.output, done.output
    with database.connection() as conn:
        row = conn.execute("SELECT ST_X(geom), ST_Y(geom), input_coord_type FROM issue").fetchone()
    assert row == (
        pytest.approx(X0 + STEP / 2, abs=1e-7),
        pytest.approx(Y0 + STEP / 4, abs=1e-7),
        "gcj02",
    )
