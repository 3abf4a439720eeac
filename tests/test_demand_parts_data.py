"""Demand parts (issue 11): the build gives Paris, Lyon and Marseille several weighted demand points (k-means on the
local-road junctions, or the user's file by arrondissement / several rows per commune), writes
``communes/demand_parts.geojson`` and records it in ``study.json``; ``fsgeo.io.load_demand_parts`` and
``Study.demand_parts`` read it back, checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from fsgeo import datasets, io
from fsgeo.build_data import demand
from fsgeo.errors import InputError
from fsgeo.study import StudyManifest

TO_WGS = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
X0, Y0 = 900_000.0, 6_700_000.0
RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
needs_raw = pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the build cannot run")


def lonlat(x, y):
    lon, lat = TO_WGS.transform(X0 + x, Y0 + y)
    return round(float(lon), 6), round(float(lat), 6)


def square(x, y, side):
    corners = [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]
    return shapely.Polygon([lonlat(*c) for c in corners])


# --- apportion: whole inhabitants summing exactly ------------------------------------------------------------------

@pytest.mark.parametrize("total, weights", [(2_103_778, [8, 5, 5, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1]),
                                            (10, [1, 1, 1]), (0, [1, 2]), (7, [0, 0, 3]), (1, [1, 1, 1, 1])])
def test_apportion_sums_exactly(total, weights):
    got = demand.apportion(total, weights)
    assert got.sum() == total and (got >= 0).all()
    quota = total * np.asarray(weights, float) / sum(weights)
    assert (np.abs(got - quota) < 1).all()  # largest remainder: every share within one inhabitant of its quota


def test_apportion_keeps_whole_weights_that_already_sum():
    cog = [16_266, 21_493, 33_823, 28_088]
    assert demand.apportion(sum(cog), cog).tolist() == cog


# --- the k-means heuristic on a synthetic commune ------------------------------------------------------------------

@pytest.fixture()
def city():
    """Commune 99056 (10 x 10 km, 6,001 inhabitants) with three well-separated groups of local junctions: 6 near
    (2, 2) km, 3 near (8, 2), 3 near (5, 8); plus a motorway-only interchange inside (never a part) and a node
    outside. Commune 99001 next to it (one junction)."""
    groups = {"a": [(2000 + dx, 2000 + dy) for dx, dy in [(0, 0), (200, 0), (0, 200), (200, 200), (100, 300),
                                                          (300, 100)]],
              "b": [(8000, 2000), (8200, 2100), (8100, 2300)],
              "c": [(5000, 8000), (5200, 8100), (4900, 8200)]}
    pts = [p for g in groups.values() for p in g]
    motorway = [(5000, 5000), (5100, 5000)]
    outside = [(15_000, 5000)]
    all_pts = pts + motorway + outside
    ids = list(range(1, len(all_pts) + 1))
    ll = [lonlat(*p) for p in all_pts]
    nodes = gpd.GeoDataFrame({"node_id": ids}, geometry=gpd.points_from_xy(*zip(*ll)), crs="EPSG:4326")
    n = len(pts)
    u = list(range(1, n)) + [n + 1, n + 2]
    v = list(range(2, n + 1)) + [n + 2, n + 3]
    edges = pd.DataFrame({"u": u, "v": v, "road_class": ["departementale"] * (n - 1) + ["motorway"] * 2})
    communes = gpd.GeoDataFrame({"code": ["99056", "99001"], "name": ["Ville", "Voisine"],
                                 "population": [6001, 100]},
                                geometry=[square(0, 0, 10_000), square(10_000, 0, 10_000)], crs="EPSG:4326")
    return communes, nodes, edges, groups


def test_cluster_parts_follow_the_junction_groups(city):
    communes, nodes, edges, groups = city
    logs = []
    parts = demand.cluster_parts(communes, nodes, edges, {"99056": 3}, log=logs.append)
    assert parts["part"].tolist() == ["99056-1", "99056-2", "99056-3"]
    assert parts["code"].eq("99056").all() and parts["name"].tolist()[0] == "Ville, partie 1"
    # 6, 3 and 3 junctions of 12: 3000.5, 1500.25, 1500.25 -> whole inhabitants summing to 6001, largest first
    assert parts["population"].tolist() == [3001, 1500, 1500] and parts["population"].sum() == 6001
    # each point is a real junction of its group (the one nearest the group's centre), never the motorway nodes
    node_ll = {(round(p.x, 6), round(p.y, 6)) for p in nodes.geometry[:12]}
    got = [(p.x, p.y) for p in parts.geometry]
    assert set(got) <= node_ll
    assert got[0] in {lonlat(*p) for p in groups["a"]}
    # ties on population broken by x: group c (x ~ 5 km) before group b (x ~ 8 km)
    assert got[1] in {lonlat(*p) for p in groups["c"]} and got[2] in {lonlat(*p) for p in groups["b"]}
    assert parts.crs == "EPSG:4326"
    assert any("3 parts from 12 local-road junctions" in line for line in logs)


def test_cluster_parts_do_not_depend_on_node_order(city):
    communes, nodes, edges, _ = city
    a = demand.cluster_parts(communes, nodes, edges, {"99056": 4}, log=lambda s: None)
    shuffled = nodes.sample(frac=1.0, random_state=3)
    b = demand.cluster_parts(communes, shuffled, edges, {"99056": 4}, log=lambda s: None)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry")))
    assert a.geometry.equals(b.geometry) and len(a) == 4


def test_cluster_parts_agree_with_scikit_learn(city):
    """An independent k-means (scikit-learn, k-means++ with several starts) finds the same three groups."""
    cluster = pytest.importorskip("sklearn.cluster")
    communes, nodes, edges, groups = city
    parts = demand.cluster_parts(communes, nodes, edges, {"99056": 3}, log=lambda s: None)
    xy = np.array([p for g in groups.values() for p in g], float)
    labels = cluster.KMeans(3, n_init=10, random_state=0).fit(xy).labels_
    sizes = sorted(np.bincount(labels).tolist(), reverse=True)
    shares = parts["population"].to_numpy() / 6001
    np.testing.assert_allclose(shares, np.array(sizes) / len(xy), atol=1 / 6001)


def test_fewer_junctions_than_parts(city):
    communes, nodes, edges, _ = city
    logs = []
    parts = demand.cluster_parts(communes, nodes, edges, {"99056": 50, "99001": 3}, log=logs.append)
    assert len(parts) == 12 and parts["population"].sum() == 6001  # one part per junction
    assert "99001" not in set(parts["code"])  # no junction inside: keeps its one point, logged
    assert any("99001 (Voisine): 0 local-road junction(s) inside" in line for line in logs)
    assert any("12 parts instead of 50" in line for line in logs)


# --- the points file: arrondissements, several rows, errors naming file and row -----------------------------------

ARR = pd.DataFrame({"code": ["99101", "99102", "99103"], "name": ["Ville 1er", "Ville 2e", "Ville 3e"],
                    "commune": ["99056"] * 3, "population": [1000, 2000, 3001]})


def write(tmp_path, text, name="p.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_arrondissements_and_weighted_rows(tmp_path):
    path = write(tmp_path, "code,lon,lat,source,population\n99101,6.1,47.1,mairie\n99102,6.2,47.2,mairie,\n"
                           "99103,6.3,47.3,mairie,5\n70550,6.15,47.62,mairie,\n70001,6.0,47.0,a,1\n"
                           "70001,6.01,47.01,b,2.5\n")
    got = demand.read_demand_points(path, ARR)
    assert got["code"].tolist() == ["99056"] * 3 + ["70550", "70001", "70001"]
    assert got["part"].tolist()[:3] == ["99101", "99102", "99103"] and got["part"].iloc[3:].isna().all()
    assert got["weight"].iloc[4:].tolist() == [1.0, 2.5] and np.isnan(got["weight"].iat[3])
    assert got["line"].tolist() == [2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("text, message", [
    ("code,lon,lat,source\n99101,6.1,47.1,x\n99103,6.3,47.3,x\n",
     "commune 99056 is given by arrondissement (rows [2, 3]) but 1 of its 3 arrondissements have no point: 99102"),
    ("code,lon,lat,source\n99056,6.1,47.1,x\n99101,6.1,47.1,x\n99102,6.1,47.1,x\n99103,6.1,47.1,x\n",
     "commune 99056 is given both as a commune (row(s) [2]) and by arrondissement (row(s) [3, 4, 5])"),
    ("code,lon,lat,source\n99101,6.1,47.1,x\n99101,6.1,47.1,x\n99102,6.1,47.1,x\n99103,6.1,47.1,x\n",
     "arrondissement 99101 has several points (rows [2, 3])"),
    ("code,lon,lat,source\n70001,6.1,47.1,x\n70001,6.2,47.2,x\n",
     "commune 70001 has several points (rows [2, 3]) but the file has no population (or weight) column"),
    ("code,lon,lat,source,weight\n70001,6.1,47.1,x,1\n70001,6.2,47.2,x,\n",
     "row 3 (commune 70001): weight is missing; commune 70001 has several points (rows [2, 3])"),
    ("code,lon,lat,source,weight\n70001,6.1,47.1,x,1\n70001,6.2,47.2,x,-2\n",
     "row 3 (commune 70001): weight '-2' must be a finite number >= 0"),
    ("code,lon,lat,source,population\n70001,6.1,47.1,x,beaucoup\n",
     "row 2 (commune 70001): population 'beaucoup' is not a number"),
    ("code,lon,lat,source,weight\n70001,6.1,47.1,x,0\n70001,6.2,47.2,x,0\n",
     "commune 70001 has several points (rows [2, 3]) whose weight are all 0"),
])
def test_bad_parts_in_the_points_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        demand.read_demand_points(path, ARR)
    assert str(path) in str(err.value) and message in str(err.value), str(err.value)


# --- apply_to_study on a copy of the embedded study (no ../shared needed) ------------------------------------------

@pytest.fixture()
def study_copy(tmp_path, monkeypatch):
    """The embedded communes and network, and a made-up COG in which Vesoul (70550) has 3 arrondissements."""
    from fsgeo.settings import settings

    folder = tmp_path / "communes"
    folder.mkdir()
    for name in ("communes.geojson", "neighbours.geojson"):
        shutil.copy(settings.communes_path.parent / name, folder / name)
    pop = int(gpd.read_file(folder / "communes.geojson").set_index("code").loc["70550", "population"])
    arr = pd.DataFrame({"code": ["70901", "70902", "70903"], "name": ["Vesoul 1er", "Vesoul 2e", "Vesoul 3e"],
                        "commune": ["70550"] * 3, "population": [pop - 5000, 3000, 2000]})
    monkeypatch.setattr(demand, "arrondissements", lambda raw: arr)
    return tmp_path, settings.network_path, arr, pop


@pytest.mark.parametrize("basis, source", [("area", "area cluster"), ("junctions", "road-junction cluster")])
def test_apply_heuristic_parts_to_a_study(study_copy, basis, source):
    out, network, arr, pop = study_copy
    logs = []
    entry = demand.apply_to_study(out, network, log=logs.append, raw=out, parts_basis=basis)
    parts = gpd.read_file(out / demand.PARTS_FILE)
    assert parts["part"].tolist() == ["70550-1", "70550-2", "70550-3"] and parts["population"].sum() == pop
    assert parts["source"].eq(source).all()
    communes = gpd.read_file(out / "communes" / "communes.geojson").set_index("code")
    vesoul = communes.loc["70550"]
    # the commune's point is its most populous part's; the source says so
    assert (vesoul.point_lon, vesoul.point_lat) == (parts.geometry.x.iat[0], parts.geometry.y.iat[0])
    assert vesoul.point_source == f"{source} (1 of 3)"
    nodes = gpd.read_file(network, layer="nodes")
    node_ll = {(round(p.x, 6), round(p.y, 6)) for p in nodes.geometry}
    if basis == "junctions":  # every part's point is a local-road node of the network inside Vesoul
        assert all((p.x, p.y) in node_ll for p in parts.geometry)
    else:  # grid cells: spread over the commune, not on the roads
        assert not any((p.x, p.y) in node_ll for p in parts.geometry)
        assert entry["parts"]["grid_cells"] == demand.AREA_CELLS
    assert shapely.contains_xy(communes.loc["70550"].geometry, parts.geometry.x, parts.geometry.y).all()
    assert entry["parts"]["by_commune"] == {"70550": {"parts": 3, "population": pop, "source": source}}
    assert entry["parts"]["communes"] == 1 and entry["parts"]["parts"] == 3
    assert entry["parts"]["method"] == source + "s"
    assert entry["points"][source] == 1 and sum(entry["points"].values()) == len(communes)
    loaded = io.load_demand_parts(out / demand.PARTS_FILE, communes=communes.reset_index())
    assert loaded["population"].sum() == pop
    # the other communes are untouched by the parts step
    plain = demand.apply_to_study(out, network, log=lambda s: None)  # raw=None: no COG, no parts
    assert "parts" not in plain and not (out / demand.PARTS_FILE).exists()  # a stale parts file is removed
    again = gpd.read_file(out / "communes" / "communes.geojson").set_index("code")
    assert again.loc["70550", "point_source"] == "road junction"
    others = communes.index != "70550"
    assert (again.loc[others, "point_lon"] == communes.loc[others, "point_lon"]).all()


def test_apply_file_parts_to_a_study(study_copy, tmp_path):
    out, network, arr, pop = study_copy
    points = write(tmp_path, "code,lon,lat,source,population\n70903,6.16,47.63,mairie annexe\n"
                             "70901,6.15,47.62,mairie\n70902,6.17,47.61,mairie annexe\n"
                             "70285,6.3,47.7,a,1\n70285,6.31,47.71,b,3\n70001,5.9,47.5,mairie,\n",
                   name="points.csv")
    entry = demand.apply_to_study(out, network, log=lambda s: None, demand_points=points, raw=out)
    parts = gpd.read_file(out / demand.PARTS_FILE).set_index("part")
    communes = gpd.read_file(out / "communes" / "communes.geojson").set_index("code")
    # arrondissements: COG populations and names, the file's exact coordinates, ids = the codes
    assert parts.loc[["70901", "70902", "70903"], "population"].tolist() == arr["population"].tolist()
    assert parts.loc["70901", "name"] == "Vesoul 1er" and parts.loc["70903", "source"] == "user: mairie annexe"
    assert (parts.loc["70903"].geometry.x, parts.loc["70903"].geometry.y) == (6.16, 47.63)
    assert (communes.loc["70550", "point_lon"], communes.loc["70550", "point_lat"]) == (6.15, 47.62)
    assert communes.loc["70550", "point_source"] == "user: mairie (arrondissement 70901)"
    # several rows of one commune: weights 1:3 scaled to its population, ids in file order
    p285 = int(communes.loc["70285", "population"])
    assert parts.loc[["70285-1", "70285-2"], "population"].sum() == p285
    assert parts.loc["70285-2", "population"] == demand.apportion(p285, [1, 3])[1]
    assert communes.loc["70285", "point_source"] == "user: b (part 2 of 2)"
    # a single row: one point, kept exactly, no parts
    assert (communes.loc["70001", "point_lon"], communes.loc["70001", "point_lat"]) == (5.9, 47.5)
    assert "70001" not in set(parts["code"])
    by = entry["parts"]["by_commune"]
    assert by["70550"] == {"parts": 3, "population": pop, "source": "file"} and by["70285"]["parts"] == 2
    assert entry["parts"]["method"] == "points file"
    io.load_demand_parts(out / demand.PARTS_FILE, communes=communes.reset_index())  # valid


def test_file_parts_errors_name_file_and_row(study_copy, tmp_path):
    out, network, arr, pop = study_copy
    neighbour = gpd.read_file(out / "communes" / "neighbours.geojson")["code"].iat[0]
    for text, message in ((f"code,lon,lat,source,weight\n{neighbour},6,47,a,1\n{neighbour},6.1,47,b,1\n",
                           f"row 2: commune '{neighbour}' is a neighbouring commune, not a commune of the study"),
                          ("code,lon,lat,source,weight\n99999,6,47,a,1\n99999,6.1,47,b,1\n",
                           "row 2: commune '99999' is neither a commune of the study")):
        points = write(tmp_path, text, name="bad.csv")
        with pytest.raises(InputError) as err:
            demand.apply_to_study(out, network, log=lambda s: None, demand_points=points, raw=out)
        assert str(points) in str(err.value) and message in str(err.value), str(err.value)


# --- the loader ------------------------------------------------------------------------------------------------------

def parts_file(tmp_path, rows, name="parts.geojson"):
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["code", "part", "name", "population", "source"]),
                           geometry=gpd.points_from_xy([6.1 + 0.01 * i for i in range(len(rows))], [47.6] * len(rows)),
                           crs="EPSG:4326")
    path = tmp_path / name
    gdf.to_file(path, driver="GeoJSON")
    return path


COMMUNES = pd.DataFrame({"code": ["70550", "70285"], "population": [100, 50]})
GOOD = [("70550", "70550-1", "a", 60, "x"), ("70550", "70550-2", "b", 40, "x")]


def test_loader_reads_a_valid_file(tmp_path):
    got = io.load_demand_parts(parts_file(tmp_path, GOOD), communes=COMMUNES)
    assert list(got.columns) == ["code", "part", "name", "population", "source", "geometry"]
    assert got["population"].tolist() == [60.0, 40.0] and got.crs == "EPSG:4326"
    assert got.geometry.x.tolist() == [6.1, 6.11]


@pytest.mark.parametrize("rows, message", [
    ([("70550", "70550-1", "a", 60, "x"), ("70550", "70550-1", "b", 40, "x")], "duplicate part"),
    ([("70550", "70550-1", "a", 60, "x"), ("70550", "70550-2", "b", -40, "x")],
     "row 2: part 70550-2: population -40"),
    ([("70550", "70550-1", "a", 60, "x"), ("70550", "70550-2", "b", None, "x")],
     "row 2: part 70550-2: missing population"),
    ([("70550", "70550-1", "a", 100, "x")], "commune 70550 has a single part (70550-1)"),
    ([*GOOD, ("99999", "99999-1", "a", 1, "x"), ("99999", "99999-2", "a", 1, "x")],
     "row 3: part 99999-1: commune 99999 is not one of the 2 communes"),
    ([("70550", "70550-1", "a", 60, "x"), ("70550", "70550-2", "b", 39, "x")],
     "commune 70550: its parts (70550-1, 70550-2) sum to 99.0 inhabitants, the commune has 100"),
])
def test_loader_errors_name_file_part_and_problem(tmp_path, rows, message):
    path = parts_file(tmp_path, rows)
    with pytest.raises(InputError) as err:
        io.load_demand_parts(path, communes=COMMUNES)
    assert str(path) in str(err.value) and message in str(err.value), str(err.value)


def test_loader_missing_column_and_tolerance(tmp_path):
    path = parts_file(tmp_path, GOOD)
    gdf = gpd.read_file(path).drop(columns="source")
    gdf.to_file(tmp_path / "nosource.geojson", driver="GeoJSON")
    with pytest.raises(InputError, match=r"nosource.geojson: missing column\(s\) source"):
        io.load_demand_parts(tmp_path / "nosource.geojson")
    # within 0.5 inhabitant: accepted (rounded shares of a weighted file)
    ok = [("70550", "70550-1", "a", 60.3, "x"), ("70550", "70550-2", "b", 40.1, "x")]
    assert io.load_demand_parts(parts_file(tmp_path, ok, "ok.geojson"), communes=COMMUNES)["population"].sum() \
        == pytest.approx(100.4)


def test_embedded_study_has_no_parts():
    study = datasets.load_study()
    assert study.demand_parts is None
    assert study.manifest.path("demand_parts") is None and "demand_parts" not in study.manifest.files
    assert not (study.root / demand.PARTS_FILE).exists()


def test_manifest_accepts_and_checks_demand_parts(tmp_path):
    from fsgeo.settings import settings

    m = StudyManifest.read(settings.data_dir)
    m.files = {**m.files, "demand_parts": "communes/demand_parts.geojson"}
    for key in ("sites", "communes", "neighbour_communes", "outline", "network"):
        if m.files.get(key):
            (tmp_path / m.files[key]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(m.path(key), tmp_path / m.files[key])
    m.root = None
    m.write(tmp_path)
    with pytest.raises(InputError, match="files.demand_parts = 'communes/demand_parts.geojson'"):
        StudyManifest.read(tmp_path)  # listed but absent
    communes = gpd.read_file(tmp_path / "communes" / "communes.geojson").set_index("code")
    pop = int(communes.loc["70550", "population"])
    parts_file(tmp_path, [("70550", "70550-1", "a", pop - 1, "x"), ("70550", "70550-2", "b", 1, "x")],
               name="communes/demand_parts.geojson")
    study = datasets.load_study(tmp_path)
    assert study.demand_parts["part"].tolist() == ["70550-1", "70550-2"]
    # a communes file of one's own (--communes) replaces the study's points: no parts then
    assert datasets.load_study(tmp_path, communes=tmp_path / "communes" / "communes.geojson").demand_parts is not None
    other = tmp_path / "mine.geojson"
    shutil.copy(tmp_path / "communes" / "communes.geojson", other)
    assert datasets.load_study(tmp_path, communes=other).demand_parts is None


# --- builds from the raw sources -----------------------------------------------------------------------------------

def _node_lonlat(gpkg: Path) -> set:
    nodes = gpd.read_file(gpkg, layer="nodes").to_crs("EPSG:4326")
    return {(round(p.x, 6), round(p.y, 6)) for p in nodes.geometry}


@pytest.fixture(scope="module")
def lyon_study(tmp_path_factory):
    """`fsgeo build --departement 69` (about 10 s), shared by the tests below."""
    from fsgeo.build_data import build_all

    out = tmp_path_factory.mktemp("lyon") / "study"
    build_all(RAW, out, lambda s: None, "69")
    return out


@pytest.mark.slow
@needs_raw
def test_lyon_build_has_deterministic_parts(tmp_path, lyon_study):
    """`fsgeo build --departement 69`: Lyon gets 9 parts (its 9 arrondissements) spread over its area, summing
    to its population; two builds are byte-identical; study.json lists the file; Study.demand_parts reads it."""
    from fsgeo.build_data import build_all

    a, b = lyon_study, tmp_path / "b"
    build_all(RAW, b, lambda s: None, "69")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert Path(demand.PARTS_FILE) in files
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    m = StudyManifest.read(a)
    assert m.files["demand_parts"] == demand.PARTS_FILE
    cog = demand.arrondissements(RAW)
    lyon_pop = int(cog.loc[cog["commune"] == "69123", "population"].sum())
    assert m.demand["parts"]["by_commune"] == {"69123": {"parts": 9, "population": lyon_pop,
                                                         "source": "area cluster"}}
    study = datasets.load_study(a)
    parts = study.demand_parts
    assert parts["part"].tolist() == [f"69123-{i}" for i in range(1, 10)]
    assert parts["population"].sum() == lyon_pop == int(study.communes.set_index("code").loc["69123", "population"])
    assert list(parts["population"]) == sorted(parts["population"], reverse=True)
    assert not {(p.x, p.y) for p in parts.geometry} & _node_lonlat(m.path("network"))  # on the area's grid
    lyon = study.communes.set_index("code").loc["69123"]
    assert shapely.contains_xy(lyon.geometry, parts.geometry.x, parts.geometry.y).all()
    assert (lyon.point_lon, lyon.point_lat) == (parts.geometry.x.iat[0], parts.geometry.y.iat[0])
    assert lyon.point_source == "area cluster (1 of 9)"
    assert "69123" in m.demand["moved"] or m.demand["moved"] is not None


def _inside_points(polygon, n: int) -> list[tuple[float, float]]:
    """``n`` made-up points inside ``polygon`` (a grid, 7 decimals: kept exactly as given)."""
    minx, miny, maxx, maxy = polygon.bounds
    pts = []
    for y in np.linspace(miny, maxy, 12)[1:-1]:
        for x in np.linspace(minx, maxx, 12)[1:-1]:
            x, y = round(float(x), 7), round(float(y), 7)
            if polygon.contains(shapely.Point(x, y)):
                pts.append((x, y))
    assert len(pts) >= n
    return pts[:: max(1, len(pts) // n)][:n]


@pytest.mark.slow
@needs_raw
def test_paris_by_arrondissement_file(tmp_path):
    """A file of the 20 Paris arrondissement codes: 20 parts with the COG populations and the file's exact
    coordinates; 19 codes, or an arrondissement of a commune outside the study, stop the build naming the file."""
    from _cli import run_fsgeo

    from fsgeo.build_data import build_all

    cog = demand.arrondissements(RAW)
    paris = cog[cog["commune"] == "75056"].reset_index(drop=True)
    assert len(paris) == 20
    base = tmp_path / "base"
    build_all(RAW, base, lambda s: None, "75", study_network=False)
    polygon = gpd.read_file(base / "communes" / "communes.geojson").set_index("code").loc["75056"].geometry
    pts = _inside_points(polygon, 20)
    lines = ["code,lon,lat,source"] + [f"{c},{x},{y},invented for the test" for c, (x, y) in zip(paris["code"], pts)]
    points = write(tmp_path, "\n".join(lines) + "\n", name="arrondissements.csv")
    out = tmp_path / "paris"
    build_all(RAW, out, lambda s: None, "75", study_network=False, demand_points=points)
    study = datasets.load_study(out)
    parts = study.demand_parts.set_index("part")
    assert parts.index.tolist() == paris["code"].tolist()
    assert parts["population"].tolist() == paris["population"].tolist()
    assert parts["name"].tolist() == paris["name"].tolist()
    assert [(p.x, p.y) for p in parts.geometry] == pts
    top = paris["population"].idxmax()
    commune = study.communes.set_index("code").loc["75056"]
    assert (commune.point_lon, commune.point_lat) == pts[top]
    assert commune.point_source == f"user: invented for the test (arrondissement {paris['code'][top]})"
    assert study.manifest.demand["parts"]["by_commune"]["75056"]["source"] == "file"
    # errors: the file, the commune, the missing code; an arrondissement of Lyon in a Paris study names its row
    points.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    bad = run_fsgeo("build", "--departement", "75", "--raw", RAW, "--out", tmp_path / "bad", "--no-network",
                    "--demand-points", points, check=False)
    assert bad.returncode == 2 and str(points) in bad.stderr and "commune 75056" in bad.stderr, bad.stderr
    assert "have no point: 75120" in bad.stderr
    lyon = [f"{c},4.83,45.77,x" for c in cog.loc[cog["commune"] == "69123", "code"]]
    points.write_text("\n".join(lines + lyon) + "\n", encoding="utf-8")
    bad = run_fsgeo("build", "--departement", "75", "--raw", RAW, "--out", tmp_path / "bad", "--no-network",
                    "--demand-points", points, check=False)
    assert bad.returncode == 2 and str(points) in bad.stderr, bad.stderr
    assert "row 22: arrondissement 69381 belongs to commune '69123', which is not a commune of the study" in bad.stderr
    assert not (tmp_path / "bad" / "study.json").exists()


@pytest.mark.slow
@needs_raw
def test_national_build_has_parts(tmp_path):
    """`fsgeo build --france` goes through the same step: a small "France" of 13 gets Marseille's 16 parts."""
    from fsgeo.build_data import france

    france.build(RAW, tmp_path / "fr", log=lambda s: None, codes=["13"])
    m = StudyManifest.read(tmp_path / "fr")
    assert m.files["demand_parts"] == demand.PARTS_FILE
    parts = datasets.load_study(tmp_path / "fr").demand_parts
    assert len(parts) == 16 and set(parts["code"]) == {"13055"}
    assert m.demand["parts"]["by_commune"]["13055"]["parts"] == 16
    assert json.loads((tmp_path / "fr" / "study.json").read_text(encoding="utf-8"))["files"]["demand_parts"]


