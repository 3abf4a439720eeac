"""Siting: hand-solved instances, input errors, and every exact model cross-checked against spopt (PuLP/CBC)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from fsgeo.siting import LSCP, MCLP, Greedy, PCenter, PMedian, make_instance, score_candidates
from fsgeo.siting.models import set_cover

INF = math.inf
# PuLP 3 deprecation chatter from spopt's model building
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def frame(rows: dict, existing: dict, pop: dict):
    """(population, existing_minutes, candidate_minutes) from {candidate: {commune: minutes}} dictionaries."""
    codes = list(pop)
    cand = pd.DataFrame({c: [rows[c].get(code, INF) for code in codes] for c in rows}, index=codes, dtype=float)
    return pd.Series(pop, dtype=float), pd.Series(existing, dtype=float), cand


# ------------------------------------------------------------------------------------------- hand-solved instances
@pytest.fixture
def greedy_trap():
    """Threshold 20 min. c1..c6 (100 inhabitants each) are 25 min from the existing site, c7 (1000) 5 min, c8 (50)
    40 min and 50 min from every candidate. P covers c1-c3, Q covers c4-c6, R covers c2-c5 (15 min; 30 otherwise).

    Worked by hand: baseline within 20 min = 1000 (c7). k=1: R is best (+400) -> 1400. k=2: greedy takes R then P
    or Q (+100) -> 1500, but P+Q covers c1..c6 -> 1600: gap 100 = 6.25 % of 1600. LSCP: c8 can never be covered
    (excluded, reported); P+Q cover the rest with 2 sites while greedy set cover needs R, P, Q = 3.
    """
    pop = {f"c{i}": 100 for i in range(1, 7)} | {"c7": 1000, "c8": 50}
    existing = {f"c{i}": 25 for i in range(1, 7)} | {"c7": 5, "c8": 40}
    cover = {"P": [1, 2, 3], "Q": [4, 5, 6], "R": [2, 3, 4, 5]}
    rows = {c: {f"c{i}": (15 if i in ids else 30) for i in range(1, 8)} | {"c8": 50} for c, ids in cover.items()}
    return frame(rows, existing, pop)


def test_mclp_beats_greedy_on_the_trap(greedy_trap):
    r1 = MCLP(*greedy_trap, k=1, threshold=20).solve()
    assert r1.status == "optimal" and r1.chosen == ["R"] and r1.objective == 1400 and r1.baseline == 1000
    r2 = MCLP(*greedy_trap, k=2, threshold=20).solve()
    assert sorted(r2.chosen) == ["P", "Q"] and r2.objective == 1600
    assert r2.greedy_objective == 1500 and r2.gap == 100 and r2.gap_pct == pytest.approx(6.25)
    assert r2.steps["gain_population"].sum() == 600  # the per-step gains add up to the improvement
    g = Greedy(*greedy_trap, k=2, threshold=20).solve()
    assert g.chosen == ["R", "P"] and g.objective == 1500 and list(g.steps["gain_population"]) == [400, 100]
    # c8 can never be brought within 20 min: listed, with its reason
    assert list(r2.excluded["code"]) == ["c8"] and "no candidate within 20" in r2.excluded["reason"].iloc[0]
    status = r2.communes["status"]
    assert status["c7"] == "covered_before" and status["c1"] == "newly_covered" and status["c8"] == "under_served"
    assert r2.communes.loc["c1", "served_by"] == "P" and r2.communes.loc["c7", "served_by"] == "existing"


def test_lscp_reports_uncoverable_and_needs_two(greedy_trap):
    r = LSCP(*greedy_trap, threshold=20).solve()
    assert r.status == "optimal" and sorted(r.chosen) == ["P", "Q"] and r.objective == 2 and r.k == 2
    assert r.greedy_objective == 3 and r.gap == 1
    assert r.extra["uncoverable_codes"] == ["c8"] and "c8" in r.message and "excluded" in r.message
    # once P reaches c8 within 18 min nothing is excluded, and P+Q still suffice
    pop, existing, cand = greedy_trap
    cand = cand.copy()
    cand.loc["c8", "P"] = 18
    r18 = LSCP(pop, existing, cand, threshold=20).solve()
    assert r18.objective == 2 and r18.excluded.empty and r18.communes.loc["c8", "served_by"] == "P"


def test_scores_of_each_candidate(greedy_trap):
    s = score_candidates(*greedy_trap, threshold=20)
    assert list(s.index) == ["R", "P", "Q"] and list(s["rank"]) == [1, 2, 3]
    r = s.loc["R"]
    assert r.gain_population == 400 and r.resolved_communes == 4
    # R takes over c2..c5 (15 < 25); c1, c6 stay at 25 with the existing site, the worst commune stays c8 at 40
    assert r.takeover_codes == ["c2", "c3", "c4", "c5"] and r.takeover_population == 400
    assert r.max_minutes_after == 40 and r.max_minutes_before == 40
    # person-minutes saved: 4 communes x 100 inhabitants x 10 min
    assert r.weighted_minutes_saved == 4000
    total = 1600 + 50
    assert r.mean_reduction_min == pytest.approx(4000 / total)
    # P and Q tie on every score: input order decides
    assert s.loc["P", "gain_population"] == s.loc["Q", "gain_population"] == 300


@pytest.fixture
def line():
    """Four communes of 1 inhabitant, existing site 100 min away. M is 12 min from all; L is 2 min from a, b and
    50 from c, d; R the mirror image. By hand: k=1 -> M for both p-median (48) and p-center (12). k=2 -> L+R
    (total 8, max 2) while greedy starts with M and then adds L: total 2+2+12+12 = 28, max 12."""
    pop = {c: 1 for c in "abcd"}
    rows = {"M": dict.fromkeys("abcd", 12), "L": {"a": 2, "b": 2, "c": 50, "d": 50},
            "R": {"a": 50, "b": 50, "c": 2, "d": 2}}
    return frame(rows, dict.fromkeys("abcd", 100), pop)


def test_pmedian_and_pcenter_by_hand(line):
    pm1, pc1 = PMedian(*line, k=1).solve(), PCenter(*line, k=1).solve()
    assert pm1.chosen == ["M"] and pm1.objective == 48 and pc1.chosen == ["M"] and pc1.objective == 12
    pm2, pc2 = PMedian(*line, k=2).solve(), PCenter(*line, k=2).solve()
    assert sorted(pm2.chosen) == ["L", "R"] and pm2.objective == 8 and pm2.baseline == 400
    assert pm2.greedy_objective == 28 and pm2.gap == 20 and pm2.gap_pct == pytest.approx(250)
    assert sorted(pc2.chosen) == ["L", "R"] and pc2.objective == 2 and pc2.greedy_objective == 12 and pc2.gap == 10
    g = Greedy(*line, k=2, objective="pcenter").solve()
    assert g.chosen == ["M", "L"] and g.objective == 12


def test_pcenter_breaks_ties_by_total_time():
    """a, b, c (10, 20, 30 inhabitants), existing 30 min. X (5, 25, 40), Y (40, 10, 20), Z (20, 20, 5).
    k=2: every pair has max 20 (XY: 5,10,20; XZ: 5,20,5; YZ: 20,10,5) -> p-center 20; among them YZ has the least
    person-minutes (200+200+150 = 550 < XZ 600 < XY 850), which is also the p-median optimum."""
    pop = {"a": 10, "b": 20, "c": 30}
    rows = {"X": {"a": 5, "b": 25, "c": 40}, "Y": {"a": 40, "b": 10, "c": 20}, "Z": {"a": 20, "b": 20, "c": 5}}
    inputs = frame(rows, dict.fromkeys(pop, 30), pop)
    pc = PCenter(*inputs, k=2).solve()
    assert pc.objective == 20 and sorted(pc.chosen) == ["Y", "Z"] and pc.chosen[0] == "Z"  # Z alone already 20
    pm = PMedian(*inputs, k=2).solve()
    assert pm.objective == 550 and sorted(pm.chosen) == ["Y", "Z"]
    assert PMedian(*inputs, k=1).solve().objective == 750  # Z: 200 + 400 + 150


def test_existing_sites_are_fixed():
    """c1 (100) is already 5 min from a site; c2 (60) and c3 (50) 30 min. A only helps c1, B c2, C c3.
    Ignoring the existing site MCLP k=1 would pick A; with it, A gains nothing and B (+60) wins: 160 covered."""
    pop = {"c1": 100, "c2": 60, "c3": 50}
    rows = {"A": {"c1": 3}, "B": {"c2": 10}, "C": {"c3": 10}}
    inputs = frame(rows, {"c1": 5, "c2": 30, "c3": 30}, pop)
    r = MCLP(*inputs, k=1, threshold=20).solve()
    assert r.chosen == ["B"] and r.objective == 160 and r.baseline == 100
    # with k=3 only B and C add coverage: A is not listed, and the message says why
    r3 = MCLP(*inputs, k=3, threshold=20).solve()
    assert r3.chosen == ["B", "C"] and "only 2 new sites improve" in r3.message
    # p-median k=1: B saves 60 x 20 = 1200 person-minutes, C 50 x 20 = 1000, A 100 x 2 = 200
    assert PMedian(*inputs, k=1).solve().chosen == ["B"]
    s = score_candidates(*inputs, threshold=20)
    assert s.loc["A", "gain_population"] == 0 and s.loc["A", "takeover_codes"] == ["c1"]


def test_unreachable_communes_need_new_sites():
    """u1 and u2 have no existing site in reach; X reaches only u1, Y only u2; w is near the existing site.
    p-median / p-center with k=1 cannot serve both: infeasible, named. k=2 opens both. z reaches nothing at all:
    excluded as unreachable everywhere."""
    pop = {"u1": 10, "u2": 10, "w": 10, "z": 5}
    rows = {"X": {"u1": 10, "w": 30}, "Y": {"u2": 15}}
    inputs = frame(rows, {"u1": INF, "u2": INF, "w": 5, "z": INF}, pop)
    for model in (PMedian, PCenter):
        r = model(*inputs, k=1).solve()
        assert r.status == "infeasible" and math.isnan(r.objective) and r.chosen == []
        assert "u1" in r.message and "u2" in r.message
        ok = model(*inputs, k=2).solve()
        assert ok.status == "optimal" and sorted(ok.chosen) == ["X", "Y"]
        assert list(ok.excluded["code"]) == ["z"] and "unreachable" in ok.excluded["reason"].iloc[0]
    assert PCenter(*inputs, k=2).solve().objective == 15
    assert PMedian(*inputs, k=2).solve().objective == 10 * 10 + 10 * 15 + 10 * 5
    s = score_candidates(*inputs, threshold=20)
    assert s.loc["X", "newly_reachable_population"] == 10 and s.loc["X", "max_minutes_after"] == INF


def test_exactly_at_the_threshold_is_covered():
    """Like coverage (minutes <= threshold is covered): a at exactly 20 min of the existing site counts as covered,
    X brings b to exactly 20 min (a gain), c at 20.000001 min of Y stays beyond (LSCP excludes it)."""
    inputs = frame({"X": {"a": 30, "b": 20}, "Y": {"c": 20.000001}}, {"a": 20, "b": 25, "c": 30},
                   {"a": 10, "b": 20, "c": 5})
    r = MCLP(*inputs, k=1, threshold=20).solve()
    assert r.baseline == 10 and r.objective == 30 and r.chosen == ["X"]
    assert r.communes["status"].to_dict() == {"a": "covered_before", "b": "newly_covered", "c": "under_served"}
    lscp = LSCP(*inputs, threshold=20).solve()
    assert lscp.chosen == ["X"] and list(lscp.excluded["code"]) == ["c"]
    s = score_candidates(*inputs, threshold=20)
    assert s.loc["X", "gain_population"] == 20 and s.loc["Y", "gain_population"] == 0


def test_greedy_weighs_the_time_of_communes_it_newly_reaches():
    """No existing site in reach (a date before any site opened): a, b, c (1 inhabitant each) are 50 min from far
    X and 1 min from near Y. Both reach everyone, so only their times tell them apart: greedy k=1 must open Y for
    p-median (total 3 vs 150) and for coverage at 60 min (same coverage, less time), like the exact models."""
    inputs = frame({"X": dict.fromkeys("abc", 50), "Y": dict.fromkeys("abc", 1)}, dict.fromkeys("abc", INF),
                   dict.fromkeys("abc", 1))
    pm = PMedian(*inputs, k=1).solve()
    assert pm.chosen == ["Y"] and pm.objective == 3
    assert pm.greedy_objective == 3 and pm.gap == 0
    assert Greedy(*inputs, k=1, objective="pmedian").solve().chosen == ["Y"]
    assert Greedy(*inputs, k=1, threshold=60).solve().chosen == ["Y"]
    assert Greedy(*inputs, k=1, objective="pcenter").solve().chosen == ["Y"]


def test_k_zero_too_large_and_no_candidates(greedy_trap):
    pop, existing, cand = greedy_trap
    for model in (MCLP, PMedian, PCenter, Greedy):
        r0 = model(pop, existing, cand, k=0, threshold=20).solve()
        assert r0.chosen == [] and r0.objective == r0.baseline
        empty = model(pop, existing, cand.iloc[:, :0], k=2, threshold=20).solve()
        assert empty.chosen == [] and empty.objective == empty.baseline and "exceeds the 0 candidates" in empty.message
    big = MCLP(pop, existing, cand, k=10, threshold=20).solve()
    assert big.objective == 1600 and "k = 10 exceeds the 3 candidates" in big.message
    assert LSCP(pop, existing, cand.iloc[:, :0], threshold=20).solve().extra["uncoverable_codes"] == [
        "c1", "c2", "c3", "c4", "c5", "c6", "c8"]


def test_input_errors_name_the_culprit(greedy_trap):
    pop, existing, cand = greedy_trap
    bad = cand.copy()
    bad.loc["c3", "Q"] = np.nan
    with pytest.raises(ValueError, match=r"candidate\(s\) Q.*commune\(s\) c3"):
        MCLP(pop, existing, bad, k=1)
    with pytest.raises(ValueError, match=r"existing_minutes is NaN for commune\(s\) c2"):
        MCLP(pop, existing.replace({25: np.nan}).where(existing.index != "c1", 25), cand)
    with pytest.raises(ValueError, match=r"candidate_minutes lacks commune\(s\) c8"):
        score_candidates(pop, existing, cand.drop(index="c8"))
    dup = pd.concat([cand, cand[["P"]]], axis=1)
    with pytest.raises(ValueError, match=r"duplicated candidate id\(s\) P"):
        make_instance(pop, existing, dup)
    neg = cand.copy()
    neg.loc["c1", "R"] = -1.0
    with pytest.raises(ValueError, match=r"candidate_minutes: negative time -1.0 from commune c1 to candidate R"):
        make_instance(pop, existing, neg)
    with pytest.raises(ValueError, match=r"population must be.*c2"):
        make_instance(pop.where(pop.index != "c2", np.nan), existing, cand)
    with pytest.raises(ValueError, match="no communes"):
        make_instance(pop.iloc[:0], existing, cand)
    with pytest.raises(ValueError, match="k must be"):
        MCLP(pop, existing, cand, k=-1)
    with pytest.raises(ValueError, match="k must be"):
        MCLP(pop, existing, cand, k=1.5)
    with pytest.raises(ValueError, match="threshold"):
        MCLP(pop, existing, cand, k=1, threshold=0)
    with pytest.raises(ValueError, match="unknown objective"):
        Greedy(pop, existing, cand, objective="fastest")


def test_result_is_json_ready(greedy_trap):
    d = MCLP(*greedy_trap, k=2, threshold=20).solve().to_dict()
    text = json.dumps(d)
    assert json.loads(text)["chosen"] in (["P", "Q"], ["Q", "P"]) and d["objective"] == 1600


# --------------------------------------------------------------------------------- cross-check against spopt / CBC
pulp = pytest.importorskip("pulp")
spopt_locate = pytest.importorskip("spopt.locate")


def random_inputs(seed: int, n=24, m=14, n_sites=2, integer=True, cutoff=None):
    """Communes, candidates and existing sites scattered on a 60 x 60 km square; minutes = 1.3 x distance (km)
    (rounded to whole minutes with ``integer`` so that ties happen), ``inf`` beyond ``cutoff``."""
    rng = np.random.default_rng(seed)
    xy, cxy, sxy = (rng.uniform(0, 60, (k, 2)) for k in (n, m, n_sites))
    dist = lambda a, b: 1.3 * np.linalg.norm(a[:, None] - b[None], axis=2)  # noqa: E731
    D, E = dist(xy, cxy), dist(xy, sxy).min(axis=1)
    if integer:
        D, E = np.round(D), np.round(E)
    if cutoff is not None:
        D[D > cutoff], E[E > cutoff] = INF, INF
    codes = [f"{70000 + i}" for i in range(n)]
    pop = pd.Series(rng.integers(1, 2000, n).astype(float), index=codes)
    return pop, pd.Series(E, index=codes), pd.DataFrame(D, index=codes, columns=[f"k{j}" for j in range(m)])


def spopt_objective(model: str, pop, existing, cand, k: int, threshold: float) -> float:
    """The same instance in spopt: the existing sites as one extra facility column forced open (predefined)."""
    full = np.column_stack([existing.to_numpy(), cand.to_numpy()])
    pre = np.r_[1, np.zeros(cand.shape[1], dtype=int)]
    solver = pulp.PULP_CBC_CMD(msg=False)
    w = pop.to_numpy()
    if model == "mclp":
        prob = spopt_locate.MCLP.from_cost_matrix(full, w, threshold, k + 1, predefined_facilities_arr=pre)
    elif model == "lscp":
        prob = spopt_locate.LSCP.from_cost_matrix(full, threshold, predefined_facilities_arr=pre)
    elif model == "pmedian":
        prob = spopt_locate.PMedian.from_cost_matrix(full, w, k + 1, predefined_facilities_arr=pre)
    else:
        prob = spopt_locate.PCenter.from_cost_matrix(full, k + 1, predefined_facilities_arr=pre)
    prob.solve(solver)
    value = pulp.value(prob.problem.objective)
    return value - 1 if model == "lscp" else value  # spopt counts the forced existing column


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("model", ["mclp", "pmedian", "pcenter"])
def test_same_optimum_as_spopt(model, seed):
    inputs = random_inputs(seed)
    k = 1 + seed  # 1 and 2: exact enumeration for MCLP; 3 and 4: the MILP
    cls = {"mclp": MCLP, "pmedian": PMedian, "pcenter": PCenter}[model]
    res = cls(*inputs, k=k, threshold=15).solve()
    assert res.status == "optimal"
    assert res.objective == pytest.approx(spopt_objective(model, *inputs, k, 15), rel=1e-9, abs=1e-6)
    # greedy never beats the optimum
    if model == "mclp":
        assert res.greedy_objective <= res.objective
    else:
        assert res.greedy_objective >= res.objective - 1e-9
    assert len(res.chosen) <= k


@pytest.mark.parametrize("seed", range(4))
def test_lscp_same_optimum_as_spopt(seed):
    pop, existing, cand = random_inputs(seed, cutoff=45)
    res = LSCP(pop, existing, cand, threshold=12).solve()
    # spopt has no notion of excluded communes (its model would be infeasible): give it the coverable ones only
    keep = ~pop.index.isin(res.excluded["code"])
    assert res.objective == spopt_objective("lscp", pop[keep], existing[keep], cand[keep], 0, 12)
    assert res.greedy_objective >= res.objective
    times = res.communes["minutes_after"]
    assert (times[keep] <= 12).all()  # every non-excluded commune is covered


def test_mclp_with_cutoff_same_as_spopt():
    inputs = random_inputs(7, n=30, m=20, integer=False, cutoff=40)
    res = MCLP(*inputs, k=3, threshold=20).solve()
    assert res.objective == pytest.approx(spopt_objective("mclp", *inputs, 3, 20))


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), k=st.integers(0, 4), threshold=st.sampled_from([8.0, 15.0, 25.0]))
def test_greedy_never_beats_the_optimum(seed, k, threshold):
    inputs = random_inputs(seed, n=15, m=9, n_sites=1)
    inst = make_instance(*inputs, threshold=threshold)
    mclp = MCLP.from_instance(inst, k=k).solve()
    pmed = PMedian.from_instance(inst, k=k).solve()
    pcen = PCenter.from_instance(inst, k=k).solve()
    assert Greedy.from_instance(inst, k=k).solve().objective <= mclp.objective
    assert Greedy.from_instance(inst, k=k, objective="pmedian").solve().objective >= pmed.objective - 1e-6
    assert Greedy.from_instance(inst, k=k, objective="pcenter").solve().objective >= pcen.objective
    # more sites never hurt, and the optimum is never worse than the existing sites alone
    assert mclp.objective >= mclp.baseline and pmed.objective <= pmed.baseline and pcen.objective <= pcen.baseline
    if k < 4:
        assert MCLP.from_instance(inst, k=k + 1).solve().objective >= mclp.objective
    # the objective reported matches the times of the chosen set
    assert pcen.objective == pcen.communes["minutes_after"].max()
    assert pmed.objective == pytest.approx((pmed.communes["population"] * pmed.communes["minutes_after"]).sum())


def test_time_limit_never_returns_worse_than_greedy():
    """With a time limit too short for HiGHS, every model still returns a feasible set at least as good as greedy,
    with status time_limit (not optimal) and a message saying so."""
    inputs = random_inputs(0, n=300, m=200, integer=False)
    for cls in (MCLP, PMedian, PCenter):
        r = cls(*inputs, k=6, threshold=10, time_limit_s=1e-3).solve()
        assert r.status in ("time_limit", "optimal") and len(r.chosen) <= 6
        better_or_equal = r.objective >= r.greedy_objective if cls is MCLP else r.objective <= r.greedy_objective
        assert better_or_equal and np.isfinite(r.objective)
        if r.status == "time_limit":
            assert "time limit" in r.message.lower()
    lscp = LSCP(*inputs, threshold=8, time_limit_s=1e-3).solve()
    assert lscp.objective <= lscp.greedy_objective and lscp.status in ("time_limit", "optimal")
    covered = lscp.communes["minutes_after"] <= 8
    assert covered[~lscp.communes.index.isin(lscp.excluded["code"])].all()


def test_set_cover_helper_merges_duplicates():
    A = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=bool)
    status, chosen, n_var, n_con, _ = set_cover(A)
    assert status == "optimal" and list(chosen) == [0, 2] and n_var == 2 and n_con == 2


# ---------------------------------------------------------------------------------------------- candidates, antennas
from fsgeo.io import InputError  # noqa: E402
from fsgeo.siting import attach_antennas, candidates_from_communes, read_candidates  # noqa: E402


@pytest.fixture(scope="module")
def communes(study):
    return study.communes.copy()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_candidates_csv_codes_and_coordinates(tmp_path, communes):
    path = write(tmp_path, "c.csv", "name;insee;lat;lon;kind;parent\n"
                                    "Mairie;70292;;;;\n;70013;;;Antenne;\nSalle;;47,62;6,15;;2494\n")
    c = read_candidates(path, communes)
    assert list(c["id"]) == ["1", "2", "3"] and c.crs == "EPSG:4326"
    jussey = communes.set_index("code").loc["70292"]
    # a code-only row sits at the commune's demand point; a nameless one takes the commune's name
    assert (c.loc[0, "lon"], c.loc[0, "lat"]) == (jussey["point_lon"], jussey["point_lat"])
    assert c.loc[1, "name"] == communes.set_index("code").loc["70013", "name"] and c.loc[1, "kind"] == "antenna"
    # a lat/lon row gets its commune by point-in-polygon (Vesoul), and a parent makes it an antenna
    assert c.loc[2, "commune_code"] == "70550" and c.loc[2, "kind"] == "antenna" and c.loc[2, "parent_id"] == "2494"
    assert c.loc[0, "parent_id"] is None and c.loc[0, "kind"] == "principal"


def test_read_candidates_geo_files_reprojected(tmp_path, communes):
    import geopandas as gpd
    from shapely.geometry import Point

    gdf = gpd.GeoDataFrame({"id": ["x", "y"], "name": ["X", "Y"]},
                           geometry=[Point(6.15, 47.62), Point(5.60, 47.45)], crs="EPSG:4326").to_crs("EPSG:2154")
    gdf.to_file(tmp_path / "c.gpkg", layer="candidates")
    gdf.to_file(tmp_path / "c.geojson")
    for name in ("c.gpkg", "c.geojson"):
        c = read_candidates(tmp_path / name, communes)
        assert list(c["id"]) == ["x", "y"] and c.loc[0, "lon"] == pytest.approx(6.15) and c.crs == "EPSG:4326"
        assert c.loc[0, "commune_code"] == "70550"


@pytest.mark.parametrize("text, message", [
    ("id,insee\nA,99999\n", r"c.csv: row 1 \(id 'A'\): unknown commune code '99999'"),
    ("id,lat,lon\nA,47.6,6.1\nA,47.7,6.2\n", r"duplicate id 'A'"),
    ("id,lat,lon\nA,6.1,47.6\n", r"row 1 \(id 'A'\).*latitude and longitude look swapped"),
    ("id,lat,lon\nA,6750000,930000\n", r"row 1 \(id 'A'\).*projected metres"),
    ("id,lat,lon,kind\nA,47.6,6.1,kiosk\n", r"row 1 \(id 'A'\): unknown kind 'kiosk'"),
    ("id,lat,lon,kind,parent\nA,47.6,6.1,principal,2494\n", r"row 1 \(id 'A'\): parent '2494' given for a principal"),
    ("id,name\nA,x\n", r"needs 'lat'/'lon'"),
    ("id,lat,lon\nA,,\n", r"row 1 \(id 'A'\): missing"),
])
def test_read_candidates_errors_name_file_and_row(tmp_path, communes, text, message):
    with pytest.raises(InputError, match=message):
        read_candidates(write(tmp_path, "c.csv", text), communes)


def test_read_candidates_missing_or_unsupported(tmp_path, communes):
    with pytest.raises(InputError, match="file not found"):
        read_candidates(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="unsupported candidates file type"):
        read_candidates(write(tmp_path, "c.xlsx", "x"), communes)
    with pytest.raises(TypeError, match="read_candidates: communes is required"):  # never the embedded ones
        read_candidates(write(tmp_path, "c.csv", "name;lat;lon\nA;47.6;6.1\n"))


def test_candidates_from_communes_skips_hosts_and_small(communes):
    from fsgeo.datasets import load_sites

    sites = load_sites()
    c = candidates_from_communes(communes, sites, min_population=500)
    hosts = set(sites["commune_code"])
    assert not set(c["id"]) & hosts and (c["id"] == c["commune_code"]).all()
    pop = communes.set_index("code")["population"]
    assert (pop[c["id"]] >= 500).all()
    expected = communes[~communes["code"].isin(hosts) & (communes["population"] >= 500)]
    assert len(c) == len(expected)
    info = c.attrs["fsgeo"]
    assert info["hosting_site"] + info["below_min_population"] + len(c) == len(communes)
    with pytest.raises(InputError, match="min_population"):
        candidates_from_communes(communes, sites, min_population=-1)


def test_attach_antennas_declared_nearest_and_none():
    chosen = pd.DataFrame({"id": ["a1", "a2", "p1", "a3"], "kind": ["antenna", "antenna", "principal", "antenna"],
                           "parent_id": [None, "S2", None, None]})
    minutes = pd.DataFrame({"S1": [7.0, 3.0, INF], "S2": [9.0, 12.0, INF]}, index=["a1", "a2", "a3"])
    out = attach_antennas(chosen, minutes, {"S1": "Space one", "S2": "Space two"})
    # a1: nearest S1 (7 < 9); a2: declared S2 even though S1 is nearer; p1: a principal space, no parent
    assert out.loc[0, ["parent_id", "parent_name", "parent_minutes", "parent_source"]].tolist() == [
        "S1", "Space one", 7.0, "nearest"]
    assert out.loc[1, ["parent_id", "parent_minutes", "parent_source"]].tolist() == ["S2", 12.0, "declared"]
    assert out.loc[2, "parent_id"] is None and out.loc[2, "parent_source"] is None
    assert out.loc[3, "parent_id"] is None and out.loc[3, "parent_source"] == "none"
    with pytest.raises(ValueError, match="declared parent 'S9'"):
        attach_antennas(chosen.assign(parent_id=[None, "S9", None, None]), minutes)


# ------------------------------------------------------------------------------ rank_candidates on the embedded data
@pytest.fixture(scope="module")
def real(study):
    return {"communes": study.communes.copy(), "sites": study.sites.copy(), "network": study.network}


def test_rank_candidates_agrees_with_coverage(real):
    """The optimum MCLP reports must be what the coverage analysis finds once the chosen sites exist."""
    from fsgeo import coverage
    from fsgeo.siting import rank_candidates
    from fsgeo.siting.api import CHOSEN_COLUMNS

    cands = candidates_from_communes(real["communes"], real["sites"], min_population=300)
    res = rank_candidates(cands, k=3, threshold=12, model="mclp", **real)
    assert res.result.status == "optimal" and 1 <= len(res.chosen) <= 3 and list(res.chosen.columns) == CHOSEN_COLUMNS
    assert res.objective >= res.result.greedy_objective and res.objective > res.result.baseline
    before = coverage.access_times(real["communes"], real["sites"], real["network"], threshold_min=12)
    assert res.result.baseline == before.loc[before["status"] == "covered", "population"].sum()
    new = res.chosen.assign(kind="principal", departement="70", in_departement=True, labelled_on=None)
    new = gpd_points(new)
    both = pd.concat([real["sites"], new[["id", "name", "kind", "departement", "in_departement", "labelled_on",
                                          "commune_code", "geometry"]]], ignore_index=True)
    after = coverage.access_times(real["communes"], both, real["network"], threshold_min=12)
    assert res.objective == after.loc[after["status"] == "covered", "population"].sum()
    assert res.chosen["gain_population"].sum() == res.objective - res.result.baseline
    # scores: one row per candidate, ranked, chosen ones flagged
    assert len(res.scores) == len(cands) and list(res.scores["rank"]) == list(range(1, len(cands) + 1))
    assert set(res.scores.loc[res.scores["chosen_rank"].notna(), "id"]) == set(res.chosen["id"])
    json.dumps(res.to_dict())  # JSON-ready
    # the one result type: candidates with their points, the chosen ones flagged, JSON-ready without NaN
    result = res.as_result()
    assert result.kind == "siting" and result.table.crs == "EPSG:4326" and len(result.table) == len(cands)
    assert result.summary()["chosen"] == list(res.chosen["id"]) and result.summary()["status"] == "optimal"
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["records"][0]["rank"] == 1


def gpd_points(frame):
    import geopandas as gpd

    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")


def test_rank_antennas_attached_to_nearest_principal(real, tmp_path):
    from fsgeo import coverage, routing
    from fsgeo.siting import rank_candidates

    path = write(tmp_path, "c.csv", "id,name,insee,lat,lon,kind,parent\nB,Rosey,70452,,,antenna,\n"
                                    "C,Salle,,47.62,6.15,antenna,2494\nP,Jussey,70292,,,principal,\n")
    res = rank_candidates(path, k=3, threshold=12, model="greedy", **real)
    chosen = res.chosen.set_index("id")
    assert "B" in chosen.index and "C" in chosen.index
    principals = coverage.select_sites(real["sites"], real["communes"], kind="principal")
    cand = res.candidates.set_index("id")
    times = routing.travel_time_matrix(real["network"], cand.loc[["B"]], principals.set_index("id"))
    assert chosen.loc["B", "parent_id"] == times.loc["B"].idxmin() and chosen.loc["B", "parent_source"] == "nearest"
    assert chosen.loc["B", "parent_minutes"] == pytest.approx(times.loc["B"].min())
    assert chosen.loc["C", "parent_id"] == "2494" and chosen.loc["C", "parent_source"] == "declared"
    if "P" in chosen.index:
        assert chosen.loc["P", "parent_id"] is None
    bad = write(tmp_path, "bad.csv", "id,insee,parent\nX,70013,9999\n")
    with pytest.raises(InputError, match="candidate 'X': parent '9999' is not an existing principal space"):
        rank_candidates(bad, **real)
    # a parent that exists but cannot run the antenna: the error says why
    for parent, options, why in (
        ("682", {}, "parent '682' is an antenna, not a principal space"),
        ("583", {"own_departement_only": True}, "parent '583' is a principal space of département 52, left out by "
                                                "own_departement_only"),
        ("3200", {"as_of": "2023-01-01"}, "parent '3200' was labelled on 2023-12-08, after 2023-01-01"),
    ):
        path = write(tmp_path, "p.csv", f"id,insee,parent\nX,70013,{parent}\n")
        with pytest.raises(InputError, match=f"candidate 'X': {why}"):
            rank_candidates(path, **options, **real)


def test_rank_unplaced_candidates_are_reported(real, tmp_path):
    from fsgeo.siting import rank_candidates

    # Marseille is in France but far from the Haute-Saône network
    path = write(tmp_path, "c.csv", "id,name,lat,lon\nfar,Marseille,43.2965,5.3698\nnear,Vesoul,47.62,6.15\n")
    with pytest.raises(InputError, match="cannot be placed on the road network: candidate 'far'"):
        rank_candidates(path, **real)
    res = rank_candidates(path, on_unplaced="skip", k=1, threshold=12, **real)
    assert list(res.unplaced["id"]) == ["far"] and "m away" in res.unplaced["reason"].iloc[0]
    assert list(res.scores["id"]) == ["near"]


def test_rank_as_of_uses_the_sites_of_that_date(real):
    from fsgeo.siting import rank_candidates

    cands = candidates_from_communes(real["communes"], real["sites"], min_population=2000)
    now = rank_candidates(cands, k=1, threshold=15, **real)
    early = rank_candidates(cands, k=1, threshold=15, as_of="2020-06-30", **real)
    assert early.result.baseline < now.result.baseline  # fewer spaces in mid-2020
    assert early.meta["n_sites"] < now.meta["n_sites"]


def test_a_new_model_registers_itself_and_rank_candidates_uses_it():
    """One class with the decorator is all a new model needs: the registry lists it and builds it."""
    from fsgeo.siting import registry
    from fsgeo.siting.models import Greedy

    @registry.register_model("test_first", title="first candidate", objective="coverage", options=("k",))
    class First(Greedy):
        def _solve(self):
            return self._result([0], "heuristic", "", keep_all=True)

    try:
        spec = registry.model_spec("test_first")
        assert spec.cls is First and spec.title == "first candidate" and First.name == "test_first"
        inst = make_instance(pd.Series([10.0, 5.0], index=["a", "b"]), pd.Series([30.0, 30.0], index=["a", "b"]),
                             pd.DataFrame({"X": [5.0, 50.0], "Y": [50.0, 5.0]}, index=["a", "b"]), 20.0)
        res = spec.build(inst, k=1, objective="ignored", time_limit_s=None).solve()
        assert res.model == "test_first" and res.chosen == ["X"]
        with pytest.raises(ValueError, match="already registered"):
            registry.register_model("greedy", title="x", objective="coverage")(type("Other", (Greedy,), {}))
    finally:
        registry._REGISTRY.pop("test_first", None)
    with pytest.raises(ValueError, match="unknown model 'test_first'"):
        registry.model_spec("test_first")
