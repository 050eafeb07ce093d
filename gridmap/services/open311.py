"""Use case: Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) on top of intake.

Services are the categories of the set in use; requests are issues. Everything here speaks
the spec's field names and returns plain lists and dicts; ``gridmap.web.open311`` only turns
HTTP into these calls and renders the answer as JSON or XML. What gridmap adds beyond the
spec is under ``extended_attributes`` (the GeoReport v2 extensions convention), so a strict
client sees a conforming document and a gridmap-aware one finds the unit and routing target.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gridmap.config import Settings
from gridmap.domain.categories import Attribute, Category
from gridmap.domain.messages import message
from gridmap.domain.workflow import CLOSED_STATES, STATES
from gridmap.errors import ForbiddenError, InputError, NotFoundError
from gridmap.services import apikeys as apikey_service
from gridmap.services import intake as intake_service
from gridmap.services.categories import Taxonomy, current_taxonomy, taxonomy_in_use
from gridmap.services.locate import check_coordinate
from gridmap.store import issues as issue_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json", "xml": "text/xml"}
# The spec: "may not span more than 90 days"; without dates, "the most recent 90 days".
MAX_RANGE = timedelta(days=90)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# POST fields of the spec, plus lang (ours) and jurisdiction_id; attribute[CODE] and
# attribute[CODE][] are matched separately.
POST_FIELDS = frozenset(
    {
        "api_key",
        "jurisdiction_id",
        "service_code",
        "lat",
        "long",
        "address_string",
        "address_id",
        "email",
        "device_id",
        "account_id",
        "first_name",
        "last_name",
        "phone",
        "description",
        "media_url",
        "lang",
    }
)
QUERY_FIELDS = frozenset(
    {
        "jurisdiction_id",
        "service_request_id",
        "service_code",
        "start_date",
        "end_date",
        "status",
        "page",
        "page_size",
        "bbox",
        "lang",
        "api_key",  # some clients send it on every call; it is not needed to read
    }
)
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


# --- discovery and services -----------------------------------------------------------------


def discovery(settings: Settings, *, base_url: str, changeset: datetime) -> dict[str, Any]:
    """The discovery document: where the endpoint is, what it speaks, whom to ask."""
    stamp = w3c(changeset, UTC)
    return {
        "changeset": stamp,
        "contact": settings.open311_contact,
        "key_service": "gridmap apikeys create NAME",
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base_url.rstrip("/"),
                "changeset": stamp,
                "type": "production",
                "formats": list(FORMATS.values()),
            }
        ],
    }


def check_jurisdiction(settings: Settings, jurisdiction_id: str | None) -> None:
    """A named jurisdiction must be ours; none at all is fine for a one-city endpoint."""
    wanted = settings.open311_jurisdiction
    if jurisdiction_id and wanted and jurisdiction_id != wanted:
        raise NotFoundError("open311_jurisdiction_unknown", value=jurisdiction_id, known=wanted)


def _open_categories(taxonomy: Taxonomy) -> list[Category]:
    return [c for c in taxonomy.categories.categories if c.code not in taxonomy.withdrawn]


def service_list(db: Database, *, lang: str) -> list[dict[str, Any]]:
    """Every category a client may file, as GeoReport services."""
    taxonomy = current_taxonomy(db)
    services = []
    for category in _open_categories(taxonomy):
        major = taxonomy.categories.major(category.kind, category.major_code)
        services.append(
            {
                "service_code": category.code,
                "service_name": category.name(lang),
                "description": (
                    category.filing_condition_zh
                    if lang.startswith("zh")
                    else category.filing_condition_en
                ),
                "metadata": bool(category.attributes),
                # intake answers with the request id at once: never a token
                "type": "realtime",
                "keywords": ", ".join(
                    dict.fromkeys((category.name_en, category.name_zh, *category.external_names))
                ),
                "group": major.name(lang),
            }
        )
    return services


def _attribute_definition(attribute: Attribute, lang: str) -> dict[str, Any]:
    zh = lang.startswith("zh")
    return {
        "variable": True,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": "",
        "order": attribute.order,
        "description": attribute.description(lang),
        "values": [
            {"key": key, "name": name_zh if zh else name_en}
            for key, name_en, name_zh in attribute.values
        ],
    }


def service_definition(db: Database, code: str, *, lang: str) -> dict[str, Any]:
    """The attribute definitions (extra questions) of one service."""
    taxonomy = current_taxonomy(db)
    category = _service(taxonomy, code)
    return {
        "service_code": category.code,
        "attributes": [
            _attribute_definition(a, lang)
            for a in sorted(category.attributes, key=lambda a: a.order)
        ],
    }


def _service(taxonomy: Taxonomy, code: str) -> Category:
    """The category for a service code; an unknown or withdrawn code is a 404 here (a path)."""
    try:
        return taxonomy.category(code)
    except InputError:
        raise NotFoundError(
            "open311_service_unknown", code=code, name=taxonomy.categories.name
        ) from None


# --- POST requests -----------------------------------------------------------------------


def _single(form: Mapping[str, Any], name: str) -> str | None:
    """One text value of a form field; a JSON number is taken as its text."""
    value = form.get(name)
    if isinstance(value, list):
        if len(value) > 1:
            raise InputError("open311_field_repeated", name=name)
        value = value[0] if value else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError("field_type", name=name, expected="string", got=type(value).__name__)
    text = str(value).strip()
    return text or None


def _attributes(form: Mapping[str, Any]) -> dict[str, Any]:
    """attribute[CODE]=v and attribute[CODE][]=v1&attribute[CODE][]=v2 (multivaluelist)."""
    values: dict[str, Any] = {}
    nested = form.get("attribute")
    if isinstance(nested, dict):  # a JSON body may send {"attribute": {"code": value}}
        values.update(nested)
    for name, value in form.items():
        match = _ATTRIBUTE.match(name)
        if match is None:
            continue
        items = value if isinstance(value, list) else [value]
        code, is_list = match.group(1), match.group(2) is not None
        values[code] = items if is_list or len(items) > 1 else items[0]
    return values


def submission_from_form(form: Mapping[str, Any], *, client: str) -> intake_service.IssueSubmission:
    """A GeoReport POST (form fields, values as lists or strings) as an intake submission."""
    unknown = sorted(
        name
        for name in form
        if name not in POST_FIELDS and name != "attribute" and not _ATTRIBUTE.match(name)
    )
    if unknown:
        raise InputError(
            "fields_unknown", names=", ".join(unknown), known=", ".join(sorted(POST_FIELDS))
        )
    service_code = _single(form, "service_code")
    if service_code is None:
        raise InputError("open311_field_missing", name="service_code")
    lat, lon = _single(form, "lat"), _single(form, "long")
    address = _single(form, "address_string")
    if _single(form, "address_id") is not None and lat is None and address is None:
        raise InputError("open311_address_id_unsupported")
    if lat is None and lon is None and address is None:
        raise InputError("open311_location_missing")
    names = [n for n in (_single(form, "first_name"), _single(form, "last_name")) if n]
    return intake_service.IssueSubmission(
        category=service_code,
        description=_single(form, "description") or "",
        lon=lon,
        lat=lat,
        address=address,
        reporter_name=" ".join(names) or None,
        reporter_phone=_single(form, "phone"),
        reporter_email=_single(form, "email"),
        channel="open311",
        attributes=_attributes(form),
        media_url=_single(form, "media_url"),
        reporter_device_id=_single(form, "device_id"),
        reporter_account_id=_single(form, "account_id"),
        actor=f"open311:{client}",
    )


def post_request(
    db: Database,
    settings: Settings,
    form: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
    lang: str = "en",
) -> tuple[int, list[dict[str, Any]]]:
    """File a service request for the client whose ``api_key`` the form carries; the answer
    is the spec's one-element list (id, notice, account id) and the HTTP status."""
    client = apikey_service.client_for_key(db, _single(form, "api_key"))
    if client is None:
        raise ForbiddenError("open311_api_key_invalid")
    check_jurisdiction(settings, _single(form, "jurisdiction_id"))
    submission = submission_from_form(form, client=client)
    taxonomy = current_taxonomy(db)
    result = intake_service.submit_issue(
        db, settings, submission, idempotency_key=idempotency_key, lang=lang
    )
    body = result.body
    answer = {
        "service_request_id": str(body["id"]),
        "service_notice": _notice(body, taxonomy, lang),
        "account_id": submission.reporter_account_id,
    }
    return result.status, [answer]


