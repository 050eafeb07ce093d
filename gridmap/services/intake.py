"""Use case: take one issue from any front end (JSON API, Open311, CLI), place and route it,
store it, and answer; never lost (stored before the answer), never duplicated (idempotency
keys), and every malformed input refused with a clear message before anything is written."""

from __future__ import annotations

import hashlib
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from gridmap.config import Settings
from gridmap.domain.calendar import deadline_entry
from gridmap.domain.categories import Category
from gridmap.domain.routing import Decision, Step
from gridmap.domain.workflow import open311_status
from gridmap.errors import AmbiguousError, DatabaseError, InputError, NotFoundError
from gridmap.geo.coords import POINT_COORD_TYPES, TAKEN_AS_WGS84, to_wgs84
from gridmap.ingest.photos import Photo, clean_photos
from gridmap.services import categories as category_service
from gridmap.services import geocode as geocode_service
from gridmap.services.categories import Reference, Taxonomy
from gridmap.services.locate import check_coordinate
from gridmap.services.routing import decide_route, decision_record, explain_steps, worker_options
from gridmap.store import intake as intake_store
from gridmap.store import issues as issue_store
from gridmap.store.db import Database, json_text
from gridmap.store.intake import EarlierAnswer, IntakeFacts

LOGGER = logging.getLogger(__name__)

CHANNELS = ("hotline", "app", "patrol", "open311", "import")
COORD_TYPES = POINT_COORD_TYPES  # wgs84, gcj02, bd09, cgcs2000 (geo.coords says why)
MAX_DESCRIPTION = 5000
MAX_SHORT_TEXT = 300
# An HTML/XML tag or an entity-escaped one: a report has no use for markup, and a script tag
# would be a stored XSS waiting for whoever renders it without escaping.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?][^>]*>|&lt;\s*/?\s*script", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{2,30}$")
_URL = re.compile(r"^https?://[^\s<>\"']+$")
MAX_URL = 2000


