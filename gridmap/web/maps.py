"""Build the offline Folium map of one grid unit, its children and its neighbours."""

from __future__ import annotations

import copy
import html
import json
import logging
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import folium
import shapely.geometry
from folium.elements import MacroElement
from folium.map import FitBounds
from folium.template import Template
from folium.utilities import JsCode

from gridmap.domain.messages import LANGS

LOGGER = logging.getLogger(__name__)

#: Paths of the vendored Leaflet files, relative to the web static folder.
LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"

#: Property added to (copies of) neighbour features: the URL of that neighbour's own map page.
_HREF_PROPERTY = "gridmap_href"

_UNIT_STYLE: dict[str, Any] = {"color": "#c0392b", "weight": 4, "opacity": 1.0, "fill": False}
_CHILD_STYLE: dict[str, Any] = {
    "color": "#2c7fb8",
    "weight": 1,
    "opacity": 0.9,
    "fillColor": "#2c7fb8",
    "fillOpacity": 0.08,
}
_CHILD_HIGHLIGHT: dict[str, Any] = {"weight": 3, "fillOpacity": 0.25}
_NEIGHBOUR_STYLE: dict[str, Any] = {
    "color": "#7f7f7f",
    "weight": 1,
    "opacity": 0.9,
    "fillColor": "#7f7f7f",
    "fillOpacity": 0.15,
    "dashArray": "4 4",
}
_NEIGHBOUR_HIGHLIGHT: dict[str, Any] = {"weight": 3, "fillOpacity": 0.3}

# Tooltip (and, for neighbours, popup link) built with DOM text nodes, never innerHTML, so a
# unit name holding markup is shown as text. folium's GeoJsonTooltip/GeoJsonPopup put property
# values into innerHTML, and folium.Popup needs jQuery, which this offline page does not load.
_ON_EACH_FEATURE = """
function (feature, layer) {
    var props = feature.properties || {};
    var text = [props.code, props.name].filter(function (v) {
        return v !== undefined && v !== null && v !== "";
    }).join(" ");
    if (text) {
        var tip = document.createElement("span");
        tip.textContent = text;
        layer.bindTooltip(tip, {sticky: true});
    }
    var href = props[%(href_property)s];
    if (typeof href === "string" && href) {
        var link = document.createElement("a");
        link.href = href;
        link.textContent = text || href;
        layer.bindPopup(link);
    }
}
"""


class _MapSettings(MacroElement):
    """Leaflet settings folium has no argument for: language and attribution prefix.

    The attribution control's default prefix is a link to leafletjs.com; it is dropped so the
    rendered page names no outside address at all (tile attributions still show).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.getContainer().lang = {{ this.lang|tojson }};
            {{ this._parent.get_name() }}.attributionControl.setPrefix(false);
        {% endmacro %}
        """
    )

    def __init__(self, lang: str) -> None:
        super().__init__()
        self._name = "MapSettings"
        self.lang = lang


def default_unit_href(code: str) -> str:
    """Return the path of a unit's map page.

    Parameters
    ----------
    code : str
        The unit code.

    Returns
    -------
    str
        ``/units/<code>/map`` with the code percent-encoded.
    """
    return f"/units/{quote(code, safe='')}/map"


