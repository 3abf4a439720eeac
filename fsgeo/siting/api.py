"""High-level siting: from candidates, communes, sites and a road network to ranked scores and a chosen set."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from fsgeo import io
from fsgeo.errors import require
from fsgeo.siting.antennas import attach_antennas
from fsgeo.siting.candidates import as_candidates
from fsgeo.siting.instance import make_instance, resolve_threshold
from fsgeo.siting.models import SitingResult
from fsgeo.siting.registry import model_spec, model_specs
from fsgeo.siting.scores import score_candidates

#: ``rank_candidates(restricted=None)``: a restrictable model (MCLP) is solved on the restricted instance above this
#: many communes (a national or regional study), the full communes x candidates instance below it
RESTRICTED_MIN_COMMUNES = 2000
CANDIDATE_ATTRS = ["id", "name", "commune_code", "commune_name", "lon", "lat", "kind", "parent_id"]
CHOSEN_COLUMNS = [
    "rank", "id", "name", "commune_code", "commune_name", "lon", "lat", "kind", "gain_population",
    "gain_weighted_minutes", "resolved_communes", "newly_reachable_population", "served_communes",
    "served_population", "population_within_threshold", "mean_minutes", "max_minutes", "parent_id", "parent_name",
    "parent_minutes", "parent_source",
]


@dataclass
class RankResult:
    """Scores of every candidate and the set chosen by a model (times in minutes, populations in inhabitants).

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per candidate, best first: the candidate's ``id``, ``name``, ``commune_code``, ``commune_name``,
        ``lon``, ``lat``, ``kind``, ``parent_id``, then the columns of :func:`fsgeo.siting.score_candidates` and
        ``chosen_rank`` (position in the chosen set, NaN if not chosen).
    chosen : pandas.DataFrame
        The chosen sites in order (``rank`` 1 = first pick): :data:`CHOSEN_COLUMNS`. ``gain_*`` are marginal gains
        in that order; ``served_*`` the communes each site serves in the final solution; ``parent_*`` the
        existing principal space that would run an antenna (declared or nearest by road) and its distance.
    result : SitingResult
        The model's full result (objective, baseline, status, message, gap to greedy, per-commune times, excluded
        communes).
    candidates : geopandas.GeoDataFrame
        The candidates that were routed.
    unplaced : pandas.DataFrame
        Candidates that could not be placed on the road network (``id``, ``name``, ``reason``), left out.
    meta : dict
        Inputs summary: communes, population, sites used, ``as_of``, ``kind``, ...
    """

    scores: pd.DataFrame
    chosen: pd.DataFrame
    result: SitingResult
    candidates: gpd.GeoDataFrame
    unplaced: pd.DataFrame
    meta: dict = field(default_factory=dict)

    model = property(lambda self: self.result.model)
    k = property(lambda self: self.result.k)
    threshold = property(lambda self: self.result.threshold)
    objective = property(lambda self: self.result.objective)

    # one result type (fsgeo.results): the ranked candidates are the table
    @property
    def table(self) -> gpd.GeoDataFrame:
        """Every candidate ranked (``scores``) with its Point geometry (EPSG:4326), ``chosen_rank`` set for the
        chosen ones."""
        return gpd.GeoDataFrame(self.scores.copy(), geometry=gpd.points_from_xy(self.scores["lon"], self.scores["lat"]),
                                crs="EPSG:4326")

    def summary(self) -> dict:
        """Model, threshold, objective and baseline, status, chosen ids."""
        d = self.to_dict()
        return {k: d[k] for k in ("model", "k", "threshold", "objective_name", "objective", "baseline", "status",
                                  "message", "greedy_objective", "gap", "gap_pct")} | \
            {"chosen": list(self.chosen["id"]), "n_candidates": len(self.scores)}

    def to_records(self) -> list[dict]:
        from fsgeo.results import records

        return records(self.scores)

    def as_result(self):
        from fsgeo.results import Result

        return Result("siting", self.table, dict(self.meta), extra={"chosen": self.chosen}, _summary=self.summary)

    def to_dict(self) -> dict:
        """JSON-ready summary: ``model``, ``k``, ``threshold``, ``objective``, ..., ``chosen`` and ``candidates``."""
        res = self.result.to_dict()
        chosen = self.chosen.astype(object).where(self.chosen.notna(), None)
        scores = self.scores.astype(object).where(self.scores.notna(), None)
        return {
            "model": res["model"], "k": res["k"], "threshold": res["threshold"],
            "objective_name": res["objective_name"], "objective": _num(res["objective"]),
            "baseline": _num(res["baseline"]), "status": res["status"], "message": res["message"],
            "greedy_objective": _num(res["greedy_objective"]), "gap": _num(res["gap"]), "gap_pct": _num(res["gap_pct"]),
            "solve_time_s": res["solve_time_s"],
            "chosen": chosen.to_dict(orient="records"),
            "candidates": scores.to_dict(orient="records"),
            "excluded": res["excluded"],
            "unplaced": self.unplaced.to_dict(orient="records"),
            "meta": self.meta,
        }


def _num(value):
    return None if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))) \
        else value


def rank_candidates(candidates, communes=None, sites=None, network=None, k=3, threshold=None, model="greedy",
                    as_of=None, kind="all", own_departement_only=False, objective="coverage", on_unplaced="raise",
                    time_limit_s=None, restricted=None) -> RankResult:
    """Score candidate sites and choose up to ``k`` new ones, the existing sites kept open.

    Parameters
    ----------
    candidates : GeoDataFrame, str or Path
        Candidate sites (:func:`read_candidates` file, :func:`candidates_from_communes` or any GeoDataFrame of
        Points with an ``id``).
    communes : GeoDataFrame
        Communes (demand, at their demand points). Required (e.g. ``datasets.load_study().communes``).
    sites : GeoDataFrame
        Existing France Services sites. Required (e.g. ``datasets.load_study().sites``).
    network : RoadNetwork
        Road network. Required (e.g. ``datasets.load_study().network``).
    k : int, default 3
        Number of new sites (at most; ignored by ``lscp``).
    threshold : float, optional
        Coverage threshold, minutes (default ``fsgeo.settings.threshold_min``).
    model : {"greedy", "mclp", "lscp", "pmedian", "pcenter"}
        How the set is chosen (see :mod:`fsgeo.siting.models`).
    as_of : str or datetime.date, optional
        Existing sites as of this date (labelled on or before it).
    kind : {"all", "principal"}
        Whether existing antennas count as sites.
    own_departement_only : bool
        Ignore existing sites of neighbouring départements.
    objective : {"coverage", "pmedian", "pcenter"}
        Objective of the ``greedy`` model.
    on_unplaced : {"raise", "skip"}
        A candidate that cannot be placed on the road network raises :class:`fsgeo.io.InputError` naming it, or is
        left out and listed in ``.unplaced``.
    time_limit_s : float, optional
        Time limit per MILP solve, seconds.
    restricted : bool, optional
        Solve on the restricted instance (:mod:`fsgeo.siting.restricted`): only the communes beyond the threshold
        and the commune -> candidate times within it (searches with the threshold as cutoff, never a communes x
        candidates matrix). For the models registered ``restrictable`` (``mclp``) this is the same MILP, so the
        same objective and sites; default: on above :data:`RESTRICTED_MIN_COMMUNES` communes. What it does not
        compute is left NaN: per candidate ``newly_reachable_population``, the mean/max minutes, minutes saved
        and takeovers; per chosen site ``served_*``, ``mean_minutes`` and ``max_minutes``; and
        ``meta["candidates_matter_below"]`` is None. ``meta["restricted"]`` gives its size.

    Returns
    -------
    RankResult
    """
    from fsgeo import coverage, routing
    from fsgeo.matrix import TravelTimes

    spec = model_spec(model)
    if restricted and not spec.restrictable:
        raise ValueError(f"restricted=True: model {model!r} needs the times of every commune to every candidate "
                         "(restrictable: " + ", ".join(n for n, s in model_specs().items() if s.restrictable) + ")")
    if on_unplaced not in ("raise", "skip"):
        raise ValueError(f"on_unplaced must be 'raise' or 'skip', got {on_unplaced!r}")
    threshold = resolve_threshold(threshold)
    for name, value in (("communes", communes), ("sites", sites), ("network", network)):
        require(value, name, "rank_candidates")
        if isinstance(value, (str, Path)):  # the analyses read nothing from disk: load it first
            raise TypeError(f"rank_candidates: {name} must be loaded data, not the path {str(value)!r}: "
                            "fsgeo.datasets.load_study(...) or the datasets.load_* functions read files")
    cands = as_candidates(candidates, communes)

    principals = coverage.select_sites(sites, communes, kind="principal",
                                       own_departement_only=own_departement_only, as_of=as_of)
    principal_ids = set(principals["id"].astype(str))
    for ident, parent in zip(cands["id"], cands["parent_id"]):
        if io.clean_id(parent) and str(parent) not in principal_ids:
            raise io.InputError(f"candidate {ident!r}: parent {parent!r} "
                                + _why_not_a_parent(str(parent), sites, as_of, own_departement_only))

    if restricted is None:
        restricted = spec.restrictable and len(communes) > RESTRICTED_MIN_COMMUNES
    # communes x candidates minutes (fsgeo.matrix: the one matrix), except on the restricted instance, which routes
    # only the pairs within the threshold; the candidates the router cannot place are reported by id, never
    # silently dropped (routing.unplaced_sites: the one rule of sites too)
    cand_times = None if restricted else TravelTimes.route(network, communes, cands)
    unplaced = routing.unplaced_sites(network, cands) if restricted else cand_times.unplaced
    if len(unplaced) and on_unplaced == "raise":
        raise io.InputError(routing.unplaced_message(unplaced, "candidate"))
    placed = ~cands["id"].astype(str).isin(set(unplaced["id"].astype(str))).to_numpy()
    cands = cands[placed].reset_index(drop=True)
    if cand_times is not None:
        cand_times = cand_times.subset(placed)
    pts = cands.set_axis(cands["id"].to_numpy(), axis=0)

    access = coverage.access_times(communes, sites, network, threshold_min=threshold,
                                   own_departement_only=own_departement_only, kind=kind, as_of=as_of)
    codes = access["code"].astype(str).to_numpy()
    existing = pd.Series(access["minutes"].to_numpy(dtype=float), index=codes).fillna(np.inf)
    population = pd.Series(access["population"].to_numpy(dtype=float), index=codes)
    restriction = None
    if restricted:
        from fsgeo.matrix import route_points
        from fsgeo.siting.restricted import pairs_beyond_threshold, restricted_instance, solve_restricted

        points, _ = route_points(communes, pts)
        pairs = pairs_beyond_threshold(network, points, existing, population, pts, threshold)
        inst, covered = restricted_instance(population, existing, pairs, list(pts.index), threshold)
        result = solve_restricted(spec.build(inst, k=k, objective=objective, time_limit_s=time_limit_s), covered)
        restriction = {"communes": result.extra["n_rows"], "candidates": result.extra["n_candidates"],
                       "pairs": int(len(pairs))}
    else:
        # a commune point that cannot be routed reaches no candidate either (make_instance; coverage gives its reason)
        inst = make_instance(population, existing, cand_times, threshold)
        solver = spec.build(inst, k=k, objective=objective, time_limit_s=time_limit_s)
        result = solver.solve()
    # unreachable communes: say why, with the coverage reason
    reasons = dict(zip(codes, access["reason"].astype(str)))
    if len(result.excluded):
        result.excluded["reason"] = [
            f"{r}: {reasons[c]}" if r.startswith("unreachable") and reasons.get(c) else r
            for c, r in zip(result.excluded["code"], result.excluded["reason"])]

    attrs = pd.DataFrame(cands[CANDIDATE_ATTRS])
    scores = score_candidates(instance=inst)
    if restricted:
        scores = _restricted_scores(scores, pts.index)
    chosen_rank = {c: i for i, c in enumerate(result.chosen, start=1)}
    scores = attrs.set_index("id").join(scores, how="right").rename_axis("id").reset_index()
    scores["chosen_rank"] = scores["id"].map(chosen_rank).astype(float)
    scores = scores[[*CANDIDATE_ATTRS, *[c for c in scores.columns if c not in CANDIDATE_ATTRS]]]

    chosen = _chosen_table(result, attrs)
    if restricted:  # the restricted instance holds only the communes beyond the threshold
        chosen["served_communes"] = np.nan
        chosen["served_population"] = np.nan
    antennas = chosen[chosen["kind"] == "antenna"]
    if len(antennas):
        ant_pts = pts.loc[antennas["id"].to_numpy()]
        prin_pts = principals.set_axis(principals["id"].astype(str).to_numpy(), axis=0)
        if len(prin_pts):
            to_principal = routing.travel_time_matrix(network, ant_pts, prin_pts, on_snap_error="nan").fillna(np.inf)
        else:
            to_principal = pd.DataFrame(index=ant_pts.index, dtype=float)
        names = dict(zip(principals["id"].astype(str), principals["name"].astype(str)))
        attached = attach_antennas(antennas, to_principal, names)
        chosen.loc[attached.index, attached.columns] = attached
    meta = {
        "n_communes": int(len(communes)), "population": float(population.sum()),
        "n_sites": int(access.attrs.get("fsgeo", {}).get("n_sites", 0)), "as_of": None if as_of is None else str(as_of),
        "kind": kind, "own_departement_only": bool(own_departement_only), "n_candidates": int(len(pts)),
        "n_unplaced": int(len(unplaced)), "objective": objective if model == "greedy" else None,
        "population_within_threshold_before": float(population[existing <= threshold].sum()),
        "candidates_matter_below": None if restricted else candidates_matter_below(inst),
    }
    if restriction is not None:
        meta["restricted"] = restriction
    return RankResult(scores=scores, chosen=chosen, result=result, candidates=cands, unplaced=unplaced, meta=meta)


#: score columns a restricted instance computes exactly (they only depend on the communes beyond the threshold)
_RESTRICTED_EXACT = ("gain_population", "resolved_communes")


def _restricted_scores(scores: pd.DataFrame, candidate_ids) -> pd.DataFrame:
    """Scores on a restricted instance, for every candidate: the exact columns (a candidate reaching no commune
    beyond the threshold gains nothing), the others NaN; ranked by gain, then input order."""
    out = pd.DataFrame(index=pd.Index(list(candidate_ids), name="candidate"))
    for col in scores.columns:
        if col == "rank":
            continue
        if col in _RESTRICTED_EXACT:
            out[col] = scores[col].reindex(out.index).fillna(0).astype(scores[col].dtype)
        elif col == "takeover_codes":
            out[col] = None
        else:
            out[col] = np.nan
    out["_order"] = np.arange(len(out))
    out = out.sort_values(["gain_population", "_order"], ascending=[False, True], kind="mergesort")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.drop(columns="_order")


def candidates_matter_below(inst) -> dict | None:
    """The threshold below which some candidate brings a commune within it, or None when no candidate is ever
    faster than the existing sites.

    A candidate matters for threshold ``t`` when, for some commune, ``candidate_minutes <= t < existing_minutes``:
    the largest such ``t`` is just below the longest existing time among the communes a candidate reaches faster.
    Returns ``threshold`` (that existing time, minutes), the commune ``code``, its ``minutes_before`` and best
    ``candidate_minutes``, and ``suggested_threshold``: the largest whole number of minutes in the window (one
    decimal when the window is narrower than a minute).
    """
    if inst.m == 0 or inst.n == 0:
        return None
    best = inst.minutes.min(axis=1)
    helped = np.isfinite(best) & (best < inst.existing)
    if not helped.any():
        return None
    before = np.where(helped, inst.existing, -np.inf)
    # an unreachable commune (no existing site) that a candidate reaches makes candidates matter at any threshold
    i = int(np.argmax(before))
    t, c = float(inst.existing[i]), float(best[i])
    suggested = None
    if math.isfinite(t):  # the largest whole minute in [c, t), else the largest tenth, else c itself
        whole, tenth = math.ceil(t) - 1, (math.ceil(t * 10) - 1) / 10
        suggested = float(whole if whole >= c else tenth if tenth >= c else c)
    return {"threshold": t, "code": str(inst.codes[i]), "minutes_before": t, "candidate_minutes": c,
            "suggested_threshold": suggested}


def _why_not_a_parent(parent: str, sites, as_of, own_departement_only) -> str:
    """Why the site ``parent`` cannot run a new antenna (it is not among the principal spaces selected)."""
    from fsgeo import coverage

    row = sites[sites["id"].astype(str) == parent]
    if not len(row):
        return ("is not an existing principal space (the parent must be the id of a principal France Services "
                "space among the sites)")
    row = row.iloc[0]
    if str(row.get("kind", "principal")) != "principal":
        return "is an antenna, not a principal space (only a principal France Services space runs antennas)"
    labelled = io.parse_date(row.get("labelled_on"))
    if as_of is not None and labelled is not None and labelled > coverage.as_date(as_of).isoformat():
        return f"was labelled on {labelled}, after {coverage.as_date(as_of).isoformat()} (as_of)"
    if own_departement_only:
        return f"is a principal space of département {row.get('departement', '?')}, left out by own_departement_only"
    return "is not among the principal spaces selected"


def _chosen_table(result: SitingResult, attrs: pd.DataFrame) -> pd.DataFrame:
    steps = result.steps.rename(columns={"step": "rank", "candidate": "id"})
    served = result.communes[result.communes["served_by"].isin(result.chosen)]
    by_site = served.groupby("served_by")["population"].agg(["size", "sum"])
    table = steps.merge(attrs, on="id", how="left")
    table["served_communes"] = table["id"].map(by_site["size"]).fillna(0).astype(int)
    table["served_population"] = table["id"].map(by_site["sum"]).fillna(0.0)
    for col in ("parent_name", "parent_source"):
        table[col] = None
    table["parent_minutes"] = np.nan
    table["parent_id"] = table["parent_id"].astype(object)
    return table[CHOSEN_COLUMNS]
