"""Benchmark gridmap's hotline import (``gridmap issues import FILE --format la311``) against a
plain ``COPY`` of the same file, in one run.

What it measures
----------------
A 100,000-row MyLA311 export (``--rows``) goes through the real
``gridmap.services.hotline.import_issues``: read and parsed, located in the unit index, routed
(workers on duty, departments by the responsibility table, triage), given its deadlines and
stored (the import's record, its routes: the first event and routing decision shared by the
issues filed alike, its deadline sets, the issues, their placements, rejected rows with the
reason) in one transaction. Side by side: ``COPY`` of the same file into a bare table in the
same database (every column text), the anchor of the goal, and into a typed table with the
request id as primary key (for information). The import's phases are timed with wrappers on
the functions it calls. A second import of the same file must add nothing; it is timed too.
Goal: the import <= 10x the bare ``COPY`` time.

Why
---
A city's hotline sends a day's or a month's export in one file; the issue asks that it be
located, routed and stored in bulk at a small multiple of what merely loading it costs.

Set-up (fixed seed, idempotent): the scratch database named in ``--database-url`` is dropped,
recreated and migrated; the Los Angeles sample's three levels (city, service regions,
Neighborhood Councils; the layers ``make demo`` loads) are imported and activated; the la311
category set is loaded as shipped except that two request types (graffiti, dead animals) are
handled by grid workers, so that routing meets all three targets; workers are assigned to
about two thirds of the councils (primaries, backups, some off duty by their roster) and to a
few regions; two responsibility rules send some requests to another department. The export
is ``--rows`` rows resampled from ``data/los_angeles/la311_2020_sample_10k.csv``: coordinates
jittered by ~150 m, dates spread over 31 days, unique request ids, and about 1 % each of rows
with no coordinates, outside the city, an unknown request type or an unreadable date.

Correctness (non-zero exit status on failure): imported + rejected = rows; every injected bad
row is rejected for its reason; the issue table holds as many rows as were imported, each with
its events, one routing decision and one placement; the second import adds nothing; a sample
(``--sample``) of imported issues holds the unit ``locate_point`` (SQL) gives and its routing
decision row agrees with the issue.

Run: ``.venv/bin/python benchmarks/import_issues.py [--rows 100000] [--repeat 2]
[--sample 500] [--database-url URL]``
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from common import (
    Row,
    Section,
    best_of,
    describe_machine,
    instrumented,
    print_table,
    recreate_database,
    stopwatch,
)

import gridmap.services.hotline as hotline
from gridmap.config import Settings
from gridmap.domain.calendar import deadline_entry
from gridmap.domain.levels import Hierarchy
from gridmap.errors import OutsideError
from gridmap.services import categories as category_service
from gridmap.services import workers as worker_service
from gridmap.services.demo import CITIES, import_sample_layers
from gridmap.services.locate import locate_point
from gridmap.store import hotline as hotline_store
from gridmap.store import units as unit_store
from gridmap.store import workers as worker_store
from gridmap.store.db import Database

DEFAULT_URL = "postgresql://postgres@localhost:5432/gridmap_bench_importbench"
REPO = Path(__file__).resolve().parent.parent
SAMPLE = CITIES["los_angeles"]
SAMPLE_DIR = REPO / "data" / SAMPLE.folder
EXPORT_FORMAT = "la311"
SEED = 20240615
GOAL_RATIO = 10.0  # import <= 10x the bare COPY

GRID_CATEGORIES = ("graffiti", "dead_animal")  # handled by grid workers in this benchmark
JITTER_DEG = 0.0015  # ~150 m standard deviation
DAYS = 31  # dates spread from the sample's first day over a month (no DST change in January)
BAD_SHARE = 0.01  # per kind of bad row
UNKNOWN_TYPES = ("Pothole - Small Asphalt Repair", "Tree Emergency", "Sidewalk Repair")
BAD_DATES = ("", "13/45/20 25:99", "2020-02-30", "yesterday")
DATE_COLUMNS = ("createddate", "updateddate", "servicedate", "closeddate")


# --- set-up ------------------------------------------------------------------------------------


def sample_levels() -> str:
    """GRIDMAP_LEVELS of the LA sample's gridmap.env (read, so the two cannot drift apart)."""
    for line in (SAMPLE_DIR / "gridmap.env").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if name.strip() == "GRIDMAP_LEVELS":
            return shlex.split(value)[0]
    sys.exit(f"no GRIDMAP_LEVELS in {SAMPLE_DIR / 'gridmap.env'}")


