"""Snapping and travel-time queries on a :class:`fsgeo.network.RoadNetwork` (scipy.sparse.csgraph only).

Every query counts door-to-door time: *access leg* from the origin point to its snapped node (straight distance x
``profile.snap_detour_factor`` at ``profile.connector_speed_kmh``), the network path, and the access leg from the
destination's node to the destination point. With ``profile.direct_leg`` (default) two points are also joined
directly by such a leg, so nearby points far from the network are not routed through it (a point to itself: 0 min).

Points snap with a KD-tree in Lambert-93 (``settings.metric_crs``). A point is routed only when its ``status`` is
``ok``; otherwise (``too_far``, ``off_main_component``, ``invalid_coordinates``) it is reported by id, never silently
dropped: the queries raise :class:`fsgeo.io.InputError` naming the ids, or with ``on_snap_error="nan"`` give NaN.

Shortest paths: C Dijkstra from ``scipy.sparse.csgraph`` with ``limit`` for cutoffs, from unique snapped nodes only,
on the transposed graph when searching backwards. Nodes inside two-way or one-way chains (exactly two neighbours)
are contracted away once per network; queries that start or end inside a chain enter and leave it through its two
end nodes, so times stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from fsgeo.network import RoadNetwork
from fsgeo.settings import settings

try:  # the package-wide input error (fsgeo.io); a local ValueError subclass until that module exists
    from fsgeo.io import InputError
except ImportError:  # pragma: no cover - depends on the state of the tree
    class InputError(ValueError):
        """Bad user input (file, row or id named in the message)."""

__all__ = ["snap_points", "travel_time_matrix", "nearest", "node_times", "InputError", "SNAP_STATUSES"]

SNAP_STATUSES = ("ok", "too_far", "off_main_component", "invalid_coordinates")
_ON_SNAP_ERROR = ("raise", "nan")


# -- points and snapping -------------------------------------------------------------------------------------------
def _metric_xy(points, what: str) -> tuple[pd.Index, np.ndarray]:
    """Point coordinates in the metric CRS (NaN rows for missing/empty geometries)."""
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
    if len(geom) and not geom.crs.equals(settings.metric_crs):
        geom = geom.to_crs(settings.metric_crs)
        values = geom.to_numpy()
    xy = np.full((len(values), 2), np.nan)
    if present.any():
        xy[present, 0] = shapely.get_x(values[present])
        xy[present, 1] = shapely.get_y(values[present])
    return geom.index, xy


def snap_points(network: RoadNetwork, points, max_snap_m: float | None = None) -> pd.DataFrame:
    """Snap points to their nearest network node (KD-tree, Lambert-93).

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
        Indexed like ``points``: ``node`` (position in the node arrays, -1 if none), ``node_id`` (Int64),
        ``snap_distance_m`` (straight distance, metres), ``access_s`` (access-leg time, seconds), ``status`` (``ok`` |
        ``too_far`` | ``off_main_component`` | ``invalid_coordinates``), ``reason`` (human-readable, empty if ok).
    """
    index, xy = _metric_xy(points, "points")
    return _snap_xy(network, index, xy, max_snap_m)


def _snap_xy(network: RoadNetwork, index: pd.Index, xy: np.ndarray, max_snap_m: float | None) -> pd.DataFrame:
    prof = network.profile
    max_snap = prof.max_snap_m if max_snap_m is None else float(max_snap_m)
    if not (np.isfinite(max_snap) and max_snap > 0):
        raise ValueError(f"max_snap_m must be a positive number of metres, got {max_snap_m!r}")
    k = len(index)
    valid = np.isfinite(xy).all(axis=1)
    dist = np.full(k, np.nan)
    node = np.full(k, -1, dtype=np.int64)
    if valid.any():
        d, i = network.kdtree.query(xy[valid])
        dist[valid], node[valid] = d, i
    status = np.full(k, "ok", dtype=object)
    reason = np.full(k, "", dtype=object)
    status[~valid] = "invalid_coordinates"
    reason[~valid] = "missing, empty or non-finite coordinates"
    far = valid & (dist > max_snap)
    off = valid & ~far & ~network.main_component[np.maximum(node, 0)]
    ids = network.node_ids
    for j in np.flatnonzero(far):
        status[j] = "too_far"
        reason[j] = f"nearest road node {ids[node[j]]} is {dist[j]:,.0f} m away (more than {max_snap:,.0f} m)"
    if off.any():
        main_count = int(network.main_component.sum())
        for j in np.flatnonzero(off):
            status[j] = "off_main_component"
            reason[j] = (f"nearest road node {ids[node[j]]} ({dist[j]:,.0f} m away) is on a fragment cut off from "
                         f"the main network ({main_count:,} of {network.n_nodes:,} nodes)")
    node_id = pd.array(np.where(node >= 0, ids[np.maximum(node, 0)], 0), dtype="Int64")
    node_id[node < 0] = pd.NA
    return pd.DataFrame({
        "node": node, "node_id": node_id, "snap_distance_m": dist, "access_s": prof.access_s(dist),
        "status": status, "reason": reason,
    }, index=index)


@dataclass
class _Snapped:
    index: pd.Index
    xy: np.ndarray
    table: pd.DataFrame
    ok: np.ndarray          # bool mask
    node: np.ndarray        # positions (valid where ok)
    access_s: np.ndarray


def _snap(network: RoadNetwork, points, what: str, on_snap_error: str) -> _Snapped:
    if on_snap_error not in _ON_SNAP_ERROR:
        raise ValueError(f"on_snap_error must be one of {_ON_SNAP_ERROR}, got {on_snap_error!r}")
    index, xy = _metric_xy(points, what)
    table = _snap_xy(network, index, xy, None)
    ok = (table["status"] == "ok").to_numpy()
    if on_snap_error == "raise" and not ok.all():
        bad = table[~ok]
        lines = [f"  {idx!r}: {row.status} - {row.reason}" for idx, row in bad.head(20).iterrows()]
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        raise InputError(f"{what}: {len(bad)} point(s) cannot be routed (pass on_snap_error='nan' to get NaN "
                         "instead):\n" + "\n".join(lines) + more)
    return _Snapped(index, xy, table, ok, table["node"].to_numpy(), table["access_s"].to_numpy())


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


# -- contraction of chains (exact) ----------------------------------------------------------------------------------
@dataclass
class _Chains:
    """Core graph without chain-interior nodes, and how interior nodes reach / are reached from chain ends."""

    core: np.ndarray            # positions of core nodes in the full graph
    core_pos: np.ndarray        # full position -> core position (-1 for interior nodes)
    csr: sparse.csr_matrix      # core graph, seconds
    csr_reverse: sparse.csr_matrix
    # for every full node: its two chain ends (core positions, full index) and times; core nodes: end_a = itself
    end_a: np.ndarray
    end_b: np.ndarray
    to_a: np.ndarray            # node -> end_a along the chain, s (inf if one-way forbids)
    to_b: np.ndarray
    from_a: np.ndarray          # end_a -> node along the chain, s
    from_b: np.ndarray
    chain: np.ndarray           # chain id (-1 for core nodes)
    chain_pos: np.ndarray       # position along the chain walking a -> b (1..m)
    offset_fwd: np.ndarray      # time from the chain's end_a to the node walking a->b, s (inf-free cumulative)
    broken_fwd: np.ndarray      # count of segments missing in the a->b direction before the node
    offset_bwd: np.ndarray      # time from the node to end_a walking b->a (cumulative from a)
    broken_bwd: np.ndarray


def _chains(network: RoadNetwork) -> _Chains:
    cached = network._cache.get("chains")
    if cached is None:
        cached = network._cache["chains"] = _build_chains(network.csr)
    return cached


def _build_chains(csr: sparse.csr_matrix) -> _Chains:
    n = csr.shape[0]
    coo = csr.tocoo()
    # undirected neighbour pattern, built from the structure so that zero-time edges count
    pat = sparse.coo_matrix((np.ones(coo.nnz), (coo.row, coo.col)), shape=(n, n)).tocsr()
    sym = (pat + pat.T).tocsr()
    sym.setdiag(0)
    sym.eliminate_zeros()
    deg = np.diff(sym.indptr)
    interior = deg == 2
    interior[coo.row[coo.row == coo.col]] = False  # a node with a self-loop stays in the core
    nbrs = np.full((n, 2), -1, dtype=np.int64)
    idx2 = np.flatnonzero(deg == 2)
    nbrs[idx2, 0] = sym.indices[sym.indptr[idx2]]
    nbrs[idx2, 1] = sym.indices[sym.indptr[idx2] + 1]
    chains_nodes, chain_ends, visited = _walk_chains(sym, interior, nbrs)
    if not visited.all():
        # rings made only of two-neighbour nodes (e.g. a roundabout cut from everything): keep them in the core
        interior &= ~(interior & ~visited)
        chains_nodes, chain_ends, visited = _walk_chains(sym, interior, nbrs)
    return _assemble(csr, interior, chains_nodes, chain_ends)


def _walk_chains(sym, interior, nbrs):
    """Maximal runs of interior nodes between two core nodes, walked from every core node."""
    visited = ~interior
    chains_nodes: list[np.ndarray] = []
    chain_ends: list[tuple[int, int]] = []
    indptr, indices = sym.indptr, sym.indices
    nb0, nb1 = nbrs[:, 0].tolist(), nbrs[:, 1].tolist()
    inter = interior.tolist()
    for s in np.flatnonzero(~interior).tolist():
        for nb in indices[indptr[s]:indptr[s + 1]].tolist():
            if not inter[nb] or visited[nb]:
                continue
            path = [nb]
            visited[nb] = True
            prev, cur = s, nb
            while True:
                nxt = nb1[cur] if nb0[cur] == prev else nb0[cur]
                if not inter[nxt]:
                    break
                visited[nxt] = True
                path.append(nxt)
                prev, cur = cur, nxt
            chains_nodes.append(np.asarray(path, dtype=np.int64))
            chain_ends.append((s, nxt))
    return chains_nodes, chain_ends, visited


def _edge_times(csr: sparse.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``csr[i, j]`` for arrays of pairs, ``inf`` where there is no edge (explicit zeros are edges)."""
    n = csr.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
    keys = rows * n + csr.indices.astype(np.int64)
    order = np.argsort(keys, kind="stable")
    keys, data = keys[order], csr.data[order]
    q = i.astype(np.int64) * n + j.astype(np.int64)
    pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
    return np.where(keys[pos] == q, data[pos], np.inf)


