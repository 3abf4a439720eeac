"""Builds of other départements than the embedded 70, and the build failures measured on the raw data (issue 10):
case-insensitive route files, systems chosen by the départements they cover, communes restored after 2018,
overseas metric CRS and missing network, one network component per landmass."""

import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from fsgeo.build_data import StudyArea, build_all, communes, metric_crs_of, network, normalise_code, slugify
from fsgeo.build_data.travelmapping import HighwayData
from fsgeo.study import StudyManifest

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
needs_raw = pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the build cannot run")
ARCHIVE = RAW / "travelmapping" / "highwaydata-fra.tar.gz"


def _quiet(_line):
    pass


# --- small units, no raw data needed ---------------------------------------------------------------------------------

def test_codes_and_slugs():
    assert [normalise_code(c) for c in ("1", "2a", " 70 ", "974")] == ["01", "2A", "70", "974"]
    for bad in ("100", "7O", "975", "2C", ""):
        with pytest.raises(ValueError, match="not a département code"):
            normalise_code(bad)
    assert slugify("Haute-Saône") == "haute-saone" and slugify("Côtes-d’Armor") == "cotes-d-armor"
    assert metric_crs_of("70") == "EPSG:2154" and metric_crs_of("974") == "EPSG:2975"


def _tar(tmp_path: Path, members: dict[str, str]) -> Path:
    path = tmp_path / "hd.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_route_files_are_found_ignoring_case(tmp_path):
    # the route list names frapdl.d0025A85, the archive stores frapdl.d0025a85.wpt (as in the real archive)
    wpt = ("A http://www.openstreetmap.org/?lat=46.70&lon=-1.40\n"
           "B http://www.openstreetmap.org/?lat=46.71&lon=-1.41\n")
    path = _tar(tmp_path, {
        "hwy_data/_systems/frapdld85.csv": "system;region;route;banner;abbreviation;city;fileNameRoot;alt\n"
                                           "frapdld85;FRA-PDL;D25A;-85;;;frapdl.d0025A85;\n",
        "hwy_data/FRA-PDL/frapdld85/frapdl.d0025a85.wpt": wpt,
    })
    with HighwayData(path) as hd:
        (route,) = hd.routes("frapdld85")
        assert route.ref == "D25A-85" and [w.label for w in route.waypoints] == ["A", "B"]
        assert hd.middle_point(route) == (-1.41, 46.71)
        with pytest.raises(FileNotFoundError, match="no member hwy_data/absent.wpt"):
            hd.read_text("hwy_data/absent.wpt")


def test_keep_components_keeps_one_per_landmass(monkeypatch):
    # two landmasses (a mainland square and an island), three road pieces: the mainland's two (largest kept, the
    # 1-edge fragment dropped) and the island's one (kept although smaller than the mainland fragment... or not)
    import geopandas as gpd

    def line(*pts):
        return shapely.LineString(pts)

    main = [((0.0, 0.0), (0.1, 0.0)), ((0.1, 0.0), (0.2, 0.0)), ((0.2, 0.0), (0.3, 0.0))]
    fragment = [((0.0, 0.3), (0.05, 0.3))]
    island = [((1.0, 0.0), (1.02, 0.0))]
    rows = main + fragment + island
    edges = gpd.GeoDataFrame({"ux": [a for a, _ in rows], "vx": [b for _, b in rows],
                              "routes": [f"R{i}" for i in range(len(rows))], "length_m": [1000.0] * len(rows)},
                             geometry=[line(a, b) for a, b in rows], crs="EPSG:4326")

    class Area:
        metric_crs = "EPSG:3857"

    lands = [shapely.box(-1e3, -1e3, 0.4 * 111_319.5, 0.4 * 111_325.0), shapely.box(1.0 * 111_319, -2e3, 1.05 * 111_320, 2e3)]
    monkeypatch.setattr(network, "landmasses", lambda area: lands)
    kept, info = network.keep_components(edges, Area(), _quiet)
    assert sorted(kept["routes"]) == ["R0", "R1", "R2", "R4"]
    assert [c["nodes"] for c in info] == [4, 2]
    monkeypatch.setattr(network, "landmasses", lambda area: lands[:1])
    kept, info = network.keep_components(edges, Area(), _quiet)
    assert sorted(kept["routes"]) == ["R0", "R1", "R2"]  # a single landmass: the largest component only


# --- the raw data ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def coverage():
    with HighwayData(ARCHIVE) as hd:
        systems = hd.systems()
        return network.system_coverage(hd, systems, RAW), systems


@needs_raw
def test_real_route_lists_in_another_case_are_read():
    # 09, 11, 17, 44, 49, 66, 79, 85 failed with FileNotFoundError: every listed route file of their systems reads
    with HighwayData(ARCHIVE) as hd:
        for system in ("fraoccd09", "fraoccd11", "franaqd17", "frapdld44", "frapdld49", "fraoccd66", "franaqd79",
                       "frapdld85"):
            routes = hd.routes(system, region_prefix="FRA")
            assert routes and all(len(r.waypoints) >= 2 for r in routes)
        assert hd.read_text("hwy_data/FRA-PDL/frapdld85/frapdl.d0025A85.wpt")


