"""Offline geocoding on real PostGIS: the Nanjing sample units + OSM, the Midtown extract."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from gridmap.cli import main
from gridmap.config import Settings
from gridmap.errors import DatabaseError, InputError
from gridmap.services import locate as locate_service
from gridmap.services.boundaries import import_boundaries
from gridmap.services.demo import CITIES, import_sample_layers
from gridmap.services.geocode import build_gazetteer, geocode_address
from gridmap.store import gazetteer as gazetteer_store
from gridmap.store import units as unit_store
from gridmap.store.db import Database
from tests.conftest import REPO

pytestmark = pytest.mark.db

NANJING = REPO / "data" / "nanjing"
NANJING_OSM = NANJING / "nanjing_xinjiekou_overpass_2021-06-12.osm"
MIDTOWN_OSM = REPO / "data" / "nyc" / "midtown_manhattan.osm.pbf"


@pytest.fixture
def nanjing(settings: Settings) -> Settings:
    return dataclasses.replace(settings, city="南京市")


@pytest.fixture
def nanjing_units(database: Database, nanjing: Settings) -> Settings:
    """The Nanjing sample's city, districts, streets and communities, as the demo loads them
    (no cells: geocoding needs names, and the cells carry none)."""
    import_sample_layers(database, nanjing, CITIES["nanjing"], NANJING)
    return nanjing


def write_osm(path: Path, nodes: list[tuple[int, float, float, dict[str, str]]]) -> Path:
    """A real OSM XML file with the given tagged nodes."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node_id, lon, lat, tags in nodes:
        lines.append(f'  <node id="{node_id}" version="1" lat="{lat}" lon="{lon}">')
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </node>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_chinese_house_number_and_poi_resolve_with_the_unit_locate_gives(database, nanjing_units):
    counts = build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM])
    assert counts["unit"] == 60 and counts["poi"] > 300 and counts["road"] > 100
    assert counts["house_number"] > 0 and counts["place"] > 0

    # 中央商场 is tagged addr:street=中山南路 addr:housenumber=79 in OSM
    result = geocode_address(database, nanjing_units, "南京市秦淮区中山南路79号中央商场")
    assert result.accepted and result.decision == "accepted"
    assert result.parsed["district"] == "秦淮区" and result.parsed["house_number"] == "79"
    assert result.best is not None and result.best.precision == "house_number"
    assert result.best.osm == "n1069278228" and result.best.name == "中央商场"
    # tagged with the deepest unit containing it: the one locate finds for that point
    located = locate_service.locate_point(database, nanjing_units, result.best.lon, result.best.lat)
    assert (result.best.unit_level, result.best.unit_code) == (
        located.unit["level"],
        located.unit["code"],
    )
    assert "320104" in result.best.unit_codes  # 秦淮区

    poi = geocode_address(database, nanjing_units, "江苏美术馆")
    assert poi.accepted and poi.best is not None and poi.best.precision == "poi"
    assert poi.best.osm == "n779093768"
    assert poi.best.lon == pytest.approx(118.78845, abs=1e-4)
    assert poi.best.lat == pytest.approx(32.04594, abs=1e-4)
    assert json.loads(json.dumps(poi.to_json(), ensure_ascii=False))["precision"] == "poi"

    # a house number the gazetteer does not have: placed on the road only, never guessed
    road = geocode_address(database, nanjing_units, "中山路999号")
    assert road.decision == "low_precision" and road.best is not None
    assert road.best.precision == "road" and road.best.name == "中山路"


def test_a_community_name_alone_is_low_precision_with_its_candidates(database, nanjing_units):
    build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM])
    result = geocode_address(database, nanjing_units, "秦淮区淮海路社区")
    assert result.decision == "low_precision" and not result.accepted
    assert result.best is not None and result.best.precision == "community"
    assert result.best.unit_code == "320104006002"
    assert result.reason == "geocode_low_precision" and "社区" not in result.message("en")
    assert any(c.unit_code == "320104006002" for c in result.candidates)
    district = geocode_address(database, nanjing_units, "玄武区")
    assert district.decision == "low_precision" and district.best is not None
    assert district.best.precision == "district" and district.best.unit_code == "320102"
    # accepting community precision is a setting, not a rule in the code
    relaxed = dataclasses.replace(
        nanjing_units, geocode_accept=("house_number", "poi", "community")
    )
    assert geocode_address(database, relaxed, "秦淮区淮海路社区").accepted


