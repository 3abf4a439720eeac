"""Coverage analysis: hand-made matrices with known answers, then invariants on the embedded data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import geopandas as gpd
import pytest
from shapely.geometry import box

from fsgeo import coverage
from fsgeo.coverage import access_from_matrix, summary, underserved, underserved_zones, weighted_quantile

INF = np.inf


# ---------------------------------------------------------------------------------------------------------------------
# hand-made: a row of 6 square communes (1 km each, Lambert-93), 3 sites, one in a neighbouring département
# ---------------------------------------------------------------------------------------------------------------------
def _communes():
    x0, y0 = 900_000, 6_700_000
    geoms = [box(x0 + i * 1000, y0, x0 + (i + 1) * 1000, y0 + 1000) for i in range(6)]
    g = gpd.GeoDataFrame(
        {
            "code": ["70001", "70002", "70003", "70004", "70005", "70006"],
            "name": ["A", "B", "C", "D", "E", "F"],
            "departement": "70",
            "population": [1000, 200, 50, 300, 10, 400],
        },
        geometry=geoms,
        crs="EPSG:2154",
    )
    return g.to_crs("EPSG:4326")


def _sites():
    return pd.DataFrame({"id": ["s1", "s2", "s3"], "name": ["One", "Two", "Three"], "departement": ["70", "70", "25"]})


def _matrix():
    m = pd.DataFrame(
        [
            [5.0, 12.0, 40.0],  # A: s1 5, s2 12 -> covered
            [25.0, 22.0, 18.0],  # B: s3 (neighbour) 18 -> covered
            [35.0, 21.0, 50.0],  # C: s2 21 -> under-served (threshold 20)
            [np.nan, np.nan, np.nan],  # D: commune not routed -> unreachable with given reason
            [INF, INF, INF],  # E: nothing reachable -> unreachable
            [31.0, 20.0, INF],  # F: exactly at the threshold -> covered
        ],
        index=["70001", "70002", "70003", "70004", "70005", "70006"],
        columns=["s1", "s2", "s3"],
    )
    return m


def _access(threshold=20):
    reasons = pd.Series({"70004": "too far from the road network (6200 m > 5000 m)"})
    return access_from_matrix(_communes(), _sites(), _matrix(), threshold_min=threshold, reasons=reasons)


def test_nearest_and_second_nearest():
    a = _access().set_index("code")
    assert a.loc["70001", "nearest_site_id"] == "s1" and a.loc["70001", "minutes"] == 5
    assert a.loc["70001", "second_site_id"] == "s2" and a.loc["70001", "second_minutes"] == 12
    assert a.loc["70002", "nearest_site_id"] == "s3" and a.loc["70002", "nearest_site_departement"] == "25"
    assert a.loc["70002", "second_site_name"] == "Two" and a.loc["70002", "second_minutes"] == 22
    assert a.loc["70006", "second_site_id"] == "s1"
    assert pd.isna(a.loc["70004", "nearest_site_id"]) and np.isnan(a.loc["70004", "minutes"])
    # the minutes column equals the row minimum wherever a site is reachable
    m = _matrix().min(axis=1, skipna=True)
    fin = np.isfinite(m)
    assert np.allclose(a.loc[fin[fin].index, "minutes"], m[fin])


def test_every_commune_in_exactly_one_status_with_reasons():
    a = _access()
    assert set(a["status"]) <= set(coverage.STATUSES)
    counts = a["status"].value_counts()
    assert counts.sum() == len(a) == 6
    assert counts["covered"] == 3 and counts["underserved"] == 1 and counts["unreachable"] == 2
    st = a.set_index("code")["status"]
    assert st["70006"] == "covered"  # minutes == threshold is within it
    assert st["70003"] == "underserved"
    r = a.set_index("code")["reason"]
    assert "6200 m" in r["70004"]
    assert "no site reachable" in r["70005"]
    assert (a.loc[a.status != "unreachable", "reason"] == "").all()
    assert isinstance(a, gpd.GeoDataFrame) and a.crs.to_epsg() == 4326


def test_site_column_all_nan_is_ignored_and_reported():
    m = _matrix()
    m["s4"] = np.nan
    sites = pd.concat([_sites(), pd.DataFrame({"id": ["s4"], "name": ["Lost"], "departement": ["70"]})])
    a = access_from_matrix(_communes(), sites, m, threshold_min=20)
    assert "s4" not in set(a["nearest_site_id"].dropna()) | set(a["second_site_id"].dropna())
    assert a.attrs["fsgeo"]["sites_not_routed"] == ["s4"]
    assert a.set_index("code").loc["70004", "status"] == "unreachable"


def test_no_site_at_all_everyone_unreachable():
    m = pd.DataFrame(index=_matrix().index, dtype=float)
    a = access_from_matrix(_communes(), _sites().iloc[:0], m)
    assert (a["status"] == "unreachable").all() and (a["reason"] == "no site selected").all()


def test_bad_inputs_named():
    with pytest.raises(ValueError, match="lacks commune"):
        access_from_matrix(_communes(), _sites(), _matrix().drop(index="70003"))
    with pytest.raises(ValueError, match="lacks site"):
        access_from_matrix(_communes(), _sites(), _matrix().drop(columns="s2"))
    with pytest.raises(ValueError, match="duplicate site"):
        access_from_matrix(_communes(), pd.concat([_sites(), _sites().iloc[:1]]), _matrix())
    with pytest.raises(ValueError, match="threshold"):
        access_from_matrix(_communes(), _sites(), _matrix(), threshold_min=0)
    for bad in (np.inf, np.nan):
        with pytest.raises(ValueError, match="threshold"):
            access_from_matrix(_communes(), _sites(), _matrix(), threshold_min=bad)
        with pytest.raises(ValueError, match="threshold"):
            coverage.with_threshold(_access(), bad)


def test_weighted_quantile_matches_numpy_inverted_cdf():
    rng = np.random.default_rng(0)
    for _ in range(30):
        v = rng.uniform(0, 60, 40).round(1)
        w = rng.integers(0, 500, 40)
        w[0] += 1
        for q in (0.1, 0.5, 0.9, 1.0):
            assert weighted_quantile(v, w, q) == pytest.approx(np.quantile(v, q, weights=w, method="inverted_cdf"))


def test_summary_known_answer():
    s = summary(_access(), bands=(10, 20, 30))
    total = 1960
    assert s.population == total and s.n_communes == 6
    b = s.bands.set_index("band_min")
    assert b.loc[10, "population"] == 1000  # A
    assert b.loc[20, "population"] == 1000 + 200 + 400  # A, B, F
    assert b.loc[30, "population"] == 1650  # + C
    assert b.loc[20, "population_share"] == pytest.approx(1600 / total)
    assert b.loc[20, "communes"] == 3 and b.loc[20, "commune_share"] == pytest.approx(3 / 6)
    # weighted over routed communes A (5, 1000), B (18, 200), C (21, 50), F (20, 400)
    assert s.mean_min == pytest.approx((5 * 1000 + 18 * 200 + 21 * 50 + 20 * 400) / 1650)
    assert s.median_min == 5  # A alone holds more than half the routed inhabitants
    assert s.p90_min == 20
    assert s.max_min == 21
    assert s.worst.iloc[0]["code"] == "70003"
    # 30-min commitment: nobody routed is beyond 30 min but two communes are unreachable -> not established
    assert s.commitment_population_beyond == 0 and s.unreachable_population == 310
    assert s.commitment_met is False
    # B depends on s3 in département 25
    assert s.neighbour_population == 200 and s.neighbour_communes == 1
    assert s.neighbour_sites.iloc[0]["site_id"] == "s3"
    st = s.status
    assert st["communes"].sum() == 6 and st["population"].sum() == total
    d = s.to_dict()
    assert d["bands"][0]["band_min"] == 10 and d["status"][0]["status"] == "covered"
    # bands are a set of minutes: repeats and order do not matter
    assert summary(_access(), bands=(20, 10, 20.0)).bands["band_min"].tolist() == [10, 20]


def test_summary_commitment_beyond_and_other_threshold():
    m = _matrix()
    m.loc["70004"] = [45.0, 33.0, 60.0]
    m.loc["70005"] = [9.0, INF, INF]
    a = access_from_matrix(_communes(), _sites(), m, threshold_min=20)
    s = summary(a)
    assert s.commitment_population_beyond == 300 and s.commitment_communes_beyond == 1
    assert s.commitment_met is False
    m.loc["70004"] = [25.0, 29.0, 60.0]
    s = summary(access_from_matrix(_communes(), _sites(), m, threshold_min=20))
    assert s.commitment_met is True
    # a summary at another threshold recomputes the statuses
    s15 = summary(a, threshold=15)
    assert s15.status.loc["underserved", "communes"] == 4  # B 18, C 21, D 33, F 20


def test_zero_population_communes_count_but_weigh_nothing():
    """D (unreachable) and E (beyond 30 min) have no inhabitant: they keep their status and count, but the
    commitment is about inhabitants (nobody is beyond 30 min or unreachable) and the weighted figures skip them."""
    c = _communes()
    c["population"] = [1000, 200, 50, 0, 0, 400]
    m = _matrix()
    m.loc["70005"] = [55.0, INF, INF]
    s = summary(access_from_matrix(c, _sites(), m, threshold_min=20))
    assert s.status["communes"].sum() == 6 and s.status.loc["unreachable", "communes"] == 1
    assert s.commitment_communes_beyond == 1 and s.commitment_population_beyond == 0
    assert s.commitment_met is True and s.unreachable_population == 0
    assert s.mean_min == pytest.approx((5 * 1000 + 18 * 200 + 21 * 50 + 20 * 400) / 1650)
    assert s.p90_min == 20 and s.max_min == 55  # the longest commune time, inhabited or not
    # nobody at all: shares and weighted figures are undefined, counts still add up
    c["population"] = 0
    s0 = summary(access_from_matrix(c, _sites(), _matrix(), threshold_min=20))
    assert np.isnan(s0.mean_min) and np.isnan(s0.median_min) and s0.bands["population_share"].isna().all()
    assert s0.status["communes"].sum() == 6 and s0.commitment_met is True


def test_fractional_populations_are_not_truncated():
    c = _communes()
    c["population"] = [0.4, 1.6, 2.5, 3.0, 4.0, 5.25]
    a = access_from_matrix(c, _sites(), _matrix(), threshold_min=20)
    assert a["population"].tolist() == [0.4, 1.6, 2.5, 3.0, 4.0, 5.25]
    s = summary(a, bands=(20,))
    assert s.bands.loc[0, "population"] == 7  # A 0.4 + B 1.6 + F 5.25 = 7.25 inhabitants, rounded
    assert s.bands.loc[0, "population_share"] == pytest.approx(7.25 / 16.75)
    # whole numbers keep an integer column
    assert access_from_matrix(_communes(), _sites(), _matrix())["population"].dtype == np.int64


def test_underserved_ranking_by_population_times_excess():
    m = _matrix()
    m.loc["70004"] = [45.0, 33.0, 60.0]  # D: 300 inh. x 13 min = 3900
    m.loc["70005"] = [INF, 80.0, INF]  # E: 10 inh. x 60 min = 600
    a = access_from_matrix(_communes(), _sites(), m, threshold_min=20)
    u = underserved(a)
    assert list(u["code"]) == ["70004", "70005", "70003"]  # C: 50 x 1 = 50
    assert list(u["rank"]) == [1, 2, 3]
    assert u.iloc[0]["priority"] == pytest.approx(3900) and u.iloc[0]["excess_min"] == pytest.approx(13)
    assert list(underserved(a, threshold=30)["code"]) == ["70004", "70005"]  # 300 x 3 > 10 x 50


def test_underserved_zones_group_adjacent_communes():
    m = _matrix()
    m.loc["70004"] = [45.0, 33.0, 60.0]
    m.loc["70005"] = [INF, 80.0, INF]
    # C, D, E adjacent (a strip), F covered; add under-served A? no: A covered. B covered.
    a = access_from_matrix(_communes(), _sites(), m, threshold_min=20)
    z = underserved_zones(a)
    assert len(z) == 1
    assert sorted(z.iloc[0]["communes"].split(",")) == ["70003", "70004", "70005"]
    assert z.iloc[0]["population"] == 360 and z.iloc[0]["max_minutes"] == 80
    assert z.iloc[0]["area_km2"] == pytest.approx(3.0, rel=1e-3)
    # split the strip: E covered -> C+D one zone; make A under-served -> separate zone (not adjacent to C, D)
    m.loc["70005"] = [3.0, INF, INF]
    m.loc["70001"] = [26.0, 40.0, 50.0]
    z = underserved_zones(access_from_matrix(_communes(), _sites(), m, threshold_min=20))
    assert len(z) == 2
    assert set(z["communes"]) == {"70003,70004", "70001"} or set(z["communes"]) == {"70004,70003", "70001"}
    assert list(z["zone_id"]) == [1, 2]
    assert z.iloc[0]["priority"] >= z.iloc[1]["priority"]
    zo = coverage.zone_of(z)
    assert zo["70001"] != zo["70003"] and zo["70003"] == zo["70004"]


def test_zones_empty_when_nothing_underserved():
    m = _matrix().clip(upper=10.0)
    z = underserved_zones(access_from_matrix(_communes(), _sites(), m, threshold_min=20))
    assert len(z) == 0 and "zone_id" in z.columns


# ---------------------------------------------------------------------------------------------------------------------
# embedded data
# ---------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(study, access_70):
    return study.communes.copy(), study.sites.copy(), study.network, access_70.copy()


def test_real_every_commune_accounted_for(real):
    communes, sites, net, a = real
    assert len(a) == len(communes) == 536
    assert sorted(a["code"]) == sorted(communes["code"])
    counts = a["status"].value_counts()
    assert counts.reindex(list(coverage.STATUSES), fill_value=0).sum() == 536
    assert a["population"].sum() == communes["population"].sum()
    unreachable = a[a["status"] == "unreachable"]
    assert (unreachable["reason"] != "").all()
    reach = a[a["status"] != "unreachable"]
    assert reach["minutes"].notna().all() and (reach["minutes"] <= reach["second_minutes"]).all()
    assert ((reach["status"] == "covered") == (reach["minutes"] <= 20)).all()
    s = summary(a)
    assert s.status["communes"].sum() == 536 and s.status["population"].sum() == s.population


def test_real_shares_monotone_and_stats_ordered(real):
    a = real[3]
    s = summary(a, bands=(5, 10, 15, 20, 25, 30, 45, 60))
    assert (np.diff(s.bands["population_share"]) >= 0).all()
    assert (np.diff(s.bands["commune_share"]) >= 0).all()
    assert 0 < s.median_min <= s.p90_min <= s.max_min
    assert s.bands["population_share"].iloc[-1] <= 1.0
    # the population-weighted mean is below the plain commune mean: people live near the towns that host sites
    assert s.mean_min < a["minutes"].mean()


def test_real_host_communes_are_close_to_their_site(real):
    communes, sites, net, a = real
    own = sites[sites["in_departement"]]
    minutes, _, _ = coverage.commune_site_matrix(communes, own, net)
    t = np.array([minutes.loc[r.commune_code, str(r.id)] for r in own.itertuples()])
    assert np.median(t) <= 5 and t.max() <= 9, \
        f"host communes to their own site: median {np.median(t):.2f}, max {t.max():.2f} min"
    # and the nearest site of a host commune is at most that close
    nearest = a.set_index("code").loc[own["commune_code"], "minutes"].to_numpy()
    assert (nearest <= t + 1e-9).all()


def test_real_times_respect_the_speed_limit_bound(real):
    """No commune reaches a site faster than the straight distance at the network's top speed (x circuity)."""
    communes, sites, net, a = real
    pts = gpd.GeoSeries(gpd.points_from_xy(communes.point_lon, communes.point_lat), crs="EPSG:4326").to_crs(2154)
    sx = sites.to_crs(2154).geometry
    d = np.hypot(pts.x.to_numpy()[:, None] - sx.x.to_numpy()[None, :], pts.y.to_numpy()[:, None] - sx.y.to_numpy()[None, :])
    vmax = max(net.profile.road_class_speeds_kmh.values()) / 3.6
    bound_min = d.min(axis=1) / vmax / 60  # without circuity: a safe lower bound
    assert (a["minutes"].to_numpy() >= bound_min - 1e-9).all()


