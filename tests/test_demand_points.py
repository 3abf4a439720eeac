"""Demand points: user points are never moved; the road-junction heuristic picks the densest local junction inside the
commune (not a motorway-only node), else keeps the pole; moves over 2 km are logged; bad files name the row."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from fsgeo.build_data import demand
from fsgeo.errors import InputError

TO_WGS = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
X0, Y0 = 900_000.0, 6_700_000.0


def square(x, y, side):
    lon, lat = TO_WGS.transform([X0 + x, X0 + x + side, X0 + x + side, X0 + x], [Y0 + y, Y0 + y, Y0 + y + side,
                                                                                 Y0 + y + side])
    return shapely.Polygon(zip(lon, lat))


def lonlat(x, y):
    lon, lat = TO_WGS.transform(X0 + x, Y0 + y)
    return round(float(lon), 6), round(float(lat), 6)


@pytest.fixture()
def world():
    """Commune A (10 x 10 km): a village of 3 junctions near (7, 7) km, a lone junction at (1, 1), a motorway
    interchange cluster (4 motorway-only nodes) at (3, 8); its pole is the square's centre. Commune B (east, 10 x 10
    km): no node inside."""
    communes = gpd.GeoDataFrame({"code": ["70001", "70002"], "name": ["A", "B"]},
                                geometry=[square(0, 0, 10_000), square(10_000, 0, 10_000)], crs="EPSG:4326")
    centre = [lonlat(5000, 5000), lonlat(15_000, 5000)]
    communes["point_lon"] = [c[0] for c in centre]
    communes["point_lat"] = [c[1] for c in centre]
    pts = {1: (7000, 7000), 2: (7300, 7100), 3: (6900, 7400), 4: (1000, 1000),
           10: (3000, 8000), 11: (3100, 8000), 12: (3000, 8100), 13: (3100, 8100), 20: (-5000, 8000)}
    ids = list(pts)
    ll = [lonlat(*pts[i]) for i in ids]
    nodes = gpd.GeoDataFrame({"node_id": ids}, geometry=gpd.points_from_xy([p[0] for p in ll], [p[1] for p in ll]),
                             crs="EPSG:4326")
    edges = pd.DataFrame({"u": [1, 1, 2, 4, 10, 10, 10, 11, 12, 13],
                          "v": [2, 3, 3, 1, 11, 12, 13, 12, 13, 20],
                          "road_class": ["departementale"] * 4 + ["motorway"] * 6})
    return communes, nodes, edges


def test_junction_heuristic_picks_the_village(world):
    communes, nodes, edges = world
    logs = []
    out = demand.place(communes, nodes, edges, log=logs.append)
    a, b = out.iloc[0], out.iloc[1]
    # the densest local junction: node 1, 2 or 3 (3 local nodes within 1 km each); ties -> nearest the centroid
    lon, lat = lonlat(7000, 7000)
    assert (a.point_lon, a.point_lat) == (lon, lat) and a.point_source == "road junction"
    assert (b.point_lon, b.point_lat) == (communes.point_lon.iat[1], communes.point_lat.iat[1])
    assert b.point_source == "pole of inaccessibility"
    moved = out.attrs["moved_m"]
    assert moved["70001"] == pytest.approx(np.hypot(2000, 2000), rel=1e-3) and moved["70002"] == 0
    assert any("moved 70001 (A) 2.8 km: road junction" in line for line in logs)
    assert any("1 communes moved more than 2 km" in line for line in logs)


def test_motorway_only_nodes_are_never_a_centre(world):
    communes, nodes, edges = world
    j = demand.junction_points(communes, nodes[nodes.node_id >= 10], edges)
    assert j["lon"].isna().all()     # only motorway-only nodes inside: no junction centre


def test_user_points_are_never_moved(world, tmp_path):
    communes, nodes, edges = world
    path = tmp_path / "points.csv"
    # B's point lies outside B (in A): kept as given, logged
    path.write_text("code;lon;lat;source\n70001;5.1234567;45.7654321;mairie (BAN)\n70002;6,5;44,1;mairie\n",
                    encoding="utf-8")
    user = demand.read_demand_points(path)
    logs = []
    out = demand.place(communes, nodes, edges, user=user, log=logs.append, source_name=str(path))
    assert out["point_lon"].tolist() == [5.1234567, 6.5] and out["point_lat"].tolist() == [45.7654321, 44.1]
    assert out["point_source"].tolist() == ["user: mairie (BAN)", "user: mairie"]
    assert any("row 3: the point of 70002 lies outside its commune; kept as given" in line for line in logs)
    # codes the build does not have: error naming the row
    path.write_text("code,lon,lat,source\n70001,6.1,47.6,x\n70999,6.1,47.6,x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3: commune '70999' is not one of the 2 communes built"):
        demand.place(communes, nodes, edges, user=demand.read_demand_points(path), log=logs.append,
                     source_name=str(path))


@pytest.mark.parametrize("text, message", [
    ("code,lon,lat\n70001,6,47\n", "missing column(s) ['source']"),
    ("code,lon,lat,source\n70001,6,47,x\n70002,six,47,x\n", "row 3 (commune 70002): lon/lat 'six'"),
    ("code,lon,lat,source\n70001,6,147,x\n", "row 2 (commune 70001): (6.0, 147.0) is not a WGS84"),
    ("code,lon,lat,source\n70001,6,47,\n", "row 2 (commune 70001): source is empty"),
    ("code,lon,lat,source\n70001,6,47,x\n70001,6.1,47,x\n", "commune 70001 has several points (rows [2, 3])"),
    ("code,lon,lat,source\n,6,47,x\n", "row 2: code is empty"),
])
def test_bad_points_files_name_the_row(tmp_path, text, message):
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        demand.read_demand_points(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_leading_zero_restored(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("code,lon,lat,source\n1001,5.0,46.1,x\n", encoding="utf-8")
    assert demand.read_demand_points(path)["code"].tolist() == ["01001"]


def test_apply_to_a_built_study(tmp_path):
    import shutil

    from fsgeo.settings import settings

    folder = tmp_path / "communes"
    folder.mkdir()
    for name in ("communes.geojson", "neighbours.geojson"):
        shutil.copy(settings.communes_path.parent / name, folder / name)
    # back to the communes step's output: the poles of inaccessibility, no point_source (the committed study is placed)
    from fsgeo.build_data.communes import _write_geojson, demand_point

    before = gpd.read_file(folder / "communes.geojson").drop(columns="point_source")
    poles = [demand_point(g) for g in before.geometry]
    before["point_lon"], before["point_lat"] = [p[0] for p in poles], [p[1] for p in poles]
    _write_geojson(before, folder / "communes.geojson")
    neighbours = gpd.read_file(folder / "neighbours.geojson")
    other = neighbours["code"].iat[0]
    points = tmp_path / "points.csv"
    points.write_text(f"code,lon,lat,source\n70550,6.1547123,47.6229456,mairie\n{other},5.5,47.5,mairie\n",
                      encoding="utf-8")
    logs = []
    entry = demand.apply_to_study(tmp_path, settings.network_path, log=logs.append, demand_points=points)
    moved = entry["moved"]
    after = gpd.read_file(folder / "communes.geojson").set_index("code")
    assert (after.loc["70550", "point_lon"], after.loc["70550", "point_lat"]) == (6.1547123, 47.6229456)
    assert after.loc["70550", "point_source"] == "user: mairie"
    assert set(after["point_source"]) == {"user: mairie", "road junction", "pole of inaccessibility"}
    assert list(after.columns).index("point_source") == list(after.columns).index("point_lat") + 1
    assert len(after) == len(before) and after["population"].sum() == before["population"].sum()
    assert sum(m > 2000 for m in moved.values()) > 10 and "70550" not in moved
    assert list(moved.values()) == sorted(moved.values(), reverse=True)
    # what study.json records: the heuristic and its parameters, the file, the counts per point source
    assert entry["method"] == "road junction" and entry["parameters"]["density_radius_m"] == demand.DENSITY_RADIUS_M
    assert entry["file"]["name"] == "points.csv" and entry["file"]["rows"] == 2 and entry["file"]["sources"] == ["mairie"]
    assert entry["points"]["user"] == 1 and sum(entry["points"].values()) == len(after)
    nb = gpd.read_file(folder / "neighbours.geojson").set_index("code")
    assert (nb.loc[other, "point_lon"], nb.loc[other, "point_lat"]) == (5.5, 47.5)
    assert any(line.startswith("demand: moved ") for line in logs)
    points.write_text("code,lon,lat,source\n99999,5.5,47.5,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 2: commune '99999' is neither a commune of the study"):
        demand.apply_to_study(tmp_path, settings.network_path, log=logs.append, demand_points=points)


RAW = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"


@pytest.mark.slow
@pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the build cannot run")
def test_build_with_demand_points_file(tmp_path):
    """`python -m fsgeo.build_data --demand-points FILE` / `fsgeo build`: the file's points are in the study exactly
    as given (never moved, even outside the commune), the others get the road-junction heuristic, study.json says
    which; a bad row or an unknown code stops the build naming the file and the row, before anything is built."""
    import json

    from _cli import run_fsgeo

    from fsgeo.study import StudyManifest

    points = tmp_path / "mairies.csv"
    # a point in Belfort (90010) given to 7 decimals; one for 90065 Lepuix that lies outside it: both kept as given
    points.write_text("code,lon,lat,source\n90010,6.8628461,47.6379813,mairie (BAN)\n"
                      "90065,6.9,47.7,mairie\n", encoding="utf-8")
    out = tmp_path / "belfort"
    proc = run_fsgeo("build", "--departement", "90", "--raw", RAW, "--out", out, "--demand-points", points)
    built = gpd.read_file(out / "communes" / "communes.geojson").set_index("code")
    assert (built.loc["90010", "point_lon"], built.loc["90010", "point_lat"]) == (6.8628461, 47.6379813)
    assert (built.loc["90065", "point_lon"], built.loc["90065", "point_lat"]) == (6.9, 47.7)
    assert built.loc["90010", "point_source"] == "user: mairie (BAN)"
    assert (built["point_source"] == "road junction").sum() > 50
    assert "the point of 90065 lies outside its commune; kept as given" in proc.stdout
    m = StudyManifest.read(out)
    assert m.demand["method"] == "road junction" and m.demand["file"]["name"] == "mairies.csv"
    assert m.demand["points"]["user"] == 2 and m.demand["moved_over_m"] == 2000
    assert json.loads((out / "study.json").read_text(encoding="utf-8"))["demand"] == m.demand
    for code, metres in m.demand["moved"].items():
        assert metres > 2000 and f"demand: moved {code} (" in proc.stdout
    # the pole method: no heuristic, only the file's points move
    out2 = tmp_path / "poles"
    run_fsgeo("build", "--departement", "90", "--raw", RAW, "--out", out2, "--no-network", "--demand-method", "pole")
    assert StudyManifest.read(out2).demand["method"] == "pole of inaccessibility"
    assert set(gpd.read_file(out2 / "communes" / "communes.geojson")["point_source"]) == {"pole of inaccessibility"}
    # errors name the file and the row, and nothing is built
    for text, problem in (("code,lon,lat,source\n90010,6.86,47.63,x\n90999,6.9,47.7,x\n",
                           "row 3: commune '90999' is neither a commune of the study"),
                          ("code,lon,lat,source\n90010,six,47.63,x\n", "row 2 (commune 90010): lon/lat 'six'")):
        points.write_text(text, encoding="utf-8")
        bad = run_fsgeo("build", "--departement", "90", "--raw", RAW, "--out", tmp_path / "bad", "--no-network",
                        "--demand-points", points, check=False)
        assert bad.returncode == 2 and str(points) in bad.stderr and problem in bad.stderr, bad.stderr
    assert not (tmp_path / "bad" / "study.json").exists()


@pytest.mark.slow
@pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the build cannot run")
def test_national_build_places_the_demand_points(tmp_path):
    """`fsgeo build --france` (here a small "France" of 90 and Corse-du-Sud: two landmasses) runs the same demand
    step on every landmass's network: the file's point kept as given, the heuristic elsewhere, study.json says so."""
    from fsgeo.build_data import france
    from fsgeo.study import StudyManifest

    points = tmp_path / "p.csv"
    points.write_text("code,lon,lat,source\n2A004,8.7386,41.9192,mairie\n", encoding="utf-8")
    france.build(RAW, tmp_path / "fr", log=lambda s: None, codes=["90", "2A"], demand_points=points)
    built = gpd.read_file(tmp_path / "fr" / "communes" / "communes.geojson").set_index("code")
    assert (built.loc["2A004", "point_lon"], built.loc["2A004", "point_lat"]) == (8.7386, 41.9192)
    assert built.loc["2A004", "point_source"] == "user: mairie"
    m = StudyManifest.read(tmp_path / "fr").demand
    assert m["method"] == "road junction" and m["file"]["rows"] == 1 and m["points"]["user"] == 1
    # both landmasses got junction centres
    junction = built[built["point_source"] == "road junction"]
    assert (junction["departement"] == "90").sum() > 50 and (junction["departement"] == "2A").sum() > 50
    assert sum(m["points"].values()) == len(built)
