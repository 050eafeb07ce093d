"""Client-side cost of one intake request, in instructions (valgrind's callgrind), against the
floor endpoint of benchmarks/intake.py.

Why: on a shared VM the CPU times of benchmarks/intake.py spread by 30 % between runs, too
much to see a change of 5 % in intake's Python. Instructions are repeatable to about 1 %. This
counts what the server process spends per request (Flask, intake, psycopg), without waitress:
requests go through Flask's test client in this process, one at a time, to the real database.

How: the scratch database of benchmarks/intake.py (run that first: grid, categories, workers,
floor table). Each side runs twice under callgrind, with 50 and with 250 requests after the
same 20 warm-up requests; the difference of the two totals over 200 requests is the cost of
one request (start-up and imports cancel out). The issue tables are emptied before each run,
so that every run sees the same duplicates. A fixed seed gives the same requests every time.

Run: ``.venv/bin/python benchmarks/intake_instructions.py [--database-url URL]`` (needs
Debian's valgrind; about 6 minutes). Anchor: the floor (one INSERT, the same JSON decoding).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import intake as intake_bench
import psycopg
from common import GRID_LEVELS, Row, Section, print_table

SEED = 12345
WARM_UP = 20
SMALL, LARGE = 50, 250
EMPTIED = (
    "issue, idempotency_key, placement, placement_unit, issue_event, routing_decision, "
    f"issue_photo, {intake_bench.FLOOR_TABLE}"
)


def loop(path: str, count: int) -> None:
    """WARM_UP + ``count`` requests to ``path`` through Flask's test client (in callgrind)."""
    from gridmap.app import create_app
    from gridmap.config import Settings

    app = intake_bench.floor_app(create_app(Settings.from_env()))
    categories = intake_bench.categories_in_use(os.environ["GRIDMAP_DATABASE_URL"])
    plan = intake_bench.Plan(f"instr{time.time_ns()}", categories, SEED)
    client = app.test_client()
    slots = []
    while len(slots) < WARM_UP + count:
        slot = plan.next()
        if not slot.retry:
            slots.append(slot)
    for slot in slots:
        headers = {"Content-Type": "application/json", "Idempotency-Key": slot.key}
        answer = client.post(path, data=slot.body, headers=headers)
        if answer.status_code not in (200, 201):
            sys.exit(f"{path} answered {answer.status_code}: {answer.data[:300]!r}")


def instructions(url: str, path: str, count: int) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {EMPTIED}")
    env = {
        **os.environ,
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_LEVELS": GRID_LEVELS,
        "PYTHONHASHSEED": "0",
    }
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--loop",
        path,
        str(count),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"callgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_request(url: str, path: str) -> float:
    return (instructions(url, path, LARGE) - instructions(url, path, SMALL)) / (LARGE - SMALL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--loop", nargs=2, metavar=("PATH", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=intake_bench.DEFAULT_URL)
    args = parser.parse_args()
    if args.loop:
        loop(args.loop[0], int(args.loop[1]))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    intake = per_request(args.database_url, intake_bench.INTAKE_PATH)
    floor = per_request(args.database_url, intake_bench.FLOOR_PATH)
    print(f"{Path(__file__).name}: {LARGE - SMALL} requests per side, callgrind")
    print_table(
        [
            Section(
                "client instructions per request (Flask test client, one at a time)",
                [
                    Row(
                        "intake (POST /api/v1/issues)",
                        intake,
                        "floor (POST /bench/floor)",
                        floor,
                        unit="n",
                    )
                ],
            )
        ]
    )


if __name__ == "__main__":
    main()
