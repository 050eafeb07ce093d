"""Benchmark issue intake (POST /api/v1/issues) under waitress against the stack's floor.

What it measures
----------------
The real app (``create_app``) is served by waitress, the production WSGI server that
``gridmap serve`` runs, in a process of its own; the load comes from this process (an
asyncio/aiohttp generator). Next to intake the same server has a bare endpoint registered by
this script only, ``POST /bench/floor``: it parses the same JSON and inserts one row through
the same pool. That is the floor of the stack (HTTP, WSGI, Flask, JSON, pool, one INSERT).

A. Closed loop: ``--connections`` clients send back to back for ``--duration`` seconds.
   Throughput of intake against the floor's. Goal: intake >= 50 % of the floor.
B. Open loop: ``--rate`` requests per second (default 200) for ``--open-duration`` seconds,
   sent on a fixed schedule whatever the answers do; latency is measured from each request's
   intended send time, so a slow answer delays nothing and hides nothing (no coordinated
   omission). Goal: intake p99 <= 50 ms at 200 requests/s.

In both, 5 % of the requests are retries: the same Idempotency-Key and the same bytes as a
request sent a few requests earlier (often still in flight, so the retry races the first one;
otherwise it comes after the answer).

Correctness (exit status 1 on any failure): every request answered 2xx, no other status; the
issues in the database are counted afterwards: every distinct key has exactly one issue
(``idempotency_key.issue_id``), every answer carried that issue's id (retries included), the
issue count equals the number of distinct keys (nothing duplicated, nothing lost), and
the floor table holds one row per floor answer.

Set-up (fixed seed): the scratch database is dropped, recreated and migrated (its name must
contain ``bench`` and ``intakebench``), the synthetic Nanjing grid of ``common.py`` (100
districts, ``--cells`` Voronoi cells) imported through the real import, the ``cn`` category set
loaded, one grid worker per cell with a duty period covering the run. Requests: uniform
points inside the grid, random categories of the set (required attributes filled), some with
the reporter's phone or e-mail.

Run: ``.venv/bin/python benchmarks/intake.py [--connections 16] [--duration 20] [--rate 200]
[--open-duration 25] [--database-url URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import numpy as np
import psutil
import psycopg
from common import (
    GRID_LEVELS,
    Row,
    Section,
    describe_machine,
    grid_extent,
    import_grid,
    print_table,
    recreate_database,
    stopwatch,
    write_grid,
)

from gridmap.config import Settings
from gridmap.domain.categories import Category
from gridmap.domain.levels import Hierarchy
from gridmap.services import categories as category_service
from gridmap.store import workers as worker_store
from gridmap.store.db import Database

if TYPE_CHECKING:
    from flask import Flask

NAME = "intakebench"
DEFAULT_URL = f"postgresql://postgres@localhost:5432/gridmap_bench_{NAME}"
SEED = 20240611
RETRY_SHARE = 0.05
RETRY_BACK = 8  # a retry repeats one of the last RETRY_BACK first sends
WARMUP_S = 3.0
THROUGHPUT_GOAL = 0.5  # intake >= 50 % of the floor's throughput
P99_GOAL_S = 0.050  # intake p99 <= 50 ms at the open-loop rate
INTAKE_PATH = "/api/v1/issues"
FLOOR_PATH = "/bench/floor"
FLOOR_TABLE = "bench_floor"
DESCRIPTIONS = ("垃圾堆放", "路灯不亮", "井盖缺失", "占道经营", "water leaking on the pavement", "")


# --- the server (a process of its own) -----------------------------------------------------------


def floor_app(app: Flask) -> Flask:
    """``app`` plus the floor endpoint (and a readiness check for the server's start)."""
    from flask import Response, jsonify, request

    from gridmap.web.context import database

    @app.post(FLOOR_PATH)
    def floor() -> tuple[Response, int]:
        # the same request decoding as intake, then one INSERT through the same pool
        body = request.get_json(silent=True)
        with database().connection() as conn:
            row = conn.execute(
                f"INSERT INTO {FLOOR_TABLE} (idem_key, body) VALUES (%s, %s) RETURNING id",
                (request.headers.get("Idempotency-Key"), json.dumps(body, ensure_ascii=False)),
            ).fetchone()
        assert row is not None
        return jsonify({"id": row[0]}), 201

    @app.get("/bench/ready")
    def ready() -> Response:
        with database().connection() as conn:
            conn.execute("SELECT 1")
        return jsonify({"ok": True})

    return app


def serve(port: int) -> None:
    """The real app plus the floor endpoint, under waitress with the settings `gridmap serve`
    uses (threads, pool size and log level from the environment)."""
    from gridmap.app import create_app
    from gridmap.app import serve as serve_app

    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    serve_app(floor_app(create_app(settings)), settings, host="127.0.0.1", port=port)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url, "GRIDMAP_LEVELS": GRID_LEVELS}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"server exited with {server.returncode}; see {log}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /bench/ready HTTP/1.0\r\n\r\n")
                if b" 200 " in sock.recv(100):
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    sys.exit(f"server did not answer within 60 s; see {log}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()  # our own child, by its handle
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- set-up ----------------------------------------------------------------------------------


def set_up(url: str, cells: int, rng: np.random.Generator, workdir: Path) -> dict[str, float]:
    """Scratch database, grid, category set, one on-duty worker per cell, the floor table."""
    timings: dict[str, float] = {}
    settings = Settings(database_url=url, levels=Hierarchy.parse(GRID_LEVELS))
    with stopwatch(timings, "database"):
        recreate_database(url, also_contains=NAME)
    with stopwatch(timings, "grid"):
        cell_frame, districts_path, cells_path = write_grid(workdir, cells, rng)
    with Database(url) as db:
        timings.update(import_grid(db, settings, districts_path, cells_path))
        with stopwatch(timings, "categories"):
            category_service.load_categories(db, settings, "cn")
        with stopwatch(timings, "workers"), db.transaction() as conn:
            now = datetime.now(UTC)
            for code in cell_frame["code"]:
                wid = worker_store.add_worker(
                    conn, name=f"网格员{code}", phone="13800000000", department=None
                )
                worker_store.assign_worker(
                    conn, worker_id=wid, level="cell", code=code, role="primary"
                )
                # a roster that covers the run: routing checks the duty period
                worker_store.add_duties(
                    conn, [(wid, now - timedelta(hours=1), now + timedelta(days=1))]
                )
            conn.execute(
                f"CREATE TABLE {FLOOR_TABLE} (id bigserial PRIMARY KEY, idem_key text, "
                "body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            )
    return timings


def analyze(url: str) -> str:
    """ANALYZE the database; returns the autovacuum setting. This cluster may run with
    autovacuum off (Debian conf.d for CI): without statistics the planner misjudges the small
    fresh tables (a sequential scan of every worker assignment per request), which a
    deployment whose autovacuum has analysed its tables never sees."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        row = conn.execute("SHOW autovacuum").fetchone()
    return str(row[0]) if row else "?"


def categories_in_use(url: str) -> list[Category]:
    with Database(url) as db, db.connection() as conn:
        taxonomy = category_service.taxonomy_in_use(conn)
    return [c for c in taxonomy.categories.categories if c.code not in taxonomy.withdrawn]


def attribute_values(category: Category) -> dict[str, Any]:
    """A valid answer for each required attribute (the others left out)."""
    values: dict[str, Any] = {}
    for attribute in category.attributes:
        if not attribute.required:
            continue
        if attribute.datatype == "singlevaluelist":
            values[attribute.code] = attribute.values[0][0]
        elif attribute.datatype == "multivaluelist":
            values[attribute.code] = [attribute.values[0][0]]
        elif attribute.datatype == "number":
            values[attribute.code] = 1
        else:
            values[attribute.code] = "bench"
    return values


# --- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    key: str
    body: bytes
    retry: bool


class Plan:
    """Requests in send order from a fixed seed; RETRY_SHARE of them repeat (same key, same
    bytes) one of the last RETRY_BACK first sends."""

    def __init__(self, prefix: str, categories: list[Category], seed: int) -> None:
        self.prefix = prefix
        self.rng = np.random.default_rng(seed)
        self.categories = categories
        self.attributes = [attribute_values(c) for c in categories]
        lon0, lat0, lon1, lat1 = grid_extent()
        margin = 1e-4  # strictly inside the grid
        self.box = (lon0 + margin, lat0 + margin, lon1 - margin, lat1 - margin)
        self.recent: deque[Slot] = deque(maxlen=RETRY_BACK)
        self.sent = 0

    def next(self) -> Slot:
        rng = self.rng
        if self.recent and rng.random() < RETRY_SHARE:
            first = self.recent[int(rng.integers(len(self.recent)))]
            return Slot(first.key, first.body, True)
        self.sent += 1
        i = int(rng.integers(len(self.categories)))
        lon0, lat0, lon1, lat1 = self.box
        body: dict[str, Any] = {
            "category": self.categories[i].code,
            "description": DESCRIPTIONS[int(rng.integers(len(DESCRIPTIONS)))],
            "lon": round(float(rng.uniform(lon0, lon1)), 7),
            "lat": round(float(rng.uniform(lat0, lat1)), 7),
            "channel": "app",
        }
        if self.attributes[i]:
            body["attributes"] = self.attributes[i]
        contact = rng.random()
        if contact < 0.3:
            body["reporter_phone"] = f"139{int(rng.integers(10**8)):08d}"
        elif contact < 0.4:
            body["reporter_name"] = "张三"
            body["reporter_email"] = f"r{self.sent}@example.org"
        slot = Slot(f"{self.prefix}-{self.sent}", json.dumps(body).encode(), False)
        self.recent.append(slot)
        return slot


@dataclass
class Outcome:
    key: str
    retry: bool
    latency: float  # from the intended send time (open loop) or the actual send (closed)
    status: int  # 0: no answer (connection error, timeout)
    issue_id: int | None
    replayed: bool


@dataclass
class Phase:
    name: str
    path: str
    wall: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    database_cpu: float = 0.0
    stolen: float = 0.0  # of the machine's CPU time, by the hypervisor

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if 200 <= o.status < 300]

    def throughput(self) -> float:
        return len(self.ok) / self.wall if self.wall else 0.0

    def errors(self) -> Counter[int]:
        return Counter(o.status for o in self.outcomes if not 200 <= o.status < 300)

    @classmethod
    def combined(cls, name: str, parts: list[Phase]) -> Phase:
        """One phase of several rounds: their outcomes, wall and CPU times added."""
        whole = cls(name, parts[0].path)
        for part in parts:
            whole.outcomes += part.outcomes
            whole.wall += part.wall
            whole.server_cpu += part.server_cpu
            whole.client_cpu += part.client_cpu
            whole.database_cpu += part.database_cpu
            whole.stolen += part.stolen
        return whole

    def percentile(self, q: float) -> float:
        return float(np.percentile([o.latency for o in self.outcomes], q))


async def send(session: aiohttp.ClientSession, url: str, slot: Slot, started: float) -> Outcome:
    headers = {"Content-Type": "application/json", "Idempotency-Key": slot.key}
    try:
        async with session.post(url, data=slot.body, headers=headers) as response:
            payload = await response.read()
            status = response.status
            replayed = response.headers.get("Idempotent-Replayed") == "true"
    except (aiohttp.ClientError, TimeoutError):
        return Outcome(slot.key, slot.retry, time.perf_counter() - started, 0, None, False)
    issue_id = None
    if 200 <= status < 300:
        issue_id = int(json.loads(payload)["id"])
    return Outcome(slot.key, slot.retry, time.perf_counter() - started, status, issue_id, replayed)


def session_for(connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, force_close=False),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def closed_loop(base: str, phase: Phase, plan: Plan, connections: int, seconds: float):
    """``connections`` clients, each sending its next request when the last one is answered."""
    url = base + phase.path
    async with session_for(connections) as session:
        stop = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < stop:
                phase.outcomes.append(await send(session, url, plan.next(), time.perf_counter()))

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        phase.wall = time.perf_counter() - start


async def open_loop(base: str, phase: Phase, plan: Plan, rate: float, seconds: float):
    """One request every 1/rate s on a fixed schedule; latency from the intended send time."""
    url = base + phase.path
    total = int(rate * seconds)
    # enough connections that the client never queues at 200/s; below waitress's limit (100)
    async with session_for(64) as session:
        tasks = []
        start = time.perf_counter()
        for i in range(total):
            intended = start + i / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(session, url, plan.next(), intended)))
        phase.outcomes.extend(await asyncio.gather(*tasks))
        phase.wall = time.perf_counter() - start


def backends(server: psutil.Process) -> list[psutil.Process]:
    """The PostgreSQL backends serving the server's pool (found by the pool's client ports)."""
    ports = {
        c.laddr.port for c in server.net_connections(kind="tcp") if c.raddr and c.raddr.port == 5432
    }
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "postgres":
            continue
        try:
            if any(c.raddr and c.raddr.port in ports for c in proc.net_connections(kind="tcp")):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def stolen_seconds() -> float:
    """CPU time the hypervisor gave to other guests while this VM wanted it (all cores): a
    phase with much of it ran on a slower machine than its neighbours."""
    return float(getattr(psutil.cpu_times(), "steal", 0.0))


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            total += sum(proc.cpu_times()[:2])
        except psutil.Error:
            continue
    return total


def run_phase(server: psutil.Process, phase: Phase, run: Any) -> Phase:
    """Run one load phase, with the CPU time that the server, its database backends and
    this process (the load generator) spent during it."""
    me = psutil.Process()
    pool = backends(server)  # the pool holds its connections: the same backends throughout
    s0, c0, d0 = cpu_seconds([server]), cpu_seconds([me]), cpu_seconds(pool)
    steal0 = stolen_seconds()
    asyncio.run(run)
    phase.server_cpu = cpu_seconds([server]) - s0
    phase.client_cpu = cpu_seconds([me]) - c0
    phase.database_cpu = cpu_seconds(pool) - d0
    phase.stolen = stolen_seconds() - steal0
    errors = dict(phase.errors())
    print(
        f"  {phase.name}: {len(phase.outcomes):,} requests in {phase.wall:.1f} s, "
        f"{phase.throughput():,.0f} ok/s, errors {errors or 'none'}; CPU: server "
        f"{phase.server_cpu / phase.wall:.0%}, its {len(pool)} PostgreSQL backends "
        f"{phase.database_cpu / phase.wall:.0%}, load generator "
        f"{phase.client_cpu / phase.wall:.0%}; stolen by the hypervisor "
        f"{phase.stolen / phase.wall:.0%}; load average {os.getloadavg()[0]:.1f}"
    )
    return phase


# --- correctness -----------------------------------------------------------------------------


def check_intake(url: str, phases: list[Phase]) -> tuple[list[str], dict[str, int]]:
    """Zero lost, zero duplicated: one issue per distinct key, the id every answer carried."""
    problems: list[str] = []
    answered: dict[str, set[int]] = {}
    keys: set[str] = set()
    for phase in phases:
        for o in phase.outcomes:
            keys.add(o.key)
            if o.issue_id is not None:
                answered.setdefault(o.key, set()).add(o.issue_id)
        if phase.errors():
            problems.append(f"{phase.name}: answers other than 2xx: {dict(phase.errors())}")
    with psycopg.connect(url) as conn:
        stored: dict[str, int] = dict(
            conn.execute(
                "SELECT k.key, i.id FROM idempotency_key k JOIN issue i ON i.id = k.issue_id "
                "WHERE k.status = 201"
            ).fetchall()
        )
        issues = conn.execute("SELECT count(*) FROM issue").fetchone()[0]  # type: ignore[index]
        targets: dict[str, int] = dict(
            conn.execute("SELECT target_kind, count(*) FROM issue GROUP BY 1")
        )
    many = {k: ids for k, ids in answered.items() if len(ids) > 1}
    if many:
        problems.append(
            f"{len(many)} keys answered with different issue ids, e.g. {many.popitem()}"
        )
    lost = [k for k in keys if k not in stored]
    if lost:
        problems.append(f"{len(lost)} keys sent have no issue (lost), e.g. {lost[:3]}")
    wrong = [k for k, ids in answered.items() if k in stored and stored[k] not in ids]
    if wrong:
        problems.append(f"{len(wrong)} keys answered with an id that is not their issue")
    if issues != len(keys):
        problems.append(f"{issues:,} issues stored for {len(keys):,} distinct keys")
    counts = {
        "keys": len(keys),
        "issues": int(issues),
        "retries": sum(o.retry for p in phases for o in p.outcomes),
        "replayed": sum(o.replayed for p in phases for o in p.outcomes),
        **{f"target {k}": int(v) for k, v in targets.items()},
    }
    return problems, counts


def check_floor(url: str, phases: list[Phase]) -> list[str]:
    ids = {o.issue_id for p in phases for o in p.ok}
    with psycopg.connect(url) as conn:
        rows = {r[0] for r in conn.execute(f"SELECT id FROM {FLOOR_TABLE}")}
    problems = [
        f"{p.name}: answers other than 2xx: {dict(p.errors())}" for p in phases if p.errors()
    ]
    if rows != ids:
        problems.append(f"floor: {len(rows):,} rows for {len(ids):,} answers")
    return problems


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        epilog="The scratch database is dropped and recreated on every run.",
    )
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--cells", type=int, default=1000, help="Voronoi cells (default 1000)")
    parser.add_argument(
        "--connections", type=int, default=16, help="closed-loop clients (default 16)"
    )
    parser.add_argument(
        "--duration", type=float, default=20.0, help="closed-loop seconds per side (default 20)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=6,
        help="closed-loop rounds per side, the sides alternating (default 6)",
    )
    parser.add_argument(
        "--rate", type=float, default=200.0, help="open-loop requests per second (default 200)"
    )
    parser.add_argument(
        "--open-duration",
        type=float,
        default=25.0,
        help="open-loop seconds per side (default 25)",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help=f"scratch database, DROPPED and recreated (default {DEFAULT_URL})",
    )
    return parser.parse_args(argv)


def latency_rows(intake: Phase, floor: Phase, goal: bool) -> list[Row]:
    rows = []
    for q in (50, 95, 99):
        p99 = q == 99 and goal
        value = intake.percentile(q)
        rows.append(
            Row(
                f"intake p{q}",
                value,
                f"floor p{q}",
                floor.percentile(q),
                "<= 50 ms" if p99 else "",
                value <= P99_GOAL_S if p99 else None,
            )
        )
    rows.append(
        Row(
            "intake max",
            max(o.latency for o in intake.outcomes),
            "floor max",
            max(o.latency for o in floor.outcomes),
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    logging.basicConfig(level=logging.WARNING)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows live
    rng = np.random.default_rng(SEED)
    print(f"set-up: {args.cells:,} cells, seed {SEED}; load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="gridmap_bench_") as tmp:
        workdir = Path(tmp)
        setup = set_up(args.database_url, args.cells, rng, workdir)
        print(f"  machine: {describe_machine(args.database_url)}")
        autovacuum = analyze(args.database_url)
        print(f"  autovacuum {autovacuum}: ANALYZE run after the set-up and after the warm-ups")
        categories = categories_in_use(args.database_url)
        port = free_port()
        server = start_server(args.database_url, port, workdir / "server.log")
        settings = Settings.from_env()
        print(
            f"  waitress on port {port}, {settings.threads} threads, pool of "
            f"{settings.pool_max}; {len(categories)} categories; load from pid {os.getpid()}, "
            f"server pid {server.pid}"
        )
        base = f"http://127.0.0.1:{port}"
        proc = psutil.Process(server.pid)
        plans = {
            "intake": Plan("k", categories, SEED + 1),
            "floor": Plan("k", categories, SEED + 1),  # the same requests in the same order
        }
        paths = {"intake": INTAKE_PATH, "floor": FLOOR_PATH}
        phases: dict[str, list[Phase]] = {"intake": [], "floor": []}
        try:
            for side in ("intake", "floor"):  # warm up both (pool, caches, JIT-less Python)
                warm = Phase(f"warm-up {side}", paths[side])
                phases[side].append(
                    run_phase(
                        proc,
                        warm,
                        closed_loop(base, warm, plans[side], args.connections, WARMUP_S),
                    )
                )
            analyze(args.database_url)  # statistics with issues in the tables, as in service
            # rounds in the order intake, floor, floor, intake, intake, floor ... so that
            # the machine's drift (this VM's speed varies by a third from minute to minute
            # with its neighbours) falls on both sides alike
            rounds: dict[str, list[Phase]] = {"intake": [], "floor": []}
            for n in range(args.rounds):
                for side in ("intake", "floor") if n % 2 == 0 else ("floor", "intake"):
                    one = Phase(f"closed loop {side}, round {n + 1}", paths[side])
                    rounds[side].append(one)
                    phases[side].append(
                        run_phase(
                            proc,
                            one,
                            closed_loop(
                                base,
                                one,
                                plans[side],
                                args.connections,
                                args.duration / args.rounds,
                            ),
                        )
                    )
            closed = {side: Phase.combined(f"closed loop {side}", r) for side, r in rounds.items()}
            round_ratios = [
                i.throughput() / f.throughput()
                for i, f in zip(rounds["intake"], rounds["floor"], strict=True)
            ]
            opened: dict[str, Phase] = {}
            for side in ("intake", "floor"):
                opened[side] = Phase(f"open loop {side}", paths[side])
                phases[side].append(
                    run_phase(
                        proc,
                        opened[side],
                        open_loop(base, opened[side], plans[side], args.rate, args.open_duration),
                    )
                )
        finally:
            stop_server(server)
        problems, counts = check_intake(args.database_url, phases["intake"])
        problems += check_floor(args.database_url, phases["floor"])
        print(f"  stored: {counts}; load average {os.getloadavg()}")

    ratio_ok = closed["intake"].throughput() >= THROUGHPUT_GOAL * closed["floor"].throughput()
    c_in, c_fl = closed["intake"], closed["floor"]
    sections = [
        Section(
            "set-up (informational)",
            [
                Row("drop, create, migrate database", setup["database"]),
                Row("generate grid, write GeoPackages", setup["grid"]),
                Row("import_boundaries district + cell", setup["district"] + setup["cell"]),
                Row("load category set cn", setup["categories"]),
                Row(f"{args.cells:,} workers with duty", setup["workers"]),
            ],
        ),
        Section(
            f"A. closed loop, {args.connections} connections, {args.duration:.0f} s each side "
            f"in {args.rounds} alternating rounds",
            [
                Row(
                    "intake throughput",
                    c_in.throughput(),
                    "floor throughput",
                    c_fl.throughput(),
                    ">= 0.50x",
                    ratio_ok,
                    unit="/s",
                ),
                Row("per-round ratio, lowest (info)", min(round_ratios), unit="x"),
                Row("per-round ratio, median (info)", float(np.median(round_ratios)), unit="x"),
                Row("per-round ratio, highest (info)", max(round_ratios), unit="x"),
                Row("intake p50 (info)", c_in.percentile(50), "floor p50", c_fl.percentile(50)),
                Row("intake p99 (info)", c_in.percentile(99), "floor p99", c_fl.percentile(99)),
                Row(
                    "server CPU per intake request",
                    c_in.server_cpu / max(len(c_in.ok), 1),
                    "per floor request",
                    c_fl.server_cpu / max(len(c_fl.ok), 1),
                ),
                Row(
                    "PostgreSQL CPU per intake request",
                    c_in.database_cpu / max(len(c_in.ok), 1),
                    "per floor request",
                    c_fl.database_cpu / max(len(c_fl.ok), 1),
                ),
                Row(
                    "intake errors (non-2xx)",
                    sum(c_in.errors().values()),
                    "floor errors",
                    sum(c_fl.errors().values()),
                    "0",
                    not c_in.errors(),
                    unit="n",
                ),
            ],
        ),
        Section(
            f"B. open loop, {args.rate:.0f} requests/s for {args.open_duration:.0f} s each, "
            "latency from the intended send time",
            [
                *latency_rows(opened["intake"], opened["floor"], goal=True),
                Row(
                    "intake answered per second",
                    opened["intake"].throughput(),
                    "floor",
                    opened["floor"].throughput(),
                    unit="/s",
                ),
                Row(
                    "intake errors (non-2xx)",
                    sum(opened["intake"].errors().values()),
                    "floor errors",
                    sum(opened["floor"].errors().values()),
                    "0",
                    not opened["intake"].errors(),
                    unit="n",
                ),
            ],
        ),
        Section(
            "C. stored afterwards (all intake phases)",
            [
                Row("distinct idempotency keys sent", counts["keys"], unit="n"),
                Row("retries sent (same key, same body)", counts["retries"], unit="n"),
                Row("answers marked Idempotent-Replayed", counts["replayed"], unit="n"),
                Row(
                    "issues in the database",
                    counts["issues"],
                    "distinct keys",
                    counts["keys"],
                    "= keys",
                    counts["issues"] == counts["keys"],
                    unit="n",
                ),
            ],
        ),
    ]
    print()
    print_table(sections)
    if problems:
        print("\nCORRECTNESS CHECK FAILED:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("\ncorrectness checks passed (zero lost, zero duplicated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