def import_grid(db: Database, settings: Settings) -> None:
    """The sample's layers top-down, as ``make demo`` imports them."""
    for layer, report in zip(
        SAMPLE.layers, import_sample_layers(db, settings, SAMPLE, SAMPLE_DIR), strict=True
    ):
        print(f"  {layer.level}: {report.features} units, generation {report.generation}")


def grid_category_set(path: Path) -> Path:
    """The shipped la311 set with GRID_CATEGORIES handled by grid workers (their department
    stays as the one that takes over), written to ``path``."""
    text = (REPO / "data" / "categories" / "la311.toml").read_text(encoding="utf-8")
    blocks = text.split("[[categories]]")
    for i, block in enumerate(blocks[1:], start=1):
        code = block.split('code = "', 1)[1].split('"', 1)[0]
        if code in GRID_CATEGORIES:
            assert 'handler = "department"' in block, code
            blocks[i] = block.replace('handler = "department"', 'handler = "grid"', 1)
    path.write_text("[[categories]]".join(blocks), encoding="utf-8")
    return path


def unit_codes(db: Database, level: str) -> list[str]:
    """Codes of a level's units in the active generation, sorted."""
    with db.connection() as conn:
        generation = unit_store.active_generation(conn)
        assert generation is not None
        return [u[0] for u in unit_store.level_units(conn, generation=generation, level=level)]


def add_workers(db: Database, settings: Settings, rng: np.random.Generator) -> dict[str, int]:
    """Primaries on ~2/3 of the councils, a backup on half of those; a quarter of the
    primaries have a roster that puts them off duty now; a worker on every other region (the
    fallback up the hierarchy). Councils with neither send grid requests to triage."""
    counts = {"council primaries": 0, "backups": 0, "off duty": 0, "region workers": 0}
    now = datetime.now(UTC)
    for code in unit_codes(db, "council"):
        if rng.random() > 2 / 3:
            continue
        primary = worker_service.add_worker(db, name=f"council {code} primary")
        worker_service.assign_worker(db, settings, primary, code, level="council")
        counts["council primaries"] += 1
        off_duty = rng.random() < 0.25
        with db.transaction() as conn:
            start = now - timedelta(hours=20) if off_duty else now - timedelta(hours=2)
            worker_store.add_duties(conn, [(primary, start, start + timedelta(hours=10))])
        counts["off duty"] += off_duty
        if rng.random() < 0.5:
            backup = worker_service.add_worker(db, name=f"council {code} backup")
            worker_service.assign_worker(db, settings, backup, code, level="council", role="backup")
            counts["backups"] += 1
    for code in unit_codes(db, "region")[::2]:
        worker = worker_service.add_worker(db, name=f"region {code} duty officer")
        worker_service.assign_worker(db, settings, worker, code, level="region")
        counts["region workers"] += 1
    return counts


def add_rules(db: Database, settings: Settings) -> None:
    """A region where bulky items go to LASAN, and a council where the 'general requests'
    major class goes to street services: the most specific rule wins over the default."""
    region = unit_codes(db, "region")[0]
    council = unit_codes(db, "council")[0]
    category_service.add_responsibility(
        db, settings, department="LASAN", category="bulky_items", unit_code=region
    )
    category_service.add_responsibility(
        db, settings, department="BSS", major="05", unit_code=council
    )


