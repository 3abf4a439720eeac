"""Floating-catchment accessibility: a hand-computed instance (with and without demand outside the study area), input
rules, a cross-check against PySAL ``access`` on hand-made, random and the embedded Haute-Saône data (with its
neighbouring communes as outside demand), and the ``fsgeo accessibility`` console script."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from _cli import run_fsgeo

from fsgeo import accessibility, datasets
from fsgeo.accessibility import LUO_QI_2009_STEPS, decay_function, summary, two_step_fca
from fsgeo.io import InputError

INF = np.inf
NAN = np.nan


# ---------------------------------------------------------------------------------------------------------------------
# hand-made instance: 5 communes, 3 sites, catchment 30 min
# ---------------------------------------------------------------------------------------------------------------------
def _communes():
    return pd.DataFrame({"code": ["A", "B", "C", "D", "E"], "name": ["Aa", "Bb", "Cc", "Dd", "Ee"],
                         "departement": "70", "population": [1000, 3000, 2000, 500, 100]})


def _sites():
    return pd.DataFrame({"id": ["s1", "s2", "s3"], "name": ["One", "Two", "Three"], "departement": ["70", "70", "25"],
                         "weekly_open_hours": [30.0, 10.0, 5.0]})


def _minutes():
    return pd.DataFrame(
        [
            [5.0, 40.0, 60.0],  # A: s1 only (zone 0-10)
            [25.0, 15.0, 70.0],  # B: s1 (zone 20-30) and s2 (zone 10-20)
            [50.0, 30.0, 80.0],  # C: s2 exactly at the threshold: in reach (zone 20-30)
            [INF, 45.0, 90.0],  # D: nothing within 30 min
            [NAN, NAN, NAN],  # E: not routed
        ],
        index=["A", "B", "C", "D", "E"], columns=["s1", "s2", "s3"],
    )


def test_classic_2sfca_by_hand():
    communes, sites = two_step_fca(_communes(), _sites(), minutes=_minutes())
    # s1: 30 h for A + B = 4000 people -> 7.5 h per 1,000; s2: 10 h for B + C = 5000 -> 2 h per 1,000
    assert communes["accessibility"].tolist() == pytest.approx([7.5, 9.5, 2.0, 0.0, 0.0], rel=1e-12)
    assert sites["demand_within"].tolist()[:2] == [4000.0, 5000.0]
    assert sites["ratio"].tolist()[:2] == pytest.approx([7.5, 2.0], rel=1e-12)
    assert np.isnan(sites["ratio"].iat[2])
    assert sites["status"].tolist() == ["ok", "ok", "no_demand_in_reach"]
    assert sites["reason"].iat[2] == "no commune within 30 min"
    assert communes["sites_in_reach"].tolist() == [1, 2, 1, 0, 0]
    assert communes["status"].tolist() == ["served", "served", "served", "no_site_in_reach", "unreachable"]
    assert communes["reason"].iat[3] == "nearest site s2 (Two) at 45.0 min, beyond the 30-min catchment"
    assert communes["reason"].iat[4] != "" and communes["reason"].iloc[:3].eq("").all()
    assert communes["nearest_site_id"].tolist()[:4] == ["s1", "s2", "s2", "s2"]
    assert communes["nearest_minutes"].tolist()[:4] == [5.0, 15.0, 30.0, 45.0]
    assert np.isnan(communes["nearest_minutes"].iat[4])
    # index: accessibility / population-weighted mean (40 h over 6,600 inhabitants)
    assert communes["accessibility_index"].tolist() == pytest.approx(
        [7.5 * 6600 / 40000, 9.5 * 6600 / 40000, 2.0 * 6600 / 40000, 0, 0], rel=1e-12)
    assert list(communes.columns) == accessibility.COMMUNE_COLUMNS
    assert list(sites.columns) == accessibility.SITE_COLUMNS
    meta = communes.attrs["fsgeo"]
    assert meta["method"] == "2sfca" and meta["threshold_min"] == 30.0 and meta["total_supply"] == 45.0
    assert meta["supply_reaching_someone"] == 40.0
    assert meta["unit"] == "opening hours per week per 1,000 inhabitants"


def test_enhanced_2sfca_by_hand():
    communes, sites = two_step_fca(_communes(), _sites(), minutes=_minutes(), decay="e2sfca")
    d1 = 1000 * 1.0 + 3000 * 0.22  # A in zone 0-10, B in zone 20-30
    d2 = 3000 * 0.68 + 2000 * 0.22  # B in zone 10-20, C at 30.0 (zone 20-30, bound inclusive)
    r1, r2 = 30 / d1 * 1000, 10 / d2 * 1000
    assert sites["demand_within"].tolist()[:2] == pytest.approx([d1, d2], rel=1e-12)
    assert communes["accessibility"].tolist() == pytest.approx(
        [r1, 0.22 * r1 + 0.68 * r2, 0.22 * r2, 0.0, 0.0], rel=1e-12)
    assert "0-10 min: 1, 10-20 min: 0.68, 20-30 min: 0.22" in communes.attrs["fsgeo"]["weights"]


@pytest.mark.parametrize("decay", [None, "e2sfca", "gaussian", {12: 1.0, 25: 0.5}])
def test_supply_is_conserved(decay):
    # same weights in both steps: sum_i P_i A_i / 1000 = supply of the sites with someone in reach
    communes, sites = two_step_fca(_communes(), _sites(), minutes=_minutes(), decay=decay)
    total = (communes["population"] * communes["accessibility"]).sum() / 1000
    assert total == pytest.approx(sites.loc[sites["status"] == "ok", "supply"].sum(), rel=1e-12)
    assert total > 0
    s = summary(communes)
    assert s["mean"] == pytest.approx(total * 1000 / 6600, rel=1e-12)
    # nothing dropped: every commune in exactly one status
    assert sum(v["communes"] for v in s["status"].values()) == 5
    assert sum(v["population"] for v in s["status"].values()) == 6600


def test_longer_opening_hours_more_access():
    base = two_step_fca(_communes(), _sites(), minutes=_minutes()).communes["accessibility"]
    sites = _sites()
    sites.loc[1, "weekly_open_hours"] = 35.0  # s2 open 35 h instead of 10 h
    more = two_step_fca(_communes(), sites, minutes=_minutes()).communes["accessibility"]
    assert more.iat[0] == base.iat[0]  # A does not reach s2
    assert more.iat[1] > base.iat[1] and more.iat[2] == pytest.approx(3.5 * base.iat[2])


def test_neighbour_part_and_geometry():
    import geopandas as gpd
    from shapely.geometry import Point, box

    communes = gpd.GeoDataFrame(_communes(), geometry=[box(i, 0, i + 0.1, 0.1) for i in range(5)], crs="EPSG:4326")
    minutes = _minutes()
    minutes.loc["B", "s3"] = 20.0  # B also reaches the neighbouring site s3 (5 h for B's 3000 people)
    sites = gpd.GeoDataFrame(_sites(), geometry=[Point(0, 0), Point(1, 1), Point(2, 2)], crs="EPSG:4326")
    res = two_step_fca(communes, sites, minutes=minutes)
    assert res.communes.crs == "EPSG:4326" and res.communes.geometry.iat[2].equals(communes.geometry.iat[2])
    assert res.sites.crs == "EPSG:4326" and res.sites.geometry.iat[1].equals(Point(1, 1))
    assert res.communes["accessibility_neighbours"].tolist() == pytest.approx([0, 5 / 3, 0, 0, 0], rel=1e-12)
    assert res.communes["accessibility"].iat[1] == pytest.approx(9.5 + 5 / 3, rel=1e-12)
    assert res.communes.attrs["fsgeo"]["n_sites_neighbour"] == 1
    assert summary(res)["neighbour_share"] == pytest.approx(5 / 45, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------------
# demand outside the study area: counted in step 1, no result row
# ---------------------------------------------------------------------------------------------------------------------
def _outside():
    return pd.DataFrame({"code": ["X", "Y", "Z"], "name": ["Xx", "Yy", "Zz"], "departement": "25",
                         "population": [1000, 3000, 700]})


def _minutes_with_outside():
    out = pd.DataFrame([[8.0, 50.0, 12.0],  # X: s1 and s3
                        [INF, 28.0, NAN],  # Y: s2 only
                        [NAN, NAN, NAN]],  # Z: not routed
                       index=["X", "Y", "Z"], columns=["s1", "s2", "s3"])
    return pd.concat([_minutes(), out])


def test_outside_demand_by_hand():
    communes, sites = two_step_fca(_communes(), _sites(), minutes=_minutes_with_outside(), outside_demand=_outside())
    # s1: 30 h for A + B + X = 5000 people -> 6 h per 1,000; s2: 10 h for B + C + Y = 8000 -> 1.25;
    # s3: 5 h for X alone = 1000 -> 5 (it now has demand, but no commune studied in reach)
    assert communes["code"].tolist() == ["A", "B", "C", "D", "E"]  # no row for X, Y, Z
    assert communes["accessibility"].tolist() == pytest.approx([6.0, 7.25, 1.25, 0.0, 0.0], rel=1e-12)
    assert sites["demand_within"].tolist() == [5000.0, 8000.0, 1000.0]
    assert sites["demand_outside"].tolist() == [1000.0, 3000.0, 1000.0]
    assert sites["ratio"].tolist() == pytest.approx([6.0, 1.25, 5.0], rel=1e-12)
    assert sites["status"].tolist() == ["ok", "ok", "ok"] and sites["communes_in_reach"].tolist() == [2, 2, 0]
    meta = communes.attrs["fsgeo"]
    assert meta["outside_communes"] == 3 and meta["outside_population"] == 4700
    assert meta["outside_communes_in_reach"] == 2 and meta["outside_population_in_reach"] == 4000
    assert meta["outside_communes_not_routed"] == 1 and meta["outside_population_not_routed"] == 700
    # supply taken outside: s1 30 x 1000/5000 + s2 10 x 3000/8000 + s3 5 x 1000/1000 = 6 + 3.75 + 5
    assert meta["supply_to_outside"] == pytest.approx(14.75, rel=1e-12)
    inside = (communes["population"] * communes["accessibility"]).sum() / 1000
    assert inside == pytest.approx(30.25, rel=1e-12) and inside + meta["supply_to_outside"] == pytest.approx(45.0)
    s = summary(communes)
    assert s["mean"] == pytest.approx(30.25 * 1000 / 6600, rel=1e-12)
    assert s["outside_population"] == 4700 and s["outside_population_in_reach"] == 4000
    # index: over the communes studied only (their mean is 1)
    assert (communes["population"] * communes["accessibility_index"]).sum() / 6600 == pytest.approx(1.0, rel=1e-12)


def test_outside_demand_neutral_cases():
    base = two_step_fca(_communes(), _sites(), minutes=_minutes())
    # nobody outside, or outside communes out of reach: the same answer as without
    empty = _outside().assign(population=0)
    far = _minutes_with_outside()
    far.loc[["X", "Y", "Z"]] = 45.0
    for outside, minutes in ((empty, _minutes_with_outside()), (_outside(), far)):
        res = two_step_fca(_communes(), _sites(), minutes=minutes, outside_demand=outside)
        pd.testing.assert_series_equal(res.communes["accessibility"], base.communes["accessibility"])
        assert res.communes.attrs["fsgeo"]["supply_to_outside"] == 0.0
    assert base.communes.attrs["fsgeo"]["outside_communes"] == 0 and "demand_outside" in base.sites.columns
    assert (base.sites["demand_outside"] == 0).all()


def test_outside_demand_bad_inputs():
    clash = _outside()
    clash.loc[0, "code"] = "B"
    with pytest.raises(InputError, match="B are both in the communes and in the outside demand"):
        two_step_fca(_communes(), _sites(), minutes=_minutes_with_outside(), outside_demand=clash)
    with pytest.raises(InputError, match=r"lacks outside-demand commune\(s\) Y: its index must hold their codes"):
        two_step_fca(_communes(), _sites(), minutes=_minutes_with_outside().drop(index="Y"), outside_demand=_outside())
    bad = _outside()
    bad.loc[2, "population"] = -1
    with pytest.raises(InputError, match="outside-demand commune Z: population"):
        two_step_fca(_communes(), _sites(), minutes=_minutes_with_outside(), outside_demand=bad)
    neg = _minutes_with_outside()
    neg.loc["X", "s3"] = -2.0
    with pytest.raises(InputError, match="negative time -2.0 from outside-demand commune X to site s3"):
        two_step_fca(_communes(), _sites(), minutes=neg, outside_demand=_outside())
    with pytest.raises(InputError, match="outside-demand communes lack column"):
        two_step_fca(_communes(), _sites(), minutes=_minutes_with_outside(), outside_demand=_outside()[["code"]])


# ---------------------------------------------------------------------------------------------------------------------
# input rules
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [NAN, 0.0, -3.0])
def test_unusable_supply_names_the_site(bad):
    sites = _sites()
    sites.loc[1, "weekly_open_hours"] = bad
    with pytest.raises(InputError, match=r"1 site\(s\) without a usable weekly_open_hours.*site 's2' \(Two\)"):
        two_step_fca(_communes(), sites, minutes=_minutes())
    # a number for every site works whatever the column says: supply=1 counts sites
    communes, res = two_step_fca(_communes(), sites, minutes=_minutes(), supply=1)
    assert res["supply"].tolist() == [1.0, 1.0, 1.0]
    assert communes["accessibility"].tolist() == pytest.approx([1 / 4, 1 / 4 + 1 / 5, 1 / 5, 0, 0], rel=1e-12)
    assert communes.attrs["fsgeo"]["unit"] == "sites per 1,000 inhabitants"


def test_bad_inputs():
    with pytest.raises(InputError, match="no 'beds' column"):
        two_step_fca(_communes(), _sites(), minutes=_minutes(), supply="beds")
    for bad in (0, -1, float("nan"), True):
        with pytest.raises(ValueError, match="supply"):
            two_step_fca(_communes(), _sites(), minutes=_minutes(), supply=bad)
    with pytest.raises(InputError, match="lacks commune.*C"):
        two_step_fca(_communes(), _sites(), minutes=_minutes().drop(index="C"))
    with pytest.raises(InputError, match="lacks site.*s2"):
        two_step_fca(_communes(), _sites(), minutes=_minutes().drop(columns="s2"))
    neg = _minutes()
    neg.loc["B", "s2"] = -1.0
    with pytest.raises(InputError, match="negative time -1.0 from commune B to site s2"):
        two_step_fca(_communes(), _sites(), minutes=neg)
    dup = _sites()
    dup.loc[2, "id"] = "s1"
    with pytest.raises(InputError, match="duplicate site id"):
        two_step_fca(_communes(), dup, minutes=_minutes())
    pop = _communes()
    pop.loc[3, "population"] = -5
    with pytest.raises(InputError, match="commune D: population"):
        two_step_fca(pop, _sites(), minutes=_minutes())
    with pytest.raises(ValueError, match="threshold"):
        two_step_fca(_communes(), _sites(), minutes=_minutes(), threshold_min=0)
    with pytest.raises(ValueError, match="unknown decay"):
        two_step_fca(_communes(), _sites(), minutes=_minutes(), decay="linear")
    with pytest.raises(ValueError, match="not both"):
        two_step_fca(_communes(), _sites(), network=object(), minutes=_minutes())


def test_matrix_labelled_by_frame_index():
    # as routing.travel_time_matrix returns it for frames with a RangeIndex
    m = _minutes().reset_index(drop=True)
    m.columns = range(3)
    a = two_step_fca(_communes(), _sites(), minutes=m).communes
    b = two_step_fca(_communes(), _sites(), minutes=_minutes()).communes
    pd.testing.assert_frame_equal(a, b)
    # extra rows and columns are ignored, order does not matter
    bigger = _minutes().assign(s9=1.0).iloc[::-1]
    pd.testing.assert_frame_equal(two_step_fca(_communes(), _sites(), minutes=bigger).communes, b)


def test_decay_functions():
    w, method, _ = decay_function("e2sfca", 30)
    t = np.array([0.0, 10.0, 10.000001, 20.0, 20.5, 30.0])
    assert method == "e2sfca" and w(t).tolist() == [1.0, 1.0, 0.68, 0.68, 0.22, 0.22]
    assert LUO_QI_2009_STEPS == ((10.0, 1.0), (20.0, 0.68), (30.0, 0.22))
    w15, _, text = decay_function("e2sfca", 15)  # zones scaled to thirds of the threshold
    assert w15(np.array([5.0, 5.1, 10.0, 14.9])).tolist() == [1.0, 0.68, 0.68, 0.22] and "0-5 min: 1" in text
    g, method, _ = decay_function("gaussian", 30)
    assert method == "gaussian" and g(np.array([0.0, 30.0])).tolist() == pytest.approx([1.0, 0.0], abs=1e-15)
    assert 0 < g(np.array([15.0]))[0] < 1
    # a dict decay sets the threshold to its largest bound
    communes, _ = two_step_fca(_communes(), _sites(), minutes=_minutes(), decay={20: 1.0})
    assert communes.attrs["fsgeo"]["threshold_min"] == 20.0
    assert communes["accessibility"].tolist() == pytest.approx([30 / 1, 10 / 3, 0, 0, 0], rel=1e-12)
    assert communes["status"].iat[2] == "no_site_in_reach"


# ---------------------------------------------------------------------------------------------------------------------
# cross-check against PySAL access
# ---------------------------------------------------------------------------------------------------------------------
def _access_reference(communes, sites, minutes, supply, max_cost, method, weight_fn=None, normalize=False,
                      outside=None):
    """Accessibility per commune code from PySAL access, on the same inputs (cost in long format); ``outside``
    communes are part of access's demand table, and only the rows of ``communes`` are returned."""
    access = pytest.importorskip("access")
    everyone = communes if outside is None else pd.concat([pd.DataFrame(communes[["code", "population"]]),
                                                          pd.DataFrame(outside[["code", "population"]])])
    demand = pd.DataFrame({"population": everyone["population"].astype(float).to_numpy()},
                          index=pd.Index(everyone["code"].astype(str), name="geoid"))
    supply_df = pd.DataFrame({"supply": sites[supply].astype(float).to_numpy()},
                             index=pd.Index(sites["id"].astype(str), name="geoid"))
    m = minutes.copy()
    m.index, m.columns = m.index.astype(str), m.columns.astype(str)
    cost = m.stack(future_stack=True).rename("cost").rename_axis(["origin", "dest"]).reset_index()
    a = access.Access(demand_df=demand, demand_index=True, demand_value="population", supply_df=supply_df,
                      supply_index=True, supply_value="supply", cost_df=cost, cost_origin="origin", cost_dest="dest",
                      cost_name="cost")
    fn = a.enhanced_two_stage_fca if method == "e2sfca" else a.two_stage_fca
    out = fn(name="x", max_cost=max_cost, weight_fn=weight_fn, normalize=normalize)
    # access leaves communes without any site in reach out (NaN): fsgeo gives them 0
    return out["x_supply"].reindex(communes["code"].astype(str)).fillna(0.0).to_numpy()