@dataclass(frozen=True)
class IssueSubmission:
    """One report as a front end received it (already decoded, not yet checked)."""

    category: str
    description: str = ""
    lon: Any = None
    lat: Any = None
    coord_type: str = "wgs84"
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    channel: str = "app"
    photos: tuple[tuple[bytes, str | None], ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    reported_at: datetime | None = None
    media_url: str | None = None  # Open311: a link to a photo the client hosts
    reporter_device_id: str | None = None  # Open311 device_id / account_id: private
    reporter_account_id: str | None = None
    external_source: str | None = None
    external_id: str | None = None
    actor: str = "intake"


@dataclass(frozen=True)
class IntakeResult:
    status: int  # 201 created; a replay returns the first answer's status
    body: dict[str, Any]
    replayed: bool = False
    # the body as JSON text when it was serialised already (to be kept with the idempotency
    # key): a front end answering in JSON sends these bytes rather than encoding it again
    body_json: str | None = None

    @property
    def issue_id(self) -> int:
        return int(self.body["id"])


# --- checks --------------------------------------------------------------------------------


def check_text(value: Any, *, name: str, limit: int, required: bool = False) -> str | None:
    """A string without markup or control characters, at most ``limit`` characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError("field_missing_value", name=name)
        return None
    if not isinstance(value, str):
        raise InputError("field_type", name=name, expected="string", got=type(value).__name__)
    text = value.strip()
    if len(text) > limit:
        raise InputError("text_too_long", name=name, length=len(text), limit=limit)
    if _MARKUP.search(text):
        raise InputError("text_markup", name=name)
    if _CONTROL.search(text):
        raise InputError("text_control", name=name)
    return text


def check_media_url(value: Any) -> str | None:
    """An http(s) link, kept as text: gridmap never fetches it (offline, and no SSRF)."""
    url = check_text(value, name="media_url", limit=MAX_URL)
    if url is not None and not _URL.match(url):
        raise InputError("media_url_invalid", value=url[:200])
    return url


def to_wgs84_point(lon: Any, lat: Any, coord_type: str) -> tuple[float, float]:
    """Checked lon/lat in ``coord_type``, converted to WGS84."""
    if coord_type not in COORD_TYPES:
        raise InputError("coord_type_unknown", value=coord_type, known=", ".join(COORD_TYPES))
    x = check_coordinate(lon, name="lon", low=-180, high=180)
    y = check_coordinate(lat, name="lat", low=-90, high=90)
    if coord_type in TAKEN_AS_WGS84:  # no arrays for the common case
        return x, y
    wx, wy = to_wgs84(np.array([x]), np.array([y]), coord_type=coord_type)
    return float(wx[0]), float(wy[0])


def check_attributes(category: Category, values: Any) -> dict[str, Any]:
    """Values for the category's attribute definitions (Open311 semantics): required ones
    present, list values among the allowed keys, numbers numeric, unknown codes refused."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise InputError(
            "field_type", name="attributes", expected="object", got=type(values).__name__
        )
    known = {a.code: a for a in category.attributes}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(
            "attribute_unknown", codes=", ".join(map(str, unknown)), category=category.code
        )
    checked: dict[str, Any] = {}
    for code, attribute in known.items():
        value = values.get(code)
        if value is None or value == "" or value == []:
            if attribute.required:
                raise InputError("attribute_required", code=code, category=category.code)
            continue
        allowed = {key for key, _, _ in attribute.values}
        if attribute.datatype == "number":
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            if not math.isfinite(number):
                raise InputError("attribute_invalid", code=code, value=value, expected="number")
            checked[code] = number
        elif attribute.datatype == "singlevaluelist":
            if str(value) not in allowed:
                raise InputError(
                    "attribute_invalid", code=code, value=value, expected=", ".join(sorted(allowed))
                )
            checked[code] = str(value)
        elif attribute.datatype == "multivaluelist":
            items = value if isinstance(value, list) else [value]
            bad = [v for v in items if str(v) not in allowed]
            if bad:
                raise InputError(
                    "attribute_invalid", code=code, value=bad, expected=", ".join(sorted(allowed))
                )
            checked[code] = [str(v) for v in items]
        else:
            checked[code] = check_text(
                value if isinstance(value, str) else str(value),
                name=f"attribute[{code}]",
                limit=MAX_DESCRIPTION,
            )
    return checked


@dataclass(frozen=True)
class CheckedSubmission:
    category: Category
    description: str
    point: tuple[float, float] | None  # WGS84
    input_point: tuple[float, float] | None
    coord_type: str | None
    address: str | None
    reporter: dict[str, str | None]
    channel: str
    photos: list[Photo]
    attributes: dict[str, Any]
    reported_at: datetime
    media_url: str | None


