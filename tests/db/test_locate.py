"""Locating points against real PostGIS: edges, determinism, chain, bulk = single."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridmap.analysis.locate import MISSING, OUT_OF_RANGE, OUTSIDE
from gridmap.errors import InputError, NotFoundError, OutsideError
from gridmap.services.locate import load_unit_index, locate_csv, locate_point
from tests.conftest import STEP, X0, Y0, import_layer

pytestmark = pytest.mark.db

# points on shared edges of the small grid (see conftest.small_grid)
ON_DISTRICT_EDGE = (X0 + STEP, Y0 + STEP / 4)  # between 320101001 and 320102001
ON_CELL_EDGE = (X0 + STEP / 2, Y0 + STEP / 2)  # between 320101001 and 320101002
ON_FOUR_CORNER = (X0 + STEP, Y0 + STEP / 2)  # where four cells meet


def test_chain_and_edge_distance(database, settings, load_small_grid):
    location = locate_point(database, settings, X0 + 0.002, Y0 + 0.001)
    assert location.chain == [
        {"level": "city", "code": "3201", "name": "南京市"},
        {"level": "district", "code": "320101", "name": "西区"},
        {"level": "cell", "code": "320101001", "name": "网格1-1"},
    ]
    # nearest edge is the south edge, 0.001 deg of latitude = 110.9 m at 32 N
    assert location.edge_distance_m == pytest.approx(110.9, abs=0.5)


@pytest.mark.parametrize("point", [ON_DISTRICT_EDGE, ON_CELL_EDGE, ON_FOUR_CORNER])
def test_point_on_shared_edge_lands_in_exactly_one_cell_every_time(
    database, settings, load_small_grid, point
):
    answers = {locate_point(database, settings, *point).unit["code"] for _ in range(20)}
    assert len(answers) == 1
    # the tie-break is the lowest code, and the chain follows that cell's parents
    location = locate_point(database, settings, *point)
    assert location.unit["code"] == "320101001"
    assert location.chain[1]["code"] == "320101"
    # not exactly 0: the geography edge is a geodesic, which bows poleward from the parallel
    # by L^2 tan(lat) / 8R = 1.1 cm over a 944 m edge at 32 N
    assert location.edge_distance_m == pytest.approx(0, abs=0.02)


@pytest.mark.parametrize("point", [(X0 - 0.001, Y0), (0.0, 0.0), (X0 + 0.05, Y0 + 0.05)])
def test_points_outside_give_no_unit(database, settings, load_small_grid, point):
    with pytest.raises(OutsideError, match="no unit"):
        locate_point(database, settings, *point)


@pytest.mark.parametrize(
    "lon,lat", [("abc", 32), (float("nan"), 32), (181, 32), (118, -91), (None, 32), ("inf", 32)]
)
def test_bad_coordinates_are_input_errors(database, settings, load_small_grid, lon, lat):
    with pytest.raises(InputError):
        locate_point(database, settings, lon, lat)


def test_no_active_generation_is_a_clear_error(database, settings):
    with pytest.raises(NotFoundError, match="no boundary generation is active"):
        locate_point(database, settings, X0, Y0)


def test_bulk_matches_single_point_including_edges(database, settings, load_small_grid):
    rng = np.random.default_rng(7)
    lon = np.concatenate(
        [
            rng.uniform(X0 - 0.002, X0 + 2 * STEP + 0.002, 300),
            [p[0] for p in (ON_DISTRICT_EDGE, ON_CELL_EDGE, ON_FOUR_CORNER)],
        ]
    )
    lat = np.concatenate(
        [
            rng.uniform(Y0 - 0.002, Y0 + STEP + 0.002, 300),
            [p[1] for p in (ON_DISTRICT_EDGE, ON_CELL_EDGE, ON_FOUR_CORNER)],
        ]
    )
    bulk = load_unit_index(database, settings).locate(lon, lat)
    for i in range(len(lon)):
        try:
            single = locate_point(database, settings, lon[i], lat[i])
        except OutsideError:
            assert bulk.loc[i, "locate_error"] == OUTSIDE
            assert bulk.loc[i, "cell_code"] == "" and np.isnan(bulk.loc[i, "edge_distance_m"])
            continue
        levels = {u["level"]: u["code"] for u in single.chain}
        assert bulk.loc[i, "locate_error"] == ""
        for level in ("city", "district", "cell"):
            assert bulk.loc[i, f"{level}_code"] == levels[level]
        # planar local CRS (bulk) vs sphere (single): equal to well under a metre here
        assert bulk.loc[i, "edge_distance_m"] == pytest.approx(single.edge_distance_m, abs=0.5)


def test_bulk_locates_repeated_points_as_each_one_alone(database, settings, load_small_grid):
    """A repeated point (located once per distinct point) gets the same row as when it comes
    alone, and missing or bad coordinates among them keep their own errors."""
    rng = np.random.default_rng(11)
    lon = rng.uniform(X0 - 0.002, X0 + 2 * STEP + 0.002, 40)
    lat = rng.uniform(Y0 - 0.002, Y0 + STEP + 0.002, 40)
    pick = rng.integers(0, 40, 200)
    lon_r, lat_r = np.append(lon[pick], [np.nan, 200.0]), np.append(lat[pick], [1.0, 1.0])
    index = load_unit_index(database, settings)
    repeated = index.locate(lon_r, lat_r)
    alone = index.locate(lon, lat).iloc[pick].reset_index(drop=True)
    pd.testing.assert_frame_equal(repeated.iloc[:200], alone)
    assert list(repeated["locate_error"].iloc[200:]) == ["missing_coordinates", "out_of_range"]


def test_bulk_csv_keeps_every_row(database, settings, load_small_grid, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(
        "id,x,y,note\n"
        f"1,{X0 + 0.002},{Y0 + 0.001},ok\n"
        "2,,,no coordinates\n"
        "3,abc,32,garbage\n"
        f"4,{X0 + 0.5},{Y0},outside\n"
        "5,200,32,out of range\n"
        f'6,{ON_CELL_EDGE[0]},{ON_CELL_EDGE[1]},"edge, with comma"\n'
        "007,118.7815,32.0415,leading zeros kept\n",
        encoding="utf-8",
    )
    out = tmp_path / "out" / "located.csv"
    counts = locate_csv(database, settings, source, lon_col="x", lat_col="y", out=out)
    assert counts == {"located": 3, MISSING: 2, OUTSIDE: 1, OUT_OF_RANGE: 1}
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(result["id"]) == ["1", "2", "3", "4", "5", "6", "007"]
    assert list(result.columns[:4]) == ["id", "x", "y", "note"]
    assert [c for c in result.columns[4:]] == [
        f"{lv}_{kind}" for lv in settings.levels.names for kind in ("code", "name")
    ] + ["edge_distance_m", "locate_error"]
    assert list(result["cell_code"]) == ["320101001", "", "", "", "", "320101001", "320101001"]
    assert list(result["street_code"]) == [""] * 7  # level not loaded: column present, empty
    assert result.loc[5, "note"] == "edge, with comma"
    assert list(result["locate_error"]) == ["", MISSING, MISSING, OUTSIDE, OUT_OF_RANGE, "", ""]


def test_bulk_csv_missing_column_is_clear(database, settings, load_small_grid, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,lon\n1,118\n")
    with pytest.raises(InputError, match=r"'lat'.*id, lon"):
        locate_csv(database, settings, source, lon_col="lon", lat_col="lat", out=tmp_path / "o.csv")


def test_edge_distance_of_a_detailed_boundary_is_the_whole_boundary_distance(
    database, settings, write_layer
):
    """Above 256 points the boundary is measured on the spheroid only near the point (store.units
    EDGE_DISTANCE_SQL): the answer must be the distance to the whole boundary all the same."""
    from shapely.geometry import Point, Polygon

    angles = np.linspace(0, 2 * np.pi, 3000, endpoint=False)
    radius = 0.02 * (1 + 0.3 * np.sin(7 * angles) + 0.05 * np.sin(53 * angles))
    shape = Polygon(np.column_stack([X0 + radius * np.cos(angles), Y0 + radius * np.sin(angles)]))
    path = write_layer("city", [{"code": "3201", "name": "南京市", "geometry": shape}])
    import_layer(database, settings, path, "city")
    rng = np.random.default_rng(7)
    points = [
        (X0 + dx, Y0 + dy)
        for dx, dy in rng.uniform(-0.025, 0.025, size=(400, 2))
        if shape.contains(Point(X0 + dx, Y0 + dy))
    ][:40]
    # and a point 1 m or so inside the boundary, where the nearest part is a few vertices
    points.append((X0 + radius[0] - 1e-5, Y0))
    with database.connection() as conn:
        assert conn.execute("SELECT ST_NPoints(geom) FROM admin_unit").fetchone()[0] > 256
        for lon, lat in points:
            whole = conn.execute(
                "SELECT ST_Distance(ST_Boundary(geom)::geography,"
                " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography) FROM admin_unit",
                (lon, lat),
            ).fetchone()[0]
            located = locate_point(database, settings, lon, lat)
            assert located.edge_distance_m == pytest.approx(whole, abs=0.1), (lon, lat)
