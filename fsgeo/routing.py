"""Snapping and travel-time queries on a :class:`fsgeo.network.RoadNetwork` (scipy.sparse.csgraph only).

Every query counts door-to-door time: *access leg* from the origin point to a node (straight distance x
``profile.snap_detour_factor`` at ``profile.connector_speed_kmh``), the network path, and the access leg from a node to
the destination point.

Snapping with several links: a point joins the network at its ``profile.snap_nodes`` nearest nodes of the main
component (the largest strongly connected component of each landmass: an island's point joins its island's roads, see
:attr:`fsgeo.network.RoadNetwork.landmass`) within ``max_snap_m`` (default 4), each by its own access leg, and the shortest-path search chooses among
them; when all of them are motorway-only nodes (:func:`local_access_nodes`: interchanges in Travel Mapping data,
carriageway points in OSM data) the nearest node a local road serves is added, if within ``max_snap_m``. Exactly:
each point is a virtual node of the graph with one edge per link (out of an origin, into a destination), and the
searches run from those virtual nodes (``scipy.sparse.csgraph.dijkstra``, one per point of the smaller side), so a
time is ``min over links (access + network path + access)``. The snap table's ``node`` / ``snap_distance_m`` /
``access_s`` describe the nearest link; ``n_links`` counts them.

Direct legs (``profile.direct_leg``, default on): an origin and a destination whose straight distance ``d`` is at most
``profile.direct_leg_max_m`` (default 3 km, the local road grid between neighbouring villages that a network of
classified roads leaves out), or at most the sum of their snap distances (both in the same gap of the network), may
also be joined by a straight leg at the access-leg pace; their time is ``min(network time, profile.access_s(d))``. A
point to itself is 0 min. The pairs come from one KD-tree pair query (``cKDTree.sparse_distance_matrix``), so the rule
costs little; :func:`travel_time_matrix` and :func:`nearest` apply it the same way (a direct leg within a cutoff makes
the pair reachable); :func:`node_times` gives times to *nodes*, not points, and has no direct legs. With
``direct_leg=False`` every time is exactly access leg + shortest network path + access leg. Direct legs are two-way:
on a full OSM street network, ``direct_leg_max_m=0`` keeps one-way streets from being short-cut.

Units and CRS: every distance here is metres in the network's own metric CRS, ``network.metric_crs`` (Lambert-93,
EPSG:2154, for a network in metropolitan France such as the embedded one; the local UTM zone elsewhere, see
:class:`fsgeo.network.RoadNetwork`): points in any CRS are reprojected to it, snap with a KD-tree over
``network.xy_metric``, and their snap distances, access legs, direct legs and the profile's ``max_snap_m`` and
``direct_leg_max_m`` are all measured there. Times are seconds inside, minutes in the public results.

A point is routed only when its ``status`` is ``ok``; otherwise (``too_far``, ``off_main_component``,
``invalid_coordinates``) it is reported by id, never silently dropped (a ``too_far`` point beyond the network's
extent, e.g. a regional extract covering part of the study, has the reason "outside the supplied network"): the queries raise
:class:`fsgeo.io.InputError` naming the ids, or with ``on_snap_error="nan"`` give NaN.

Shortest paths: C Dijkstra from ``scipy.sparse.csgraph`` with ``limit`` for cutoffs, from the points' virtual nodes
of the smaller side (on the transposed graph when searching backwards). Many-to-many queries first shrink the
graph by exact vertex elimination (dead ends, chains, small junctions replaced by shortcuts of the same time; link
nodes kept), which leaves every time between the link nodes unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from fsgeo.io import InputError
from fsgeo.network import RoadNetwork

__all__ = ["snap_points", "unplaced_sites", "unplaced_message", "landmass_gaps", "travel_time_matrix", "nearest",
           "nearest_two", "pairs_within", "node_times",
           "access_share", "local_access_nodes", "InputError", "SNAP_STATUSES", "MOTORWAY_CLASSES"]

SNAP_STATUSES = ("ok", "too_far", "off_main_component", "invalid_coordinates")
_ON_SNAP_ERROR = ("raise", "nan")


# -- points and snapping -------------------------------------------------------------------------------------------
def _metric_xy(points, what: str, crs) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Point coordinates in ``crs`` (the network's ``metric_crs``), metres: ``(index, xy, why)``.

    ``xy`` has NaN rows for missing, empty or non-finite points, and for points the reprojection cannot place (outside
    the declared CRS's range, e.g. metres declared as degrees); ``why`` gives the reason of each such row ("" else).
    """
    if isinstance(points, gpd.GeoDataFrame):
        geom = points.geometry
    elif isinstance(points, gpd.GeoSeries):
        geom = points
    else:
        raise TypeError(f"{what} must be a GeoDataFrame or GeoSeries of points, got {type(points).__name__}")
    if geom.crs is None:
        raise InputError(f"{what}: no CRS; set it first, e.g. {what}.set_crs('EPSG:4326')")
    values = geom.to_numpy()
    types = shapely.get_type_id(values)
    present = ~(shapely.is_missing(values) | shapely.is_empty(values))
    wrong = present & (types != shapely.GeometryType.POINT)
    if wrong.any():
        ids = geom.index[wrong][:10].tolist()
        raise InputError(f"{what}: rows {ids} are not Points (got {sorted(set(geom[wrong].geom_type))})")
    xy = np.full((len(values), 2), np.nan)
    if present.any():
        xy[present, 0] = shapely.get_x(values[present])
        xy[present, 1] = shapely.get_y(values[present])
    why = np.where(np.isfinite(xy).all(axis=1), "", "missing, empty or non-finite coordinates").astype(object)
    if len(geom) and not geom.crs.equals(crs):
        given = xy
        xy = np.full_like(given, np.nan)
        if present.any():
            metric = geom[present].to_crs(crs).to_numpy()
            xy[present] = np.column_stack([shapely.get_x(metric), shapely.get_y(metric)])
        lost = np.isfinite(given).all(axis=1) & ~np.isfinite(xy).all(axis=1)
        declared = geom.crs.to_string()
        for j in np.flatnonzero(lost):
            why[j] = (f"coordinates ({given[j, 0]:.1f}, {given[j, 1]:.1f}) are outside the range of {declared}: "
                      f"wrong CRS? (set the CRS the coordinates are really in, e.g. EPSG:2154 for Lambert-93 metres)")
    return geom.index, xy, why


def snap_points(network: RoadNetwork, points, max_snap_m: float | None = None) -> pd.DataFrame:
    """Snap points to the network (KD-tree in ``network.metric_crs``, metres): nearest link and number of links.

    Parameters
    ----------
    network : RoadNetwork
    points : GeoDataFrame or GeoSeries of Points
        Any CRS (reprojected); a missing CRS is an error.
    max_snap_m : float, optional
        Farther points get status ``too_far``, metres (default ``network.profile.max_snap_m``).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``: ``node`` (position in the node arrays of the nearest main-component node, the
        nearest node at all when the point is not routable; -1 if none), ``node_id`` (Int64), ``snap_distance_m``
        (straight distance to it in ``network.metric_crs``, metres), ``access_s`` (its access-leg time, seconds),
        ``n_links`` (nodes the point joins, see the module notes; 0 when not routable), ``status`` (``ok`` | ``too_far`` | ``off_main_component`` | ``invalid_coordinates``), ``reason``
        (human-readable, empty if ok).
    """
    return _snap_xy(network, *_metric_xy(points, "points", network.metric_crs), max_snap_m)