def _max_rel(ours, ref):
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    assert np.array_equal(ours == 0, ref == 0), "not the same communes at zero"
    nz = ref != 0
    return float(np.max(np.abs(ours[nz] - ref[nz]) / np.abs(ref[nz]))) if nz.any() else 0.0


def _gaussian_dai(t0):
    return lambda t: (np.exp(-0.5 * (t / t0) ** 2) - np.exp(-0.5)) / (1 - np.exp(-0.5))


def _cross_check(communes, sites, minutes, threshold, decay, supply="weekly_open_hours", outside=None):
    """Max relative difference with access, raw (per 1,000) and normalised (index; None with outside demand, which
    access's normalisation averages over too)."""
    from access import weights

    res = two_step_fca(communes, sites, minutes=minutes, threshold_min=threshold, supply=supply, decay=decay,
                       outside_demand=outside)
    method, fn = "2sfca", None  # access: no weight, hard max_cost
    if decay == "e2sfca":  # access's enhanced_two_stage_fca defaults to the Luo & Qi steps for 30 min
        method = "e2sfca"
        if threshold != 30:
            fn = weights.step_fn({threshold / 3: 1.0, 2 * threshold / 3: 0.68, threshold: 0.22})
    elif decay == "gaussian":
        fn = _gaussian_dai(threshold)
    elif isinstance(decay, dict):
        fn = weights.step_fn(decay)
    raw = _access_reference(communes, sites, minutes, supply, threshold, method, fn, outside=outside)
    if outside is not None:
        return _max_rel(res.communes["accessibility"] / 1000, raw), None
    norm = _access_reference(communes, sites, minutes, supply, threshold, method, fn, normalize=True)
    return (_max_rel(res.communes["accessibility"] / 1000, raw),
            _max_rel(res.communes["accessibility_index"], norm))


