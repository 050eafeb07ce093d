"""Travel times, band polygons and coverage properties against independent references."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmap.analysis import isochrones as iso

UTM = pyproj.CRS.from_epsg(32650)


def grid_network(rows: int, cols: int, spacing_m: float = 100.0, *, drop: np.ndarray | None = None):
    """A street grid in metres (nodes row-major); ``drop`` removes some edges."""
    xs, ys = np.meshgrid(np.arange(cols) * spacing_m, np.arange(rows) * spacing_m)
    x, y = xs.ravel() + 500_000.0, ys.ravel() + 3_500_000.0
    idx = np.arange(rows * cols).reshape(rows, cols)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    if drop is not None:
        keep = ~drop[: len(u)]
        u, v = u[keep], v[keep]
    to_ll = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(x, y)
    network, _ = iso.build_network(np.arange(len(x)) + 1000, lon, lat, u, v, crs=UTM)
    return network


def networkx_reference(network: iso.Network, sources: iso.Sources) -> np.ndarray:
    """Independent reference: NetworkX multi-source Dijkstra on the same graph, with each
    source as an extra node joined to its two ends."""
    graph = nx.Graph()
    graph.add_nodes_from(range(network.node_count))
    for a, b, w in zip(network.edge_u, network.edge_v, network.edge_length_m, strict=True):
        graph.add_edge(int(a), int(b), weight=float(w))
    names = []
    for i in range(len(sources)):
        name = ("source", i)
        names.append(name)
        for node, cost in (
            (sources.node_a[i], sources.cost_a_m[i]),
            (sources.node_b[i], sources.cost_b_m[i]),
        ):
            old = graph.get_edge_data(name, int(node))
            if old is None or old["weight"] > cost:
                graph.add_edge(name, int(node), weight=float(cost))
    lengths = nx.multi_source_dijkstra_path_length(graph, names, weight="weight")
    return np.array([lengths.get(i, np.inf) for i in range(network.node_count)])


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(2, 7),
    cols=st.integers(2, 7),
    seed=st.integers(0, 10_000),
    n_sources=st.integers(1, 5),
)
def test_node_distances_equal_networkx(rows, cols, seed, n_sources):
    rng = np.random.default_rng(seed)
    drop = rng.random(2 * rows * cols) < 0.2  # some missing streets: several components
    network = grid_network(rows, cols, drop=drop)
    if len(network.edge_u) == 0:
        return
    x = rng.uniform(network.node_x.min() - 30, network.node_x.max() + 30, n_sources)
    y = rng.uniform(network.node_y.min() - 30, network.node_y.max() + 30, n_sources)
    snap = iso.snap_geometries(network, shapely.points(x, y), max_m=1e6, largest_only=False)
    sources = iso.sources_from_snap(network, snap)
    ours = iso.nearest_source_distances(network, sources)
    reference = networkx_reference(network, sources)
    assert np.array_equal(np.isinf(ours.distance_m), np.isinf(reference))
    finite = np.isfinite(reference)
    np.testing.assert_allclose(ours.distance_m[finite], reference[finite], rtol=0, atol=1e-6)
    # the reported nearest source is one that actually achieves the distance
    src = ours.source[finite]
    a = sources.node_a[src]
    assert (src >= 0).all() and len(a) == finite.sum()


def test_access_leg_counts():
    network = grid_network(1, 2, 100.0)  # one 100 m street
    point = shapely.points(network.node_x[0] + 30.0, network.node_y[0] + 40.0)  # 40 m off
    snap = iso.snap_geometries(network, np.array([point]), max_m=100)
    assert snap.access_m[0] == pytest.approx(40.0)
    assert snap.offset_m[0] == pytest.approx(30.0)
    times = iso.nearest_source_distances(network, iso.sources_from_snap(network, snap))
    np.testing.assert_allclose(times.distance_m, [70.0, 110.0])
    assert iso.snap_geometries(network, np.array([point]), max_m=39).edge[0] == -1


def test_band_polygon_follows_partial_edges():
    """A facility mid-way along a 1 km street reaching 300 m each way: the band is a strip
    around 600 m of street (not a circle, not the whole street)."""
    network = grid_network(1, 2, 1000.0)
    mid = shapely.points(network.node_x[0] + 500.0, network.node_y[0])
    snap = iso.snap_geometries(network, np.array([mid]), max_m=1)
    times = iso.nearest_source_distances(network, iso.sources_from_snap(network, snap))
    band = iso.band_polygon(network, times, 300.0, width_m=20.0)
    x0, y0, x1, y1 = band.bounds
    assert x1 - x0 == pytest.approx(640.0, abs=1.0)  # 600 m of street + 20 m caps
    assert y1 - y0 == pytest.approx(40.0, abs=1.0)
    assert band.area == pytest.approx(600 * 40 + np.pi * 20**2, rel=0.05)
    assert np.isinf(times.distance_m).sum() == 0 and times.distance_m.min() == pytest.approx(500)


def test_band_on_grid_is_a_diamond_not_a_circle():
    """On a street grid the 300 m band from a corner reaches along streets only: the far
    corner of the 300 m circle's bounding square is not covered."""
    network = grid_network(6, 6, 100.0)
    times = iso.nearest_source_distances(network, iso.sources_at_nodes(np.array([0])))
    band = iso.band_polygon(network, times, 300.0, width_m=10.0)
    x0, y0 = network.node_x[0], network.node_y[0]
    assert band.contains(shapely.Point(x0 + 200, y0 + 100))  # 300 m along streets
    assert not band.intersects(shapely.Point(x0 + 200, y0 + 200))  # 400 m along streets
    assert not band.contains(shapely.Point(x0 + 150, y0 + 150))  # block interior


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), extra=st.integers(1, 3))
def test_bands_nested_and_adding_a_facility_never_lowers_coverage(seed, extra):
    rng = np.random.default_rng(seed)
    network = grid_network(6, 6, 120.0, drop=rng.random(72) < 0.15)
    picks = rng.choice(network.node_count, 2 + extra, replace=False)
    base = iso.nearest_source_distances(network, iso.sources_at_nodes(picks[:2]))
    more = iso.nearest_source_distances(network, iso.sources_at_nodes(picks))
    assert (more.distance_m <= base.distance_m + 1e-9).all()
    previous = None
    for budget in (100.0, 250.0, 400.0):
        band = iso.band_polygon(network, base, budget, width_m=15.0)
        bigger = iso.band_polygon(network, more, budget, width_m=15.0)
        # tolerance: buffers are polygonal approximations of round caps
        assert shapely.difference(band, bigger.buffer(0.01)).area < 1e-3
        if previous is not None:
            assert shapely.difference(previous, band.buffer(0.01)).area < 1e-3
        previous = band
    # built together, each band holds the shorter ones exactly and is the same area as alone
    budgets = [100.0, 250.0, 400.0]
    together = iso.band_polygons(network, base, budgets, width_m=15.0)
    for shorter, longer in itertools.pairwise(together):
        assert shapely.difference(shorter, longer).area < 1e-6  # overlay rounding only
    for budget, band in zip(budgets, together, strict=True):
        alone = iso.band_polygon(network, base, budget, width_m=15.0)
        assert shapely.symmetric_difference(alone, band).area < 1e-3 * max(alone.area, 1.0)
    with pytest.raises(ValueError, match="ascend"):
        iso.band_polygons(network, base, [250.0, 100.0], width_m=15.0)