def _assemble(csr, interior, chains_nodes, chain_ends) -> _Chains:
    n = csr.shape[0]
    core = np.flatnonzero(~interior)
    core_pos = np.full(n, -1, dtype=np.int64)
    core_pos[core] = np.arange(len(core))
    end_a = np.arange(n, dtype=np.int64)
    end_b = np.arange(n, dtype=np.int64)
    zeros = np.zeros(n)
    to_a, to_b, from_a, from_b = zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy()
    chain = np.full(n, -1, dtype=np.int64)
    chain_pos = np.zeros(n, dtype=np.int64)
    off_f = np.zeros(n)
    brk_f = np.zeros(n, dtype=np.int64)
    off_b = np.zeros(n)
    brk_b = np.zeros(n, dtype=np.int64)
    # core edges: direct edges between core nodes
    coo = csr.tocoo()
    keep = ~interior[coo.row] & ~interior[coo.col]
    rows, cols, data = [core_pos[coo.row[keep]]], [core_pos[coo.col[keep]]], [coo.data[keep]]
    # all chain segments at once
    seq_all = [np.concatenate(([a], nodes, [b])) for nodes, (a, b) in zip(chains_nodes, chain_ends)]
    if seq_all:
        lens = np.array([len(s) - 1 for s in seq_all])
        starts = np.concatenate([s[:-1] for s in seq_all])
        stops = np.concatenate([s[1:] for s in seq_all])
        fw_all = _edge_times(csr, starts, stops)
        bw_all = _edge_times(csr, stops, starts)
        bounds = np.concatenate(([0], np.cumsum(lens)))
    for c, (nodes, (a, b)) in enumerate(zip(chains_nodes, chain_ends)):
        fw = fw_all[bounds[c]:bounds[c + 1]]        # time of segment k walking a -> b
        bw = bw_all[bounds[c]:bounds[c + 1]]        # time of segment k walking b -> a
        fmiss, bmiss = ~np.isfinite(fw), ~np.isfinite(bw)
        fcum = np.concatenate(([0.0], np.cumsum(np.where(fmiss, 0.0, fw))))
        fbrk = np.concatenate(([0], np.cumsum(fmiss)))
        bcum = np.concatenate(([0.0], np.cumsum(np.where(bmiss, 0.0, bw))))
        bbrk = np.concatenate(([0], np.cumsum(bmiss)))
        m = len(nodes)
        inner = slice(1, m + 1)
        chain[nodes] = c
        chain_pos[nodes] = np.arange(1, m + 1)
        end_a[nodes], end_b[nodes] = a, b
        off_f[nodes], brk_f[nodes] = fcum[inner], fbrk[inner]
        off_b[nodes], brk_b[nodes] = bcum[inner], bbrk[inner]
        # a -> node (forward prefix), node -> b (forward suffix), node -> a (backward prefix), b -> node (suffix)
        from_a[nodes] = np.where(fbrk[inner] == 0, fcum[inner], np.inf)
        to_b[nodes] = np.where(fbrk[-1] - fbrk[inner] == 0, fcum[-1] - fcum[inner], np.inf)
        to_a[nodes] = np.where(bbrk[inner] == 0, bcum[inner], np.inf)
        from_b[nodes] = np.where(bbrk[-1] - bbrk[inner] == 0, bcum[-1] - bcum[inner], np.inf)
        if fbrk[-1] == 0:
            rows.append([core_pos[a]]), cols.append([core_pos[b]]), data.append([fcum[-1]])
        if bbrk[-1] == 0:
            rows.append([core_pos[b]]), cols.append([core_pos[a]]), data.append([bcum[-1]])
    r = np.concatenate([np.asarray(x, dtype=np.int64) for x in rows])
    cc = np.concatenate([np.asarray(x, dtype=np.int64) for x in cols])
    d = np.concatenate([np.asarray(x, dtype=float) for x in data])
    core_csr = _min_csr(r, cc, d, len(core))
    return _Chains(core, core_pos, core_csr, core_csr.T.tocsr(), end_a, end_b, to_a, to_b, from_a, from_b, chain,
                   chain_pos, off_f, brk_f, off_b, brk_b)