# --- the area rule (default) ----------------------------------------------------------------------------------------

def _commune_in_lambert(code: str, *polygons) -> gpd.GeoDataFrame:
    """One commune (``code``, 10,000 inhabitants) whose polygon(s) are given in Lambert-93 metres."""
    geom = shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]
    return gpd.GeoDataFrame({"code": [code], "name": ["Ville"], "population": [10_000]},
                            geometry=gpd.GeoSeries([geom], crs="EPSG:2154").to_crs("EPSG:4326"), crs="EPSG:4326")


def test_area_parts_spread_the_inhabitants_over_the_area():
    """An L-shaped town of 3 squares (each 4 x 4 km) in 3 parts: one part per square, a third of the inhabitants
    each, every point inside its square; the area each part stands for (its Voronoi cell, computed independently
    with shapely, clipped to the town) matches its population share."""
    x0, y0, s = 900_000.0, 6_700_000.0, 4000.0
    squares = [shapely.box(x0, y0, x0 + s, y0 + s), shapely.box(x0 + s, y0, x0 + 2 * s, y0 + s),
               shapely.box(x0, y0 + s, x0 + s, y0 + 2 * s)]
    town = shapely.union_all(squares)
    communes = _commune_in_lambert("99056", town)
    logs = []
    parts = demand.area_parts(communes, {"99056": 3}, log=logs.append)
    assert parts["population"].tolist() == [3334, 3333, 3333] and parts["source"].eq("area cluster").all()
    pts = parts.to_crs("EPSG:2154").geometry
    assert sorted(sum(sq.contains(p) for p in pts) for sq in squares) == [1, 1, 1]
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(pts)), extend_to=town.buffer(s))
    for p, pop in zip(pts, parts["population"]):
        cell = next(c for c in cells.geoms if c.contains(p))
        assert abs(cell.intersection(town).area / town.area - pop / 10_000) < 0.02
    assert any("3 parts from" in line and "grid cells" in line for line in logs)
    # deterministic: the same frame again, point for point
    again = demand.area_parts(communes, {"99056": 3}, log=lambda m: None)
    assert again.geometry.geom_equals_exact(parts.geometry, 0).all() and again["population"].equals(parts["population"])


