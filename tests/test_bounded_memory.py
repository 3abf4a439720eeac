"""Bounded-memory algorithms of national runs, each cross-checked against the dense / unchunked way on the embedded
study: the two nearest sites from two multi-source searches (vs the full matrix), coverage without a matrix (vs
``access_from_matrix``), catchments in chunks (vs all at once), the restricted MCLP (vs the full instance)."""

import numpy as np
import pandas as pd
import pytest

from fsgeo import coverage, routing
from fsgeo.datasets import demand_points, load_communes, load_network, load_sites
from fsgeo.network import RoadNetwork
from fsgeo.settings import settings


@pytest.fixture(scope="module")
def study():
    communes = load_communes()
    sites = load_sites()
    net = load_network()
    pts = demand_points(communes).set_axis(communes["code"].to_numpy(), axis=0)
    return communes, sites, net, pts


def _site_points(sites):
    return sites.set_axis(sites["id"].astype(str).to_numpy(), axis=0)


def _two_smallest(matrix):
    m = matrix.to_numpy(dtype=float)
    m = np.where(np.isnan(m), np.inf, m)
    part = np.sort(m, axis=1)
    first = part[:, 0] if m.shape[1] else np.full(len(m), np.inf)
    second = part[:, 1] if m.shape[1] > 1 else np.full(len(m), np.inf)
    return first, second


def _check_against_matrix(net, pts, fac, cutoff=None):
    got = routing.nearest_two(net, pts, fac, cutoff_min=cutoff, on_snap_error="nan")
    matrix = routing.travel_time_matrix(net, pts, fac, cutoff_min=cutoff, on_snap_error="nan")
    first, second = _two_smallest(matrix)
    t1 = got["minutes"].to_numpy(dtype=float)
    t2 = got["second_minutes"].to_numpy(dtype=float)
    failed = matrix.isna().all(axis=1).to_numpy() if matrix.shape[1] else np.zeros(len(pts), bool)
    assert np.isnan(t1[failed]).all()
    ok = ~failed
    np.testing.assert_allclose(t1[ok], first[ok], rtol=0, atol=1e-9)
    np.testing.assert_allclose(t2[ok], second[ok], rtol=0, atol=1e-9)
    # the named facilities have these times in the matrix, and are distinct
    for col, t in (("facility", t1), ("second_facility", t2)):
        named = got[col].to_numpy(dtype=object)
        has = ok & np.isfinite(t)
        assert got[col][has].notna().all() and got[col][ok & ~np.isfinite(t)].isna().all()
        idx = np.flatnonzero(has)
        if idx.size:
            vals = matrix.to_numpy()[idx, matrix.columns.get_indexer(named[idx])]
            np.testing.assert_allclose(vals, t[idx], rtol=0, atol=1e-9)
    both = ok & np.isfinite(t2)
    assert (got["facility"].to_numpy()[both] != got["second_facility"].to_numpy()[both]).all()
    return got


@pytest.mark.parametrize("cutoff", [None, 12.0, 25.0])
def test_nearest_two_equals_matrix_all_sites(study, cutoff):
    communes, sites, net, pts = study
    _check_against_matrix(net, pts, _site_points(sites), cutoff)


@pytest.mark.parametrize("k, seed", [(1, 0), (2, 1), (3, 2), (7, 3), (20, 4)])
def test_nearest_two_equals_matrix_random_subsets(study, k, seed):
    communes, sites, net, pts = study
    rng = np.random.default_rng(seed)
    pick = sites.iloc[np.sort(rng.choice(len(sites), size=k, replace=False))]
    _check_against_matrix(net, pts, _site_points(pick))


def test_nearest_two_shared_nodes_and_direct_legs(study):
    """Facilities snapped to the same node (a copy of a site a few metres away), and points as facilities (every
    commune point is its own nearest at 0 min, by a direct leg): the second nearest must still be another one."""
    communes, sites, net, pts = study
    fac = _site_points(sites).iloc[:30].copy()
    twin = fac.iloc[:5].copy()
    twin.index = [f"{i}-bis" for i in twin.index]
    twin = twin.set_geometry(twin.to_crs(2154).geometry.translate(15, 0).to_crs(4326))
    fac = pd.concat([fac, twin])
    _check_against_matrix(net, pts, fac)
    got = _check_against_matrix(net, pts.iloc[:80], pts.iloc[:60])
    assert (got["minutes"].to_numpy()[:60] == 0).all()


def test_nearest_two_without_direct_legs_and_unroutable_points(study):
    communes, sites, net, pts = study
    plain = RoadNetwork.from_file(settings.network_path, profile={"direct_leg": False})
    far = pts.iloc[:3].copy()
    far = far.set_geometry(far.to_crs(2154).geometry.translate(200_000, 0).to_crs(4326))
    far.index = ["far1", "far2", "far3"]
    origins = pd.concat([pts.iloc[:50], far])
    got = _check_against_matrix(plain, origins, pd.concat([_site_points(sites), far]))
    assert got.loc[["far1", "far2", "far3"], "minutes"].isna().all()


def test_access_times_equal_the_matrix_way(study):
    communes, sites, net, pts = study
    for kwargs in ({}, {"cutoff_min": 25.0}, {"as_of": "2020-01-01"}, {"kind": "principal"}):
        fast = coverage.access_times(communes, sites, net, **kwargs)
        selected = coverage.select_sites(sites, communes, kind=kwargs.get("kind", "all"), as_of=kwargs.get("as_of"))
        m, c_reasons, _ = coverage.commune_site_matrix(communes, selected, net, cutoff_min=kwargs.get("cutoff_min"))
        dense = coverage.access_from_matrix(communes, selected, m, reasons=c_reasons,
                                            cutoff_min=kwargs.get("cutoff_min"))
        for col in coverage.ACCESS_COLUMNS:
            a, b = fast[col], dense[col]
            if a.dtype.kind == "f":
                np.testing.assert_allclose(a.fillna(-1), b.fillna(-1), rtol=0, atol=1e-9, err_msg=col)
            else:
                assert (a.fillna("-").astype(str) == b.fillna("-").astype(str)).all(), (kwargs, col)
        assert fast.attrs["fsgeo"]["n_sites_routed"] == dense.attrs["fsgeo"]["n_sites_routed"]


