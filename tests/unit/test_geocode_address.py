"""Address normalising and parsing for the geocoder, without a database (jionlp is offline)."""

from __future__ import annotations

import pytest

from gridmap.config import Settings
from gridmap.domain.levels import Hierarchy
from gridmap.errors import ConfigError
from gridmap.services.geocode import (
    accepted_precisions,
    normalise_city,
    normalise_housenumber,
    normalise_name,
    parse_address,
    place_precision,
    precisions,
)


@pytest.mark.parametrize(
    "a,b",
    [
        ("132 S WESTMORELAND AVE", "132 South Westmoreland Avenue"),
        ("W 17th St", "WEST 17TH STREET"),
        ("East 22nd Street", "e. 22nd st."),
        ("Avenue of the Americas", "AVE OF THE AMERICAS"),
        ("Ｗ　１７ｔｈ　Ｓｔ", "w 17th st"),  # full-width
        ("淮海路社区居委会", "淮海路社区"),  # the committee names the community
        ("中山 路", "中山路"),
    ],
)
def test_the_same_place_normalises_to_the_same_name(a, b):
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(
    "a,b",
    [
        ("West 17th Street", "East 17th Street"),
        ("中山路", "中山南路"),
        ("Park Avenue", "Park Place"),
    ],
)
def test_different_places_stay_different(a, b):
    assert normalise_name(a) != normalise_name(b)


def test_house_numbers_and_cities():
    assert normalise_housenumber("18号") == normalise_housenumber(" 18 ") == "18"
    assert normalise_housenumber("12 A") == "12a"
    assert normalise_housenumber("18-1号") == "18-1"
    assert normalise_city("南京市") == normalise_city("南京") == "南京"
    assert normalise_city("New York ") == normalise_city("new york")
    assert normalise_city("") is None


def test_us_addresses_parse_into_number_street_and_postcode():
    parsed = parse_address("132 S WESTMORELAND AVE, 90004")
    assert parsed == {"house_number": "132", "road": "S WESTMORELAND AVE", "postcode": "90004"}
    parsed = parse_address("333 W 17th St, New York, NY 10011")
    assert parsed["house_number"] == "333" and parsed["road"] == "W 17th St"
    assert parsed["city"] == "New York" and parsed["postcode"] == "10011"
    assert parse_address("Empire State Building") == {"poi": "Empire State Building"}


def test_european_order_and_other_cities():
    assert parse_address("Mikonkatu 18, 00100 Helsinki") == {
        "road": "Mikonkatu",
        "house_number": "18",
        "postcode": "00100",
        "city": "Helsinki",
    }
    assert parse_address("333 W 17th St, Boston, MA", city="New York")["outside"] == "Boston"
    assert "outside" not in parse_address("333 W 17th St, New York, NY", city="New York")


def test_chinese_addresses_with_the_city_as_context():
    parsed = parse_address("玄武区新街口街道中山路18号德基广场3栋201室", city="南京市")
    assert parsed["city"] == "南京市" and parsed["district"] == "玄武区"
    assert parsed["street"] == "新街口街道"
    assert (parsed["road"], parsed["house_number"]) == ("中山路", "18")
    assert parsed["poi"] == "德基广场"  # building and room numbers dropped
    parsed = parse_address("秦淮区五老村街道淮海路社区", city="南京市")
    assert parsed["street"] == "五老村街道" and parsed["community"] == "淮海路社区"
    assert "road" not in parsed and "poi" not in parsed
    assert parse_address("长江路", city="南京市")["road"] == "长江路"
    # a road named after another city is a road of this one
    assert parse_address("北京东路41号", city="南京市")["road"] == "北京东路"
    assert "outside" not in parse_address("北京东路41号", city="南京市")


def test_chinese_addresses_in_another_city_are_flagged_not_matched():
    assert parse_address("北京市朝阳区建国路88号", city="南京市")["outside"] == "北京市"
    # a district the context city does not have
    assert "outside" in parse_address("朝阳区建国路88号", city="南京市")
    assert "outside" in parse_address("苏州市姑苏区人民路", city="南京市")


def test_chinese_addresses_without_context_do_not_read_road_names_as_cities():
    parsed = parse_address("中山南路79号")
    assert parsed == {"road": "中山南路", "house_number": "79"}
    assert parse_address("南京市秦淮区洪武路88号")["district"] == "秦淮区"


def test_precisions_follow_the_levels():
    settings = Settings(levels=Hierarchy.parse("city,district,street,community,cell"))
    assert precisions(settings) == (
        "house_number",
        "poi",
        "road",
        "cell",
        "community",
        "street",
        "district",
        "city",
    )
    assert place_precision("square", settings) == "poi"
    assert place_precision("neighbourhood", settings) == "community"
    assert place_precision("suburb", settings) == "street"
    assert place_precision("city", settings) == "city"
    assert place_precision("nonsense", settings) == "city"  # unknown: the coarsest
    assert place_precision("neighbourhood", Settings(levels=Hierarchy.parse("city,area"))) == "area"
    assert accepted_precisions(settings) == ("house_number", "poi")
    with pytest.raises(ConfigError, match="GRIDMAP_GEOCODE_ACCEPT"):
        accepted_precisions(Settings(geocode_accept=("house_number", "block")))


def test_geocode_settings_from_env():
    settings = Settings.from_env(
        {
            "GRIDMAP_CITY": "南京市",
            "GRIDMAP_GEOCODE_ACCEPT": "house_number, poi, road",
            "GRIDMAP_GEOCODE_MARGIN": "0.05",
        }
    )
    assert settings.city == "南京市" and settings.geocode_margin == 0.05
    assert settings.geocode_accept == ("house_number", "poi", "road")
    with pytest.raises(ConfigError, match="GRIDMAP_GEOCODE_MIN_SCORE"):
        Settings.from_env({"GRIDMAP_GEOCODE_MIN_SCORE": "2"})
