"""Lint, types and the one-way layer rule, run as part of the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "gridmap"],
        ["mypy"],
        ["lint-imports"],
    ],
    ids=["ruff", "ruff-format", "mypy", "import-linter"],
)
def test_tool_passes(command):
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_nothing_reads_the_shared_folder_outside_the_repository():
    """A user's machine (and CI's checkout) has only this repository: data comes from data/."""
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("gridmap", "tests", "benchmarks", "notebooks", "data")
        for path in (REPO / folder).rglob("*")
        if path.suffix in (".py", ".ipynb", ".sh", ".env")
        and path != Path(__file__)
        and "shared/data" in path.read_text(encoding="utf-8", errors="ignore")
    ]
    assert offenders == []
