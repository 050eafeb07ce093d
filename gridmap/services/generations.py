"""Which boundary generation answers lookups (shared by every use case that reads units)."""

from __future__ import annotations

import logging

from gridmap.errors import NotFoundError
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


def require_active_generation(db: Database) -> int:
    """The active generation's id; a clear error before the first activation."""
    with db.connection() as conn:
        generation = unit_store.active_generation(conn)
    if generation is None:
        raise NotFoundError("no_active_generation")
    return generation
