"""Correctness at a larger scale, on a small multi-département study built from the raw sources (70 + 90 + 25):
nearest-site times on its bigger graph equal the embedded département study's where the path cannot leave its network,
every commune in exactly one status with its reason, population totals equal to the COG's. Skips without
``../shared``."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from fsgeo import coverage, national
from fsgeo.datasets import load_communes, load_network, load_sites

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the multi-département study cannot be built"),
]
DEPS = ("70", "90", "25")


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    import inspect

    from fsgeo.build_data import build_all

    out = tmp_path_factory.mktemp("multi")
    if "departements" in inspect.signature(build_all).parameters:  # the any-département build: one study of three
        from fsgeo.datasets import load_study

        build_all(RAW, out, lambda m: None, list(DEPS))
        study = load_study(out)
        return study.communes, study.sites, study.network
    # before it: the département steps one by one, and a network 60 km around Haute-Saône
    from fsgeo.build_data import communes as cb
    from fsgeo.build_data import network as nb
    from fsgeo.build_data.sites import ANCT_FILE
    from fsgeo.io import read_anct_csv
    from fsgeo.network import RoadNetwork

    frames = [cb.build(RAW, out / dep, lambda m: None, departement=dep) for dep in DEPS]
    communes = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    sites = read_anct_csv(RAW / ANCT_FILE, departement="70")
    nb.build(RAW, out / "net", lambda m: None, departement="70",
             neighbours=("21", "25", "39", "52", "88", "90", "68"), margin_m=60_000.0)
    return communes, sites, RoadNetwork.from_file(out / "net" / "network" / nb.FILE_NAME)


def test_population_totals_equal_the_cog(multi):
    communes, sites, network = multi
    cog = json.loads((RAW / "etalab" / "communes.json").read_text(encoding="utf-8"))
    current = [r for r in cog if r.get("type") == "commune-actuelle" and r["departement"] in DEPS]
    assert len(communes) == len(current)
    assert int(communes["population"].sum()) == sum(r["population"] for r in current)
    res = national.national_coverage(communes, sites, network)
    assert res.summary.population == sum(r["population"] for r in current)
    by_dep = res.departements.set_index("departement")["population"]
    for dep in DEPS:
        assert by_dep[dep] == sum(r["population"] for r in current if r["departement"] == dep)


def test_every_commune_in_exactly_one_status_with_reason(multi):
    communes, sites, network = multi
    res = national.national_coverage(communes, sites, network)
    acc = res.access
    assert len(acc) == len(communes) and acc["code"].is_unique
    assert acc["status"].isin(coverage.STATUSES).all()
    reach = acc["status"] != "unreachable"
    assert acc.loc[reach, "minutes"].notna().all() and acc.loc[~reach, "minutes"].isna().all()
    assert (acc.loc[~reach, "reason"].str.len() > 0).all()
    assert res.summary.status["communes"].sum() == len(communes)


def test_nearest_times_on_the_bigger_graph_equal_the_departement_study(multi):
    """Where the fastest path cannot reach the edge of the embedded network (30 km beyond the outline; at most
    130 km/h for t minutes covers 130 t / 60 km), the bigger graph gives the same time; elsewhere never a longer
    one (it only adds roads)."""
    communes, sites, network = multi
    c70 = load_communes()
    own = load_sites()
    small = coverage.access_times(c70, own, load_network())
    big = coverage.access_times(c70, own, network)
    t_small, t_big = small["minutes"].to_numpy(), big["minutes"].to_numpy()
    assert (t_big <= t_small + 1e-9).all()
    far_from_edge = t_small * 130 / 60 < 30
    assert far_from_edge.sum() > 400
    np.testing.assert_allclose(t_big[far_from_edge], t_small[far_from_edge], rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def small_france(tmp_path_factory):
    """A small national build (fsgeo build --france restricted to Morbihan and Corse-du-Sud: two landmasses)."""
    from fsgeo.build_data import france

    out = tmp_path_factory.mktemp("france-56-2a")
    france.build(RAW, out, log=lambda m: None, codes=["56", "2A"])
    return out


def test_national_build_records_the_islands_without_roads(small_france, tmp_path):
    """Arz, Houat and Hœdic (Morbihan) have no road in Travel Mapping: the national build lists them as a
    département build does (tests/test_landmasses.py), and national runs report them "island without roads"
    ("île sans route") instead of routing them across the water; Belle-Île and Groix keep their own roads."""
    from fsgeo import datasets, reports
    from _cli import run_fsgeo

    from fsgeo.cli.national_cmd import networks_of

    islands = {"56085", "56086", "56088"}
    study = datasets.load_study(small_france)
    assert set(study.manifest.network["islands_without_roads"]) == islands
    lms = {lm["name"]: lm for lm in study.manifest.network["landmasses"]}
    assert set(lms["mainland"]["islands_without_roads"]) == islands and lms["corse"]["islands_without_roads"] == []
    networks = networks_of(study)
    assert len(networks) == 2 and all(n.islands_without_roads == islands for n in networks)
    res = national.national_coverage(study.communes, study.sites, networks)
    acc = res.access.set_index("code")
    for code in islands:
        assert acc.loc[code, "status"] == "unreachable" and acc.loc[code, "reason"] == coverage.ISLAND_WITHOUT_ROADS
        assert reports.reason_text(acc.loc[code, "reason"], reports.Text("fr")) == "île sans route"
    # Belle-Île (Le Palais) and Groix are routed on their own roads, to their own sites
    assert acc.loc[["56152", "56069"], "status"].isin(["covered", "underserved"]).all()
    assert (acc.loc[acc["departement"] == "2A", "status"] != "unreachable").mean() > 0.9
    pop = int(study.communes.set_index("code").loc[sorted(islands), "population"].sum())
    assert res.departements.set_index("departement").loc["56", "unreachable_population"] >= pop
    # the CLI's national run too (the study's networks come from networks_of)
    out = tmp_path / "nat.json"
    run_fsgeo("coverage", "--study", small_france, "--format", "json", "--out", out, timeout=600)
    data = json.loads(out.read_text(encoding="utf-8"))
    dep56 = next(d for d in data["departements"] if d["departement"] == "56")
    assert dep56["unreachable_communes"] == int((acc.loc[acc["departement"] == "56", "status"] == "unreachable").sum())
    # france.load (notebooks, benches) gives its networks the same list
    from fsgeo.build_data import france

    assert all(n.islands_without_roads == islands for n in france.load(small_france)["networks"])