@pytest.mark.parametrize("decay", [None, "e2sfca", "gaussian", {8: 1.0, 17: 0.5, 30: 0.1}])
def test_same_as_access_by_hand(decay):
    pytest.importorskip("access")
    raw, norm = _cross_check(_communes(), _sites(), _minutes(), 30.0, decay)
    assert raw <= 1e-9 and norm <= 1e-9


@pytest.mark.parametrize("decay", [None, "e2sfca", "gaussian"])
def test_same_as_access_with_outside_demand_by_hand(decay):
    pytest.importorskip("access")
    raw, _ = _cross_check(_communes(), _sites(), _minutes_with_outside(), 30.0, decay, outside=_outside())
    assert raw <= 1e-9


def test_same_as_access_random():
    pytest.importorskip("access")
    rng = np.random.default_rng(7)
    for trial in range(12):
        n, k = int(rng.integers(3, 30)), int(rng.integers(1, 8))
        communes = pd.DataFrame({"code": [f"c{i}" for i in range(n)], "population": rng.integers(1, 5000, n)})
        sites = pd.DataFrame({"id": [f"s{j}" for j in range(k)],
                              "weekly_open_hours": rng.choice([2.5, 8, 24, 35.5], k)})
        m = rng.uniform(0, 50, (n, k)).round(int(trial % 2))  # rounded times land on the zone bounds
        m[rng.random((n, k)) < 0.1] = INF
        m[rng.integers(0, n)] = NAN
        minutes = pd.DataFrame(m, index=communes["code"], columns=sites["id"])
        for decay in (None, "e2sfca", "gaussian"):
            raw, norm = _cross_check(communes, sites, minutes, 30.0, decay)
            assert raw <= 1e-9 and norm <= 1e-9, (trial, decay)
        # a random outside demand, counted by access as ordinary demand rows
        n_out = int(rng.integers(1, 20))
        outside = pd.DataFrame({"code": [f"o{i}" for i in range(n_out)], "population": rng.integers(0, 9000, n_out)})
        m_out = rng.uniform(0, 50, (n_out, k)).round(1)
        m_out[rng.random((n_out, k)) < 0.2] = INF
        both = pd.concat([minutes, pd.DataFrame(m_out, index=outside["code"], columns=sites["id"])])
        raw, _ = _cross_check(communes, sites, both, 30.0, ("e2sfca", None)[trial % 2], outside=outside)
        assert raw <= 1e-9, trial


