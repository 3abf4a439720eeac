"""Scores of each candidate on its own, the existing sites kept open."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsgeo.siting.instance import Instance, make_instance

SCORE_COLUMNS = [
    "rank", "gain_population", "resolved_communes", "newly_reachable_population", "weighted_minutes_saved",
    "mean_minutes_before", "mean_minutes_after", "mean_reduction_min", "max_minutes_before", "max_minutes_after",
    "takeover_communes", "takeover_population", "takeover_codes",
]


def score_candidates(population=None, existing_minutes=None, candidate_minutes=None, threshold=None, *,
                     instance: Instance | None = None) -> pd.DataFrame:
    """Score every candidate alone, next to the existing sites, and rank them.

    Parameters
    ----------
    population, existing_minutes, candidate_minutes, threshold
        The problem, validated by :func:`~fsgeo.siting.instance.make_instance` (which documents them): inhabitants
        per commune, minutes to the nearest existing site (``inf`` if none), minutes commune -> candidate (``inf``
        beyond reach), all indexed by commune code; coverage threshold in minutes.
    instance : Instance, optional
        An already validated instance, instead of the three inputs.

    Returns
    -------
    pandas.DataFrame
        Indexed by candidate id (``candidate``), sorted by ``rank`` (1 = best: most population newly within the
        threshold, then most person-minutes saved, then input order). Columns:

        - ``gain_population``: inhabitants newly within ``threshold`` minutes;
        - ``resolved_communes``: under-served communes (beyond the threshold) brought within it;
        - ``newly_reachable_population``: inhabitants with no reachable site before, reachable now;
        - ``weighted_minutes_saved``: person-minutes saved over the communes reachable before;
        - ``mean_minutes_before`` / ``mean_minutes_after`` / ``mean_reduction_min``: population-weighted mean time
          over the communes reachable before, minutes;
        - ``max_minutes_before`` / ``max_minutes_after``: maximum time over the communes something can reach
          (``inf`` while one of them stays unreachable), minutes;
        - ``takeover_communes``, ``takeover_population``, ``takeover_codes``: communes for which the candidate would
          become the nearest site (strictly closer than the existing one), their population and their codes (list).
    """
    inst = instance if instance is not None else make_instance(population, existing_minutes, candidate_minutes,
                                                               threshold)
    w, e, D, T = inst.population, inst.existing, inst.minutes, inst.threshold
    servable = inst.servable
    fin = np.isfinite(e)
    unc = e > T
    newly = unc[:, None] & (D <= T)
    take = D < e[:, None]
    after_fin = np.minimum(e[fin][:, None], D[fin])
    saved = w[fin] @ (e[fin][:, None] - after_fin)
    pop_fin = w[fin].sum()
    mean_before = float(w[fin] @ e[fin] / pop_fin) if pop_fin > 0 else np.nan
    mean_after = (w[fin] @ after_fin) / pop_fin if pop_fin > 0 else np.full(inst.m, np.nan)
    max_before = float(e[servable].max()) if servable.any() else np.nan
    max_after = np.minimum(e[servable][:, None], D[servable]).max(axis=0) if servable.any() \
        else np.full(inst.m, np.nan)
    unreach = ~fin & servable
    frame = pd.DataFrame({
        "gain_population": w @ newly,
        "resolved_communes": newly.sum(axis=0),
        "newly_reachable_population": w[unreach] @ np.isfinite(D[unreach]),
        "weighted_minutes_saved": saved,
        "mean_minutes_before": mean_before,
        "mean_minutes_after": mean_after,
        "mean_reduction_min": mean_before - mean_after,
        "max_minutes_before": max_before,
        "max_minutes_after": max_after,
        "takeover_communes": take.sum(axis=0),
        "takeover_population": w @ take,
        "takeover_codes": [list(inst.codes[take[:, j]]) for j in range(inst.m)],
    }, index=pd.Index(inst.candidates, name="candidate"))
    frame["_order"] = np.arange(inst.m)
    frame = frame.sort_values(["gain_population", "weighted_minutes_saved", "_order"],
                              ascending=[False, False, True], kind="mergesort")
    frame.insert(0, "rank", np.arange(1, inst.m + 1))
    return frame.drop(columns="_order")[SCORE_COLUMNS]
