"""Calibrate the car profile against reference trips (a route planner's times and distances).

A préfecture exports trips from its own route planner (origin, destination, minutes and/or km), and
:func:`calibrate` fits the profile's ``circuity`` and its per-class speeds so that fsgeo's door-to-door times and
route lengths match them, then the fitted profile is written as a JSON file every command accepts (``--profile``).

Model. For a fixed route, fsgeo's time is ``access + sum over road classes c of (circuity x L_c + M_c) / v_c`` and its
length ``access length + sum over c of (circuity x L_c + M_c)``, where ``L_c`` is the straight waypoint length of the
route's Travel Mapping edges of class ``c`` (multiplied by ``circuity``) and ``M_c`` the length of its edges that
follow the road already (OpenStreetMap; these keep their own, ``maxspeed``-capped time, which is not fitted). The fit
minimises the log ratios ``log(fsgeo / reference)`` (minutes and km alike: a 10 % error weighs the same on a
5-minute and on a 60-minute trip; robust ``soft_l1`` loss by default) with ``scipy.optimize.least_squares`` within bounds (``circuity`` 1.0-1.8, speeds
20-140 km/h), plus a weak pull (weight :data:`PRIOR_WEIGHT`) towards the starting profile so that a class no trip uses
stays where it was. Routes depend on the speeds, so the fit alternates: route every trip, fit, route again, until the
routes stop changing (at most ``iterations`` rounds). Access legs and direct legs keep the profile's own settings.

Times alone cannot separate ``circuity`` from the speeds (only their ratio matters): without reference km the
``circuity`` stays at its starting value (reported), and only the speeds are fitted.

Trips file (CSV, ``,`` ``;`` or tab, UTF-8): one trip per row; the origin as ``origin_code`` (INSEE code: the commune's
demand point) or ``origin_lon`` + ``origin_lat`` (WGS84 degrees), the destination likewise (``destination_...``);
``minutes`` and/or ``km`` (at least one per row, > 0); ``source`` (where the reference comes from: required, e.g.
"Google Maps 2024-05-02 08:00"); an optional ``id``. Errors name the file, the row (line number) and the problem.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.sparse.csgraph import dijkstra

from fsgeo.errors import InputError
from fsgeo.io import read_table
from fsgeo.network import RoadNetwork
from fsgeo.profile import CarProfile, resolve_profile

__all__ = ["read_trips", "trip_points", "calibrate", "CalibrationResult", "error_stats", "retime",
           "SPEED_BOUNDS_KMH", "CIRCUITY_BOUNDS", "PRIOR_WEIGHT"]

SPEED_BOUNDS_KMH = (20.0, 140.0)
CIRCUITY_BOUNDS = (1.0, 1.8)
#: weight of the pull towards the starting profile, per parameter, in log units (0.02: a parameter 10 % off its
#: start costs as much as one trip 0.2 % off its reference)
PRIOR_WEIGHT = 0.02


# -- trips --------------------------------------------------------------------------------------------------------
def read_trips(path) -> pd.DataFrame:
    """Read and check a trips file (see the module notes for the columns).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``origin_code``, ``origin_lon``, ``origin_lat``, ``destination_code``, ``destination_lon``,
        ``destination_lat``, ``minutes``, ``km`` (NaN when absent), ``source``, ``line`` (line number in the file).
    """
    path = Path(path)
    df = read_table(path, "trips")
    for end in ("origin", "destination"):
        if f"{end}_code" not in df.columns and not {f"{end}_lon", f"{end}_lat"} <= set(df.columns):
            raise InputError(f"{path}: no {end}: give a column {end}_code (INSEE code) or {end}_lon and {end}_lat "
                             f"(columns found: {list(df.columns)})")
    if "minutes" not in df.columns and "km" not in df.columns:
        raise InputError(f"{path}: no reference: give a column minutes and/or km")
    if "source" not in df.columns:
        raise InputError(f"{path}: no column source (where each reference comes from)")
    if len(df) == 0:
        raise InputError(f"{path}: no trips in the file")
    rows = []
    for i, r in enumerate(df.to_dict("records")):
        line = i + 2
        where = f"{path}: row {line}"
        out = {"id": (r.get("id") or "").strip() or str(line - 1), "line": line}
        for end in ("origin", "destination"):
            code = (r.get(f"{end}_code") or "").strip()
            lon_t, lat_t = (r.get(f"{end}_lon") or "").strip(), (r.get(f"{end}_lat") or "").strip()
            out[f"{end}_code"] = code or None
            lon = lat = math.nan
            if lon_t or lat_t:
                try:
                    lon, lat = float(lon_t.replace(",", ".")), float(lat_t.replace(",", "."))
                except ValueError:
                    raise InputError(f"{where}: {end}_lon/{end}_lat {lon_t!r}, {lat_t!r} are not numbers") from None
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise InputError(f"{where}: {end} ({lon}, {lat}) is not a WGS84 longitude/latitude")
            elif not code:
                raise InputError(f"{where}: no {end}: give {end}_code or {end}_lon and {end}_lat")
            out[f"{end}_lon"], out[f"{end}_lat"] = lon, lat
        for col in ("minutes", "km"):
            text = (r.get(col) or "").strip()
            value = math.nan
            if text:
                try:
                    value = float(text.replace(",", "."))
                except ValueError:
                    raise InputError(f"{where}: {col} {text!r} is not a number") from None
                if not (math.isfinite(value) and value > 0):
                    raise InputError(f"{where}: {col} must be > 0, got {text!r}")
            out[col] = value
        if math.isnan(out["minutes"]) and math.isnan(out["km"]):
            raise InputError(f"{where}: no reference: give minutes and/or km")
        out["source"] = (r.get("source") or "").strip()
        if not out["source"]:
            raise InputError(f"{where}: source is empty (say where the reference comes from)")
        rows.append(out)
    trips = pd.DataFrame(rows)
    dup = trips["id"][trips["id"].duplicated()]
    if len(dup):
        raise InputError(f"{path}: duplicate trip ids {sorted(set(dup))[:10]}")
    return trips


def trip_points(trips: pd.DataFrame, communes: gpd.GeoDataFrame | None = None,
                path: str = "trips") -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Origin and destination points (EPSG:4326, indexed by trip id): coordinates as given, INSEE codes placed at
    the commune's demand point (``point_lon`` / ``point_lat`` of ``communes``); an unknown code names its row."""
    index = {}
    if communes is not None and len(communes):
        index = {str(c): (float(x), float(y)) for c, x, y in zip(communes["code"], communes["point_lon"],
                                                                  communes["point_lat"])}
    out = []
    for end in ("origin", "destination"):
        lon = trips[f"{end}_lon"].to_numpy(dtype=float).copy()
        lat = trips[f"{end}_lat"].to_numpy(dtype=float).copy()
        for k, (code, line) in enumerate(zip(trips[f"{end}_code"], trips["line"])):
            if np.isnan(lon[k]):
                if code not in index:
                    known = "no communes given" if not index else f"not among the {len(index)} communes of the study"
                    raise InputError(f"{path}: row {line}: {end}_code {code!r} is unknown ({known}); give "
                                     f"{end}_lon/{end}_lat, or the communes that contain it")
                lon[k], lat[k] = index[code]
        out.append(gpd.GeoDataFrame(index=pd.Index(trips["id"].to_numpy(), name="id"),
                                    geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"))
    return out[0], out[1]


# -- the model ----------------------------------------------------------------------------------------------------
def retime(network: RoadNetwork, profile) -> RoadNetwork:
    """The same network with the travel times of its Travel Mapping edges (those with ``line_length_m``) recomputed
    from ``profile`` (road length = straight length x circuity, speed of the class); other edges keep theirs."""
    prof = resolve_profile(profile)
    e = network.edges.copy()
    if "line_length_m" in e.columns:
        tm = e["line_length_m"].notna().to_numpy() & e["road_class"].isin(list(prof.road_class_speeds_kmh)).to_numpy()
        if tm.any():
            speed = e.loc[tm, "road_class"].map(prof.road_class_speeds_kmh).to_numpy(float)
            length = e.loc[tm, "line_length_m"].to_numpy(float) * prof.circuity
            e.loc[tm, "length_m"] = length
            e.loc[tm, "speed_kmh"] = speed
            e.loc[tm, "travel_time_s"] = length / (speed / 3.6)
    return RoadNetwork(network.nodes, e, prof, name=network.name, metric_crs=network.metric_crs)


def _edge_parts(network: RoadNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """For every entry of ``network.csr`` (the fastest edge of each node pair, same order as its ``data``): the
    index of its Travel Mapping class (-1 when not a TM edge), its straight length (TM, m), its own road length (other
    edges, m) and the class names."""
    e = network.edges
    index = pd.Index(network.node_ids)
    ui, vi = index.get_indexer(e["u"].to_numpy()), index.get_indexer(e["v"].to_numpy())
    t = e["travel_time_s"].to_numpy(float)
    order = np.lexsort((t, vi, ui))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (ui[order][1:] != ui[order][:-1]) | (vi[order][1:] != vi[order][:-1])
    rows = order[first]
    classes = sorted(network.profile.road_class_speeds_kmh)
    rc = e["road_class"].astype(object).to_numpy()[rows]
    line = e["line_length_m"].to_numpy(float)[rows] if "line_length_m" in e.columns else np.full(rows.size, np.nan)
    tm = np.isfinite(line) & np.isin(rc.astype(str), classes)
    cls = np.where(tm, pd.Index(classes).get_indexer(rc.astype(str)), -1)
    other_len = np.where(tm, 0.0, e["length_m"].to_numpy(float)[rows])
    other_time = np.where(tm, 0.0, t[rows])
    return cls, np.where(tm, line, 0.0), np.stack([other_len, other_time]), classes


@dataclass
class _Routes:
    line_by_class: np.ndarray    # trips x classes, straight TM length (m)
    fixed_len_m: np.ndarray      # road length of non-TM edges (m)
    fixed_time_s: np.ndarray     # their time (s)
    access_m: np.ndarray         # access legs' straight length, both ends (m)
    direct: np.ndarray           # bool: the direct leg wins (time and length are the straight leg's)
    direct_m: np.ndarray         # straight distance origin-destination (m)
    reachable: np.ndarray


def _route(network: RoadNetwork, origins, destinations) -> _Routes:
    """Route every trip (origin i -> destination i) on ``network`` and split its route by road class."""
    from fsgeo import routing

    cls, line, other, classes = _edge_parts(network)
    csr = network.csr
    so = routing._snap(network, origins, "origins", "raise")
    sd = routing._snap(network, destinations, "destinations", "raise")
    n, k = network.n_nodes, len(origins)
    o_pt, o_node, o_acc = so.links_of_ok()
    d_pt, d_node, d_acc = sd.links_of_ok()
    o_dist = network.profile.access_s(1.0)  # seconds per straight metre of access leg
    r = _Routes(np.zeros((k, len(classes))), np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(k, bool),
                np.hypot(*(so.xy - sd.xy).T), np.ones(k, bool))
    aug = routing._with_sources(csr, o_pt, o_node, o_acc, k)
    dist, pred = dijkstra(aug, directed=True, indices=np.arange(n, n + k), return_predecessors=True)
    direct_ok = routing._direct_pairs(network.profile, so, sd)
    direct_pairs = {(int(i), int(j)): float(dm) for i, j, dm in zip(*direct_ok)}
    for i in range(k):
        sel = d_pt == i
        tot = dist[i, d_node[sel]] + d_acc[sel]
        best = int(np.argmin(tot))
        if not np.isfinite(tot[best]):
            r.reachable[i] = False
            continue
        end = int(d_node[sel][best])
        dm = direct_pairs.get((i, i))
        if dm is not None and network.profile.access_s(dm) <= tot[best]:
            r.direct[i] = True
            continue
        r.access_m[i] = d_acc[sel][best] / o_dist
        node = end
        while True:
            prev = int(pred[i, node])
            if prev >= n:  # the origin's virtual node: this is its link
                r.access_m[i] += aug[prev, node] / o_dist
                break
            j = csr.indptr[prev] + np.searchsorted(csr.indices[csr.indptr[prev]:csr.indptr[prev + 1]], node)
            if cls[j] >= 0:
                r.line_by_class[i, cls[j]] += line[j]
            else:
                r.fixed_len_m[i] += other[0, j]
                r.fixed_time_s[i] += other[1, j]
            node = prev
    return r


def _predict(theta: np.ndarray, routes: _Routes, prof: CarProfile) -> tuple[np.ndarray, np.ndarray]:
    """Minutes and km of every trip for ``theta = [circuity, speed_1, ..., speed_C]`` (km/h)."""
    circ, speeds = theta[0], theta[1:]
    road = routes.line_by_class * circ
    access_len = routes.access_m * prof.snap_detour_factor
    seconds = (road / (speeds[None, :] / 3.6)).sum(axis=1) + routes.fixed_time_s + prof.access_s(routes.access_m)
    metres = road.sum(axis=1) + routes.fixed_len_m + access_len
    seconds = np.where(routes.direct, prof.access_s(routes.direct_m), seconds)
    metres = np.where(routes.direct, routes.direct_m * prof.snap_detour_factor, metres)
    return seconds / 60.0, metres / 1000.0


def error_stats(ratio) -> dict:
    """``n``, ``median`` and ``p90`` of ``|ratio - 1|`` over the finite ratios (fsgeo / reference)."""
    r = np.asarray(ratio, dtype=float)
    r = np.abs(r[np.isfinite(r)] - 1)
    if not r.size:
        return {"n": 0, "median": math.nan, "p90": math.nan}
    return {"n": int(r.size), "median": float(np.median(r)), "p90": float(np.quantile(r, 0.9))}


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes
    ----------
    profile : CarProfile
        The fitted profile (start profile with ``circuity`` and ``road_class_speeds_kmh`` replaced).
    start : CarProfile
    trips : pandas.DataFrame
        Per trip: ``id``, ``source``, ``ref_minutes``, ``ref_km``, ``minutes_before``, ``km_before``,
        ``minutes_after``, ``km_after`` (fsgeo's, routed with each profile), ``direct`` (a direct leg).
    before, after : dict
        ``{"minutes": error_stats, "km": error_stats}`` of |fsgeo / reference - 1|.
    fitted : list of str
        The parameters fitted (``circuity`` only when reference km were given).
    iterations : int
        Route-then-fit rounds run.
    """

    profile: CarProfile
    start: CarProfile
    trips: pd.DataFrame
    before: dict
    after: dict
    fitted: list = field(default_factory=list)
    iterations: int = 0

    def report(self) -> str:
        lines = [f"calibration on {len(self.trips)} trips ({self.iterations} route-then-fit rounds); fitted: "
                 f"{', '.join(self.fitted)}"]
        for what in ("minutes", "km"):
            b, a = self.before[what], self.after[what]
            if b["n"]:
                lines.append(f"  |fsgeo/reference - 1| on {what} ({b['n']} trips): median {b['median']:.1%} -> "
                             f"{a['median']:.1%}, 90th percentile {b['p90']:.1%} -> {a['p90']:.1%}")
        lines.append(f"  circuity {self.start.circuity:.3f} -> {self.profile.circuity:.3f}")
        for c, v in self.profile.road_class_speeds_kmh.items():
            lines.append(f"  {c:<15} {self.start.road_class_speeds_kmh.get(c, math.nan):6.1f} -> {v:6.1f} km/h")
        return "\n".join(lines)


def calibrate(network: RoadNetwork, origins, destinations, minutes=None, km=None, *, iterations: int = 5,
              fit_circuity: bool | None = None, loss: str = "soft_l1", trip_ids=None,
              sources=None) -> CalibrationResult:
    """Fit ``circuity`` and the Travel Mapping class speeds of ``network.profile`` to reference trips.

    Parameters
    ----------
    network : RoadNetwork
        A Travel Mapping network (edges with ``line_length_m``); OSM edges keep their own times.
    origins, destinations : GeoDataFrame of Points
        Trip ``i`` goes from ``origins.iloc[i]`` to ``destinations.iloc[i]``.
    minutes, km : array-like, optional
        Reference minutes / kilometres per trip (NaN where absent); at least one reference per trip.
    iterations : int
        Maximum route-then-fit rounds.
    fit_circuity : bool, optional
        Default: only when some reference km are given (times alone cannot separate it from the speeds).
    loss : str
        ``scipy.optimize.least_squares`` loss on the log ratios: ``"soft_l1"`` (default, scale 0.1: a trip more than
        ~10 % off weighs linearly, not quadratically, so a few wrong references or trips the network cannot
        represent do not drag every parameter) or ``"linear"`` (plain least squares).
    trip_ids, sources : array-like, optional
        Carried into ``result.trips``.

    Returns
    -------
    CalibrationResult
    """
    k = len(origins)
    if len(destinations) != k:
        raise ValueError(f"{k} origins but {len(destinations)} destinations")
    ref_min = np.full(k, np.nan) if minutes is None else np.asarray(minutes, dtype=float)
    ref_km = np.full(k, np.nan) if km is None else np.asarray(km, dtype=float)
    if not (np.isfinite(ref_min) | np.isfinite(ref_km)).all():
        raise ValueError("every trip needs reference minutes or km")
    start = network.profile
    classes = sorted(start.road_class_speeds_kmh)
    if fit_circuity is None:
        fit_circuity = bool(np.isfinite(ref_km).any())
    theta0 = np.array([start.circuity] + [start.road_class_speeds_kmh[c] for c in classes])
    lo = np.array([CIRCUITY_BOUNDS[0]] + [SPEED_BOUNDS_KMH[0]] * len(classes))
    hi = np.array([CIRCUITY_BOUNDS[1]] + [SPEED_BOUNDS_KMH[1]] * len(classes))
    theta0 = np.clip(theta0, lo, hi)
    free = np.ones(theta0.size, dtype=bool)
    free[0] = fit_circuity

    def profile_of(theta):
        return dataclasses.replace(start, circuity=float(theta[0]),
                                   road_class_speeds_kmh={**start.road_class_speeds_kmh,
                                                          **{c: float(v) for c, v in zip(classes, theta[1:])}})

    has_min, has_km = np.isfinite(ref_min), np.isfinite(ref_km)
    routes0 = _route(network, origins, destinations)
    unreachable = np.flatnonzero(~routes0.reachable)
    if unreachable.size:
        ids = list(trip_ids) if trip_ids is not None else list(origins.index)
        raise InputError(f"trips {[ids[i] for i in unreachable[:10]]}: no route on the network between origin and "
                         "destination")
    before_min, before_km = _predict(theta0, routes0, start)
    theta, routes, rounds = theta0.copy(), routes0, 0
    for rounds in range(1, iterations + 1):
        def residuals(x, routes=routes):
            full = theta0.copy()
            full[free] = x
            m, d = _predict(full, routes, start)
            res = [np.log(m[has_min] / ref_min[has_min]), np.log(d[has_km] / ref_km[has_km]),
                   PRIOR_WEIGHT * np.log(x / theta0[free])]
            return np.concatenate(res)

        sol = least_squares(residuals, theta[free], bounds=(lo[free], hi[free]), x_scale="jac", loss=loss,
                            f_scale=0.1)
        new = theta0.copy()
        new[free] = sol.x
        theta = new
        net = retime(network, profile_of(theta))
        new_routes = _route(net, origins, destinations)
        same = (np.allclose(new_routes.line_by_class, routes.line_by_class)
                and np.array_equal(new_routes.direct, routes.direct))
        routes = new_routes
        if same:
            break
    after_min, after_km = _predict(theta, routes, start)
    fitted = (["circuity"] if fit_circuity else []) + [f"speed {c}" for c in classes]
    trips = pd.DataFrame({
        "id": list(trip_ids) if trip_ids is not None else list(origins.index),
        "source": list(sources) if sources is not None else [""] * k,
        "ref_minutes": ref_min, "ref_km": ref_km,
        "minutes_before": before_min, "km_before": before_km, "minutes_after": after_min, "km_after": after_km,
        "direct": routes.direct,
    })
    stats = lambda m, d: {"minutes": error_stats(m[has_min] / ref_min[has_min]),  # noqa: E731
                          "km": error_stats(d[has_km] / ref_km[has_km])}
    return CalibrationResult(profile_of(theta), start, trips, stats(before_min, before_km),
                             stats(after_min, after_km), fitted, rounds)


# -- profile files ------------------------------------------------------------------------------------------------
def profile_json(profile: CarProfile, calibration: dict | None = None, provenance: dict | None = None) -> str:
    """The JSON text of a profile file: the profile's settings, ``calibration`` metadata under ``"_calibration"``
    and the provenance (:func:`fsgeo.provenance.provenance`) under ``"_provenance"`` (both ignored when read back)."""
    data = profile.to_dict()
    if calibration:
        data["_calibration"] = calibration
    if provenance:
        data["_provenance"] = provenance
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
