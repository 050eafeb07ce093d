"""Grid workers: registration, assignment to cells, one current primary, public view."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gridmap.app import create_app
from gridmap.cli import main
from gridmap.errors import InputError, NotFoundError
from gridmap.services.workers import add_worker, assign_worker, list_workers

pytestmark = pytest.mark.db


def test_assign_primary_and_backup(database, settings, load_small_grid):
    li = add_worker(database, name="李娜", phone="13800000000", department="新街口街道")
    wang = add_worker(database, name="王强")
    assign_worker(database, settings, li, "320101001")
    result = assign_worker(database, settings, wang, "320101001", role="backup")
    assert [(w["name"], w["role"]) for w in result["workers"]] == [
        ("李娜", "primary"),
        ("王强", "backup"),
    ]
    # a new primary ends the old one's assignment (history kept), backup stays
    result = assign_worker(database, settings, wang, "320101001", role="primary")
    assert [(w["name"], w["role"]) for w in result["workers"]] == [
        ("王强", "primary"),
        ("王强", "backup"),
    ]
    with database.connection() as conn:
        ended = conn.execute(
            "SELECT count(*) FROM worker_assignment WHERE valid_to IS NOT NULL"
        ).fetchone()[0]
    assert ended == 1
    assert {w["name"] for w in list_workers(database)} == {"李娜", "王强"}


def test_assignment_errors(database, settings, load_small_grid):
    worker = add_worker(database, name="赵敏")
    with pytest.raises(NotFoundError, match="no unit with code"):
        assign_worker(database, settings, worker, "nope")
    with pytest.raises(NotFoundError, match="no worker 999"):
        assign_worker(database, settings, 999, "320101001")
    with pytest.raises(InputError, match="role"):
        assign_worker(database, settings, worker, "320101001", role="boss")


def test_api_shows_workers_without_phone(settings, database, load_small_grid):
    worker = add_worker(database, name="李娜", phone="13800000000")
    assign_worker(database, settings, worker, "320101001")
    body = (
        create_app(settings, database=database)
        .test_client()
        .get("/api/v1/units/320101001")
        .get_json()
    )
    assert body["properties"]["workers"] == [
        {"id": worker, "name": "李娜", "department": None, "role": "primary"}
    ]
    assert "13800000000" not in str(body)


def test_cli(env, load_small_grid):
    runner = CliRunner()
    added = runner.invoke(main, ["workers", "add", "李娜", "--phone", "138"], env=env)
    worker_id = added.output.split()[-1]
    assigned = runner.invoke(main, ["workers", "assign", worker_id, "320102002"], env=env)
    assert assigned.exit_code == 0, assigned.output
    assert assigned.output.strip() == "cell 320102002: 李娜 (primary)"
    assert "320102002 (primary)" in runner.invoke(main, ["workers", "list"], env=env).output
