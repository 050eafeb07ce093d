"""The server's logging: waitress's per-request queue warning, once per interval."""

from __future__ import annotations

import logging

import waitress

from gridmap import app as app_module
from gridmap.app import OncePerInterval


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def queue_logger(name: str, clock: Clock) -> tuple[logging.Logger, list[str]]:
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.filters.clear()
    logger.handlers.clear()
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger.addHandler(Keep())
    logger.addFilter(OncePerInterval(10.0, clock=clock))
    return logger, seen


def test_one_warning_per_interval_with_what_was_held_back():
    clock = Clock()
    logger, seen = queue_logger("test.queue.a", clock)
    for depth in (1, 2, 7, 3):
        logger.warning("Task queue depth is %d", depth)
    assert seen == ["Task queue depth is 1"]
    clock.now += 9.9
    logger.warning("Task queue depth is %d", 4)
    assert len(seen) == 1
    clock.now += 0.2  # the interval is over: the next one goes through, with the count
    logger.warning("Task queue depth is %d", 2)
    assert seen[1] == (
        "Task queue depth is 2 (and 4 more such warnings in the last 10 s, deepest 7)"
    )
    clock.now += 30  # a quiet spell: the next one is plain again
    logger.warning("Task queue depth is %d", 1)
    assert seen[2] == "Task queue depth is 1"


def test_serve_throttles_waitress_queue_warnings_once(monkeypatch, settings):
    calls = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.append(kw))
    queue = logging.getLogger("waitress.queue")
    monkeypatch.setattr(queue, "filters", [])
    for _ in range(2):
        app_module.serve(object(), settings, host="127.0.0.1", port=8123)  # type: ignore[arg-type]
    assert [type(f) for f in queue.filters] == [OncePerInterval]
    assert calls[0] == {
        "host": "127.0.0.1",
        "port": 8123,
        "threads": settings.threads,
        "ident": "gridmap",
    }