def test_point_distances_use_same_edge_source():
    network = grid_network(1, 2, 1000.0)
    x0, y0 = network.node_x[0], network.node_y[0]
    fac = iso.snap_geometries(network, np.array([shapely.Point(x0 + 400, y0)]), max_m=1)
    times = iso.nearest_source_distances(network, iso.sources_from_snap(network, fac))
    house = iso.snap_geometries(network, np.array([shapely.Point(x0 + 450, y0 + 10)]), max_m=50)
    # 50 m along the street + 10 m access, not via a node (400 + 450 m)
    assert iso.point_distances(network, times, house)[0] == pytest.approx(60.0)


def subdivided_reference(network: iso.Network, sources: iso.Snap, points: iso.Snap) -> np.ndarray:
    """Independent reference for points: every edge holding a source or a point is cut at
    their positions, each source and point hangs off its cut by its access leg, and NetworkX
    runs a multi-source Dijkstra from the sources."""
    graph = nx.Graph()
    stops: dict[int, list[tuple[float, object]]] = {}
    for kind, snap in (("s", sources), ("p", points)):
        for i in np.flatnonzero(snap.ok):
            cut = (kind + "cut", int(i))
            stops.setdefault(int(snap.edge[i]), []).append((float(snap.offset_m[i]), cut))
            graph.add_edge((kind, int(i)), cut, weight=float(snap.access_m[i]))
    for e, (a, b, length) in enumerate(
        zip(network.edge_u, network.edge_v, network.edge_length_m, strict=True)
    ):
        chain = [(0.0, int(a)), *sorted(stops.get(e, []), key=lambda t: t[0]), (length, int(b))]
        for (p0, n0), (p1, n1) in itertools.pairwise(chain):
            graph.add_edge(n0, n1, weight=max(p1 - p0, 0.0))
    origins = [("s", int(i)) for i in np.flatnonzero(sources.ok)]
    lengths = nx.multi_source_dijkstra_path_length(graph, origins, weight="weight")
    return np.array([lengths.get(("p", i), np.inf) for i in range(len(points))])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_sources=st.integers(1, 6))
