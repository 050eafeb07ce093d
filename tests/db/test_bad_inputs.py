"""The bad-input corpus: broken or awkward boundary files as admins really send them. Each
gives the right result or a clear error naming the file, the feature and the problem, and
the database is unchanged after every rejected import."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from pyproj.enums import WktVersion
from shapely.geometry import MultiPolygon, Polygon, box

from gridmap.errors import ImportChecksError, InputError
from gridmap.geo.coords import wgs84_to_gcj02
from gridmap.services.boundaries import import_boundaries
from gridmap.services.locate import locate_point
from tests.conftest import STEP, X0, Y0, square

pytestmark = pytest.mark.db

DISTRICT = {"level": "district", "code_field": "code", "name_field": "name"}


def _snapshot(database) -> tuple:
    with database.connection() as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM admin_unit), (SELECT count(*) FROM admin_unit_part), "
            "(SELECT count(*) FROM boundary_generation), "
            "(SELECT count(*) FROM generation_activation)"
        ).fetchone()


@pytest.fixture
def rejected(database, settings):
    """Assert an import fails with a message naming the file (and more), changing nothing."""

    def check(path: Path, *expected: str, error: type[Exception] = InputError, **options: Any):
        before = _snapshot(database)
        with pytest.raises(error) as caught:
            import_boundaries(
                database, settings, path, commit=True, activate=True, **{**DISTRICT, **options}
            )
        text = str(caught.value)
        assert path.name in text, text
        for part in expected:
            assert part in text, text
        assert _snapshot(database) == before
        return caught.value

    return check


def _two_districts() -> list[dict[str, Any]]:
    return [
        {"code": "320101", "name": "玄武区", "geometry": square(0, 0)},
        {"code": "320102", "name": "秦淮区", "geometry": square(1, 0)},
    ]


def _gk_zone_prefix(geom: Any) -> Any:
    """lon/lat -> CGCS2000 3-degree GK zone 40 with the zone prefix (EPSG:4528)."""
    to_gk = pyproj.Transformer.from_crs(4326, 4528, always_xy=True)
    return shapely.transform(geom, lambda c: np.column_stack(to_gk.transform(c[:, 0], c[:, 1])))


# 1
def test_missing_prj_lonlat_is_inferred(database, settings, write_layer):
    path = write_layer("noprj", _two_districts(), driver="ESRI Shapefile")
    path.with_suffix(".prj").unlink()
    report = import_boundaries(database, settings, path, **DISTRICT)
    assert report.crs_from.startswith("inferred") and report.source_crs == "EPSG:4326"


# 2
def test_missing_dbf(write_layer, rejected):
    path = write_layer("nodbf", _two_districts(), driver="ESRI Shapefile")
    path.with_suffix(".dbf").unlink()
    rejected(path, "no .dbf")


# 3
def test_gbk_names_without_cpg_are_decoded(database, settings, write_layer):
    path = write_layer("gbk", _two_districts(), driver="ESRI Shapefile")
    # rewrite the DBF in GBK, as Chinese agencies' tools do, and drop the .cpg
    frame = gpd.read_file(path)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    frame.to_file(path, driver="ESRI Shapefile", engine="pyogrio", encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    report = import_boundaries(database, settings, path, **DISTRICT)
    assert report.encoding == "GB18030" and report.encoding_from == "fallback"
    assert report.sample_names == ["玄武区", "秦淮区"]


# 4
def test_gauss_kruger_with_zone_prefix_and_no_prj(database, settings, write_layer):
    rows = [{**r, "geometry": _gk_zone_prefix(r["geometry"])} for r in _two_districts()]
    path = write_layer("gk40", rows, driver="ESRI Shapefile", crs="EPSG:4528")
    path.with_suffix(".prj").unlink()
    report = import_boundaries(database, settings, path, commit=True, activate=True, **DISTRICT)
    assert report.source_crs == "EPSG:4528" and "zone prefix 40" in report.crs_from
    assert locate_point(database, settings, X0 + 0.005, Y0 + 0.005).unit["code"] == "320101"


def test_esri_style_prj_for_cgcs2000_gk(database, settings, write_layer):
    rows = [{**r, "geometry": _gk_zone_prefix(r["geometry"])} for r in _two_districts()]
    path = write_layer("esri", rows, driver="ESRI Shapefile", crs="EPSG:4528")
    esri = pyproj.CRS.from_epsg(4528).to_wkt(WktVersion.WKT1_ESRI)
    assert esri.startswith('PROJCS["CGCS2000_3_Degree_GK_Zone_40"')
    path.with_suffix(".prj").write_text(esri)
    report = import_boundaries(database, settings, path, commit=True, activate=True, **DISTRICT)
    assert report.crs_from == "file"
    assert locate_point(database, settings, X0 + 0.015, Y0 + 0.005).unit["code"] == "320102"


# 5
def test_self_intersecting_polygon_is_repaired(database, settings, write_layer):
    bowtie = Polygon([(X0, Y0), (X0 + STEP, Y0 + STEP), (X0 + STEP, Y0), (X0, Y0 + STEP)])
    path = write_layer("bowtie", [{"code": "320101", "name": "a", "geometry": bowtie}])
    assert import_boundaries(database, settings, path, **DISTRICT).repaired == ["320101"]


# 6
def test_overlapping_siblings(write_layer, rejected):
    rows = _two_districts()
    rows[1]["geometry"] = box(X0 + STEP * 0.9, Y0, X0 + 2 * STEP, Y0 + STEP)
    path = write_layer("overlap", rows)
    failed = rejected(path, "320101 and 320102 overlap by", error=ImportChecksError)
    [finding] = [c for c in failed.report.checks if c["key"] == "check_overlap"]
    assert finding["area_m2"] == pytest.approx(0.1 * 944.6 * 1108.8, rel=0.01)
    assert X0 + STEP * 0.9 < finding["lon"] < X0 + STEP


# 7
def test_gap_between_children(database, settings, city_loaded, write_layer, rejected):
    rows = _two_districts()
    rows[1]["geometry"] = box(X0 + STEP * 1.2, Y0, X0 + 2 * STEP, Y0 + STEP)  # leaves a strip
    failed = rejected(write_layer("gap", rows), "a gap of", "inside 3201", error=ImportChecksError)
    assert failed.report.checks[0]["area_m2"] == pytest.approx(0.2 * 944.6 * 1108.8, rel=0.01)


def test_hairline_gap_within_tolerance_is_ignored(database, settings, city_loaded, write_layer):
    rows = _two_districts()
    rows[1]["geometry"] = box(X0 + STEP + 2e-6, Y0, X0 + 2 * STEP, Y0 + STEP)  # 0.2 m strip
    report = import_boundaries(database, settings, write_layer("hair", rows), **DISTRICT)
    assert report.check_errors == 0


# 8
def test_child_outside_its_parent(database, settings, city_loaded, write_layer, rejected):
    rows = _two_districts()
    rows[1]["geometry"] = box(X0 + STEP, Y0, X0 + 2.3 * STEP, Y0 + STEP)
    rejected(
        write_layer("outside", rows),
        "320102 lies",
        "outside its parent 3201",
        error=ImportChecksError,
    )


# 9
def test_duplicate_codes(write_layer, rejected):
    rows = _two_districts()
    rows[1]["code"] = "320101"
    rejected(write_layer("dup", rows), "code '320101' appears more than once", "features 0, 1")


# 10
def test_empty_geometry(write_layer, rejected):
    rows = _two_districts()
    rows[1]["geometry"] = Polygon()
    rejected(write_layer("empty", rows), "feature 1 (320102)", "empty geometry")


# 11
def test_zip_with_two_shapefiles_asks_which(database, settings, write_layer, tmp_path, rejected):
    a = write_layer("streets", _two_districts()[:1], driver="ESRI Shapefile")
    b = write_layer("communities", _two_districts()[1:], driver="ESRI Shapefile")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in [*a.parent.glob("streets.*"), *b.parent.glob("communities.*")]:
            zf.write(part, f"交付/{part.name}")  # inside a folder, with a Chinese name
    rejected(archive, "several layers", "交付/communities.shp", "交付/streets.shp")
    report = import_boundaries(database, settings, archive, layer="communities", **DISTRICT)
    assert report.features == 1 and report.source.endswith("交付/communities.shp")


# 12
def test_kml(database, settings, write_layer, tmp_path):
    kml = tmp_path / "districts.kml"
    placemarks = "".join(
        f"<Placemark><name>{code}</name><description>{name}</description><Polygon>"
        f"<outerBoundaryIs><LinearRing><coordinates>"
        + " ".join(f"{x},{y},0" for x, y in square(i, 0).exterior.coords)
        + "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
        for i, (code, name) in enumerate([("320101", "玄武区"), ("320102", "秦淮区")])
    )
    kml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/'
        f'kml/2.2"><Document>{placemarks}</Document></kml>',
        encoding="utf-8",
    )
    report = import_boundaries(
        database,
        settings,
        kml,
        level="district",
        code_field="Name",
        name_field="Description",
        commit=True,
        activate=True,
    )
    assert report.sample_names == ["玄武区", "秦淮区"] and report.z_dropped == 2
    assert locate_point(database, settings, X0 + 0.015, Y0 + 0.005).unit["name"] == "秦淮区"


# 13
def test_3d_polygons_lose_z_with_a_note(database, settings, write_layer):
    rows = [{**r, "geometry": shapely.force_3d(r["geometry"], 12.5)} for r in _two_districts()]
    report = import_boundaries(
        database, settings, write_layer("z", rows, driver="GPKG"), commit=True, **DISTRICT
    )
    assert report.z_dropped == 2
    with database.connection() as conn:
        assert conn.execute("SELECT max(ST_NDims(geom)) FROM admin_unit").fetchone()[0] == 2


# 14
def test_point_layer(write_layer, rejected):
    rows = [{**r, "geometry": r["geometry"].centroid} for r in _two_districts()]
    rejected(write_layer("points", rows), "feature 0 (320101) is a Point, not a polygon")


def test_line_layer(write_layer, rejected):
    rows = [{**r, "geometry": r["geometry"].exterior} for r in _two_districts()]
    rejected(write_layer("lines", rows), "feature 0 (320101)", "not a polygon")


# 15
def test_xian_1980_prj_is_refused_unless_parameters_are_given(
    database, settings, write_layer, rejected
):
    rows = _two_districts()
    path = write_layer("xian80", rows, driver="ESRI Shapefile", to_crs="EPSG:2385")
    rejected(path, "Xian 1980", "--towgs84")
    report = import_boundaries(
        database, settings, path, towgs84="24,-123,-94,0.02,-0.25,-0.13,1.1", **DISTRICT
    )
    assert "towgs84" in report.crs_from
    rejected(path, "--towgs84", towgs84="1,2")


def test_beijing_1954_geographic_is_refused(write_layer, rejected):
    path = write_layer("bj54", _two_districts(), driver="GPKG", crs="EPSG:4214")
    rejected(path, "Beijing 1954")


# 16
def test_gcj02_layer_lands_where_it_belongs(database, settings, write_layer):
    def to_gcj(geom: Any) -> Any:
        return shapely.transform(geom, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])))

    rows = [{**r, "geometry": to_gcj(r["geometry"])} for r in _two_districts()]
    path = write_layer("amap", rows)
    # as digitised on Amap, the layer sits hundreds of metres off
    shifted = import_boundaries(database, settings, path, **DISTRICT)
    assert shifted.coord_type == "wgs84"
    report = import_boundaries(
        database, settings, path, coord_type="gcj02", commit=True, activate=True, **DISTRICT
    )
    assert report.coord_type == "gcj02"
    with database.connection() as conn:
        x0, y0 = conn.execute(
            "SELECT ST_XMin(geom), ST_YMin(geom) FROM admin_unit WHERE code = '320101'"
        ).fetchone()
    assert abs(x0 - X0) * 94_460 < 0.5 and abs(y0 - Y0) * 110_880 < 0.5  # < 0.5 m


def test_multipolygon_and_odd_field_types(database, settings, write_layer):
    rows = _two_districts()
    rows[0]["geometry"] = MultiPolygon([square(0, 0, 0.5, 1), square(0.5, 0, 0.5, 1)])
    for r in rows:
        r["code"] = int(r["code"])  # numeric codes in the file
    report = import_boundaries(
        database, settings, write_layer("ints", rows), commit=True, activate=True, **DISTRICT
    )
    assert report.features == 2
    assert locate_point(database, settings, X0 + 0.002, Y0 + 0.002).unit["code"] == "320101"


def test_unreadable_and_missing_files(tmp_path, rejected):
    garbage = tmp_path / "garbage.shp"
    garbage.write_bytes(b"\x00" * 100)
    shutil.copy(garbage, tmp_path / "garbage.dbf")
    rejected(garbage, "cannot read it as a boundary file")
    rejected(tmp_path / "nothing.geojson", "file not found")


def test_a_unit_inside_another_or_duplicated_is_an_overlap(write_layer, rejected):
    rows = _two_districts()
    rows[1]["geometry"] = square(0.25, 0.25, 0.5, 0.5)  # wholly inside 320101
    rejected(write_layer("inside", rows), "320101 and 320102 overlap by", error=ImportChecksError)
    rows[1]["geometry"] = rows[0]["geometry"]  # the same polygon twice
    rejected(write_layer("twice", rows), "320101 and 320102 overlap by", error=ImportChecksError)
