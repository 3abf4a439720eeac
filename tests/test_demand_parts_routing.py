"""Several weighted demand points per commune (issue 11): every part routed as its own point, one row per commune,
exact population statistics.

Synthetic network (Lambert-93 metres): a mainland road 1-5 (20 km), island A (a site on it) and island B (no site).
Commune ``P`` has 3 parts at the west, middle and east of the mainland; ``Q`` a part on the mainland and one on
island A; ``R`` a part on island B (no site there); ``S`` both parts on island B. The part times are checked against
networkx Dijkstra with a virtual node per point (``test_routing_links.brute_minutes``), the aggregates against
numbers computed here from those independent times.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_landmasses import _network, _points
from test_routing_links import brute_minutes, graph_of

from fsgeo import coverage, national
from fsgeo.errors import InputError
from fsgeo.network import RoadNetwork
from fsgeo.profile import CarProfile

# commune points (for a commune with parts: the point of its most populous part, as the build writes it)
COMMUNES = {"m1": (802_000, 6_700_600), "m2": (812_000, 6_699_500), "a1": (800_500, 6_669_000),
            "P": (800_800, 6_700_300), "Q": (816_000, 6_700_400), "R": (818_000, 6_699_600),
            "S": (801_000, 6_640_800)}
POPULATION = {"m1": 120, "m2": 80, "a1": 40, "P": 1000, "Q": 300, "R": 200, "S": 50}
# part id: (commune, population, x, y)
PARTS = {"P1": ("P", 500, 800_800, 6_700_300), "P2": ("P", 300, 809_500, 6_700_700),
         "P3": ("P", 200, 819_000, 6_700_500),
         "Q1": ("Q", 220, 816_000, 6_700_400), "Q2": ("Q", 80, 803_000, 6_670_500),
         "R1": ("R", 150, 818_000, 6_699_600), "R2": ("R", 50, 802_000, 6_640_300),
         "S1": ("S", 20, 801_000, 6_640_800), "S2": ("S", 30, 802_500, 6_639_900)}
SITES = {"s_west": (801_500, 6_699_700), "s_east": (820_000, 6_700_800), "s_isl": (807_500, 6_671_300)}


def _communes() -> gpd.GeoDataFrame:
    pts = _points(COMMUNES).to_crs("EPSG:4326")
    return gpd.GeoDataFrame({"code": list(COMMUNES), "name": [f"commune {c}" for c in COMMUNES], "departement": "85",
                             "population": [POPULATION[c] for c in COMMUNES],
                             "point_lon": pts.geometry.x.to_numpy(), "point_lat": pts.geometry.y.to_numpy()},
                            geometry=_points(COMMUNES).buffer(300).to_crs("EPSG:4326").to_numpy(), crs="EPSG:4326")


def _parts(keep=None) -> gpd.GeoDataFrame:
    ids = [p for p in PARTS if keep is None or PARTS[p][0] in keep]
    xy = {p: PARTS[p][2:] for p in ids}
    return gpd.GeoDataFrame({"code": [PARTS[p][0] for p in ids], "part": ids, "name": [f"part {p}" for p in ids],
                             "population": [PARTS[p][1] for p in ids], "source": "test"},
                            geometry=_points(xy).to_crs("EPSG:4326").geometry.to_numpy(), crs="EPSG:4326")


def _sites() -> gpd.GeoDataFrame:
    pts = _points(SITES).to_crs("EPSG:4326")
    return gpd.GeoDataFrame({"id": list(SITES), "name": [f"site {s}" for s in SITES], "departement": "85",
                             "kind": "principal"}, geometry=pts.geometry.to_numpy(), crs="EPSG:4326")


@pytest.fixture(scope="module")
def net():
    return _network(landmass="weak")


@pytest.fixture(scope="module")
def brute(net):
    """networkx minutes from every part and every single-point commune to every site, and the nearest of them."""
    origins = _points({**{p: v[2:] for p, v in PARTS.items()}, **{c: COMMUNES[c] for c in ("m1", "m2", "a1")}})
    m = pd.DataFrame(brute_minutes(net, graph_of(net), origins, _points(SITES)), index=origins.index,
                     columns=list(SITES))
    return m.min(axis=1).where(np.isfinite(m.min(axis=1))), m


def _expected_commune(brute_near, code):
    rows = [p for p, v in PARTS.items() if v[0] == code]
    t = np.array([brute_near[p] for p in rows], dtype=float)
    w = np.array([PARTS[p][1] for p in rows], dtype=float)
    ok = np.isfinite(t)
    return (np.average(t[ok], weights=w[ok]) if ok.any() else np.nan, t[ok].min() if ok.any() else np.nan,
            t[ok].max() if ok.any() else np.nan, len(rows))


def test_parts_are_routed_as_their_own_points_as_networkx(net, brute):
    near, m = brute
    access, _ = coverage.access_from_network(_communes(), _sites(), net, threshold_min=10, parts=_parts())
    rec = pd.DataFrame(access.attrs["fsgeo"]["parts"]).set_index("part")
    assert list(rec.index) == list(PARTS)
    got = rec["minutes"].astype(float).to_numpy()
    np.testing.assert_allclose(np.nan_to_num(got, nan=-1), np.nan_to_num(near[list(PARTS)].to_numpy(), nan=-1),
                               rtol=1e-9)
    assert rec.loc["P1", "nearest_site_id"] == "s_west" and rec.loc["P3", "nearest_site_id"] == "s_east"
    assert rec.loc["Q2", "nearest_site_id"] == "s_isl"               # routed on its own island
    raw = {r["part"]: r for r in access.attrs["fsgeo"]["parts"]}
    assert raw["R2"]["minutes"] is None and raw["R2"]["reason"].startswith("no site on its landmass")
    assert raw["R2"]["nearest_site_id"] is None and raw["R2"]["status"] == "unreachable"
    json.dumps(access.attrs["fsgeo"]["parts"], allow_nan=False)      # plain JSON values, no NaN
    # the same as routing each part as a commune of its own
    as_communes = gpd.GeoDataFrame(
        {"code": list(PARTS), "population": [v[1] for v in PARTS.values()],
         "point_lon": _parts().geometry.x.to_numpy(), "point_lat": _parts().geometry.y.to_numpy()},
        geometry=_parts().geometry.to_numpy(), crs="EPSG:4326")
    alone, _ = coverage.access_from_network(as_communes, _sites(), net, threshold_min=10)
    np.testing.assert_array_equal(alone["minutes"].to_numpy(dtype=float), rec["minutes"].astype(float).to_numpy())
    assert alone["nearest_site_id"].tolist() == rec["nearest_site_id"].tolist()
    assert alone["reason"].tolist() == rec["reason"].tolist()


def test_commune_row_is_the_weighted_mean_min_max_and_count(net, brute):
    near, _ = brute
    access, _ = coverage.access_from_network(_communes(), _sites(), net, threshold_min=10, parts=_parts())
    a = access.set_index("code")
    assert list(access["code"]) == list(COMMUNES)                      # one row per commune, their order
    plain, _ = coverage.access_from_network(_communes(), _sites(), net, threshold_min=10)
    assert {k: v for k, v in access.attrs["fsgeo"].items() if k != "parts"} == plain.attrs["fsgeo"]
    assert access.attrs["fsgeo"]["threshold_min"] == 10 and access.attrs["fsgeo"]["n_sites"] == 3
    assert isinstance(access, gpd.GeoDataFrame) and access.crs == "EPSG:4326"
    for code in ("P", "Q"):
        mean, lo, hi, n = _expected_commune(near, code)
        assert a.loc[code, "minutes"] == pytest.approx(mean, rel=1e-9)
        assert (a.loc[code, "minutes_min"], a.loc[code, "minutes_max"]) == pytest.approx((lo, hi), rel=1e-9)
        assert a.loc[code, "n_points"] == n
        assert a.loc[code, "status"] == ("covered" if mean <= 10 else "underserved")
    assert lo < a.loc["Q", "minutes"] < hi
    # the nearest site is that of the most populous part (P1: west; Q1: east)
    assert a.loc["P", "nearest_site_id"] == "s_west" and a.loc["Q", "nearest_site_id"] == "s_east"
    assert a.loc["P", "population"] == 1000                              # the commune's population
    # single-point communes: minutes = min = max, one point, the commune's own time
    for code in ("m1", "m2", "a1"):
        assert a.loc[code, "minutes"] == pytest.approx(near[code], rel=1e-9)
        assert a.loc[code, "minutes_min"] == a.loc[code, "minutes_max"] == a.loc[code, "minutes"]
        assert a.loc[code, "n_points"] == 1
    # R: one part on island B (no site): the time of the other, the reason says which part is unreachable
    assert a.loc["R", "minutes"] == pytest.approx(near["R1"], rel=1e-9) and a.loc["R", "status"] != "unreachable"
    assert a.loc["R", "reason"].startswith("1 of 2 points unreachable: part R2 (no site on its landmass")
    assert a.loc["R", "n_points"] == 2 and a.loc["R", "minutes_min"] == a.loc["R", "minutes_max"]
    # S: every part unreachable: unreachable, with the reason of its most populous part (S2)
    assert a.loc["S", "status"] == "unreachable" and np.isnan(a.loc["S", "minutes"])
    rec = pd.DataFrame(access.attrs["fsgeo"]["parts"]).set_index("part")
    assert a.loc["S", "reason"] == rec.loc["S2", "reason"] != ""
    assert np.isnan(a.loc["S", "minutes_max"]) and a.loc["S", "n_points"] == 2
    # second_minutes: the weighted mean of each part's own second-nearest time, never below minutes
    assert a.loc["P", "second_minutes"] >= a.loc["P", "minutes"]


def test_summary_counts_each_part_at_its_own_time(net, brute):
    near, _ = brute
    access, _ = coverage.access_from_network(_communes(), _sites(), net, threshold_min=10, parts=_parts())
    t = {p: near[p] for p in PARTS} | {c: near[c] for c in ("m1", "m2", "a1")}
    w = {p: PARTS[p][1] for p in PARTS} | {c: POPULATION[c] for c in ("m1", "m2", "a1")}
    p_times = sorted(near[["P1", "P2", "P3"]])
    band = (p_times[0] + p_times[1]) / 2                 # between P's parts: only some of P's inhabitants within
    summ = coverage.summary(access, bands=[band, 1000], threshold=10, commitment_min=band)
    expected = sum(w[k] for k in t if np.isfinite(t[k]) and t[k] <= band)
    row = summ.bands.set_index("band_min").loc[band]
    assert row["population"] == expected
    assert row["population_share"] == pytest.approx(expected / sum(POPULATION.values()))
    commune_t = access.set_index("code")["minutes"]
    assert row["communes"] == int((commune_t <= band).sum())            # communes by their own (mean) time
    # unreachable inhabitants: S's 50 and R's part on island B (50)
    assert summ.unreachable_population == 100
    assert summ.bands.set_index("band_min").loc[1000, "population"] == sum(POPULATION.values()) - 100
    fin = {k: v for k, v in t.items() if np.isfinite(v)}
    tv, wv = np.array(list(fin.values())), np.array([w[k] for k in fin])
    assert summ.mean_min == pytest.approx(np.average(tv, weights=wv), rel=1e-12)
    assert summ.max_min == pytest.approx(tv.max(), rel=1e-12)
    assert summ.median_min == pytest.approx(coverage.weighted_quantile(tv, wv, 0.5))
    assert summ.commitment_population_beyond == int(wv[tv > band].sum())
    # the communes where they live: P counts (two of its parts beyond) although not all of it is
    owner = {p: v[0] for p, v in PARTS.items()} | {c: c for c in ("m1", "m2", "a1")}
    assert summ.commitment_communes_beyond == len({owner[k] for k in fin if fin[k] > band})
    assert not summ.commitment_met
    st = summ.status
    assert st["population"].sum() == sum(POPULATION.values()) and st["communes"].sum() == len(COMMUNES)
    assert st.loc["unreachable", "population"] == 100 and st.loc["unreachable", "communes"] == 1
    # the longest times: the commune holding the longest time of any inhabitant first
    assert summ.worst["minutes_max"].iloc[0] == pytest.approx(summ.max_min)
    assert {"minutes_min", "minutes_max", "n_points"} <= set(summ.worst.columns)
    # one basis: demand_rows lists every part of a commune with parts, the commune row otherwise
    d = coverage.demand_rows(access)
    assert d["part"].tolist() == ["m1", "m2", "a1", "P1", "P2", "P3", "Q1", "Q2", "R1", "R2", "S1", "S2"]
    assert d["population"].sum() == sum(POPULATION.values())
    # a subset of the table keeps only its communes' parts
    sub = coverage.demand_rows(access[access["code"].isin(["m1", "P"])])
    assert sub["part"].tolist() == ["m1", "P1", "P2", "P3"]


def test_without_parts_nothing_changes(net):
    communes, sites = _communes(), _sites()
    before, s0 = coverage.access_from_network(communes, sites, net, threshold_min=10)
    for parts in (None, _parts().iloc[:0]):
        after, s1 = coverage.access_from_network(communes, sites, net, threshold_min=10, parts=parts)
        pd.testing.assert_frame_equal(after, before)
        assert after.attrs == before.attrs and "parts" not in after.attrs["fsgeo"]
        pd.testing.assert_series_equal(s1, s0)
    assert not set(coverage.PARTS_COLUMNS) & set(before.columns)
    d = coverage.demand_rows(before)
    assert d["part"].tolist() == before["code"].tolist()
    np.testing.assert_array_equal(d["minutes"].to_numpy(), before["minutes"].to_numpy())
    full = coverage.access_times(communes, sites, net, threshold_min=10)
    again = coverage.access_times(communes, sites, net, threshold_min=10, parts=_parts().iloc[:0])
    pd.testing.assert_frame_equal(again, full)


def test_access_times_with_parts_weighs_the_access_share(net):
    communes, sites = _communes(), _sites()
    access = coverage.access_times(communes, sites, net, threshold_min=10, parts=_parts())
    rec = pd.DataFrame(access.attrs["fsgeo"]["parts"]).set_index("part")
    shares = rec.loc[["P1", "P2", "P3"], "access_share"].astype(float).to_numpy()
    w = np.array([PARTS[p][1] for p in ("P1", "P2", "P3")], dtype=float)
    a = access.set_index("code")
    assert a.loc["P", "access_share"] == pytest.approx(np.average(shares, weights=w), rel=1e-12)
    # each part's share is what access_times gives it routed alone
    alone = coverage.access_times(
        gpd.GeoDataFrame({"code": ["P1", "P2", "P3"], "population": w, "departement": "85",
                          "point_lon": _parts().geometry.x.to_numpy()[:3],
                          "point_lat": _parts().geometry.y.to_numpy()[:3]},
                         geometry=_parts().geometry.to_numpy()[:3], crs="EPSG:4326"),
        sites, net, threshold_min=10)
    np.testing.assert_allclose(alone["access_share"].to_numpy(dtype=float), shares, rtol=1e-12)
    assert a.loc["P", "access_dominated"] == (a.loc["P", "access_share"] > coverage.ACCESS_DOMINATED)
    # the single-point communes are those of the table without parts
    plain = coverage.access_times(communes, sites, net, threshold_min=10).set_index("code")
    for code in ("m1", "m2", "a1"):
        assert a.loc[code, "access_share"] == plain.loc[code, "access_share"]
        assert a.loc[code, "minutes"] == plain.loc[code, "minutes"]


def test_island_without_roads_holds_for_every_part(brute):
    net = _network(landmass="weak")
    net.islands_without_roads = frozenset({"P"})
    access, _ = coverage.access_from_network(_communes(), _sites(), net, threshold_min=10, parts=_parts())
    a = access.set_index("code")
    assert a.loc["P", "status"] == "unreachable" and a.loc["P", "reason"] == "island without roads"
    rec = pd.DataFrame(access.attrs["fsgeo"]["parts"]).set_index("part")
    assert rec.loc[["P1", "P2", "P3"], "reason"].eq("island without roads").all()
    assert a.loc["Q", "status"] != "unreachable"


def _split_networks(net):
    """The mainland and island A as two networks (what a national study holds: one per landmass)."""
    out = []
    for keep in ({1, 2, 3, 4, 5, 6}, {11, 12, 13}):
        nodes = net.nodes.loc[sorted(keep), ["x", "y", "geometry"]]
        e = net.edges
        e = e[e["u"].isin(keep) & e["v"].isin(keep)][["u", "v", "travel_time_s", "road_class", "geometry"]]
        out.append(RoadNetwork(nodes, e.reset_index(drop=True), profile=CarProfile(direct_leg=False),
                               name=f"n{min(keep)}"))
    return out


def test_national_path_on_two_landmass_networks_equals_one_network(net):
    communes = _communes()[lambda c: c["code"] != "S"]        # island B has no network of its own here
    keep = ["P", "Q"]
    parts = _parts(keep)
    sites = _sites()
    one, _ = coverage.access_from_network(communes, sites, net, threshold_min=10, parts=parts)
    two, _ = national.access_on_networks(communes, sites, _split_networks(net), threshold_min=10, parts=parts)
    cols = ["code", "population", "nearest_site_id", "second_site_id", "status", "n_points"]
    # (the single-network path and the per-landmass concatenation infer different string dtypes, as without parts)
    def plain(frame):
        frame = pd.DataFrame(frame[cols]).astype(object)
        return frame.where(frame.notna(), None)

    pd.testing.assert_frame_equal(plain(two), plain(one))
    for col in ("minutes", "minutes_min", "minutes_max", "second_minutes"):
        np.testing.assert_allclose(two[col].to_numpy(dtype=float), one[col].to_numpy(dtype=float), rtol=1e-12)
    r1 = pd.DataFrame(one.attrs["fsgeo"]["parts"])
    r2 = pd.DataFrame(two.attrs["fsgeo"]["parts"])
    assert r2["part"].tolist() == r1["part"].tolist() == ["P1", "P2", "P3", "Q1", "Q2"]
    np.testing.assert_allclose(r2["minutes"].astype(float), r1["minutes"].astype(float), rtol=1e-12)
    assert r2.set_index("part").loc["Q2", "nearest_site_id"] == "s_isl"     # routed on the island's network
    # national_coverage: the per-département table counts each part at its own time
    res = national.national_coverage(communes, sites, _split_networks(net), threshold_min=10, parts=parts,
                                     table_bands=(10, 30))
    d = coverage.demand_rows(one)
    within = d.loc[d["minutes"] <= 10, "population"].sum() / d["population"].sum()
    dep = res.departements.set_index("departement").loc["85"]
    assert dep["share_within_20"] == pytest.approx(within)         # the first table band (10 min here)
    assert dep["population"] == communes["population"].sum()
    assert dep["communes"] == len(communes)
    assert res.summary.population == communes["population"].sum()
    assert res.summary.mean_min == pytest.approx(np.average(d["minutes"].dropna(),
                                                            weights=d.loc[d["minutes"].notna(), "population"]))
    assert dep["max_minutes"] == pytest.approx(d["minutes"].max())
    # without parts the national result is the one of today
    plain = national.national_coverage(communes, sites, _split_networks(net), threshold_min=10)
    again = national.national_coverage(communes, sites, _split_networks(net), threshold_min=10,
                                       parts=parts.iloc[:0])
    pd.testing.assert_frame_equal(again.departements, plain.departements)
    pd.testing.assert_frame_equal(again.access, plain.access)


@pytest.mark.parametrize("change, message", [
    (lambda p: p.assign(code=p["code"].where(p["part"] != "P2", "ZZ")), "demand part P2: its commune code 'ZZ'"),
    (lambda p: p.assign(part=p["part"].where(p["part"] != "P3", "P1")), "demand part id(s) P1 given more than once"),
    (lambda p: p.assign(part=p["part"].where(p["part"] != "P3", "m1")), "demand part m1: its id is the code of"),
    (lambda p: p.assign(population=p["population"].where(p["part"] != "Q1", -5)), "demand part Q1: population"),
    (lambda p: p.assign(population=p["population"].where(p["part"] != "Q1", 100)),
     "demand parts of commune Q: they add up to 180 inhabitants, the commune has 300"),
    (lambda p: p.drop(columns="part"), "demand parts lack column"),
])
def test_bad_parts_are_input_errors_naming_the_part(net, change, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        coverage.access_from_network(_communes(), _sites(), net, threshold_min=10, parts=change(_parts()))


def test_reports_name_the_communes_with_parts_and_show_their_range(net):
    from fsgeo import reports

    access = coverage.access_times(_communes(), _sites(), net, threshold_min=10, parts=_parts())
    summ = coverage.summary(access)
    fr = reports.coverage_report(access, summ, label="Test")
    assert ("toute la commune à son point, sauf :\n           commune P (3 points), commune Q (2 points), commune R "
            "(2 points) et commune S (2 points) : un point par partie, pondéré par sa population") in fr
    p = access.set_index("code").loc["P"]
    T = reports.Text("fr")
    cell = f"{T.min(p['minutes'])} ({T.min(p['minutes_min'])}–{T.min(p['minutes_max'])})"
    assert any(line.split()[:1] == ["P"] and cell in line for line in fr.splitlines())
    assert "moyenne pondérée (la plus courte – la plus longue de ses parties)" in fr
    # the commune with a part on island B: listed with the unreachable, its part's reason in French
    assert "1 point sur 2 non routé : part R2 (aucun site sur son île" in fr
    # 100 inhabitants without a time: S's and R2's, in 2 communes
    assert "100 habitants dans 2 communes sans site atteignable" in fr
    en = reports.coverage_report(access, summ, label="Test", lang="en")
    assert "commune R (2 points) and commune S (2 points): one point per part, weighted by its population" in en
    assert "1 of 2 points unreachable: part R2 (no site on its landmass" in en
    # more than 5 communes with parts: their count and their points
    many = pd.concat([access, access.assign(code=access["code"] + "x")], ignore_index=True)
    assert "8 communes (18 points) : un point par partie" in reports.coverage_report(many, summ, label="Test")


def test_reports_without_parts_keep_every_commune_at_its_point(net):
    from fsgeo import reports

    plain = coverage.access_times(_communes(), _sites(), net, threshold_min=10)
    empty = coverage.access_times(_communes(), _sites(), net, threshold_min=10, parts=_parts().iloc[:0])
    for lang in ("fr", "en"):
        text = reports.coverage_report(plain, coverage.summary(plain), label="Test", lang=lang)
        assert text == reports.coverage_report(empty, coverage.summary(empty), label="Test", lang=lang)
    assert "toute la commune à son point.\n" in reports.coverage_report(plain, coverage.summary(plain))


def test_no_site_selected_reaches_every_part(net):
    sites = _sites().assign(labelled_on="2020-01-01")
    access = coverage.access_times(_communes(), sites, net, threshold_min=10, as_of="2019-01-01", parts=_parts())
    assert (access["status"] == "unreachable").all()
    assert access["reason"].eq("no site selected: none labelled on or before 2019-01-01").all()
    assert {r["reason"] for r in access.attrs["fsgeo"]["parts"]} == {access["reason"].iat[0]}
    summ = coverage.summary(access)
    assert summ.unreachable_population == sum(POPULATION.values()) and np.isnan(summ.mean_min)


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.integers(800_000, 821_000), st.integers(6_698_500, 6_702_500), st.integers(0, 900)),
                min_size=2, max_size=6),
       st.floats(2, 20))
def test_any_split_counts_every_part_exactly(split, band):
    """A commune split any way on the mainland: the summary's band population equals the inhabitants of the points
    (parts routed one by one as communes of their own, single-point communes) within the band."""
    net = _network(landmass="weak")
    pts = _points({f"X{i}": (x, y) for i, (x, y, _) in enumerate(split)}).to_crs("EPSG:4326")
    pops = [p for *_, p in split]
    communes = _communes()[lambda c: c["code"].isin(["m1", "m2", "P"])].reset_index(drop=True)
    communes.loc[communes["code"] == "P", "population"] = sum(pops)
    parts = gpd.GeoDataFrame({"code": "P", "part": list(pts.index), "population": pops},
                             geometry=pts.geometry.to_numpy(), crs="EPSG:4326")
    access, _ = coverage.access_from_network(communes, _sites(), net, threshold_min=10, parts=parts)
    alone = pd.concat([communes[communes["code"] != "P"][["code", "population", "point_lon", "point_lat"]],
                       pd.DataFrame({"code": list(pts.index), "population": pops, "point_lon": pts.geometry.x,
                                     "point_lat": pts.geometry.y})], ignore_index=True)
    one, _ = coverage.access_from_network(alone, _sites(), net, threshold_min=10)
    t, w = one["minutes"].to_numpy(dtype=float), one["population"].to_numpy(dtype=float)
    summ = coverage.summary(access, bands=[band])
    assert summ.bands["population"].iat[0] == int(round(w[np.isfinite(t) & (t <= band)].sum()))
    assert summ.population == int(w.sum())
    p = access.set_index("code").loc["P"]
    tp, wp = t[2:], w[2:]
    ok = np.isfinite(tp)
    if ok.any():
        expected = np.average(tp[ok], weights=wp[ok]) if wp[ok].sum() > 0 else tp[ok].mean()
        assert p["minutes"] == pytest.approx(expected, rel=1e-12)
        assert p["minutes_min"] - 1e-9 <= p["minutes"] <= p["minutes_max"] + 1e-9


def test_map_tooltips_give_the_range_of_a_commune_with_parts(net):
    from fsgeo import maps

    access = coverage.access_times(_communes(), _sites(), net, threshold_min=10, parts=_parts())
    rows = pd.DataFrame(access.drop(columns="geometry")).set_index("code", drop=False)
    p = rows.loc["P"]
    lo, hi = (maps._fmt_minutes(p[c], "fr") for c in ("minutes_min", "minutes_max"))
    tip = maps._commune_tip(p.to_dict(), False, lang="fr")
    assert f"moyenne de ses 3 points, pondérée par leur population ({lo} à {hi})" in tip
    assert "1 of 2 points unreachable: part R2" in maps._commune_tip(rows.loc["R"].to_dict(), False, lang="en")
    assert "points" not in maps._commune_tip(rows.loc["m1"].to_dict(), False, lang="en")
    maps.coverage_map(access, _sites(), tiles=False, threshold_min=10, lang="fr").get_root().render()  # renders


def test_neighbour_sites_count_each_part_at_its_own_nearest_site(net, brute):
    _, m = brute
    sites = _sites().assign(departement=["85", "86", "85"])      # s_east in another département
    access, _ = coverage.access_from_network(_communes(), sites, net, threshold_min=10, parts=_parts())
    nearest = m.idxmin(axis=1).where(np.isfinite(m.min(axis=1)))
    owner = {p: v[0] for p, v in PARTS.items()} | {c: c for c in ("m1", "m2", "a1")}
    w = {p: PARTS[p][1] for p in PARTS} | {c: POPULATION[c] for c in ("m1", "m2", "a1")}
    east = [k for k in nearest.index if nearest[k] == "s_east"]
    assert {owner[k] for k in east} >= {"P", "Q"}                  # P3 and Q1, while P's largest part is west
    nb = coverage.neighbour_dependency(access)
    assert nb["site_id"].tolist() == ["s_east"] and nb["departement"].tolist() == ["86"]
    assert nb["population"].iat[0] == sum(w[k] for k in east)
    assert nb["communes"].iat[0] == len({owner[k] for k in east})
    summ = coverage.summary(access)
    assert summ.neighbour_population == sum(w[k] for k in east)
    assert summ.neighbour_communes == len({owner[k] for k in east})
    # without parts: one commune, one site, as before
    plain, _ = coverage.access_from_network(_communes(), sites, net, threshold_min=10)
    nb0 = coverage.neighbour_dependency(plain)
    on_east = plain[plain["nearest_site_id"] == "s_east"]
    assert nb0["population"].iat[0] == on_east["population"].sum() and nb0["communes"].iat[0] == len(on_east)
    assert nb0["codes"].iat[0] == ",".join(on_east["code"])


def test_national_report_names_the_communes_with_parts(net):
    communes = _communes()[lambda c: c["code"] != "S"]
    res = national.national_coverage(communes, _sites(), _split_networks(net), threshold_min=10,
                                     parts=_parts(["P", "Q"]))
    fr = national.text_report(res)
    assert ("Un point par commune, sauf commune P (3 points) et commune Q (2 points) : un point par partie, pondéré "
            "par sa population") in fr
    assert "except commune P (3 points) and commune Q (2 points): one point per part" in national.text_report(
        res, lang="en")
    plain = national.national_coverage(communes, _sites(), _split_networks(net), threshold_min=10)
    assert "Un point par commune" not in national.text_report(plain)
