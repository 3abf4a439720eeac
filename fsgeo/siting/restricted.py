"""Exact maximal covering on large (national) studies, restricted to what the new sites can change.

The MCLP objective -- inhabitants within ``threshold`` minutes of a site, the existing ones kept open -- depends only
on the communes that are beyond the threshold today and on which candidates bring each of them within it. So the
instance is built from those pairs alone (:func:`fsgeo.routing.pairs_within`: searches limited to the threshold,
chunked, never a communes x candidates matrix with unlimited times) and solved by the same :class:`MCLP` model; the
communes already within the threshold add a constant. The optimum is the unrestricted model's (same objective; the
same sites when the optimum is unique), at a fraction of the memory and time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsgeo.siting.instance import make_instance, resolve_threshold
from fsgeo.siting.models import MCLP, SitingResult


def restricted_instance(population, existing_minutes, pairs, candidates, threshold=None):
    """The MCLP instance of the communes beyond the threshold and the candidates that reach one of them within it.

    Parameters
    ----------
    population : pandas.Series
        Inhabitants per commune, indexed by commune code (every commune of the study).
    existing_minutes : pandas.Series
        Minutes to the nearest existing site per commune (``inf`` when none), same index.
    pairs : pandas.DataFrame
        ``code`` (commune), ``candidate`` (id), ``minutes``: the commune -> candidate times within the threshold
        (others are ignored).
    candidates : sequence of str
        Every candidate id (the order of ties).
    threshold : float, optional
        Minutes (default ``settings.threshold_min``).

    Returns
    -------
    (instance, covered_population)
        The restricted :class:`~fsgeo.siting.instance.Instance` (times beyond the threshold are ``inf``: they cannot
        change the objective) and the inhabitants already within the threshold.
    """
    threshold = resolve_threshold(threshold)
    pop = pd.Series(population, dtype=float)
    pop.index = pop.index.astype(str)
    existing = pd.Series(existing_minutes, dtype=float).reindex(pop.index)
    covered = existing <= threshold
    need = ~covered & (pop > 0)
    p = pairs[pairs["minutes"] <= threshold]
    p = p[p["code"].astype(str).isin(pop.index[need])]
    codes = pd.Index(sorted(set(p["code"].astype(str))), dtype=object)
    order = {c: i for i, c in enumerate(map(str, candidates))}
    cols = sorted(set(p["candidate"].astype(str)), key=order.__getitem__)
    m = np.full((len(codes), len(cols)), np.inf)
    if len(p):
        ri = codes.get_indexer(p["code"].astype(str))
        ci = pd.Index(cols).get_indexer(p["candidate"].astype(str))
        np.minimum.at(m, (ri, ci), p["minutes"].to_numpy(dtype=float))
    if not len(codes):  # nothing can change: one commune without candidates keeps the instance valid
        codes = pd.Index(["-"], dtype=object)
        m = np.full((1, 0), np.inf)
        inst = make_instance(pd.Series([0.0], index=codes), pd.Series([np.inf], index=codes),
                             pd.DataFrame(m, index=codes), threshold)
    else:
        inst = make_instance(pop.reindex(codes), existing.reindex(codes).fillna(np.inf),
                             pd.DataFrame(m, index=codes, columns=cols), threshold)
    return inst, float(pop[covered].sum())


def solve_restricted(model, covered: float) -> SitingResult:
    """Solve ``model`` (a location model built on a :func:`restricted_instance`) and shift its populations within
    the threshold by ``covered``, the inhabitants already within it, so that they read as for the whole study; see
    :func:`mclp_restricted`."""
    inst = model.instance
    res = model.solve()
    res.objective = float(res.objective) + covered
    res.baseline = float(res.baseline) + covered
    if res.greedy_objective is not None:
        res.greedy_objective = float(res.greedy_objective) + covered
    steps = res.steps.copy()
    if len(steps):
        steps["population_within_threshold"] = steps["population_within_threshold"] + covered
        steps["objective"] = steps["objective"] + covered
        steps["mean_minutes"] = np.nan
        steps["max_minutes"] = np.nan
    res.steps = steps
    res.excluded = res.excluded[res.excluded["code"] != "-"].reset_index(drop=True)
    res.communes = res.communes[res.communes.index != "-"]
    res.extra.update({"restricted": True, "n_rows": int(inst.n if inst.codes[0] != "-" else 0),
                      "n_candidates": int(inst.m), "covered_population": covered})
    return res


def pairs_beyond_threshold(network, points, existing_minutes, population, candidates, threshold=None,
                           chunk_size: int = 256) -> pd.DataFrame:
    """The commune -> candidate times within ``threshold`` minutes, for the communes beyond it only.

    Parameters
    ----------
    network : fsgeo.network.RoadNetwork
    points : geopandas.GeoDataFrame
        Demand points of the communes, indexed by commune code (:func:`fsgeo.datasets.demand_points`).
    existing_minutes, population : pandas.Series
        Minutes to the nearest existing site (``inf`` when none) and inhabitants, indexed like ``points``.
    candidates : geopandas.GeoDataFrame
        Candidate points, indexed by candidate id.
    threshold : float, optional
        Minutes (default ``settings.threshold_min``).
    chunk_size : int
        Candidate nodes per search batch (:func:`fsgeo.routing.pairs_within`).

    Returns
    -------
    pandas.DataFrame
        ``code``, ``candidate``, ``minutes`` (the input of :func:`restricted_instance`).
    """
    from fsgeo import routing

    threshold = resolve_threshold(threshold)
    codes = points.index.astype(str).to_numpy()
    existing = pd.Series(existing_minutes, dtype=float).reindex(codes).fillna(np.inf).to_numpy()
    pop = pd.Series(population, dtype=float).reindex(codes).fillna(0).to_numpy()
    need = (existing > threshold) & (pop > 0)
    cand_ids = candidates.index.astype(str).to_numpy()
    pw = routing.pairs_within(network, points[need], candidates, threshold, chunk_size=chunk_size)
    return pd.DataFrame({"code": codes[need][pw["origin"].to_numpy()],
                         "candidate": cand_ids[pw["destination"].to_numpy()], "minutes": pw["minutes"].to_numpy()})


def mclp_restricted(population, existing_minutes, pairs, candidates, k, threshold=None, time_limit_s=None
                    ) -> SitingResult:
    """Exact MCLP with the existing sites kept open, on :func:`restricted_instance`.

    Returns the :class:`MCLP` result on the restricted instance, its populations within the threshold shifted by
    the inhabitants already covered (``objective``, ``baseline``, ``greedy_objective``, the steps'
    ``population_within_threshold``), so that they read as for the whole study. Per-step ``mean_minutes`` and
    ``max_minutes`` are NaN (the restricted instance does not know the times of the covered communes), and
    ``communes`` lists the communes of the restricted instance only. ``extra`` holds ``n_rows``/``n_candidates``
    of the restricted instance and ``covered_population``.
    """
    inst, covered = restricted_instance(population, existing_minutes, pairs, candidates, threshold)
    return solve_restricted(MCLP.from_instance(inst, k, time_limit_s=time_limit_s), covered)


def mclp_on_network(communes, sites, candidates, network, k, threshold=None, time_limit_s=None, chunk_size=256):
    """The next ``k`` sites maximising the inhabitants within ``threshold`` minutes, on a road network, exactly,
    in bounded memory (national studies): the existing times from :func:`fsgeo.coverage.access_from_network`, the
    candidate pairs within the threshold from :func:`fsgeo.routing.pairs_within` for the communes beyond it only,
    then :func:`mclp_restricted`.

    Parameters
    ----------
    communes : geopandas.GeoDataFrame
        Communes (demand at their demand points; ``code``, ``population``).
    sites : geopandas.GeoDataFrame
        Existing sites (already selected: date, kind...), kept open.
    candidates : geopandas.GeoDataFrame
        Candidate sites (``id``, Point geometry), e.g. :func:`fsgeo.siting.candidates_from_communes`.
    network : fsgeo.network.RoadNetwork
    k : int
        New sites (at most).
    threshold : float, optional
        Minutes (default ``settings.threshold_min``).
    time_limit_s : float, optional
        MILP time limit, seconds.
    chunk_size : int
        Candidate nodes per search batch (memory: ``chunk_size`` x nodes floats).

    Returns
    -------
    SitingResult
        See :func:`mclp_restricted`; ``extra["unplaced_candidates"]`` lists the candidates that could not be placed on
        the network (left out), ``extra["pairs"]`` the number of commune-candidate pairs within the threshold.
    """
    from fsgeo import coverage, datasets, routing

    threshold = resolve_threshold(threshold)
    access, _ = coverage.access_from_network(communes, sites, network, threshold_min=threshold)
    codes = access["code"].astype(str).to_numpy()
    existing = pd.Series(access["minutes"].to_numpy(dtype=float), index=codes).fillna(np.inf)
    population = pd.Series(access["population"].to_numpy(dtype=float), index=codes)
    points = datasets.demand_points(communes)
    points = points.set_axis(codes, axis=0)
    cand_ids = candidates["id"].astype(str).to_numpy()
    cand_pts = candidates.set_axis(cand_ids, axis=0)
    snap = routing.snap_points(network, cand_pts)
    unplaced = cand_ids[(snap["status"] != "ok").to_numpy()].tolist()
    pairs = pairs_beyond_threshold(network, points, existing, population, cand_pts, threshold, chunk_size)
    res = mclp_restricted(population, existing, pairs, cand_ids, k, threshold, time_limit_s)
    res.extra.update({"unplaced_candidates": unplaced, "pairs": int(len(pairs))})
    return res
