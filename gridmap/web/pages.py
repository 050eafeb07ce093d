"""HTML pages: Jinja templates that embed Folium maps built by web.maps."""

from __future__ import annotations

import logging

from flask import Blueprint, render_template, request, url_for

from gridmap.domain.messages import message
from gridmap.services import units as unit_service
from gridmap.web.context import database, language, settings
from gridmap.web.maps import build_unit_map

LOGGER = logging.getLogger(__name__)

blueprint = Blueprint("pages", __name__)


def _static_url(filename: str) -> str:
    return url_for("static", filename=filename)


@blueprint.get("/")
def index() -> str:
    """The levels of this deployment, its top units (links to their maps), a locate form."""
    lang = language()
    config = settings()
    return render_template(
        "index.html",
        lang=lang,
        levels=[(lv.name, lv.label(lang)) for lv in config.levels.levels],
        units=unit_service.top_units(database(), config),
    )


@blueprint.get("/units/<code>/map")
def unit_map(code: str) -> str:
    """A unit, its children and its neighbours on a map (Leaflet served locally)."""
    lang = language()
    config = settings()
    unit, children, neighbours = unit_service.unit_map_layers(
        database(), config, code, level=request.args.get("level")
    )
    props = unit["properties"]
    level_names = config.levels.names
    for feature in (unit, *children["features"], *neighbours["features"]):
        level = feature["properties"]["level"]
        feature["properties"]["level_label"] = (
            config.levels.get(level).label(lang) if level in level_names else level
        )
    folium_map = build_unit_map(
        unit,
        children,
        neighbours,
        static_url=_static_url,
        lang=lang,
        labels={key: message(f"map_{key}", lang) for key in ("unit", "children", "neighbours")},
        tile_url=config.tile_url or None,
        tile_attribution=config.tile_attribution or None,
    )
    root = folium_map.get_root()
    root.render()  # populates header/html/script, which the template places
    return render_template(
        "unit_map.html",
        lang=lang,
        unit=props,
        level_label=unit["properties"]["level_label"],
        chain=props["chain"],
        children_count=len(children["features"]),
        map_header=root.header.render(),  # type: ignore[attr-defined]
        map_html=root.html.render(),  # type: ignore[attr-defined]
        map_script=root.script.render(),  # type: ignore[attr-defined]
    )