@pytest.fixture(scope="module")
def embedded(study):
    from fsgeo import routing

    communes, sites, network = study.communes.copy(), study.sites.copy(), study.network
    # the call the module makes, straight from routing (index = the frames' RangeIndex)
    minutes = routing.travel_time_matrix(network, datasets.demand_points(communes), sites)
    return communes, sites, network, minutes


@pytest.fixture(scope="module")
def embedded_outside(embedded):
    """The neighbouring communes and the minutes of communes + neighbours (index = codes, columns = site ids)."""
    from fsgeo import routing

    communes, sites, network, _ = embedded
    outside = datasets.load_neighbour_communes()
    points = datasets.demand_points(pd.concat([communes, outside], ignore_index=True))
    minutes = routing.travel_time_matrix(network, points, sites, on_snap_error="nan")
    return outside, minutes.set_axis(points["code"], axis=0).set_axis(sites["id"], axis=1)


@pytest.mark.parametrize("threshold,decay", [(30.0, None), (30.0, "e2sfca"), (30.0, "gaussian"), (15.0, None),
                                             (15.0, "e2sfca")])
def test_same_as_access_on_embedded_data(embedded, threshold, decay):
    pytest.importorskip("access")
    communes, sites, _, minutes = embedded
    m = minutes.set_axis(communes["code"], axis=0).set_axis(sites["id"], axis=1)
    raw, norm = _cross_check(communes, sites, m, threshold, decay)
    assert raw <= 1e-9 and norm <= 1e-9