def check_submission(taxonomy: Taxonomy, submission: IssueSubmission) -> CheckedSubmission:
    """Every check that needs no database; the first problem raises InputError."""
    code = check_text(submission.category, name="category", limit=64, required=True)
    category = taxonomy.category(str(code))
    if submission.channel not in CHANNELS:
        raise InputError("channel_unknown", value=submission.channel, known=", ".join(CHANNELS))
    description = check_text(submission.description, name="description", limit=MAX_DESCRIPTION)
    address = check_text(submission.address, name="address", limit=MAX_SHORT_TEXT)
    point = input_point = None
    has_lon = submission.lon not in (None, "")
    has_lat = submission.lat not in (None, "")
    if has_lon or has_lat:
        if not (has_lon and has_lat):
            raise InputError("coordinate_pair", missing="lat" if has_lon else "lon")
        point = to_wgs84_point(submission.lon, submission.lat, submission.coord_type)
        input_point = (float(submission.lon), float(submission.lat))
    elif address is None:
        raise InputError("location_missing")
    name = check_text(submission.reporter_name, name="reporter_name", limit=MAX_SHORT_TEXT)
    phone = check_text(submission.reporter_phone, name="reporter_phone", limit=40)
    if phone is not None and not _PHONE.match(phone):
        raise InputError("phone_invalid", value=phone)
    email = check_text(submission.reporter_email, name="reporter_email", limit=MAX_SHORT_TEXT)
    if email is not None and not _EMAIL.match(email):
        raise InputError("email_invalid", value=email)
    reporter = {
        "reporter_name": name,
        "reporter_phone": phone,
        "reporter_email": email,
        "reporter_device_id": check_text(
            submission.reporter_device_id, name="device_id", limit=MAX_SHORT_TEXT
        ),
        "reporter_account_id": check_text(
            submission.reporter_account_id, name="account_id", limit=MAX_SHORT_TEXT
        ),
    }
    reported_at = submission.reported_at or datetime.now(UTC)
    if reported_at.tzinfo is None:
        raise InputError("datetime_naive", value="reported_at")
    if reported_at > datetime.now(UTC) + timedelta(minutes=5):
        raise InputError("datetime_future", name="reported_at", value=reported_at.isoformat())
    return CheckedSubmission(
        category=category,
        description=description or "",
        point=point,
        input_point=input_point,
        coord_type=submission.coord_type if point else None,
        address=address,
        reporter=reporter,
        media_url=check_media_url(submission.media_url),
        channel=submission.channel,
        photos=clean_photos(list(submission.photos)),
        attributes=check_attributes(category, submission.attributes),
        reported_at=reported_at,
    )


def fingerprint(submission: IssueSubmission) -> str:
    """What makes two requests "the same" for an idempotency key: every field, photos by
    their hash."""
    data = {k: v for k, v in submission.__dict__.items() if k not in ("photos", "actor")}
    data["photos"] = [hashlib.sha256(p).hexdigest() for p, _ in submission.photos]
    return hashlib.sha256(json_text(data, sort_keys=True).encode()).hexdigest()


# --- intake --------------------------------------------------------------------------------


def _geocode(
    db: Database, settings: Settings, address: str
) -> tuple[tuple[float, float] | None, dict[str, Any], Step]:
    """The point for an address when the gazetteer is sure of it; otherwise None and the
    candidates, for the triage queue (never a guess)."""
    try:
        result = geocode_service.geocode_address(db, settings, address)
    except DatabaseError as exc:
        if exc.key != "gazetteer_empty":
            raise
        # no gazetteer built yet: the report is still taken, and a person places it
        return (
            None,
            {"decision": "unavailable"},
            Step("route_geocode_unavailable", {"address": address}),
        )
    if result.accepted and result.best is not None:
        step = Step(
            "route_geocoded",
            {"address": address, "precision": result.best.precision, "name": result.best.name},
        )
        return (result.best.lon, result.best.lat), result.to_json(), step
    step = Step(
        "route_geocode_unsure",
        {"address": address, "decision": result.decision, "candidates": len(result.candidates)},
    )
    return None, result.to_json(), step


class _StaleReferenceError(Exception):
    """The reference data changed since it was cached: nothing was written yet, and the request
    is taken again with fresh data."""


# A request meets changed reference data only when an administrator changed it during that
# request; three times in a row means it is being changed continuously.
_REFERENCE_ATTEMPTS = 3


def submit_issue(
    db: Database,
    settings: Settings,
    submission: IssueSubmission,
    *,
    idempotency_key: str | None = None,
    lang: str = "en",
) -> IntakeResult:
    """Check, place, route and store one issue; answer with its public view.

    With ``idempotency_key`` the first answer is stored with the issue in one transaction;
    a retry with the same key and the same request gets that answer and creates nothing; the
    same key with a different request is refused (AmbiguousError, 409)."""
    if idempotency_key is not None:
        idempotency_key = check_text(idempotency_key, name="Idempotency-Key", limit=255)
    print_ = fingerprint(submission)
    for _ in range(_REFERENCE_ATTEMPTS):
        reference = category_service.cached_reference(db)
        try:
            return _submit(db, settings, reference, submission, idempotency_key, print_, lang)
        except _StaleReferenceError:
            category_service.stale_reference()
        except InputError:
            # the checks ran on the cached copy, before the read that compares the counter:
            # a refusal (unknown category, say) stands only if that copy is still current
            if category_service.reference_is_current(db, reference):
                raise
            category_service.stale_reference()
    raise DatabaseError("reference_changing")


