"""Location models with the existing sites kept open: greedy heuristic and exact MILPs (scipy.optimize.milp / HiGHS).

spopt-like: one small class per model sharing :class:`LocationModel`; build it from the three inputs (or an
:class:`~fsgeo.siting.instance.Instance`) and call ``.solve()``, which returns a :class:`SitingResult` (data, no
prints). A commune's time with a chosen set ``S`` of candidates is ``min(existing, min_{j in S} minutes_j)``.

Objectives (``objective`` of :class:`Greedy`, ``objective_name`` of a result):

- ``coverage`` (MCLP): population within the threshold, maximised;
- ``pmedian``: total population-weighted minutes, minimised;
- ``pcenter``: maximum minutes over the communes that something can reach, minimised.

Every model chooses *at most* ``k`` sites and reports only sites that improve its objective (a site that would bring
nobody within the threshold is not listed by MCLP; the message says when fewer than ``k`` sites are useful).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from fsgeo.siting.instance import Instance, _few, _input_error, make_instance
from fsgeo.siting.registry import model_specs, register_model

OBJECTIVES = {
    # objective: (name of the value, sense, number of leading gain keys that define an improvement)
    "coverage": ("population_within_threshold", "max", 1),
    "pmedian": ("total_weighted_minutes", "min", 2),
    "pcenter": ("max_minutes", "min", 3),
}


# ----------------------------------------------------------------------------------------------------------- results
@dataclass
class SitingResult:
    """Outcome of a location model (all times in minutes, populations in inhabitants).

    Attributes
    ----------
    model : str
        ``greedy``, ``mclp``, ``lscp``, ``pmedian`` or ``pcenter``.
    objective_name : str
        ``population_within_threshold`` | ``total_weighted_minutes`` | ``max_minutes`` | ``new_sites`` (LSCP).
    k : int
        Number of new sites requested (LSCP: the number it needs).
    threshold : float
        Coverage threshold, minutes.
    objective : float
        Value of the objective with the existing sites plus ``chosen`` (NaN when infeasible).
    baseline : float
        Same value with the existing sites only.
    chosen : list of str
        Candidate ids, in a stable order: each one is the best next site given the previous ones.
    steps : pandas.DataFrame
        One row per chosen site in that order: ``step``, ``candidate``, ``gain_population`` (inhabitants newly within
        the threshold), ``gain_weighted_minutes`` (person-minutes saved), ``newly_reachable_population``,
        ``resolved_communes``, then ``population_within_threshold``, ``mean_minutes``, ``max_minutes`` and
        ``objective`` after the step.
    communes : pandas.DataFrame
        Per commune (index ``code``): ``population``, ``minutes_before``, ``minutes_after``, ``served_by`` (candidate
        id, ``"existing"``, or None if unreachable), ``status`` (``covered_before`` | ``newly_covered`` |
        ``under_served`` | ``unreachable``).
    excluded : pandas.DataFrame
        Communes left out of the model and why (``code``, ``population``, ``reason``): never reachable, or (MCLP,
        LSCP) that no candidate can bring within the threshold.
    status : str
        ``optimal``, ``heuristic`` (greedy), ``time_limit`` (best solution found), ``infeasible`` or ``error``.
    message : str
        Human-readable solver outcome and notes.
    solve_time_s : float
        Wall time of ``solve()``, seconds.
    greedy_objective, gap, gap_pct : float or None
        For exact models: greedy's objective with the same ``k`` and how much worse it is than the optimum
        (``gap >= 0`` in objective units, ``gap_pct`` relative to the optimum).
    n_variables, n_constraints : int
        Size of the (largest) MILP actually solved after reductions.
    """

    model: str
    objective_name: str
    k: int
    threshold: float
    objective: float
    baseline: float
    chosen: list
    steps: pd.DataFrame
    communes: pd.DataFrame
    excluded: pd.DataFrame
    status: str
    message: str = ""
    solve_time_s: float = 0.0
    greedy_objective: float | None = None
    gap: float | None = None
    gap_pct: float | None = None
    n_variables: int = 0
    n_constraints: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def gain(self) -> float:
        """Improvement of the objective over the existing sites alone (>= 0 when optimal)."""
        if self.objective_name == "new_sites":
            return float(self.objective)
        return float(self.objective - self.baseline) if OBJECTIVES_SENSE[self.objective_name] == "max" \
            else float(self.baseline - self.objective)

    def to_dict(self) -> dict:
        """Plain-Python summary (lists and dicts) for JSON output."""
        return {
            "model": self.model,
            "objective_name": self.objective_name,
            "k": int(self.k),
            "threshold": float(self.threshold),
            "objective": _py(self.objective),
            "baseline": _py(self.baseline),
            "status": self.status,
            "message": self.message,
            "solve_time_s": float(self.solve_time_s),
            "greedy_objective": _py(self.greedy_objective),
            "gap": _py(self.gap),
            "gap_pct": _py(self.gap_pct),
            "chosen": list(self.chosen),
            "steps": self.steps.to_dict(orient="records"),
            "excluded": self.excluded.to_dict(orient="records"),
        }


OBJECTIVES_SENSE = {name: sense for name, sense, _ in OBJECTIVES.values()} | {"new_sites": "min"}


def _py(value):
    return None if value is None else float(value)


# ----------------------------------------------------------------------------------------------------- evaluation
def evaluate(instance: Instance, times: np.ndarray) -> dict:
    """Summary figures of per-commune ``times``.

    Parameters
    ----------
    instance : Instance
        The problem (populations, threshold).
    times : numpy.ndarray of float, shape (n,)
        Minutes from each commune to its nearest facility (``inf`` when none is reachable).

    Returns
    -------
    dict
        ``population_within_threshold`` (inhabitants), ``total_weighted_minutes`` (person-minutes over the servable
        communes, ``inf`` if a populated servable commune has no finite time), ``mean_minutes`` (population-weighted,
        minutes), ``max_minutes`` (over the servable communes, minutes) and ``unreachable_population``
        (inhabitants).
    """
    w = instance.population
    servable = instance.servable
    within = float(w[times <= instance.threshold].sum())
    ts, ws = times[servable], w[servable]
    with np.errstate(invalid="ignore"):
        total = float((ws * ts)[ws > 0].sum()) if ws.size else 0.0
    pop = float(ws.sum())
    return {
        "population_within_threshold": within,
        "total_weighted_minutes": total,
        "mean_minutes": total / pop if pop > 0 else float("nan"),
        "max_minutes": float(ts.max()) if ts.size else float("nan"),
        "unreachable_population": float(ws[np.isinf(ts)].sum()),
    }


def objective_value(instance: Instance, times: np.ndarray, objective: str) -> float:
    return evaluate(instance, times)[OBJECTIVES[objective][0]]


def _best(instance: Instance, t: np.ndarray, cols: np.ndarray, objective: str, servable: np.ndarray):
    """Best candidate of ``cols`` to add to times ``t``, by lexicographic marginal gains (larger = better).

    coverage: (population newly within threshold, newly reachable population, person-minutes saved)
    pmedian:  (newly reachable population, person-minutes saved)
    pcenter:  (-new maximum minutes, newly reachable population, person-minutes saved)

    "Person-minutes saved" is over the communes reachable before, less the person-minutes of the communes the
    candidate newly reaches (their time was infinite: without that term every candidate reaching them would tie).
    Later keys are only computed for the candidates tied on the earlier ones; remaining ties go to the first
    candidate in column order. Returns (position in ``cols``, whether it improves the objective).
    """
    D, w, T = instance.minutes, instance.population, instance.threshold

    def cover(sub):
        unc = t > T
        return w[unc] @ (D[np.ix_(unc, sub)] <= T)

    def reach(sub):
        unreach = np.isinf(t) & servable
        return w[unreach] @ np.isfinite(D[np.ix_(unreach, sub)])

    def saved(sub):
        fin = np.isfinite(t)
        tf = t[fin][:, None]
        out = w[fin] @ (tf - np.minimum(tf, D[np.ix_(fin, sub)]))
        new = ~fin & servable
        if new.any():
            reached = D[np.ix_(new, sub)]
            out = out - w[new] @ np.where(np.isfinite(reached), reached, 0.0)
        return out

    def lower_max(sub):
        if not servable.any():
            return np.zeros(len(sub))
        return -np.minimum(t[servable][:, None], D[np.ix_(servable, sub)]).max(axis=0)

    keys = {"coverage": (cover, reach, saved), "pmedian": (reach, saved), "pcenter": (lower_max, reach, saved)}
    idx = np.arange(len(cols))
    best = []
    for key in keys[objective]:
        values = key(cols[idx])
        best.append(values.max())
        idx = idx[values == best[-1]]
    improves = False
    for i, value in enumerate(best[:OBJECTIVES[objective][2]]):
        if objective == "pcenter" and i == 0:
            improves |= bool(-value < (t[servable].max() if servable.any() else 0.0))
        else:
            improves |= bool(value > 0)
    return int(idx[0]), improves


def _step_row(instance: Instance, step: int, col: int, before: np.ndarray, after: np.ndarray, objective: str) -> dict:
    T, w = instance.threshold, instance.population
    newly = (before > T) & (after <= T)
    fin = np.isfinite(before)
    ev = evaluate(instance, after)
    return {
        "step": step,
        "candidate": instance.candidates[col],
        "gain_population": float(w[newly].sum()),
        "gain_weighted_minutes": float((w[fin] * (before[fin] - after[fin])).sum()),
        "newly_reachable_population": float(w[~fin & np.isfinite(after) & instance.servable].sum()),
        "resolved_communes": int(newly.sum()),
        "population_within_threshold": ev["population_within_threshold"],
        "mean_minutes": ev["mean_minutes"],
        "max_minutes": ev["max_minutes"],
        "objective": ev[OBJECTIVES[objective][0]] if objective in OBJECTIVES else np.nan,
    }


STEP_COLUMNS = ["step", "candidate", "gain_population", "gain_weighted_minutes", "newly_reachable_population",
                "resolved_communes", "population_within_threshold", "mean_minutes", "max_minutes", "objective"]


def greedy_order(instance: Instance, cols, objective: str, k: int | None = None, stop: bool = True):
    """Greedy selection among candidate positions ``cols``: best marginal gain, recompute, repeat.

    Returns (chosen positions in order, steps DataFrame). With ``stop`` it halts when no candidate improves the
    objective (see module docstring); without, it orders every column of ``cols``.
    """
    cols = np.asarray(cols, dtype=int)
    k = len(cols) if k is None else min(k, len(cols))
    servable = instance.servable
    t = instance.existing.copy()
    avail = cols.copy()
    chosen, rows = [], []
    for step in range(1, k + 1):
        b, improves = _best(instance, t, avail, objective, servable)
        if stop and not improves:
            break
        col = int(avail[b])
        after = np.minimum(t, instance.minutes[:, col])
        rows.append(_step_row(instance, step, col, t, after, objective))
        chosen.append(col)
        t = after
        avail = np.delete(avail, b)
    return chosen, pd.DataFrame(rows, columns=STEP_COLUMNS)


# --------------------------------------------------------------------------------------------------- MILP helpers
_STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}


def _milp(c, A, lo, hi, integrality, time_limit_s=None, **highs_options):
    """Solve min c.x s.t. lo <= A x <= hi, 0 <= x <= 1, with HiGHS; returns (status, x or None, message).

    ``highs_options`` (e.g. ``presolve``, ``objective_bound``) go to HiGHS verbatim.
    """
    options = {"mip_rel_gap": 0.0, "disp": False, **highs_options}
    if time_limit_s is not None:
        options["time_limit"] = float(time_limit_s)
    with warnings.catch_warnings():  # scipy warns when it forwards HiGHS options it does not know itself
        warnings.filterwarnings("ignore", message="Unrecognized options", category=RuntimeWarning)
        res = milp(c=c, constraints=LinearConstraint(A, lo, hi), integrality=integrality,
                   bounds=Bounds(0.0, 1.0), options=options)
    status = _STATUS.get(res.status, "error")
    x = None if res.x is None else np.asarray(res.x)
    if status == "time_limit" and x is None:
        status = "time_limit_no_solution"
    return status, x, str(res.message)


def _unique_rows(A: np.ndarray):
    """Group identical boolean rows: (unique rows, inverse index)."""
    if A.shape[0] == 0:
        return A, np.zeros(0, dtype=int)
    packed = np.packbits(A, axis=1)
    packed = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1])))[:, 0]
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    return A[first], inverse.ravel()


def _unique_cols(A: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct boolean column, in column order."""
    if A.shape[1] == 0:
        return np.zeros(0, dtype=int)
    _, first = np.unique(np.packbits(A.T, axis=1), axis=0, return_index=True)
    return np.sort(first)