@pytest.mark.parametrize("decay", [None, "e2sfca"])
def test_same_as_access_on_embedded_data_with_neighbours(embedded, embedded_outside, decay):
    pytest.importorskip("access")
    communes, sites, _, _ = embedded
    outside, minutes = embedded_outside
    raw, _ = _cross_check(communes, sites, minutes, 30.0, decay, outside=outside)
    assert raw <= 1e-9


def test_embedded_data_with_neighbours(embedded, embedded_outside):
    communes, sites, network, _ = embedded
    outside, minutes = embedded_outside
    alone = two_step_fca(communes, sites, minutes=minutes)
    res = two_step_fca(communes, sites, minutes=minutes, outside_demand=outside)
    # routed inside the function: the same answer
    routed = two_step_fca(communes, sites, network=network, outside_demand=outside)
    np.testing.assert_allclose(routed.communes["accessibility"], res.communes["accessibility"], rtol=1e-12)
    c, s = res
    meta = c.attrs["fsgeo"]
    assert len(c) == 536 and meta["outside_communes"] == len(outside)
    assert meta["outside_population"] == outside["population"].sum()
    # what the outside inhabitants take is each site's supply times their share of its demand
    ok = s["status"] == "ok"
    taken = (s["supply"] * s["demand_outside"] / s["demand_within"])[ok].sum()
    assert meta["supply_to_outside"] == pytest.approx(taken, rel=1e-12)
    inside = (c["population"] * c["accessibility"]).sum() / 1000
    assert inside + taken == pytest.approx(s.loc[ok, "supply"].sum(), rel=1e-12)
    # the edge effect: La Quarte (70430) is the only commune of 70 within 30 min of the Langres space (821), which
    # "served" its 61 people alone; with the Haute-Marne inhabitants around Langres counted it falls to the level of
    # its neighbours (with the poles of inaccessibility it was Percey-le-Grand and the Longeau antenna: Champlitte's
    # road-junction point, 2.4 km from its pole, now shares that antenna)
    a0 = alone.communes.set_index("code")["accessibility"]
    a1 = c.set_index("code")["accessibility"]
    s0, s1 = alone.sites.set_index("id"), s.set_index("id")
    assert s0.loc["821", "demand_within"] == 61 and s1.loc["821", "demand_outside"] > 10_000
    assert a0["70430"] > 400 and a1["70430"] < 10 and a0.idxmax() == "70430"
    assert a1.max() < 10 < a0.max()
    assert summary(res)["neighbour_share"] < 0.3 < 0.5 < summary(alone)["neighbour_share"]
    # adding demand never raises anyone's accessibility (the ratios can only fall)
    assert (a1 <= a0 * (1 + 1e-12)).all()
    had = s0["ratio"].notna()
    assert (s1["ratio"][had] <= s0["ratio"][had] * (1 + 1e-12)).all() and s1["ratio"].notna().sum() > had.sum()


