"""The `gridmap categories|issues|apikeys` commands end to end on a real database."""

from __future__ import annotations

import pytest

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
