"""Use cases: register grid workers and assign them to units (normally cells)."""

from __future__ import annotations

import logging
from typing import Any

from gridmap.config import Settings
from gridmap.errors import InputError, NotFoundError
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