def _undominated(A: np.ndarray, max_cols: int = 4000) -> np.ndarray:
    """Positions of the columns of boolean ``A`` (distinct columns) not strictly contained in another column.

    Skipped (all kept) above ``max_cols`` columns, where the pairwise check would cost more than it saves.
    """
    n_cols = A.shape[1]
    if n_cols <= 1 or n_cols > max_cols:
        return np.arange(n_cols)
    F = A.astype(np.float32)
    shared = F.T @ F  # shared[j, l] = rows covered by both j and l (exact in float32 below 2**24)
    size = np.diag(shared).copy()
    inside = (shared == size[:, None]) & (size[None, :] > size[:, None])  # j's rows all in l's, and l has more
    return np.flatnonzero(~inside.any(axis=1))


def _best_pair(groups: np.ndarray, weights: np.ndarray, k: int, cols: np.ndarray) -> list:
    """Exact maximal covering for k <= 2 (ties: first candidate, then first partner, in column order)."""
    F = groups.astype(float)
    single = weights @ F
    if k == 1 or F.shape[1] == 1:
        return [cols[int(single.argmax())]]
    both = F.T @ (F * weights[:, None])  # weight covered by j and by l
    pair = single[:, None] + single[None, :] - both
    pair[np.tril_indices_from(pair)] = -np.inf  # j < l only
    j, l = np.unravel_index(int(pair.argmax()), pair.shape)
    return [cols[j], cols[l]]


