"""Boundary import against real PostGIS: dry run, commit, parents, formats, reprojection."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from gridmap.errors import ConfigError, ImportChecksError, InputError
from gridmap.services.boundaries import activate_generation, generations, import_boundaries
from gridmap.services.locate import locate_point
from gridmap.store.units import level_counts
from tests.conftest import STEP, X0, Y0, import_layer, square

pytestmark = pytest.mark.db


def _count_units(database) -> int:
    with database.connection() as conn:
        return conn.execute("SELECT count(*) FROM admin_unit").fetchone()[0]


def test_dry_run_reports_and_writes_nothing(database, settings, small_grid):
    report = import_boundaries(
        database, settings, small_grid["city"], level="city", code_field="code", name_field="name"
    )
    assert report.committed is False and report.generation is None
    assert report.features == 1 and report.sample_names == ["南京市"]
    assert report.level_counts == {"city": 1}
    assert _count_units(database) == 0
    assert generations(database) == []


def test_commit_activate_and_parents_from_geometry(database, settings, load_small_grid):
    gens = generations(database)
    assert [g["active"] for g in gens] == [False, False, True]
    with database.connection() as conn:
        counts = level_counts(conn, gens[-1]["id"])
        parents = dict(
            conn.execute("SELECT code, parent_code FROM admin_unit WHERE level = 'cell'").fetchall()
        )
        area = conn.execute("SELECT area_m2 FROM admin_unit WHERE code = '320101001'").fetchone()[0]
    assert counts == {"city": 1, "district": 2, "cell": 4}
    assert parents == {
        "320101001": "320101",
        "320101002": "320101",
        "320102001": "320102",
        "320102002": "320102",
    }
    # 0.01 deg x 0.005 deg at 32 N: about 944 m x 554 m
    assert area == pytest.approx(944.6 * 554.4, rel=0.01)


def test_level_without_parent_level_warns(database, settings, small_grid):
    report = import_boundaries(
        database,
        settings,
        small_grid["cell"],
        level="cell",
        code_field="code",
        name_field="name",
        commit=True,
        activate=True,
    )
    assert [w["key"] for w in report.warnings] == ["parent_level_empty"]
    assert report.parent_level is None
    location = locate_point(database, settings, X0 + 0.002, Y0 + 0.001)
    assert [u["level"] for u in location.chain] == ["cell"]


def test_parent_field_is_checked(database, settings, small_grid, write_layer):
    import_boundaries(
        database,
        settings,
        small_grid["district"],
        level="district",
        code_field="code",
        name_field="name",
        commit=True,
        activate=True,
    )
    # the field names the parent: trusted for the link, checked against the geometry
    good = write_layer(
        "good",
        [
            {"code": "C1", "name": "a", "up": "320101", "geometry": square(0, 0)},
            {"code": "C2", "name": "b", "up": "320102", "geometry": square(1, 0)},
        ],
    )
    cell = {"level": "cell", "code_field": "code", "name_field": "name", "parent_field": "up"}
    report = import_boundaries(database, settings, good, commit=True, activate=True, **cell)
    assert report.parents_from == "field" and report.check_errors == 0
    location = locate_point(database, settings, X0 + 0.005, Y0 + 0.005)
    assert [u["code"] for u in location.chain] == ["320101", "C1"]

    # a parent field that contradicts the geometry is a hard error, with a dry-run report
    wrong = write_layer(
        "wrong",
        [
            {"code": "C1", "name": "a", "up": "320102", "geometry": square(0, 0)},
            {"code": "C2", "name": "b", "up": "320101", "geometry": square(1, 0)},
        ],
    )
    dry = import_boundaries(database, settings, wrong, **cell)
    assert {c["key"] for c in dry.checks} == {"check_several_parents", "check_gap"}
    assert dry.check_errors == 4  # each cell outside its parent, each parent with a gap
    with pytest.raises(ImportChecksError, match=r"C1 lies 1047.*m2 outside its parent 320102"):
        import_boundaries(database, settings, wrong, commit=True, **cell)

    bad = write_layer("bad", [{"code": "C9", "name": "a", "up": "999", "geometry": square(0, 0)}])
    before = generations(database)
    with pytest.raises(InputError, match="999"):
        import_boundaries(
            database,
            settings,
            bad,
            level="cell",
            code_field="code",
            name_field="name",
            parent_field="up",
            commit=True,
        )
    assert generations(database) == before  # nothing written by the failed import


@pytest.mark.parametrize(
    "problem",
    [
        "missing_field",
        "duplicate",
        "empty_code",
        "point_layer",
        "unknown_level",
        "no_crs",
        "bad_crs",
    ],
)
def test_bad_input_is_rejected_and_database_unchanged(
    database, settings, write_layer, tmp_path, problem
):
    rows = [
        {"code": "A", "name": "a", "geometry": square(0, 0)},
        {"code": "B", "name": "b", "geometry": square(1, 0)},
    ]
    kwargs = {"level": "district", "code_field": "code", "name_field": "name", "commit": True}
    expected: type[Exception] = InputError
    if problem == "missing_field":
        kwargs["code_field"] = "adcode"
        match = "adcode"
    elif problem == "duplicate":
        rows[1]["code"] = "A"
        match = "'A'"
    elif problem == "empty_code":
        rows[1]["code"] = ""
        match = "feature 1"
    elif problem == "point_layer":
        rows = [{"code": "A", "name": "a", "geometry": square(0, 0).centroid}]
        match = "Point"
    elif problem == "unknown_level":
        kwargs["level"] = "province"
        expected, match = ConfigError, "province"
    elif problem == "no_crs":  # plain metric eastings, no zone prefix: no guess possible
        path = write_layer("nocrs", rows, driver="ESRI Shapefile", to_crs="EPSG:4549")
        path.with_suffix(".prj").unlink()
        match = "--crs"
    else:
        kwargs["crs"] = "EPSG:999999"
        match = "999999"
    path = path if problem == "no_crs" else write_layer(problem, rows)
    with pytest.raises(expected, match=match) as caught:
        import_boundaries(database, settings, path, **kwargs)
    assert str(path.name) in str(caught.value) or problem in ("unknown_level", "bad_crs")
    assert _count_units(database) == 0 and generations(database) == []


def test_invalid_polygon_is_repaired(database, settings, write_layer):
    bowtie = Polygon([(X0, Y0), (X0 + STEP, Y0 + STEP), (X0 + STEP, Y0), (X0, Y0 + STEP)])
    path = write_layer("bowtie", [{"code": "B", "name": "b", "geometry": bowtie}])
    report = import_boundaries(
        database,
        settings,
        path,
        level="district",
        code_field="code",
        name_field="name",
        commit=True,
        activate=True,
    )
    assert report.repaired == ["B"]
    # the two lobes of the bow-tie are the left and right triangles
    assert locate_point(database, settings, X0 + STEP * 0.1, Y0 + STEP / 2).unit["code"] == "B"
    assert locate_point(database, settings, X0 + STEP * 0.9, Y0 + STEP / 2).unit["code"] == "B"


def test_reprojected_shapefile_zip_and_geopackage_agree(database, settings, write_layer, tmp_path):
    rows = [{"code": "320101", "name": "西区", "geometry": square(0, 0)}]
    # CGCS2000 / 3-degree Gauss-Kruger CM 117E, as Chinese survey data arrives
    shp = write_layer("gk", rows, driver="ESRI Shapefile", to_crs="EPSG:4548")
    archive = tmp_path / "gk.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp.parent.glob("gk.*"):
            zf.write(part, part.name)
    gpkg = write_layer("utm", rows, driver="GPKG", to_crs="EPSG:32650")
    areas = []
    for path in (archive, gpkg):
        report = import_boundaries(
            database,
            settings,
            path,
            level="district",
            code_field="code",
            name_field="name",
            commit=True,
            activate=True,
        )
        assert report.source_crs in ("EPSG:4548", "EPSG:32650")
        with database.connection() as conn:
            row = conn.execute(
                "SELECT area_m2, ST_XMin(geom), ST_YMin(geom) FROM admin_unit u "
                "JOIN boundary_generation g ON g.id = u.generation_low AND g.active"
            ).fetchone()
        areas.append(row[0])
        assert row[1] == pytest.approx(X0, abs=1e-7) and row[2] == pytest.approx(Y0, abs=1e-7)
    assert areas[0] == pytest.approx(areas[1], rel=1e-6)


def test_crs_option_declares_a_missing_crs(database, settings, write_layer):
    path = write_layer(
        "nocrs",
        [{"code": "A", "name": "a", "geometry": square(0, 0)}],
        driver="ESRI Shapefile",
        to_crs="EPSG:4548",
    )
    path.with_suffix(".prj").unlink()
    report = import_boundaries(
        database,
        settings,
        path,
        level="district",
        code_field="code",
        name_field="name",
        crs="EPSG:4548",
        commit=True,
        activate=True,
    )
    assert report.crs_from == "--crs"
    assert locate_point(database, settings, X0 + 0.005, Y0 + 0.005).unit["code"] == "A"


def test_zip_with_two_layers_asks_which(database, settings, write_layer, tmp_path):
    a = write_layer(
        "a", [{"code": "A", "name": "a", "geometry": square(0, 0)}], driver="ESRI Shapefile"
    )
    b = write_layer(
        "b", [{"code": "B", "name": "b", "geometry": square(1, 0)}], driver="ESRI Shapefile"
    )
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in [*a.parent.glob("a.*"), *b.parent.glob("b.*")]:
            zf.write(part, part.name)
    with pytest.raises(InputError, match=r"a\.shp, b\.shp"):
        import_boundaries(
            database, settings, archive, level="district", code_field="code", name_field="name"
        )


def test_reimport_replaces_one_level_and_rollback_restores(
    database, settings, load_small_grid, write_layer
):
    old = next(g["id"] for g in generations(database) if g["active"])
    moved = write_layer(
        "districts2",
        [
            {"code": "320101", "name": "西区", "geometry": square(0, 0)},
            {"code": "320103", "name": "新区", "geometry": square(1, 0)},
        ],
    )
    report = import_boundaries(
        database,
        settings,
        moved,
        level="district",
        code_field="code",
        name_field="name",
        commit=True,
        activate=True,
    )
    point = (X0 + 0.015, Y0 + 0.002)
    chain = locate_point(database, settings, *point).chain
    # cells were carried over; the east cell's parent code 320102 no longer exists
    assert [u["code"] for u in chain] == ["320102001"]
    assert report.level_counts == {"city": 1, "district": 2, "cell": 4}
    activate_generation(database, settings, old)
    assert [u["code"] for u in locate_point(database, settings, *point).chain] == [
        "3201",
        "320102",
        "320102001",
    ]


def test_multipolygon_and_hole(database, settings, write_layer):
    outer = square(0, 0, 3, 3)
    hole = square(1, 1)
    donut = Polygon(outer.exterior.coords, [hole.exterior.coords])
    islands = MultiPolygon([square(5, 0), square(7, 0)])
    path = write_layer(
        "shapes",
        [
            {"code": "DONUT", "name": "donut", "geometry": donut},
            {"code": "ISLANDS", "name": "islands", "geometry": islands},
        ],
    )
    import_boundaries(
        database,
        settings,
        path,
        level="district",
        code_field="code",
        name_field="name",
        commit=True,
        activate=True,
    )
    assert locate_point(database, settings, X0 + 0.005, Y0 + 0.005).unit["code"] == "DONUT"
    with pytest.raises(Exception, match="no unit"):
        locate_point(database, settings, X0 + 0.015, Y0 + 0.015)  # in the hole
    assert locate_point(database, settings, X0 + 0.075, Y0 + 0.005).unit["code"] == "ISLANDS"
    with pytest.raises(Exception, match="no unit"):
        locate_point(database, settings, X0 + 0.065, Y0 + 0.005)  # between the islands


def test_many_vertex_unit_is_subdivided(database, settings, write_layer):
    circle = box(X0, Y0, X0 + STEP, Y0 + STEP).centroid.buffer(STEP, quad_segs=256)
    path = write_layer("circle", [{"code": "O", "name": "o", "geometry": circle}])
    import_layer(database, settings, path, "district")
    with database.connection() as conn:
        parts, max_points = conn.execute(
            "SELECT count(*), max(ST_NPoints(geom)) FROM admin_unit_part"
        ).fetchone()
        # the pieces tile the unit: no area lost, none added
        pieces_area, unit_area, off = conn.execute(
            """
            WITH u AS (SELECT geom FROM admin_unit)  -- the one unit
            SELECT sum(ST_Area(p.geom)), ST_Area(u.geom),
                   ST_Area(ST_SymDifference(ST_Union(p.geom), u.geom))
            FROM admin_unit_part p, u GROUP BY u.geom
            """
        ).fetchone()
    assert parts > 1 and max_points <= settings.subdivide_max_vertices
    assert pieces_area == pytest.approx(unit_area, rel=1e-9) and off < 1e-9 * unit_area


def test_import_path_errors_name_the_file(database, settings, tmp_path: Path):
    with pytest.raises(InputError, match=r"nothing\.geojson"):
        import_boundaries(
            database,
            settings,
            tmp_path / "nothing.geojson",
            level="city",
            code_field="c",
            name_field="n",
        )
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("{not json")
    with pytest.raises(InputError, match=r"garbage\.geojson"):
        import_boundaries(database, settings, garbage, level="city", code_field="c", name_field="n")


def test_geopackage_with_two_layers_asks_for_one(database, settings, tmp_path):
    import geopandas as gpd

    path = tmp_path / "two.gpkg"
    for name, geom in (("streets", square(0, 0)), ("communities", square(1, 0))):
        gpd.GeoDataFrame(
            {"code": [name], "name": [name]}, geometry=[geom], crs="EPSG:4326"
        ).to_file(path, layer=name, engine="pyogrio")
    kwargs = {"level": "district", "code_field": "code", "name_field": "name"}
    with pytest.raises(InputError, match="--layer"):
        import_boundaries(database, settings, path, **kwargs)
    with pytest.raises(InputError, match="no layer 'roads'"):
        import_boundaries(database, settings, path, layer="roads", **kwargs)
    report = import_boundaries(database, settings, path, layer="communities", **kwargs)
    assert report.sample_names == ["communities"]
