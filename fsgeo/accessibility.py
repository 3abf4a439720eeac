"""Floating-catchment accessibility: supply within reach per 1,000 inhabitants (2SFCA and its decay variants).

Nearest-site minutes say how far the closest France Services space is; they ignore that a space open 8 h a week for
20,000 people is not the same service as one open 35 h a week for 5,000. The two-step floating catchment area method
(2SFCA, Luo & Wang 2003) weighs both:

1. for every site *j*, the demand within its catchment: ``D_j = sum_i P_i w(t_ij)`` (inhabitants), and its ratio
   ``R_j = S_j / D_j`` (supply per inhabitant within reach);
2. for every commune *i*, the sum of the ratios of the sites it reaches: ``A_i = sum_j R_j w(t_ij)``.

``t_ij`` is the drive time in **minutes** from commune *i*'s demand point to site *j*, ``P_i`` its population, ``S_j``
the site's supply (by default its weekly opening hours), and ``w`` a weight that is 0 beyond the catchment threshold.
fsgeo reports ``A_i`` per 1,000 inhabitants: with the default supply it reads "hours of opening per week per 1,000
inhabitants within reach". Since the same weights serve both steps, the supply is conserved whatever the decay:
``sum_i P_i A_i / 1000 = sum_j S_j`` over the sites with inhabitants within reach, so the population-weighted mean
accessibility is the total supply per 1,000 inhabitants; ``accessibility_index`` divides by that mean (the
normalisation of PySAL ``access``'s ``normalize=True``). With ``outside_demand`` (inhabitants outside the study area,
counted in step 1 only), the part of the supply they take (``supply_to_outside`` in the result's attrs) leaves the
sum: ``sum_i P_i A_i / 1000 + supply_to_outside = sum_j S_j``.

Weights (``decay``):

``None`` / ``"2sfca"``
    classic 2SFCA, Luo W. & Wang F. (2003), "Measures of spatial accessibility to health care in a GIS environment:
    synthesis and a case study in the Chicago region", *Environment and Planning B* 30(6):865-884,
    doi:10.1068/b29120 -- ``w = 1`` for ``t <= threshold``, else 0.
``"e2sfca"``
    enhanced 2SFCA, Luo W. & Qi Y. (2009), "An enhanced two-step floating catchment area (E2SFCA) method for
    measuring spatial accessibility to primary care physicians", *Health & Place* 15(4):1100-1107,
    doi:10.1016/j.healthplace.2009.06.002 -- step weights 1.00 / 0.68 / 0.22 for the travel-time zones 0-10, 10-20
    and 20-30 min of a 30-min catchment (:data:`LUO_QI_2009_STEPS`; the same default as PySAL ``access``'s
    ``enhanced_two_stage_fca``). With another threshold the three zones are scaled to thirds of it. Zone upper
    bounds are inclusive (10.0 min is in the first zone), as in ``access.weights.step_fn``.
``"gaussian"``
    Gaussian-based 2SFCA (Dai D. 2010, *Health & Place* 16(5):1038-1052; reviewed in Wang F. 2012, *Annals of the
    AAG* 102(5):1104-1112): ``w = (exp(-0.5 (t/T)^2) - exp(-0.5)) / (1 - exp(-0.5))`` for ``t <= T``, else 0,
    ``T`` = threshold: 1 at the site, falling smoothly to 0 at the threshold.
``dict`` ``{upper_minutes: weight}``
    any step function (upper bounds inclusive, 0 beyond the largest; the threshold defaults to the largest bound).
callable
    ``f(minutes: numpy.ndarray) -> numpy.ndarray`` of non-negative weights, applied to times within the threshold.

Input rules (no silent drop, no warning):

* supply: a column of ``sites`` (default ``weekly_open_hours``) whose values must all be finite and > 0 -- a missing,
  zero or negative value raises :class:`fsgeo.io.InputError` naming the site(s) (fsgeo's readers give NaN when a file
  has no opening hours and 0 when every day is blank, i.e. unknown hours) -- or a number used for every site
  (``supply=1`` counts sites: "sites within reach per 1,000 inhabitants").
* communes with no site in reach get ``accessibility`` 0 and ``status`` ``no_site_in_reach``; communes whose point
  could not be routed get 0 and ``status`` ``unreachable``, with the reason; the rest are ``served``.
* sites whose catchment holds no inhabitant have ``ratio`` NaN (status ``no_demand_in_reach``) and give nothing;
  sites that could not be routed are ``unroutable``.

Edge effect and ``outside_demand``: the sites of neighbouring départements (and the département's own sites near
its boundary) also serve the inhabitants across the boundary. Left out of step 1, they make those sites' ratios and
the accessibility of the border communes using them optimistic. On the embedded data (81 sites, 30-min 2SFCA,
weekly opening hours), with the 536 communes of Haute-Saône as the only demand, the Langres space (52) shares its
27 h among the 61 inhabitants of La Quarte, which scores 465.3 h/week per 1,000; the population-weighted mean is
8.26 and 61 % of it is owed to neighbouring sites. Counting the 1,220 neighbouring communes within 30 km
(:func:`fsgeo.datasets.load_neighbour_communes`, 1.25 million inhabitants, 1.24 million of them within 30 min of a
site) as ``outside_demand``: La Quarte 5.91, mean 2.74 (maximum 6.23), 21 % owed to neighbouring sites, and
1,612 of the 2,251 h go to the outside inhabitants. ``fsgeo accessibility`` does that by default on the embedded
data. What remains: demand beyond 30 km of the boundary (where the embedded network stops) and in départements
that are not neighbours (Haut-Rhin) is not counted, so sites whose catchment reaches that far stay a little
optimistic. ``accessibility_neighbours`` gives the part of each commune's accessibility owed to sites of other
départements; ``coverage.select_sites(..., own_departement_only=True)`` runs with the département's own sites only.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from fsgeo.coverage import weighted_quantile
from fsgeo.errors import require, shown
from fsgeo.io import InputError, commune_table
from fsgeo.matrix import ROUTING_FAILED, TravelTimes, no_site_reason, site_table
from fsgeo.settings import settings

__all__ = [
    "LUO_QI_2009_STEPS",
    "PER_INHABITANTS",
    "FCAResult",
    "two_step_fca",
    "decay_function",
    "summary",
]

#: accessibility and ratios are expressed per this many inhabitants
PER_INHABITANTS = 1000

#: Luo & Qi (2009) E2SFCA zones: (upper bound in minutes, inclusive; weight), for a 30-min catchment
LUO_QI_2009_STEPS = ((10.0, 1.0), (20.0, 0.68), (30.0, 0.22))

COMMUNE_COLUMNS = [
    "code", "name", "departement", "population", "accessibility", "accessibility_index", "accessibility_neighbours",
    "sites_in_reach",
    "nearest_site_id", "nearest_minutes", "status", "reason",
]
SITE_COLUMNS = [
    "id", "name", "departement", "supply", "demand_within", "demand_outside", "communes_in_reach", "ratio", "status",
    "reason",
]
COMMUNE_STATUSES = ("served", "no_site_in_reach", "unreachable")
SITE_STATUSES = ("ok", "no_demand_in_reach", "unroutable")


class FCAResult(NamedTuple):
    """What :func:`two_step_fca` returns; unpacks as ``communes, sites = two_step_fca(...)``."""

    #: one row per commune (order of the input), EPSG:4326 polygons when the input had geometry: ``code``, ``name``,
    #: ``departement``, ``population``, ``accessibility`` (supply per 1,000 inhabitants), ``accessibility_index``
    #: (accessibility / population-weighted mean: 1 = the average inhabitant), ``accessibility_neighbours`` (the
    #: part of ``accessibility`` owed to sites of other départements than the communes'), ``sites_in_reach``
    #: (sites with a positive weight), ``nearest_site_id``, ``nearest_minutes`` (minutes, may exceed the threshold;
    #: NaN when none), ``status`` (``served`` | ``no_site_in_reach`` | ``unreachable``), ``reason``. ``attrs["fsgeo"]``
    #: also counts the outside demand: ``outside_communes``, ``outside_population``, ``outside_communes_in_reach``,
    #: ``outside_population_in_reach`` (inhabitants with a positive weight to some site),
    #: ``outside_communes_not_routed``, ``outside_population_not_routed``, ``supply_to_outside`` (supply units taken
    #: by outside inhabitants).
    communes: pd.DataFrame
    #: one row per site (order of the input): ``id``, ``name``, ``departement``, ``supply`` (supply units),
    #: ``demand_within`` (weighted inhabitants within the catchment, outside demand included), ``demand_outside``
    #: (the part of it living outside the study area), ``communes_in_reach`` (communes studied), ``ratio`` (supply per
    #: 1,000 inhabitants within reach; NaN when nobody is within reach), ``status`` (``ok`` | ``no_demand_in_reach``
    #: | ``unroutable``), ``reason``; Point geometry (EPSG:4326) when the input had one.
    sites: pd.DataFrame

    # one result type (fsgeo.results): the communes are the table, the sites an extra table
    @property
    def table(self) -> pd.DataFrame:
        """The per-commune table (``communes``)."""
        return self.communes

    @property
    def meta(self) -> dict:
        """Parameters and totals (``communes.attrs["fsgeo"]``): method, weights, threshold, unit, supply..."""
        return dict(self.communes.attrs.get("fsgeo", {}))

    def summary(self) -> dict:
        """Headline figures (:func:`summary`)."""
        return summary(self)

    def to_records(self) -> list[dict]:
        """The communes as plain dicts (no geometry, NaN -> None)."""
        from fsgeo.results import records

        return records(self.communes)

    def to_dict(self) -> dict:
        """JSON-ready: ``kind``, ``meta``, ``summary``, ``records`` (communes) and ``sites``: what could not be
        serialised before (a NamedTuple of DataFrames)."""
        return self.as_result().to_dict()

    def as_result(self):
        from fsgeo.results import Result

        return Result("accessibility", self.communes, self.meta, extra={"sites": self.sites},
                      _summary=self.summary)


# --------------------------------------------------------------------------------------------------------------------
# distance decay
# --------------------------------------------------------------------------------------------------------------------
def _step(steps) -> Callable[[np.ndarray], np.ndarray]:
    bounds = np.array([float(b) for b, _ in steps])
    values = np.array([float(w) for _, w in steps])

    def weight(t: np.ndarray) -> np.ndarray:
        # first zone whose (inclusive) upper bound holds t; beyond the last one: 0
        i = np.searchsorted(bounds, t, side="left")
        return np.where(i < len(bounds), values[np.minimum(i, len(bounds) - 1)], 0.0)

    return weight


def _gaussian(threshold: float) -> Callable[[np.ndarray], np.ndarray]:
    floor = math.exp(-0.5)

    def weight(t: np.ndarray) -> np.ndarray:
        return np.where(t <= threshold, (np.exp(-0.5 * (t / threshold) ** 2) - floor) / (1.0 - floor), 0.0)

    return weight


def decay_function(decay, threshold_min: float):
    """Weight function of a decay option, for a catchment of ``threshold_min`` minutes.

    Parameters
    ----------
    decay : None, {"2sfca", "e2sfca", "gaussian"}, dict or callable
        See the module documentation.
    threshold_min : float
        Catchment threshold, minutes.

    Returns
    -------
    weight : callable
        ``weight(minutes: ndarray) -> ndarray`` (dimensionless weights, only called with times <= threshold).
    method : str
        ``"2sfca"``, ``"e2sfca"``, ``"gaussian"`` or ``"custom"``.
    description : str
        Human-readable description of the weights (zones in minutes).
    """
    t = float(threshold_min)
    if decay is None or (isinstance(decay, str) and decay.lower() == "2sfca"):
        return (lambda m: np.ones_like(m, dtype=float)), "2sfca", f"weight 1 up to {t:g} min (Luo & Wang 2003)"
    if isinstance(decay, str):
        key = decay.lower()
        if key == "e2sfca":
            steps = tuple((b * t / 30.0, w) for b, w in LUO_QI_2009_STEPS)
            zones = ", ".join(f"{lo:g}-{hi:g} min: {w:g}" for (lo, (hi, w)) in
                              zip([0.0] + [b for b, _ in steps[:-1]], steps))
            return _step(steps), "e2sfca", f"step weights {zones} (Luo & Qi 2009)"
        if key == "gaussian":
            return _gaussian(t), "gaussian", f"Gaussian weight falling from 1 to 0 at {t:g} min (Dai 2010)"
        raise ValueError(f"unknown decay {decay!r}: expected None, '2sfca', 'e2sfca', 'gaussian', a dict "
                         "{upper_minutes: weight} or a function")
    if isinstance(decay, dict):
        if not decay:
            raise ValueError("decay steps are empty: expected {upper_minutes: weight, ...}")
        try:
            steps = sorted((float(b), float(w)) for b, w in decay.items())
        except (TypeError, ValueError):
            raise ValueError(f"decay steps {decay!r}: bounds and weights must be numbers") from None
        if any(not (math.isfinite(b) and b > 0) for b, _ in steps):
            raise ValueError(f"decay steps {decay!r}: upper bounds must be finite minutes > 0")
        if any(not (math.isfinite(w) and w >= 0) for _, w in steps):
            raise ValueError(f"decay steps {decay!r}: weights must be finite and >= 0")
        zones = ", ".join(f"{lo:g}-{hi:g} min: {w:g}" for (lo, (hi, w)) in
                          zip([0.0] + [b for b, _ in steps[:-1]], steps))
        return _step(steps), "custom", f"step weights {zones}"
    if callable(decay):
        name = getattr(decay, "__name__", type(decay).__name__)
        return decay, "custom", f"custom weight function {name}"
    raise ValueError(f"invalid decay {decay!r}: expected None, '2sfca', 'e2sfca', 'gaussian', a dict or a function")


# --------------------------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------------------------
def _supply(sites, st: pd.DataFrame, supply) -> tuple[np.ndarray, str]:
    """Supply per site (its units) and a label of those units."""
    if isinstance(supply, bool):
        raise ValueError(f"invalid supply {supply!r}: expected a column name of the sites or a number > 0")
    if isinstance(supply, numbers.Real):
        value = float(supply)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"supply must be a number > 0 (the same for every site), got {supply!r}")
        return np.full(len(st), value), ("sites" if value == 1 else f"{value:g} supply units per site")
    if not isinstance(supply, str):
        raise ValueError(f"invalid supply {supply!r}: expected a column name of the sites or a number > 0")
    if supply not in sites.columns:
        raise InputError(f"sites have no {supply!r} column to use as supply: name a numeric column, or give a "
                         "number (e.g. supply=1 to count sites)")
    values = pd.to_numeric(sites[supply], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        listed = "; ".join(f"site {i!r} ({n}): {shown(v)}" for i, n, v in
                           zip(st["id"][bad][:5], st["name"][bad][:5], sites[supply].to_numpy()[bad][:5]))
        more = f" and {int(bad.sum()) - 5} more" if bad.sum() > 5 else ""
        raise InputError(f"{int(bad.sum())} site(s) without a usable {supply} (missing, zero or negative): {listed}"
                         f"{more}. Fix the sites file, drop these sites, or give a number as supply "
                         "(e.g. supply=1 to count sites)")
    label = "opening hours per week" if supply == "weekly_open_hours" else supply
    return values, label


def _points_table(communes, what: str) -> pd.DataFrame:
    missing = [c for c in ("point_lon", "point_lat") if c not in communes.columns]
    if missing:
        raise InputError(f"{what}s lack column(s) {', '.join(missing)} (demand point, degrees) to be routed: "
                         "load them with fsgeo.datasets, or give a minutes matrix")
    return pd.DataFrame({"code": communes["code"].astype(str).to_numpy(),
                         "point_lon": communes["point_lon"].to_numpy(), "point_lat": communes["point_lat"].to_numpy()})


def _matrix(communes, sites, ct, st, network, minutes, outside=None, ot=None):
    """Minutes (n x k float array), commune reasons, site reasons and the outside-demand minutes (m x k, or None),
    from the one matrix (:class:`fsgeo.matrix.TravelTimes`): routed here, or the one given."""
    if minutes is None:
        require(network, "network", "two_step_fca", "a fsgeo.network.RoadNetwork, or give minutes= instead")
        # the outside-demand points go in the same matrix (one snapping of the sites, one search)
        origins = communes
        if outside is not None:
            origins = pd.concat([_points_table(communes, "commune"), _points_table(outside, "outside-demand commune")],
                                ignore_index=True)
        times = TravelTimes.route(network, origins, sites)
        rows_alt = cols_alt = None
    elif network is not None:
        raise ValueError("give either a road network or a minutes matrix, not both")
    else:
        # a matrix straight from routing.travel_time_matrix(network, demand_points(communes), sites) keeps the
        # frames' own index: accepted in place of codes and ids
        times = TravelTimes.from_frame(minutes)
        rows_alt, cols_alt = communes.index, sites.index
    M = times.values(ct["code"], st["id"], rows_alt=rows_alt, cols_alt=cols_alt)
    M_out = None
    if outside is not None:
        M_out = times.values(ot["code"], st["id"], row_what="outside-demand commune", cols_alt=cols_alt)
    return M, times.reasons, times.site_reasons(), M_out


def _with_geometry(out: pd.DataFrame, source) -> pd.DataFrame:
    """``out`` with the geometry of ``source`` row by row, in EPSG:4326, when ``source`` has a CRS-aware one."""
    if not isinstance(source, gpd.GeoDataFrame) or source.active_geometry_name is None or source.crs is None:
        return out
    return gpd.GeoDataFrame(out, geometry=source.geometry.to_numpy(), crs=source.crs).to_crs(settings.crs)


# --------------------------------------------------------------------------------------------------------------------
# the method
# --------------------------------------------------------------------------------------------------------------------
def two_step_fca(communes, sites, network=None, minutes=None, threshold_min=None, supply="weekly_open_hours",
                 decay=None, outside_demand=None) -> FCAResult:
    """Two-step floating catchment area accessibility of every commune (supply per 1,000 inhabitants in reach).

    Parameters
    ----------
    communes : geopandas.GeoDataFrame or pandas.DataFrame
        ``code`` (str), ``population`` (inhabitants, >= 0), optionally ``name``, ``departement``; polygons and
        ``point_lon``/``point_lat`` (degrees) when times are routed here (``load_communes()`` schema).
    sites : geopandas.GeoDataFrame or pandas.DataFrame
        ``id`` (str), optionally ``name``, ``departement``, the ``supply`` column, Point geometry when routed here.
        Every site given counts: select them first (e.g. :func:`fsgeo.coverage.select_sites`).
    network : fsgeo.network.RoadNetwork, optional
        Road network for the drive times when ``minutes`` is not given (one of the two is required).
    minutes : pandas.DataFrame, optional
        Drive times in **minutes**, communes x sites: index = commune codes, columns = site ids (or the index of
        ``communes`` / ``sites``, as returned by ``routing.travel_time_matrix(network, demand_points(communes),
        sites)``). ``inf`` = unreachable; ``NaN`` = could not be routed (a commune whose row is all NaN is
        ``unreachable``; a site whose column is all NaN is ``unroutable``).
    threshold_min : float, optional
        Catchment threshold, minutes: times above it weigh 0 (``t <= threshold`` is within reach). Default: the
        largest step of a dict ``decay``, else ``settings.commitment_min`` (30 min, the national commitment).
    supply : str or float
        Column of ``sites`` holding each site's supply (default ``weekly_open_hours``, hours per week; every value
        must be finite and > 0), or one number for every site (``1``: count sites).
    decay : None, {"2sfca", "e2sfca", "gaussian"}, dict or callable
        Distance-decay weights inside the catchment; ``None`` = classic 2SFCA (see the module documentation).
    outside_demand : geopandas.GeoDataFrame or pandas.DataFrame, optional
        Demand outside the study area (``code``, ``population`` in inhabitants, ``point_lon``/``point_lat`` when
        routed here; e.g. :func:`fsgeo.datasets.load_neighbour_communes`): counted in step 1 (each site's demand
        within reach) but given no result row. Codes must differ from the communes'. With ``minutes``, its index
        must hold these codes too.

    Returns
    -------
    FCAResult
        ``(communes, sites)``, see :class:`FCAResult`; ``communes.attrs["fsgeo"]`` records the method, threshold,
        weights, supply, unit and totals.

    Raises
    ------
    fsgeo.io.InputError
        Missing columns, duplicate codes or ids (also between ``communes`` and ``outside_demand``), bad populations,
        a site without usable supply (named), a minutes matrix lacking communes or sites or holding negative times.
    ValueError
        Bad ``threshold_min``, ``supply`` or ``decay``; both ``network`` and ``minutes`` given.
    """
    if threshold_min is None:
        threshold = max(float(b) for b in decay) if isinstance(decay, dict) and decay else settings.commitment_min
    else:
        threshold = threshold_min
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"threshold must be a number of minutes, got {threshold_min!r}") from None
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be finite and > 0 minutes, got {threshold_min!r}")
    weight_fn, method, weights_text = decay_function(decay, threshold)

    ct = commune_table(communes)
    ot = None
    if outside_demand is not None:
        ot = commune_table(outside_demand, "outside-demand commune")
        both = np.intersect1d(ct["code"].to_numpy(), ot["code"].to_numpy())
        if len(both):
            raise InputError(f"commune code(s) {', '.join(map(str, both[:5]))} are both in the communes and in the "
                             "outside demand: each inhabitant must count once")
    st = site_table(sites)
    S, unit = _supply(sites, st, supply)
    M, c_reasons, s_reasons, M_out = _matrix(communes, sites, ct, st, network, minutes, outside_demand, ot)
    n, k = M.shape
    P = ct["population"].to_numpy(dtype=float)

    def weights(times: np.ndarray) -> np.ndarray:
        # 0 beyond the threshold, for inf (unreachable) and NaN (not routed)
        within = np.isfinite(times) & (times <= threshold)
        out = np.zeros(times.shape)
        if within.any():
            w = np.asarray(weight_fn(times[within]), dtype=float)
            if w.shape != (int(within.sum()),) or not np.isfinite(w).all() or (w < 0).any():
                raise ValueError("decay weights must be finite and >= 0, one per time")
            out[within] = w
        return out

    W = weights(M)
    reach = W > 0
    if ot is not None:
        P_out = ot["population"].to_numpy(dtype=float)
        W_out = weights(M_out)
    else:
        P_out, W_out = np.zeros(0), np.zeros((0, k))

    # step 1: demand within each catchment (outside demand included) and supply-to-demand ratio;
    # step 2: sum of the ratios in reach, for the communes studied only
    demand_out = P_out @ W_out
    demand = P @ W + demand_out
    has_demand = demand > 0
    ratio = np.full(k, np.nan)
    ratio[has_demand] = S[has_demand] / demand[has_demand]
    R = np.where(has_demand, ratio, 0.0)
    A = W @ R * PER_INHABITANTS
    # the part owed to sites of other départements, whose own inhabitants are not in the demand (edge effect)
    deps = {d for d in ct["departement"] if d}
    neighbour = np.array([bool(deps) and bool(d) and d not in deps for d in st["departement"]], dtype=bool)
    A_neighbours = W @ np.where(neighbour, R, 0.0) * PER_INHABITANTS

    # nearest site (any time), for context and reasons
    finite = np.where(np.isnan(M), np.inf, M)
    if k:
        near_j = np.argmin(finite, axis=1)
        near_t = finite[np.arange(n), near_j]
    else:
        near_j, near_t = np.zeros(n, int), np.full(n, np.inf)
    has_near = np.isfinite(near_t)
    row_failed = np.isnan(M).all(axis=1) if k else np.zeros(n, bool)
    col_failed = np.isnan(M).all(axis=0) if n else np.zeros(k, bool)

    served = reach.any(axis=1)
    status = np.where(served, "served", np.where(row_failed & (k > 0), "unreachable", "no_site_in_reach"))
    reason = np.full(n, "", dtype=object)
    c_reasons = pd.Series(c_reasons, dtype=object)
    c_reasons.index = c_reasons.index.astype(str)
    for i in np.flatnonzero(~served):
        code = ct["code"].iat[i]
        if k == 0:
            reason[i] = "no site given"
        elif row_failed[i]:
            r = c_reasons.get(code)
            reason[i] = str(r) if r is not None and str(r) not in ("", "nan") else ROUTING_FAILED
        elif has_near[i]:
            sid, sname = st["id"].iat[near_j[i]], st["name"].iat[near_j[i]]
            reason[i] = (f"nearest site {sid}" + (f" ({sname})" if sname != sid else "") + f" at {near_t[i]:.1f} min"
                         + (f", beyond the {threshold:g}-min catchment" if near_t[i] > threshold
                            else " but weighted 0 by the decay"))
        else:  # the matrix's reason when it has one (no site on the commune's island), else none reachable
            r = c_reasons.get(code)
            reason[i] = str(r) if r is not None and str(r) not in ("", "nan") else no_site_reason()

    total = P.sum()
    mean = float(P @ A / total) if total > 0 else float("nan")
    out = pd.DataFrame({
        "code": ct["code"],
        "name": ct["name"],
        "departement": ct["departement"],
        "population": ct["population"].astype("int64") if (ct["population"] % 1 == 0).all() else ct["population"],
        "accessibility": A,
        "accessibility_index": A / mean if mean > 0 else np.full(n, np.nan),
        "accessibility_neighbours": A_neighbours,
        "sites_in_reach": reach.sum(axis=1).astype("int64"),
        "nearest_site_id": np.where(has_near, st["id"].to_numpy(dtype=object)[near_j] if k else None, None),
        "nearest_minutes": np.where(has_near, near_t, np.nan),
        "status": status,
        "reason": reason.astype(str),
    })
    out = _with_geometry(out, communes)

    s_reasons = pd.Series(s_reasons, dtype=object)
    s_reasons.index = s_reasons.index.astype(str)
    s_status = np.where(col_failed, "unroutable", np.where(has_demand, "ok", "no_demand_in_reach"))
    s_reason = np.full(k, "", dtype=object)
    for j in np.flatnonzero(s_status != "ok"):
        if col_failed[j]:
            r = s_reasons.get(st["id"].iat[j])
            s_reason[j] = str(r) if r is not None and str(r) not in ("", "nan") else "site could not be routed"
        elif reach[:, j].any() or (W_out[:, j] > 0).any():
            s_reason[j] = "only communes without inhabitants within reach"
        else:
            s_reason[j] = f"no commune within {threshold:g} min"
    site_out = pd.DataFrame({
        "id": st["id"],
        "name": st["name"],
        "departement": st["departement"],
        "supply": S,
        "demand_within": demand,
        "demand_outside": demand_out,
        "communes_in_reach": reach.sum(axis=0).astype("int64"),
        "ratio": ratio * PER_INHABITANTS,
        "status": s_status,
        "reason": s_reason.astype(str),
    })
    site_out = _with_geometry(site_out, sites)

    out.attrs["fsgeo"] = {
        "method": method,
        "weights": weights_text,
        "threshold_min": threshold,
        "supply": supply if isinstance(supply, str) else float(supply),
        "supply_unit": unit,
        "unit": f"{unit} per {PER_INHABITANTS:,} inhabitants",
        "per_inhabitants": PER_INHABITANTS,
        "population": float(total),
        "mean_accessibility": mean,
        "neighbour_share": float(P @ A_neighbours / (P @ A)) if P @ A > 0 else float("nan"),
        "n_sites_neighbour": int(neighbour.sum()),
        "n_sites": int(k),
        "total_supply": float(S.sum()),
        "supply_reaching_someone": float(S[has_demand].sum()),
        "sites_not_routed": st["id"][col_failed].tolist(),
        **_outside_meta(ot, P_out, W_out, M_out, S, demand, demand_out, has_demand),
    }
    return FCAResult(out, site_out)


def _outside_meta(ot, P_out, W_out, M_out, S, demand, demand_out, has_demand) -> dict:
    """Totals of the outside demand (inhabitants; supply in its units), for ``communes.attrs["fsgeo"]``."""
    if ot is None:
        return {"outside_communes": 0, "outside_population": 0.0, "outside_communes_in_reach": 0,
                "outside_population_in_reach": 0.0, "outside_communes_not_routed": 0,
                "outside_population_not_routed": 0.0, "supply_to_outside": 0.0}
    in_reach = (W_out > 0).any(axis=1)
    failed = np.isnan(M_out).all(axis=1) if M_out.shape[1] else np.zeros(len(ot), bool)
    # each site's supply splits between the study area and the outside in proportion to their demand within reach
    share_out = np.divide(demand_out, demand, out=np.zeros_like(demand), where=has_demand)
    return {
        "outside_communes": int(len(ot)),
        "outside_population": float(P_out.sum()),
        "outside_communes_in_reach": int(in_reach.sum()),
        "outside_population_in_reach": float(P_out[in_reach].sum()),
        "outside_communes_not_routed": int(failed.sum()),
        "outside_population_not_routed": float(P_out[failed].sum()),
        "supply_to_outside": float(S @ share_out),
    }


def summary(result) -> dict:
    """Headline figures of a :func:`two_step_fca` result (accessibility in its unit, populations in inhabitants).

    Parameters
    ----------
    result : FCAResult or pandas.DataFrame
        The result, or its ``communes`` frame.

    Returns
    -------
    dict
        ``method``, ``weights``, ``threshold_min``, ``unit``, ``n_communes``, ``population``, population-weighted
        ``mean``, ``median``, ``p10``, ``p90`` accessibility, ``min`` / ``max`` over communes, and ``communes`` /
        ``population`` per status, ``neighbour_share`` (share of the population-weighted accessibility owed to
        sites of other départements), ``outside_population`` and ``outside_population_in_reach`` (inhabitants of
        the outside demand, all / within reach of a site), ``supply_to_outside`` (supply units they take).
    """
    communes = result.communes if isinstance(result, FCAResult) else result
    meta = dict(communes.attrs.get("fsgeo", {}))
    a = communes["accessibility"].to_numpy(dtype=float)
    p = communes["population"].to_numpy(dtype=float)
    by_status = {s: {"communes": int((communes["status"] == s).sum()),
                     "population": int(round(p[(communes["status"] == s).to_numpy()].sum()))}
                 for s in COMMUNE_STATUSES}
    return {
        "method": meta.get("method"),
        "weights": meta.get("weights"),
        "threshold_min": meta.get("threshold_min"),
        "unit": meta.get("unit"),
        "n_communes": int(len(communes)),
        "population": int(round(p.sum())),
        "mean": float(p @ a / p.sum()) if p.sum() > 0 else float("nan"),
        "median": weighted_quantile(a, p, 0.5),
        "p10": weighted_quantile(a, p, 0.1),
        "p90": weighted_quantile(a, p, 0.9),
        "min": float(a.min()) if len(a) else float("nan"),
        "max": float(a.max()) if len(a) else float("nan"),
        "status": by_status,
        "neighbour_share": float(p @ communes["accessibility_neighbours"].to_numpy(dtype=float) / (p @ a))
        if "accessibility_neighbours" in communes.columns and p @ a > 0 else float("nan"),
        "outside_population": int(round(meta.get("outside_population", 0.0))),
        "outside_population_in_reach": int(round(meta.get("outside_population_in_reach", 0.0))),
        "supply_to_outside": meta.get("supply_to_outside", 0.0),
    }
