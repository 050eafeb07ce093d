"""Issue intake over JSON: POST /api/v1/issues and GET /api/v1/issues/{id}. Translates HTTP
to the intake service and back; every check lives in the service."""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from gridmap.errors import InputError
from gridmap.services import dispatch as dispatch_service
from gridmap.services import intake as intake_service
from gridmap.web.context import database, language, settings

LOGGER = logging.getLogger(__name__)

blueprint = Blueprint("issues", __name__)

FIELDS = (
    "category",
    "description",
    "lon",
    "lat",
    "coord_type",
    "address",
    "reporter_name",
    "reporter_phone",
    "reporter_email",
    "channel",
    "attributes",
    "reported_at",
    "photos",
)


def _photos(value: Any) -> tuple[tuple[bytes, str | None], ...]:
    """JSON photos: a list of {content_type, data (base64)}; multipart files come as is."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError("field_type", name="photos", expected="list", got=type(value).__name__)
    photos = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict) or not isinstance(item.get("data"), str):
            raise InputError(
                "field_type",
                name=f"photos[{i}].data",
                expected="base64 string",
                got=type(item).__name__,
            )
        try:
            data = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise InputError("photo_broken", index=i, reason="not valid base64") from None
        photos.append((data, item.get("content_type")))
    return tuple(photos)


def _datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(
            "field_type", name="reported_at", expected="ISO 8601 date-time", got=repr(value)
        ) from None


def submission_from_json(body: Any) -> intake_service.IssueSubmission:
    if not isinstance(body, dict):
        raise InputError("body_not_json")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InputError("fields_unknown", names=", ".join(unknown), known=", ".join(FIELDS))
    return intake_service.IssueSubmission(
        category=body.get("category") or "",
        description=body.get("description") or "",
        lon=body.get("lon"),
        lat=body.get("lat"),
        coord_type=body.get("coord_type") or "wgs84",
        address=body.get("address"),
        reporter_name=body.get("reporter_name"),
        reporter_phone=body.get("reporter_phone"),
        reporter_email=body.get("reporter_email"),
        channel=body.get("channel") or "app",
        photos=_photos(body.get("photos")),
        attributes=body.get("attributes") or {},
        reported_at=_datetime(body.get("reported_at")),
    )


@blueprint.post("/issues")
def submit() -> tuple[Response, int]:
    """Report an issue; an Idempotency-Key header makes retries safe."""
    submission = submission_from_json(request.get_json(silent=True))
    result = intake_service.submit_issue(
        database(),
        settings(),
        submission,
        idempotency_key=request.headers.get("Idempotency-Key"),
        lang=language(),
    )
    if result.body_json is not None:
        response = Response(result.body_json + "\n", mimetype="application/json")
    else:
        response = jsonify(result.body)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, result.status


@blueprint.get("/issues/<int:issue_id>")
def show(issue_id: int) -> Response:
    return jsonify(intake_service.get_issue(database(), issue_id, lang=language()))


@blueprint.post("/issues/<int:issue_id>/merge")
def merge(issue_id: int) -> Response:
    """Merge this issue into the master given as {"master_id": N, "note": "..."}."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InputError("body_not_json")
    master = body.get("master_id")
    if not isinstance(master, int) or isinstance(master, bool):
        raise InputError(
            "field_type", name="master_id", expected="integer", got=type(master).__name__
        )
    note = intake_service.check_text(body.get("note"), name="note", limit=1000) or ""
    return jsonify(
        intake_service.merge_duplicate(database(), issue_id, master, actor="dispatcher", note=note)
    )


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InputError("field_type", name=name, expected="integer", got=repr(value)) from None


@blueprint.get("/issues")
def list_issues() -> Response:
    """Issues newest first; ?state=triage is the dispatcher's queue."""
    return jsonify(
        dispatch_service.list_issues(
            database(),
            state=request.args.get("state") or None,
            category=request.args.get("category") or None,
            target_kind=request.args.get("target") or None,
            limit=_int_arg("limit", 50),
            offset=_int_arg("offset", 0),
            lang=language(),
        )
    )


@blueprint.post("/issues/<int:issue_id>/place")
def place(issue_id: int) -> Response:
    """Place an issue at {"lon", "lat", "coord_type"} or {"candidate": N} and route it."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InputError("body_not_json")
    unknown = sorted(set(body) - {"lon", "lat", "coord_type", "candidate", "note"})
    if unknown:
        raise InputError(
            "fields_unknown",
            names=", ".join(unknown),
            known="lon, lat, coord_type, candidate, note",
        )
    candidate = body.get("candidate")
    if candidate is not None and (not isinstance(candidate, int) or isinstance(candidate, bool)):
        raise InputError(
            "field_type", name="candidate", expected="integer", got=type(candidate).__name__
        )
    note = intake_service.check_text(body.get("note"), name="note", limit=1000) or ""
    return jsonify(
        dispatch_service.place_issue(
            database(),
            settings(),
            issue_id,
            lon=body.get("lon"),
            lat=body.get("lat"),
            coord_type=body.get("coord_type") or "wgs84",
            candidate=candidate,
            note=note,
            lang=language(),
        )
    )