def make_export(path: Path, rows: int, rng: np.random.Generator) -> pd.Series:
    """``rows`` LA 311 rows resampled from the sample (as text, the file's own format); return
    the reason each injected bad row must be rejected for ('' for the others)."""
    sample = pd.read_csv(SAMPLE_DIR / SAMPLE.points, dtype=str, keep_default_na=False)
    frame = sample.iloc[rng.integers(0, len(sample), rows)].reset_index(drop=True)
    frame["srnumber"] = "1-" + pd.Series(np.arange(rows) + 1_600_000_001).astype(str)

    lat = pd.to_numeric(frame["latitude"], errors="coerce").to_numpy()
    lon = pd.to_numeric(frame["longitude"], errors="coerce").to_numpy()
    has = np.isfinite(lat) & np.isfinite(lon) & (lat != 0)
    lat = lat + rng.normal(0, JITTER_DEG, rows)
    lon = lon + rng.normal(0, JITTER_DEG, rows)
    frame.loc[has, "latitude"] = np.char.mod("%.8f", lat[has])
    frame.loc[has, "longitude"] = np.char.mod("%.7f", lon[has])

    # every date of a row moves by the same shift, so that a request is still closed after
    # it was created (an import rejects a closing date before the report as a bad date)
    shift = pd.to_timedelta(rng.integers(0, DAYS, rows), unit="D") + pd.to_timedelta(
        rng.integers(-30, 31, rows), unit="min"
    )
    for column in DATE_COLUMNS:
        stamps = pd.to_datetime(frame[column], format="%m/%d/%y %H:%M", errors="coerce") + shift
        # the export's own style: no leading zeros (1/9/20 7:05); blank stays blank
        frame[column] = (
            (
                stamps.dt.month.astype("Int64").astype(str)
                + "/"
                + stamps.dt.day.astype("Int64").astype(str)
                + "/"
                + stamps.dt.strftime("%y")
                + " "
                + stamps.dt.hour.astype("Int64").astype(str)
                + stamps.dt.strftime(":%M")
            )
            .where(stamps.notna(), "")
            .astype(object)
        )

    expected = pd.Series("", index=frame.index, dtype=object)
    kinds = rng.choice(5, rows, p=[1 - 4 * BAD_SHARE, *[BAD_SHARE] * 4])
    no_coords = np.flatnonzero(kinds == 1)
    frame.loc[no_coords[::2], ["latitude", "longitude"]] = ""
    frame.loc[no_coords[1::2], ["latitude", "longitude"]] = "0"  # how many exports say "none"
    expected[no_coords] = "missing_coordinates"
    outside = np.flatnonzero((kinds == 2) & has)  # Nevada: far from every unit
    frame.loc[outside, "latitude"] = np.char.mod("%.8f", lat[outside] + 2.0)
    expected[outside] = "outside"
    unknown = np.flatnonzero(kinds == 3)
    frame.loc[unknown, "requesttype"] = rng.choice(UNKNOWN_TYPES, len(unknown))
    expected[unknown] = "unknown_category"
    bad_date = np.flatnonzero(kinds == 4)
    frame.loc[bad_date, "createddate"] = rng.choice(BAD_DATES, len(bad_date))
    expected[bad_date] = "bad_date"
    frame.to_csv(path, index=False)
    return expected


# --- anchors: COPY of the same file ------------------------------------------------------------


def copy_file(db: Database, path: Path, table: str, columns: list[str], *, typed: bool) -> float:
    """COPY the file as it is (CSV with header) into a fresh table; seconds, commit included.
    Typed: coordinates as double precision, the request id as primary key (what a loader
    that refuses duplicates would build); otherwise every column text."""
    types = {"latitude": "double precision", "longitude": "double precision"}
    cols = ", ".join(
        f'"{c}" {types.get(c, "text") if typed else "text"}'
        + (" PRIMARY KEY" if typed and c == "srnumber" else "")
        for c in columns
    )
    with db.transaction() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({cols})")
    timings: dict[str, float] = {}
    statement = f"COPY {table} FROM STDIN (FORMAT csv, HEADER)"
    with (
        stopwatch(timings, "copy"),
        db.transaction() as conn,
        path.open("rb") as source,
        conn.cursor().copy(statement) as copy,
    ):
        while chunk := source.read(1 << 20):
            copy.write(chunk)
    return timings["copy"]


# --- gridmap's import --------------------------------------------------------------------------

# (owner, attribute, key): the functions import_issues calls, timed where it looks them up
PHASES: list[tuple[Any, str, str]] = [
    (hotline, "read_export", "read"),
    (hotline, "parse_rows", "parse"),
    (hotline_store, "known_external_ids", "known"),
    (hotline, "load_unit_index", "index"),
    (hotline, "locate_rows", "locate"),
    (hotline, "route_groups", "route"),
    (hotline, "deadlines_for", "deadlines"),
    (hotline, "issue_batch", "batch"),
    (hotline_store, "reserve_ids", "reserve"),
    (hotline_store, "issue_tables", "tables"),
    (hotline_store, "store_issues", "store"),
    (hotline, "wait_for_writes", "wait"),
    (hotline_store, "copy_rejected_in", "rejected"),
]
PHASE_LABELS = {
    "read": "1 read CSV (pandas, text)",
    "index": "1b load_unit_index",
    "parse": "2 map columns, categories, dates, ids, per batch",
    "known": "3 ids imported before (one probe per id), per batch",
    "locate": "4 locate (UnitIndex, coordinates), per batch",
    "batch": "5 route, deadlines, ids, CSV of 5 tables, per batch",
    "route": "  of which route (decide per group)",
    "deadlines": "  of which deadlines (working calendar)",
    "reserve": "  reserve issue and placement ids (side thread, overlaps 4-5)",
    "tables": "  of which rows of 5 tables as CSV",
    "wait": "6 wait for the writer after the last batch",
    "store": "writer thread: COPY 5 tables per batch (overlaps 4-6)",
    "rejected": "7 rejected rows (COPY + INSERT)",
    "commit": "8 commit",
}


