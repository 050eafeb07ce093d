"""Every planner's notebook in notebooks/ runs top to bottom against a real database."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO
from tests.db.test_real_world import LA_LEVELS

pytestmark = pytest.mark.db

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, db_url, tmp_path, monkeypatch):
    # the kernel inherits this process's environment
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", db_url)
    monkeypatch.setenv("GRIDMAP_LEVELS", LA_LEVELS)
    monkeypatch.setenv("GRIDMAP_REPO", str(REPO))
    monkeypatch.setenv("GRIDMAP_NOTEBOOK_OUT", str(tmp_path))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    assert (tmp_path / "la311_per_10k.html").exists()
