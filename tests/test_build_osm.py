"""A study whose network is OpenStreetMap: a supplied extract (--network FILE) or an osmnx download (--osm-download,
monkeypatched here: no network access in tests)."""

from pathlib import Path

import geopandas as gpd
import networkx as nx
import pytest
import shapely

from fsgeo import coverage, datasets
from fsgeo.build_data import StudyArea, build_all, osm
from fsgeo.network import RoadNetwork
from fsgeo.study import StudyManifest

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
PBF = RAW / "osm" / "monaco-french-riviera.osm.pbf"
needs_raw = pytest.mark.skipif(not PBF.is_file(), reason=f"raw sources absent ({RAW}): the build cannot run")
pytest.importorskip("pyrosm")

#: communes of 06 on the extract (lon 7.349-7.491, lat 43.715-43.770): Monaco's French neighbours
COVERED = ("Beausoleil", "Cap-d'Ail", "Èze", "La Turbie", "Beaulieu-sur-Mer", "Villefranche-sur-Mer")


@pytest.fixture(scope="module")
def study06(tmp_path_factory):
    out = tmp_path_factory.mktemp("study06")
    lines = []
    manifest = build_all(RAW, out, lines.append, "06", network=PBF)
    return out, lines, manifest


@needs_raw
@pytest.mark.slow
def test_supplied_extract_is_the_study_network(study06):
    out, lines, m = study06
    assert m.network["source"] == "osm-file" and m.network["input"] == PBF.name
    assert m.files["network"] == "network/alpes-maritimes.graphml"
    assert m.sources[-1]["id"] == "osm" and "ODbL" in m.sources[-1]["licence"]
    lon0, lat0, lon1, lat1 = m.network["extent"]
    assert 7.34 < lon0 < lon1 < 7.50 and 43.71 < lat0 < lat1 < 43.78
    assert 0 < m.network["covered_share"] < 0.05
    assert any("communes beyond it are reported unreachable" in line for line in lines)
    net = RoadNetwork.from_file(out / m.files["network"])
    assert net.n_nodes == m.network["nodes"]
    # the saved graph is the extract's drive network (same node count as reading the .pbf directly, all inside)
    assert net.n_nodes == RoadNetwork.from_file(PBF).n_nodes


@needs_raw
@pytest.mark.slow
def test_communes_on_the_extract_route_the_others_are_outside_the_supplied_network(study06):
    out, _, m = study06
    communes = datasets.load_communes(out / m.files["communes"])
    sites = datasets.load_sites(out / m.files["sites"])
    net = RoadNetwork.from_file(out / m.files["network"])
    acc = coverage.access_times(communes, sites, network=net).set_index("name")
    for name in COVERED:
        assert acc.loc[name, "status"] != "unreachable", acc.loc[name]
        assert 0 < acc.loc[name, "minutes"] < 30
    far = acc[acc["status"] == "unreachable"]
    assert len(communes) == 163 and len(far) > 140
    # beyond the extract's extent: "outside the supplied network"; within it, the other reason says why (Roquebrune-
    # Cap-Martin's point is 222 m from a fragment the extract's edge cut off from the main network)
    lon0, lat0, lon1, lat1 = m.network["extent"]
    pts = communes.set_index("name").loc[far.index]
    inside = pts["point_lon"].between(lon0, lon1) & pts["point_lat"].between(lat0, lat1)
    outside_reason = far["reason"].str.startswith("outside the supplied network")
    assert outside_reason[~inside].all(), far.loc[~inside & ~outside_reason, "reason"]
    assert (~inside).sum() > 140 and inside.sum() <= 2
    assert far.loc[inside, "reason"].str.contains("cut off from the main network").all()


def test_osm_download_clips_and_caches(tmp_path, monkeypatch):
    """--osm-download: the osmnx download is monkeypatched with a small graph around a fake study's outline."""
    import osmnx as ox

    from fsgeo.settings import settings

    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    calls = []

    def fake_graph_from_polygon(polygon, network_type="drive", **kw):
        calls.append(polygon)
        G = nx.MultiDiGraph(crs="EPSG:4326")
        pts = {1: (6.10, 47.60), 2: (6.12, 47.60), 3: (6.14, 47.61), 4: (9.0, 47.6)}  # 4 is far outside
        for n, (x, y) in pts.items():
            G.add_node(n, x=x, y=y)
        for u, v in [(1, 2), (2, 3), (3, 4)]:
            for a, b in [(u, v), (v, u)]:
                G.add_edge(a, b, key=0, osmid=10 * a + b, highway="secondary", oneway=False, length=1600.0)
        return G

    monkeypatch.setattr(ox, "graph_from_polygon", fake_graph_from_polygon)

    class Area:
        codes = ("70",)
        name = "Test"
        slug = "test"
        metric_crs = "EPSG:2154"
        network_margin_m = 1000.0

        def outline_metric(self):
            box = shapely.box(6.09, 47.59, 6.15, 47.62)
            return gpd.GeoSeries([box], crs=4326).to_crs(2154).iloc[0]

    lines = []
    entry = osm.build(Area(), tmp_path / "out", lines.append, download=True)
    assert entry["source"] == "osm-download" and entry["nodes"] == 3 and entry["edges"] == 4
    assert len(calls) == 1 and calls[0].contains(shapely.Point(6.12, 47.60))
    G = ox.load_graphml(tmp_path / "out" / entry["file"])
    assert sorted(G.nodes) == [1, 2, 3]
    # cached: a second build does not download again
    osm.build(Area(), tmp_path / "out2", lines.append, download=True)
    assert len(calls) == 1