@needs_raw
@pytest.mark.slow
def test_systems_found_by_the_departements_they_cover(coverage):
    cover, systems = coverage
    covers = {name: {d for d, share in deps.items() if share >= network.COVER_SHARE} for name, deps in cover.items()}
    assert {"67", "68"} <= covers["fragesd6ae"]          # Alsace: both départements
    assert covers["fracord"] == {"2A", "2B"} and covers["fracort"] == {"2A", "2B"}  # Corsica
    assert covers["fraarad69m"] == {"69"} and covers["frabfcd70"] == {"70"}
    assert network._local_class(systems["fracort"]) == "trunk"
    assert network._local_class(systems["fraarad69m"]) == "metropolitan"
    # every local system covers at least one département, and the per-département one its own
    assert all(covers.values())
    for name, deps in covers.items():
        if name[-2:].isdigit() and name[:3] == "fra" and name[6] == "d":
            assert name[-2:] in deps, (name, deps)


@needs_raw
@pytest.mark.slow
def test_restored_communes_share_their_holders_polygon(tmp_path):
    # Cantal: Celles, Chalinargues, Chavagnac, Sainte-Anastasie left Neussargues en Pinatelle (15141) in 2024
    lines = []
    area = StudyArea.from_raw(RAW, "15", lines.append)
    gdf = communes.build(area, tmp_path, lines.append).set_index("code")
    rows = json.loads((RAW / "etalab" / "communes.json").read_text(encoding="utf-8"))
    current = {r["code"]: r for r in rows if r["type"] == "commune-actuelle" and r["departement"] == "15"}
    assert set(gdf.index) == set(current)
    assert int(gdf["population"].sum()) == sum(r["population"] for r in current.values())
    group = ["15141", "15031", "15035", "15047", "15171"]
    assert all(gdf.geometry[c].equals(gdf.geometry["15141"]) for c in group)
    assert gdf.loc[group, "point_lon"].nunique() == 1
    whole = gpd.GeoSeries([gdf.geometry["15141"]], crs=4326).to_crs(2154).area.iloc[0] / 1e6
    assert gdf.loc[group, "area_km2"].sum() == pytest.approx(whole, abs=1e-3)
    pops = gdf.loc[group, "population"].to_numpy(float)
    np.testing.assert_allclose(gdf.loc[group, "area_km2"], whole * pops / pops.sum(), atol=1e-3)
    text = "\n".join(lines)
    assert "15031 (Celles, population 217) was restored after 2018" in text
    manifest = json.loads((tmp_path / "communes" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["shared_polygons"] == {c: "15141" for c in group[1:]}


def _cog(code: str) -> dict:
    rows = json.loads((RAW / "etalab" / "communes.json").read_text(encoding="utf-8"))
    return {r["code"]: r for r in rows if r["type"] == "commune-actuelle" and r["departement"] == code}


def _anct_ids(code: str) -> set[str]:
    import csv

    with open(RAW / "anct" / "liste-fs-20240801.csv", encoding="utf-8") as f:
        return {r["id_fs"] for r in csv.DictReader(f) if r["insee_dep"] == code}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Studies of 25, 2A, 67, 85 and 974: communes and sites (no network), built once."""
    cache = {}

    def get(code):
        if code not in cache:
            out = tmp_path_factory.mktemp(f"study{code}")
            lines = []
            manifest = build_all(RAW, out, lines.append, code, study_network=False)
            cache[code] = out, lines, manifest
        return cache[code]

    return get


@needs_raw
@pytest.mark.slow
@pytest.mark.parametrize("code", ["25", "2A", "67", "85", "974"])
def test_build_any_departement(built, code):
    out, lines, manifest = built(code)
    cog = _cog(code)
    com = gpd.read_file(out / "communes" / "communes.geojson")
    assert len(com) == len(cog) and set(com["code"]) == set(cog)                     # counts equal the COG
    assert int(com["population"].sum()) == sum(r["population"] for r in cog.values())  # population = source
    assert com.is_valid.all() and com["area_km2"].gt(0).all()
    sites = json.loads((out / "sites.geojson").read_text(encoding="utf-8"))["features"]
    ids = {f["properties"]["id"] for f in sites if f["properties"]["in_departement"]}
    assert ids == _anct_ids(code)                                                        # every site of it present
    m = StudyManifest.read(out)
    assert m.codes == [code] and m.files["network"] is None and m.metric_crs == metric_crs_of(code)
    outline = gpd.read_file(out / "communes" / "outline.geojson")
    assert list(outline["code"]) == [code]
    # areas in the local metric CRS: the total is the outline's area there
    total = outline.to_crs(m.metric_crs).area.iloc[0] / 1e6
    assert com["area_km2"].sum() == pytest.approx(total, rel=1e-3)


@needs_raw
@pytest.mark.slow
def test_overseas_areas_and_no_network(built):
    out, lines, m = built("974")
    com = gpd.read_file(out / "communes" / "communes.geojson")
    assert 2400 < com["area_km2"].sum() < 2600          # La Réunion is ~2,500 km² (Lambert-93 gave 8,861)
    assert m.neighbours == [] and m.files["neighbour_communes"] is None
    # the study without a network says so: with study_network=False the reason is "not built"; the default build
    # gives the overseas reason
    assert network.no_network_reason(StudyArea.from_raw(RAW, "974", _quiet)).startswith(
        "Travel Mapping has no route files for overseas départements (974)")


@needs_raw
@pytest.mark.slow
def test_overseas_build_says_a_network_must_be_supplied(tmp_path):
    lines = []
    m = build_all(RAW, tmp_path, lines.append, "976")
    assert m.files["network"] is None and m.network["source"] is None
    assert "supply a road network (--network FILE" in m.network["reason"]
    assert any(line.startswith("network: NOT BUILT: Travel Mapping has no route files") for line in lines)
    assert not (tmp_path / "network").exists()
    assert StudyManifest.read(tmp_path).path("network") is None


@needs_raw
@pytest.mark.slow
def test_corsica_builds_with_its_network(tmp_path):
    lines = []
    m = build_all(RAW, tmp_path, lines.append, "2A")
    assert {"fracord", "fracort"} <= set(m.network["systems"])
    assert m.files["network"] == "network/corse-du-sud.gpkg"
    edges = gpd.read_file(tmp_path / m.files["network"], layer="edges")
    nodes = gpd.read_file(tmp_path / m.files["network"], layer="nodes")
    assert len(nodes) == m.network["nodes"] > 500
    assert Counter(edges["road_class"])["trunk"] > 0  # the routes territoriales
    # connected per landmass: one component (Corsica)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(nodes)
    adj = coo_matrix((np.ones(len(edges)), (edges["u"], edges["v"])), shape=(n, n))
    assert connected_components(adj, directed=False)[0] == len(m.network["components"]) == 1


@needs_raw
@pytest.mark.slow
def test_multi_departement_study(tmp_path):
    lines = []
    m = build_all(RAW, tmp_path, lines.append, "90,25", study_network=False)
    assert m.codes == ["90", "25"] and m.name == "Territoire de Belfort, Doubs"
    assert m.slug == "territoire-de-belfort-doubs"
    assert "70" in m.neighbours and "90" not in m.neighbours and "25" not in m.neighbours
    com = gpd.read_file(tmp_path / "communes" / "communes.geojson")
    assert set(com["departement"]) == {"90", "25"}
    outline = gpd.read_file(tmp_path / "communes" / "outline.geojson")
    assert list(outline["code"]) == ["90", "25"]
    sites = json.loads((tmp_path / "sites.geojson").read_text(encoding="utf-8"))["features"]
    own = {f["properties"]["id"] for f in sites if f["properties"]["in_departement"]}
    assert own == _anct_ids("90") | _anct_ids("25")


@needs_raw
@pytest.mark.slow
def test_fsgeo_build_command(tmp_path):
    from _cli import run_fsgeo

    out = tmp_path / "belfort"
    proc = run_fsgeo("build", "--departement", "90", "--raw", RAW, "--out", out, "--no-network")
    assert "communes: 101 communes written" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == (f"study Territoire de Belfort (90) written to {out} without a "
                                                   "road network: not built (communes and sites only)")
    m = StudyManifest.read(out)
    assert m.codes == ["90"] and m.files["network"] is None
    bad = run_fsgeo("build", "--departement", "99", "--raw", RAW, "--out", tmp_path / "x", check=False)
    assert bad.returncode == 2 and "unknown département(s) 99" in bad.stderr and len(bad.stderr.splitlines()) == 1
    bad = run_fsgeo("build", "--departement", "975", "--raw", RAW, "--out", tmp_path / "x", check=False)
    assert bad.returncode == 2 and "'975' is not a département code" in bad.stderr


def test_fsgeo_build_france_wires_the_national_build(tmp_path, monkeypatch, capsys):
    """`fsgeo build --france` runs fsgeo.build_data.france.build (the national study); the options of a
    département study are refused with it, and one of --departement / --france is required."""
    from fsgeo.build_data import france
    from fsgeo.cli import main

    calls = []

    def fake_build(raw, out, log=print, codes=None, demand_points=None, demand_method="road-junction",
                   demand_parts="area", demand_split_population=None):
        calls.append((Path(raw), Path(out)))
        assert demand_parts == "area"  # the default rule reaches the national build
        assert demand_split_population is None  # off by default
        return Path(out) / "study.json"

    monkeypatch.setattr(france, "build", fake_build)
    assert main(["build", "--france", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "fr")]) == 0
    assert calls == [(tmp_path / "raw", tmp_path / "fr")]
    assert f"study France written to {tmp_path / 'fr'}" in capsys.readouterr().out
    assert main(["build", "--france", "--no-network", "--out", str(tmp_path / "fr")]) == 2
    assert "--no-network applies to --departement studies only" in capsys.readouterr().err
    assert len(calls) == 1
    with pytest.raises(SystemExit) as exc:
        main(["build", "--france", "--departement", "70", "--out", str(tmp_path / "fr")])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["build", "--out", str(tmp_path / "fr")])