def test_area_parts_leave_islands_out():
    """A commune of a 10 x 10 km mainland polygon and a small island (Marseille and its Frioul): the parts cover the
    mainland only, and the log says one polygon was left out."""
    x0, y0 = 900_000.0, 6_200_000.0
    main, island = shapely.box(x0, y0, x0 + 10_000, y0 + 10_000), shapely.box(x0 + 15_000, y0, x0 + 16_000, y0 + 1000)
    communes = _commune_in_lambert("99055", main, island)
    logs = []
    parts = demand.area_parts(communes, {"99055": 4}, log=logs.append)
    pts = parts.to_crs("EPSG:2154").geometry
    assert len(parts) == 4 and parts["population"].sum() == 10_000 and all(main.contains(p) for p in pts)
    assert all(2000 < pop < 3000 for pop in parts["population"])  # about a quarter of the square each
    assert any("1 smaller polygon(s) left out" in line for line in logs)


def test_parts_basis_none_and_bad_basis(study_copy):
    out, network, arr, pop = study_copy
    entry = demand.apply_to_study(out, network, log=lambda m: None, raw=out, parts_basis="none")
    assert "parts" not in entry and not (out / demand.PARTS_FILE).exists()
    with pytest.raises(ValueError, match="demand parts rule 'grid'"):
        demand.apply_to_study(out, network, log=lambda m: None, raw=out, parts_basis="grid")


