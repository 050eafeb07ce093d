"""Generations: diff in the stored report, activation locates placements per generation
(history derived from the generations), rollback reuses what was computed, and the CLI."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from gridmap.cli import main
from gridmap.errors import NotFoundError
from gridmap.services.boundaries import (
    activate_generation,
    generation_report,
    generations,
    import_boundaries,
    rollback,
)
from gridmap.store import placements as placement_store
from tests.conftest import X0, Y0, square

pytestmark = pytest.mark.db

DISTRICT = {"level": "district", "code_field": "code", "name_field": "name"}


@pytest.fixture
def placed(database, load_small_grid):
    """Three placements: in the west district, in the east district, outside everything."""
    points = pd.DataFrame(
        {
            "subject": "issue",
            "subject_id": [1, 2, 3],
            "lon": [X0 + 0.002, X0 + 0.015, X0 + 0.5],
            "lat": [Y0 + 0.001, Y0 + 0.001, Y0],
            # not located yet; pandas NA as well as None must load as NULL
            "generation": pd.array([None, pd.NA, None], dtype="Int64"),
            "unit_level": [None, pd.NA, None],
            "unit_code": pd.NA,
        }
    )
    with database.transaction() as conn:
        placement_store.copy_placements_in(conn, points)
    return points


def _units_of(database, subject_ids=(1, 2, 3)):
    """subject_id -> unit code in the active generation (None: outside, or no row)."""
    with database.connection() as conn:
        units = {
            i: placement_store.current_unit(conn, subject="issue", subject_id=i)
            for i in subject_ids
        }
    return {i: unit and unit[1] for i, unit in units.items()}


def _unit_rows(database) -> int:
    with database.connection() as conn:
        row = conn.execute("SELECT count(*) FROM placement_unit").fetchone()
    return int(row[0])


def test_activation_relocates_placements_and_keeps_history(database, settings, placed, write_layer):
    current = next(g["id"] for g in generations(database) if g["active"])
    switched = activate_generation(database, settings, current)
    assert (switched.placements, switched.moved) == (3, 2)  # the outside one stays unplaced
    assert _units_of(database) == {1: "320101001", 2: "320102001", 3: None}

    # redraw the districts: the east district now also takes the west one's south-east part
    redrawn = write_layer(
        "districts2",
        [
            {"code": "320101", "name": "西区", "geometry": square(0, 0)},
            {"code": "320102", "name": "东区", "geometry": square(1, 0)},
        ],
    )
    report = import_boundaries(database, settings, redrawn, commit=True, **DISTRICT)
    cells = write_layer(
        "cells2",
        [
            {"code": "320101009", "name": "新网格", "geometry": square(0, 0)},
            {"code": "320102009", "name": "新网格", "geometry": square(1, 0)},
        ],
    )
    report = import_boundaries(
        database,
        settings,
        cells,
        level="cell",
        code_field="code",
        name_field="name",
        commit=True,
        activate=True,
    )
    assert report.activated and report.placements_moved == 2
    assert _units_of(database) == {1: "320101009", 2: "320102009", 3: None}
    with database.connection() as conn:
        history = placement_store.placement_history(conn, subject="issue", subject_id=1)
        outside = placement_store.placement_history(conn, subject="issue", subject_id=3)
    # one row per generation in which the unit changed (the first one included)
    assert history == [
        (current, "cell", "320101001"),
        (report.generation, "cell", "320101009"),
    ]
    assert outside == [(current, None, None)]  # located, outside everything, never changed

    rows = _unit_rows(database)
    assert rows == 6  # 3 placements x the 2 generations activated
    back = rollback(database, settings)
    assert (back.generation, back.moved) == (current, 2)
    assert _units_of(database) == {1: "320101001", 2: "320102001", 3: None}
    assert _unit_rows(database) == rows  # nothing recomputed: the old generation's rows reused


def test_placement_added_later_is_located_on_reactivation(database, settings, placed, write_layer):
    first = next(g["id"] for g in generations(database) if g["active"])
    activate_generation(database, settings, first)
    cells = write_layer(
        "cells2",
        [
            {"code": "320101009", "name": "新网格", "geometry": square(0, 0)},
            {"code": "320102009", "name": "新网格", "geometry": square(1, 0)},
        ],
    )
    second = import_boundaries(
        database, settings, cells, level="cell", code_field="code", name_field="name", commit=True
    ).generation
    assert second is not None
    assert activate_generation(database, settings, second).moved == 2
    assert rollback(database, settings).generation == first

    # placed while the first generation is active, with its unit there: no row in the second
    with database.transaction() as conn:
        placement_store.place(
            conn,
            subject="issue",
            subject_id=4,
            lon=X0 + 0.003,
            lat=Y0 + 0.002,
            generation=first,
            level="cell",
            code="320101001",
        )
    rows = _unit_rows(database)
    switched = activate_generation(database, settings, second)
    assert _unit_rows(database) == rows + 1  # only the new placement was located
    assert (switched.placements, switched.moved) == (4, 3)  # 1 and 2 as before, and 4
    assert _units_of(database, (1, 2, 3, 4)) == {
        1: "320101009",
        2: "320102009",
        3: None,
        4: "320101009",
    }
    with database.connection() as conn:
        assert placement_store.count_moves(conn, before=first, after=second) == 3
        assert placement_store.count_moves(conn, before=second, after=second) == 0


def test_report_has_the_diff(database, settings, small_grid, write_layer):
    # districts alone (no city level): the diff is what is under test, not nesting
    import_boundaries(
        database, settings, small_grid["district"], commit=True, activate=True, **DISTRICT
    )
    changed = write_layer(
        "districts2",
        [
            {"code": "320101", "name": "西区", "geometry": square(0, 0, 1, 1)},  # unchanged
            {
                "code": "320102",
                "name": "东区新",
                "geometry": square(1, 0, 1.5, 1),
            },  # +50 %, renamed
            {"code": "320103", "name": "北区", "geometry": square(0, 1, 2, 1)},  # added
        ],
    )
    report = import_boundaries(database, settings, changed, **DISTRICT)  # dry run
    assert report.diff["added"] == [{"code": "320103", "name": "北区"}]
    assert report.diff["removed"] == []
    [change] = report.diff["changed"]
    assert change["code"] == "320102" and change["renamed"] and change["reshaped"]
    assert change["area_change_pct"] == pytest.approx(50.0, abs=0.1)

    report = import_boundaries(database, settings, changed, commit=True, **DISTRICT)
    stored = generation_report(database, report.generation)
    assert stored["diff"] == report.diff and stored["active_now"] is False
    with pytest.raises(NotFoundError, match="no boundary generation 999"):
        generation_report(database, 999)


def test_rollback_without_history_is_clear(database, settings, city_loaded):
    with pytest.raises(NotFoundError, match="nothing to roll back"):
        rollback(database, settings)


def test_cli_report_activate_rollback(env, database, settings, load_small_grid, write_layer):
    runner = CliRunner()
    run = lambda *a: runner.invoke(main, [str(x) for x in a], env=env)  # noqa: E731
    moved = write_layer(
        "d2",
        [
            {"code": "320101", "name": "西区", "geometry": square(0, 0)},
            {"code": "320102", "name": "东区", "geometry": square(1, 0, 1, 0.5)},
        ],
    )
    imported = run(
        "boundaries",
        "import",
        moved,
        "--level",
        "district",
        "--code-field",
        "code",
        "--name-field",
        "name",
        "--commit",
    )
    assert imported.exit_code == 1  # the shrunken district leaves its cells outside: blocked
    assert "a gap of 52" in imported.output and "inside 3201" in imported.output
    assert "checks:      1 error(s)" in imported.output and "Traceback" not in imported.output
    assert "dry run" not in imported.output
    assert len(generations(database)) == 3  # nothing written
    gens = generations(database)
    newest = gens[-1]["id"]
    text = run("boundaries", "report", newest).output
    assert "units in the new generation" in text and "active now: yes" in text
    assert run("boundaries", "activate", gens[0]["id"]).exit_code == 0
    rolled = run("boundaries", "rollback")
    assert rolled.exit_code == 0 and f"generation {newest} is active" in rolled.output
