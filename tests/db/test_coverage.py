"""Service-circle coverage end to end on real PostGIS with the real Nanjing and Midtown data."""

from __future__ import annotations

import csv
import json
import re

import networkx as nx
import numpy as np
import psycopg
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from gridmap.analysis import isochrones as iso
from gridmap.cli import main
from gridmap.config import Settings
from gridmap.domain.levels import Hierarchy
from gridmap.errors import InputError, NotFoundError
from gridmap.services import coverage as cov
from gridmap.services import facilities as facility_service
from gridmap.services import networks as network_service
from gridmap.services.boundaries import import_boundaries
from gridmap.store.db import Database
from tests.conftest import REPO

pytestmark = pytest.mark.db

NANJING = REPO / "data" / "nanjing"
NYC = REPO / "data" / "nyc"
NANJING_OSM = NANJING / "nanjing_xinjiekou_overpass_2021-06-12.osm"
NANJING_FACILITIES = NANJING / "nanjing_xinjiekou_osm_service_facilities.geojson"


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_nanjing_cli_end_to_end(env, load_small_grid, tmp_path):
    """The planner's whole path through the CLI, with the synthetic grid over 新街口."""
    runner = CliRunner()

    def ok(*args: str) -> str:
        result = runner.invoke(main, ["coverage", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    out = ok("network", "import", str(NANJING_OSM), "--name", "xjk")
    assert "largest component" in out and "1277 buildings" in out
    assert "xjk" in ok("network", "list")
    out = ok("facilities", "import", str(NANJING_FACILITIES), "--name", "services")
    assert "39 facilities" in out and "school=" in out
    out = ok("run", "--network", "xjk", "--facilities", "services", "--minutes", "5,10,15")
    run_id = last_line(out).split()[-1]
    assert last_line(out) == f"run {run_id}"
    assert "within 15 min" in out and "area" in out
    shown = ok("show", run_id)
    assert "[done 100%]" in shown and "cell" in shown and "320101001" in shown
    assert run_id in ok("list")

    nodes_csv = tmp_path / "nodes.csv"
    ok("export", run_id, "--out", str(nodes_csv))
    with nodes_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["osm_node_id", "lon", "lat", "minutes"]
    minutes = np.array([float(r["minutes"]) for r in rows if r["minutes"]])
    assert len(rows) > 1500 and 0 <= minutes.min() < 1 and minutes.max() > 5
    units_csv = tmp_path / "units.csv"
    ok("export", run_id, "--out", str(units_csv), "--layer", "units")
    with units_csv.open() as fh:
        units = list(csv.DictReader(fh))
    assert {"level", "code", "minutes", "covered_area_m2", "covered_population"} <= set(units[0])
    assert {u["minutes"] for u in units} == {"5", "10", "15"} and len(units) % 3 == 0
    gpkg = tmp_path / "run.gpkg"
    ok("export", run_id, "--out", str(gpkg))
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert layers == {"bands", "uncovered", "units", "nodes"}
    geojson = tmp_path / "bands.geojson"
    ok("export", run_id, "--out", str(geojson))
    features = json.loads(geojson.read_text())["features"]
    assert {(f["properties"]["kind"], f["properties"]["minutes"]) for f in features} == {
        (kind, m) for kind in ("band", "uncovered") for m in (5, 10, 15)
    }
    bad = runner.invoke(
        main, ["coverage", "export", run_id, "--out", str(tmp_path / "x.shp")], env=env
    )
    assert bad.exit_code == 1 and "x.shp" in bad.output and "只能导出" in bad.output

    out = ok("whatif", run_id, "--add", "118.7700,32.0300")
    assert "within 15 min" in out
    saved = last_line(ok("whatif", run_id, "--add", "118.7700,32.0300", "--save")).split()[-1]
    compared = ok("compare", run_id, saved, "--level", "cell")
    assert f"base  run {run_id}" in compared and f"other run {saved}" in compared
    changes = [float(c) for c in re.findall(r"area \S+ -> \S+ \(([-+][\d.]+)%\)", compared)]
    assert changes and min(changes) >= 0  # adding a facility never lowers coverage
    out = ok("suggest", run_id, "--k", "3", "--minutes", "5")
    sites = [line.split() for line in out.strip().splitlines()]
    assert [s[0] for s in sites] == ["1", "2", "3"]
    uplifts = [float(s[2].lstrip("+")) for s in sites]
    assert uplifts == sorted(uplifts, reverse=True) and uplifts[0] > 0


def test_errors_are_bilingual_and_name_the_thing(env, database, settings, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        main, ["coverage", "run", "--network", "nope", "--facilities", "x"], env=env
    )
    assert result.exit_code == 1 and "no network 'nope'" in result.output
    assert "不存在路网" in result.output
    result = runner.invoke(
        main,
        ["coverage", "run", "--network", "n", "--facilities", "x", "--minutes", "5,x"],
        env=env,
    )
    assert result.exit_code == 1 and "5,x" in result.output
    network_service.import_network(database, settings, NANJING_OSM, name="xjk")
    with pytest.raises(InputError, match="already exists"):
        network_service.import_network(database, settings, NANJING_OSM, name="xjk")
    # a facility in the countryside, 8 km away: reported, not snapped; nothing else -> fails
    far = tmp_path / "far.csv"
    far.write_text("name,lon,lat\n远郊驿站,118.70,32.00\n")
    facility_service.import_facilities(database, far, name="far")
    with pytest.raises(InputError, match="no facility lies within 150 m") as info:
        cov.run_coverage(database, settings, network="xjk", facilities="far", minutes=[15])
    with database.connection() as conn:
        state, error = conn.execute(
            "SELECT state, error FROM coverage_run ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert state == "failed" and "150 m" in error and "路网" in str(info.value)
    both = tmp_path / "both.csv"
    both.write_text("name,lon,lat\n远郊驿站,118.70,32.00\n新街口,118.7785,32.0451\n")
    facility_service.import_facilities(database, both, name="both")
    result = cov.run_coverage(database, settings, network="xjk", facilities="both", minutes=[15])
    warning = next(w for w in result.warnings if w["key"] == "facility_too_far")
    assert warning["params"]["name"] == "远郊驿站" and result.summary["facilities_snapped"] == 1
    line = tmp_path / "line.geojson"
    line.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"A"},'
        '"geometry":{"type":"LineString","coordinates":[[118.77,32.04],[118.78,32.04]]}}]}'
    )
    with pytest.raises(InputError, match="feature 0 \\(A\\) is a"):
        facility_service.import_facilities(database, line, name="line")
    with pytest.raises(NotFoundError, match="no coverage run 999"):
        cov.get_run(database, 999)


def test_stored_graph_matches_networkx_dijkstra(database, settings):
    """Per-node times of a stored run equal NetworkX Dijkstra on the graph as stored."""
    network_service.import_network(database, settings, NANJING_OSM, name="xjk")
    facility_service.import_facilities(database, NANJING_FACILITIES, name="services")
    result = cov.run_coverage(
        database, settings, network="xjk", facilities="services", minutes=[15]
    )
    with database.connection() as conn:
        edges = conn.execute(
            "SELECT e.source, e.target, e.length_m FROM network_edge e JOIN network n "
            "ON n.id = e.network_id WHERE n.name = 'xjk'"
        ).fetchall()
        stored = dict(
            conn.execute(
                "SELECT node_idx, minutes FROM coverage_node_time WHERE run_id = %s",
                (result.run_id,),
            ).fetchall()
        )
        facilities = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM coverage_run_facility WHERE run_id = %s "
            "AND snapped",
            (result.run_id,),
        ).fetchall()
    graph = nx.Graph()
    graph.add_weighted_edges_from(edges)
    # the same facilities, attached as virtual nodes from their snap on the stored network
    _, network = network_service.load_network(database, "xjk")
    x, y = network.to_metric(
        np.array([f[0] for f in facilities]), np.array([f[1] for f in facilities])
    )
    snap = iso.snap_geometries(network, np.asarray(shapely.points(x, y)), max_m=150)
    sources = iso.sources_from_snap(network, snap)
    for i in range(len(sources)):
        graph.add_edge(("f", i), int(sources.node_a[i]), weight=float(sources.cost_a_m[i]))
        if sources.node_b[i] != sources.node_a[i]:
            graph.add_edge(("f", i), int(sources.node_b[i]), weight=float(sources.cost_b_m[i]))
    reference = nx.multi_source_dijkstra_path_length(graph, [("f", i) for i in range(len(sources))])
    per_minute = iso.metres_per_minute(settings.walk_speed_kmh)
    checked = 0
    for node, minutes in stored.items():
        if minutes is None:
            assert node not in reference
            continue
        assert minutes == pytest.approx(reference[node] / per_minute, abs=1e-3)  # real column
        checked += 1
    assert checked > 1000


