"""Open311 GeoReport v2 under /open311/v2/: HTTP and the two formats; the mapping of services
and requests lives in ``gridmap.services.open311``.

Every path ends in ``.json`` or ``.xml`` and answers in that format, errors included, in the
spec's shape (a list of ``{code, description}``; ``<errors><error>`` in XML)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from gridmap.domain.messages import message
from gridmap.errors import GridmapError, InputError
from gridmap.services import open311 as open311_service
from gridmap.web.context import database, language, settings

LOGGER = logging.getLogger(__name__)

PREFIX = "/open311/v2"
blueprint = Blueprint("open311", __name__)
FORMAT = "<any(json, xml):fmt>"
# The XML element of each item of a list, by the list's element name (the spec's examples).
XML_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
# When the app started: the discovery document's changeset (its content changes with a
# deployment, not with data).
STARTED = datetime.now(UTC)


# --- rendering -----------------------------------------------------------------------------


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _xml_fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_fill(ElementTree.SubElement(element, key), item)
    elif isinstance(value, list):
        tag = XML_ITEMS.get(element.tag, "item")
        for item in value:
            _xml_fill(ElementTree.SubElement(element, tag), item)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, value: Any) -> bytes:
    """``value`` as the spec's XML: dict keys become elements, list items take the singular
    element name of their list (services/service, service_requests/request ...)."""
    element = ElementTree.Element(root)
    _xml_fill(element, value)
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)


def render(fmt: str, root: str, value: Any, status: int = 200) -> tuple[Response, int]:
    """JSON as is; XML under ``root`` (the spec's document element for this call)."""
    if fmt == "xml":
        return Response(to_xml(root, value), mimetype="text/xml"), status
    return jsonify(value), status


def _format_of_path() -> str:
    return "xml" if request.path.endswith(".xml") else "json"


def error_response(status: int, description: str) -> tuple[Response, int]:
    """The spec's error document, in the format the path asked for."""
    return render(
        _format_of_path(), "errors", [{"code": status, "description": description}], status
    )


def register_errors(app: Flask) -> None:
    """Errors under /open311/ in the spec's format; called by gridmap.web.errors, which owns
    the app-wide handlers (routing 404/405 never reach a blueprint's own handlers)."""

    def handle(exc: Exception) -> tuple[Response, int] | None:
        if not request.path.startswith(PREFIX + "/"):
            return None
        lang = language()
        if isinstance(exc, GridmapError):
            return error_response(exc.http_status, exc.message(lang))
        if isinstance(exc, HTTPException):
            status = exc.code or 500
            return error_response(status, message(f"http_{status}", lang, path=request.path))
        return error_response(500, message("http_500", lang, path=request.path))

    app.extensions["gridmap"].setdefault("error_renderers", []).append(handle)


# --- views ---------------------------------------------------------------------------------


@blueprint.after_request
def allow_cross_origin_reads(response: Response) -> Response:
    """Reads are public: a citizen web app on another origin may show requests and services.
    Posting needs an api_key, which belongs on a server, not in a browser, so no CORS there."""
    if request.method == "GET":
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get(f"/discovery.{FORMAT}")
def discovery(fmt: str) -> tuple[Response, int]:
    document = open311_service.discovery(
        settings(), base_url=request.host_url.rstrip("/") + PREFIX, changeset=STARTED
    )
    return render(fmt, "discovery", document)


@blueprint.get(f"/services.{FORMAT}")
def services(fmt: str) -> tuple[Response, int]:
    open311_service.check_jurisdiction(settings(), request.args.get("jurisdiction_id"))
    return render(fmt, "services", open311_service.service_list(database(), lang=language()))


@blueprint.get(f"/services/<service_code>.{FORMAT}")
def service_definition(service_code: str, fmt: str) -> tuple[Response, int]:
    open311_service.check_jurisdiction(settings(), request.args.get("jurisdiction_id"))
    definition = open311_service.service_definition(database(), service_code, lang=language())
    return render(fmt, "service_definition", definition)


def _form() -> dict[str, Any]:
    """The POST fields: form-encoded as the spec says, or a JSON object, which some clients
    send; repeated form fields stay lists (attribute[CODE][] for multivaluelist)."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InputError("body_not_json")
        return body
    form: dict[str, Any] = {k: request.form.getlist(k) for k in request.form}
    for k in request.args:  # api_key and jurisdiction_id are often sent in the query string
        form.setdefault(k, request.args.getlist(k))
    return form


@blueprint.post(f"/requests.{FORMAT}")
def post_request(fmt: str) -> tuple[Response, int]:
    status, answer = open311_service.post_request(
        database(),
        settings(),
        _form(),
        idempotency_key=request.headers.get("Idempotency-Key"),
        lang=language(),
    )
    return render(fmt, "service_requests", answer, status)


@blueprint.get(f"/requests.{FORMAT}")
def get_requests(fmt: str) -> tuple[Response, int]:
    found = open311_service.find_requests(
        database(), settings(), request.args.to_dict(), lang=language()
    )
    return render(fmt, "service_requests", found)


@blueprint.get(f"/requests/<service_request_id>.{FORMAT}")
def get_request(service_request_id: str, fmt: str) -> tuple[Response, int]:
    open311_service.check_jurisdiction(settings(), request.args.get("jurisdiction_id"))
    found = open311_service.get_request(database(), settings(), service_request_id, lang=language())
    return render(fmt, "service_requests", found)