def _submit(
    db: Database,
    settings: Settings,
    reference: Reference,
    submission: IssueSubmission,
    idempotency_key: str | None,
    print_: str,
    lang: str,
) -> IntakeResult:
    """One attempt of submit_issue under ``reference``: the checks, then two statements
    (store.intake), each atomic on its own: read every fact, decide, build the answer, write
    every row."""
    taxonomy = reference.taxonomy
    checked = check_submission(taxonomy, submission)
    category = checked.category
    point = checked.point
    geocode: dict[str, Any] | None = None
    first_steps: list[Step] = []
    if point is None:
        # an address: parsed and searched before the transaction, so that neither holds the
        # transaction's connection (nor the idempotency key) meanwhile
        assert checked.address is not None  # check_submission refuses neither point nor address
        point, geocode, step = _geocode(db, settings, checked.address)
        first_steps.append(step)
    with db.autocommit() as conn:
        facts = intake_store.read_facts(
            conn,
            key=idempotency_key,
            point=point,
            levels=list(settings.levels.names),
            generation=reference.generation,
            at=datetime.now(UTC),
            set_name=taxonomy.categories.name,
            category_code=category.code,
            radius_m=category.duplicate_radius_m,
            since=checked.reported_at - timedelta(hours=category.duplicate_window_hours),
        )
        if facts.earlier is not None:
            return _replay(facts.earlier, print_, idempotency_key)
        if facts.reference_version != reference.version:
            raise _StaleReferenceError
        generation = reference.generation if point is not None else None
        if point is None:
            decision = Decision("triage", None, None, None, False, tuple(first_steps))
        else:
            decision = decide_route(
                settings,
                category,
                facts.chain,
                facts.edge_distance_m,
                workers=worker_options(facts.workers),
                rules=reference.rules,
                extra_steps=first_steps,
            )
        record = decision_record(decision, generation)
        deadlines = taxonomy.calendar.deadlines(checked.reported_at, category.time_limits)
        state = "triage" if decision.target_kind == "triage" else "dispatched"
        # timestamps as the database will give them back (its session time zone), so that
        # this answer and a later GET of the issue read the same
        zone = conn.info.timezone
        due_at = max((due for _, due in deadlines), default=None)
        values = {
            **record,
            **checked.reporter,
            "set_name": taxonomy.categories.name,
            "category_code": category.code,
            "description": checked.description,
            "channel": checked.channel,
            "input_lon": checked.input_point[0] if checked.input_point else None,
            "input_lat": checked.input_point[1] if checked.input_point else None,
            "input_coord_type": checked.coord_type,
            "address": checked.address,
            "media_url": checked.media_url,
            "geocode": geocode,
            "external_source": submission.external_source,
            "external_id": submission.external_id,
            "state": state,
            "severity": category.severity,
            "attributes": checked.attributes,
            "reported_at": checked.reported_at.astimezone(zone),
            "due_at": due_at.astimezone(zone) if due_at is not None else None,
            "deadlines": [deadline_entry(limit, due) for limit, due in deadlines],
            "edge_distance_m": facts.edge_distance_m if facts.chain else None,
        }
        body = public_view(
            _new_issue_row(facts, values, reference, category, len(checked.photos), point),
            record["steps"],
            lang,
        )
        body["possible_duplicates"] = [
            {**d, "reported_at": _iso(d["reported_at"])} for d in facts.duplicates
        ]
        events = [_event(submission.actor, None, "reported", channel=checked.channel)]
        if state == "triage":
            events.append(_event("router", "reported", "triage"))
        else:
            events.append(_event("router", "reported", "filed"))
            events.append(
                _event(
                    "router",
                    "filed",
                    "dispatched",
                    worker_id=decision.worker_id,
                    department=decision.department_code,
                )
            )
        body_json = json_text(body)
        outcome = intake_store.write_issue(
            conn,
            facts.issue_id,
            values,
            lon=point[0] if point else None,
            lat=point[1] if point else None,
            events=events,
            decision=record,
            photos=checked.photos,
            key=idempotency_key,
            fingerprint=print_,
            body_json=body_json,
        )
        if outcome == intake_store.KEY_TAKEN:  # a concurrent retry was stored first
            assert idempotency_key
            earlier = intake_store.idempotency_answer(conn, idempotency_key)
            assert earlier is not None, "the key's row was committed before the violation"
            return _replay(earlier, print_, idempotency_key)
        if outcome == intake_store.EXTERNAL_ID_EXISTS:  # a client's own retry of its report
            existing = issue_store.issue_by_external_id(
                conn, str(submission.external_source), str(submission.external_id)
            )
            assert existing is not None
            body = issue_view(conn, existing, lang=lang)
            if idempotency_key:  # the key must answer the same on its own retries
                intake_store.store_answer(
                    conn,
                    idempotency_key,
                    fingerprint=print_,
                    status=200,
                    body_json=json_text(body),
                    issue_id=existing,
                )
            return IntakeResult(200, body, replayed=True)
    # DEBUG, not INFO: the issue's own events record it, and one INFO line per request was 4 %
    # of the server's GIL time under load (py-spy --gil, benchmarks/intake.py)
    LOGGER.debug("issue %s %s -> %s", facts.issue_id, category.code, decision.target_kind)
    return IntakeResult(201, body, body_json=body_json)


