"""Use case: a dispatcher works the triage queue (分拣). An issue lands there when it lies
outside every unit, no worker could be found, or its address was not matched surely enough
to guess; the dispatcher places it (a point, or one of the geocoder's candidates) and it is
routed like a fresh report, with every step on record."""

from __future__ import annotations

import logging
from typing import Any

from gridmap.config import Settings
from gridmap.domain.routing import Step
from gridmap.domain.workflow import CLOSED_STATES
from gridmap.errors import InputError, NotFoundError
from gridmap.services.categories import taxonomy_in_use
from gridmap.services.intake import issue_view, to_wgs84_point
from gridmap.services.routing import decision_record, route_one
from gridmap.store import issues as issue_store
from gridmap.store import placements as placement_store
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)

MAX_PAGE = 500


def list_issues(
    db: Database,
    *,
    state: str | None = None,
    category: str | None = None,
    target_kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
    lang: str = "en",
) -> list[dict[str, Any]]:
    """Issues newest first, filtered; ``state="triage"`` is the dispatcher's queue."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InputError("list_paging_invalid", limit=limit, offset=offset, high=MAX_PAGE)
    with db.connection() as conn:
        rows = issue_store.list_issues(
            conn,
            states=[state] if state else None,
            category_codes=[category] if category else None,
            target_kind=target_kind,
            limit=limit,
            offset=offset,
        )
        # one query for every listed issue's routing reasons, none per issue
        steps = issue_store.latest_steps(conn, [int(row["id"]) for row in rows])
        return [
            issue_view(conn, int(row["id"]), lang=lang, row=row, steps=steps.get(row["id"], []))
            for row in rows
        ]


def _candidate_point(row: dict[str, Any], index: int) -> tuple[float, float, dict[str, Any]]:
    candidates = (row["geocode"] or {}).get("candidates") or []
    if not 1 <= index <= len(candidates):
        raise InputError("dispatch_candidate_unknown", index=index, count=len(candidates))
    chosen = candidates[index - 1]
    return float(chosen["lon"]), float(chosen["lat"]), chosen


def place_issue(
    db: Database,
    settings: Settings,
    issue_id: int,
    *,
    lon: Any = None,
    lat: Any = None,
    coord_type: str = "wgs84",
    candidate: int | None = None,
    actor: str = "dispatcher",
    note: str = "",
    lang: str = "en",
) -> dict[str, Any]:
    """Place an open issue at a point or at its geocoding candidate number ``candidate``
    (from 1), locate it in the active generation and route it; triage -> filed ->
    dispatched when it now has a target. Returns the issue's view."""
    if (candidate is None) == (lon is None and lat is None):
        raise InputError("dispatch_place_how")
    with db.transaction() as conn:
        row = issue_store.get_issue(conn, issue_id, lock=True)
        if row is None:
            raise NotFoundError("issue_unknown", id=issue_id)
        if row["state"] in CLOSED_STATES or row["master_id"] is not None:
            raise InputError("merge_not_open", id=issue_id, state=row["state"])
        if candidate is not None:
            x, y, chosen = _candidate_point(row, candidate)
            step = Step(
                "route_dispatcher_candidate", {"name": chosen.get("name"), "index": candidate}
            )
        else:
            x, y = to_wgs84_point(lon, lat, coord_type)
            step = Step("route_dispatcher_point", {"lon": round(x, 6), "lat": round(y, 6)})
        taxonomy = taxonomy_in_use(conn)
        category = taxonomy.categories.category(row["category_code"])
        generation = unit_store.active_generation(conn)
        chain: list[dict[str, str]] = []
        edge = None
        if generation is not None:
            chain, edge = unit_store.locate_point(
                conn, x, y, levels=settings.levels.names, generation=generation
            )
        decision = route_one(conn, settings, taxonomy, category, chain, edge, extra_steps=[step])
        record = decision_record(decision, generation)
        issue_store.set_location(conn, issue_id, lon=x, lat=y, edge_m=edge if chain else None)
        issue_store.set_route(conn, issue_id, record)
        placement_store.place(
            conn,
            subject="issue",
            subject_id=issue_id,
            lon=x,
            lat=y,
            generation=generation if chain else None,
            level=record["unit_level"],
            code=record["unit_code"],
        )
        state = row["state"]
        data = {
            "lon": x,
            "lat": y,
            "worker_id": decision.worker_id,
            "department": decision.department_code,
        }
        if decision.target_kind == "triage":
            issue_store.add_event(
                conn,
                issue_id,
                actor=actor,
                from_state=state,
                to_state="triage",
                note=note,
                data=data,
            )
            issue_store.set_state(conn, issue_id, "triage")
        else:
            if state == "triage":
                issue_store.add_event(
                    conn, issue_id, actor=actor, from_state="triage", to_state="filed", note=note
                )
                state = "filed"
            issue_store.add_event(
                conn,
                issue_id,
                actor=actor,
                from_state=state,
                to_state="dispatched",
                note=note,
                data=data,
            )
            issue_store.set_state(conn, issue_id, "dispatched")
        view = issue_view(conn, issue_id, lang=lang)
    LOGGER.info("issue %s placed by %s -> %s", issue_id, actor, decision.target_kind)
    return view
