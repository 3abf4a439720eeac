"""A validated siting instance: population, existing access times and candidate times as aligned numpy arrays.

Every location model and the per-candidate scores work on an :class:`Instance`; building one is where bad input is
caught (NaN, negative minutes, duplicated ids, misaligned communes), with messages naming the commune or candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fsgeo.matrix import TravelTimes, aligned
from fsgeo.settings import settings


def _input_error(message: str) -> ValueError:
    """The package's input error (``fsgeo.io.InputError``, a ``ValueError``) when available."""
    try:
        from fsgeo.io import InputError
    except ImportError:  # the io module is optional for the matrix core
        return ValueError(message)
    return InputError(message)


def _few(values, limit: int = 5) -> str:
    values = [str(v) for v in values]
    more = f" (+{len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


@dataclass(frozen=True, eq=False)
class Instance:
    """Aligned arrays of one siting problem (read-only; build it with :func:`make_instance`).

    Attributes
    ----------
    codes : numpy.ndarray of str, shape (n,)
        Commune codes (the demand points).
    candidates : numpy.ndarray of str, shape (m,)
        Candidate ids, in the order of the columns of ``minutes``.
    population : numpy.ndarray of float, shape (n,)
        Demand weights (inhabitants).
    existing : numpy.ndarray of float, shape (n,)
        Minutes from each commune to its nearest existing site (``inf`` when none is reachable).
    minutes : numpy.ndarray of float, shape (n, m)
        Minutes from each commune to each candidate (``inf`` beyond reach).
    threshold : float
        Coverage threshold, minutes.
    """

    codes: np.ndarray
    candidates: np.ndarray
    population: np.ndarray
    existing: np.ndarray
    minutes: np.ndarray
    threshold: float

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def m(self) -> int:
        return len(self.candidates)

    @property
    def servable(self) -> np.ndarray:
        """Communes that the existing sites or at least one candidate can reach (finite time)."""
        return np.isfinite(self.existing) | np.isfinite(self.minutes).any(axis=1)

    def times_with(self, cols) -> np.ndarray:
        """Minutes from each commune to its nearest facility once candidates ``cols`` (positions) are opened."""
        cols = np.asarray(cols, dtype=int)
        if cols.size == 0:
            return self.existing.copy()
        return np.minimum(self.existing, self.minutes[:, cols].min(axis=1))

    def served_by(self, cols) -> np.ndarray:
        """Position of the opened candidate serving each commune, -1 for an existing site (ties: existing first)."""
        cols = np.asarray(cols, dtype=int)
        out = np.full(self.n, -1)
        if cols.size == 0:
            return out
        sub = self.minutes[:, cols]
        best = sub.argmin(axis=1)
        better = sub[np.arange(self.n), best] < self.existing
        out[better] = cols[best[better]]
        return out

    def subset(self, cols) -> "Instance":
        """The same communes with only candidates ``cols`` (positions)."""
        cols = np.asarray(cols, dtype=int)
        return Instance(self.codes, self.candidates[cols], self.population, self.existing, self.minutes[:, cols],
                        self.threshold)


def resolve_threshold(threshold) -> float:
    """``threshold`` in minutes, or ``settings.threshold_min`` when None; must be finite and > 0."""
    value = settings.threshold_min if threshold is None else threshold
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise _input_error(f"threshold must be a number of minutes, got {threshold!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise _input_error(f"threshold must be a finite number of minutes > 0, got {threshold!r}")
    return value


def make_instance(population, existing_minutes, candidate_minutes, threshold=None) -> Instance:
    """Validate and align the inputs of a siting problem.

    Parameters
    ----------
    population : pandas.Series
        Inhabitants per commune, indexed by commune code. Defines the demand: rows of the two matrices that are not
        in this index are ignored.
    existing_minutes : pandas.Series
        Minutes from each commune to its nearest existing site, indexed by commune code; ``inf`` when there is none
        or it is unreachable.
    candidate_minutes : fsgeo.matrix.TravelTimes or pandas.DataFrame
        Minutes from each commune (rows, commune codes) to each candidate (columns, candidate ids); ``inf`` beyond
        reach. From a ``TravelTimes`` the communes that could not be routed reach no candidate (``inf``).
    threshold : float, optional
        Coverage threshold, minutes (default ``fsgeo.settings.threshold_min``).

    Returns
    -------
    Instance

    Raises
    ------
    fsgeo.io.InputError
        (a ``ValueError``) naming the commune or candidate at fault: NaN or negative values, duplicated codes or ids,
        communes missing from a matrix, no communes at all.
    """
    threshold = resolve_threshold(threshold)
    if not isinstance(population, pd.Series):
        raise _input_error(
            f"population must be a pandas Series indexed by commune code, got {type(population).__name__}")
    if not isinstance(existing_minutes, pd.Series):
        raise _input_error(
            f"existing_minutes must be a pandas Series indexed by commune code, got {type(existing_minutes).__name__}")
    if isinstance(candidate_minutes, TravelTimes):
        # a commune the router could not place reaches no candidate (inf; coverage gives its reason); a candidate
        # it could not place keeps its NaN column: an error naming it (drop it first, as rank_candidates does)
        unrouted = candidate_minutes.minutes.index.astype(str).isin(candidate_minutes.unrouted.index)
        candidate_minutes = candidate_minutes.minutes.copy()
        candidate_minutes.iloc[unrouted] = np.inf
    if not isinstance(candidate_minutes, pd.DataFrame):
        raise _input_error(
            "candidate_minutes must be a pandas DataFrame (communes x candidates), "
            f"got {type(candidate_minutes).__name__}")
    if len(population) == 0:
        raise _input_error("no communes: population is empty, there is no demand to serve")

    codes = population.index.astype(str)
    dup = codes[codes.duplicated()]
    if len(dup):
        raise _input_error(f"population: duplicated commune code(s) {_few(dup.unique())}")
    pop = pd.to_numeric(population, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any():
        raise _input_error(
            f"population must be a finite number >= 0 for every commune; invalid for commune(s) "
            f"{_few(codes[bad])} (values {_few(population.to_numpy()[bad])})")

    # the one alignment of a minutes frame (fsgeo.matrix.aligned): missing, duplicated, non-numeric or negative
    # values are errors naming the commune or candidate
    existing = aligned(existing_minutes, codes, name="existing_minutes")
    if np.isnan(existing).any():
        raise _input_error(
            f"existing_minutes is NaN for commune(s) {_few(codes[np.isnan(existing)])} "
            "(did snapping fail? use inf for 'no reachable site')")
    minutes = aligned(candidate_minutes, codes, name="candidate_minutes", col_what="candidate")
    cand_ids = candidate_minutes.columns.astype(str)
    nan = np.isnan(minutes)
    if nan.any():
        cols = np.flatnonzero(nan.any(axis=0))
        first = cols[0]
        raise _input_error(
            f"candidate_minutes is NaN for candidate(s) {_few(cand_ids[cols])}; e.g. candidate {cand_ids[first]!r} "
            f"from commune(s) {_few(codes[nan[:, first]])} (did snapping fail? use inf for 'unreachable')")

    return Instance(
        codes=np.asarray(codes, dtype=object),
        candidates=np.asarray(cand_ids, dtype=object),
        population=pop,
        existing=existing,
        minutes=np.ascontiguousarray(minutes),
        threshold=threshold,
    )