def _without_parts(study: Path, dest: Path) -> Path:
    """A copy of ``study`` whose study.json no longer lists its demand parts (one point per commune)."""
    shutil.copytree(study, dest)
    manifest = json.loads((dest / "study.json").read_text(encoding="utf-8"))
    del manifest["files"]["demand_parts"]
    (dest / "study.json").write_text(json.dumps(manifest), encoding="utf-8")
    return dest


@pytest.mark.slow
@needs_raw
def test_cli_coverage_routes_the_parts(tmp_path, lyon_study):
    """`fsgeo coverage --study` (département path) passes the study's demand parts: Lyon has n_points 9 in the JSON,
    its minutes are the population-weighted mean of its parts' (listed under "parts"), and the inhabitants within
    each band count each part at its own time; the same study without its parts file has one point for Lyon."""
    from _cli import run_fsgeo

    with_parts = json.loads(run_fsgeo("coverage", "--study", lyon_study, "--format", "json").stdout)
    lyon = next(c for c in with_parts["communes"] if c["code"] == "69123")
    assert lyon["n_points"] == 9 and lyon["minutes_min"] <= lyon["minutes"] <= lyon["minutes_max"]
    parts = [p for p in with_parts["parts"] if p["code"] == "69123"]
    assert len(parts) == 9 and sum(p["population"] for p in parts) == lyon["population"]
    mean = sum(p["population"] * p["minutes"] for p in parts) / lyon["population"]
    assert lyon["minutes"] == pytest.approx(mean, abs=0.01)
    assert all(c["n_points"] == 1 for c in with_parts["communes"] if c["code"] != "69123")
    plain = _without_parts(lyon_study, tmp_path / "plain")
    without = json.loads(run_fsgeo("coverage", "--study", plain, "--format", "json").stdout)
    lyon1 = next(c for c in without["communes"] if c["code"] == "69123")
    assert "n_points" not in lyon1 and "parts" not in without
    assert lyon1["minutes"] != lyon["minutes"]
    # the CSV carries the parts' columns too, after minutes
    csv = run_fsgeo("coverage", "--study", lyon_study, "--format", "csv").stdout.splitlines()
    header = csv[0].split(",")
    assert header[header.index("minutes") + 1: header.index("minutes") + 4] == ["minutes_min", "minutes_max",
                                                                                "n_points"]