def test_catchments_chunked_equal_unchunked(study):
    from fsgeo import catchments

    communes, sites, net, pts = study
    pick = sites.iloc[:14]
    whole = catchments.catchments(net, pick, bands=(10, 20), communes=communes, chunk_size=10_000)
    parts = list(catchments.iter_catchments(net, pick, bands=(10, 20), communes=communes, chunk_size=4))
    assert [len(p) for p in parts] == [8, 8, 8, 4]
    chunked = catchments.catchments(net, pick, bands=(10, 20), communes=communes, chunk_size=4, n_jobs=2)
    for other in (chunked, pd.concat(parts, ignore_index=True)):
        assert other[["site_id", "band_min", "population", "reason"]].equals(
            whole[["site_id", "band_min", "population", "reason"]])
        assert all(a.equals_exact(b, 0) for a, b in zip(other.geometry, whole.geometry))
    assert whole["population"].sum() > 0 and (whole["area_km2"] > 0).all()


def test_catchments_in_processes_equal_in_process(study):
    """Chunks computed by 2 worker processes give the rows of the in-process run, polygons exactly equal, in order."""
    from fsgeo import catchments

    communes, sites, net, pts = study
    pick = sites.iloc[:10]
    one = catchments.catchments(net, pick, bands=(10, 20), communes=communes, chunk_size=3)
    two = catchments.catchments(net, pick, bands=(10, 20), communes=communes, chunk_size=3, processes=2)
    assert catchments.CatchmentJob.processes_for(4, 2) == 2  # 4 chunks: the pool is really used
    assert catchments.CatchmentJob.processes_for(1, 2) == 1  # one chunk (a département's sites): in-process
    cols = [c for c in one.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(two[cols]), pd.DataFrame(one[cols]))
    assert len(one) == 20 and two.crs == one.crs and two.attrs == one.attrs
    assert all(a.equals_exact(b, 0) for a, b in zip(two.geometry, one.geometry))
    streamed = list(catchments.iter_catchments(net, pick, bands=(10, 20), communes=communes, chunk_size=3,
                                               processes=2))
    assert [len(p) for p in streamed] == [6, 6, 6, 2]


@pytest.mark.parametrize("cutoff, which", [(10.0, "communes-sites"), (20.0, "communes-communes"),
                                           (20.0, "sites-communes")])
def test_pairs_within_equal_the_matrix_entries(study, cutoff, which):
    communes, sites, net, pts = study
    sp = _site_points(sites)
    origins, dests = {"communes-sites": (pts, sp), "communes-communes": (pts.iloc[:150], pts),
                      "sites-communes": (sp, pts)}[which]
    pw = routing.pairs_within(net, origins, dests, cutoff, chunk_size=13)
    matrix = routing.travel_time_matrix(net, origins, dests, cutoff_min=cutoff, on_snap_error="nan").to_numpy()
    matrix = np.where(np.isnan(matrix), np.inf, matrix)
    got = np.full(matrix.shape, np.inf)
    got[pw["origin"], pw["destination"]] = pw["minutes"]
    assert not pw.duplicated(["origin", "destination"]).any()
    assert (np.isfinite(got) == np.isfinite(matrix)).all()
    fin = np.isfinite(got)
    assert fin.sum() > len(origins) // 3
    np.testing.assert_allclose(got[fin], matrix[fin], rtol=0, atol=1e-9)


@pytest.mark.parametrize("as_of, threshold, k", [("2020-01-01", 20.0, 5), (None, 15.0, 4), ("2019-06-01", 20.0, 3)])
def test_restricted_mclp_equals_the_full_model(study, as_of, threshold, k):
    from fsgeo import siting
    from fsgeo.siting.models import evaluate
    from fsgeo.siting.restricted import mclp_on_network

    communes, sites, net, pts = study
    selected = coverage.select_sites(sites, communes, as_of=as_of)
    cand = siting.candidates_from_communes(communes, selected)
    full = siting.rank_candidates(cand, communes, selected, net, k=k, threshold=threshold, model="mclp")
    mine = mclp_on_network(communes, selected, cand, net, k, threshold)
    assert mine.status == full.result.status == "optimal"
    assert mine.objective == pytest.approx(full.result.objective, abs=1e-6)
    assert mine.baseline == pytest.approx(full.result.baseline, abs=1e-6)
    assert mine.objective > mine.baseline
    # the restricted optimum, evaluated on the full instance, gives the same coverage
    cand_minutes = routing.travel_time_matrix(net, pts, cand.set_axis(cand["id"].to_numpy(), axis=0)).fillna(np.inf)
    inst = siting.make_instance(full.result.communes["population"], full.result.communes["minutes_before"],
                                cand_minutes, threshold)
    pos = {c: i for i, c in enumerate(inst.candidates)}
    value = evaluate(inst, inst.times_with([pos[c] for c in mine.chosen]))["population_within_threshold"]
    assert value == pytest.approx(full.result.objective, abs=1e-6)
    assert mine.extra["n_rows"] < len(communes) or as_of == "2019-06-01"
    steps = mine.steps["population_within_threshold"].to_numpy()
    assert steps[-1] == pytest.approx(mine.objective) and (np.diff(steps) > 0).all()