def test_point_distances_equal_subdivided_networkx(seed, n_sources):
    """Several sources and points on the same edges (the direct walk along the edge)."""
    rng = np.random.default_rng(seed)
    network = grid_network(3, 3, 100.0, drop=rng.random(12) < 0.2)
    if len(network.edge_u) == 0:
        return
    x0, y0 = network.node_x.min(), network.node_y.min()
    # sources and points crowd a small corner, so many share an edge
    fx, fy = rng.uniform(x0, x0 + 150, n_sources), rng.uniform(y0 - 20, y0 + 150, n_sources)
    px, py = rng.uniform(x0 - 10, x0 + 220, 60), rng.uniform(y0 - 20, y0 + 220, 60)
    fac = iso.snap_geometries(network, shapely.points(fx, fy), max_m=60, largest_only=False)
    pts = iso.snap_geometries(network, shapely.points(px, py), max_m=60, largest_only=False)
    if not fac.ok.any():
        return
    times = iso.nearest_source_distances(
        network, iso.sources_from_snap(network, fac.subset(fac.ok))
    )
    ours = iso.point_distances(network, times, pts)
    reference = subdivided_reference(network, fac, pts)
    assert np.array_equal(np.isinf(ours), np.isinf(reference))
    finite = np.isfinite(reference)
    np.testing.assert_allclose(ours[finite], reference[finite], rtol=0, atol=1e-6)


def test_duplicate_segments_keep_one_edge():
    lon = np.array([118.78, 118.781, 118.782])
    lat = np.array([32.04, 32.04, 32.04])
    network, mapping = iso.build_network(
        np.array([1, 2, 3]), lon, lat, np.array([0, 1, 1, 1]), np.array([1, 0, 2, 1])
    )
    assert len(network.edge_u) == 2  # 0-1 twice (two ways) and a self-loop 1-1 dropped
    assert mapping.tolist()[3] == -1 and mapping[0] == mapping[1]
    times = iso.nearest_source_distances(network, iso.sources_at_nodes(np.array([0])))
    # not the sum of the duplicate's lengths
    assert times.distance_m[1] == pytest.approx(network.edge_length_m[0])
