"""Per-request access to the wired settings and pool, and the reader's language."""

from __future__ import annotations

from flask import current_app, request

from gridmap.config import Settings
from gridmap.store.db import Database


def settings() -> Settings:
    config: Settings = current_app.extensions["gridmap"]["settings"]
    return config


def database() -> Database:
    pool: Database = current_app.extensions["gridmap"]["database"]
    return pool


def language() -> str:
    """``?lang=`` first, then Accept-Language, then GRIDMAP_LANG."""
    # Most API clients send neither: skip building the query and header structures then
    # (every intake request asks; benchmarks/intake.py)
    if request.query_string:
        asked = request.args.get("lang")
        if asked in ("en", "zh-CN", "zh"):
            return "zh-CN" if asked.startswith("zh") else "en"
    if "Accept-Language" in request.headers:
        best = request.accept_languages.best_match(["en", "zh-CN", "zh"])
        if best:
            return "zh-CN" if best.startswith("zh") else "en"
    return settings().lang