@pytest.mark.slow
@needs_raw
def test_cli_national_coverage_routes_the_parts(tmp_path):
    """A study of two départements (the national report) built with `fsgeo build --departement 13,84`: Marseille's
    16 parts reach `national_coverage` through the CLI; without them the figures differ."""
    from _cli import run_fsgeo

    from fsgeo import national
    from fsgeo.build_data import build_all

    out = tmp_path / "study"
    build_all(RAW, out, lambda s: None, "13,84")
    study = datasets.load_study(out)
    assert len(study.demand_parts) == 16 and set(study.demand_parts["code"]) == {"13055"}
    got = json.loads(run_fsgeo("coverage", "--study", out, "--format", "json").stdout)
    plain = _without_parts(out, tmp_path / "plain")
    one_point = json.loads(run_fsgeo("coverage", "--study", plain, "--format", "json").stdout)
    # the same figures as the library given the parts, different from one point per commune
    lib = national.national_coverage(study.communes, study.sites, [study.network], parts=study.demand_parts)
    assert got["summary"]["mean_min"] == pytest.approx(lib.summary.mean_min, abs=1e-6)
    assert got["summary"]["mean_min"] != pytest.approx(one_point["summary"]["mean_min"], abs=1e-6)
    assert got["summary"]["population"] == one_point["summary"]["population"]