def _snap_xy(network: RoadNetwork, index: pd.Index, xy: np.ndarray, why: np.ndarray,
             max_snap_m: float | None) -> pd.DataFrame:
    return _snap_links(network, index, xy, why, max_snap_m)[0]


#: road classes whose nodes a point may not be left with as its only links while a local road is within reach:
#: a node used only by motorway carriageways (``motorway``, OSM ``motorway_link`` too) is an interchange in Travel
#: Mapping data and a point in the middle of a carriageway in OSM data; neither is where people join the network
MOTORWAY_CLASSES = frozenset({"motorway", "motorway_link"})


def local_access_nodes(network: RoadNetwork) -> np.ndarray:
    """Boolean mask over nodes: True where at least one edge of a non-motorway class (see :data:`MOTORWAY_CLASSES`)
    starts or ends, i.e. where a car can join the network from a local road; cached on the network.

    An edge whose class is unknown (no ``road_class``) counts as local; an OSM edge merged from several classes
    (``"motorway;trunk"``) is a motorway only when all of them are.
    """
    if "local_access" not in network._cache:
        e = network.edges
        n = network.n_nodes
        if "road_class" in e.columns:
            rc = e["road_class"].astype(object).to_numpy()
            motorway = np.array([isinstance(c, str) and all(p.strip() in MOTORWAY_CLASSES for p in c.split(";"))
                                 for c in rc], dtype=bool)
        else:
            motorway = np.zeros(len(e), dtype=bool)
        index = pd.Index(network.node_ids)
        ends = np.concatenate([index.get_indexer(e["u"].to_numpy()), index.get_indexer(e["v"].to_numpy())])
        local = np.zeros(n, dtype=bool)
        local[ends[np.concatenate([~motorway, ~motorway])]] = True
        local[np.bincount(ends, minlength=n) == 0] = True  # isolated nodes: nothing to avoid
        network._cache["local_access"] = local
    return network._cache["local_access"]


def _main_trees(network: RoadNetwork):
    """KD-trees (cached) over the main-component nodes and over those of them a local road serves, with their
    positions in the node arrays: ``(tree_main, pos_main, tree_local, pos_local)``."""
    if "main_trees" not in network._cache:
        from scipy.spatial import cKDTree

        pos_main = np.flatnonzero(network.main_component)
        pos_local = np.flatnonzero(network.main_component & local_access_nodes(network))
        network._cache["main_trees"] = (
            cKDTree(network.xy_metric[pos_main]), pos_main,
            cKDTree(network.xy_metric[pos_local]) if pos_local.size else None, pos_local)
    return network._cache["main_trees"]


