"""Use case: route an issue (at intake, in bulk, or again on request) and explain a decision.

The rules are in domain.routing; this module gathers their facts from the store: the chain
of units the point lies in, the workers on those units and whether they are on duty, and the
responsibility table of the category set in use."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gridmap.config import Settings
from gridmap.domain.categories import Category
from gridmap.domain.routing import (
    Decision,
    Responsibility,
    RouteInput,
    Step,
    WorkerOnUnit,
    decide,
)
from gridmap.errors import NotFoundError
from gridmap.services.categories import Taxonomy, responsibility_rules, taxonomy_in_use
from gridmap.store import issues as issue_store
from gridmap.store import units as unit_store
from gridmap.store import workers as worker_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


def route_input(
    category: Category, chain: Sequence[Mapping[str, str]], edge_distance_m: float | None
) -> RouteInput:
    return RouteInput(
        category_code=category.code,
        major_code=category.major_code,
        handler=category.handler,
        default_department=category.department,
        chain=chain,
        edge_distance_m=edge_distance_m,
    )


def worker_options(
    rows_by_unit: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
) -> dict[tuple[str, str], list[WorkerOnUnit]]:
    """Store rows of workers on units (worker_store.WORKERS_ON_UNITS_SQL) as routing takes them."""
    return {
        unit: [WorkerOnUnit(r["worker_id"], r["name"], r["role"], bool(r["on_duty"])) for r in rows]
        for unit, rows in rows_by_unit.items()
    }


def workers_for(
    conn: Any, chains: Iterable[Sequence[Mapping[str, str]]], *, at: datetime
) -> dict[tuple[str, str], list[WorkerOnUnit]]:
    """The workers of every unit in the chains, in one query."""
    units = sorted({(u["level"], u["code"]) for chain in chains for u in chain})
    return worker_options(worker_store.workers_on_units(conn, units, at=at))


def decide_route(
    settings: Settings,
    category: Category,
    chain: Sequence[Mapping[str, str]],
    edge_distance_m: float | None,
    *,
    workers: Mapping[tuple[str, str], Sequence[WorkerOnUnit]],
    rules: Sequence[Responsibility],
    extra_steps: Sequence[Step] = (),
) -> Decision:
    """Decide for one issue from facts in hand; ``extra_steps`` come first (e.g. how its
    address was matched)."""
    decision = decide(
        route_input(category, chain, edge_distance_m),
        workers=workers,
        rules=rules,
        edge_margin_m=settings.edge_margin_m,
    )
    if extra_steps:
        decision = Decision(
            decision.target_kind,
            decision.worker_id,
            decision.department_code,
            decision.unit,
            decision.needs_confirmation,
            (*extra_steps, *decision.steps),
        )
    return decision


def route_one(
    conn: Any,
    settings: Settings,
    taxonomy: Taxonomy,
    category: Category,
    chain: Sequence[Mapping[str, str]],
    edge_distance_m: float | None,
    *,
    at: datetime | None = None,
    extra_steps: Sequence[Step] = (),
) -> Decision:
    """Decide for one issue, reading its workers and the rules on ``conn``."""
    return decide_route(
        settings,
        category,
        chain,
        edge_distance_m,
        workers=workers_for(conn, [chain], at=at or datetime.now(UTC)),
        rules=responsibility_rules(conn, taxonomy.categories.name),
        extra_steps=extra_steps,
    )


def decision_record(decision: Decision, generation: int | None) -> dict[str, Any]:
    """A decision as the store keeps it."""
    return {
        "generation": generation if decision.unit else None,
        "unit_level": decision.unit[0] if decision.unit else None,
        "unit_code": decision.unit[1] if decision.unit else None,
        "target_kind": decision.target_kind,
        "worker_id": decision.worker_id,
        "department_code": decision.department_code,
        "needs_confirmation": decision.needs_confirmation,
        "steps": [step.to_json() for step in decision.steps],
    }


def explain_steps(steps: Iterable[Mapping[str, Any]], lang: str) -> list[str]:
    return [Step(s["key"], dict(s.get("params") or {})).text(lang) for s in steps]


def routing_history(db: Database, issue_id: int) -> list[dict[str, Any]]:
    """Every stored decision for an issue, oldest first (NotFoundError for an unknown id)."""
    with db.connection() as conn:
        if issue_store.get_issue(conn, issue_id) is None:
            raise NotFoundError("issue_unknown", id=issue_id)
        return issue_store.routing_decisions(conn, issue_id)


def reroute_issue(db: Database, settings: Settings, issue_id: int) -> dict[str, Any]:
    """Route a stored issue again under today's grid, workers and rules; the new decision is
    stored next to the old ones and becomes the issue's target."""
    with db.transaction() as conn:
        row = issue_store.get_issue(conn, issue_id, lock=True)
        if row is None:
            raise NotFoundError("issue_unknown", id=issue_id)
        taxonomy = taxonomy_in_use(conn)
        category = taxonomy.categories.category(row["category_code"])
        generation = unit_store.active_generation(conn)
        chain: list[dict[str, str]] = []
        edge = None
        if row["lon"] is not None and generation is not None:
            chain, edge = unit_store.locate_point(
                conn, row["lon"], row["lat"], levels=settings.levels.names, generation=generation
            )
        decision = route_one(conn, settings, taxonomy, category, chain, edge)
        record = decision_record(decision, generation)
        issue_store.set_route(conn, issue_id, record)
    return record