def _notice(view: Mapping[str, Any], taxonomy: Taxonomy, lang: str) -> str:
    """One sentence for the reporter: where it was placed, who takes it, by when."""
    zone = ZoneInfo(taxonomy.categories.timezone)
    due = view.get("due_at")
    due_text = w3c(datetime.fromisoformat(due), zone) if due else "-"
    return message(
        "open311_notice_" + view["target"]["kind"],
        lang,
        unit=_unit_label(view.get("unit")) or "-",
        target=_notice_target(view, lang) or "-",
        due=due_text,
    )


# --- GET requests -----------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    """The checked filters of GET requests."""

    ids: tuple[int, ...] | None
    service_codes: tuple[str, ...] | None
    start: datetime | None
    end: datetime | None
    states: tuple[str, ...] | None
    bbox: tuple[float, float, float, float] | None
    page: int
    page_size: int


def _w3c_date(value: str, name: str, zone: ZoneInfo) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            "field_type", name=name, expected="W3C date-time (2010-01-01T00:00:00Z)", got=value
        ) from None
    # a date without an offset is read in the deployment's time zone, as a clerk means it
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _positive_int(value: str | None, name: str, default: int, high: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= high:
        raise InputError("open311_integer_invalid", name=name, value=value, high=high)
    return int(value)


def _codes(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip())) or None


