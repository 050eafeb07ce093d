"""JSON API v1: locate a point, read units, units as GeoJSON for maps."""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from typing import Any

import yaml
from flask import Blueprint, Response, jsonify, request

from gridmap.errors import InputError
from gridmap.services import locate as locate_service
from gridmap.services import units as unit_service
from gridmap.services import workers as worker_service
from gridmap.web.context import database, settings

LOGGER = logging.getLogger(__name__)

blueprint = Blueprint("api", __name__)


def _required(name: str) -> str:
    value = request.args.get(name)
    if value is None or value == "":
        raise InputError("parameter_missing", name=name)
    return value


@cache
def openapi_text() -> str:
    """The OpenAPI document (written by hand beside this module, checked by the tests)."""
    return resources.files("gridmap.web").joinpath("openapi.yaml").read_text(encoding="utf-8")


@cache
def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(openapi_text())
    return document


@blueprint.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(openapi_document())


@blueprint.get("/openapi.yaml")
def openapi_yaml() -> Response:
    return Response(openapi_text(), mimetype="application/yaml")


@blueprint.get("/locate")
def locate() -> Response:
    """The chain of units containing ?lon=&lat= (WGS84); 404 outside every unit."""
    location = locate_service.locate_point(
        database(), settings(), _required("lon"), _required("lat")
    )
    levels = settings().levels
    chain: list[dict[str, Any]] = []
    for unit in location.chain:
        labels = {}
        if unit["level"] in levels.names:
            level = levels.get(unit["level"])
            labels = {"level_label_en": level.label_en, "level_label_zh": level.label_zh}
        chain.append({**unit, **labels})
    return jsonify(
        {
            "lon": location.lon,
            "lat": location.lat,
            "generation": location.generation,
            "unit": chain[-1],
            "chain": chain,
            "edge_distance_m": round(location.edge_distance_m, 2),
        }
    )


@blueprint.get("/units/<code>")
def unit(code: str) -> Response:
    """One unit as a GeoJSON Feature (geometry, chain, children); ?level= when codes repeat."""
    feature = unit_service.find_unit(database(), settings(), code, level=request.args.get("level"))
    props = feature["properties"]
    props["workers"] = [
        {"id": w["id"], "name": w["name"], "department": w["department"], "role": w["role"]}
        for w in worker_service.unit_workers(database(), level=props["level"], code=props["code"])
    ]
    return jsonify(feature)


@blueprint.get("/units.geojson")
def units_geojson() -> Response:
    """Units of ?level= meeting ?bbox=minlon,minlat,maxlon,maxlat, simplified for display."""
    collection = unit_service.units_geojson(
        database(), settings(), level=request.args.get("level"), bbox=request.args.get("bbox")
    )
    response = jsonify(collection)
    response.mimetype = "application/geo+json"
    return response
