"""The `gridmap` command end to end: import, locate (single and CSV), exit statuses."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridmap.cli import main
from tests.conftest import STEP, X0, Y0

pytestmark = pytest.mark.db


@pytest.fixture
def run(env):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)

    return invoke


def _import(run, path: Path, level: str, *extra: str):
    return run(
        "boundaries",
        "import",
        path,
        "--level",
        level,
        "--code-field",
        "code",
        "--name-field",
        "name",
        *extra,
    )


def test_import_dry_run_then_commit_then_locate(run, small_grid):
    dry = _import(run, small_grid["city"], "city")
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "试运行" in dry.output and "南京市" in dry.output
    assert "no boundary generation is active" in run("locate", X0 + 0.002, Y0 + 0.001).output

    for level in ("city", "district", "cell"):
        result = _import(run, small_grid[level], level, "--commit", "--activate")
        assert result.exit_code == 0, result.output
        assert "(active)" in result.output
    listing = run("boundaries", "list").output.splitlines()
    assert len(listing) == 3 and listing[-1].startswith("*")

    text = run("locate", X0 + 0.002, Y0 + 0.001)
    assert text.exit_code == 0
    assert text.output.splitlines()[:3] == [
        "City         3201             南京市",
        "District     320101           西区",
        "Cell         320101001        网格1-1",
    ]
    as_json = json.loads(run("locate", X0 + 0.002, Y0 + 0.001, "--json").output)
    assert [u["code"] for u in as_json["chain"]] == ["3201", "320101", "320101001"]
    assert as_json["edge_distance_m"] == pytest.approx(110.9, abs=0.5)


def test_outside_and_bad_input_exit_1_with_a_message(run, load_small_grid):
    outside = run("locate", -118.25, 34.05)  # a western (negative) longitude is a value
    assert outside.exit_code == 1
    assert "lies in no unit" in outside.output and "不在" in outside.output
    as_json = run("locate", "-118.25", "34.05", "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.output)["error"] == "point_outside"
    bad = run("locate", "abc", "32")
    assert bad.exit_code == 1 and "lon must be a number" in bad.output
    missing = run(
        "boundaries",
        "import",
        "/nonexistent.shp",
        "--level",
        "city",
        "--code-field",
        "c",
        "--name-field",
        "n",
    )
    assert missing.exit_code == 1 and "/nonexistent.shp: file not found" in missing.output
    assert (
        run(
            "boundaries",
            "import",
            "x.geojson",
            "--level",
            "city",
            "--code-field",
            "c",
            "--name-field",
            "n",
            "--activate",
        ).exit_code
        == 2
    )


def test_bulk_csv(run, load_small_grid, tmp_path):
    source = tmp_path / "points.csv"
    source.write_text(f"id,lon,lat\n1,{X0 + 0.002},{Y0 + 0.001}\n2,,\n3,{X0 + 1},{Y0}\n")
    out = tmp_path / "located.csv"
    result = run("locate", "--csv", source, "--lon-col", "lon", "--lat-col", "lat", "--out", out)
    assert result.exit_code == 0, result.output
    assert "3 rows" in result.output and "missing_coordinates: 1" in result.output
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert rows[1][:12] == [
        "1",
        str(X0 + 0.002),
        str(Y0 + 0.001),
        "3201",
        "南京市",
        "320101",
        "西区",
        "",
        "",
        "",
        "",
        "320101001",
    ]
    assert rows[2][-1] == "missing_coordinates"


def test_installed_console_script(env, load_small_grid):
    """The real `gridmap` executable from the venv, as a user runs it."""
    exe = Path(sys.executable).parent / "gridmap"
    done = subprocess.run(
        [exe, "locate", str(X0 + STEP * 1.5), str(Y0 + 0.001), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["chain"][-1]["code"] == "320102001"
    failed = subprocess.run(
        [exe, "locate", "0", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert failed.returncode == 1 and "lies in no unit" in failed.stderr
    assert "Traceback" not in failed.stderr