def parse_query(
    params: Mapping[str, str], *, zone: ZoneInfo, now: datetime | None = None
) -> RequestQuery:
    """The spec's filters (service_request_id overrides every other one; dates default to
    the last 90 days and may not span more) plus page/page_size and bbox."""
    unknown = sorted(set(params) - QUERY_FIELDS)
    if unknown:
        raise InputError(
            "fields_unknown", names=", ".join(unknown), known=", ".join(sorted(QUERY_FIELDS))
        )
    page = _positive_int(params.get("page"), "page", 1, 1_000_000)
    page_size = _positive_int(
        params.get("page_size"), "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
    )
    ids_text = _codes(params.get("service_request_id"))
    if ids_text is not None:
        bad = [v for v in ids_text if not v.isdigit()]
        if bad:
            raise InputError("open311_request_id_invalid", value=", ".join(bad))
        return RequestQuery(
            tuple(int(v) for v in ids_text), None, None, None, None, None, page, page_size
        )
    start = params.get("start_date")
    end = params.get("end_date")
    start_at = _w3c_date(start, "start_date", zone) if start else None
    end_at = _w3c_date(end, "end_date", zone) if end else None
    if start_at is None and end_at is None:
        end_at = None  # up to now, including what arrives while the client pages
        start_at = (now or datetime.now(UTC)) - MAX_RANGE
    elif start_at is None:
        assert end_at is not None
        start_at = end_at - MAX_RANGE
    elif end_at is None:
        end_at = start_at + MAX_RANGE
    if end_at is not None:
        if end_at < start_at:
            raise InputError("open311_range_reversed", start=start, end=end)
        if end_at - start_at > MAX_RANGE:
            raise InputError("open311_range_too_long", start=start, end=end, days=MAX_RANGE.days)
    states = None
    statuses = _codes(params.get("status"))
    if statuses is not None:
        wrong = [s for s in statuses if s not in ("open", "closed")]
        if wrong:
            raise InputError("open311_status_invalid", value=", ".join(wrong))
        states = tuple(
            s for s in STATES if ("closed" if s in CLOSED_STATES else "open") in statuses
        )
    return RequestQuery(
        None,
        _codes(params.get("service_code")),
        start_at,
        end_at,
        states,
        _bbox(params.get("bbox")),
        page,
        page_size,
    )


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 4:
        raise InputError("bbox_invalid", value=value)
    x0 = check_coordinate(parts[0], name="bbox min lon", low=-180, high=180)
    y0 = check_coordinate(parts[1], name="bbox min lat", low=-90, high=90)
    x1 = check_coordinate(parts[2], name="bbox max lon", low=-180, high=180)
    y1 = check_coordinate(parts[3], name="bbox max lat", low=-90, high=90)
    if x0 >= x1 or y0 >= y1:
        raise InputError("bbox_invalid", value=value)
    return x0, y0, x1, y1