def test_real_far_from_any_site_is_underserved(real):
    communes, sites, net, _ = real
    # only one site left (Vesoul): communes 40+ km away cannot be within 20 min
    one = sites[sites["commune_name"] == "Vesoul"].head(1)
    assert len(one) == 1
    a = coverage.access_times(communes, one, net)
    pts = gpd.GeoSeries(gpd.points_from_xy(communes.point_lon, communes.point_lat), crs="EPSG:4326").to_crs(2154)
    site = one.to_crs(2154).geometry.iloc[0]
    far = pts.distance(site).to_numpy() > 40_000
    assert far.sum() > 20
    assert (a.loc[far, "status"] != "covered").all()
    zones = underserved_zones(a)
    assert zones["population"].sum() == underserved(a)["population"].sum()
    assert zones["n_communes"].sum() == (a["status"] == "underserved").sum()


def test_real_own_departement_and_kind_filters(real):
    communes, sites, net, a = real
    own = coverage.access_times(communes, sites, net, own_departement_only=True)
    assert set(own["nearest_site_departement"].dropna()) == {"70"}
    # fewer sites can only lengthen times
    both = a["minutes"].notna() & own["minutes"].notna()
    assert (own.loc[both, "minutes"].to_numpy() >= a.loc[both, "minutes"].to_numpy() - 1e-9).all()
    s = summary(a)
    assert s.neighbour_population > 0  # border communes use sites of neighbouring départements
    assert summary(own).neighbour_population == 0
    principal = coverage.access_times(communes, sites, net, kind="principal")
    assert principal.attrs["fsgeo"]["n_sites"] == int((sites["kind"] == "principal").sum())
    assert (principal["minutes"].to_numpy() >= a["minutes"].to_numpy() - 1e-9).all()
    with pytest.raises(ValueError, match="kind"):
        coverage.select_sites(sites, kind="antennas")


