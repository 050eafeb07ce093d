"""create_app(settings): the only wiring place (settings, pool, blueprints, error handling)."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable

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


class OncePerInterval(logging.Filter):
    """Lets one record through per ``interval`` seconds and counts the rest, told in the next
    one let through.

    For waitress's "Task queue depth is N": it is logged as a WARNING for every request that
    has to wait for a thread, which under a surge of reports is thousands of lines a second
    (about 5 % of the server's GIL time in the intake benchmark), while one line every few
    seconds says the same: the server is saturated, and how deep the queue got.
    """

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._next = -float("inf")
        self._held = 0
        self._deepest = 0

    def filter(self, record: logging.LogRecord) -> bool:
        depth = record.args[0] if isinstance(record.args, tuple) and record.args else None
        with self._lock:
            if isinstance(depth, int):
                self._deepest = max(self._deepest, depth)
            now = self.clock()
            if now < self._next:
                self._held += 1
                return False
            if self._held:
                record.msg = f"{record.msg} (and {self._held} more such warnings in the last "
                record.msg += f"{self.interval:g} s, deepest {self._deepest})"
            self._next, self._held, self._deepest = now + self.interval, 0, 0
            return True


def serve(app: Flask, settings: Settings, *, host: str, port: int) -> None:
    """Run ``app`` under waitress, a production-grade WSGI server, as `gridmap serve` does (and
    the intake benchmark, so that it measures what is deployed)."""
    import waitress

    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, OncePerInterval) for f in queue_log.filters):
        queue_log.addFilter(OncePerInterval())
    waitress.serve(app, host=host, port=port, threads=settings.threads, ident="gridmap")