def find_requests(
    db: Database,
    settings: Settings,
    params: Mapping[str, str],
    *,
    lang: str = "en",
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """GET requests: the issues matching the filters, newest first, one page."""
    check_jurisdiction(settings, params.get("jurisdiction_id"))
    with db.connection() as conn:  # one pool checkout for the set's time zone and the rows
        zone = ZoneInfo(taxonomy_in_use(conn).categories.timezone)
        query = parse_query(params, zone=zone, now=now)
        rows = issue_store.list_issues(
            conn,
            ids=query.ids,
            category_codes=query.service_codes,
            states=query.states,
            start=query.start,
            end=query.end,
            bbox=query.bbox,
            limit=query.page_size,
            offset=(query.page - 1) * query.page_size,
        )
    return [request_view(row, zone=zone, lang=lang) for row in rows]


def get_request(
    db: Database, settings: Settings, request_id: str, *, lang: str = "en"
) -> list[dict[str, Any]]:
    """GET requests/{id}: a one-element list, as the spec says (404 for an unknown id)."""
    if not request_id.isdigit():
        raise NotFoundError("issue_unknown", id=request_id)
    with db.connection() as conn:
        zone = ZoneInfo(taxonomy_in_use(conn).categories.timezone)
        rows = issue_store.list_issues(conn, ids=[int(request_id)], limit=1)
    if not rows:
        raise NotFoundError("issue_unknown", id=request_id)
    return [request_view(rows[0], zone=zone, lang=lang)]


# --- the request document ------------------------------------------------------------------


def w3c(value: datetime | None, zone: ZoneInfo | Any) -> str | None:
    """W3C date-time with the deployment's offset, to the second (2010-04-14T06:37:38-08:00)."""
    if value is None:
        return None
    return value.astimezone(zone).isoformat(timespec="seconds")


def _unit_label(unit: Mapping[str, Any] | None) -> str | None:
    if not unit:
        return None
    return f"{unit['name']} ({unit['code']})" if unit.get("name") else str(unit["code"])


def _notice_target(view: Mapping[str, Any], lang: str) -> str | None:
    target = view["target"]
    if target.get("department"):
        department = target["department"]
        return str(department["name_zh"] if lang.startswith("zh") else department["name_en"])
    if target.get("worker"):
        return str(target["worker"]["name"])
    return None


def request_view(row: Mapping[str, Any], *, zone: ZoneInfo, lang: str) -> dict[str, Any]:
    """One issue as a GeoReport service request (never the reporter's contact).

    ``agency_responsible`` is who answers for it: the department for a department's matter,
    otherwise the unit whose grid worker handles it, or the dispatch centre's triage queue.
    ``extended_attributes`` carries the unit it was placed in and the routing target."""
    zh = lang.startswith("zh")
    state = row["master_state"] or row["state"]  # a duplicate follows its master
    unit = (
        {"level": row["unit_level"], "code": row["unit_code"], "name": row["unit_name"]}
        if row["unit_code"]
        else None
    )
    worker = {"id": row["worker_id"], "name": row["worker_name"]} if row["worker_id"] else None
    department = (
        {
            "code": row["department_code"],
            "name": row["department_name_zh"] if zh else row["department_name_en"],
        }
        if row["department_code"]
        else None
    )
    if department is not None:
        agency = department["name"]
    elif worker is not None:
        agency = _unit_label(unit) or worker["name"]
    else:
        agency = message("open311_agency_triage", lang)
    return {
        "service_request_id": str(row["id"]),
        "status": "closed" if state in CLOSED_STATES else "open",
        "status_notes": row["master_status_notes"] or row["status_notes"],
        "service_name": row["category_name_zh"] if zh else row["category_name_en"],
        "service_code": row["category_code"],
        "description": row["description"],
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": w3c(row["reported_at"], zone),
        "updated_datetime": w3c(row["updated_at"], zone),
        "expected_datetime": w3c(row["due_at"], zone),
        "address": row["address"],
        "address_id": None,
        "zipcode": None,
        "lat": row["lat"],
        "long": row["lon"],
        "media_url": row["media_url"],
        "extended_attributes": {
            "state": state,
            "state_name": STATES[state][1 if zh else 0],
            "channel": row["channel"],
            "unit": unit,
            "needs_confirmation": row["needs_confirmation"],
            "routing_target": {
                "kind": row["target_kind"],
                "worker": worker,
                "department": department,
            },
            "duplicate_of": str(row["master_id"]) if row["master_id"] else None,
        },
    }
