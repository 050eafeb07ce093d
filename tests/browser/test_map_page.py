"""The unit map page in a real Chromium: Leaflet loads from our server, polygons are drawn,
nothing is fetched from any other host (the product must work offline and inside China)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright
from waitress.server import create_server

from gridmap.app import create_app

pytestmark = [pytest.mark.db, pytest.mark.browser]

CHROMIUM = os.environ.get("GRIDMAP_CHROMIUM", "/usr/bin/chromium")
# flags for a sandboxed, offline machine (no background calls to Google's services)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(settings, database, load_small_grid) -> Iterator[str]:
    """The real app under waitress (the server `gridmap serve` uses) on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = create_server(create_app(settings, database=database), host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def browser():
    assert shutil.which(CHROMIUM) or os.path.exists(CHROMIUM), (
        f"Chromium not found at {CHROMIUM}: run `make test` (installs Debian's chromium)"
    )
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def test_unit_map_renders_offline(live_server, browser, tmp_path):
    page = browser.new_page(locale="zh-CN")
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/units/320101/map", wait_until="networkidle")

    # the unit outline, its two children and its neighbour are drawn as SVG paths
    page.wait_for_selector("path.leaflet-interactive")
    assert page.locator("path.leaflet-interactive").count() >= 4
    assert page.evaluate("typeof L") == "object"
    assert page.locator("#unit-title").inner_text().startswith("区 西区")
    assert "南京市" in page.locator("#unit-chain").inner_text()
    assert errors == []
    hosts = {urlparse(url).netloc for url in requested if not url.startswith("data:")}
    assert hosts == {urlparse(live_server).netloc}, requested
    page.screenshot(path=str(tmp_path / "map.png"))
    if os.environ.get("GRIDMAP_KEEP_SCREENSHOT"):
        shutil.copy(tmp_path / "map.png", os.environ["GRIDMAP_KEEP_SCREENSHOT"])
    assert (tmp_path / "map.png").stat().st_size > 5_000


def test_neighbour_link_leads_to_its_map(live_server, browser):
    page = browser.new_page(locale="en-US")
    page.goto(f"{live_server}/units/320101/map?lang=en", wait_until="networkidle")
    page.goto(f"{live_server}/units/320102/map?lang=en", wait_until="networkidle")
    assert page.locator("#unit-title").inner_text().startswith("District 东区")
    chain = page.locator("#unit-chain a")
    chain.first.click()
    page.wait_for_url("**/units/3201/map**")
    assert "南京市" in page.locator("#unit-title").inner_text()
