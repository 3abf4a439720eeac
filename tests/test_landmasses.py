"""Routing on every landmass of one road network (issue 10): the main component is the largest strongly connected
component of each landmass, so an island with roads is routed on its own roads; a commune on an island with no site
gets that reason; one-way fragments of a landmass are still left out.

Cross-checks: the main component against networkx (weakly then strongly connected components), the times against
networkx Dijkstra with a virtual node per point (``test_routing_links.brute_minutes``). A study built from
``../shared`` (Vendée, 85: Noirmoutier by its bridge, Yeu on its own) when present.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from test_routing_links import brute_minutes, graph_of

from fsgeo import coverage, routing
from fsgeo.network import RoadNetwork
from fsgeo.profile import CarProfile

TO_WGS = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"

# Lambert-93 metres: a mainland road (1-5) with a one-way spur (6 -> 5), island A (11-13, 30 km south: a site on
# it), island B (21-22, 60 km south: no site), an isolated node 31
XY = {1: (800_000, 6_700_000), 2: (805_000, 6_700_000), 3: (810_000, 6_700_000), 4: (815_000, 6_700_000),
      5: (820_000, 6_700_000), 6: (820_000, 6_703_000),
      11: (800_000, 6_670_000), 12: (804_000, 6_670_000), 13: (808_000, 6_671_000),
      21: (800_000, 6_640_000), 22: (803_000, 6_640_000), 31: (900_000, 6_640_000)}
TWO_WAY = [(1, 2, 300.0), (2, 3, 280.0), (3, 4, 310.0), (4, 5, 290.0), (11, 12, 250.0), (12, 13, 260.0),
           (21, 22, 200.0)]
ONE_WAY = [(6, 5, 180.0)]


def _network(**kw) -> RoadNetwork:
    ids = list(XY)
    x, y = np.array([XY[i] for i in ids], dtype=float).T
    lon, lat = TO_WGS.transform(x, y)
    nodes = gpd.GeoDataFrame({"x": lon, "y": lat}, geometry=gpd.points_from_xy(lon, lat),
                             index=pd.Index(ids, name="node_id"), crs="EPSG:4326")
    rows = TWO_WAY + [(b, a, t) for a, b, t in TWO_WAY] + ONE_WAY
    edges = gpd.GeoDataFrame({"u": [r[0] for r in rows], "v": [r[1] for r in rows],
                              "travel_time_s": [r[2] for r in rows], "road_class": "departementale"},
                             geometry=[None] * len(rows), crs="EPSG:4326")
    return RoadNetwork(nodes, edges, profile=CarProfile(direct_leg=False), **kw)


def _points(spec: dict, crs="EPSG:2154") -> gpd.GeoDataFrame:
    x, y = np.array(list(spec.values()), dtype=float).T
    return gpd.GeoDataFrame(index=list(spec), geometry=gpd.points_from_xy(x, y), crs=crs)


def _communes(spec: dict) -> gpd.GeoDataFrame:
    pts = _points(spec).to_crs("EPSG:4326")
    return gpd.GeoDataFrame({"code": list(spec), "name": [f"commune {c}" for c in spec], "departement": "85",
                             "population": [100 * (i + 1) for i in range(len(spec))],
                             "point_lon": pts.geometry.x.to_numpy(), "point_lat": pts.geometry.y.to_numpy()},
                            geometry=_points(spec).buffer(100).to_crs("EPSG:4326").to_numpy(), crs="EPSG:4326")


def _sites(spec: dict) -> gpd.GeoDataFrame:
    pts = _points(spec).to_crs("EPSG:4326")
    return gpd.GeoDataFrame({"id": list(spec), "name": [f"site {s}" for s in spec]}, geometry=pts.geometry.to_numpy(),
                            crs="EPSG:4326")


def _networkx_main(net: RoadNetwork) -> set[int]:
    """Largest strongly connected component of every weakly connected component of two nodes or more, by networkx."""
    G = nx.DiGraph()
    G.add_nodes_from(int(i) for i in net.node_ids)
    G.add_edges_from(zip(net.edges.u.astype(int), net.edges.v.astype(int)))
    main = set()
    for weak in nx.weakly_connected_components(G):
        if len(weak) >= 2:
            main |= max(nx.strongly_connected_components(G.subgraph(weak)), key=len)
    return main


COMMUNES = {"m1": (801_000, 6_700_500), "m6": (820_200, 6_703_400), "a1": (800_500, 6_669_000),
            "b1": (801_000, 6_640_800)}
SITES = {"s_main": (819_500, 6_699_800), "s_isl": (807_500, 6_671_300)}


def test_main_component_is_per_landmass_and_matches_networkx():
    one = _network()                                   # default: one landmass, the largest strongly connected part
    assert set(one.node_ids[one.main_component]) == {1, 2, 3, 4, 5}
    assert (one.landmass == 0).all()
    net = _network(landmass="weak")
    assert set(net.node_ids[net.main_component]) == _networkx_main(net) == {1, 2, 3, 4, 5, 11, 12, 13, 21, 22}
    lm = dict(zip(net.node_ids.tolist(), net.landmass.tolist()))
    assert lm[1] == lm[5] == lm[6] == 0                # the one-way spur is on the mainland, not in its main part
    assert not net.main_component[net.node_ids.tolist().index(6)]
    assert lm[11] == lm[13] == 1 and lm[21] == lm[22] == 2 and lm[31] == -1
    # explicit labels give the same; a node column too
    labels = np.array([7 if i <= 6 else 3 if i <= 13 else 9 if i <= 22 else -1 for i in XY])
    assert (_network(landmass=labels).main_component == net.main_component).all()
    with pytest.raises(ValueError, match="one integer label per node"):
        _network(landmass=[0, 1])


def test_island_communes_route_to_the_site_on_their_island_as_networkx():
    net = _network(landmass="weak")
    origins, sites = _points(COMMUNES), _points(SITES)
    snap = routing.snap_points(net, origins)
    assert snap["status"].tolist() == ["ok"] * 4
    # every link of an island commune is a node of its island (the 4 nearest main-component nodes within 5 km)
    assert net.landmass[snap.loc["a1", "node"]] == 1 and net.landmass[snap.loc["b1", "node"]] == 2
    got = routing.travel_time_matrix(net, origins, sites).to_numpy()
    expected = brute_minutes(net, graph_of(net), origins, sites)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.isfinite(got[2, 1]) and np.isinf(got[2, 0])      # a1: its island's site only
    assert np.isinf(got[3]).all()                              # b1: no site on its island
    near = routing.nearest_two(net, origins, sites)
    assert near.loc["a1", "facility"] == "s_isl" and near.loc["a1", "minutes"] == pytest.approx(got[2, 1])
    # before: one landmass, the island communes cut off from the main network
    old = routing.snap_points(_network(), origins)
    assert old.loc[["a1", "b1"], "status"].tolist() == ["off_main_component"] * 2


@pytest.mark.parametrize("path", ["network", "matrix"])
def test_commune_on_an_island_without_site_gets_that_reason(path):
    net = _network(landmass="weak")
    communes, sites = _communes(COMMUNES), _sites(SITES)
    if path == "network":
        access, _ = coverage.access_from_network(communes, sites, net, threshold_min=20)
    else:
        minutes, reasons, _ = coverage.commune_site_matrix(communes, sites, net)
        access = coverage.access_from_matrix(communes, sites, minutes, threshold_min=20, reasons=reasons)
    a = access.set_index("code")
    assert a.loc["a1", "nearest_site_id"] == "s_isl" and np.isfinite(a.loc["a1", "minutes"])
    assert a.loc["m1", "nearest_site_id"] == "s_main"
    assert a.loc["b1", "status"] == "unreachable" and np.isnan(a.loc["b1", "minutes"])
    assert a.loc["b1", "reason"].startswith("no site on its landmass (island 2: 2 road nodes")
    assert a.loc[["m1", "a1", "m6"], "reason"].eq("").all()
    # with the island's site gone, a1 says so too; the mainland communes keep their site
    access, _ = coverage.access_from_network(communes, sites.iloc[:1], net, threshold_min=20)
    a = access.set_index("code")
    assert a.loc["a1", "reason"].startswith("no site on its landmass (island 1: 3 road nodes")
    assert a.loc["m1", "status"] != "unreachable"
    # a cutoff on a landmass that has a site keeps the cutoff reason
    access, _ = coverage.access_from_network(communes, sites, net, threshold_min=20, cutoff_min=1)
    assert access.set_index("code").loc["m1", "reason"] == "no site reachable by road within 1 min"


def test_travel_mapping_geopackage_routes_every_landmass(tmp_path):
    """fsgeo's GeoPackage (the build keeps one component per landmass) is read with every weak component of two
    nodes or more as a landmass; a ``landmass`` node column wins."""
    from fsgeo.build_data.network import write_gpkg

    ids = list(XY)
    x, y = np.array([XY[i] for i in ids], dtype=float).T
    lon, lat = TO_WGS.transform(x, y)
    nodes = gpd.GeoDataFrame({"node_id": ids, "x": lon, "y": lat}, geometry=gpd.points_from_xy(lon, lat),
                             crs="EPSG:4326")
    pairs = [(a, b) for a, b, _ in TWO_WAY]

    edges = gpd.GeoDataFrame({"u": [a for a, _ in pairs], "v": [b for _, b in pairs], "key": 0, "routes": "D1",
                              "road_class": "departementale",
                              "length_m": [float(np.hypot(*np.subtract(XY[a], XY[b]))) for a, b in pairs],
                              "oneway": False},
                             geometry=[shapely.LineString([(lon[ids.index(a)], lat[ids.index(a)]),
                                                           (lon[ids.index(b)], lat[ids.index(b)])]) for a, b in pairs],
                             crs="EPSG:4326")
    write_gpkg(nodes, edges, tmp_path / "n.gpkg")
    net = RoadNetwork.from_file(tmp_path / "n.gpkg")
    assert set(net.node_ids[net.main_component]) == {1, 2, 3, 4, 5, 11, 12, 13, 21, 22}
    assert net.landmass[ids.index(31)] == -1 and net.landmass[ids.index(6)] == -1  # isolated nodes
    write_gpkg(nodes.assign(landmass=0), edges, tmp_path / "one.gpkg")
    one = RoadNetwork.from_file(tmp_path / "one.gpkg")
    assert set(one.node_ids[one.main_component]) == {1, 2, 3, 4, 5}


# -- islands without roads (the build's network.islands_without_roads) -----------------------------------------------
def test_island_without_roads_is_unreachable_with_that_reason():
    from fsgeo import reports

    net = _network(landmass="weak")
    # "a2" lies 1 km off island A's roads: snapping alone would route it; the build says its island has no road
    spec = dict(COMMUNES, a2=(800_500, 6_668_000))
    communes, sites = _communes(spec), _sites(SITES)
    before, _ = coverage.access_from_network(communes, sites, net, threshold_min=20)
    assert np.isfinite(before.set_index("code").loc["a2", "minutes"])
    net.islands_without_roads = frozenset({"a2"})
    minutes, reasons, _ = coverage.commune_site_matrix(communes, sites, net)
    assert minutes.loc["a2"].isna().all()
    for access in (coverage.access_from_network(communes, sites, net, threshold_min=20)[0],
                   coverage.access_from_matrix(communes, sites, minutes, threshold_min=20, reasons=reasons)):
        a = access.set_index("code")
        assert a.loc["a2", "status"] == "unreachable" and a.loc["a2", "reason"] == "island without roads"
        assert np.isnan(a.loc["a2", "minutes"]) and pd.isna(a.loc["a2", "nearest_site_id"])
        assert a.loc["a1", "nearest_site_id"] == "s_isl"          # the others as before
        assert a.loc["b1", "reason"].startswith("no site on its landmass")
    # the matrix owner says the same per commune (timeline, accessibility, siting read it)
    from fsgeo.matrix import TravelTimes

    rows = TravelTimes.route(net, communes, sites).row_status()
    assert rows.loc["a2"].tolist() == ["island_without_roads", "island without roads"]
    assert rows.loc["b1", "status"] == "no_site_on_landmass" and rows.loc["b1", "reason"].startswith("no site on its")
    assert rows.loc["a1", "status"] == rows.loc["m1", "status"] == "ok"
    summ = coverage.summary(access)
    fr = reports.coverage_report(access, summ, label="test", lang="fr")
    en = reports.coverage_report(access, summ, label="test", lang="en")
    assert "île sans route" in fr and "island without roads" not in fr
    assert "aucun site sur son île (île 2 : 2 nœuds routiers" in fr
    assert "island without roads" in en and "no site on its landmass (island 2" in en


def test_study_network_carries_the_manifest_islands(tmp_path):
    """``load_study`` gives its own network the manifest's ``network.islands_without_roads``; a network given
    instead (``--network``: it may have the island's roads) gets none; coverage of the study reports the commune."""
    import json

    from fsgeo import datasets
    from fsgeo.settings import settings

    data = Path(settings.network_path).parents[1]
    for name in ("communes", "network", "sites.geojson"):
        (tmp_path / name).symlink_to(data / name)
    manifest = json.loads((data / "study.json").read_text(encoding="utf-8"))
    manifest["network"]["islands_without_roads"] = ["70550"]          # Vesoul, as if it were on an island
    (tmp_path / "study.json").write_text(json.dumps(manifest), encoding="utf-8")
    study = datasets.load_study(tmp_path)
    assert study.network.islands_without_roads == {"70550"}
    access = coverage.access_times(study.communes, study.sites, network=study.network)
    row = access.set_index("code").loc["70550"]
    assert row["status"] == "unreachable" and row["reason"] == "island without roads"
    assert (access["status"] == "unreachable").sum() == 1
    own = datasets.load_study(tmp_path, network=data / "network" / "haute-saone.gpkg")
    assert own.network.islands_without_roads == frozenset()


# -- real studies built from ../shared ---------------------------------------------------------------------------------
needs_raw = pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the build cannot run")


@pytest.fixture(scope="module")
def built_study(tmp_path_factory):
    from fsgeo import datasets
    from fsgeo.build_data import build_all

    studies = {}

    def get(code):
        if code not in studies:
            out = tmp_path_factory.mktemp(f"study{code}")
            build_all(RAW, out, lambda _line: None, code)
            studies[code] = datasets.load_study(out)
        return studies[code]

    return get


@needs_raw
@pytest.mark.slow
def test_morbihan_islands_route_to_their_own_sites(built_study):
    """Morbihan (56): Belle-Île (4 communes, a site at Le Palais) and Groix (a site) have roads in Travel Mapping
    but no bridge: routed on their own roads to their own site, as networkx finds; Houat, Hœdic and Arz have no road
    in the network: "island without roads" (before: Belle-Île and Groix were "cut off from the main network" and
    Arz got 20.8 min across the water)."""
    study = built_study("56")
    net = study.network
    assert net.landmass.max() >= 2 and net.main_component.all()
    assert net.islands_without_roads == {"56085", "56086", "56088"}
    access = coverage.access_times(study.communes, study.sites, network=net).set_index("code")
    island = {"56009": "1427", "56114": "1427", "56152": "1427", "56241": "1427", "56069": "328"}
    assert access.loc[list(island), "nearest_site_id"].tolist() == list(island.values())
    assert access.loc[list(island), "status"].isin(["covered", "underserved"]).all()
    for code in ("56085", "56086", "56088"):
        assert access.loc[code, "status"] == "unreachable" and access.loc[code, "reason"] == "island without roads"
    # the island times against networkx on the same graph (main component per landmass checked by networkx too)
    assert set(net.node_ids[net.main_component]) == _networkx_main(net)
    from fsgeo.datasets import demand_points

    pts = demand_points(study.communes).set_index("code").loc[list(island)]
    sites = study.sites.set_index("id").loc[sorted(set(island.values()))]
    expected = brute_minutes(net, graph_of(net), pts, sites)
    got = routing.travel_time_matrix(net, pts, sites).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(access.loc[list(island), "minutes"], np.nanmin(np.where(np.isinf(got), np.nan, got),
                                                                                   axis=1), rtol=1e-12)
    # Le Palais is not reachable from Groix's site nor Groix from Belle-Île's by road
    assert np.isinf(got[list(island).index("56069"), list(sites.index).index("1427")])


@needs_raw
@pytest.mark.slow
def test_vendee_yeu_has_no_site_on_its_island(built_study):
    """Vendée (85): L'Île-d'Yeu has roads but no site: "no site on its landmass", not "cut off from the main
    network"; Noirmoutier (bridge) is routed to its site as before."""
    study = built_study("85")
    access = coverage.access_times(study.communes, study.sites, network=study.network).set_index("code")
    yeu = access.loc["85113"]
    assert yeu["status"] == "unreachable" and yeu["reason"].startswith("no site on its landmass (island ")
    assert access.loc["85163", "nearest_site_id"] == "2101"        # Noirmoutier-en-l'Île
    assert (access["status"] == "unreachable").sum() == 1


def test_accessibility_says_no_site_on_the_island():
    from fsgeo import accessibility

    net = _network(landmass="weak")
    res = accessibility.two_step_fca(_communes(COMMUNES), _sites(SITES), network=net, threshold_min=30,
                                      supply=1)
    table = res.table.set_index("code") if hasattr(res, "table") else res.set_index("code")
    assert table.loc["b1", "reason"].startswith("no site on its landmass (island 2")
    assert table.loc["a1", "status"] == "served"