def test_the_same_name_far_apart_is_ambiguous_with_both_candidates(
    database, nanjing_units, tmp_path
):
    # two rest stops named alike, 2.3 km apart (both in the sample's districts)
    twins = write_osm(
        tmp_path / "twins.osm",
        [
            (-1, 118.7700, 32.0400, {"amenity": "community_centre", "name": "暖心驿站"}),
            (-2, 118.7900, 32.0550, {"amenity": "community_centre", "name": "暖心驿站"}),
        ],
    )
    build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM, twins])
    result = geocode_address(database, nanjing_units, "暖心驿站")
    assert result.decision == "ambiguous" and not result.accepted
    assert result.reason == "geocode_ambiguous"
    assert {c.osm for c in result.candidates if c.name == "暖心驿站"} == {"n-1", "n-2"}
    # naming the district settles it: only one of them lies in 秦淮区
    one = geocode_address(database, nanjing_units, "秦淮区暖心驿站")
    assert one.accepted and one.best is not None and one.best.osm == "n-1"
    # the distance that makes two places different is a setting
    far = dataclasses.replace(nanjing_units, geocode_ambiguous_m=5000.0)
    assert geocode_address(database, far, "暖心驿站").accepted


def test_typos_are_tolerated_by_trigrams(database, nanjing_units):
    build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM])
    typo = geocode_address(database, nanjing_units, "江苏美术官")  # 馆 -> 官
    assert typo.best is not None and typo.best.osm == "n779093768"
    assert 0.5 <= typo.best.score < 1.0 and typo.accepted
    # a typo in the road of a house-number address still finds the house
    house = geocode_address(database, nanjing_units, "中山南陆79号")
    assert house.best is not None and house.best.osm == "n1069278228"
    # below the minimum score it is shown to a person, not accepted
    strict = dataclasses.replace(nanjing_units, geocode_min_score=0.9)
    weak = geocode_address(database, strict, "江苏美术官")
    assert weak.decision == "ambiguous" and weak.reason == "geocode_weak"
    assert weak.best is not None and weak.best.osm == "n779093768"


def test_an_address_in_another_city_is_not_matched_to_a_namesake(database, nanjing_units):
    build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM])
    assert geocode_address(database, nanjing_units, "南京市长江路333号").accepted
    for text in ("上海市长江路333号", "苏州市江苏美术馆", "北京市朝阳区建国路88号"):
        result = geocode_address(database, nanjing_units, text)
        assert result.decision == "not_found" and result.candidates == (), text
        assert result.reason == "geocode_outside_city"


def test_us_addresses_from_the_midtown_extract(database, settings):
    counts = build_gazetteer(database, settings, osm_files=[MIDTOWN_OSM])
    assert "unit" not in counts and counts["house_number"] > 5000
    for text in ("333 W 17th St, New York, NY 10011", "333 WEST 17TH STREET", "333 w 17 st"):
        result = geocode_address(database, settings, text)
        assert result.accepted, (text, result.to_json())
        assert result.best is not None and result.best.precision == "house_number"
        assert result.best.housenumber == "333" and result.best.street == "West 17th Street"
        assert result.best.lon == pytest.approx(-74.0024, abs=5e-4)
        assert result.best.lat == pytest.approx(40.7425, abs=5e-4)
    typo = geocode_address(database, settings, "333 W 17TH STRET")
    assert typo.accepted and typo.best is not None and typo.best.street == "West 17th Street"
    # the postcode must agree: 333 W 17th St is in 10011, not 10001
    wrong_zip = geocode_address(database, settings, "333 W 17th St, 10001")
    assert wrong_zip.decision == "low_precision" and wrong_zip.best is not None
    assert wrong_zip.best.precision == "road"
    in_boston = geocode_address(
        database, dataclasses.replace(settings, city="New York"), "333 W 17th St, Boston, MA"
    )
    assert in_boston.decision == "not_found" and in_boston.reason == "geocode_outside_city"


def test_not_found_and_bad_input(database, nanjing_units):
    with pytest.raises(DatabaseError, match="gazetteer"):
        geocode_address(database, nanjing_units, "江苏美术馆")  # not built yet
    build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM])
    result = geocode_address(database, nanjing_units, "火星基地")
    assert result.decision == "not_found" and result.best is None and result.candidates == ()
    assert result.to_json()["message"]["zh-CN"]
    for text in ("", "   ", "路" * 501):
        with pytest.raises(InputError):
            geocode_address(database, nanjing_units, text)