# --- --demand-split-population N (off by default) ------------------------------------------------------------------

@pytest.mark.parametrize("basis, source", [("area", "area cluster"), ("junctions", "road-junction cluster")])
def test_split_population_splits_the_other_large_communes(study_copy, basis, source):
    """N = 5,000: every commune of the copy above 5,000 inhabitants other than those with arrondissements gets
    ceil(population / N) parts by the same rule, summing to its population; study.json records N."""
    out, network, arr, pop = study_copy
    communes = gpd.read_file(out / "communes" / "communes.geojson")
    big = communes[(communes["population"] > 5000) & (communes["code"] != "70550")]
    assert len(big) >= 2  # Gray, Lure, Luxeuil-les-Bains, Héricourt...
    logs = []
    entry = demand.apply_to_study(out, network, log=logs.append, raw=out, parts_basis=basis, split_population=5000)
    parts = gpd.read_file(out / demand.PARTS_FILE)
    by = entry["parts"]["by_commune"]
    assert set(by) == set(big["code"]) | {"70550"} and entry["parts"]["split_population"] == 5000
    assert by["70550"]["parts"] == 3  # its (made-up) arrondissements, not ceil(pop / N)
    for code, p in zip(big["code"], big["population"]):
        got = parts[parts["code"] == code]
        assert len(got) == -(-int(p) // 5000) and got["population"].sum() == p and got["source"].eq(source).all()
        assert by[code] == {"parts": len(got), "population": int(p), "source": source}
    assert any(f"{len(big)} other communes of more than 5,000 inhabitants" in line for line in logs)
    io.load_demand_parts(out / demand.PARTS_FILE, communes=gpd.read_file(out / "communes" / "communes.geojson"))
    # off by default: only the communes with arrondissements
    assert set(demand.apply_to_study(out, network, log=lambda s: None, raw=out)["parts"]["by_commune"]) == {"70550"}
    with pytest.raises(ValueError, match="demand split population 0"):
        demand.apply_to_study(out, network, log=lambda s: None, raw=out, split_population=0)


@pytest.mark.slow
@needs_raw
def test_build_cli_split_population(tmp_path):
    """`fsgeo build --departement 90 --no-network --demand-split-population 20000`: Belfort (90010, the only commune
    of 90 above 20,000 inhabitants) gets ceil(pop / 20,000) area parts; a bad N is a usage error."""
    from _cli import run_fsgeo

    out = tmp_path / "belfort"
    run_fsgeo("build", "--departement", "90", "--raw", RAW, "--out", out, "--no-network", "--quiet",
              "--demand-split-population", "20000")
    study = datasets.load_study(out)
    pops = study.communes.set_index("code")["population"]
    big = sorted(pops[pops > 20_000].index)
    assert big == ["90010"]
    parts = study.demand_parts
    assert set(parts["code"]) == {"90010"} and len(parts) == -(-int(pops["90010"]) // 20_000)
    assert parts["population"].sum() == pops["90010"]
    assert study.manifest.demand["parts"]["split_population"] == 20000
    bad = run_fsgeo("build", "--departement", "90", "--raw", RAW, "--out", tmp_path / "bad", "--no-network",
                    "--demand-split-population", "0", check=False)
    assert bad.returncode == 2 and "--demand-split-population" in bad.stderr and "> 0" in bad.stderr, bad.stderr