def _snap_links(network: RoadNetwork, index: pd.Index, xy: np.ndarray, why: np.ndarray,
                max_snap_m: float | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Snap table (see :func:`snap_points`) and the links of every routable point.

    Links: the ``profile.snap_nodes`` nearest main-component nodes within ``max_snap``, plus, when none of them is
    served by a local road (:func:`local_access_nodes`), the nearest main-component node that is, if within
    ``max_snap``. Returns ``(table, link_point, link_node, link_dist_m)`` with the links sorted by point then
    distance (``link_point``: position of the point in ``index``).
    """
    prof = network.profile
    max_snap = prof.max_snap_m if max_snap_m is None else float(max_snap_m)
    if not (np.isfinite(max_snap) and max_snap > 0):
        raise ValueError(f"max_snap_m must be a positive number of metres, got {max_snap_m!r}")
    k = len(index)
    valid = np.isfinite(xy).all(axis=1)
    dist = np.full(k, np.nan)
    node = np.full(k, -1, dtype=np.int64)
    lp = np.zeros(0, dtype=np.int64)
    ln = np.zeros(0, dtype=np.int64)
    ld = np.zeros(0)
    n_links = np.zeros(k, dtype=np.int64)
    if valid.any():
        vxy = xy[valid]
        vpos = np.flatnonzero(valid)
        d, i = network.kdtree.query(vxy)
        dist[valid], node[valid] = d, i
        tree_main, pos_main, tree_local, pos_local = _main_trees(network)
        kk = max(1, min(int(prof.snap_nodes), pos_main.size))
        dm, im = tree_main.query(vxy, k=kk, distance_upper_bound=max_snap)
        dm, im = dm.reshape(len(vxy), kk), im.reshape(len(vxy), kk)
        found = np.isfinite(dm)
        rows = np.repeat(vpos[:, None], kk, axis=1)[found]
        nodes_ = pos_main[im[found]]
        dists = dm[found]
        if tree_local is not None and prof.snap_local_road:
            has_local = np.zeros(len(vxy), dtype=bool)
            loc = local_access_nodes(network)
            flat_rows = np.repeat(np.arange(len(vxy))[:, None], kk, axis=1)[found]
            has_local[flat_rows[loc[nodes_]]] = True
            need = np.flatnonzero(~has_local & found.any(axis=1))
            if need.size:
                dl, il = tree_local.query(vxy[need], distance_upper_bound=max_snap)
                ok_l = np.isfinite(dl)
                rows = np.concatenate([rows, vpos[need[ok_l]]])
                nodes_ = np.concatenate([nodes_, pos_local[il[ok_l]]])
                dists = np.concatenate([dists, dl[ok_l]])
        order = np.lexsort((dists, rows))
        lp, ln, ld = rows[order], nodes_[order], dists[order]
        n_links = np.bincount(lp, minlength=k)
    status = np.full(k, "ok", dtype=object)
    reason = np.full(k, "", dtype=object)
    status[~valid] = "invalid_coordinates"
    reason[~valid] = why[~valid]
    far = valid & (dist > max_snap)
    off = valid & ~far & (n_links == 0)
    ids = network.node_ids
    for j in np.flatnonzero(far):
        status[j] = "too_far"
        reason[j] = f"nearest road node {ids[node[j]]} is {dist[j]:,.0f} m away (more than {max_snap:,.0f} m)"
    if off.any():
        main_count = int(network.main_component.sum())
        for j in np.flatnonzero(off):
            status[j] = "off_main_component"
            reason[j] = (f"nearest road node {ids[node[j]]} ({dist[j]:,.0f} m away) is on a fragment cut off from "
                         f"the main network ({main_count:,} of {network.n_nodes:,} nodes), and no node of the main "
                         f"network is within {max_snap:,.0f} m")
    outside = _outside_extent(network, xy, far | off)
    for j in np.flatnonzero(outside):  # e.g. a regional extract that covers part of the study only
        reason[j] = f"outside the supplied network (beyond its extent; {reason[j]})"
    # routable points: their nearest link is their node (the nearest node of the main component)
    ok = status == "ok"
    if ok.any():
        first = np.ones(lp.size, dtype=bool)
        first[1:] = lp[1:] != lp[:-1]
        node[lp[first]] = ln[first]
        dist[lp[first]] = ld[first]
    node_id = pd.array(np.where(node >= 0, ids[np.maximum(node, 0)], 0), dtype="Int64")
    node_id[node < 0] = pd.NA
    table = pd.DataFrame({
        "node": node, "node_id": node_id, "snap_distance_m": dist, "access_s": prof.access_s(dist),
        "n_links": n_links, "status": status, "reason": reason,
    }, index=index)
    return table, lp, ln, ld


UNPLACED_COLUMNS = ("id", "name", "status", "reason", "snap_distance_m")


def unplaced_sites(network: RoadNetwork, sites) -> pd.DataFrame:
    """The sites (or candidates) that cannot be placed on the road network, and why.

    The one rule every analysis and command follows: such a site is not used (it reaches no commune), and it is
    reported, never dropped silently.

    Parameters
    ----------
    network : RoadNetwork
    sites : GeoDataFrame
        Points with ``id`` (and ``name``, optional), any CRS.

    Returns
    -------
    pandas.DataFrame
        One row per unplaced site, in input order: ``id``, ``name``, ``status`` (see :data:`SNAP_STATUSES`),
        ``reason`` (human-readable), ``snap_distance_m`` (metres to the nearest road node, NaN without valid
        coordinates). Empty (same columns) when every site is placed.
    """
    if sites is None or len(sites) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "snap_distance_m" else object) for c in UNPLACED_COLUMNS})
    ids = sites["id"].astype(str).to_numpy() if "id" in sites.columns else sites.index.astype(str).to_numpy()
    names = sites["name"].astype(str).to_numpy() if "name" in sites.columns else np.full(len(sites), "", object)
    snap = snap_points(network, sites.reset_index(drop=True))
    bad = snap["status"].to_numpy() != "ok"
    dist = snap["snap_distance_m"].to_numpy(dtype=float)[bad]
    return pd.DataFrame({
        "id": ids[bad], "name": names[bad], "status": snap["status"].to_numpy()[bad],
        "reason": snap["reason"].astype(str).to_numpy()[bad], "snap_distance_m": np.round(dist, 1),
    })


def landmass_gaps(network: RoadNetwork, origin_snap: pd.DataFrame, facility_snap: pd.DataFrame,
                  what: str = "site") -> pd.Series:
    """Why a routable origin can reach no facility at all: its landmass (an island, see
    :attr:`fsgeo.network.RoadNetwork.landmass`) holds no routable facility.

    Parameters
    ----------
    network : RoadNetwork
    origin_snap, facility_snap : pandas.DataFrame
        :func:`snap_points` tables of the origins and the facilities.
    what : str
        The facilities' name in the reason ("site", "candidate").

    Returns
    -------
    pandas.Series
        Indexed like ``origin_snap``: the reason, e.g. "no site on its landmass (island 2: 31 road nodes not
        linked by road to the rest of the network)", for every routable origin whose nearest link is on a landmass
        where no facility could be placed; "" otherwise (routable with a facility on its landmass, or not routable:
        :func:`snap_points` gives that reason). The time of such an origin is ``inf`` unless a direct leg (straight,
        at most ``profile.direct_leg_max_m``) reaches a facility across the water: callers apply the reason only
        where no facility was reached.
    """
    reason = np.full(len(origin_snap), "", dtype=object)
    ok = (origin_snap["status"] == "ok").to_numpy()
    if not ok.any():
        return pd.Series(reason, index=origin_snap.index, dtype=object)
    lm = network.landmass
    f_ok = (facility_snap["status"] == "ok").to_numpy() if len(facility_snap) else np.zeros(0, bool)
    served = np.unique(lm[facility_snap["node"].to_numpy(dtype=np.int64)[f_ok]]) if f_ok.any() else np.zeros(0, int)
    o_lm = np.full(len(origin_snap), -1, dtype=np.int64)
    o_lm[ok] = lm[origin_snap["node"].to_numpy(dtype=np.int64)[ok]]
    lonely = ok & ~np.isin(o_lm, served)
    if lonely.any():
        size = np.bincount(lm[network.main_component & (lm >= 0)])
        for k in np.unique(o_lm[lonely]):
            if k == 0:
                text = (f"no {what} on its landmass (the main one: {size[k]:,} road nodes; every {what} is on an "
                        "island not linked to it by road)")
            else:
                text = (f"no {what} on its landmass (island {k}: {size[k]:,} road nodes not linked by road to the "
                        "rest of the network)")
            reason[lonely & (o_lm == k)] = text
    return pd.Series(reason, index=origin_snap.index, dtype=object)


def unplaced_message(unplaced: pd.DataFrame, what: str = "site") -> str:
    """One line for an error (``--strict``): how many, then the first few with their reasons."""
    first = [f"{what} {r.id!r} ({r.name}): {r.reason}" for r in unplaced.head(3).itertuples()]
    more = f"; and {len(unplaced) - 3} more" if len(unplaced) > 3 else ""
    return f"{len(unplaced)} {what}(s) cannot be placed on the road network: " + "; ".join(first) + more


def _outside_extent(network: RoadNetwork, xy: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Which of the ``bad`` points (not routable) lie beyond the network's extent (the convex hull of its nodes), as
    opposed to a gap or a cut-off fragment inside it."""
    out = np.zeros(len(xy), dtype=bool)
    if bad.any():
        hull = shapely.convex_hull(shapely.multipoints(network.xy_metric))
        out[bad] = ~shapely.contains_xy(hull, xy[bad, 0], xy[bad, 1])
    return out


