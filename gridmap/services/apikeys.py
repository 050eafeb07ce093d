"""Use case: issue and check API keys for Open311 clients (POST requests needs one)."""

from __future__ import annotations

import hashlib
import logging
import secrets

from gridmap.errors import InputError
from gridmap.store import apikeys as apikey_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(db: Database, name: str) -> tuple[int, str]:
    """A new random key for client ``name``; the key is returned once and never stored."""
    if not name.strip():
        raise InputError("field_missing_value", name="name")
    key = secrets.token_urlsafe(32)
    with db.transaction() as conn:
        key_id = apikey_store.add_api_key(conn, name=name.strip(), key_sha256=_digest(key))
    LOGGER.info("api key %s created for %s", key_id, name)
    return key_id, key


def client_for_key(db: Database, key: str | None) -> str | None:
    """The client name of a valid key, or None (missing, unknown or revoked)."""
    if not key:
        return None
    with db.connection() as conn:
        return apikey_store.api_key_name(conn, _digest(key))


def revoke_api_key(db: Database, key_id: int) -> bool:
    with db.transaction() as conn:
        return apikey_store.revoke_api_key(conn, key_id)
