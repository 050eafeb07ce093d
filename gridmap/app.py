"""create_app(settings): the only wiring place (settings, pool, blueprints, error handling)."""

from __future__ import annotations

import atexit
import logging

from flask import Flask

from gridmap.config import Settings
from gridmap.store.db import Database
from gridmap.web import errors, open311
from gridmap.web.api import blueprint as api_blueprint
from gridmap.web.issues import blueprint as issues_blueprint
from gridmap.web.pages import blueprint as pages_blueprint

LOGGER = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Flask:
    """Build the Flask application; nothing is created at import time.

    Parameters
    ----------
    settings
        defaults to ``Settings.from_env()``.
    database
        an open pool to share (tests); by default one is created from the settings and opened
        lazily on the first request.
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__.rsplit(".", 1)[0] + ".web")
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # zh-CN names stay readable
    # 3 photos up to 5 MB each arrive base64-encoded; anything bigger is refused (413)
    app.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if database is None:
        database = Database(settings.database_url, max_size=settings.pool_max)
        atexit.register(database.close)
    app.extensions["gridmap"] = {"settings": settings, "database": database}
    app.register_blueprint(api_blueprint, url_prefix="/api/v1")
    app.register_blueprint(issues_blueprint, url_prefix="/api/v1")
    app.register_blueprint(open311.blueprint, url_prefix=open311.PREFIX)
    app.register_blueprint(pages_blueprint)
    errors.register(app)
    open311.register_errors(app)
    return app