def _min_csr(r: np.ndarray, c: np.ndarray, d: np.ndarray, n: int) -> sparse.csr_matrix:
    """CSR keeping the minimum of duplicate entries and explicit zeros (zero-time edges)."""
    order = np.lexsort((d, c, r))
    r, c, d = r[order], c[order], d[order]
    first = np.ones(len(r), bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    r, c, d = r[first], c[first], d[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, r + 1, 1)
    return sparse.csr_matrix((d, c.astype(np.int32), np.cumsum(indptr).astype(np.int32)), shape=(n, n))


def _node_to_node(network: RoadNetwork, src: np.ndarray, dst: np.ndarray, limit_s: float) -> np.ndarray:
    """Exact network times (s) from each node position in ``src`` to each in ``dst`` (unique arrays)."""
    ch = _chains(network)
    # entry points: a core source starts at itself; an interior one at its two chain ends
    s_in = ch.core_pos[src] >= 0
    s_ends = np.where(s_in[:, None], np.column_stack([src, src]), np.column_stack([ch.end_a[src], ch.end_b[src]]))
    s_cost = np.where(s_in[:, None], np.column_stack([np.zeros(len(src)), np.full(len(src), np.inf)]),
                      np.column_stack([ch.to_a[src], ch.to_b[src]]))
    d_in = ch.core_pos[dst] >= 0
    d_ends = np.where(d_in[:, None], np.column_stack([dst, dst]), np.column_stack([ch.end_a[dst], ch.end_b[dst]]))
    d_cost = np.where(d_in[:, None], np.column_stack([np.zeros(len(dst)), np.full(len(dst), np.inf)]),
                      np.column_stack([ch.from_a[dst], ch.from_b[dst]]))
    cs = np.unique(ch.core_pos[s_ends[np.isfinite(s_cost)]])
    cd = np.unique(ch.core_pos[d_ends[np.isfinite(d_cost)]])
    if len(cs) <= len(cd):
        core_t = dijkstra(ch.csr, directed=True, indices=cs, limit=limit_s)[:, cd]
    else:
        core_t = dijkstra(ch.csr_reverse, directed=True, indices=cd, limit=limit_s)[:, cs].T
    si = np.searchsorted(cs, ch.core_pos[s_ends])
    di = np.searchsorted(cd, ch.core_pos[d_ends])
    si = np.minimum(si, len(cs) - 1)
    di = np.minimum(di, len(cd) - 1)
    out = np.full((len(src), len(dst)), np.inf)
    with np.errstate(invalid="ignore"):
        for a in range(2):
            for b in range(2):
                t = s_cost[:, a][:, None] + core_t[si[:, a]][:, di[:, b]] + d_cost[:, b][None, :]
                np.minimum(out, t, out=out)
    # pairs on the same chain can also travel along it without reaching an end
    same = (ch.chain[src][:, None] == ch.chain[dst][None, :]) & (ch.chain[src][:, None] >= 0)
    if same.any():
        i, j = np.nonzero(same)
        s, d = src[i], dst[j]
        ahead = ch.chain_pos[d] > ch.chain_pos[s]  # destination further along a -> b
        fwd_ok = ch.broken_fwd[d] == ch.broken_fwd[s]
        bwd_ok = ch.broken_bwd[d] == ch.broken_bwd[s]
        t_f = np.where(ahead & fwd_ok, ch.offset_fwd[d] - ch.offset_fwd[s], np.inf)
        t_b = np.where(~ahead & bwd_ok, ch.offset_bwd[s] - ch.offset_bwd[d], np.inf)
        # same node: zero
        t = np.where(s == d, 0.0, np.minimum(t_f, t_b))
        out[i, j] = np.minimum(out[i, j], t)
    out[out > limit_s] = np.inf
    return out


def _one_to_all(network: RoadNetwork, src: np.ndarray, limit_s: float, reverse: bool) -> np.ndarray:
    """Times (s) from (``reverse``: towards) each node position in ``src`` to every node of the network."""
    graph = network.csr_reverse if reverse else network.csr
    return dijkstra(graph, directed=True, indices=src, limit=limit_s)


# -- public queries ------------------------------------------------------------------------------------------------
def travel_time_matrix(network: RoadNetwork, origins, destinations, cutoff_min: float | None = None,
                       on_snap_error: str = "raise") -> pd.DataFrame:
    """Door-to-door driving times from every origin to every destination, minutes.

    Parameters
    ----------
    network : RoadNetwork
    origins, destinations : GeoDataFrame or GeoSeries of Points
        Any CRS (reprojected to Lambert-93 for snapping).
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
        o_nodes, o_inv = np.unique(so.node[so.ok], return_inverse=True)
        d_nodes, d_inv = np.unique(sd.node[sd.ok], return_inverse=True)
        acc_o, acc_d = so.access_s[so.ok], sd.access_s[sd.ok]
        limit = _limit(cutoff_s, acc_o.min(), acc_d.min())
        t = _node_to_node(network, o_nodes, d_nodes, limit)
        total = acc_o[:, None] + t[o_inv][:, d_inv] + acc_d[None, :]
        if network.profile.direct_leg:
            direct = network.profile.access_s(_pairwise_m(so.xy[so.ok], sd.xy[sd.ok]))
            np.minimum(total, direct, out=total)
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
        the cutoff), ``minutes`` (``inf`` then; NaN for unroutable origins).
    """
    cutoff_s = _cutoff_s(cutoff_min)
    so = _snap(network, origins, "origins", on_snap_error)
    sf = _snap(network, facilities, "facilities", on_snap_error)
    minutes = np.full(len(so.index), np.nan)
    facility = np.full(len(so.index), None, dtype=object)
    if not so.ok.any():
        return pd.DataFrame({"facility": facility, "minutes": minutes}, index=so.index)
    f_idx = np.flatnonzero(sf.ok)
    acc_o = so.access_s[so.ok]
    best = np.full(int(so.ok.sum()), np.inf)
    best_f = np.full(int(so.ok.sum()), -1, dtype=np.int64)
    if f_idx.size:
        # one virtual source per facility, linked to its node by its access leg, on the reversed graph: a single
        # min_only search gives, for every node, the best facility reachable *from* it
        n = network.n_nodes
        rev = network.csr_reverse
        k = f_idx.size
        indptr = np.concatenate([rev.indptr.astype(np.int64), rev.indptr[-1] + np.arange(1, k + 1)])
        indices = np.concatenate([rev.indices, sf.node[f_idx]]).astype(np.int32)
        data = np.concatenate([rev.data, sf.access_s[f_idx]])
        aug = sparse.csr_matrix((data, indices, indptr.astype(np.int32)), shape=(n + k, n + k))
        limit = _limit(cutoff_s, acc_o.min())
        dist, _pred, src = dijkstra(aug, directed=True, indices=np.arange(n, n + k), limit=limit, min_only=True,
                                    return_predecessors=True)
        o_node = so.node[so.ok]
        best = acc_o + dist[o_node]
        reached = src[o_node] >= n
        best_f = np.where(reached, src[o_node] - n, -1)
        best[~reached] = np.inf
        if network.profile.direct_leg:
            from scipy.spatial import cKDTree

            dd, jj = cKDTree(sf.xy[f_idx]).query(so.xy[so.ok])
            direct = network.profile.access_s(dd)
            better = direct < best
            best[better] = direct[better]
            best_f[better] = jj[better]
    best[best > cutoff_s] = np.inf
    hit = np.isfinite(best)
    labels = np.full(best.size, None, dtype=object)
    if hit.any():
        labels[hit] = np.asarray(sf.index[f_idx[best_f[hit]]], dtype=object)
    minutes[so.ok] = best / 60.0
    facility[so.ok] = labels
    return pd.DataFrame({"facility": facility, "minutes": minutes}, index=so.index)


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
    """
    cutoff_s = _cutoff_s(cutoff_min)
    ss = _snap(network, sources, "sources", on_snap_error)
    out = np.full((len(ss.index), network.n_nodes), np.nan)
    if ss.ok.any():
        nodes, inv = np.unique(ss.node[ss.ok], return_inverse=True)
        acc = ss.access_s[ss.ok]
        t = _one_to_all(network, nodes, _limit(cutoff_s, acc.min()), reverse)[inv] + acc[:, None]
        t[t > cutoff_s] = np.inf
        out[ss.ok] = t
    return out


def _pairwise_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(a[:, 0][:, None] - b[:, 0][None, :], a[:, 1][:, None] - b[:, 1][None, :])


def _as_points(values: Sequence) -> gpd.GeoSeries:  # pragma: no cover - convenience for interactive use
    return gpd.GeoSeries(values, crs=settings.crs)
