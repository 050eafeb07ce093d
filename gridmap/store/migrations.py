"""Apply the SQL files in migrations/ with yoyo-migrations (a maintained migration library)."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from yoyo import get_backend, read_migrations

from gridmap.errors import DatabaseError
from gridmap.store.db import redact_url

LOGGER = logging.getLogger(__name__)


def migrations_dir() -> Path:
    """migrations/ beside the package in a checkout, or shipped inside an installed wheel."""
    for candidate in (
        Path(__file__).resolve().parents[2] / "migrations",
        Path(__file__).resolve().parents[1] / "migrations",
    ):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("migrations/ folder not found")


def _yoyo_url(url: str) -> str:
    # yoyo picks its driver from the scheme: postgresql+psycopg means psycopg 3.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist; True when created."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    dbname = str(info.get("dbname") or "")
    maintenance = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    try:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone()
            if exists:
                return False
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname))
            )
            LOGGER.info("created database %s", dbname)
            return True
    except psycopg.OperationalError as exc:
        raise DatabaseError("db_unreachable", url=redact_url(url), reason=str(exc).strip()) from exc


def upgrade(url: str) -> list[str]:
    """Apply every pending migration; return the ids applied (empty when up to date)."""
    try:
        backend = get_backend(_yoyo_url(url))
    except psycopg.OperationalError as exc:
        raise DatabaseError("db_unreachable", url=redact_url(url), reason=str(exc).strip()) from exc
    migrations = read_migrations(str(migrations_dir()))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    applied = [m.id for m in pending]
    LOGGER.info("applied migrations: %s", applied or "none")
    return applied
