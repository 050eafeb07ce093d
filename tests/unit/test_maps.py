"""The unit map loads only vendored Leaflet, names no outside address and embeds its data."""

from __future__ import annotations

import json
import re
import socket
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import folium
import pytest
from shapely.geometry import box, mapping

from gridmap.domain.messages import message
from gridmap.web import maps

STATIC_DIR = Path(maps.__file__).parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
TILE_URL = "https://tiles.example.test/{z}/{x}/{y}.png"


def static_url(filename: str) -> str:
    return f"/static/{filename}"


def feature(code: str, name: str, geom: Any, level: str = "community") -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": mapping(geom),
        "properties": {
            "level": level,
            "level_label": level.title(),
            "code": code,
            "name": name,
            "area_m2": 1.0e6,
        },
    }


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture
def unit() -> dict[str, Any]:
    return feature("C-001", "Riverside", box(120.10, 30.20, 120.14, 30.24))


@pytest.fixture
def children() -> dict[str, Any]:
    return collection(
        feature("C-001-01", "North cell", box(120.10, 30.22, 120.14, 30.24), level="cell"),
        feature("C-001-02", "South cell", box(120.10, 30.20, 120.14, 30.22), level="cell"),
    )


@pytest.fixture
def neighbours() -> dict[str, Any]:
    return collection(feature("C-002", "Hillside", box(120.14, 30.20, 120.18, 30.24)))


def labels(lang: str) -> dict[str, str]:
    return {
        "unit": message("map_unit", lang),
        "children": message("map_children", lang),
        "neighbours": message("map_neighbours", lang),
    }


def render(unit: dict, children: dict, neighbours: dict, lang: str = "en", **kw: Any) -> str:
    fmap = maps.build_unit_map(
        unit, children, neighbours, static_url=static_url, lang=lang, labels=labels(lang), **kw
    )
    assert isinstance(fmap, folium.Map)
    html: str = fmap.get_root().render()
    return html