def set_cover(A: np.ndarray, time_limit_s=None):
    """Minimum set cover: fewest columns of boolean ``A`` (rows all coverable) covering every row.

    Returns (status, chosen column positions, n_variables, n_constraints, message).
    """
    if A.shape[0] == 0:
        return "optimal", np.zeros(0, dtype=int), 0, 0, "nothing to cover"
    rows, _ = _unique_rows(A)
    cols = _unique_cols(rows)
    sub = rows[:, cols]
    n_var = sub.shape[1]
    status, x, msg = _milp(np.ones(n_var), sp.csr_matrix(sub.astype(float)), 1.0, np.inf, np.ones(n_var), time_limit_s)
    chosen = cols[x > 0.5] if x is not None else np.zeros(0, dtype=int)
    return status, chosen, n_var, sub.shape[0], msg


def _greedy_set_cover(A: np.ndarray) -> list[int]:
    """Columns chosen by the classic greedy set cover (rows all coverable)."""
    left = np.ones(A.shape[0], dtype=bool)
    chosen = []
    while left.any():
        j = int(A[left].sum(axis=0).argmax())
        left &= ~A[:, j]
        chosen.append(j)
    return chosen


def _pmedian_milp(instance: Instance, k: int, radius: float = np.inf, time_limit_s=None):
    """Min total weighted minutes with <= k new sites and every commune's time <= ``radius``.

    Variables: x_j (open candidate j) and z_ij for the pairs where candidate j beats commune i's existing time
    (every other pair can never be used), z_ij <= x_j, sum_j z_ij <= 1 (= 1 when the existing time exceeds
    ``radius``). Returns (status, chosen positions, n_variables, n_constraints, message).
    """
    w, e, D = instance.population, instance.existing, instance.minutes
    servable = instance.servable
    must = servable & ((e > radius) | np.isinf(e))  # inf > inf is False
    rows = np.flatnonzero(servable & ((w > 0) | must))
    Dr = D[rows]
    er = e[rows]
    ok = (Dr < er[:, None]) & (Dr <= radius)
    pi, pj = np.nonzero(ok)
    must_r = must[rows]
    lonely = must_r & ~ok.any(axis=1)
    if lonely.any():
        return ("infeasible", np.zeros(0, dtype=int), 0, 0,
                f"commune(s) {_few(instance.codes[rows[lonely]])} cannot be reached within {radius:g} min")
    cols, pj = np.unique(pj, return_inverse=True)
    kk = min(k, len(cols))
    if kk == 0 or len(pi) == 0:
        if must_r.any():
            return ("infeasible", np.zeros(0, dtype=int), 0, 0,
                    f"commune(s) {_few(instance.codes[rows[must_r]])} need a new site and k = 0")
        return "optimal", np.zeros(0, dtype=int), 0, 0, "no candidate improves any commune"
    nc, npairs = len(cols), len(pi)
    wr = w[rows][pi]
    base = np.where(np.isfinite(er[pi]), er[pi], 0.0)
    cost = np.concatenate([np.zeros(nc), wr * (Dr[pi, cols[pj]] - base)])
    # rows with pairs: assignment rows
    used_rows, ri = np.unique(pi, return_inverse=True)
    n_assign = len(used_rows)
    assign = sp.csr_matrix((np.ones(npairs), (ri, nc + np.arange(npairs))), shape=(n_assign, nc + npairs))
    link = sp.csr_matrix((np.r_[np.ones(npairs), -np.ones(npairs)],
                          (np.r_[np.arange(npairs), np.arange(npairs)], np.r_[nc + np.arange(npairs), pj])),
                         shape=(npairs, nc + npairs))
    card = sp.csr_matrix((np.ones(nc), (np.zeros(nc, dtype=int), np.arange(nc))), shape=(1, nc + npairs))
    A = sp.vstack([assign, link, card], format="csr")
    lo = np.r_[np.where(must_r[used_rows], 1.0, 0.0), np.full(npairs, -np.inf), -np.inf]
    hi = np.r_[np.ones(n_assign), np.zeros(npairs), kk]
    integrality = np.r_[np.ones(nc), np.zeros(npairs)]
    status, x, msg = _milp(cost, A, lo, hi, integrality, time_limit_s)
    chosen = cols[x[:nc] > 0.5] if x is not None else np.zeros(0, dtype=int)
    return status, chosen, nc + npairs, A.shape[0], msg


