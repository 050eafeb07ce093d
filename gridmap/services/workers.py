"""Use cases: register grid workers, assign them to units (normally cells), and keep their
duty rosters."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gridmap.config import Settings
from gridmap.errors import InputError, NotFoundError
from gridmap.services.categories import current_taxonomy
from gridmap.services.units import find_unit
from gridmap.store import workers as worker_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)

ROLES = ("primary", "backup")


def add_worker(
    db: Database, *, name: str, phone: str | None = None, department: str | None = None
) -> int:
    if not name.strip():
        raise InputError("parameter_missing", name="name")
    with db.transaction() as conn:
        return worker_store.add_worker(conn, name=name.strip(), phone=phone, department=department)


def assign_worker(
    db: Database,
    settings: Settings,
    worker_id: int,
    code: str,
    *,
    level: str | None = None,
    role: str = "primary",
) -> dict[str, Any]:
    """Assign a worker to a unit of the active generation; returns the unit's workers."""
    if role not in ROLES:
        raise InputError("role_invalid", role=role, roles=", ".join(ROLES))
    unit = find_unit(db, settings, code, level=level)["properties"]
    with db.transaction() as conn:
        if not worker_store.worker_exists(conn, worker_id):
            raise NotFoundError("worker_unknown", worker=worker_id)
        worker_store.assign_worker(
            conn, worker_id=worker_id, level=unit["level"], code=unit["code"], role=role
        )
        return {
            "unit": unit["code"],
            "level": unit["level"],
            "workers": worker_store.unit_workers(conn, level=unit["level"], code=code),
        }


def list_workers(db: Database) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return worker_store.list_workers(conn)


def unit_workers(db: Database, *, level: str, code: str) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return worker_store.unit_workers(conn, level=level, code=code)


# --- duty rosters (issue 5: routing skips a worker who is off duty) ---------------------------

ROSTER_COLUMNS = ("worker_id", "starts_at", "ends_at")


@dataclass(frozen=True)
class Roster:
    periods: tuple[tuple[int, datetime, datetime], ...]
    added: int


def _roster_zone(db: Database) -> ZoneInfo | None:
    """Where a roster's times without an offset are read: the deployment's time zone (the
    category set's); None before a set is loaded, and then every time needs its offset."""
    try:
        return ZoneInfo(current_taxonomy(db).categories.timezone)
    except InputError:
        return None


def _duty_time(text: str, *, zone: ZoneInfo | None, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            "roster_invalid", where=where, reason=f"{text!r} is not an ISO 8601 date-time"
        ) from None
    if value.tzinfo is None:
        if zone is None:
            raise InputError("datetime_naive", value=f"{where}: {text}")
        value = value.replace(tzinfo=zone)
    return value


def _period(
    worker: str, starts: str, ends: str, *, zone: ZoneInfo | None, where: str
) -> tuple[int, datetime, datetime]:
    if not worker.strip().isdigit():
        raise InputError("roster_invalid", where=where, reason=f"worker_id {worker!r}")
    start = _duty_time(starts, zone=zone, where=where)
    end = _duty_time(ends, zone=zone, where=where)
    if end <= start:
        raise InputError("roster_invalid", where=where, reason="ends_at is not after starts_at")
    return int(worker), start, end


def _store_periods(db: Database, periods: list[tuple[int, datetime, datetime]]) -> Roster:
    with db.transaction() as conn:
        unknown = worker_store.missing_workers(conn, sorted({p[0] for p in periods}))
        if unknown:
            raise NotFoundError("worker_unknown", worker=", ".join(map(str, unknown)))
        added = worker_store.add_duties(conn, periods)
    LOGGER.info("%d duty periods, %d new", len(periods), added)
    return Roster(tuple(periods), added)


def add_duty(db: Database, worker_id: int, starts_at: str, ends_at: str) -> Roster:
    """One duty period; times in ISO 8601 (without an offset: the deployment's time zone)."""
    period = _period(str(worker_id), starts_at, ends_at, zone=_roster_zone(db), where="duty")
    return _store_periods(db, [period])


def import_roster(db: Database, path: Path) -> Roster:
    """A roster CSV (worker_id, starts_at, ends_at), all or nothing: the first bad row stops
    it with its line number; periods already stored are skipped, so a re-import adds nothing."""
    zone = _roster_zone(db)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError("roster_invalid", where=str(path), reason=str(exc)) from None
    if not rows or any(c not in rows[0] for c in ROSTER_COLUMNS):
        raise InputError(
            "roster_invalid", where=str(path), reason="columns: " + ", ".join(ROSTER_COLUMNS)
        )
    periods = [
        _period(
            row["worker_id"] or "",
            row["starts_at"] or "",
            row["ends_at"] or "",
            zone=zone,
            where=f"{path.name} line {line}",
        )
        for line, row in enumerate(rows, 2)
    ]
    return _store_periods(db, periods)


def list_duties(
    db: Database, *, worker_id: int | None = None, since: datetime | None = None
) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return worker_store.duties(conn, worker_id=worker_id, since=since)