def test_osm_tag_facilities_stored_progress_and_candidate_file(
    database, settings, db_url, tmp_path
):
    """Facilities straight from the extract's OSM tags; the run's progress is on its row, in
    order, for another session (a web page polling a background job) to read while it runs;
    suggest picks from a file of candidate sites."""
    network_service.import_network(database, settings, NANJING_OSM, name="xjk")
    report = facility_service.import_facilities(
        database, NANJING_OSM, name="amenities", type_field="amenity"
    )
    assert report.facilities > 39 and report.types.get("school", 0) > 0
    polled: list[tuple[str, float, str]] = []

    def poll(fraction: float, stage: str) -> None:
        with psycopg.connect(db_url) as other:
            state, progress, stored_stage = other.execute(
                "SELECT state, progress, stage FROM coverage_run ORDER BY id DESC LIMIT 1"
            ).fetchone()
        assert progress == pytest.approx(fraction) and stored_stage in (stage, "done")
        polled.append((state, progress, stored_stage))

    result = cov.run_coverage(
        database, settings, network="xjk", facilities="amenities", minutes=[5, 15], progress=poll
    )
    assert [p[2] for p in polled] == ["load", "snap", "bands", "units", "save", "done"]
    assert [p[1] for p in polled] == sorted(p[1] for p in polled)
    assert {p[0] for p in polled[:-1]} == {"running"} and polled[-1] == ("done", 1.0, "done")
    assert result.summary["facilities_snapped"] == report.facilities

    candidates = tmp_path / "sites.csv"
    candidates.write_text(
        "name,lon,lat\n北门,118.7790,32.0520\n南门,118.7800,32.0400\n远郊,118.60,31.90\n"
    )
    sites = cov.suggest_sites(
        database, settings, result.run_id, k=2, candidates=candidates, minutes=3
    )
    assert [s.rank for s in sites] == [1, 2]
    assert {s.label for s in sites} <= {"北门", "南门"}  # 远郊 is too far to snap: left out
    assert all(s.node_osm_id is None for s in sites)
    assert sites[0].uplift >= sites[1].uplift > 0