# ----------------------------------------------------------------------------------------------------------- models
def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise _input_error(f"k must be a whole number of new sites >= 0, got {k!r}")
    if k < 0:
        raise _input_error(f"k must be >= 0, got {k}")
    return int(k)


class LocationModel:
    """Shared base: validated instance, ``k``, ``.solve()`` returning a :class:`SitingResult`.

    Parameters
    ----------
    population, existing_minutes, candidate_minutes, threshold
        The problem, validated by :func:`~fsgeo.siting.instance.make_instance` (which documents them): inhabitants
        per commune, minutes to the nearest existing site (``inf`` if none), minutes commune -> candidate (``inf``
        beyond reach), all indexed by commune code; coverage threshold in minutes.
    k : int, default 3
        Number of new sites (at most; clamped to the number of candidates, with a note in the message).
    time_limit_s : float, optional
        Wall-time limit per MILP solve, seconds; the best solution found is returned with status ``time_limit``.
    """

    name = "base"
    objective = "coverage"

    def __init__(self, population, existing_minutes, candidate_minutes, k=3, threshold=None, *, time_limit_s=None):
        self._setup(make_instance(population, existing_minutes, candidate_minutes, threshold), k, time_limit_s)

    @classmethod
    def from_instance(cls, instance: Instance, k=3, *, time_limit_s=None, **kwargs):
        """Build the model on an already validated :class:`Instance` (reuse one across models)."""
        obj = cls.__new__(cls)
        for key, value in kwargs.items():
            setattr(obj, key, value)
        obj._setup(instance, k, time_limit_s)
        return obj

    def _setup(self, instance, k, time_limit_s):
        self.instance = instance
        self.k = _check_k(k)
        self.time_limit_s = time_limit_s
        self.result: SitingResult | None = None

    def solve(self) -> SitingResult:
        """Solve the model; returns (and stores as ``.result``) a :class:`SitingResult`."""
        t0 = time.perf_counter()
        result = self._solve()
        result.solve_time_s = time.perf_counter() - t0
        self.result = result
        return result

    def _solve(self) -> SitingResult:  # pragma: no cover - abstract
        raise NotImplementedError

    # helpers shared by the models
    def _notes(self) -> list[str]:
        notes = []
        if self.k > self.instance.m:
            notes.append(f"k = {self.k} exceeds the {self.instance.m} candidates: at most {self.instance.m} sites")
        return notes

    def _result(self, chosen_cols, status, message, objective=None, *, keep_all=False, n_var=0, n_con=0,
                greedy_objective=None, excluded=None, k=None) -> SitingResult:
        inst = self.instance
        objective = objective or self.objective
        fallback = getattr(self, "_greedy_cols", None)
        if status.startswith("time_limit") and fallback is not None:
            # a MILP stopped by the time limit may hold a poor incumbent (or none): never return worse than greedy
            name, sense, _ = OBJECTIVES[objective]
            mine = objective_value(inst, inst.times_with(chosen_cols), objective) \
                if status == "time_limit" else None
            theirs = objective_value(inst, inst.times_with(fallback), objective)
            if mine is None or (theirs > mine if sense == "max" else theirs < mine):
                chosen_cols, status = fallback, "time_limit"
                message = (message + "; " if message else "") + ("time limit reached before the MILP beat greedy: "
                                                                 "greedy's sites are returned")
        # the chosen set in greedy order (each site the best next one), without the trailing sites that improve
        # nothing unless every site must stay (greedy's own picks, an LSCP cover)
        order, steps = greedy_order(inst, chosen_cols, objective, stop=not keep_all)
        before = inst.existing
        after = inst.times_with(order) if status not in ("infeasible", "error", "time_limit_no_solution") else before
        name, sense, _ = OBJECTIVES[objective]
        baseline = evaluate(inst, before)[name]
        value = evaluate(inst, after)[name] if status not in ("infeasible", "error", "time_limit_no_solution") \
            else float("nan")
        gap = gap_pct = None
        if greedy_objective is not None and np.isfinite(value):
            gap = (value - greedy_objective) if sense == "max" else (greedy_objective - value)
            gap = float(gap) if np.isfinite(gap) else float("inf")
            gap_pct = 100.0 * gap / abs(value) if value != 0 else (0.0 if gap == 0 else float("inf"))
        notes = self._notes() + ([message] if message else [])
        kk = self.k if k is None else k
        if status in ("optimal", "heuristic", "time_limit") and len(order) < min(kk, inst.m):
            notes.append(("no new site improves" if not order else f"only {len(order)} new site improves"
                          if len(order) == 1 else f"only {len(order)} new sites improve")
                         + " the objective, more would not change it")
        return SitingResult(
            model=self.name, objective_name=name, k=kk, threshold=inst.threshold, objective=value,
            baseline=baseline, chosen=[inst.candidates[c] for c in order], steps=steps,
            communes=_communes_table(inst, order if status not in ("infeasible", "error") else []),
            excluded=excluded if excluded is not None else _excluded(inst, ~inst.servable, "unreachable"),
            status=status, message="; ".join(notes), greedy_objective=greedy_objective, gap=gap, gap_pct=gap_pct,
            n_variables=n_var, n_constraints=n_con)