def _replay(earlier: EarlierAnswer, print_: str, idempotency_key: str | None) -> IntakeResult:
    """The first answer to this key, if this is the same request again."""
    if earlier.fingerprint != print_:
        raise AmbiguousError("idempotency_mismatch", idem_key=idempotency_key)
    return IntakeResult(earlier.status, earlier.body, replayed=True)


def _event(actor: str, from_state: str | None, to_state: str, **data: Any) -> dict[str, Any]:
    return {"actor": actor, "from_state": from_state, "to_state": to_state, "data": data}


def _new_issue_row(
    facts: IntakeFacts,
    values: dict[str, Any],
    reference: Reference,
    category: Category,
    photo_count: int,
    point: tuple[float, float] | None,
) -> dict[str, Any]:
    """The row ``issue_store.get_issue`` will read for the issue about to be written, from the
    facts in hand (public_view's input)."""
    unit_name = facts.chain[-1]["name"] if values["unit_code"] else None
    worker_name = next(
        (
            w["name"]
            for rows in facts.workers.values()
            for w in rows
            if w["worker_id"] == values["worker_id"]
        ),
        None,
    )
    department = reference.departments.get(values["department_code"] or "", {})
    return {
        **values,
        "id": facts.issue_id,
        "category_name_en": category.name_en,
        "category_name_zh": category.name_zh,
        "category_kind": category.kind,
        "lon": point[0] if point else None,
        "lat": point[1] if point else None,
        "unit_name": unit_name,
        "worker_name": worker_name,
        "department_name_en": department.get("name_en"),
        "department_name_zh": department.get("name_zh"),
        "master_id": None,
        "master_state": None,
        "master_status_notes": None,
        "status_notes": None,
        "photo_count": photo_count,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def issue_view(
    conn: Any,
    issue_id: int,
    *,
    lang: str = "en",
    steps: list[dict[str, Any]] | None = None,
    row: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The public view of a stored issue (never the reporter's contact). A caller that listed
    issues passes the ``row`` it read (``issue_store.list_issues``) and the ``steps`` of its
    latest routing decision, read for all of them at once."""
    row = row or issue_store.get_issue(conn, issue_id)
    if row is None:
        raise NotFoundError("issue_unknown", id=issue_id)
    if steps is None:
        decisions = issue_store.routing_decisions(conn, issue_id)
        steps = decisions[-1]["steps"] if decisions else []
    return public_view(row, steps, lang)


def public_view(row: dict[str, Any], steps: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """An issue row (``issue_store.get_issue``'s columns) and the steps of its routing decision
    as the API shows them."""
    view: dict[str, Any] = {
        "id": row["id"],
        "state": row["state"],
        "status": open311_status(row["state"]),
        "category": {
            "set": row["set_name"],
            "code": row["category_code"],
            "name_en": row["category_name_en"],
            "name_zh": row["category_name_zh"],
            "kind": row["category_kind"],
        },
        "severity": row["severity"],
        "description": row["description"],
        "channel": row["channel"],
        "lon": row["lon"],
        "lat": row["lat"],
        "address": row["address"],
        "attributes": row["attributes"],
        "reported_at": _iso(row["reported_at"]),
        "due_at": _iso(row["due_at"]),
        "deadlines": row["deadlines"],
        "unit": (
            {
                "level": row["unit_level"],
                "code": row["unit_code"],
                "name": row["unit_name"],
                "generation": row["generation"],
            }
            if row["unit_code"]
            else None
        ),
        "edge_distance_m": (
            round(row["edge_distance_m"], 2) if row["edge_distance_m"] is not None else None
        ),
        "needs_confirmation": row["needs_confirmation"],
        "target": {
            "kind": row["target_kind"],
            "worker": (
                {"id": row["worker_id"], "name": row["worker_name"]} if row["worker_id"] else None
            ),
            "department": (
                {
                    "code": row["department_code"],
                    "name_en": row["department_name_en"],
                    "name_zh": row["department_name_zh"],
                }
                if row["department_code"]
                else None
            ),
        },
        "routing": explain_steps(steps, lang),
        "master_id": row["master_id"],
        "photo_count": row["photo_count"],
        "media_url": row["media_url"],
        "geocode": row["geocode"],
        "status_notes": row["status_notes"],
    }
    if row["master_state"] is not None:  # a duplicate follows its master's outcome
        view["status"] = open311_status(row["master_state"])
        view["status_notes"] = row["master_status_notes"]
    return view


def get_issue(db: Database, issue_id: int, *, lang: str = "en") -> dict[str, Any]:
    """The public view of one issue (NotFoundError for an unknown id)."""
    with db.connection() as conn:
        return issue_view(conn, issue_id, lang=lang)


def merge_duplicate(
    db: Database, duplicate_id: int, master_id: int, *, actor: str, note: str = ""
) -> dict[str, Any]:
    """A dispatcher's merge: ``duplicate_id`` (and whatever was merged into it) follows
    ``master_id`` from now on; its reporter still hears the master's outcome
    (``issue_store.reporter_contacts``)."""
    if duplicate_id == master_id:
        raise InputError("merge_self", id=master_id)
    with db.transaction() as conn:
        duplicate = issue_store.get_issue(conn, duplicate_id, lock=True)
        master = issue_store.get_issue(conn, master_id, lock=True)
        for issue_id, row in ((duplicate_id, duplicate), (master_id, master)):
            if row is None:
                raise NotFoundError("issue_unknown", id=issue_id)
        assert duplicate is not None and master is not None
        if master["master_id"] is not None:
            raise InputError("merge_into_duplicate", id=master_id, master=master["master_id"])
        if duplicate["master_id"] is not None or duplicate["closed_at"] is not None:
            raise InputError("merge_not_open", id=duplicate_id, state=duplicate["state"])
        if (duplicate["set_name"], duplicate["category_code"]) != (
            master["set_name"],
            master["category_code"],
        ):
            raise InputError("merge_other_category", id=duplicate_id, master=master_id)
        issue_store.merge_into(conn, duplicate_id, master_id, actor=actor, note=note)
        return {
            "master": issue_view(conn, master_id),
            "duplicates": issue_store.duplicates_of(conn, master_id),
        }