# phases inside another one, or in the writer thread while the main thread's run: not in
# the sum of the main thread's phases
NESTED = {"route", "deadlines", "reserve", "tables", "store"}


@contextmanager
def commit_timer(timings: dict[str, float]) -> Iterator[None]:
    """Time the commit of every ``Database.transaction`` block: from the end of the block's
    body to the end of its exit (COMMIT and the connection's return to the pool)."""
    original = Database.transaction

    @contextmanager
    def timed(self: Database, **kwargs: Any) -> Iterator[psycopg.Connection]:
        with original(self, **kwargs) as conn:
            yield conn
            start = time.perf_counter()  # the body is done; leaving the block commits
        timings["commit"] = timings.get("commit", 0.0) + time.perf_counter() - start

    Database.transaction = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        Database.transaction = original  # type: ignore[method-assign]


def timed_import(
    db: Database, settings: Settings, path: Path
) -> tuple[dict[str, float], hotline.ImportReport]:
    timings: dict[str, float] = {key: 0.0 for _, _, key in PHASES}
    timings["commit"] = 0.0
    with instrumented(timings, PHASES), commit_timer(timings), stopwatch(timings, "end_to_end"):
        report = hotline.import_issues(db, settings, path, export_format=EXPORT_FORMAT)
    return timings, report


def clear_issues(db: Database) -> None:
    """Back to no issues at all, so that every repeated first import does the same work."""
    with db.transaction() as conn:
        conn.execute(
            "TRUNCATE issue, issue_event, routing_decision, issue_rejected, placement_unit, "
            "placement, issue_import_route, issue_import_deadlines, issue_import "
            "RESTART IDENTITY CASCADE"
        )
    analyze(db)


def analyze(db: Database) -> None:
    """Statistics for the planner: without them the checks' joins over 100,000 fresh rows
    took minutes (nested loops)."""
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(
            "VACUUM ANALYZE issue, issue_event, routing_decision, placement, placement_unit, "
            "issue_import, issue_import_route, issue_import_deadlines"
        )


def phase_rows(t: dict[str, float], anchor: float, *, goal: bool) -> list[Row]:
    pieces = sum(t[key] for key in PHASE_LABELS if key not in NESTED)
    rows = [
        Row(
            "import_issues end to end",
            t["end_to_end"],
            "bare COPY (text)",
            anchor,
            f"<= {GOAL_RATIO:g}x" if goal else "",
            t["end_to_end"] <= GOAL_RATIO * anchor if goal else None,
        )
    ]
    rows += [Row(label, t[key], "bare COPY (text)", anchor) for key, label in PHASE_LABELS.items()]
    rows.append(Row("rest (taxonomy, report, bookkeeping)", t["end_to_end"] - pieces))
    return rows


# --- correctness -------------------------------------------------------------------------------