def test_real_as_of_before_any_site(real):
    """Before the first labellisation no site is counted: every commune is unreachable, and says why."""
    communes, sites, net, _ = real
    a = coverage.access_times(communes, sites, net, as_of="1999-01-01", kind="principal")
    assert (a["status"] == "unreachable").all() and len(a) == len(communes)
    assert set(a["reason"]) == {"no site selected: none labelled on or before 1999-01-01 (principal spaces only)"}
    s = summary(a)
    assert s.status.loc["unreachable", "population"] == s.population and s.commitment_met is False
    from fsgeo import timeline

    full = timeline.timeline(communes, sites.iloc[:3], net)
    empty = timeline.timeline(communes, sites.iloc[:0], net)
    assert len(empty) == 0 and list(empty.columns) == list(full.columns)


def test_real_nearest_matches_networkx(real):
    """Nearest-site minutes against networkx Dijkstra on the same graph (access legs from the snapping: each point
    joins its links, a virtual networkx node per commune, the best link of each site)."""
    import networkx as nx

    from fsgeo import datasets, routing

    communes, sites, net, a = real
    G = nx.DiGraph()
    e = net.edges
    for u, v, t in zip(e["u"], e["v"], e["travel_time_s"]):
        if not G.has_edge(u, v) or G[u][v]["t"] > t:
            G.add_edge(u, v, t=float(t))
    pts = datasets.demand_points(communes).set_index("code")
    cs = routing.snap_points(net, pts)
    ss = routing.snap_points(net, sites.set_index("id"))
    rng = np.random.default_rng(0)
    sample = rng.choice(len(pts), 25, replace=False)
    prof = net.profile
    pxy = pts.to_crs(2154).geometry
    sxy = sites.set_index("id").to_crs(2154).geometry
    c_links = routing._snap(net, pts, "communes", "raise")
    s_links = routing._snap(net, sites.set_index("id"), "sites", "raise")
    for i in sample:
        code = pts.index[i]
        sel = c_links.link_point == i
        for n, acc in zip(c_links.link_node[sel], c_links.link_access[sel]):
            G.add_edge("commune", int(net.node_ids[n]), t=float(acc))
        dist = nx.single_source_dijkstra_path_length(G, "commune", weight="t")
        G.remove_node("commune")
        best = np.inf
        for k, (sid, row) in enumerate(ss.iterrows()):
            ks = s_links.link_point == k
            t = min(dist.get(int(net.node_ids[n]), np.inf) + acc
                    for n, acc in zip(s_links.link_node[ks], s_links.link_access[ks]))
            d = pxy[code].distance(sxy[sid])
            gap = cs.loc[code, "snap_distance_m"] + row["snap_distance_m"]
            if prof.direct_leg and d <= max(prof.direct_leg_radius_m, gap):
                t = min(t, prof.access_s(d))
            best = min(best, t)
        got = a.set_index("code").loc[code, "minutes"]
        assert got == pytest.approx(best / 60, rel=1e-6)


