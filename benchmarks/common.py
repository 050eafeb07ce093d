"""Shared by the benchmark scripts: the side-by-side table, timers, the scratch database."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from gridmap.store.migrations import ensure_database, upgrade


@dataclass
class Row:
    """One line of the result table; times in seconds, ``anchor``/``goal`` may be absent."""

    name: str
    value: float | None
    anchor_name: str = ""
    anchor: float | None = None
    goal: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.anchor:
            return None
        return self.value / self.anchor


@dataclass
class Section:
    title: str
    rows: list[Row]


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if abs(seconds) < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if abs(seconds) < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def print_table(sections: list[Section]) -> None:
    """Rows per measurement; columns: time/latency, anchor, ratio, goal, met?."""
    header = ("measurement", "gridmap", "anchor", "anchor value", "ratio", "goal", "met?")
    lines: list[tuple[str, ...] | str] = []
    for section in sections:
        lines.append(section.title)
        for row in section.rows:
            ratio = row.ratio
            met = "" if row.met is None else ("yes" if row.met else "NO")
            lines.append(
                (
                    "  " + row.name,
                    format_time(row.value),
                    row.anchor_name,
                    format_time(row.anchor),
                    "" if ratio is None else f"{ratio:.2f}x",
                    row.goal,
                    met,
                )
            )
    cells = [header, *(line for line in lines if isinstance(line, tuple))]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    right = {1, 3, 4}  # numbers right-aligned

    def render(cols: tuple[str, ...]) -> str:
        return " | ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cols, widths, strict=True))
        ).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    print(render(header))
    print(rule)
    for line in lines:
        print(line if isinstance(line, str) else render(line))


@contextmanager
def instrumented(
    timings: dict[str, float], targets: list[tuple[Any, str, str]]
) -> Iterator[dict[str, float]]:
    """Time every call of ``owner.attr`` into ``timings[key]`` for each (owner, attr, key)
    while the block runs, then put the originals back. Owners are modules or classes: the
    code measured looks these names up at call time, so it runs the timed wrappers. A
    returned generator is drained inside the timer so its work counts.
    """
    saved: list[tuple[Any, str, Any]] = []

    def wrap(original: Callable[..., Any], key: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with stopwatch(timings, key):
                result = original(*args, **kwargs)
                if isinstance(result, Iterator):
                    result = iter(list(result))
                return result

        return timed

    try:
        for owner, attr, key in targets:
            original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
            saved.append((owner, attr, original))
            setattr(owner, attr, wrap(getattr(owner, attr), key))
        yield timings
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


@contextmanager
def stopwatch(timings: dict[str, float], key: str) -> Iterator[None]:
    """Add the block's wall time to ``timings[key]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - start


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per key, the fastest of the repeated runs (the least disturbed by other load)."""
    return {key: min(run[key] for run in runs) for key in runs[0]}


def recreate_database(url: str) -> None:
    """Drop the scratch database, create it again and migrate it (runs are independent)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    dbname = str(info.get("dbname") or "")
    if "bench" not in dbname:
        sys.exit(f"refusing to drop database {dbname!r}: its name must contain 'bench'")
    maintenance = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
    ensure_database(url)
    upgrade(url)