def test_the_rebuild_is_all_or_nothing(database, nanjing_units, tmp_path, monkeypatch):
    before = build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM])

    def snapshot() -> tuple[dict, int]:
        with database.connection() as conn:
            build = gazetteer_store.latest_build(conn)
            assert build is not None
            return build["counts"], gazetteer_store.entry_count(conn)

    kept = snapshot()
    assert kept == (before, sum(before.values()))
    # a broken second file: nothing is written
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(InputError):
        build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM, broken])
    assert snapshot() == kept
    # a failure inside the transaction, after the old entries were deleted
    monkeypatch.setattr(gazetteer_store, "_INSERT_OSM", "SELECT 1 / 0")
    with pytest.raises(Exception, match="division by zero"):
        build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM])
    assert snapshot() == kept
    assert geocode_address(database, nanjing_units, "江苏美术馆").accepted


def test_nothing_to_build_from(database, settings):
    with pytest.raises(InputError, match="no active generation"):
        build_gazetteer(database, settings, osm_files=[])


def test_cli_build_and_query(env, nanjing_units):
    runner = CliRunner()
    environment = {**env, "GRIDMAP_CITY": "南京市"}

    def run(*args: str):
        return runner.invoke(main, list(args), env=environment, catch_exceptions=False)

    built = run("geocode", "build", "--osm", str(NANJING_OSM))
    assert built.exit_code == 0, built.output
    assert "unit" in built.output and "house_number" in built.output and "total" in built.output
    shown = run("geocode", "query", "秦淮区中山南路79号中央商场")
    assert shown.exit_code == 0, shown.output
    assert "decision:   accepted" in shown.output and "house_number" in shown.output
    assert "中央商场" in shown.output
    as_json = run("geocode", "query", "淮海路社区", "--json")
    payload = json.loads(as_json.output)  # nothing else on stdout (jionlp's banner is kept off)
    assert payload["decision"] == "low_precision" and payload["precision"] == "community"
    assert payload["candidates"] and payload["best"]["unit_code"] == "320104006002"
    empty = run("geocode", "query", " ")
    assert empty.exit_code == 1 and "地址为空" in empty.output
    missing = run("geocode", "build", "--osm", "/nonexistent.osm")
    assert missing.exit_code == 1 and "not found" in missing.output


def test_activating_a_new_generation_refreshes_the_gazetteers_units(
    database, nanjing_units, tmp_path
):
    """A community renamed in a new generation: after activation its new name is found and
    the old one no longer names a unit; OSM entries keep their places and get the new units."""
    build_gazetteer(database, nanjing_units, osm_files=[NANJING_OSM])
    before = geocode_address(database, nanjing_units, "南京市秦淮区五老村社区居委会")
    assert before.best is not None and before.best.name == "五老村社区居委会"
    communities = gpd.read_file(NANJING / "nanjing_xinjiekou_communities_generated.geojson")
    communities.loc[communities["code"] == "320104006003", "name"] = "五福新村社区居委会"
    renamed = tmp_path / "communities.geojson"
    communities.to_file(renamed, driver="GeoJSON")
    with database.connection() as conn:
        osm_before = conn.execute(
            "SELECT count(*) FROM gazetteer_entry WHERE source = 'osm'"
        ).fetchone()[0]
    import_boundaries(
        database,
        nanjing_units,
        renamed,
        level="community",
        code_field="code",
        name_field="name",
        parent_field="parent_code",
        commit=True,
        activate=True,
    )
    after = geocode_address(database, nanjing_units, "南京市秦淮区五福新村社区居委会")
    assert after.best is not None and after.best.name == "五福新村社区居委会"
    with database.connection() as conn:
        gone = gazetteer_store.known_unit_names(conn, ["五老村社区居委会"])
        build = gazetteer_store.latest_build(conn)
        generation = unit_store.active_generation(conn)
        osm_after, stale = conn.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
                SELECT 1 FROM admin_unit u WHERE u.code = e.unit_code AND u.level = e.unit_level
                  AND u.generation_low <= %s AND u.generation_high >= %s))
            FROM gazetteer_entry e WHERE e.source = 'osm' AND e.unit_code IS NOT NULL
            """,
            (generation, generation),
        ).fetchone()
    assert gone == []
    assert build is not None and build["generation"] == generation
    assert stale == 0 and osm_after > 0
    with database.connection() as conn:
        assert (
            conn.execute("SELECT count(*) FROM gazetteer_entry WHERE source = 'osm'").fetchone()[0]
            == osm_before
        )
