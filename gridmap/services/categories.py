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
    version: tuple[str, Any]

    def category(self, code: str) -> Any:
        """The category, or InputError when it is unknown or withdrawn (a client's mistake)."""
        try:
            category = self.categories.category(code)
        except NotFoundError:
            raise InputError("category_unknown", code=code, name=self.categories.name) from None
        if code in self.withdrawn:
            raise InputError("category_withdrawn", code=code, set=self.categories.name)
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
    _CACHE.clear()
    LOGGER.info("category set %s loaded: %s", category_set.name, counts)
    return category_set, counts


class _TaxonomyCache:
    """The parsed set in use, per process: intake reads it on every request, and parsing the
    stored JSON each time would cost more than the rest of routing. A cheap version query
    (name, loaded_at) tells when another process reloaded the set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taxonomy: Taxonomy | None = None

    def clear(self) -> None:
        with self._lock:
            self._taxonomy = None

    def get(self, conn: Any) -> Taxonomy:
        version = category_store.category_set_version(conn)
        if version is None:
            raise InputError("category_set_none")
        with self._lock:
            if self._taxonomy is not None and self._taxonomy.version == version:
                return self._taxonomy
        row = category_store.category_set_in_use(conn)
        if row is None:
            raise InputError("category_set_none")
        taxonomy = Taxonomy(
            categories=parse_category_set_json(row["definition"]),
            calendar=parse_calendar(row["calendar_text"], source=row["calendar_name"]),
            withdrawn=frozenset(row["withdrawn"]),
            version=(row["name"], row["loaded_at"]),
        )
        with self._lock:
            self._taxonomy = taxonomy
        return taxonomy


_CACHE = _TaxonomyCache()


def taxonomy_in_use(conn: Any) -> Taxonomy:
    """The category set in use (InputError when none was loaded)."""
    return _CACHE.get(conn)


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