def test_embedded_data(embedded):
    communes, sites, network, minutes = embedded
    res = two_step_fca(communes, sites, network=network)
    c, s = res
    # routed here or given the routing matrix labelled by the frames' index: the same answer
    pd.testing.assert_frame_equal(pd.DataFrame(c.drop(columns="geometry")),
                                  pd.DataFrame(two_step_fca(communes, sites, minutes=minutes).communes
                                               .drop(columns="geometry")))
    assert len(c) == 536 and c["code"].tolist() == communes["code"].tolist() and c.crs == "EPSG:4326"
    assert len(s) == len(sites) and s["id"].tolist() == sites["id"].tolist()
    # every commune of 70 is within 30 min of a site; no supply is missing in the embedded data
    assert (c["status"] == "served").all() and (c["accessibility"] > 0).all()
    assert (c["population"] * c["accessibility"]).sum() / 1000 == pytest.approx(
        s.loc[s["status"] == "ok", "supply"].sum(), rel=1e-12)
    # the 2.5 h/week antenna of Vauvillers, serving tens of thousands within 30 min, is the most loaded site
    assert s.sort_values("ratio")["id"].iat[0] == "682"
    # a 15-minute catchment leaves communes with nothing in reach, flagged with the nearest site's time
    c15 = two_step_fca(communes, sites, minutes=minutes, threshold_min=15).communes
    out = c15[c15["status"] == "no_site_in_reach"]
    assert len(out) > 0 and (out["accessibility"] == 0).all() and (out["nearest_minutes"] > 15).all()
    assert out["reason"].str.contains("beyond the 15-min catchment").all()
    assert ((c15["status"] == "served") == (c15["accessibility"] > 0)).all()