def _excluded(inst: Instance, mask: np.ndarray, reason: str) -> pd.DataFrame:
    return pd.DataFrame({"code": inst.codes[mask], "population": inst.population[mask],
                         "reason": [reason] * int(mask.sum())}, columns=["code", "population", "reason"])


_UNREACHABLE = "unreachable: no existing site nor any candidate can be reached from it"


def _communes_table(inst: Instance, cols) -> pd.DataFrame:
    cols = np.asarray(cols, dtype=int)
    after = inst.times_with(cols)
    served = inst.served_by(cols)
    T = inst.threshold
    names = inst.candidates[np.maximum(served, 0)] if inst.m else ""
    served_by = np.where(served >= 0, names, "existing").astype(object)
    served_by[np.isinf(after)] = None
    status = np.select(
        [np.isinf(after), inst.existing <= T, after <= T],
        ["unreachable", "covered_before", "newly_covered"], "under_served")
    return pd.DataFrame({"population": inst.population, "minutes_before": inst.existing, "minutes_after": after,
                         "served_by": served_by, "status": status},
                        index=pd.Index(inst.codes, name="code"))


@register_model("greedy", title="greedy heuristic", objective="any", options=("k", "objective"), exact=False)
class Greedy(LocationModel):
    """Greedy heuristic: add the candidate with the best marginal gain, recompute, repeat (up to ``k`` times).

    ``objective`` is ``coverage`` (MCLP-like), ``pmedian`` or ``pcenter``; ties are broken by newly reachable
    population, then person-minutes saved, then candidate order. Stops early when nothing improves the objective.
    """

    name = "greedy"

    def __init__(self, population, existing_minutes, candidate_minutes, k=3, threshold=None, *,
                 objective="coverage", time_limit_s=None):
        self.objective = _check_objective(objective)
        super().__init__(population, existing_minutes, candidate_minutes, k, threshold, time_limit_s=time_limit_s)

    @classmethod
    def from_instance(cls, instance, k=3, *, objective="coverage", time_limit_s=None):
        return super().from_instance(instance, k, time_limit_s=time_limit_s, objective=_check_objective(objective))

    def _solve(self):
        inst = self.instance
        order, steps = greedy_order(inst, np.arange(inst.m), self.objective, self.k)
        res = self._result(order, "heuristic", "", keep_all=True)
        res.greedy_objective = res.objective
        return res