# ---------------------------------------------------------------------------------------------------------------------
# a hand-built road network: known answers through snapping and routing
# ---------------------------------------------------------------------------------------------------------------------
def test_access_times_on_a_hand_built_network():
    import networkx as nx
    from shapely.geometry import Point

    from fsgeo.network import RoadNetwork

    x0, y0 = 900_000, 6_700_000
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for i in range(5):  # a straight road, a node every 10 km
        G.add_node(i, x=x0 + 10_000 * i, y=y0)
    for i in range(4):
        for a, b in ((i, i + 1), (i + 1, i)):
            G.add_edge(a, b, length=10_000.0, travel_time=600.0)  # 60 km/h: 10 min per link
    net = RoadNetwork.from_osmnx(G, weight="travel_time")
    # communes: 2 km squares centred on the nodes (demand point exactly on the node: no access leg)
    boxes = [box(x0 + 10_000 * i - 1000, y0 - 1000, x0 + 10_000 * i + 1000, y0 + 1000) for i in range(5)]
    communes = gpd.GeoDataFrame(
        {"code": [f"7000{i}" for i in range(5)], "name": list("ABCDE"), "departement": "70", "population": 100},
        geometry=boxes,
        crs="EPSG:2154",
    ).to_crs("EPSG:4326")
    pts = gpd.GeoSeries([Point(x0 + 10_000 * i, y0) for i in range(5)], crs="EPSG:2154").to_crs("EPSG:4326")
    communes["point_lon"], communes["point_lat"] = pts.x.to_numpy(), pts.y.to_numpy()
    sites = gpd.GeoDataFrame(
        {"id": ["w", "e"], "name": ["West", "East"], "departement": ["70", "25"], "kind": "principal"},
        geometry=[Point(x0, y0), Point(x0 + 40_000, y0)],
        crs="EPSG:2154",
    ).to_crs("EPSG:4326")
    a = coverage.access_times(communes, sites, net, threshold_min=15).set_index("code")
    assert a["minutes"].round(6).tolist() == [0, 10, 20, 10, 0]
    assert a["nearest_site_id"].tolist() == ["w", "w", "w", "e", "e"]  # tie at C (20 min each way): first site
    assert a["second_minutes"].round(6).tolist() == [40, 30, 20, 30, 40]
    assert a["status"].tolist() == ["covered", "covered", "underserved", "covered", "covered"]
    s = summary(a.reset_index(), bands=(5, 15, 30))
    assert s.bands["population"].tolist() == [200, 400, 500]
    assert s.neighbour_population == 200  # D and E use the site in the Doubs