# ---------------------------------------------------------------------------------------------------------------------
# fsgeo accessibility
# ---------------------------------------------------------------------------------------------------------------------
def _run(*args, check=True):
    return run_fsgeo("accessibility", *args, check=check)


def test_cli_table_and_json():
    text = _run("--top", 5, "--lang", "en").stdout
    assert text.startswith("fsgeo accessibility: classic 2SFCA (Luo & Wang 2003), catchment 30 min")
    assert "opening hours per week per 1,000 inhabitants within reach" in text
    assert "Lowest accessibility (5 of 536 communes" in text and "Most loaded sites" in text
    assert "Antenne de Vauvillers" in text
    # the embedded neighbouring communes count in the sites' catchments by default
    outside = datasets.load_neighbour_communes()
    inhabitants = f"{outside['population'].sum():,}"
    assert f"Outside demand: {len(outside):,} communes of neighbouring départements, {inhabitants} inhabitants" in text
    old = _run("--top", 5, "--no-outside-demand", "--lang", "en").stdout
    assert "Outside demand: none" in old and "drop --no-outside-demand" in old
    fr = _run("--top", 5).stdout  # French by default
    assert fr.startswith("fsgeo accessibility : 2SFCA classique (Luo & Wang 2003), zone de chalandise 30 min")
    nnbsp = "\u202f"
    assert f"Demande extérieure : {len(outside):,} communes".replace(",", nnbsp) in fr
    assert "heures d'ouverture par semaine pour 1 000 habitants à portée" in fr
    assert "inhabitants" not in fr and ".00" not in fr
    out = json.loads(_run("--method", "e2sfca", "--threshold", 15, "--own-departement-only", "--format",
                          "json").stdout)
    assert out["method"] == "e2sfca" and out["threshold_min"] == 15 and out["n_sites"] == 26
    assert len(out["communes"]) == 536 and len(out["sites"]) == 26
    assert {r["departement"] for r in out["sites"]} == {"70"}
    pop = sum(r["population"] for r in out["communes"])
    total = sum(r["population"] * r["accessibility"] for r in out["communes"]) / 1000
    assert out["summary"]["mean"] == pytest.approx(total * 1000 / pop, rel=1e-9)
    zero = [r for r in out["communes"] if r["status"] == "no_site_in_reach"]
    assert zero and all(r["accessibility"] == 0 and r["reason"] for r in zero)
    assert out["summary"]["status"]["no_site_in_reach"]["communes"] == len(zero)
    # the 26 sites of 70 also serve neighbouring inhabitants: the supply splits between them and the communes of 70
    assert out["outside_communes"] > 1000 and 0 < out["supply_to_outside"] < sum(r["supply"] for r in out["sites"])
    assert total + out["supply_to_outside"] == pytest.approx(
        sum(r["supply"] for r in out["sites"] if r["status"] == "ok"), rel=1e-9)