@dataclass
class _Snapped:
    index: pd.Index
    xy: np.ndarray
    table: pd.DataFrame
    ok: np.ndarray          # bool mask
    node: np.ndarray        # positions (valid where ok): the nearest link
    access_s: np.ndarray    # access leg to that node, seconds
    link_point: np.ndarray  # links of the routable points, sorted by point: position of the point in ``index``
    link_node: np.ndarray   # ... node position
    link_access: np.ndarray  # ... access leg, seconds

    def links_of_ok(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Links with the point given as its position among the routable points (``ok``), sorted by it."""
        rank = np.cumsum(self.ok) - 1
        return rank[self.link_point], self.link_node, self.link_access


def _snap(network: RoadNetwork, points, what: str, on_snap_error: str) -> _Snapped:
    if on_snap_error not in _ON_SNAP_ERROR:
        raise ValueError(f"on_snap_error must be one of {_ON_SNAP_ERROR}, got {on_snap_error!r}")
    index, xy, why = _metric_xy(points, what, network.metric_crs)
    table, lp, ln, ld = _snap_links(network, index, xy, why, None)
    ok = (table["status"] == "ok").to_numpy()
    if on_snap_error == "raise" and not ok.all():
        bad = table[~ok]
        lines = [f"  {idx!r}: {row.status} - {row.reason}" for idx, row in bad.head(20).iterrows()]
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        raise InputError(f"{what}: {len(bad)} point(s) cannot be routed (pass on_snap_error='nan' to get NaN "
                         "instead):\n" + "\n".join(lines) + more)
    keep = ok[lp]
    return _Snapped(index, xy, table, ok, table["node"].to_numpy(), table["access_s"].to_numpy(),
                    lp[keep], ln[keep], network.profile.access_s(ld[keep]))


def _cutoff_s(cutoff_min: float | None) -> float:
    if cutoff_min is None:
        return np.inf
    try:
        c = float(cutoff_min)
    except (TypeError, ValueError):
        raise ValueError(f"cutoff_min must be a number of minutes, got {cutoff_min!r}") from None
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"cutoff_min must be a positive number of minutes, got {cutoff_min!r}")
    return c * 60.0


def _limit(cutoff_s: float, *min_access: float) -> float:
    if not np.isfinite(cutoff_s):
        return np.inf
    # a hair above the bound: csgraph's own comparison must not cut a path the exact test keeps
    return max(cutoff_s - sum(min_access), 0.0) * (1 + 1e-9) + 1e-9


# -- exact graph reduction for many-to-many queries -----------------------------------------------------------------
#: reduce the graph first when the search runs from at least this many nodes, or when the reduced graph for the same
#: points is already memoised. Measured on the embedded network: the reduction costs about as much as 100-150 plain
#: searches and makes each later search 2-3x cheaper.
_REDUCE_MIN_SOURCES = 160
#: nodes of at most this many neighbours are eliminated (when that adds no more edges than it removes)
_REDUCE_MAX_DEGREE = 5
_REDUCE_MAX_NODES = 400_000


def _reduce(csr: sparse.csr_matrix, terminals: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Eliminate non-terminal nodes, keeping exact times between the remaining ones.

    Vertex elimination: removing ``v`` replaces every path ``u -> v -> w`` by a shortcut ``u -> w`` of the same time
    (kept when faster than an existing edge), so shortest times between the remaining nodes are unchanged. Only nodes
    with few neighbours whose removal does not grow the edge count are eliminated: dead ends (no shortcut), chain
    nodes (one shortcut per direction), most junctions of three. Terminals (the snapped origins and destinations)
    are never eliminated.

    Returns
    -------
    pos : numpy.ndarray
        Full node position -> position in the reduced graph (-1 when eliminated).
    reduced : scipy.sparse.csr_matrix
        Reduced graph, seconds.
    """
    n = csr.shape[0]
    rows = np.repeat(np.arange(n), np.diff(csr.indptr)).tolist()
    out: list = [{} for _ in range(n)]
    inn: list = [{} for _ in range(n)]
    for u, w, t in zip(rows, csr.indices.tolist(), csr.data.tolist()):
        if u != w:  # a self-loop never shortens a path
            out[u][w] = t
            inn[w][u] = t
    nbr = [set(o) | set(i) for o, i in zip(out, inn)]
    term = np.zeros(n, dtype=bool)
    term[terminals] = True
    term_l = term.tolist()
    alive = [True] * n
    max_deg = _REDUCE_MAX_DEGREE

    def eligible(v: int) -> bool:
        if term_l[v] or len(nbr[v]) > max_deg:
            return False
        if len(nbr[v]) <= 2:  # dead end or chain node: never more shortcuts than edges removed
            return True
        ov, iv = out[v], inn[v]
        added = 0
        for u in iv:
            ou = out[u]
            for w in ov:
                if w != u and w not in ou:
                    added += 1
        return added <= len(ov) + len(iv)

    # candidates are checked when popped (their neighbourhood may have changed since they were pushed)
    stack = [v for v in range(n) if not term_l[v] and len(nbr[v]) <= max_deg]
    inf = float("inf")
    while stack:
        v = stack.pop()
        if not alive[v] or not eligible(v):
            continue
        ov, iv = out[v], inn[v]
        for u, tu in iv.items():
            ou = out[u]
            del ou[v]
            for w, tw in ov.items():
                if w == u:
                    continue
                c = tu + tw
                if c < ou.get(w, inf):
                    if w not in ou:
                        nbr[u].add(w)
                        nbr[w].add(u)
                    ou[w] = c
                    inn[w][u] = c
        for w in ov:
            del inn[w][v]
        alive[v] = False
        around = nbr[v]
        for x in around:
            nbr[x].discard(v)
        stack.extend(x for x in around if not term_l[x] and len(nbr[x]) <= max_deg)
        out[v], inn[v], nbr[v] = {}, {}, set()
    keep = np.flatnonzero(alive)
    pos = np.full(n, -1, dtype=np.int64)
    pos[keep] = np.arange(len(keep))
    r: list = []
    c: list = []
    d: list = []
    for u in keep.tolist():
        o = out[u]
        r.extend([u] * len(o))
        c.extend(o.keys())
        d.extend(o.values())
    reduced = _min_csr(pos[np.asarray(r, dtype=np.int64)], pos[np.asarray(c, dtype=np.int64)],
                       np.asarray(d, dtype=float), len(keep))
    return pos, reduced


def _reduced_graph(network: RoadNetwork, terminals: np.ndarray):
    """:func:`_reduce` for these terminals, memoised on the network (the same points are often queried again)."""
    key = terminals.tobytes()
    memo = network._cache.setdefault("reduced", {})
    if key not in memo:
        if len(memo) >= 4:
            memo.pop(next(iter(memo)))
        pos, red = _reduce(network.csr, terminals)
        memo[key] = (pos, red, red.T.tocsr())
    return memo[key]


def _min_csr(r: np.ndarray, c: np.ndarray, d: np.ndarray, n: int) -> sparse.csr_matrix:
    """CSR keeping the minimum of duplicate entries and explicit zeros (zero-time edges stay edges for csgraph)."""
    order = np.lexsort((d, c, r))
    r, c, d = r[order], c[order], d[order]
    first = np.ones(len(r), bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    r, c, d = r[first], c[first], d[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, r + 1, 1)
    return sparse.csr_matrix((d, c.astype(np.int32), np.cumsum(indptr).astype(np.int32)), shape=(n, n))


def _node_to_node(network: RoadNetwork, src: np.ndarray, dst: np.ndarray, limit_s: float,
                  reduce: bool | None = None) -> np.ndarray:
    """Exact network times (s) from each node position in ``src`` to each in ``dst`` (sorted unique arrays).

    Dijkstra runs from the smaller side (backwards on the transposed graph when that is the destinations), on the
    reduced graph when there are many sources (``reduce=None`` decides; True/False force it, for tests).
    """
    forward = len(src) <= len(dst)
    k = min(len(src), len(dst))
    if reduce is None:
        memoised = np.union1d(src, dst).tobytes() in network._cache.get("reduced", {})
        reduce = memoised or (k >= _REDUCE_MIN_SOURCES and network.n_nodes <= _REDUCE_MAX_NODES)
    if reduce:
        pos, graph, graph_rev = _reduced_graph(network, np.union1d(src, dst))
        s, d = pos[src], pos[dst]
    else:
        graph, graph_rev, s, d = network.csr, network.csr_reverse, src, dst
    if forward:
        return dijkstra(graph, directed=True, indices=s, limit=limit_s)[:, d]
    return dijkstra(graph_rev, directed=True, indices=d, limit=limit_s)[:, s].T


def _one_to_all(network: RoadNetwork, src: np.ndarray, limit_s: float, reverse: bool) -> np.ndarray:
    """Times (s) from (``reverse``: towards) each node position in ``src`` to every node of the network."""
    graph = network.csr_reverse if reverse else network.csr
    return dijkstra(graph, directed=True, indices=src, limit=limit_s)


def _with_sources(graph: sparse.csr_matrix, point: np.ndarray, node: np.ndarray, access_s: np.ndarray,
                  n_points: int) -> sparse.csr_matrix:
    """``graph`` plus one virtual node per point (positions ``n .. n + n_points - 1``) with an edge to each of its
    link nodes weighted by the access leg (seconds). ``point`` (sorted) gives each link's point; a virtual node has no
    edge *into* it, so no path passes through it: times between real nodes are unchanged."""
    n = graph.shape[0]
    counts = np.bincount(point, minlength=n_points)
    indptr = np.concatenate([graph.indptr.astype(np.int64), graph.indptr[-1] + np.cumsum(counts)])
    indices = np.concatenate([graph.indices, node]).astype(np.int32)
    data = np.concatenate([graph.data, access_s])
    m = n + n_points
    return sparse.csr_matrix((data, indices, indptr.astype(np.int32)), shape=(m, m))


def _min_over_links(times: np.ndarray, point: np.ndarray, access_s: np.ndarray) -> np.ndarray:
    """``times[:, l] + access_s[l]`` minimised over the links ``l`` of each point (``point`` sorted, every point
    ``0 .. k-1`` with at least one link): ``len(times) x k``."""
    starts = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
    return np.minimum.reduceat(times + access_s[None, :], starts, axis=1)


def _points_to_points(network: RoadNetwork, so: _Snapped, sd: _Snapped, cutoff_s: float,
                      reduce: bool | None = None) -> np.ndarray:
    """Exact access + network + access times (s) between the routable points of ``so`` and ``sd``, over all their
    links: one Dijkstra per point of the smaller side, from a virtual node joined to its links (backwards on the
    transposed graph when that side is the destinations); on the reduced graph when there are many
    (``reduce=None`` decides; True/False force it, for tests)."""
    o_pt, o_node, o_acc = so.links_of_ok()
    d_pt, d_node, d_acc = sd.links_of_ok()
    n_o, n_d = int(so.ok.sum()), int(sd.ok.sum())
    forward = n_o <= n_d
    terminals = np.union1d(o_node, d_node)
    if reduce is None:
        memoised = terminals.tobytes() in network._cache.get("reduced", {})
        reduce = memoised or (min(n_o, n_d) >= _REDUCE_MIN_SOURCES and network.n_nodes <= _REDUCE_MAX_NODES)
    if reduce:
        pos, graph, graph_rev = _reduced_graph(network, terminals)
        o_node, d_node = pos[o_node], pos[d_node]
    else:
        graph, graph_rev = network.csr, network.csr_reverse
    m = graph.shape[0]
    if forward:
        aug = _with_sources(graph, o_pt, o_node, o_acc, n_o)
        dist = dijkstra(aug, directed=True, indices=np.arange(m, m + n_o), limit=_limit(cutoff_s, d_acc.min()))
        return _min_over_links(dist[:, d_node], d_pt, d_acc)
    aug = _with_sources(graph_rev, d_pt, d_node, d_acc, n_d)
    dist = dijkstra(aug, directed=True, indices=np.arange(m, m + n_d), limit=_limit(cutoff_s, o_acc.min()))
    return _min_over_links(dist[:, o_node], o_pt, o_acc).T


# -- public queries ------------------------------------------------------------------------------------------------
def travel_time_matrix(network: RoadNetwork, origins, destinations, cutoff_min: float | None = None,
                       on_snap_error: str = "raise") -> pd.DataFrame:
    """Door-to-door driving times from every origin to every destination, minutes.

    Parameters
    ----------
    network : RoadNetwork
    origins, destinations : GeoDataFrame or GeoSeries of Points
        Any CRS (reprojected to ``network.metric_crs`` for snapping).
    cutoff_min : float, optional
        Times above this are ``inf`` (and cheaper to compute), minutes; must be > 0.
    on_snap_error : {"raise", "nan"}
        A point that cannot be snapped (see :func:`snap_points`) raises :class:`InputError` naming it, or gives a
        NaN row / column.

    Returns
    -------
    pandas.DataFrame
        Minutes, index ``origins.index``, columns ``destinations.index``, direction origin -> destination; ``inf``
        when unreachable or beyond the cutoff.
    """
    cutoff_s = _cutoff_s(cutoff_min)
    so = _snap(network, origins, "origins", on_snap_error)
    sd = _snap(network, destinations, "destinations", on_snap_error)
    out = np.full((len(so.index), len(sd.index)), np.nan)
    if so.ok.any() and sd.ok.any():
        total = _points_to_points(network, so, sd, cutoff_s)
        i, j, dist_m = _direct_pairs(network.profile, so, sd)
        if i.size:
            total[i, j] = np.minimum(total[i, j], network.profile.access_s(dist_m))
        total[total > cutoff_s] = np.inf
        out[np.ix_(so.ok, sd.ok)] = total / 60.0
    return pd.DataFrame(out, index=so.index, columns=sd.index)


def nearest(network: RoadNetwork, origins, facilities, cutoff_min: float | None = None,
            on_snap_error: str = "raise") -> pd.DataFrame:
    """Nearest facility (by driving time, origin -> facility) of every origin: one multi-source search.

    Parameters
    ----------
    network : RoadNetwork
    origins, facilities : GeoDataFrame or GeoSeries of Points
    cutoff_min : float, optional
        Facilities farther than this are ignored, minutes (> 0).
    on_snap_error : {"raise", "nan"}
        Unroutable origins: error naming them, or NaN minutes. Unroutable facilities: error, or left out.

    Returns
    -------
    pandas.DataFrame
        Index ``origins.index``; ``facility`` (label from ``facilities.index``, None when none is reachable within
        the cutoff), ``minutes`` (``inf`` then; NaN for unroutable origins), ``access_min`` (the origin's access leg
        on that route, minutes; the whole trip for a direct leg; NaN when no facility is reached).

    Notes
    -----
    The same times as ``travel_time_matrix(...).min(axis=1)``, direct legs included: the nearest facility may be one
    joined by a direct leg (see the module notes) rather than through the network.
    """
    cutoff_s = _cutoff_s(cutoff_min)
    so = _snap(network, origins, "origins", on_snap_error)
    sf = _snap(network, facilities, "facilities", on_snap_error)
    minutes = np.full(len(so.index), np.nan)
    facility = np.full(len(so.index), None, dtype=object)
    if not so.ok.any():
        return pd.DataFrame({"facility": facility, "minutes": minutes, "access_min": minutes.copy()}, index=so.index)
    f_idx = np.flatnonzero(sf.ok)
    best = np.full(int(so.ok.sum()), np.inf)
    best_f = np.full(int(so.ok.sum()), -1, dtype=np.int64)
    if f_idx.size:
        # one virtual source per facility, joined to its link nodes by their access legs, on the reversed graph: a
        # single min_only search gives, for every node, the best facility reachable *from* it
        n = network.n_nodes
        k = f_idx.size
        f_pt, f_node, f_acc = sf.links_of_ok()
        aug = _with_sources(network.csr_reverse, f_pt, f_node, f_acc, k)
        o_pt, o_node, o_acc = so.links_of_ok()
        limit = _limit(cutoff_s, o_acc.min())
        dist, _pred, src = dijkstra(aug, directed=True, indices=np.arange(n, n + k), limit=limit, min_only=True,
                                    return_predecessors=True)
        # each origin: its best link (access leg + time from the link node to its best facility)
        via = o_acc + dist[o_node]
        fac = src[o_node]
        via[fac < n] = np.inf
        order = np.lexsort((via, o_pt))
        first = np.ones(order.size, dtype=bool)
        first[1:] = o_pt[order][1:] != o_pt[order][:-1]
        pick = order[first]
        best = via[pick]
        best_f = np.where(np.isfinite(best), fac[pick] - n, -1)
        access = o_acc[pick].copy()
        # direct legs: for each origin its fastest one (ties: the first facility), kept when it beats the network
        i, j, dist_m = _direct_pairs(network.profile, so, sf, f_idx)
        if i.size:
            t = network.profile.access_s(dist_m)
            order = np.lexsort((j, t, i))
            i, j, t = i[order], j[order], t[order]
            first = np.ones(i.size, dtype=bool)
            first[1:] = i[1:] != i[:-1]
            i, j, t = i[first], j[first], t[first]
            better = t < best[i]
            best[i[better]] = t[better]
            best_f[i[better]] = j[better]
            access[i[better]] = t[better]
    else:
        access = np.full(best.size, np.nan)
    best[best > cutoff_s] = np.inf
    access[~np.isfinite(best)] = np.nan
    hit = np.isfinite(best)
    labels = np.full(best.size, None, dtype=object)
    if hit.any():
        labels[hit] = np.asarray(sf.index[f_idx[best_f[hit]]], dtype=object)
    minutes[so.ok] = best / 60.0
    facility[so.ok] = labels
    access_min = np.full(len(so.index), np.nan)
    access_min[so.ok] = access / 60.0
    return pd.DataFrame({"facility": facility, "minutes": minutes, "access_min": access_min}, index=so.index)


def _two_nearest_nodes(network: RoadNetwork, f_pt: np.ndarray, f_node: np.ndarray, f_acc: np.ndarray, k: int,
                       limit_s: float):
    """For every node, the fastest and the second fastest facility (distinct facilities) reachable from it.

    Facilities ``0 .. k-1`` join the network by their links (``f_pt`` sorted: the facility of each link, ``f_node``
    its node, ``f_acc`` its access leg in seconds; see :func:`_snap_links`).

    Two multi-source ``min_only`` searches on the reversed graph, never a nodes x facilities matrix:

    1. from every facility at once: ``t1[v]``, ``f1[v]`` (its nearest facility) for every node ``v``; this splits the
       nodes into regions (one per facility that is someone's nearest);
    2. the second nearest of ``v`` is the best path from a facility other than ``f1[v]``. Follow such a path from its
       facility towards ``v``: after the last node outside ``v``'s region it stays inside the region, and its part up
       to there is no shorter than the first-pass time of that node's own (different) nearest facility. So the
       second time is the best *seed* of ``v``'s region (an edge ``u -> w`` entering it from another region: value
       ``t1[u] + c(u, w)``, facility ``f1[u]``; a facility snapped into it that is not the region's: its access leg)
       extended by a path inside the region: one multi-source search from the seeds over the edges whose two ends
       share their region. Every seed is a real path from a facility other than the region's, so the result is
       exact (equal times may name either facility).

    Returns
    -------
    t1, t2 : numpy.ndarray
        Seconds per node (access leg of the facility included, ``inf`` when none / beyond ``limit_s``).
    f1, f2 : numpy.ndarray
        Facility (``0 .. k-1``; -1 when none).
    """
    n = network.n_nodes
    rev = network.csr_reverse
    t1 = np.full(n, np.inf)
    t2 = np.full(n, np.inf)
    f1 = np.full(n, -1, dtype=np.int64)
    f2 = np.full(n, -1, dtype=np.int64)
    if k == 0:
        return t1, t2, f1, f2
    aug = _with_sources(rev, f_pt, f_node, f_acc, k)
    dist, _pred, src = dijkstra(aug, directed=True, indices=np.arange(n, n + k), limit=limit_s, min_only=True,
                                return_predecessors=True)
    reached = src[:n] >= n
    t1[reached] = dist[:n][reached]
    f1[reached] = src[:n][reached] - n
    if k == 1:
        return t1, t2, f1, f2
    # seeds: edges u -> w (reversed graph) between two regions, and facilities snapped into another's region
    rows = np.repeat(np.arange(n), np.diff(rev.indptr))
    cols, cost = rev.indices.astype(np.int64), rev.data
    cross = reached[rows] & reached[cols] & (f1[rows] != f1[cols])
    seed_node = np.concatenate([cols[cross], f_node])
    seed_val = np.concatenate([t1[rows[cross]] + cost[cross], np.asarray(f_acc, dtype=float)])
    seed_fac = np.concatenate([f1[rows[cross]], f_pt])
    own = (seed_fac != f1[seed_node]) & (seed_val <= limit_s)
    seed_node, seed_val, seed_fac = seed_node[own], seed_val[own], seed_fac[own]
    if not seed_node.size:
        return t1, t2, f1, f2
    inside = reached[rows] & (f1[rows] == f1[cols])
    # explicit zero-time edges must stay edges: rebuild from the masked arrays rather than via csr arithmetic
    region = sparse.csr_matrix((cost[inside], cols[inside].astype(np.int32),
                                np.concatenate([[0], np.cumsum(np.bincount(rows[inside], minlength=n))]).astype(np.int32)),
                               shape=(n, n))
    m = seed_node.size
    aug2 = _with_sources(region, np.arange(m), seed_node, seed_val, m)  # one virtual node per seed
    dist2, _pred2, src2 = dijkstra(aug2, directed=True, indices=np.arange(n, n + m), limit=limit_s, min_only=True,
                                   return_predecessors=True)
    got = src2[:n] >= n
    t2[got] = dist2[:n][got]
    f2[got] = seed_fac[src2[:n][got] - n]
    return t1, t2, f1, f2


def nearest_two(network: RoadNetwork, origins, facilities, cutoff_min: float | None = None,
                on_snap_error: str = "raise") -> pd.DataFrame:
    """Nearest and second nearest facility of every origin (origin -> facility), without an origins x facilities
    matrix: memory and time grow with the network, not with the number of pairs (national studies).

    Parameters
    ----------
    network : RoadNetwork
    origins, facilities : GeoDataFrame or GeoSeries of Points
    cutoff_min : float, optional
        Facilities farther than this are ignored, minutes (> 0).
    on_snap_error : {"raise", "nan"}
        Unroutable origins: error naming them, or NaN minutes. Unroutable facilities: error, or left out.

    Returns
    -------
    pandas.DataFrame
        Index ``origins.index``: ``facility`` and ``second_facility`` (labels from ``facilities.index``, None when
        there is no such facility within the cutoff), ``minutes`` and ``second_minutes`` (``inf`` then; NaN for
        unroutable origins). The two facilities are distinct.

    Notes
    -----
    Exactly the two smallest values of each row of :func:`travel_time_matrix` (direct legs included; see
    :func:`_two_nearest_nodes` for why two multi-source searches are exact); when several facilities tie, which one
    is named may differ from the matrix's column order.
    """
    cutoff_s = _cutoff_s(cutoff_min)
    so = _snap(network, origins, "origins", on_snap_error)
    sf = _snap(network, facilities, "facilities", on_snap_error)
    n_o = len(so.index)
    out = {"facility": np.full(n_o, None, dtype=object), "minutes": np.full(n_o, np.nan),
           "second_facility": np.full(n_o, None, dtype=object), "second_minutes": np.full(n_o, np.nan)}
    if not so.ok.any():
        return pd.DataFrame(out, index=so.index)
    f_idx = np.flatnonzero(sf.ok)
    n_ok = int(so.ok.sum())
    o_pt, o_node, o_acc = so.links_of_ok()
    f_pt, f_node, f_acc = sf.links_of_ok()
    limit = _limit(cutoff_s, o_acc.min())
    t1, t2, f1, f2 = _two_nearest_nodes(network, f_pt, f_node, f_acc, f_idx.size, limit)
    # candidates per origin, through each of its links: the two best facilities of the link's node (exact: a
    # facility that is neither of them is beaten at that node by two distinct ones, one of which is not the
    # origin's best), then the direct legs; (time, facility position among f_idx)
    cand_t = [o_acc + t1[o_node], o_acc + t2[o_node]]
    cand_f = [f1[o_node], f2[o_node]]
    cand_o = [o_pt, o_pt]
    i, j, dist_m = _direct_pairs(network.profile, so, sf, f_idx)
    if i.size:
        cand_t.append(network.profile.access_s(dist_m))
        cand_f.append(j)
        cand_o.append(i)
    t = np.concatenate(cand_t)
    f = np.concatenate(cand_f)
    o = np.concatenate(cand_o)
    keep = (f >= 0) & (t <= cutoff_s)
    t, f, o = t[keep], f[keep], o[keep]
    # per origin and facility the fastest way, then the two fastest facilities (ties: lower facility position)
    order = np.lexsort((f, t, o))
    t, f, o = t[order], f[order], o[order]
    first_of_pair = np.ones(t.size, bool)
    pair = o * (f_idx.size + 1) + f
    seen = pd.Series(pair).duplicated().to_numpy()
    first_of_pair &= ~seen
    t, f, o = t[first_of_pair], f[first_of_pair], o[first_of_pair]
    start = np.searchsorted(o, np.arange(n_ok), side="left")
    end = np.searchsorted(o, np.arange(n_ok), side="right")
    best_t = np.full((n_ok, 2), np.inf)
    best_f = np.full((n_ok, 2), -1, dtype=np.int64)
    for r in (0, 1):
        has = end - start > r
        best_t[has, r] = t[start[has] + r]
        best_f[has, r] = f[start[has] + r]
    labels = np.asarray(sf.index, dtype=object)
    for r, (fc, mc) in enumerate((("facility", "minutes"), ("second_facility", "second_minutes"))):
        lab = np.full(n_ok, None, dtype=object)
        hit = best_f[:, r] >= 0
        lab[hit] = labels[f_idx[best_f[hit, r]]]
        out[fc][so.ok] = lab
        out[mc][so.ok] = best_t[:, r] / 60.0
    return pd.DataFrame(out, index=so.index)


def pairs_within(network: RoadNetwork, origins, destinations, cutoff_min: float, chunk_size: int = 256,
                 on_snap_error: str = "nan") -> pd.DataFrame:
    """Every (origin, destination) pair within ``cutoff_min`` minutes (origin -> destination), as a sparse table.

    The same times as ``travel_time_matrix(..., cutoff_min)`` restricted to its finite entries, direct legs
    included, but never an origins x destinations matrix: the searches run backwards from ``chunk_size``
    destination nodes at a time (each with the cutoff as its limit), so memory is bounded by ``chunk_size`` x the
    number of nodes whatever the number of destinations (national siting: thousands of candidates).

    Parameters
    ----------
    network : RoadNetwork
    origins, destinations : GeoDataFrame or GeoSeries of Points
    cutoff_min : float
        Minutes (> 0); a cutoff is required.
    chunk_size : int
        Destination nodes per search batch.
    on_snap_error : {"nan", "raise"}
        Unroutable points: left out (default), or an error naming them.

    Returns
    -------
    pandas.DataFrame
        ``origin`` and ``destination`` (positions in ``origins`` / ``destinations``, int64), ``minutes``; sorted by
        destination then origin.
    """
    cutoff_s = _cutoff_s(cutoff_min)
    if not np.isfinite(cutoff_s):
        raise ValueError("pairs_within needs a cutoff (minutes)")
    so = _snap(network, origins, "origins", on_snap_error)
    sd = _snap(network, destinations, "destinations", on_snap_error)
    empty = pd.DataFrame({"origin": np.zeros(0, np.int64), "destination": np.zeros(0, np.int64),
                          "minutes": np.zeros(0)})
    if not so.ok.any() or not sd.ok.any():
        return empty
    o_pos = np.flatnonzero(so.ok)
    d_pos = np.flatnonzero(sd.ok)
    o_pt, o_node, o_acc = so.links_of_ok()
    d_pt, d_node, d_acc = sd.links_of_ok()
    n = network.n_nodes
    limit = _limit(cutoff_s, o_acc.min())
    d_start = np.searchsorted(d_pt, np.arange(len(d_pos) + 1))
    parts_i, parts_j, parts_t = [], [], []
    size = max(1, int(chunk_size))
    for c0 in range(0, len(d_pos), size):
        c1 = min(c0 + size, len(d_pos))
        sel = slice(d_start[c0], d_start[c1])
        # the chunk's destinations as virtual sources (joined to their links) on the reversed graph
        aug = _with_sources(network.csr_reverse, d_pt[sel] - c0, d_node[sel], d_acc[sel], c1 - c0)
        dist = dijkstra(aug, directed=True, indices=np.arange(n, n + c1 - c0), limit=limit)
        t = _min_over_links(dist[:, o_node], o_pt, o_acc)  # chunk x origins, seconds
        del dist
        bi, oi = np.nonzero(t <= cutoff_s)
        parts_i.append(oi)
        parts_j.append(bi + c0)
        parts_t.append(t[bi, oi])
    i = np.concatenate(parts_i)
    j = np.concatenate(parts_j)
    t = np.concatenate(parts_t)
    di, dj, dist_m = _direct_pairs(network.profile, so, sd)
    if di.size:
        dt_ = network.profile.access_s(dist_m)
        ok = dt_ <= cutoff_s
        i, j, t = np.r_[i, di[ok]], np.r_[j, dj[ok]], np.r_[t, dt_[ok]]
    frame = pd.DataFrame({"origin": o_pos[i].astype(np.int64), "destination": d_pos[j].astype(np.int64),
                          "minutes": t / 60.0})
    frame = frame.sort_values(["destination", "origin", "minutes"], kind="stable")
    frame = frame.drop_duplicates(["destination", "origin"], keep="first").reset_index(drop=True)
    return frame


def node_times(network: RoadNetwork, sources, cutoff_min: float | None = None, reverse: bool = False,
               on_snap_error: str = "raise") -> np.ndarray:
    """Times from each source point (access leg included) to every network node, seconds.

    Parameters
    ----------
    network : RoadNetwork
    sources : GeoDataFrame or GeoSeries of Points
    cutoff_min : float, optional
        Times above this are ``inf``, minutes (> 0).
    reverse : bool
        Times *towards* each source (node -> source point) instead, e.g. "who reaches this site within 20 min".
    on_snap_error : {"raise", "nan"}
        Unroutable sources: error naming them, or NaN rows.

    Returns
    -------
    numpy.ndarray
        ``len(sources) x network.n_nodes``, seconds (columns follow ``network.node_ids``); ``inf`` beyond the cutoff
        or unreachable.

    Notes
    -----
    Times to *nodes*, so no direct legs (those join two points): every value is access leg + shortest network path,
    whatever ``profile.direct_leg``. Where these times are turned into areas, the off-network part is the caller's:
    :func:`fsgeo.catchments.catchments` adds around each site a disc of radius ``band x connector pace`` (capped at
    ``max_snap_m``), which is exactly the set of points a direct leg from the site reaches within the band (a point
    ``d`` metres away is ``access_s(d)`` seconds away), so the catchments already play the direct-leg role there.
    """
    cutoff_s = _cutoff_s(cutoff_min)
    ss = _snap(network, sources, "sources", on_snap_error)
    if not ss.ok.any():
        return np.full((len(ss.index), network.n_nodes), np.nan)
    n, k = network.n_nodes, int(ss.ok.sum())
    pt, node, acc = ss.links_of_ok()
    graph = network.csr_reverse if reverse else network.csr
    aug = _with_sources(graph, pt, node, acc, k)
    t = dijkstra(aug, directed=True, indices=np.arange(n, n + k), limit=_limit(cutoff_s))[:, :n]
    t[t > cutoff_s] = np.inf
    if ss.ok.all():  # no NaN row to add: the search's own array (a national chunk's is hundreds of MB)
        return t
    out = np.full((len(ss.index), n), np.nan)
    out[ss.ok] = t
    return out


def access_share(network: RoadNetwork, origins, destinations) -> pd.DataFrame:
    """Of each trip ``origins.iloc[i] -> destinations.iloc[i]``, the part of the door-to-door time spent on the
    origin's access leg (the straight leg between the point and the road network).

    A commune whose time is mostly access leg is where the network says least (its roads are not in it, or the point
    is far from them): worth flagging next to its time.

    Returns
    -------
    pandas.DataFrame
        Index ``origins.index``: ``minutes`` (the same door-to-door time as :func:`travel_time_matrix`), ``access_min``
        (the origin's access leg on the fastest route, the whole trip for a direct leg), ``access_share``
        (``access_min / minutes``; 0 for a zero-minute trip); NaN where a point cannot be routed or no route exists.
    """
    if len(origins) != len(destinations):
        raise ValueError(f"{len(origins)} origins but {len(destinations)} destinations")
    so = _snap(network, origins, "origins", "nan")
    sd = _snap(network, destinations, "destinations", "nan")
    k = len(so.index)
    minutes = np.full(k, np.nan)
    access = np.full(k, np.nan)
    pairs = np.flatnonzero(so.ok & sd.ok)
    if pairs.size:
        o_rank, o_node, o_acc = so.links_of_ok()
        d_rank, d_node, d_acc = sd.links_of_ok()
        o_of = np.cumsum(so.ok) - 1
        d_of = np.cumsum(sd.ok) - 1
        # one backward search per distinct destination point (its links as a virtual source on the reversed graph),
        # in chunks: a dense row per destination over the whole graph
        _, first_row, inv = np.unique(sd.xy[pairs], axis=0, return_index=True, return_inverse=True)
        inv = inv.ravel()
        dests = d_of[pairs[first_row]]                       # a representative routable row per distinct point
        n = network.n_nodes
        starts = np.searchsorted(o_rank, np.arange(int(so.ok.sum()) + 1))
        chunk = max(1, int(2e7 // max(n, 1)))
        for c0 in range(0, dests.size, chunk):
            part = dests[c0:c0 + chunk]
            sel = np.isin(d_rank, part)
            remap = pd.Index(part).get_indexer(d_rank[sel])
            order = np.argsort(remap, kind="stable")
            aug = _with_sources(network.csr_reverse, remap[order], d_node[sel][order], d_acc[sel][order], part.size)
            dist = dijkstra(aug, directed=True, indices=np.arange(n, n + part.size))
            for q in np.flatnonzero((inv >= c0) & (inv < c0 + part.size)):
                p, row = pairs[q], inv[q] - c0
                a, b = starts[o_of[p]], starts[o_of[p] + 1]
                total = o_acc[a:b] + dist[row, o_node[a:b]]
                best = int(np.argmin(total))
                minutes[p], access[p] = total[best] / 60.0, o_acc[a + best] / 60.0
        # direct legs, as in travel_time_matrix: the whole trip is off the network
        if network.profile.direct_leg:
            xy = so.xy[pairs] - sd.xy[pairs]
            dist_m = np.hypot(xy[:, 0], xy[:, 1])
            gap = (so.table["snap_distance_m"].to_numpy(float)[pairs] + sd.table["snap_distance_m"].to_numpy(float)[pairs])
            ok = dist_m <= np.maximum(network.profile.direct_leg_radius_m, gap)
            leg = network.profile.access_s(dist_m) / 60.0
            take = ok & (leg < minutes[pairs])
            minutes[pairs[take]] = leg[take]
            access[pairs[take]] = leg[take]
    minutes[np.isinf(minutes)] = np.nan
    share = np.where(minutes > 0, access / np.where(minutes > 0, minutes, 1), 0.0)
    share[np.isnan(minutes)] = np.nan
    return pd.DataFrame({"minutes": minutes, "access_min": np.where(np.isnan(minutes), np.nan, access),
                         "access_share": share}, index=so.index)


def _direct_pairs(profile, a: _Snapped, b: _Snapped, b_idx: np.ndarray | None = None):
    """Pairs joined by a direct leg, between the routable points of ``a`` and those of ``b`` (``b_idx``: positions of
    the ``b`` points to use, default its routable ones).

    A pair qualifies when its straight distance is at most ``profile.direct_leg_radius_m`` or at most the sum of the
    two snap distances (same gap of the network). One KD-tree pair query finds every candidate within the larger of
    both bounds; distances are then recomputed with ``numpy.hypot`` so that the rule compares exactly the values any
    pairwise computation gives (the tree's own sums may differ in the last bit).

    Returns
    -------
    i, j : numpy.ndarray
        Positions among ``a``'s routable points and among ``b_idx``; each pair once.
    dist_m : numpy.ndarray
        Straight distances, metres.
    """
    empty = np.zeros(0, dtype=np.int64)
    if b_idx is None:
        b_idx = np.flatnonzero(b.ok)
    if not profile.direct_leg or not a.ok.any() or not b_idx.size:
        return empty, empty, np.zeros(0)
    from scipy.spatial import cKDTree

    xa, xb = a.xy[a.ok], b.xy[b_idx]
    sa = a.table["snap_distance_m"].to_numpy(dtype=float)[a.ok]
    sb = b.table["snap_distance_m"].to_numpy(dtype=float)[b_idx]
    radius = profile.direct_leg_radius_m
    reach = max(radius, sa.max() + sb.max())
    pairs = cKDTree(xa).sparse_distance_matrix(cKDTree(xb), reach * (1 + 1e-9) + 1e-6, output_type="ndarray")
    i, j = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
    dist = np.hypot(xa[i, 0] - xb[j, 0], xa[i, 1] - xb[j, 1])
    keep = dist <= np.maximum(radius, sa[i] + sb[j])
    return i[keep], j[keep], dist[keep]