def build_unit_map(
    unit: dict[str, Any],
    children: dict[str, Any],
    neighbours: dict[str, Any],
    *,
    static_url: Callable[[str], str],
    lang: str = "en",
    labels: dict[str, str],
    tile_url: str | None = None,
    tile_attribution: str | None = None,
    unit_href: Callable[[str], str] | None = None,
) -> folium.Map:
    """Build the map of one unit that loads only vendored assets and embeds its data.

    The map has up to three overlay layers, drawn bottom to top: the neighbours (grey,
    tooltip and a popup linking to their own map page), the children (thin outlines, tooltip)
    and the unit itself (bold outline, no fill so the children stay hoverable). A layer with no
    features is left out. The view fits the unit's bounds. Nothing is fetched over the network
    here; the page loads Leaflet from ``static_url`` and, only if ``tile_url`` is given, tiles.

    Parameters
    ----------
    unit : dict
        GeoJSON Feature of the unit, with properties ``level``, ``level_label``, ``code``,
        ``name`` and ``area_m2``; its geometry must be non-empty.
    children : dict
        GeoJSON FeatureCollection of the unit's child units (same properties); may be empty.
    neighbours : dict
        GeoJSON FeatureCollection of neighbouring units at the same level; may be empty.
    static_url : callable
        Maps a path under the static folder (e.g. ``"vendor/leaflet/leaflet.js"``) to the URL
        the browser loads it from, e.g. ``lambda f: url_for("static", filename=f)``.
    lang : str, default "en"
        Language of the page, one of ``gridmap.domain.messages.LANGS``; set as the map
        container's ``lang`` attribute.
    labels : dict of str to str
        Already-translated layer names under the keys ``"unit"``, ``"children"`` and
        ``"neighbours"``.
    tile_url : str, optional
        Leaflet tile URL template of a base map; ``None`` (the offline default) draws none.
    tile_attribution : str, optional
        Attribution HTML of the base map; required when ``tile_url`` is given.
    unit_href : callable, optional
        Maps a unit code to the URL of its map page, for the neighbour popups; defaults to
        :func:`default_unit_href`.

    Returns
    -------
    folium.Map
        The map; render it with ``m.get_root().render()``.

    Raises
    ------
    ValueError
        If ``lang`` is unknown, a label is missing, the unit has no geometry, or
        ``tile_url`` is given without ``tile_attribution``.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    missing = [key for key in ("unit", "children", "neighbours") if not labels.get(key)]
    if missing:
        raise ValueError(f"labels lacks {missing}")
    if tile_url is not None and not tile_attribution:
        raise ValueError("tile_attribution is required when tile_url is given")
    href_of = unit_href or default_unit_href

    bounds = _unit_bounds(unit)
    (south, west), (north, east) = bounds
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        control_scale=True,
    )
    # folium.Map's class-level default_js/default_css load Leaflet 1.9.3, jQuery, Bootstrap,
    # Font Awesome and Awesome Markers from CDNs. Replace them on this instance (new lists:
    # folium's add_js_link would mutate the shared class lists) with the vendored Leaflet only.
    fmap.default_js = [("leaflet", static_url(LEAFLET_JS))]
    fmap.default_css = [("leaflet_css", static_url(LEAFLET_CSS))]

    if tile_url is not None:
        base = folium.TileLayer(tiles=tile_url, attr=tile_attribution, name="base", control=False)
        base.add_to(fmap)

    on_each_feature = JsCode(_ON_EACH_FEATURE % {"href_property": json.dumps(_HREF_PROPERTY)})

    neighbour_data = copy.deepcopy(neighbours)
    for feature in neighbour_data.get("features") or []:
        code = (feature.get("properties") or {}).get("code")
        if code is not None:
            feature["properties"][_HREF_PROPERTY] = href_of(str(code))
    _add_layer(
        fmap,
        neighbour_data,
        name=labels["neighbours"],
        style=_NEIGHBOUR_STYLE,
        highlight=_NEIGHBOUR_HIGHLIGHT,
        on_each_feature=on_each_feature,
    )
    _add_layer(
        fmap,
        copy.deepcopy(children),
        name=labels["children"],
        style=_CHILD_STYLE,
        highlight=_CHILD_HIGHLIGHT,
        on_each_feature=on_each_feature,
    )
    _add_layer(
        fmap,
        {"type": "FeatureCollection", "features": [copy.deepcopy(unit)]},
        name=labels["unit"],
        style=_UNIT_STYLE,
        highlight=None,
        on_each_feature=on_each_feature,
    )

    folium.LayerControl(collapsed=False).add_to(fmap)
    _MapSettings(lang).add_to(fmap)
    fit = FitBounds(bounds, padding=(16, 16))
    # Jump straight to the unit's extent: animating from the placeholder zoom would show
    # stretched outlines for a moment (and in screenshots taken on load).
    fit.options["animate"] = False
    fit.add_to(fmap)
    LOGGER.debug(
        "built map of unit %s: %d children, %d neighbours, base map %s",
        (unit.get("properties") or {}).get("code"),
        len(children.get("features") or []),
        len(neighbours.get("features") or []),
        "yes" if tile_url else "no",
    )
    return fmap


def _unit_bounds(unit: dict[str, Any]) -> list[list[float]]:
    """Return the unit's bounds as ``[[south, west], [north, east]]``.

    Parameters
    ----------
    unit : dict
        GeoJSON Feature with a lon/lat geometry.

    Returns
    -------
    list of list of float
        The bounds in Leaflet's latitude-first order.

    Raises
    ------
    ValueError
        If the feature has no geometry or an empty one.
    """
    geometry = unit.get("geometry")
    if not geometry:
        raise ValueError("the unit feature has no geometry")
    west, south, east, north = shapely.geometry.shape(geometry).bounds
    if any(math.isnan(v) for v in (west, south, east, north)):
        raise ValueError("the unit feature has an empty geometry")
    return [[south, west], [north, east]]


def _add_layer(
    fmap: folium.Map,
    collection: dict[str, Any],
    *,
    name: str,
    style: dict[str, Any],
    highlight: dict[str, Any] | None,
    on_each_feature: JsCode,
) -> None:
    """Add one GeoJSON overlay to the map, unless it has no features.

    Parameters
    ----------
    fmap : folium.Map
        The map to add to.
    collection : dict
        GeoJSON FeatureCollection, embedded as it is (pass a copy: folium may add ids).
    name : str
        Layer name shown in the layer control; HTML-escaped here because Leaflet's
        layer control inserts it as HTML.
    style : dict
        Leaflet path options for every feature.
    highlight : dict, optional
        Path options applied while the pointer is over a feature.
    on_each_feature : JsCode
        Leaflet ``onEachFeature`` function binding tooltips and popups.
    """
    if not collection.get("features"):
        return
    folium.GeoJson(
        data=collection,
        name=html.escape(name),
        style_function=lambda _feature: style,
        highlight_function=(lambda _feature: highlight) if highlight else None,
        on_each_feature=on_each_feature,
    ).add_to(fmap)