def test_cli_csv_sites_count_and_errors(tmp_path):
    path = tmp_path / "out" / "acc.csv"
    path.parent.mkdir()  # a missing folder is an error before the work (issue 9 §2, tests/test_export.py)
    # without outside demand (the old behaviour), the supply of every site with someone in reach goes to 70
    proc = _run("--supply", 1, "--as-of", "2020-06-30", "--kind", "principal", "--format", "csv", "--out", path,
                "--no-outside-demand")
    assert proc.stdout == ""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == 536 and rows[0]["code"].startswith("70")
    assert {"accessibility", "accessibility_index", "status", "reason"} <= set(rows[0])
    # supply 1 per site: the sites labelled by mid-2020 with someone in reach, per 1,000 inhabitants
    total = sum(int(r["population"]) * float(r["accessibility"]) for r in rows) / 1000
    sites = datasets.load_sites()
    sites = sites[(sites["labelled_on"] <= "2020-06-30") & (sites["kind"] == "principal")]
    assert abs(total - round(total)) < 1e-9 and 0 < round(total) <= len(sites)
    bad = _run("--supply", "beds", check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "'beds'" in bad.stderr
    bad = _run("--supply", "-1", check=False)
    assert bad.returncode == 2 and "supply" in bad.stderr and "Traceback" not in bad.stderr
