"""Studies as data: datasets.load_study (embedded, --study / FSGEO_STUDY, a study without a network), --study on every
command, and the analyses that never load the embedded study in place of a missing argument."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from fsgeo import accessibility, catchments, coverage, datasets, timeline
from fsgeo.cli import main
from fsgeo.errors import InputError
from fsgeo.settings import settings
from fsgeo.siting import rank_candidates, read_candidates


# --- load_study ----------------------------------------------------------------------------------------------------

def test_load_study_embedded(study):
    assert study.name == "Haute-Saône" and study.codes == ["70"] and study.label == "Haute-Saône (70)"
    assert study.root.resolve() == settings.data_dir.resolve() and study.metric_crs == "EPSG:2154"
    assert len(study.communes) == 536 and study.communes["population"].sum() > 200_000
    assert set(study.communes["departement"]) == {"70"}
    # in_departement relative to the study's codes: the 26 sites of 70, the others of its neighbours
    own = study.sites[study.sites["in_departement"]]
    assert len(own) == 26 and set(own["departement"]) == {"70"}
    # (and of any département within 25 km: Haut-Rhin's 3, 68 not being a neighbour of 70)
    assert set(study.sites.loc[~study.sites["in_departement"], "departement"]) <= {*study.manifest.neighbours, "68"}
    assert study.outline["code"].tolist() == ["70"]
    assert len(study.neighbour_communes) > 1000 and "70" not in set(study.neighbour_communes["departement"])
    assert study.network.metric_crs.to_epsg() == 2154 and len(study.network.nodes) > 1000
    assert study.network is study.network  # loaded once, cached
    # the single-file loaders give the same data
    assert datasets.load_communes()["code"].tolist() == study.communes["code"].tolist()
    assert datasets.load_sites()["id"].tolist() == study.sites["id"].tolist()


def copy_study(tmp_path, name="Étude d'essai", codes=None, network=True):
    """A copy of the embedded study with its manifest edited (name, codes, network dropped)."""
    root = tmp_path / "study"
    shutil.copytree(settings.data_dir, root, ignore=shutil.ignore_patterns("README.md"))
    manifest = json.loads((root / "study.json").read_text(encoding="utf-8"))
    manifest["name"] = name
    if codes is not None:
        manifest["codes"] = codes
    if not network:
        manifest["files"]["network"] = None
        manifest["network"] = {"source": None, "reason": "Travel Mapping has no route files for this area"}
        shutil.rmtree(root / "network")
    (root / "study.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return root


def test_load_study_from_env_and_path(tmp_path, monkeypatch):
    root = copy_study(tmp_path, codes=["70", "25"])
    monkeypatch.setenv("FSGEO_STUDY", str(root))
    study = datasets.load_study()
    assert study.root == root and study.name == "Étude d'essai" and study.label == "Étude d'essai (70, 25)"
    # in_departement follows the study's codes: the sites of 25 become the study's own
    own = study.sites[study.sites["in_departement"]]
    assert set(own["departement"]) == {"70", "25"} and len(own) == 26 + 18
    # the single-file loaders follow FSGEO_STUDY too; an explicit path wins over it
    assert datasets.load_sites()["in_departement"].sum() == 26 + 18
    assert datasets.load_study(settings.data_dir).name == "Haute-Saône"


def test_load_study_file_overrides(tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("id,name,commune_code\nx,Projet,70550\n", encoding="utf-8")  # placed by the study's communes
    study = datasets.load_study(sites=mine)
    assert study.sites["id"].tolist() == ["x"] and study.sites["in_departement"].all()
    assert study.sites["commune_name"].tolist() == ["Vesoul"]
    assert len(study.communes) == 536  # the study's own for the rest


def test_study_without_network_says_supply_one(tmp_path):
    root = copy_study(tmp_path, name="La Réunion", codes=["974"], network=False)
    study = datasets.load_study(root)
    assert not study.has_network and len(study.communes) == 536
    with pytest.raises(InputError, match=r"La Réunion \(974\).*has no road network.*Travel Mapping has no route "
                                         r"files.*--network FILE"):
        study.network
    # a network given instead serves it
    given = datasets.load_study(root, network=settings.network_path)
    assert given.has_network and len(given.network.nodes) > 1000


def test_bad_study_folders(tmp_path):
    with pytest.raises(InputError, match="no study manifest"):
        datasets.load_study(tmp_path)
    root = copy_study(tmp_path)
    (root / "sites.geojson").unlink()
    with pytest.raises(InputError, match=r"files.sites = 'sites.geojson'.*does not exist"):
        datasets.load_study(root)


# --- the analyses take their inputs as arguments ---------------------------------------------------------------------

def test_analyses_raise_when_an_input_is_missing(study, tmp_path):
    communes, sites = study.communes, study.sites
    one = sites.head(2)
    with pytest.raises(TypeError, match="access_times: network is required"):
        coverage.access_times(communes, sites)
    with pytest.raises(TypeError, match="commune_site_matrix: network is required"):
        coverage.commune_site_matrix(communes, sites)
    with pytest.raises(TypeError, match="catchments: network is required"):
        catchments.catchments(None, one, communes=communes)
    with pytest.raises(TypeError, match="catchments: communes is required.*communes=False"):
        catchments.catchments(study.network, one)
    with pytest.raises(TypeError, match="timeline: network is required"):
        timeline.timeline(communes, sites)
    with pytest.raises(TypeError, match="two_step_fca: network is required.*minutes="):
        accessibility.two_step_fca(communes, sites)
    cands = gpd.GeoDataFrame({"id": ["c1"]}, geometry=[Point(6.15, 47.62)], crs="EPSG:4326")
    for missing in ("communes", "sites", "network"):
        given = {"communes": communes, "sites": sites, "network": study.network}
        given.pop(missing)
        with pytest.raises(TypeError, match=f"rank_candidates: {missing} is required"):
            rank_candidates(cands, **given)
    with pytest.raises(TypeError, match="rank_candidates: network must be loaded data, not the path"):
        rank_candidates(cands, communes=communes, sites=sites, network=settings.network_path)
    path = tmp_path / "c.csv"
    path.write_text("name,commune_code\nMairie,70550\n", encoding="utf-8")
    with pytest.raises(TypeError, match="read_candidates: communes is required"):
        read_candidates(path)
    assert read_candidates(path, communes)["commune_code"].tolist() == ["70550"]


def test_catchments_count_population_only_from_the_communes_given(study):
    one = study.sites[study.sites["in_departement"]].head(1)
    mine = study.communes.iloc[:0]  # no communes of one's own: nothing to count, not Haute-Saône's
    out = catchments.catchments(study.network, one, bands=(10,), communes=mine)
    assert out["population"].tolist() == [0]
    full = catchments.catchments(study.network, one, bands=(10,), communes=study.communes)
    assert full["population"].iat[0] > 0


def test_underserved_zones_use_the_networks_metric_crs(study, access_70):
    assert access_70.attrs["fsgeo"]["metric_crs"] == "EPSG:2154"
    # 15 min: with the road-junction demand points every commune of 70 is within 20 min
    zones = coverage.underserved_zones(access_70, 15)
    again = coverage.underserved_zones(access_70, 15, metric_crs="EPSG:2154")
    assert len(zones) > 0 and zones["area_km2"].tolist() == again["area_km2"].tolist()
    # another metric CRS measures the same area within a few per cent (UTM 31N far from its meridian)
    utm = coverage.underserved_zones(access_70, 15, metric_crs="EPSG:32631")
    assert np.allclose(utm["area_km2"], zones["area_km2"], rtol=0.02)


# --- --study on the command line ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_study_option_shows_its_name(tmp_path, capsys, monkeypatch):
    root = copy_study(tmp_path, name="Pays d'essai")
    assert main(["datasets", "--study", str(root), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert f"Study: Pays d'essai (département 70): {root}" in out and "in Pays d'essai (70): 26" in out
    assert main(["datasets", "--study", str(root)]) == 0  # French by default
    out = capsys.readouterr().out
    assert f"Étude : Pays d'essai (département 70) : {root}" in out and "dans Pays d'essai (70) : 26" in out
    assert main(["coverage", "--study", str(root), "--top", "2", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "France Services coverage — Pays d'essai (70)" in out and "Haute-Saône" not in out
    monkeypatch.setenv("FSGEO_STUDY", str(root))
    assert main(["timeline", "--lang", "en"]) == 0
    assert "How the France Services network got finer — Pays d'essai (70)" in capsys.readouterr().out
    # a study without a network: one line that says to supply one
    bare = copy_study(tmp_path / "bare", name="Mayotte", codes=["976"], network=False)
    assert main(["coverage", "--study", str(bare)]) == 2
    err = capsys.readouterr().err
    assert "fsgeo: error: study Mayotte (976)" in err and "--network FILE" in err and len(err.splitlines()) == 1
    assert main(["datasets", "--study", str(bare)]) == 0
    assert "indisponible : study Mayotte (976)" in capsys.readouterr().out


def test_every_command_takes_study():
    from fsgeo.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        if name in ("build", "sources"):  # the builders make studies; they do not read one
            continue
        dests = {a.dest for a in sub._actions}
        assert "study" in dests, f"fsgeo {name} has no --study"
    out = commands["coverage"].format_help()
    assert "--study DIR" in out and "FSGEO_STUDY" in out


# --- the metric CRS belongs to the study ---------------------------------------------------------------------------

def test_communes_areas_in_the_studys_metric_crs(tmp_path, study):
    from pyproj import Geod

    root = copy_study(tmp_path)
    bare = study.communes.head(20).drop(columns=["area_km2", "point_lon", "point_lat"])
    bare.to_file(root / "communes" / "communes.geojson", driver="GeoJSON")
    manifest = json.loads((root / "study.json").read_text(encoding="utf-8"))
    geod = Geod(ellps="WGS84")
    true_km2 = np.array([abs(geod.geometry_area_perimeter(g)[0]) / 1e6 for g in bare.geometry])
    areas = {}
    for crs in ("EPSG:2154", "EPSG:3035"):  # Lambert-93, then ETRS89-LAEA (equal-area): both near the truth
        manifest["crs"]["metric"] = crs
        (root / "study.json").write_text(json.dumps(manifest), encoding="utf-8")
        areas[crs] = datasets.load_study(root).communes["area_km2"].to_numpy()
    assert np.allclose(areas["EPSG:3035"], true_km2, rtol=1e-3)          # equal-area: exact
    assert np.allclose(areas["EPSG:2154"], true_km2, rtol=2e-3)          # Lambert-93: scale error < 0.1 % here
    assert not np.array_equal(areas["EPSG:2154"], areas["EPSG:3035"])    # each study's own CRS was used


def test_read_communes_outside_metropolitan_france_measures_locally(tmp_path):
    """La Réunion: a commune of ~0.01 degree squared measured in the local UTM zone, not Lambert-93 (which the
    issue measured at 3.5 times the area of the island)."""
    from pyproj import Geod
    from shapely.geometry import box

    from fsgeo import io

    poly = box(55.45, -21.0, 55.55, -20.9)
    path = tmp_path / "c.geojson"
    gpd.GeoDataFrame({"code": ["97411"], "name": ["Saint-Denis"], "population": [150000]}, geometry=[poly],
                     crs="EPSG:4326").to_file(path, driver="GeoJSON")
    area = io.read_communes(path)["area_km2"].iat[0]
    true_km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(poly)[0]) / 1e6
    assert area == pytest.approx(true_km2, rel=2e-3)
    lambert = io.read_communes(path, metric_crs="EPSG:2154")["area_km2"].iat[0]
    assert lambert > 1.5 * true_km2  # what a Lambert-93 default did
