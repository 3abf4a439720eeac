"""Drive-time catchments: geometry against a brute-force model on hand-built networks, then the embedded data."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from shapely.ops import substring

from fsgeo import catchments as C

PACE = 30 / 3.6 / 1.3  # metres per second off-road: the profile's 30 km/h connector with a 1.3 detour factor


def _net(xy, undirected_edges, speeds_kmh, shapes=None, oneway=()):
    """A tiny network in Lambert-93: edges both ways unless listed in ``oneway`` (index into undirected_edges)."""
    rows = []
    for k, ((u, v), sp) in enumerate(zip(undirected_edges, speeds_kmh)):
        line = LineString(shapes[k]) if shapes and shapes.get(k) is not None else LineString([xy[u], xy[v]])
        t = line.length / (sp / 3.6)
        rows.append((u, v, t, line))
        if k not in oneway:
            rows.append((v, u, t, line))  # same geometry, stored u->v: the catchment code must orient it
    edges = gpd.GeoDataFrame(
        {"u": [r[0] for r in rows], "v": [r[1] for r in rows], "travel_time_s": [r[2] for r in rows]},
        geometry=[r[3] for r in rows],
        crs="EPSG:2154",
    )
    return SimpleNamespace(xy_metric=np.asarray(xy, float), node_ids=np.arange(len(xy)), edges=edges, profile=None)


def _times_to(net, site_node, access_s=0.0):
    """Seconds from every node to ``site_node`` (scipy on the reversed graph: an independent computation)."""
    n = len(net.node_ids)
    e = net.edges
    g = csr_matrix((e["travel_time_s"], (e["u"], e["v"])), shape=(n, n))
    return dijkstra(g.T.tocsr(), indices=site_node) + access_s


def _brute_force_inside(net, node_t, band_s, pts, site_xy, cap_m, scale):
    """Continuous model by sampling: P inside iff some road point Q with time tau(Q) has |PQ| <= scale * radius(Q)."""
    qs, rs = [], []
    for u, v, t, line in zip(net.edges["u"], net.edges["v"], net.edges["travel_time_s"], net.edges.geometry):
        if np.hypot(*(np.array(line.coords[0]) - net.xy_metric[u])) > 1e-6:
            line = line.reverse()
        for f in np.linspace(0, 1, 801):
            tau = node_t[v] + (1 - f) * t
            if tau <= band_s:
                q = line.interpolate(f, normalized=True)
                qs.append((q.x, q.y))
                rs.append(min((band_s - tau) * PACE, cap_m))
    qs.append(tuple(site_xy))
    rs.append(min(band_s * PACE, cap_m))
    qs, rs = np.array(qs), np.array(rs)
    d = np.hypot(pts[:, None, 0] - qs[None, :, 0], pts[:, None, 1] - qs[None, :, 1])
    return (d <= scale * rs[None, :] + (1.0 if scale > 1 else 0.0)).any(axis=1)


def test_straight_road_known_answer():
    # 0 ---10 km at 60 km/h (600 s)--- 1 ---10 km--- 2; site on node 0; band 15 min
    xy = [(0, 0), (10_000, 0), (20_000, 0)]
    net = _net(xy, [(0, 1), (1, 2)], [60, 60])
    seg = C._network_segments(net)
    t = _times_to(net, 0)
    assert list(t) == [0, 600, 1200]
    poly = C.band_polygon(seg, t, 900, PACE, 5000, site_xy=(0, 0))
    # the road is travelled up to x = 15 km (600 s + 5 km at 60 km/h = 900 s), then the time is out
    assert poly.contains(shapely.Point(14_990, 0)) and not poly.contains(shapely.Point(15_010, 0))
    # around the site: capped at 5 km
    assert poly.contains(shapely.Point(0, 4_900)) and not poly.contains(shapely.Point(0, 5_050))
    # at node 1, 300 s remain: 1923 m off-road, and no more beyond the road's end
    assert not poly.contains(shapely.Point(12_000, 2_000))
    assert poly.contains(shapely.Point(10_000, 1_850))


def test_cut_matches_shapely_substring_on_a_bent_edge():
    # a bent edge (three straight parts) from node 0 to node 1, 60 km/h; the site is node 1
    shape = [(0, 0), (3_000, 0), (3_000, 4_000), (9_000, 4_000)]
    xy = [shape[0], shape[-1]]
    net = _net(xy, [(0, 1)], [60], shapes={0: shape})
    seg = C._network_segments(net)
    t = _times_to(net, 1)
    length = LineString(shape).length  # 13 km = 780 s
    for band in (100, 300, 500, 700):
        p = C.reachable_pieces(seg, t, band, PACE, 5000)
        # pieces of the directed row 0 -> 1 (reached towards node 1): the last band * 60/3.6 metres before node 1
        mine = [
            LineString([(ax, ay), (bx, by)])
            for ax, ay, bx, by, s in zip(p["ax"], p["ay"], p["bx"], p["by"], p["seg"])
            if seg["edge_u"][seg["seg_edge"][s]] == 0
        ]
        mine = shapely.line_merge(shapely.union_all([m for m in mine if m.length > 0]))
        expected = substring(LineString(shape), length - band * 60 / 3.6, length)
        assert mine.length == pytest.approx(expected.length, rel=1e-9)
        assert mine.hausdorff_distance(expected) < 1e-6
    # the reverse row 1 -> 0 shares the geometry stored 0 -> 1: oriented on the fly
    assert seg["ax"][seg["seg_edge"] == 1][0] == pytest.approx(9_000)


@pytest.mark.parametrize("band_s", [600, 1200])
def test_polygon_matches_brute_force_model(band_s):
    # a small network with a fast road, a slow road, a one-way and a dead end
    xy = [(0, 0), (8_000, 0), (16_000, 2_000), (8_000, 9_000), (-6_000, 5_000), (20_000, 9_000)]
    und = [(0, 1), (1, 2), (1, 3), (0, 4), (2, 5), (3, 5)]
    net = _net(xy, und, [90, 60, 40, 50, 70, 80], oneway=(5,))
    seg = C._network_segments(net)
    site = np.array([500.0, 300.0])
    t = _times_to(net, 0, access_s=np.hypot(*site) * 1.3 / (30 / 3.6))
    poly = C.band_polygon(seg, t, band_s, PACE, 5000, site_xy=site)
    rng = np.random.default_rng(1)
    pts = rng.uniform([-12_000, -8_000], [26_000, 15_000], size=(1500, 2))
    surely_in = _brute_force_inside(net, t, band_s, pts, site, 5000, scale=0.97)
    surely_out = ~_brute_force_inside(net, t, band_s, pts, site, 5000, scale=1.01)
    inside = shapely.contains_xy(poly, pts[:, 0], pts[:, 1])
    assert surely_in.sum() > 100 and surely_out.sum() > 100
    assert inside[surely_in].all()
    assert not inside[surely_out].any()
    # not a convex hull: the hull would claim land from which the site cannot be reached in time
    hull = shapely.convex_hull(poly)
    assert shapely.contains_xy(hull, pts[surely_out, 0], pts[surely_out, 1]).sum() > 5
    assert hull.area > 1.1 * poly.area


def test_one_way_road_is_only_reachable_upstream():
    # one-way 0 -> 1 -> 2 (a single direction); site at node 1: only the road before it leads there
    xy = [(0, 0), (10_000, 0), (20_000, 0)]
    net = _net(xy, [(0, 1), (1, 2)], [60, 60], oneway=(0, 1))
    seg = C._network_segments(net)
    t = _times_to(net, 1)
    assert np.isinf(t[2]) and t[0] == 600
    poly = C.band_polygon(seg, t, 900, PACE, 1000, site_xy=(10_000, 0))
    assert poly.contains(shapely.Point(2_000, 0))  # upstream: drives to the site
    assert not poly.contains(shapely.Point(18_000, 0))  # downstream: the road leads away


def test_bands_nest_and_grow():
    xy = [(0, 0), (8_000, 0), (16_000, 2_000), (8_000, 9_000)]
    net = _net(xy, [(0, 1), (1, 2), (1, 3)], [90, 60, 40])
    seg = C._network_segments(net)
    t = _times_to(net, 0)
    prev = None
    for b in (300, 600, 900, 1200):
        poly = C.band_polygon(seg, t, b, PACE, 5000, site_xy=(0, 0))
        if prev is not None:
            poly = shapely.union(poly, prev)
            assert poly.area > prev.area
            assert shapely.difference(prev, poly).area < 1e-6
        prev = poly