def check_counts(
    db: Database, report: hotline.ImportReport, rows: int, expected: pd.Series, path: Path
) -> list[str]:
    problems: list[str] = []
    rejected = sum(report.rejected.values())
    print(
        f"  imported {report.imported:,}, already there {report.already_imported:,}, rejected "
        f"{rejected:,} {dict(report.rejected)}; routed {dict(report.targets)}"
    )
    if report.imported + report.already_imported + rejected != rows:
        problems.append(f"imported + rejected = {report.imported + rejected:,}, not {rows:,}")
    with db.connection() as conn:
        counts = conn.execute(
            """
            SELECT (SELECT count(*) FROM issue WHERE external_source = %(s)s),
                   (SELECT count(*) FROM issue_event_history e JOIN issue i ON i.id = e.issue_id
                    WHERE i.external_source = %(s)s),
                   (SELECT count(DISTINCT d.issue_id) FROM routing_decision_history d
                    JOIN issue i ON i.id = d.issue_id WHERE i.external_source = %(s)s),
                   (SELECT count(*) FROM placement p JOIN issue i ON i.id = p.subject_id
                    JOIN placement_unit u ON u.placement_id = p.id
                    WHERE p.subject = 'issue' AND i.external_source = %(s)s),
                   (SELECT count(*) FROM issue_rejected WHERE source = %(s)s),
                   (SELECT count(*) FROM issue i
                    LEFT JOIN issue_import_deadlines dl ON dl.import_id = i.import_id
                        AND dl.deadline_set = i.import_deadline_set
                    WHERE i.external_source = %(s)s AND (i.due_at IS NULL
                        OR coalesce(i.deadlines, dl.deadlines, '[]'::jsonb) = '[]'::jsonb))
            """,
            {"s": EXPORT_FORMAT},
        ).fetchone()
        assert counts is not None
        issues, events, decided, placed, stored_rejected, no_deadline = map(int, counts)
        stored = dict(
            conn.execute(
                "SELECT external_id, reason FROM issue_rejected WHERE source = %s",
                (EXPORT_FORMAT,),
            ).fetchall()
        )
    print(
        f"  stored: {issues:,} issues, {events:,} events, {decided:,} with a decision, "
        f"{placed:,} placed, {stored_rejected:,} rejected rows"
    )
    if issues != report.imported:
        problems.append(f"{issues:,} issues stored, {report.imported:,} reported imported")
    if decided != issues or placed != issues:
        problems.append(f"{decided:,} decided and {placed:,} placed of {issues:,} issues")
    if events != issues:
        problems.append(f"{events:,} events for {issues:,} issues (one each)")
    if stored_rejected != rejected:
        problems.append(f"{stored_rejected:,} rejected rows stored, {rejected:,} reported")
    if no_deadline:
        problems.append(f"{no_deadline:,} issues without deadlines")
    ids = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=["srnumber"])["srnumber"]
    injected = expected != ""
    got = ids[injected].map(stored).fillna("imported")
    wrong = int((got != expected[injected]).sum())
    print(f"  injected bad rows: {int(injected.sum()):,}, rejected for another reason: {wrong}")
    if wrong:
        problems.append(f"{wrong} injected bad rows not rejected for their reason")
    return problems


