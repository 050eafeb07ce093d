"""Chunked point-to-line distances (gridmap.geo.distance) are GEOS's own distances, exactly,
whatever the lines look like: long rings, many short parts, holes, lines shorter than a
chunk, empty lines, points on the line, and any pair budget."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridmap.geo import distance
from gridmap.geo.distance import ChunkedLines


def wobbly_ring(rng: np.random.Generator, cx: float, cy: float, r: float, n: int) -> np.ndarray:
    angle = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = r * (1 + 0.3 * rng.uniform(-1, 1, n))
    ring = np.column_stack([cx + radius * np.cos(angle), cy + radius * np.sin(angle)])
    return np.vstack([ring, ring[:1]])


@pytest.fixture(scope="module")
def lines() -> np.ndarray:
    rng = np.random.default_rng(7)
    long_ring = shapely.LineString(wobbly_ring(rng, 0, 0, 5_000, 3_000))
    with_hole = shapely.Polygon(
        wobbly_ring(rng, 20_000, 0, 4_000, 500), [wobbly_ring(rng, 20_000, 0, 1_000, 200)]
    ).boundary
    islands = shapely.MultiLineString(
        [wobbly_ring(rng, x, y, 60, 5) for x, y in rng.uniform(-8_000, 8_000, (400, 2))]
    )
    short = shapely.LineString([(0, 0), (100, 0), (100, 100)])
    return np.array([long_ring, with_hole, islands, short, shapely.LineString()], dtype=object)


def points_for(lines: np.ndarray, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    x, y = rng.uniform(-12_000, 30_000, n), rng.uniform(-12_000, 12_000, n)
    line = rng.integers(0, len(lines) - 1, n)  # the empty line is tested on its own
    return x, y, line


@pytest.mark.parametrize("chunk_segments", [1, 7, 48, 5_000])
def test_distances_are_geos_distances(lines, chunk_segments):
    x, y, line = points_for(lines, np.random.default_rng(1), 3_000)
    got = ChunkedLines(lines, chunk_segments).distance(x, y, line)
    expected = shapely.distance(shapely.points(x, y), lines[line])
    np.testing.assert_array_equal(got, expected)


def test_a_small_pair_budget_changes_nothing(lines, monkeypatch):
    x, y, line = points_for(lines, np.random.default_rng(2), 1_000)
    chunked = ChunkedLines(lines)
    expected = chunked.distance(x, y, line)
    monkeypatch.setattr(distance, "MAX_PAIRS", 10)  # fewer pairs than one point needs
    np.testing.assert_array_equal(chunked.distance(x, y, line), expected)


def test_points_on_the_line_are_at_zero(lines):
    vertices = shapely.get_coordinates(lines[0])[::97]
    got = ChunkedLines(lines).distance(
        vertices[:, 0], vertices[:, 1], np.zeros(len(vertices), dtype=np.int64)
    )
    np.testing.assert_array_equal(got, 0.0)


def test_an_empty_line_has_no_distance(lines):
    got = ChunkedLines(lines).distance(np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([4, 3]))
    assert np.isnan(got[0]) and got[1] == 4.0  # (2, 4) is 4 above the first segment


def test_no_points():
    chunked = ChunkedLines(np.array([shapely.LineString([(0, 0), (1, 1)])], dtype=object))
    empty = np.zeros(0)
    assert len(chunked.distance(empty, empty, np.zeros(0, dtype=np.int64))) == 0


def test_lines_without_extent():
    """A vertical line and a zero-length one (no width for the Hilbert ordering)."""
    lines = np.array(
        [
            shapely.LineString([(0, 0), (0, 10)]),
            shapely.MultiLineString([[(0, 5), (0, 7)], [(0, 12), (0, 15)]]),
            shapely.LineString([(3, 3), (3, 3)]),
        ],
        dtype=object,
    )
    x, y, line = np.array([1.0, 2.0, 0.0, 0.0]), np.array([1.0, 3.0, 14.0, 0.0]), np.arange(4) % 3
    got = ChunkedLines(lines).distance(x, y, line)
    np.testing.assert_array_equal(got, shapely.distance(shapely.points(x, y), lines[line]))
