"""Invariants of the committed road network (data/network/haute-saone.gpkg)."""

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from fsgeo.settings import settings

ROAD_CLASSES = {"motorway", "trunk", "expressway", "departementale", "metropolitan"}
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def nodes():
    return gpd.read_file(settings.network_path, layer="nodes")


@pytest.fixture(scope="module")
def edges():
    return gpd.read_file(settings.network_path, layer="edges")


def test_layers_and_schema(nodes, edges):
    assert sorted(name for name, _ in pyogrio.list_layers(settings.network_path)) == ["edges", "nodes"]
    assert list(nodes.columns) == ["node_id", "x", "y", "label", "geometry"]
    assert list(edges.columns) == ["u", "v", "key", "routes", "road_class", "length_m", "oneway", "geometry"]
    assert nodes.crs.to_epsg() == 4326 and edges.crs.to_epsg() == 4326
    for col in ("node_id",):
        assert nodes[col].dtype == np.int64
    for col in ("u", "v", "key"):
        assert edges[col].dtype == np.int64
    assert (nodes.geom_type == "Point").all() and (edges.geom_type == "LineString").all()
    assert (edges["key"] == 0).all() and (~edges["oneway"].astype(bool)).all()
    assert set(edges["road_class"]) <= ROAD_CLASSES
    assert {"motorway", "trunk", "departementale"} <= set(edges["road_class"])


def test_nodes_consistent(nodes, edges):
    assert nodes["node_id"].is_unique
    np.testing.assert_array_equal(nodes.geometry.x, nodes["x"])
    np.testing.assert_array_equal(nodes.geometry.y, nodes["y"])
    assert not nodes.duplicated(["x", "y"]).any()
    assert (set(edges["u"]) | set(edges["v"])) == set(nodes["node_id"])
    # each edge runs from its u node to its v node
    xy = nodes.set_index("node_id")[["x", "y"]]
    start = shapely.get_coordinates(shapely.get_point(edges.geometry.values, 0))
    end = shapely.get_coordinates(shapely.get_point(edges.geometry.values, -1))
    np.testing.assert_array_equal(start, xy.loc[edges["u"]].to_numpy())
    np.testing.assert_array_equal(end, xy.loc[edges["v"]].to_numpy())


def test_connected_single_undirected_edges(nodes, edges):
    pos = {n: i for i, n in enumerate(nodes["node_id"])}
    u, v = edges["u"].map(pos).to_numpy(), edges["v"].map(pos).to_numpy()
    graph = coo_matrix((np.ones(len(edges)), (u, v)), shape=(len(nodes), len(nodes)))
    n_comp, _ = connected_components(graph, directed=False)
    assert n_comp == 1
    assert (edges["u"] != edges["v"]).all()
    pairs = np.sort(edges[["u", "v"]].to_numpy(), axis=1)
    assert len(np.unique(pairs, axis=0)) == len(edges), "duplicate (u, v) edges"


def test_lengths(nodes, edges):
    assert (edges["length_m"] > 0).all()
    along = np.array([GEOD.geometry_length(g) for g in edges.geometry])
    np.testing.assert_allclose(edges["length_m"], along, atol=0.05)
    xy = nodes.set_index("node_id")[["x", "y"]]
    a, b = xy.loc[edges["u"]].to_numpy(), xy.loc[edges["v"]].to_numpy()
    _, _, straight = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert (edges["length_m"].to_numpy() >= straight - 0.05).all()


def test_routes_refs(edges):
    assert edges["routes"].str.len().gt(0).all()
    for routes in edges["routes"]:
        refs = routes.split(";")
        assert refs == sorted(set(refs))
        # E-roads only label segments of A/N/D roads, never make edges of their own
        assert any(not r.startswith("E") for r in refs), routes
    assert edges["routes"].str.contains("A36").any() and edges["routes"].str.contains(r"\bE60\b").any()


def test_commune_points_near_network(nodes):
    communes = gpd.read_file(settings.communes_path)
    to_metric = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    tree = cKDTree(np.column_stack(to_metric.transform(nodes["x"].to_numpy(), nodes["y"].to_numpy())))
    pts = np.column_stack(to_metric.transform(communes["point_lon"].to_numpy(), communes["point_lat"].to_numpy()))
    dist, _ = tree.query(pts)
    worst = int(np.argmax(dist))
    print(f"max distance commune point -> nearest node: {dist[worst]:.0f} m ({communes['code'].iloc[worst]} "
          f"{communes['name'].iloc[worst]}); median {np.median(dist):.0f} m")
    assert dist.max() < 10_000, f"commune {communes['code'].iloc[worst]} is {dist[worst]:.0f} m from the network"


def test_network_clipped_around_departement(edges):
    outline = gpd.read_file(settings.outline_path).to_crs("EPSG:2154").geometry.iloc[0]
    lines = edges.to_crs("EPSG:2154")
    # clip rule: every edge touches the département + 30 km (500 m slack: the build clips on the IGN département
    # outline, simplified separately from the communes: up to ~220 m apart)
    assert lines.intersects(outline.buffer(30_500)).all()
    # and the roads reach beyond the border on every side, so border communes can route through neighbours
    bounds, ob = np.array(lines.total_bounds), np.array(outline.bounds)
    assert (bounds[:2] < ob[:2] - 25_000).all() and (bounds[2:] > ob[2:] + 25_000).all()
    assert lines.intersects(outline).sum() > 1000