def check_sample(
    db: Database, settings: Settings, size: int, rng: np.random.Generator
) -> list[str]:
    """Imported issues hold the unit locate_point gives; their decision row matches."""
    problems: list[str] = []
    with db.connection() as conn:
        rows = conn.execute(
            """
            SELECT i.id, i.input_lon, i.input_lat, i.unit_level, i.unit_code, i.target_kind,
                   i.worker_id, i.department_code, d.target_kind, d.worker_id,
                   d.department_code, d.unit_code, jsonb_array_length(d.steps),
                   i.category_code, i.reported_at, i.due_at,
                   coalesce(i.deadlines, dl.deadlines)
            FROM issue i LEFT JOIN routing_decision_history d ON d.issue_id = i.id
            LEFT JOIN issue_import_deadlines dl ON dl.import_id = i.import_id
                AND dl.deadline_set = i.import_deadline_set
            WHERE i.external_source = %s ORDER BY i.id
            """,
            (EXPORT_FORMAT,),
        ).fetchall()
    if not rows:
        return ["no imported issues to check"]
    taxonomy = category_service.current_taxonomy(db)
    picked = rng.choice(len(rows), min(size, len(rows)), replace=False)
    differ = no_decision = late = 0
    for i in picked.tolist():
        _id, lon, lat, level, code, kind, worker, dept, d_kind, d_worker, d_dept, d_code, n = rows[
            i
        ][:13]
        category, reported_at, due_at, stages = rows[i][13:]
        # deadlines as intake computes them, one issue at a time
        limits = taxonomy.categories.category(category).time_limits
        expected = taxonomy.calendar.deadlines(reported_at, limits)
        late += due_at != max(d for _, d in expected) or stages != [
            deadline_entry(limit, d) for limit, d in expected
        ]
        placed: tuple[str | None, str | None]
        try:
            deepest = locate_point(db, settings, lon, lat).chain[-1]
            placed = (deepest["level"], deepest["code"])
        except OutsideError:
            placed = (None, None)
        differ += placed != (level, code)
        no_decision += d_kind is None or (d_kind, d_worker, d_dept, d_code) != (
            kind,
            worker,
            dept,
            code,
        )
        no_decision += bool(d_kind is not None and not n)
    print(
        f"  sample of {len(picked)}: {differ} placed differently from locate_point, "
        f"{no_decision} without a matching routing decision, {late} with other deadlines "
        "than intake's calendar gives"
    )
    if late:
        problems.append(f"{late} sampled issues with other deadlines than the calendar's")
    if differ:
        problems.append(f"{differ} sampled issues placed differently from locate_point")
    if no_decision:
        problems.append(f"{no_decision} sampled issues without a matching decision row")
    return problems


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        epilog="The scratch database is dropped and recreated on every run.",
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows (default 100000)")
    parser.add_argument(
        "--repeat", type=int, default=2, help="first imports and COPYs; best shown (default 2)"
    )
    parser.add_argument(
        "--sample", type=int, default=500, help="issues checked by locate_point (default 500)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help=f"scratch database, DROPPED and recreated (default {DEFAULT_URL})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows live
    dbname = str(psycopg.conninfo.conninfo_to_dict(args.database_url).get("dbname") or "")
    if "importbench" not in dbname:
        # recreate_database refuses names without 'bench'; this one also keeps apart from
        # the other benchmarks' databases, which a run here must never drop
        sys.exit(f"refusing to drop database {dbname!r}: its name must contain 'importbench'")
    rng = np.random.default_rng(SEED)
    settings = Settings(database_url=args.database_url, levels=Hierarchy.parse(sample_levels()))
    print(f"set-up: {args.rows:,} {EXPORT_FORMAT} rows, seed {SEED}")
    setup: dict[str, float] = {}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gridmap_bench_") as tmp:
        workdir = Path(tmp)
        export = workdir / "la311_export.csv"
        with stopwatch(setup, "database"):
            recreate_database(args.database_url)
        print(f"  machine: {describe_machine(args.database_url)}")
        with Database(args.database_url) as db:
            with stopwatch(setup, "grid"):
                import_grid(db, settings)
            with stopwatch(setup, "categories"):
                category_set = grid_category_set(workdir / "la311_grid.toml")
                category_service.load_categories(db, settings, str(category_set))
                workers = add_workers(db, settings, rng)
                add_rules(db, settings)
            print(f"  workers: {workers}")
            with stopwatch(setup, "export"):
                expected = make_export(export, args.rows, rng)
            columns = list(pd.read_csv(export, nrows=0).columns)
            print(
                f"  export: {export.stat().st_size / 1e6:.1f} MB, {len(columns)} columns, "
                f"injected {expected[expected != ''].value_counts().to_dict()}"
            )

            bare, typed, firsts = [], [], []
            report = None
            for i in range(max(args.repeat, 1)):
                print(f"  run {i + 1}/{args.repeat}: COPY anchors, then import_issues ...")
                bare.append(copy_file(db, export, "anchor_text", columns, typed=False))
                typed.append(copy_file(db, export, "anchor_typed", columns, typed=True))
                if i:
                    clear_issues(db)
                first, report = timed_import(db, settings, export)
                firsts.append(first)
                print(f"    import {first['end_to_end']:.2f} s, bare COPY {bare[-1]:.2f} s")
            assert report is not None
            problems += check_counts(db, report, args.rows, expected, export)

            print("  second import of the same file ...")
            second, again = timed_import(db, settings, export)
            print(
                f"  second import: {again.imported} new, {again.already_imported:,} already "
                f"there, rejected {sum(again.rejected.values()):,}"
            )
            if again.imported != 0 or again.already_imported != report.imported:
                problems.append(
                    f"second import added {again.imported} (already there "
                    f"{again.already_imported:,} of {report.imported:,})"
                )
            problems += check_counts(db, report, args.rows, expected, export)
            problems += check_sample(db, settings, args.sample, rng)

    anchor = min(bare)
    best = best_of(firsts)
    sections = [
        Section(
            "set-up (informational)",
            [
                Row("drop, create, migrate database", setup["database"]),
                Row("import LA city, regions, councils", setup["grid"]),
                Row("category set, workers, rules", setup["categories"]),
                Row(f"generate and write {args.rows:,} rows", setup["export"]),
            ],
        ),
        Section(
            f"A. anchors: COPY of the same file (best of {len(bare)})",
            [
                Row("COPY into a bare table, all text (anchor)", anchor),
                Row("COPY into a typed table with primary key", min(typed), "bare COPY", anchor),
            ],
        ),
        Section(
            f"B. first import of {args.rows:,} rows (best of {len(firsts)}, phase by phase)",
            phase_rows(best, anchor, goal=True),
        ),
        Section(
            "C. second import of the same file (adds nothing)",
            phase_rows(second, anchor, goal=False),
        ),
    ]
    print()
    print_table(sections)
    print(f"\nend: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if problems:
        print("\nCORRECTNESS FAILURES:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("\ncorrectness checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
