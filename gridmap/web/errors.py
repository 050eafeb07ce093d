"""The one place that turns exceptions into HTTP responses; views never catch."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from gridmap.domain.messages import message
from gridmap.errors import GridmapError
from gridmap.web.context import language

LOGGER = logging.getLogger(__name__)


def _error(status: int, key: str, text: str) -> tuple[Response, int]:
    return jsonify({"error": key, "message": text, "status": status}), status


def register(app: Flask) -> None:
    @app.errorhandler(GridmapError)
    def domain_error(exc: GridmapError) -> tuple[Response, int]:
        return _error(exc.http_status, exc.key, exc.message(language()))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        if status == 404:
            return _error(404, "not_found", message("not_found", language(), path=request.path))
        return _error(
            status, (exc.name or "error").lower().replace(" ", "_"), exc.description or ""
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        LOGGER.exception("unhandled error on %s", request.path)
        return _error(500, "internal_error", "internal error / 内部错误")
