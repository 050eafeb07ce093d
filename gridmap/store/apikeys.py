"""API keys of Open311 clients: only the SHA-256 of a key is stored."""

from __future__ import annotations

import logging

import psycopg

LOGGER = logging.getLogger(__name__)


def add_api_key(conn: psycopg.Connection, *, name: str, key_sha256: str) -> int:
    row = conn.execute(
        "INSERT INTO api_key (name, key_sha256) VALUES (%s, %s) RETURNING id", (name, key_sha256)
    ).fetchone()
    assert row is not None
    return int(row[0])


def api_key_name(conn: psycopg.Connection, key_sha256: str) -> str | None:
    """The client's name for a valid (not revoked) key, else None."""
    row = conn.execute(
        "SELECT name FROM api_key WHERE key_sha256 = %s AND revoked_at IS NULL", (key_sha256,)
    ).fetchone()
    return str(row[0]) if row else None


def revoke_api_key(conn: psycopg.Connection, key_id: int) -> bool:
    return (
        conn.execute(
            "UPDATE api_key SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL",
            (key_id,),
        ).rowcount
        == 1
    )