def _check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise _input_error(f"unknown objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    return objective


def _greedy_value(model: LocationModel, objective: str) -> float:
    """Greedy's objective with the model's k; its sites are kept as the fallback of a time-limited MILP."""
    inst = model.instance
    order, _ = greedy_order(inst, np.arange(inst.m), objective, model.k)
    model._greedy_cols = order
    return objective_value(inst, inst.times_with(order), objective)


# restrictable: communes within the threshold get no variable and a candidate reaching no commune beyond it never
# enters the MILP, so the restricted instance gives the same MILP (rank_candidates uses it on large studies)
@register_model("mclp", title="maximal covering (exact, HiGHS)", objective="coverage", restrictable=True)
class MCLP(LocationModel):
    """Maximal covering with ``k`` new sites: maximise the population within ``threshold`` minutes.

    Communes already within the threshold of an existing site count as covered and get no variable; communes no
    candidate can bring within it are listed in ``excluded``; communes with identical candidate sets are merged.
    """

    name = "mclp"
    objective = "coverage"

    def _solve(self):
        inst = self.instance
        T, w = inst.threshold, inst.population
        A = inst.minutes <= T
        need = (inst.existing > T) & (w > 0)
        coverable = need & A.any(axis=1)
        excluded = pd.concat([
            _excluded(inst, ~inst.servable, _UNREACHABLE),
            _excluded(inst, need & ~coverable & inst.servable, f"no candidate within {T:g} min"),
        ], ignore_index=True)
        greedy_obj = _greedy_value(self, "coverage")
        rows = np.flatnonzero(coverable)
        cols = np.flatnonzero(A[rows].any(axis=0)) if rows.size else np.zeros(0, dtype=int)
        kk = min(self.k, len(cols))
        if kk == 0:
            why = "k = 0" if self.k == 0 else "no candidate brings an uncovered commune within the threshold"
            return self._result([], "optimal", why, greedy_objective=greedy_obj, excluded=excluded)
        groups, inverse = _unique_rows(A[np.ix_(rows, cols)])
        wg = np.bincount(inverse, weights=w[rows], minlength=len(groups))
        keep = _unique_cols(groups)  # identical candidates: keep the first
        groups, cols = groups[:, keep], cols[keep]
        keep = _undominated(groups)  # a candidate covering a subset of another's communes is never needed
        groups, cols = groups[:, keep], cols[keep]
        kk = min(kk, len(cols))
        ng, nc = groups.shape[0], groups.shape[1]
        if kk <= 2:  # exact by enumeration: one site, or every pair through one weighted overlap product
            chosen = _best_pair(groups, wg, kk, cols)
            return self._result(chosen, "optimal", "", n_var=nc, n_con=0, greedy_objective=greedy_obj,
                                excluded=excluded)
        # y_g <= sum_j a_gj x_j ;  sum_j x_j <= k
        cover = sp.hstack([-sp.csr_matrix(groups.astype(float)), sp.identity(ng, format="csr")])
        card = sp.hstack([sp.csr_matrix(np.ones((1, nc))), sp.csr_matrix((1, ng))])
        A_ub = sp.vstack([cover, card], format="csr")
        c = np.r_[np.zeros(nc), -wg]
        # greedy's coverage is a valid lower bound: HiGHS gets it as an objective cutoff (relaxed by less than one
        # inhabitant so that greedy's own solution stays feasible) to prune the search; a small cut pool keeps the
        # root cut loop from dominating the solve time on dense instances (measured in bench/bench_siting.py)
        gained = greedy_obj - float(w[(inst.existing <= T)].sum())
        margin = 0.5 if np.all(np.mod(wg, 1) == 0) else 1e-7 * max(1.0, abs(gained))
        status, x, msg = _milp(c, A_ub, -np.inf, np.r_[np.zeros(ng), kk], np.r_[np.ones(nc), np.zeros(ng)],
                               self.time_limit_s, objective_bound=-(gained - margin), mip_pool_soft_limit=100)
        chosen = cols[x[:nc] > 0.5] if x is not None else []
        return self._result(chosen, status, "" if status == "optimal" else msg, n_var=nc + ng, n_con=ng + 1,
                            greedy_objective=greedy_obj, excluded=excluded)


@register_model("lscp", title="set covering (exact, HiGHS)", objective="coverage", options=("time_limit_s",))
class LSCP(LocationModel):
    """Location set covering: fewest new sites so that every commune is within ``threshold`` minutes.

    ``k`` is ignored (the result's ``k`` is the number of sites needed). Communes that no candidate can ever bring
    within the threshold are reported in ``excluded`` and in the message, and left out of the covering constraints,
    so the model stays feasible.
    """

    name = "lscp"
    objective = "coverage"

    def __init__(self, population, existing_minutes, candidate_minutes, k=None, threshold=None, *,
                 time_limit_s=None):
        super().__init__(population, existing_minutes, candidate_minutes, 0, threshold, time_limit_s=time_limit_s)

    @classmethod
    def from_instance(cls, instance, k=None, *, time_limit_s=None):
        return super().from_instance(instance, 0, time_limit_s=time_limit_s)

    def _solve(self):
        inst = self.instance
        T = inst.threshold
        A = inst.minutes <= T
        need = inst.existing > T
        coverable = need & A.any(axis=1)
        lost = need & ~coverable
        excluded = pd.concat([
            _excluded(inst, ~inst.servable, _UNREACHABLE),
            _excluded(inst, lost & inst.servable, f"no candidate within {T:g} min"),
        ], ignore_index=True)
        notes = []
        if lost.any():
            notes.append(
                f"{int(lost.sum())} commune(s) ({inst.population[lost].sum():.0f} inhabitants) cannot be brought "
                f"within {T:g} min by any candidate and are excluded from the covering constraints (see excluded): "
                f"{_few(inst.codes[lost], 20)}")
        rows = np.flatnonzero(coverable)
        sub = A[rows]
        status, chosen, n_var, n_con, msg = set_cover(sub, self.time_limit_s)
        if status != "optimal":
            notes.append(msg)
        greedy_cols = _greedy_set_cover(sub) if rows.size else []
        greedy_count = len(greedy_cols)
        if status.startswith("time_limit") and (status.endswith("no_solution") or len(chosen) > greedy_count):
            chosen, status = np.asarray(greedy_cols, dtype=int), "time_limit"
            notes.append("time limit reached before the MILP beat the greedy set cover: greedy's sites are returned")
        # an LSCP solution has no useless site, but order it like greedy (population first) for readability
        order, steps = greedy_order(inst, chosen, "coverage", stop=False)
        res = self._result(order, status, "; ".join(notes), keep_all=True, n_var=n_var, n_con=n_con,
                           excluded=excluded, k=len(order))
        res.objective_name = "new_sites"
        res.baseline = 0.0
        res.objective = float(len(order)) if status in ("optimal", "time_limit") else float("nan")
        res.greedy_objective = float(greedy_count)
        if np.isfinite(res.objective):
            res.gap = float(greedy_count - res.objective)
            res.gap_pct = 100.0 * res.gap / res.objective if res.objective else 0.0
        res.extra["uncoverable_codes"] = list(inst.codes[lost])
        return res

    def _notes(self):
        return []


@register_model("pmedian", title="p-median (exact, HiGHS)", objective="pmedian")
class PMedian(LocationModel):
    """p-median with the existing sites fixed: minimise the total population-weighted minutes with ``k`` new sites.

    Each commune is assigned to its existing site or to an open candidate; only candidate-commune pairs where the
    candidate beats the existing time get a variable. Communes with no existing site in reach must be assigned to
    a candidate: if ``k`` sites cannot serve them all, the result is ``infeasible`` and names them.
    """

    name = "pmedian"
    objective = "pmedian"

    def _solve(self):
        inst = self.instance
        greedy_obj = _greedy_value(self, "pmedian")
        status, chosen, n_var, n_con, msg = _pmedian_milp(inst, self.k, np.inf, self.time_limit_s)
        if status == "infeasible":
            must = inst.servable & np.isinf(inst.existing)
            msg = (f"infeasible: {int(must.sum())} commune(s) have no existing site in reach and {self.k} new site(s) "
                   f"cannot serve them all: {_few(inst.codes[must], 20)}")
        return self._result(chosen, status, "" if status == "optimal" else msg, n_var=n_var, n_con=n_con,
                            greedy_objective=greedy_obj)


@register_model("pcenter", title="p-center (exact, HiGHS)", objective="pcenter")
class PCenter(LocationModel):
    """p-center with the existing sites fixed: minimise the maximum minutes over the servable communes.

    Solved exactly as the smallest radius R (among the matrix values) whose covering problem needs at most ``k``
    new sites (binary search, one set-cover MILP per probe), then, among the sets achieving R, the one with the
    least total weighted minutes (a radius-constrained p-median MILP), so the chosen sites are meaningful beyond the
    single worst commune.
    """

    name = "pcenter"
    objective = "pcenter"

    def _solve(self):
        inst = self.instance
        S = inst.servable
        e, D = inst.existing, inst.minutes
        greedy_obj = _greedy_value(self, "pcenter")
        kk = min(self.k, inst.m)
        if not S.any():
            return self._result([], "optimal", "no servable commune", greedy_objective=greedy_obj)
        if kk == 0:
            return self._result([], "optimal", "k = 0" if self.k == 0 else "no candidates",
                                greedy_objective=greedy_obj)
        lower = float(np.minimum(e[S], D[S].min(axis=1)).max())  # every candidate open
        upper = greedy_obj if np.isfinite(greedy_obj) else np.inf
        vals = np.unique(np.r_[e[S], D[S].ravel()])
        vals = vals[np.isfinite(vals) & (vals >= lower) & (vals <= upper)]
        statuses, sizes = [], [0, 0]

        def feasible(radius: float) -> bool:
            rows = S & (e > radius)
            if not rows.any():
                return True
            cover = D[rows] <= radius
            if not cover.any(axis=1).all():
                return False
            if len(_greedy_set_cover(cover)) <= kk:
                return True
            status, chosen, n_var, n_con, _ = set_cover(cover, self.time_limit_s)
            statuses.append(status)
            sizes[:] = max(sizes[0], n_var), max(sizes[1], n_con)
            return status == "optimal" and len(chosen) <= kk

        if vals.size == 0 or (not np.isfinite(upper) and not feasible(vals[-1])):
            must = S & np.isinf(e)
            return self._result([], "infeasible",
                                f"infeasible: {kk} new site(s) cannot reach every commune that has no existing site "
                                f"in reach: {_few(inst.codes[must], 20)}", greedy_objective=greedy_obj)
        lo, hi = 0, vals.size - 1  # invariant: vals[hi] feasible
        while lo < hi:
            mid = (lo + hi) // 2
            if feasible(vals[mid]):
                hi = mid
            else:
                lo = mid + 1
        radius = float(vals[hi])
        status, chosen, n_var, n_con, msg = _pmedian_milp(inst, kk, radius, self.time_limit_s)
        statuses.append(status)
        worst = "optimal" if all(s == "optimal" for s in statuses) else next(s for s in statuses if s != "optimal")
        return self._result(chosen, worst, "" if worst == "optimal" else msg, n_var=max(n_var, sizes[0]),
                            n_con=max(n_con, sizes[1]), greedy_objective=greedy_obj)


#: name -> class of every registered model (see :mod:`fsgeo.siting.registry`)
MODELS = {name: spec.cls for name, spec in model_specs().items()}