# ---------------------------------------------------------------------------------------------------------------------
# timeline
# ---------------------------------------------------------------------------------------------------------------------
def test_timeline_matches_as_of_and_improves(real, monkeypatch):
    from fsgeo import timeline

    from fsgeo.matrix import TravelTimes

    communes, sites, net, _ = real
    calls = []
    orig = TravelTimes.route.__func__

    def counting(cls, *args, **kwargs):
        calls.append(1)
        return orig(cls, *args, **kwargs)

    monkeypatch.setattr(TravelTimes, "route", classmethod(counting))
    tl = timeline.timeline(communes, sites, net)
    assert len(calls) == 1  # one matrix for every date
    own_dates = sorted(set(sites.loc[sites["in_departement"], "labelled_on"]))
    assert set(own_dates) <= set(tl["date"])
    assert tl["sites_open"].is_monotonic_increasing and tl["sites_open_departement"].is_monotonic_increasing
    assert tl["sites_open_departement"].iloc[-1] == int(sites["in_departement"].sum())
    # more sites never lengthen times
    assert (tl["share_within_20"].diff().dropna() >= -1e-12).all()
    assert (tl["mean_min"].diff().dropna() <= 1e-9).all()
    # a row equals the coverage computed directly as of its date
    monkeypatch.undo()
    row = tl.iloc[2]
    direct = summary(coverage.access_times(communes, sites, net, as_of=row["date"]), bands=(20, 30))
    assert row["population_within_20"] == direct.bands["population"].iloc[0]
    assert row["mean_min"] == pytest.approx(direct.mean_min)
    assert row["sites_open"] == direct.meta["n_sites"]