NYC_LEVELS = "district:Community district:社区"


@pytest.fixture
def nyc(db_url) -> tuple[Database, Settings]:
    settings = Settings(database_url=db_url, levels=Hierarchy.parse(NYC_LEVELS))
    with Database(db_url, max_size=4) as db:
        import_boundaries(
            db,
            settings,
            NYC / "community_districts.geojson",
            level="district",
            code_field="geography_value",
            name_field="name",
            commit=True,
            activate=True,
        )
        network_service.import_network(
            db, settings, NYC / "midtown_manhattan.osm.pbf", name="midtown"
        )
        facility_service.import_facilities(
            db, NYC / "midtown_osm_service_facilities.geojson", name="midtown"
        )
        yield db, settings


def test_midtown_end_to_end_with_population(nyc):
    db, settings = nyc
    result = cov.run_coverage(
        db,
        settings,
        network="midtown",
        facilities="midtown",
        minutes=[5, 10, 15],
        population_file=NYC / "cd_demographics_acs2023.csv",
        population_level="district",
    )
    summary = result.summary
    assert summary["facilities"] == 250 and summary["facilities_snapped"] == 250
    missing = next(w for w in result.warnings if w["key"] == "population_missing")
    assert "MANHATTAN 05" in missing["params"]["codes"]  # no ACS row for CD 5: reported
    table = result.units.set_index(["code", "minutes"])
    cd4 = table.loc["MANHATTAN 04"]
    # CD 4 (Chelsea/Clinton) is cut by the extract: only its share inside is spread
    assert 0 < cd4.loc[15, "population"] < 116_457
    assert cd4.loc[5, "covered_population"] <= cd4.loc[10, "covered_population"]
    assert cd4.loc[10, "covered_population"] <= cd4.loc[15, "covered_population"]
    for column in ("covered_area_m2", "covered_buildings"):
        by_band = result.units.pivot_table(index="code", columns="minutes", values=column)
        assert (by_band[5] <= by_band[10]).all() and (by_band[10] <= by_band[15]).all()
    assert (result.units["covered_buildings"] <= result.units["buildings"]).all()
    assert summary["population_share"] > 0.85 and summary["target_met"]
    run = cov.get_run(db, result.run_id)
    assert run["state"] == "done" and run["progress"] == 1
    # bands stored as polygons that follow the streets: nested and smaller than the extent
    with db.connection() as conn:
        areas = dict(
            conn.execute(
                "SELECT minutes, area_m2 FROM coverage_band WHERE run_id = %s AND kind = 'band'",
                (result.run_id,),
            ).fetchall()
        )
        nested = conn.execute(
            """
            -- reprojection rounding only (~0.006 m2); with facilities on nodes, polygonal caps
            -- stuck out by 0.17 m2 when each band was buffered apart
            SELECT bool_and(ST_Area(ST_Difference(a.geom, b.geom)::geography) < 0.05)
            FROM coverage_band a JOIN coverage_band b ON a.run_id = b.run_id
            WHERE a.run_id = %s AND a.kind = 'band' AND b.kind = 'band' AND a.minutes < b.minutes
            """,
            (result.run_id,),
        ).fetchone()[0]
    assert areas[5] < areas[10] <= areas[15] and nested

    # what-if: removing every facility in CD 4 never raises coverage, and costs < 1 s here
    session = cov.session_for_run(db, settings, run)
    from gridmap.store import coverage as coverage_store

    with db.connection() as conn:
        _, rows = coverage_store.load_facilities(conn, "midtown")
    west = [r[0] for r in rows if r[5] < -73.99]
    base = session.unit_table(session.node_distances(cov.facilities_for(session, rows)), [5])
    fewer = session.unit_table(
        session.node_distances(cov.facilities_for(session, rows, remove=west)), [5]
    )
    merged = base.merge(fewer, on=["level", "code", "minutes"], suffixes=("", "_w"))
    assert (merged["covered_area_m2_w"] <= merged["covered_area_m2"] + 1e-6).all()
    assert (merged["covered_area_m2_w"] < merged["covered_area_m2"]).any()

    sites = cov.suggest_sites(db, settings, result.run_id, k=3, minutes=5, session=session)
    assert len(sites) == 3 and sites[0].uplift >= sites[1].uplift >= sites[2].uplift > 0


def test_run_demo_nanjing(database, settings):
    result = cov.run_demo_nanjing(database, settings, REPO / "data")
    again = cov.run_demo_nanjing(database, settings, REPO / "data")  # imports only once
    assert again.run_id == result.run_id + 1
    assert 0 < result.summary["area_share"] < 1
    assert result.summary["facilities_snapped"] == 39
