"""Routing rules, pure: given where an issue lies and what it is, who handles it and why.

"小事网格办、大事站所办": a grid category goes to the on-duty worker of the deepest unit that
has one (primary, then backup, walking up the hierarchy); a department category goes to the
department responsible for it in that part of the city (most specific rule wins, else the
category's default). Anything that cannot be routed goes to the triage queue. Every decision
carries its steps as message keys with parameters, so it can be explained in either language.

The same function serves one issue at intake and a hotline file in bulk (called once per
distinct unit x category there), so both always decide alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gridmap.domain.messages import message

UnitKey = tuple[str, str]  # (level, code)


@dataclass(frozen=True)
class Step:
    """One reason in a routing decision: a message key and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        return message(self.key, lang, **self.params)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "params": self.params}


@dataclass(frozen=True)
class WorkerOnUnit:
    """A worker currently assigned to a unit, and whether they are on duty now."""

    worker_id: int
    name: str
    role: str  # primary | backup
    on_duty: bool


@dataclass(frozen=True)
class Responsibility:
    """category (exact code, its major class, or any when both are None) x unit subtree
    (None = the whole city) -> department."""

    department_code: str
    category_code: str | None = None
    major_code: str | None = None
    unit: UnitKey | None = None


@dataclass(frozen=True)
class RouteInput:
    """What routing needs to know about one issue (or one group of identical issues)."""

    category_code: str
    major_code: str
    handler: str  # grid | department
    default_department: str | None
    chain: Sequence[Mapping[str, str]]  # units from the top down; empty = outside every unit
    edge_distance_m: float | None = None


@dataclass(frozen=True)
class Decision:
    target_kind: str  # worker | department | triage
    worker_id: int | None
    department_code: str | None
    unit: UnitKey | None  # the unit the issue was placed in (deepest of the chain)
    needs_confirmation: bool
    steps: tuple[Step, ...]

    def explain(self, lang: str = "en") -> list[str]:
        return [step.text(lang) for step in self.steps]


def _unit_text(unit: Mapping[str, str]) -> str:
    return f"{unit['level']} {unit['code']} {unit.get('name', '')}".strip()


def _pick_worker(
    chain: Sequence[Mapping[str, str]],
    workers: Mapping[UnitKey, Sequence[WorkerOnUnit]],
    steps: list[Step],
) -> WorkerOnUnit | None:
    """The deepest unit's on-duty primary, else its on-duty backup, else the same one level
    up; off-duty workers passed over are recorded."""
    for unit in reversed(chain):
        assigned = workers.get((unit["level"], unit["code"]), ())
        if not assigned:
            steps.append(Step("route_unit_no_worker", {"unit": _unit_text(unit)}))
            continue
        for role in ("primary", "backup"):
            for worker in assigned:
                if worker.role != role:
                    continue
                if worker.on_duty:
                    steps.append(
                        Step(
                            f"route_worker_{role}",
                            {
                                "worker": worker.name,
                                "id": worker.worker_id,
                                "unit": _unit_text(unit),
                            },
                        )
                    )
                    return worker
                steps.append(
                    Step(
                        "route_worker_off_duty",
                        {"worker": worker.name, "id": worker.worker_id, "role": role},
                    )
                )
    return None


def _rule_rank(rule: Responsibility, depth: Mapping[UnitKey, int]) -> tuple[int, int]:
    unit_rank = -1 if rule.unit is None else depth[rule.unit]
    category_rank = 2 if rule.category_code else 1 if rule.major_code else 0
    return unit_rank, category_rank


def _pick_department(
    route: RouteInput, rules: Sequence[Responsibility], steps: list[Step]
) -> str | None:
    depth = {(u["level"], u["code"]): i for i, u in enumerate(route.chain)}
    matching = [
        rule
        for rule in rules
        if (rule.unit is None or rule.unit in depth)
        and (rule.category_code in (None, route.category_code))
        and (rule.major_code in (None, route.major_code))
    ]
    if matching:
        best = max(matching, key=lambda rule: _rule_rank(rule, depth))
        where = "*" if best.unit is None else f"{best.unit[0]} {best.unit[1]}"
        what = best.category_code or (f"{best.major_code}*" if best.major_code else "*")
        steps.append(
            Step(
                "route_department_rule",
                {"department": best.department_code, "category": what, "unit": where},
            )
        )
        return best.department_code
    if route.default_department:
        steps.append(Step("route_department_default", {"department": route.default_department}))
        return route.default_department
    steps.append(Step("route_department_none", {"category": route.category_code}))
    return None


def decide(
    route: RouteInput,
    *,
    workers: Mapping[UnitKey, Sequence[WorkerOnUnit]],
    rules: Sequence[Responsibility],
    edge_margin_m: float,
) -> Decision:
    """Route one issue. ``workers`` holds the current assignments of (at least) the units of
    the chain; ``rules`` the responsibility rules of the category set in use."""
    steps: list[Step] = []
    if not route.chain:
        steps.append(Step("route_outside"))
        return Decision("triage", None, None, None, False, tuple(steps))
    placed = route.chain[-1]
    unit: UnitKey = (placed["level"], placed["code"])
    steps.append(Step("route_placed", {"unit": _unit_text(placed)}))
    near_edge = route.edge_distance_m is not None and route.edge_distance_m < edge_margin_m
    if near_edge:
        steps.append(
            Step(
                "route_near_edge",
                {"metres": round(float(route.edge_distance_m or 0.0), 1), "margin": edge_margin_m},
            )
        )
    if route.handler == "grid":
        steps.append(Step("route_handler_grid", {"category": route.category_code}))
        worker = _pick_worker(route.chain, workers, steps)
        if worker is not None:
            return Decision("worker", worker.worker_id, None, unit, near_edge, tuple(steps))
        steps.append(Step("route_no_worker"))
        return Decision("triage", None, None, unit, near_edge, tuple(steps))
    steps.append(Step("route_handler_department", {"category": route.category_code}))
    department = _pick_department(route, rules, steps)
    if department is not None:
        return Decision("department", None, department, unit, near_edge, tuple(steps))
    return Decision("triage", None, None, unit, near_edge, tuple(steps))
