"""Use case: load a category set (and its working calendar) into the deployment, read the one
in use, and edit the responsibility table."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from gridmap.config import Settings
from gridmap.domain.calendar import WorkingCalendar, parse_calendar
from gridmap.domain.categories import (
    CategorySet,
    load_category_set,
    parse_category_set_json,
    resolve_data_file,
)
from gridmap.domain.routing import Responsibility
from gridmap.errors import AmbiguousError, InputError, NotFoundError
from gridmap.store import categories as category_store
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Taxonomy:
    """The category set in use with its calendar, as intake and routing need them."""

    categories: CategorySet
    calendar: WorkingCalendar
    withdrawn: frozenset[str]

    def category(self, code: str) -> Any:
        """The category, or InputError when it is unknown or withdrawn (a client's mistake)."""
        try:
            category = self.categories.category(code)
        except NotFoundError:
            raise InputError("category_unknown", code=code, name=self.categories.name) from None
        if code in self.withdrawn:
            raise InputError("category_withdrawn", code=code, name=self.categories.name)
        return category


def load_categories(
    db: Database, settings: Settings, name_or_path: str
) -> tuple[CategorySet, dict[str, int]]:
    """Load a shipped set by name (data/categories/NAME.toml) or a file, with its calendar
    (data/calendars/CALENDAR.toml), and make it the set in use."""
    category_set = load_category_set(name_or_path, data_dir=settings.data_dir)
    # load_category_set has checked the calendar; its text is stored with the set so that
    # deadlines do not change when a file on disk does
    _, calendar_text = resolve_data_file(
        category_set.calendar,
        folder="calendars",
        data_dir=settings.data_dir,
        what="working calendar / 工作日历",
    )
    with db.transaction() as conn:
        counts = category_store.save_category_set(
            conn,
            name=category_set.name,
            title_en=category_set.title_en,
            title_zh=category_set.title_zh,
            source=str(name_or_path),
            definition=category_set.to_json(),
            calendar_name=category_set.calendar,
            calendar_text=calendar_text,
            categories=[
                {
                    "code": c.code,
                    "kind": c.kind,
                    "major_code": c.major_code,
                    "name_en": c.name_en,
                    "name_zh": c.name_zh,
                    "handler": c.handler,
                    "department": c.department,
                    "severity": c.severity,
                }
                for c in category_set.categories
            ],
            departments=[
                {"code": d.code, "name_en": d.name_en, "name_zh": d.name_zh}
                for d in category_set.departments
            ],
        )
    LOGGER.info("category set %s loaded: %s", category_set.name, counts)
    return category_set, counts


@dataclass(frozen=True)
class Reference:
    """What intake needs on every request and only an administrator changes: the category set
    in use, its responsibility rules, the departments and the active boundary generation, as
    of ``version`` (the reference_version counter, migration 0011)."""

    version: int
    taxonomy_or_none: Taxonomy | None
    rules: tuple[Responsibility, ...]
    departments: dict[str, dict[str, str]]
    generation: int | None

    @property
    def taxonomy(self) -> Taxonomy:
        if self.taxonomy_or_none is None:
            raise InputError("category_set_none")
        return self.taxonomy_or_none


def _load_reference(conn: Any) -> Reference:
    # the counter first: a change landing between it and the reads below leaves newer data
    # under an older number, which the next comparison reloads; never the other way round
    version = category_store.reference_version(conn)
    row = category_store.category_set_in_use(conn)
    taxonomy = None
    if row is not None:
        taxonomy = Taxonomy(
            categories=parse_category_set_json(row["definition"]),
            calendar=parse_calendar(row["calendar_text"], source=row["calendar_name"]),
            withdrawn=frozenset(row["withdrawn"]),
        )
    return Reference(
        version=version,
        taxonomy_or_none=taxonomy,
        rules=tuple(responsibility_rules(conn, row["name"])) if row is not None else (),
        departments=category_store.department_names(conn),
        generation=unit_store.active_generation(conn),
    )


class _ReferenceCache:
    """The Reference per process: intake reads it on every request, and parsing the stored
    category set each time would cost more than the rest of routing. Any process may change the
    data; the counter tells when (one cheap query, or none where the caller read it already)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reference: Reference | None = None

    def clear(self) -> None:
        with self._lock:
            self._reference = None

    def peek(self) -> Reference | None:
        """The cached copy without asking the database (intake checks the counter itself)."""
        with self._lock:
            return self._reference

    def get(self, conn: Any, version: int | None = None) -> Reference:
        """The copy for ``version`` (read from the database when not given)."""
        if version is None:
            version = category_store.reference_version(conn)
        with self._lock:
            if self._reference is not None and self._reference.version == version:
                return self._reference
        reference = _load_reference(conn)
        with self._lock:
            self._reference = reference
        return reference


_CACHE = _ReferenceCache()


def reference_in_use(conn: Any) -> Reference:
    return _CACHE.get(conn)


def cached_reference(db: Database) -> Reference:
    """The cached Reference as it is, without a query when there is one: for callers that read
    reference_version in their own statement and call ``stale_reference`` on a mismatch."""
    reference = _CACHE.peek()
    if reference is not None:
        return reference
    with db.connection() as conn:
        return _CACHE.get(conn)


def reference_is_current(db: Database, reference: Reference) -> bool:
    with db.connection() as conn:
        return category_store.reference_version(conn) == reference.version


def stale_reference() -> None:
    """A caller found the counter moved: the next read loads the data again."""
    _CACHE.clear()


def taxonomy_in_use(conn: Any) -> Taxonomy:
    """The category set in use (InputError when none was loaded)."""
    return _CACHE.get(conn).taxonomy


def current_taxonomy(db: Database) -> Taxonomy:
    with db.connection() as conn:
        return taxonomy_in_use(conn)


def responsibility_rules(conn: Any, set_name: str) -> list[Responsibility]:
    return [
        Responsibility(
            department_code=r["department_code"],
            category_code=r["category_code"],
            major_code=r["major_code"],
            unit=(r["unit_level"], r["unit_code"]) if r["unit_code"] else None,
        )
        for r in category_store.responsibilities(conn, set_name=set_name)
    ]


def add_responsibility(
    db: Database,
    settings: Settings,
    *,
    department: str,
    category: str | None = None,
    major: str | None = None,
    unit_code: str | None = None,
    unit_level: str | None = None,
) -> int:
    """Make ``department`` responsible for a category (or a major class, or all) in a unit's
    subtree (or the whole city). Everything named must exist."""
    with db.transaction() as conn:
        taxonomy = taxonomy_in_use(conn)
        if category is not None:
            taxonomy.category(category)
        if major is not None and major not in {m.code for m in taxonomy.categories.majors}:
            raise InputError("major_unknown", code=major, set=taxonomy.categories.name)
        if not category_store.department_exists(conn, department):
            raise InputError("department_unknown", code=department)
        if unit_code is not None:
            generation = unit_store.active_generation(conn)
            found = (
                unit_store.get_unit(conn, unit_code, generation=generation, level=unit_level)
                if generation is not None
                else []
            )
            if not found:
                raise NotFoundError("unit_unknown", code=unit_code)
            if len(found) > 1:
                raise AmbiguousError(
                    "unit_ambiguous", code=unit_code, levels=", ".join(r["level"] for r in found)
                )
            unit_level = found[0]["level"]
        return category_store.add_responsibility(
            conn,
            set_name=taxonomy.categories.name,
            department_code=department,
            category_code=category,
            major_code=major,
            unit_level=unit_level,
            unit_code=unit_code,
        )
