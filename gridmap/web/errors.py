"""The one place that turns exceptions into HTTP responses; views never catch.

A blueprint with its own error format (Open311's list of ``{code, description}``) adds a
renderer to ``app.extensions["gridmap"]["error_renderers"]``: a function that answers for
the requests it owns and returns None for the others. Routing errors (404, 405) are raised
before any blueprint is chosen, so they can only be handled here, at the app."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from gridmap.domain.messages import MESSAGES, message
from gridmap.errors import GridmapError
from gridmap.web.context import language

LOGGER = logging.getLogger(__name__)

Renderer = Callable[[Exception], "tuple[Response, int] | None"]


def _error(status: int, key: str, text: str) -> tuple[Response, int]:
    return jsonify({"error": key, "message": text, "status": status}), status


def _own_format(exc: Exception) -> tuple[Response, int] | None:
    renderers: list[Renderer] = current_app.extensions["gridmap"].get("error_renderers", [])
    for render in renderers:
        answer = render(exc)
        if answer is not None:
            return answer
    return None


def http_message(status: int, lang: str) -> str:
    """The reader's text for an HTTP status (413 too large, 405 wrong method ...)."""
    key = f"http_{status}" if f"http_{status}" in MESSAGES else "http_other"
    return message(key, lang, path=request.path, status=status)


def register(app: Flask) -> None:
    @app.errorhandler(GridmapError)
    def domain_error(exc: GridmapError) -> tuple[Response, int]:
        return _own_format(exc) or _error(exc.http_status, exc.key, exc.message(language()))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        key = "not_found" if status == 404 else (exc.name or "error").lower().replace(" ", "_")
        return _own_format(exc) or _error(status, key, http_message(status, language()))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        LOGGER.exception("unhandled error on %s", request.path)
        return _own_format(exc) or _error(500, "internal_error", http_message(500, language()))