class AssetParser(HTMLParser):
    """Collect every URL the page would load as an asset."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script" and "src" in a:
            self.scripts.append(a["src"])
        elif tag == "link" and "href" in a:
            (self.stylesheets if "stylesheet" in a.get("rel", "") else self.other).append(a["href"])
        elif "src" in a:
            self.other.append(a["src"])


def assets(html: str) -> AssetParser:
    parser = AssetParser()
    parser.feed(html)
    return parser


def is_local(url: str) -> bool:
    return not re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.IGNORECASE)


def test_page_loads_only_the_vendored_leaflet(unit, children, neighbours) -> None:
    found = assets(render(unit, children, neighbours))
    assert found.scripts == [static_url("vendor/leaflet/leaflet.js")]
    assert found.stylesheets == [static_url("vendor/leaflet/leaflet.css")]
    assert found.other == []
    assert all(is_local(u) for u in found.scripts + found.stylesheets)


def test_page_names_no_outside_address_without_a_base_map(unit, children, neighbours) -> None:
    html = render(unit, children, neighbours)
    for needle in ("http://", "https://", "//cdn", "url("):
        assert needle not in html, needle
    assert "L.tileLayer" not in html
    assert "setPrefix(false)" in html  # the leafletjs.com attribution link is dropped too


def test_tile_url_is_the_only_outside_address(unit, children, neighbours) -> None:
    html = render(
        unit, children, neighbours, tile_url=TILE_URL, tile_attribution="&copy; Example tiles"
    )
    found = assets(html)
    assert all(is_local(u) for u in found.scripts + found.stylesheets + found.other)
    urls = set(re.findall(r"(?:https?:)?//[^\s\"'<>)]+", html))
    assert urls == {TILE_URL}
    assert "L.tileLayer" in html


def test_tile_url_without_attribution_is_refused(unit, children, neighbours) -> None:
    with pytest.raises(ValueError, match="tile_attribution"):
        render(unit, children, neighbours, tile_url=TILE_URL)


def test_folium_class_defaults_are_left_alone(unit, children, neighbours) -> None:
    before_js, before_css = list(folium.Map.default_js), list(folium.Map.default_css)
    render(unit, children, neighbours)
    assert folium.Map.default_js == before_js
    assert folium.Map.default_css == before_css
    # a plain folium map elsewhere in the process still gets folium's own defaults
    assert len(assets(folium.Map(tiles=None).get_root().render()).scripts) > 1


def test_three_layers_with_tooltips_and_neighbour_links(unit, children, neighbours) -> None:
    html = render(unit, children, neighbours)
    for code in ("C-001", "C-001-01", "C-001-02", "C-002"):
        assert f'"code": "{code}"' in html
    assert "bindTooltip" in html and "textContent" in html
    assert '"gridmap_href": "/units/C-002/map"' in html
    assert "bindPopup" in html
    for label in labels("en").values():
        assert json.dumps(label) in html
    assert "L.control.layers" in html
    assert html.count("L.geoJson(") == 3


def test_view_fits_the_unit_bounds(unit, children, neighbours) -> None:
    html = render(unit, children, neighbours)
    match = re.search(r"\.fitBounds\(\s*(\[\[.*?\]\])", html, re.DOTALL)
    assert match, "no fitBounds call"
    (south, west), (north, east) = json.loads(match.group(1))
    assert (south, west, north, east) == pytest.approx((30.20, 120.10, 30.24, 120.14))
    assert '"animate": false' in html[match.end() : match.end() + 200]


def test_zh_cn_layer_names_and_lang(unit, children, neighbours) -> None:
    html = render(unit, children, neighbours, lang="zh-CN")
    for label in labels("zh-CN").values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in label)
        assert json.dumps(label) in html  # Jinja's tojson writes CJK as \\uXXXX escapes
    for label in labels("en").values():
        assert json.dumps(label) not in html
    assert '.lang = "zh-CN"' in html


def test_layer_names_are_escaped_and_inputs_untouched(unit, children, neighbours) -> None:
    before = json.dumps([unit, children, neighbours], sort_keys=True)
    fmap = maps.build_unit_map(
        unit,
        children,
        neighbours,
        static_url=static_url,
        labels={"unit": "<b>Unit</b>", "children": "Kids", "neighbours": "Nbrs"},
    )
    html = fmap.get_root().render()
    assert "<b>Unit" not in html and "\\u003cb\\u003eUnit" not in html
    assert json.dumps("&lt;b&gt;Unit&lt;/b&gt;").replace("&", "\\u0026") in html
    assert json.dumps([unit, children, neighbours], sort_keys=True) == before


def test_empty_children_and_neighbours_leave_only_the_unit(unit) -> None:
    html = render(unit, collection(), collection())
    assert html.count("L.geoJson(") == 1
    assert "C-001" in html


def test_bad_arguments_are_refused(unit, children, neighbours) -> None:
    with pytest.raises(ValueError, match="lang"):
        render(unit, children, neighbours, lang="fr")
    with pytest.raises(ValueError, match="geometry"):
        render({**unit, "geometry": None}, children, neighbours)
    with pytest.raises(ValueError, match="labels"):
        maps.build_unit_map(
            unit, children, neighbours, static_url=static_url, labels={"unit": "Unit"}
        )


def test_building_and_rendering_open_no_connection(
    unit, children, neighbours, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert "L.map(" in render(unit, children, neighbours)


def test_vendored_leaflet_is_on_disk() -> None:
    leaflet = VENDOR_DIR / "leaflet"
    for name in ("leaflet.js", "leaflet.css", "LICENSE"):
        assert (leaflet / name).stat().st_size > 0, name
    assert "BSD 2-Clause" in (leaflet / "LICENSE").read_text(encoding="utf-8")
    # every image the stylesheet refers to is vendored next to it
    css = (leaflet / "leaflet.css").read_text(encoding="utf-8")
    images = set(re.findall(r"url\((images/[^)]+)\)", css))
    assert images
    for image in images | {"images/marker-icon-2x.png", "images/marker-shadow.png"}:
        assert (leaflet / image).stat().st_size > 0, image
    readme = (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    assert "leaflet" in readme.lower() and "1.9.4" in readme and "BSD-2-Clause" in readme
