"""Coverage analysis: drive time from every commune to its nearest France Services site.

The core is :func:`access_from_matrix`, which works on a plain minutes matrix (communes x sites) so that it can be
tested with hand-made matrices; :func:`access_times` builds that matrix on a road network and calls it.

Every commune ends up in exactly one status:

``covered``
    nearest site within the threshold (``minutes <= threshold_min``);
``underserved``
    nearest site reachable but beyond the threshold;
``unreachable``
    no time could be computed; ``reason`` says why (commune point too far from the road network, on a network
    fragment, no site reachable, no site selected...).

Times are in **minutes** by car (access legs to and from the road network included, see :mod:`fsgeo.routing`).
Population-weighted statistics use the INSEE population municipale of each commune, placed at its demand point;
a commune with several weighted demand points (``parts=``: Paris, Lyon and Marseille by arrondissement) has each
part routed on its own, one row aggregating them (:func:`aggregate_parts`) and every population statistic counting
each part's inhabitants at the part's own time (:func:`demand_rows`). The matrix path (:func:`access_from_matrix`,
:class:`fsgeo.matrix.TravelTimes`) stays one point per commune (a commune with parts: its most populous part's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from fsgeo import io
from fsgeo.errors import require, shown
from fsgeo.matrix import (ISLAND_WITHOUT_ROADS, ROUTING_FAILED, TravelTimes, no_site_reason, on_island_without_roads,
                          route_points, with_landmass_gaps)
from fsgeo.matrix import site_table  # the matrix's columns (fsgeo.matrix); re-exported here
from fsgeo.schema import as_date  # one date parser for the package (fsgeo.schema); re-exported here
from fsgeo.schema import local_metric_crs
from fsgeo.settings import settings

STATUSES = ("covered", "underserved", "unreachable")

ACCESS_COLUMNS = [
    "code",
    "name",
    "departement",
    "population",
    "nearest_site_id",
    "nearest_site_name",
    "nearest_site_departement",
    "minutes",
    "second_site_id",
    "second_site_name",
    "second_minutes",
    "status",
    "reason",
]


# --------------------------------------------------------------------------------------------------------------------
# site selection
# --------------------------------------------------------------------------------------------------------------------
def select_sites(sites, communes=None, kind="all", own_departement_only=False, as_of=None):
    """Filter sites the way every coverage function does.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Sites (``load_sites()`` schema: ``id``, ``name``, ``kind``, ``departement``, ``in_departement``,
        ``labelled_on``...).
    communes : geopandas.GeoDataFrame, optional
        Communes studied; with ``own_departement_only`` the sites kept are those of the communes' département(s).
    kind : {"all", "principal"}
        ``"all"`` counts antennas as sites; ``"principal"`` keeps principal spaces only.
    own_departement_only : bool
        Ignore sites of neighbouring départements (by default border communes may use them).
    as_of : str or datetime.date, optional
        Keep the sites labelled on or before this date (ISO ``YYYY-MM-DD``).

    Returns
    -------
    geopandas.GeoDataFrame
        The selected sites, same columns, original order.
    """
    if kind not in ("all", "principal"):
        raise ValueError(f"kind must be 'all' or 'principal', got {kind!r}")
    out = sites
    if kind == "principal":
        if "kind" not in out.columns:
            raise ValueError("sites have no 'kind' column: cannot keep principal spaces only")
        out = out[out["kind"].astype(str) == "principal"]
    if own_departement_only:
        deps = None
        if communes is not None and "departement" in communes.columns:
            deps = set(communes["departement"].astype(str))
        if deps and "departement" in out.columns:
            out = out[out["departement"].astype(str).isin(deps)]
        elif "in_departement" in out.columns:
            out = out[out["in_departement"].astype(bool)]
        elif "departement" in out.columns:
            raise ValueError("communes have no 'departement' column and sites no 'in_departement': cannot tell which "
                             "sites are the study's own")
        else:
            raise ValueError("sites have neither 'departement' nor 'in_departement': cannot keep own département only")
    if as_of is not None:
        from fsgeo.datasets import sites_as_of

        out = sites_as_of(out, as_of)
    return out


def own_sites(sites, communes) -> np.ndarray:
    """Bool mask: which ``sites`` are the study's own, i.e. of the communes' département(s); without a
    ``departement`` column on the communes, the sites' ``in_departement`` flags (relative to the study's codes)."""
    if "departement" in communes.columns and "departement" in sites.columns:
        deps = set(communes["departement"].astype(str))
        return sites["departement"].astype(str).isin(deps).to_numpy()
    if "in_departement" in sites.columns:
        return sites["in_departement"].astype(bool).to_numpy()
    raise ValueError("cannot tell which sites are the study's own: give communes a 'departement' column or sites an "
                     "'in_departement' column")


def selection_text(kind="all", own_departement_only=False, as_of=None) -> str:
    """Why a selection of sites came out empty, in words (e.g. ``"none labelled on or before 2019-01-01
    (principal spaces only)"``): completes ``"no site selected: "`` in reasons and error messages."""
    filters = [text for text, on in (("principal spaces only", kind == "principal"),
                                     ("own département only", own_departement_only)) if on]
    text = "none" if as_of is None else f"none labelled on or before {as_date(as_of).isoformat()}"
    return text + (f" ({', '.join(filters)})" if filters else "")


# --------------------------------------------------------------------------------------------------------------------
# access times
# --------------------------------------------------------------------------------------------------------------------
def _commune_table(communes) -> pd.DataFrame:
    table = io.commune_table(communes)
    pop = table["population"]
    # INSEE counts stay integers; other weights (estimates, projections) keep their fractions
    return table.assign(population=pop.astype("int64")) if (pop % 1 == 0).all() else table


def _check_threshold(value) -> float:
    """``value`` as a finite number of minutes > 0."""
    threshold = float(value)
    if not (threshold > 0 and np.isfinite(threshold)):
        raise ValueError(f"threshold must be a finite number of minutes > 0, got {value}")
    return threshold


def access_from_matrix(communes, sites, minutes, threshold_min=None, reasons=None, cutoff_min=None):
    """Nearest and second-nearest site of each commune from a minutes matrix.

    Parameters
    ----------
    communes : geopandas.GeoDataFrame or pandas.DataFrame
        ``code`` (str), ``population`` (inhabitants), optionally ``name``, ``departement`` and polygons.
    sites : pandas.DataFrame
        ``id`` (str), optionally ``name``, ``departement``.
    minutes : fsgeo.matrix.TravelTimes or pandas.DataFrame
        Drive time in **minutes**, index = commune codes, columns = site ids (extra rows/columns are ignored, missing
        ones are an error, see :func:`fsgeo.matrix.aligned`). ``inf`` = not reachable (or beyond a cutoff); ``NaN`` = the point could not be routed
        (a commune whose whole row is NaN is unreachable; a site whose whole column is NaN is ignored).
    threshold_min : float, optional
        Under-served threshold in minutes (default ``settings.threshold_min``). ``minutes <= threshold`` is covered.
    reasons : pandas.Series, optional
        Why a commune could not be routed, indexed by commune code (e.g. the snapping ``reason``; default: those of
        a ``TravelTimes``).
    cutoff_min : float, optional
        Search cutoff used to build the matrix, in minutes; only used to word the ``reason`` of unreachable communes
        (default: that of a ``TravelTimes``).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        One row per commune, in the order of ``communes`` (index 0..n-1), columns :data:`ACCESS_COLUMNS` (+ geometry
        when ``communes`` has one). ``minutes`` and ``second_minutes`` are NaN when there is no such site.

    Notes
    -----
    One demand point per commune (the matrix's rows): a commune with demand parts is its ``point_lon`` /
    ``point_lat``, the point of its most populous part. Several weighted points per commune are routed by
    :func:`access_from_network` / :func:`access_times` (``parts=``).
    """
    threshold = _check_threshold(settings.threshold_min if threshold_min is None else threshold_min)
    ct = _commune_table(communes)
    st = site_table(sites)
    if isinstance(minutes, TravelTimes):  # it carries its reasons and cutoff
        reasons = minutes.reasons if reasons is None else reasons
        cutoff_min = minutes.cutoff_min if cutoff_min is None else cutoff_min
    M = TravelTimes.from_frame(minutes).values(ct["code"], st["id"])
    n, k = M.shape

    usable = ~np.isnan(M).all(axis=0) if n else np.ones(k, bool)
    M = M[:, usable]
    k_use = M.shape[1]
    if k_use:
        row_failed = np.isnan(M).all(axis=1)
    else:
        row_failed = np.zeros(n, bool)
    M = np.where(np.isnan(M), np.inf, M)

    first_t = np.full(n, np.inf)
    second_t = np.full(n, np.inf)
    first_i = np.full(n, -1)
    second_i = np.full(n, -1)
    if k_use >= 1:
        order = np.argsort(M, axis=1, kind="stable")[:, :2]
        rows = np.arange(n)
        first_i = order[:, 0]
        first_t = M[rows, first_i]
        if k_use >= 2:
            second_i = order[:, 1]
            second_t = M[rows, second_i]
    return _access_frame(communes, ct, st, usable, first_i, first_t, second_i, second_t, row_failed, threshold,
                         reasons, cutoff_min)


def _access_frame(communes, ct, st, usable, first_i, first_t, second_i, second_t, row_failed, threshold, reasons,
                  cutoff_min):
    """The access table from each commune's two nearest sites.

    ``st`` is the table of every site, ``usable`` the mask of those that could be routed; ``first_i``/``second_i``
    are positions among the usable ones (-1: none), ``first_t``/``second_t`` minutes (``inf``: none), ``row_failed``
    the communes that could not be routed.
    """
    n, k = len(ct), len(st)
    st_use = st[usable].reset_index(drop=True)
    k_use = len(st_use)
    first_i, second_i = np.asarray(first_i), np.asarray(second_i)
    first_t, second_t = np.asarray(first_t, dtype=float), np.asarray(second_t, dtype=float)
    has_first = np.isfinite(first_t) & (first_i >= 0)
    has_second = np.isfinite(second_t) & (second_i >= 0)
    status = np.where(has_first, np.where(first_t <= threshold, "covered", "underserved"), "unreachable")

    reason = np.full(n, "", dtype=object)
    if k_use == 0:
        reason[:] = "no site selected" if k == 0 else "no site could be placed on the road network"
    else:
        given = pd.Series(reasons, dtype=object) if reasons is not None else pd.Series(dtype=object)
        given.index = given.index.astype(str)
        given = given[~given.index.duplicated()]
        failed = np.flatnonzero(row_failed)
        if failed.size:  # one lookup for all (a national run can have tens of thousands off a landmass's network)
            found = given.reindex(ct["code"].to_numpy()[failed]).to_numpy(dtype=object)
            text = np.array([str(r) if r is not None and str(r) and str(r) != "nan" else "" for r in found],
                            dtype=object)
            reason[failed] = np.where(text != "", text, ROUTING_FAILED)
        no_site = ~has_first & ~row_failed
        reason[no_site] = no_site_reason(cutoff_min)
        if no_site.any() and len(given):  # a routable commune whose landmass has no site (routing.landmass_gaps)
            why = given.reindex(ct["code"].to_numpy()[no_site]).to_numpy(dtype=object)
            mine = np.array([isinstance(r, str) and r != "" for r in why], dtype=bool)
            reason[np.flatnonzero(no_site)[mine]] = why[mine]

    def pick(col, idx, ok):
        vals = st_use[col].to_numpy(dtype=object)[np.where(ok, idx, 0)] if k_use else np.full(n, None, dtype=object)
        return np.where(ok, vals, None)

    out = pd.DataFrame(
        {
            "code": ct["code"],
            "name": ct["name"],
            "departement": ct["departement"],
            "population": ct["population"],
            "nearest_site_id": pick("id", first_i, has_first),
            "nearest_site_name": pick("name", first_i, has_first),
            "nearest_site_departement": pick("departement", first_i, has_first),
            "minutes": np.where(has_first, first_t, np.nan),
            "second_site_id": pick("id", second_i, has_second),
            "second_site_name": pick("name", second_i, has_second),
            "second_minutes": np.where(has_second, second_t, np.nan),
            "status": status,
            "reason": reason.astype(str),
        }
    )
    attrs = {
        "threshold_min": threshold,
        "n_sites": int(k),
        "n_sites_routed": int(k_use),
        "sites_not_routed": st.loc[~usable, "id"].tolist(),
    }
    return _with_polygons(out, communes, attrs)


def _with_polygons(out: pd.DataFrame, communes, attrs: dict):
    """The access table ``out`` with the communes' polygons (EPSG:4326) when ``communes`` has them, and ``attrs``
    as its ``attrs["fsgeo"]``."""
    if isinstance(communes, gpd.GeoDataFrame) and communes.geometry is not None:
        out = gpd.GeoDataFrame(out, geometry=communes.geometry.to_numpy(), crs=communes.crs)
        if out.crs is not None and out.crs != settings.crs:
            out = out.to_crs(settings.crs)
    out.attrs["fsgeo"] = attrs
    return out


def access_from_network(communes, sites, network, threshold_min=None, cutoff_min=None, parts=None):
    """Nearest and second-nearest site of each commune, routed on ``network`` without a communes x sites matrix.

    Two multi-source searches over the network (:func:`fsgeo.routing.nearest_two`): time and memory grow with the
    network, not with communes x sites, so that a national study (35,000 communes, 2,845 sites) fits in one pass.
    The result equals ``access_from_matrix(communes, sites, TravelTimes.route(network, communes, sites))`` (times to
    the last bits of a float; among sites at exactly the same time either may be named).

    Parameters
    ----------
    communes : geopandas.GeoDataFrame
        ``load_communes()`` schema (``code``, ``population``, ``point_lon``, ``point_lat``...).
    sites : geopandas.GeoDataFrame
        Sites with ``id`` and Point geometry.
    network : fsgeo.network.RoadNetwork
    threshold_min : float, optional
        Under-served threshold, minutes (default ``settings.threshold_min``).
    cutoff_min : float, optional
        Routing cutoff, minutes.
    parts : geopandas.GeoDataFrame, optional
        Demand parts (:func:`demand_point_table`: ``code``, ``part``, ``population``, Point geometry; only the
        communes with several weighted points): each part is routed as its own point and its commune's row
        aggregates them (:func:`aggregate_parts`: population-weighted mean ``minutes``, ``minutes_min``,
        ``minutes_max``, ``n_points``; the per-part results in ``attrs["fsgeo"]["parts"]``). ``None`` or empty:
        one point per commune, the table has no such columns.

    Returns
    -------
    (access, site_reasons)
        ``access`` as :func:`access_from_matrix` returns it; ``site_reasons``: reason of every site that could not
        be placed on the network, indexed by site id.
    """
    from fsgeo import routing

    require(network, "network", "access_from_network", "a fsgeo.network.RoadNetwork")
    if has_parts(parts):  # every part routed as its own point, then one row per commune
        points = demand_point_table(communes, parts)
        per_point, s_bad = access_from_network(points, sites, network, threshold_min=threshold_min,
                                               cutoff_min=cutoff_min)
        return aggregate_parts(communes, points, per_point, threshold_min=threshold_min), s_bad
    threshold = _check_threshold(settings.threshold_min if threshold_min is None else threshold_min)
    ct = _commune_table(communes)
    st = site_table(sites)
    points, site_pts = route_points(communes, sites)
    c_snap = routing.snap_points(network, points)
    c_bad = c_snap[c_snap["status"] != "ok"]["reason"].astype(str)
    n = len(ct)
    # a demand point of a commune with parts (demand_point_table) is on its commune's island
    island = on_island_without_roads(network, communes[PART_OF] if PART_OF in communes.columns else ct["code"])
    if len(site_pts):
        s_snap = routing.snap_points(network, site_pts)
        usable = (s_snap["status"] == "ok").to_numpy()
        near = routing.nearest_two(network, points, site_pts, cutoff_min=cutoff_min, on_snap_error="nan")
        pos = pd.Series(np.arange(int(usable.sum())), index=st["id"][usable].to_numpy())
        first_i = pos.reindex(near["facility"].to_numpy()).fillna(-1).to_numpy(dtype=int)
        second_i = pos.reindex(near["second_facility"].to_numpy()).fillna(-1).to_numpy(dtype=int)
        first_t = near["minutes"].to_numpy(dtype=float)
        second_t = near["second_minutes"].to_numpy(dtype=float)
        row_failed = (c_snap["status"] != "ok").to_numpy() if usable.any() else np.zeros(n, bool)
        s_bad = s_snap[~usable]["reason"].astype(str)
        c_bad = with_landmass_gaps(c_bad, routing.landmass_gaps(network, c_snap, s_snap))
    else:
        usable = np.zeros(0, bool)
        first_i = second_i = np.full(n, -1)
        first_t = second_t = np.full(n, np.inf)
        row_failed = np.zeros(n, bool)
        s_bad = pd.Series(dtype=str)
    first_t = np.where(np.isnan(first_t), np.inf, first_t)
    second_t = np.where(np.isnan(second_t), np.inf, second_t)
    if island.any():  # no road on their island: unreachable whatever the snapping found across the water
        first_t, second_t = np.where(island, np.inf, first_t), np.where(island, np.inf, second_t)
        first_i, second_i = np.where(island, -1, first_i), np.where(island, -1, second_i)
        row_failed = row_failed | island
        c_bad = pd.concat([c_bad.drop(ct["code"][island], errors="ignore"),
                           pd.Series(ISLAND_WITHOUT_ROADS, index=ct["code"][island].to_numpy())])
    access = _access_frame(communes, ct, st, usable, first_i, first_t, second_i, second_t, row_failed, threshold,
                           c_bad, cutoff_min)
    return access, s_bad


def commune_site_matrix(communes, sites, network=None, cutoff_min=None):
    """Drive times from every commune's demand point to every site, as three frames.

    The tuple form of :meth:`fsgeo.matrix.TravelTimes.route` (the one constructor of the matrix), kept for the
    callers of this function; new code takes the :class:`~fsgeo.matrix.TravelTimes` itself.

    Parameters
    ----------
    communes : geopandas.GeoDataFrame
        ``load_communes()`` schema (``code``, ``point_lon``, ``point_lat``...).
    sites : geopandas.GeoDataFrame
        Sites with ``id`` and Point geometry.
    network : fsgeo.network.RoadNetwork
        Road network (required; e.g. ``datasets.load_study().network``).
    cutoff_min : float, optional
        Search cutoff in minutes (times beyond it are ``inf``).

    Returns
    -------
    minutes : pandas.DataFrame
        Minutes, index = commune codes, columns = site ids; NaN rows/columns for points that could not be snapped.
    commune_reasons : pandas.Series
        Reason of every commune point that could not be snapped, indexed by code.
    site_reasons : pandas.Series
        Reason of every site that could not be snapped, indexed by site id.
    """
    require(network, "network", "commune_site_matrix", "a fsgeo.network.RoadNetwork")
    times = TravelTimes.route(network, communes, sites, cutoff_min=cutoff_min)
    return times.minutes, times.reasons, times.site_reasons()


def access_times(
    communes,
    sites,
    network=None,
    threshold_min=None,
    own_departement_only=False,
    kind="all",
    as_of=None,
    cutoff_min=None,
    parts=None,
):
    """Drive time from every commune to its nearest (and second nearest) France Services site.

    Parameters
    ----------
    communes : geopandas.GeoDataFrame
        Communes (``load_communes()`` schema); each is routed from its representative point.
    sites : geopandas.GeoDataFrame
        Sites (``load_sites()`` schema). Antennas count as sites unless ``kind="principal"``; sites of neighbouring
        départements count unless ``own_departement_only``.
    network : fsgeo.network.RoadNetwork
        Road network (required; e.g. ``datasets.load_study().network``).
    threshold_min : float, optional
        Under-served threshold, minutes (default ``settings.threshold_min``).
    own_departement_only : bool
        Ignore sites outside the communes' département(s).
    kind : {"all", "principal"}
        Which sites count.
    as_of : str or datetime.date, optional
        Only sites labelled on or before this date.
    cutoff_min : float, optional
        Routing cutoff in minutes (communes with no site within it are ``unreachable``).
    parts : geopandas.GeoDataFrame, optional
        Demand parts of the communes with several weighted points (``Study.demand_parts``; see
        :func:`demand_point_table`). Each part is routed as its own point; its commune's row aggregates them
        (:func:`aggregate_parts`), ``access_share`` is the population-weighted mean of the parts' shares, and the
        per-part results travel in ``attrs["fsgeo"]["parts"]`` (:func:`demand_rows` reads them for exact
        population statistics). ``None`` or empty: one point per commune, exactly as without the argument.

    Returns
    -------
    geopandas.GeoDataFrame
        Communes' polygons (EPSG:4326) with ``code``, ``name``, ``departement``, ``population``, ``nearest_site_id``,
        ``nearest_site_name``, ``nearest_site_departement``, ``minutes``, ``second_site_id``, ``second_site_name``,
        ``second_minutes``, ``status`` (``covered`` | ``underserved`` | ``unreachable``), ``reason``,
        ``access_share`` (part of ``minutes`` spent on the commune's straight access leg to the road network, 0-1,
        1 for a direct leg; above :data:`ACCESS_DOMINATED` the time says more about the point's distance to the
        classified roads than about the roads: such communes are flagged in the reports; NaN when unreachable),
        ``access_dominated`` (bool: ``access_share`` above :data:`ACCESS_DOMINATED`; :func:`access_dominated`).
        With ``parts``, also ``minutes_min``, ``minutes_max`` and ``n_points`` (see :func:`aggregate_parts`).
        ``.attrs["fsgeo"]`` records the threshold, the number of sites and the sites that could not be routed.
    """
    require(network, "network", "access_times", "a fsgeo.network.RoadNetwork")
    selected = select_sites(sites, communes, kind=kind, own_departement_only=own_departement_only, as_of=as_of)
    if has_parts(parts):  # every part routed as its own point (its own access share), then one row per commune
        points = demand_point_table(communes, parts)
        per_point, s_reasons = access_from_network(points, selected, network, threshold_min=threshold_min,
                                                   cutoff_min=cutoff_min)
        per_point["access_share"] = _access_shares(per_point, points, selected, network)
        access = aggregate_parts(communes, points, per_point, threshold_min=threshold_min)
    else:
        # two multi-source searches, no communes x sites matrix (the same result, see access_from_network)
        access, s_reasons = access_from_network(communes, selected, network, threshold_min=threshold_min,
                                                cutoff_min=cutoff_min)
        access["access_share"] = _access_shares(access, communes, selected, network)
    access["access_dominated"] = access["access_share"].to_numpy(dtype=float) > ACCESS_DOMINATED  # NaN: False
    if len(selected) == 0 and len(sites):  # say which filter left no site (e.g. a date before the first one)
        access["reason"] = "no site selected: " + selection_text(kind, own_departement_only, as_of)
        for record in access.attrs["fsgeo"].get("parts", ()):
            record["reason"] = access["reason"].iat[0]
    access.attrs["fsgeo"].update(_selection_attrs(selected, communes, kind, own_departement_only, as_of, s_reasons))
    # the sites left out, with name, reason and distance (routing.unplaced_sites: the one rule of every command)
    from fsgeo import routing

    access.attrs["fsgeo"]["unplaced_sites"] = routing.unplaced_sites(network, selected).to_dict(orient="records")
    if getattr(network, "metric_crs", None) is not None:  # the network owns the metric CRS (underserved_zones uses it)
        access.attrs["fsgeo"]["metric_crs"] = network.metric_crs.to_string()
    return access


#: a commune whose time is more than this share access leg is flagged (``access_share``)
ACCESS_DOMINATED = 0.5
#: the columns of the flag, in the CSV / JSON / GeoJSON outputs of ``fsgeo coverage``
ACCESS_FLAG_COLUMNS = ["access_share", "access_dominated"]


def access_dominated(access, limit: float = ACCESS_DOMINATED) -> pd.DataFrame:
    """The communes whose drive time is mostly their access leg (``access_share`` > ``limit``), the longest leg first.

    Their time measures the straight leg from the commune's demand point to the classified road network more than
    the roads: it depends on where that point is (``fsgeo build --demand-points``) and on the missing local roads.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``name``, ``population``, ``minutes``, ``access_min`` (minutes of the leg), ``access_share`` (0-1),
        ``nearest_site_id``, ``nearest_site_name``; sorted by ``access_min`` descending, then code. Empty (same
        columns) when ``access`` has no ``access_share`` (a table built elsewhere).
    """
    cols = ["code", "name", "population", "minutes", "access_min", "access_share", "nearest_site_id",
            "nearest_site_name"]
    if "access_share" not in access.columns:
        return pd.DataFrame(columns=cols)
    share = access["access_share"].to_numpy(dtype=float)
    out = pd.DataFrame(access.loc[share > limit, [c for c in cols if c != "access_min" and c in access.columns]])
    out.insert(out.columns.get_loc("minutes") + 1, "access_min", out["minutes"] * out["access_share"])
    out = out.assign(_code=out["code"].astype(str)).sort_values(["access_min", "_code"], ascending=[False, True])
    return out.drop(columns="_code").reset_index(drop=True)


def _access_shares(access, communes, sites, network) -> np.ndarray:
    """``access_share`` of every commune towards its nearest site (see :func:`access_times`)."""
    from fsgeo import routing

    share = np.full(len(access), np.nan)
    has = access["nearest_site_id"].notna().to_numpy() & np.isfinite(access["minutes"].to_numpy(dtype=float))
    if not has.any() or len(sites) == 0:
        return share
    pts, site_pts = route_points(communes, sites)
    codes = access["code"].astype(str).to_numpy()[has]
    # the nearest site's route (one multi-source search): its origin access leg; the same minutes as the matrix
    near = routing.nearest(network, pts.loc[codes], site_pts[["geometry"]], on_snap_error="nan")
    minutes = near["minutes"].to_numpy(dtype=float)
    share[has] = np.where(minutes > 0, near["access_min"].to_numpy(dtype=float) / np.where(minutes > 0, minutes, 1),
                          0.0)
    return share


def _selection_attrs(selected, communes, kind, own_departement_only, as_of, site_reasons) -> dict:
    st = site_table(selected)
    n_own = int(own_sites(selected, communes).sum())
    return {
        "kind": kind,
        "own_departement_only": bool(own_departement_only),
        "as_of": None if as_of is None else as_date(as_of).isoformat(),
        "n_sites_own": n_own,
        "n_sites_neighbour": int(len(st) - n_own),
        "n_antennas": int((selected["kind"].astype(str) == "antenna").sum()) if "kind" in selected.columns else 0,
        "site_issues": [{"id": str(i), "reason": str(r)} for i, r in site_reasons.items()],
    }


# --------------------------------------------------------------------------------------------------------------------
# several weighted demand points per commune (demand parts)
# --------------------------------------------------------------------------------------------------------------------
#: the column of :func:`demand_point_table` naming the commune a demand point belongs to
PART_OF = "commune_code"
#: the columns a commune table gains when at least one commune has parts (:func:`aggregate_parts`)
PARTS_COLUMNS = ["minutes_min", "minutes_max", "n_points"]
#: the fields of every per-part record in ``access.attrs["fsgeo"]["parts"]``
PART_RECORD = ["code", "part", "name", "population", "minutes", "nearest_site_id", "nearest_site_name",
               "nearest_site_departement", "second_minutes", "status", "reason", "access_share"]


def has_parts(parts) -> bool:
    """True when ``parts`` holds at least one demand part (``None`` and an empty frame: one point per commune)."""
    return parts is not None and len(parts) > 0


def demand_point_table(communes, parts) -> pd.DataFrame:
    """The demand points to route: one per commune without parts, one per part of the others.

    Parameters
    ----------
    communes : pandas.DataFrame or geopandas.GeoDataFrame
        ``load_communes()`` schema (``code``, ``population``, ``point_lon``, ``point_lat``; ``name``,
        ``departement`` used when present).
    parts : geopandas.GeoDataFrame
        Demand parts (``Study.demand_parts``, ``fsgeo.io.load_demand_parts``): ``code`` (the commune's INSEE code),
        ``part`` (unique id, e.g. the arrondissement code ``75101``), ``population`` (>= 0; a commune's parts sum
        to its population, within 0.5 inhabitant), optionally ``name``, Point geometry (any CRS, stored EPSG:4326).

    Returns
    -------
    pandas.DataFrame
        Communes-like rows in the communes' order (a commune's parts in its place, in the order given): ``code``
        (the commune's code, or the part's id), ``name``, ``departement``, ``population``, ``point_lon``,
        ``point_lat`` and :data:`PART_OF` (the commune's code), index 0..m-1. The routing functions take it as
        they take communes.

    Raises
    ------
    fsgeo.errors.InputError
        Naming the part (or commune) when a part's commune is not among ``communes``, a part id is blank,
        duplicated or a commune's code, a population is missing or negative, a point is missing, or a commune's
        parts do not add up to its population.
    """
    from fsgeo import datasets
    from fsgeo.errors import InputError
    from fsgeo.schema import clean_id

    ct = _commune_table(communes)
    missing = [c for c in ("code", "part", "population") if c not in parts.columns]
    if missing:
        raise InputError(f"demand parts lack column(s) {', '.join(missing)}")
    codes = pd.Series([clean_id(v) for v in parts["code"]], dtype=object)
    ids = pd.Series([clean_id(v) for v in parts["part"]], dtype=object)
    names = parts["name"].astype(str).to_numpy() if "name" in parts.columns else ids.to_numpy()
    for i, (code, part) in enumerate(zip(codes, ids)):
        if not part:
            raise InputError(f"demand part on row {i + 1} (commune {code or '?'}) has no part id")
    known = pd.Index(ct["code"])
    stranger = np.flatnonzero(~codes.isin(known).to_numpy())
    if len(stranger):
        i = stranger[0]
        raise InputError(f"demand part {ids.iat[i]}: its commune code {codes.iat[i]!r} is not among the communes")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"demand part id(s) {', '.join(sorted(set(dup))[:5])} given more than once")
    clash = ids[ids.isin(known)]
    if len(clash):
        raise InputError(f"demand part {clash.iat[0]}: its id is the code of a commune (ids must tell parts apart)")
    pop = pd.to_numeric(parts["population"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(pop) | (pop < 0))
    if len(bad):
        raise InputError(f"demand part {ids.iat[bad[0]]}: population missing, infinite or negative "
                         f"({shown(parts['population'].iat[bad[0]])})")
    if isinstance(parts, gpd.GeoDataFrame) and parts.geometry is not None:
        geom = parts.geometry
        geom = geom.to_crs(settings.crs) if geom.crs is not None and geom.crs != settings.crs else geom
        empty = geom.isna().to_numpy() | geom.is_empty.to_numpy()
        if empty.any():
            raise InputError(f"demand part {ids.iat[int(np.flatnonzero(empty)[0])]}: no point")
        kind = geom.geom_type.to_numpy()
        if (kind != "Point").any():
            i = int(np.flatnonzero(kind != "Point")[0])
            raise InputError(f"demand part {ids.iat[i]}: geometry is a {kind[i]}, not a Point")
        lon, lat = geom.x.to_numpy(), geom.y.to_numpy()
    elif {"point_lon", "point_lat"} <= set(parts.columns):
        lon, lat = parts["point_lon"].to_numpy(dtype=float), parts["point_lat"].to_numpy(dtype=float)
    else:
        raise InputError("demand parts have no Point geometry (nor point_lon / point_lat columns)")
    commune_pop = ct.set_index("code")["population"].astype(float)
    sums = pd.Series(pop).groupby(codes.to_numpy()).sum()
    off = (sums - commune_pop.reindex(sums.index)).abs() > 0.5
    if off.any():
        code = sums.index[off.to_numpy()][0]
        raise InputError(f"demand parts of commune {code}: they add up to {sums[code]:g} inhabitants, the commune "
                         f"has {commune_pop[code]:g}")
    points = datasets.demand_points(communes)  # the communes' own points (validated the same way as without parts)
    single = pd.DataFrame({
        "code": ct["code"].to_numpy(), "name": ct["name"].to_numpy(), "departement": ct["departement"].to_numpy(),
        "population": ct["population"].to_numpy(dtype=float), "point_lon": points.geometry.x.to_numpy(),
        "point_lat": points.geometry.y.to_numpy(), PART_OF: ct["code"].to_numpy(),
        "_pos": np.arange(len(ct)), "_k": 0})
    dep = ct.set_index("code")["departement"]
    split = pd.DataFrame({
        "code": ids.to_numpy(), "name": names, "departement": dep.reindex(codes).to_numpy(), "population": pop,
        "point_lon": lon, "point_lat": lat, PART_OF: codes.to_numpy(),
        "_pos": known.get_indexer(codes), "_k": np.arange(1, len(ids) + 1)})
    table = pd.concat([single[~single["code"].isin(set(codes))], split], ignore_index=True)
    table = table.sort_values(["_pos", "_k"], kind="stable").drop(columns=["_pos", "_k"]).reset_index(drop=True)
    if (table["population"] % 1 == 0).all():
        table["population"] = table["population"].astype("int64")
    return table


def _weighted(values, weights) -> float:
    """Population-weighted mean of the finite ``values`` (plain mean when they weigh nothing; NaN when none)."""
    v, w = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return float("nan")
    return float(np.average(v[ok], weights=w[ok])) if w[ok].sum() > 0 else float(v[ok].mean())


def aggregate_parts(communes, points, per_point, threshold_min=None):
    """One row per commune from the access rows of its demand points (:func:`demand_point_table`).

    A commune without parts keeps its point's row. For a commune with parts:

    - ``minutes``: population-weighted mean of its parts' nearest-site minutes, over the parts that reach a site
      (plain mean when those weigh nothing); ``minutes_min`` / ``minutes_max``: the shortest / longest of those;
      ``n_points``: the number of parts; ``status`` follows ``minutes`` (the commune counts once in the commune
      counts; the population statistics count every part at its own time: :func:`demand_rows`);
    - ``nearest_site_*`` and ``second_site_*``: the sites of its most populous part that reaches a site (its most
      populous part when none does); ``second_minutes``: like ``minutes``, the population-weighted mean of each
      routed part's time to its own second-nearest site (NaN, with no second site named, when one of them has
      none);
    - all parts unreachable: the commune is unreachable with the reason of its most populous part; some parts
      unreachable: the commune keeps the times of the others and its ``reason`` says
      ``"k of n points unreachable: <part> (<reason>); ..."`` (their inhabitants count as unreachable in
      :func:`demand_rows`);
    - ``access_share`` (when ``per_point`` has it): population-weighted mean of the routed parts' shares.

    Parameters
    ----------
    communes : pandas.DataFrame or geopandas.GeoDataFrame
        The communes (polygons kept when given).
    points : pandas.DataFrame
        :func:`demand_point_table` of the communes and their parts.
    per_point : pandas.DataFrame
        The access rows of ``points``, in its order (what :func:`access_from_network` returns for it).
    threshold_min : float, optional
        Under-served threshold of the statuses, minutes (default: the one ``per_point`` records in
        ``attrs["fsgeo"]``, else ``settings.threshold_min``).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        The commune table (:data:`ACCESS_COLUMNS` with :data:`PARTS_COLUMNS` after ``minutes``, plus the other
        columns of ``per_point``), EPSG:4326 when ``communes`` has geometry; ``attrs["fsgeo"]`` of ``per_point``
        plus ``parts``: one record per part (:data:`PART_RECORD`).
    """
    ct = _commune_table(communes)
    meta = dict(per_point.attrs.get("fsgeo", {}))
    per_point = pd.DataFrame(per_point).reset_index(drop=True)
    if len(per_point) != len(points):
        raise ValueError(f"{len(per_point)} access rows for {len(points)} demand points")
    owner = points[PART_OF].to_numpy(dtype=object)
    is_part = points["code"].to_numpy(dtype=object) != owner
    minutes = per_point["minutes"].to_numpy(dtype=float)
    pop = points["population"].to_numpy(dtype=float)
    pos = pd.Index(ct["code"]).get_indexer(owner)
    # the access row each commune takes: its own point's; a commune with parts gets its part's in the loop below
    # (zeros, not np.empty: the vectorised reads before the loop must not index with uninitialised memory)
    src = np.zeros(len(ct), dtype=int)
    src[pos[~is_part]] = np.flatnonzero(~is_part)
    n_points = np.bincount(pos, minlength=len(ct))
    t_mean = minutes[src].copy()
    t_min, t_max = t_mean.copy(), t_mean.copy()
    second = per_point["second_minutes"].to_numpy(dtype=float)[src].copy()
    share = per_point["access_share"].to_numpy(dtype=float)[src].copy() if "access_share" in per_point else None
    reasons = {}
    names = points["name"].astype(str).to_numpy()
    for c in np.unique(pos[is_part]):
        rows = np.flatnonzero(pos == c)
        t, w = minutes[rows], pop[rows]
        routed = np.isfinite(t)
        by_size = rows[np.argsort(-w, kind="stable")]      # most populous first (ties: the order given)
        reach = by_size[np.isfinite(minutes[by_size])]
        src[c] = reach[0] if len(reach) else by_size[0]
        t_mean[c] = _weighted(t, w)
        t_min[c] = t[routed].min() if routed.any() else np.nan
        t_max[c] = t[routed].max() if routed.any() else np.nan
        s2 = per_point["second_minutes"].to_numpy(dtype=float)[rows[routed]]
        second[c] = _weighted(s2, w[routed]) if routed.any() and np.isfinite(s2).all() else np.nan
        if share is not None:
            share[c] = _weighted(per_point["access_share"].to_numpy(dtype=float)[rows[routed]], w[routed])
        lost = rows[~routed]
        if len(lost) and routed.any():
            why = "; ".join(f"{names[i]} ({per_point['reason'].iat[i] or 'no time'})" for i in lost)
            reasons[c] = f"{len(lost)} of {len(rows)} points unreachable: {why}"
    out = per_point.iloc[src].reset_index(drop=True)
    for col in ("code", "name", "departement", "population"):
        out[col] = ct[col].to_numpy()
    threshold = _check_threshold(meta.get("threshold_min", settings.threshold_min) if threshold_min is None
                                 else threshold_min)
    out["minutes"] = t_mean
    out["second_minutes"] = second
    no_second = ~np.isfinite(second)
    out.loc[no_second, ["second_site_id", "second_site_name"]] = None
    reach = np.isfinite(t_mean)
    out["status"] = np.where(reach, np.where(t_mean <= threshold, "covered", "underserved"), "unreachable")
    for c, text in reasons.items():
        out.at[c, "reason"] = text
    if share is not None:
        out["access_share"] = share
        if "access_dominated" in out.columns:  # the commune's flag follows its (weighted) share
            out["access_dominated"] = share > ACCESS_DOMINATED
    at = out.columns.get_loc("minutes") + 1
    for k, (col, values) in enumerate(zip(PARTS_COLUMNS, (t_min, t_max, n_points.astype("int64")))):
        out.insert(at + k, col, values)
    status = np.where(np.isfinite(minutes), np.where(minutes <= threshold, "covered", "underserved"), "unreachable")
    records = []
    for i in np.flatnonzero(is_part):
        row = per_point.iloc[i]
        records.append({
            "code": str(owner[i]), "part": str(points["code"].iat[i]), "name": names[i],
            "population": pop[i].item() if pop[i] % 1 else int(pop[i]), "minutes": _finite(minutes[i]),
            "nearest_site_id": _text(row["nearest_site_id"]), "nearest_site_name": _text(row["nearest_site_name"]),
            "nearest_site_departement": _text(row["nearest_site_departement"]),
            "second_minutes": _finite(row["second_minutes"]), "status": str(status[i]), "reason": str(row["reason"]),
            "access_share": _finite(row["access_share"]) if "access_share" in per_point else None})
    attrs = {**meta, "parts": records}
    return _with_polygons(out, communes, attrs)


def _text(value):
    """A str for a record; None when missing (no site)."""
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _finite(value):
    """A float for a record: NaN and inf (no time) become None."""
    value = float(value)
    return value if np.isfinite(value) else None


def demand_rows(access, columns=(), threshold=None, fields=()) -> pd.DataFrame:
    """Population and minutes per demand point: the one basis of every population statistic.

    A commune without parts is one row (its own ``population`` and ``minutes``); a commune with parts
    (``access.attrs["fsgeo"]["parts"]``, :func:`aggregate_parts`) is one row per part, each part's inhabitants at
    the part's own time, so that band shares, means, quantiles and the commitment count them exactly.
    :func:`summary` and :func:`fsgeo.national.national_coverage`'s tables use it.

    Parameters
    ----------
    access : pandas.DataFrame
        An access table (:func:`access_times`, :func:`access_from_network`, :func:`access_from_matrix`), possibly a
        subset of its rows (only the parts of the communes present are used).
    columns : sequence of str
        Columns of ``access`` to repeat on every row of the commune (e.g. ``"departement"``, ``"region"``).
    threshold : float, optional
        Minutes; the ``status`` of each part (default: the threshold the table was computed with).
    fields : sequence of str
        Columns of ``access`` that a part has of its own (:data:`PART_RECORD`, e.g. ``"nearest_site_id"``): the
        commune's value for a single point, the part's for a part.

    Returns
    -------
    pandas.DataFrame
        ``code`` (of the commune), ``part`` (the commune's code for a single point), ``population``, ``minutes``
        (NaN: unreachable), ``status`` (from ``minutes``: ``covered`` | ``underserved`` | ``unreachable``; a single
        point keeps its commune's status) and ``columns``; the communes' order, a commune's parts in its place.
        Without parts: exactly the commune rows.
    """
    columns = [c for c in columns if c not in ("code", "part", "population", "minutes", "status")]
    fields = [c for c in fields if c in PART_RECORD and c not in columns + ["code", "part", "population", "minutes",
                                                                           "status"]]
    base = pd.DataFrame({"code": access["code"].to_numpy(), "part": access["code"].to_numpy(),
                         "population": access["population"].to_numpy(),
                         "minutes": access["minutes"].to_numpy(dtype=float),
                         "status": access["status"].to_numpy(),
                         **{c: access[c].to_numpy() for c in columns + fields}})
    records = access.attrs.get("fsgeo", {}).get("parts") or []
    if not records:
        return base
    parts = pd.DataFrame(records, columns=PART_RECORD)
    split = base["code"].astype(str).isin(set(parts["code"].astype(str))).to_numpy()
    if not split.any():
        return base
    threshold = float(access.attrs.get("fsgeo", {}).get("threshold_min", settings.threshold_min)
                      if threshold is None else threshold)
    at = pd.Series(np.arange(len(base)), index=base["code"].astype(str).to_numpy())
    parts = parts[parts["code"].astype(str).isin(set(base["code"].astype(str)[split]))]
    t = pd.to_numeric(parts["minutes"], errors="coerce").to_numpy(dtype=float)
    rows = pd.DataFrame({"code": parts["code"].to_numpy(), "part": parts["part"].to_numpy(),
                         "population": parts["population"].to_numpy(dtype=float), "minutes": t,
                         "status": np.where(np.isfinite(t), np.where(t <= threshold, "covered", "underserved"),
                                            "unreachable"),
                         **{c: base[c].to_numpy()[at.reindex(parts["code"].astype(str)).to_numpy()] for c in columns},
                         **{c: parts[c].to_numpy() for c in fields}})
    rows["_pos"] = at.reindex(parts["code"].astype(str)).to_numpy()
    keep = base[~split].assign(_pos=np.flatnonzero(~split))
    out = pd.concat([keep, rows], ignore_index=True).sort_values("_pos", kind="stable")
    return out.drop(columns="_pos").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------------------------------------
def weighted_quantile(values, weights, q):
    """Population-weighted quantile (inverted CDF): the smallest value ``t`` with weight share ``<= t`` at least ``q``.

    Parameters
    ----------
    values : array-like
        Times (minutes); NaN/inf entries are ignored.
    weights : array-like
        Non-negative weights (inhabitants).
    q : float
        Quantile in [0, 1].

    Returns
    -------
    float
        NaN when no finite value has a positive weight.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(v) & (w > 0)
    v, w = v[ok], w[ok]
    if not len(v):
        return float("nan")
    order = np.argsort(v, kind="stable")
    v, cw = v[order], np.cumsum(w[order])
    i = int(np.searchsorted(cw, q * cw[-1], side="left"))
    return float(v[min(i, len(v) - 1)])


@dataclass
class CoverageSummary:
    """Headline figures of a coverage analysis (all times in minutes, populations in inhabitants)."""

    threshold_min: float
    commitment_min: float
    n_communes: int
    population: int
    #: index ``covered``/``underserved``/``unreachable``; columns ``communes``, ``population``, ``population_share``
    status: pd.DataFrame
    #: one row per band: ``band_min``, ``population``, ``population_share``, ``communes``, ``commune_share``
    bands: pd.DataFrame
    mean_min: float
    median_min: float
    p90_min: float
    max_min: float
    #: communes with the longest times: ``code``, ``name``, ``population``, ``minutes``, ``nearest_site_id``, ``nearest_site_name``
    #: (with parts: also ``minutes_min``, ``minutes_max``, ``n_points``, sorted by ``minutes_max``)
    worst: pd.DataFrame
    #: True when every inhabitant is routed and within ``commitment_min``
    commitment_met: bool
    commitment_population_beyond: int
    commitment_communes_beyond: int
    #: inhabitants of unreachable communes, for whom the commitment cannot be checked
    unreachable_population: int
    neighbour_population: int
    neighbour_communes: int
    #: per neighbouring-département site: ``site_id``, ``site_name``, ``departement``, ``communes``, ``population``
    neighbour_sites: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary (DataFrames as lists of records)."""
        out = {}
        for k, v in self.__dict__.items():
            if isinstance(v, pd.DataFrame):
                v = v.reset_index() if k == "status" else v
                out[k] = v.to_dict(orient="records")
            else:
                out[k] = v
        return out


def summary(access, bands=None, threshold=None, commitment_min=None, n_worst=10) -> CoverageSummary:
    """Population and commune shares per time band and headline statistics.

    Parameters
    ----------
    access : pandas.DataFrame
        Result of :func:`access_times` (or :func:`access_from_matrix`).
    bands : sequence of float, optional
        Bands in minutes (default ``settings.summary_bands_min``): shares within each band, of ALL inhabitants and
        communes (unreachable communes count in the denominator).
    threshold : float, optional
        Under-served threshold in minutes (default: the one ``access`` was computed with, else
        ``settings.threshold_min``); statuses are recomputed if it differs.
    commitment_min : float, optional
        National commitment in minutes (default ``settings.commitment_min``, 30).
    n_worst : int
        How many of the longest-time communes to list.

    Returns
    -------
    CoverageSummary
        Mean, median and 90th percentile are population-weighted over the routed communes (unreachable communes are
        counted separately in ``unreachable_population``).

    Notes
    -----
    Inhabitants are counted per demand point (:func:`demand_rows`): a commune with parts counts each part's
    inhabitants at the part's own time in the band populations, the status populations, the mean, median, p90 and
    maximum, the inhabitants beyond the commitment and the unreachable inhabitants (a part that no site reaches is
    unreachable even when its commune has a time). Communes are counted per commune, by their ``minutes`` (the
    population-weighted mean of their parts), in the band and status commune counts;
    ``commitment_communes_beyond`` counts the communes where the inhabitants beyond live (a part beyond is
    enough). ``worst`` lists the communes holding the longest times: by ``minutes_max``
    when the table has communes with parts (then with ``minutes_min``, ``minutes_max``, ``n_points``), so that its
    first row holds ``max_min``.
    """
    meta = dict(access.attrs.get("fsgeo", {}))
    threshold = float(meta.get("threshold_min", settings.threshold_min) if threshold is None else threshold)
    access = with_threshold(access, threshold)
    bands = tuple(sorted({float(b) for b in (settings.summary_bands_min if bands is None else bands)}))
    commitment = float(settings.commitment_min if commitment_min is None else commitment_min)
    # inhabitants per demand point (a commune with parts: each part at its own time); communes by their minutes
    demand = demand_rows(access, threshold=threshold)
    pop = demand["population"].to_numpy(dtype=float)
    t = demand["minutes"].to_numpy(dtype=float)
    tc = access["minutes"].to_numpy(dtype=float)
    total = float(pop.sum())
    n = len(access)

    def share(x, d):
        return float(x / d) if d else float("nan")

    rows = []
    for b in bands:
        within = np.isfinite(t) & (t <= b)
        communes_within = int((np.isfinite(tc) & (tc <= b)).sum())
        rows.append(
            {
                "band_min": b,
                "population": int(round(pop[within].sum())),
                "population_share": share(pop[within].sum(), total),
                "communes": communes_within,
                "commune_share": share(communes_within, n),
            }
        )
    band_df = pd.DataFrame(rows, columns=["band_min", "population", "population_share", "communes", "commune_share"])

    st = demand.groupby("status")["population"].agg("sum").reindex(list(STATUSES), fill_value=0)
    n_st = access.groupby("status").size().reindex(list(STATUSES), fill_value=0)
    status_df = pd.DataFrame(
        {"communes": n_st.astype(int), "population": st.round().astype(int)}, index=pd.Index(STATUSES, name="status")
    )
    status_df["population_share"] = status_df["population"] / total if total else np.nan

    ok = np.isfinite(t)
    mean = float(np.average(t[ok], weights=pop[ok])) if ok.any() and pop[ok].sum() > 0 else float("nan")
    worst = _worst(access, n_worst)
    beyond = ok & (t > commitment)
    unreach_pop = int(round(pop[~ok].sum()))
    # the commitment is about inhabitants: a commune nobody lives in does not break it
    inhabited = pop > 0

    nb = neighbour_dependency(access)
    return CoverageSummary(
        threshold_min=threshold,
        commitment_min=commitment,
        n_communes=n,
        population=int(round(total)),
        status=status_df,
        bands=band_df,
        mean_min=mean,
        median_min=weighted_quantile(t, pop, 0.5),
        p90_min=weighted_quantile(t, pop, 0.9),
        max_min=float(t[ok].max()) if ok.any() else float("nan"),
        worst=worst,
        commitment_met=bool(not (beyond & inhabited).any() and ok[inhabited].all()),
        commitment_population_beyond=int(round(pop[beyond].sum())),
        # the communes where those inhabitants live (a commune with parts: any part beyond)
        commitment_communes_beyond=int(demand.loc[beyond, "code"].nunique()),
        unreachable_population=unreach_pop,
        neighbour_population=int(round(nb["population"].sum())),
        # communes with inhabitants whose nearest site is a neighbour's (a commune with parts counts once)
        neighbour_communes=len({c for codes in nb["codes"] for c in str(codes).split(",") if c}),
        neighbour_sites=nb,
        meta=meta,
    )


def _worst(access, n_worst) -> pd.DataFrame:
    """The communes holding the longest times, longest first: by ``minutes_max`` when the table has communes with
    parts (the commune of the longest time of any inhabitant first, the maximum of :func:`summary`), else by
    ``minutes``; ties by population. ``minutes`` stays the commune's (population-weighted) time."""
    cols = ["code", "name", "population", "minutes", "nearest_site_id", "nearest_site_name"]
    key = "minutes"
    if all(c in access.columns for c in PARTS_COLUMNS):
        cols[4:4] = PARTS_COLUMNS
        key = "minutes_max"
    ok = np.isfinite(access[key].to_numpy(dtype=float))
    return (access.loc[ok, cols].sort_values([key, "population"], ascending=[False, False]).head(n_worst)
            .reset_index(drop=True))


def with_threshold(access, threshold):
    """``access`` with statuses recomputed for another threshold (same object when unchanged).

    Parameters
    ----------
    access : pandas.DataFrame
        Result of :func:`access_times`.
    threshold : float
        Under-served threshold, minutes (finite, > 0).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A copy with ``status`` recomputed (``minutes <= threshold`` is covered) and ``attrs["fsgeo"]["threshold_min"]``
        updated, or ``access`` itself when it was computed with that threshold.
    """
    threshold = _check_threshold(threshold)
    if access.attrs.get("fsgeo", {}).get("threshold_min") == threshold:
        return access
    out = access.copy()
    t = out["minutes"].to_numpy(dtype=float)
    reach = np.isfinite(t)
    out["status"] = np.where(reach, np.where(t <= threshold, "covered", "underserved"), "unreachable")
    out.attrs["fsgeo"] = {**access.attrs.get("fsgeo", {}), "threshold_min": threshold}
    return out


def neighbour_dependency(access) -> pd.DataFrame:
    """Inhabitants whose nearest site lies in another département than their commune.

    Parameters
    ----------
    access : pandas.DataFrame
        Result of :func:`access_times` (``departement``, ``nearest_site_departement``, ``population``...).

    Returns
    -------
    pandas.DataFrame
        One row per such site: ``site_id``, ``site_name``, ``departement`` (of the site), ``communes`` (count),
        ``population`` (inhabitants), ``codes`` (comma-separated commune codes); largest population first. A commune
        with demand parts counts each part towards its own nearest site (:func:`demand_rows`): it may appear under
        several sites, with the inhabitants of its parts there.
    """
    cols = ["site_id", "site_name", "departement", "communes", "population", "codes"]
    if "departement" not in access.columns:
        return pd.DataFrame(columns=cols)
    d = demand_rows(access, columns=["departement"],
                    fields=["nearest_site_id", "nearest_site_name", "nearest_site_departement"])
    reach = d["nearest_site_id"].notna()
    sd = d["nearest_site_departement"].astype(str)
    cd = d["departement"].astype(str)
    mask = reach & (sd != "") & (cd != "") & (sd != cd)
    sub = d.loc[mask]
    if not len(sub):
        return pd.DataFrame(columns=cols)
    g = sub.groupby(["nearest_site_id", "nearest_site_name", "nearest_site_departement"], sort=False)
    out = g.agg(communes=("code", "nunique"), population=("population", "sum"),
                codes=("code", lambda c: ",".join(dict.fromkeys(c)))).reset_index()
    out.columns = cols
    if (out["population"] % 1 == 0).all():  # whole inhabitants stay integers (parts are read as floats)
        out["population"] = out["population"].astype("int64")
    return out.sort_values(["population", "site_id"], ascending=[False, True]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------------
# under-served communes and zones
# --------------------------------------------------------------------------------------------------------------------
def underserved(access, threshold=None):
    """Communes whose nearest site is beyond the threshold, most urgent first.

    Parameters
    ----------
    access : pandas.DataFrame
        Result of :func:`access_times`.
    threshold : float, optional
        Minutes (default: the threshold ``access`` was computed with).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        The under-served rows of ``access`` plus ``excess_min`` (minutes over the threshold), ``priority``
        (inhabitants x minutes over the threshold, the ranking key) and ``rank`` (1 = most urgent). Unreachable
        communes are not listed here (their time is unknown): see ``access[access.status == "unreachable"]``.
        A commune with demand parts is under-served by its ``minutes`` (the weighted mean of its parts) and ranked
        with its whole population; its parts are in ``access.attrs["fsgeo"]["parts"]``.
    """
    threshold = float(access.attrs.get("fsgeo", {}).get("threshold_min", settings.threshold_min) if threshold is None else threshold)
    acc = with_threshold(access, threshold)
    out = acc[acc["status"] == "underserved"].copy()
    out["excess_min"] = out["minutes"] - threshold
    out["priority"] = out["population"] * out["excess_min"]
    out = out.sort_values(["priority", "minutes", "code"], ascending=[False, False, True]).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out.attrs["fsgeo"] = acc.attrs.get("fsgeo", {})
    return out


def _adjacency_components(geoms, tolerance_m):
    """Connected components of polygons touching each other (within ``tolerance_m`` metres)."""
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(geoms)
    if n == 0:
        return np.zeros(0, dtype=int)
    tree = shapely.STRtree(geoms)
    if tolerance_m and tolerance_m > 0:
        pairs = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    else:
        pairs = tree.query(geoms, predicate="intersects")
    adj = coo_matrix((np.ones(pairs.shape[1]), (pairs[0], pairs[1])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    return labels


def underserved_zones(access, threshold=None, tolerance_m=10.0, metric_crs=None):
    """Groups of adjacent under-served communes: the areas a new site or antenna should target.

    Parameters
    ----------
    access : geopandas.GeoDataFrame
        Result of :func:`access_times` (commune polygons needed).
    threshold : float, optional
        Minutes (default: the threshold ``access`` was computed with).
    tolerance_m : float
        Two communes are adjacent when their polygons are within this distance in metres (in ``metric_crs``);
        absorbs the slivers of simplified boundaries. ``0`` = polygons must intersect (touch).
    metric_crs : str or pyproj.CRS, optional
        Metric CRS for adjacency and areas. Default: the network's, as :func:`access_times` recorded it in
        ``access.attrs["fsgeo"]["metric_crs"]``; else Lambert-93 in metropolitan France, the local UTM zone elsewhere
        (:func:`fsgeo.schema.local_metric_crs`).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per zone, most urgent first: ``zone_id`` (1 = most urgent), ``communes`` (comma-separated codes),
        ``names`` (comma-separated names), ``n_communes``, ``population`` (inhabitants), ``max_minutes``,
        ``mean_minutes`` (population-weighted), ``priority`` (sum of inhabitants x minutes over the threshold),
        ``area_km2``, dissolved polygon (EPSG:4326).
    """
    if not isinstance(access, gpd.GeoDataFrame):
        raise ValueError("underserved_zones needs commune polygons: pass the GeoDataFrame from access_times")
    under = underserved(access, threshold)
    cols = ["zone_id", "communes", "names", "n_communes", "population", "max_minutes", "mean_minutes", "priority", "area_km2"]
    if not len(under):
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=access.crs), crs=access.crs)
    metric_crs = metric_crs or access.attrs.get("fsgeo", {}).get("metric_crs") or _local_crs(under)
    metric = under.to_crs(metric_crs)
    labels = _adjacency_components(metric.geometry.to_numpy(), tolerance_m)
    metric = metric.assign(_zone=labels, _wt=metric["population"] * metric["minutes"])
    g = metric.groupby("_zone", sort=False)
    z = g.agg(
        communes=("code", ",".join),
        names=("name", ", ".join),
        n_communes=("code", "size"),
        population=("population", "sum"),
        max_minutes=("minutes", "max"),
        _wt=("_wt", "sum"),
        priority=("priority", "sum"),
    )
    z["mean_minutes"] = np.where(z["population"] > 0, z["_wt"] / z["population"].where(z["population"] > 0, 1), g["minutes"].mean())
    geom = metric.dissolve(by="_zone").geometry.reindex(z.index)
    z = gpd.GeoDataFrame(z.drop(columns="_wt"), geometry=geom.to_numpy(), crs=metric_crs)
    z["area_km2"] = z.geometry.area / 1e6
    z = z.sort_values(["priority", "population"], ascending=[False, False]).reset_index(drop=True)
    z["zone_id"] = np.arange(1, len(z) + 1)
    z = z[cols + ["geometry"]].to_crs(settings.crs)
    z.attrs["fsgeo"] = access.attrs.get("fsgeo", {})
    return z


def _local_crs(gdf):
    """:func:`fsgeo.schema.local_metric_crs` of a GeoDataFrame's extent (stored in EPSG:4326 or any CRS)."""
    b = gdf.geometry.to_crs(settings.crs).bounds
    return local_metric_crs(b[["minx", "maxx"]].to_numpy(), b[["miny", "maxy"]].to_numpy(), "communes")


def zone_of(zones) -> pd.Series:
    """``zone_id`` of every under-served commune, indexed by commune code (from :func:`underserved_zones`)."""
    pairs = [(c, zid) for zid, codes in zip(zones["zone_id"], zones["communes"]) for c in str(codes).split(",") if c]
    return pd.Series(dict(pairs), name="zone_id", dtype="Int64")
