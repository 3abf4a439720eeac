"""Drive-time catchments of France Services sites, and their service areas.

A catchment is the land from which a site can be reached by car within a band of minutes. It is built from the road
network itself, not from a convex hull (which claims valleys and forests no road crosses):

1. ``routing.node_times(..., reverse=True)`` gives the time from every node *to* the site (access leg included), the
   same direction as the commune -> site times of :mod:`fsgeo.coverage`;
2. every road segment is kept for the part from which the site is reachable within the band: fully reachable segments
   whole, partly reachable ones cut where the remaining time runs out (the time along an edge is linear in its length);
3. each kept piece is widened by what the remaining time allows off the road, at the profile's access-leg pace
   (``connector_speed_kmh / snap_detour_factor``, capped at ``max_snap_m`` like the snapping itself): the piece
   between two points with remaining times ``r0`` and ``r1`` becomes the convex hull of their two circles of radius
   ``r * pace`` (exact for a straight piece, since the radius varies linearly along it);
4. the site's own surroundings (straight access, radius ``band * pace``) are added, everything is unioned (the
   widest pieces, nearly all inside the others, only where they stick out: same polygon, fewer overlays).

Bands nest by construction: each band's polygon is unioned with the next smaller band's.

All metric work is in the network's metric CRS (``network.metric_crs``: Lambert-93 for French networks, the local
UTM zone elsewhere), in metres; outputs are EPSG:4326.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from fsgeo.errors import require
from fsgeo.schema import LAMBERT93, local_metric_crs
from fsgeo.settings import settings

#: vertices per circle used to widen road pieces (a 16-gon loses < 2 % of the disc's area)
CIRCLE_VERTICES = 16


# --------------------------------------------------------------------------------------------------------------------
# network -> road segments (metric), computed once per call
# --------------------------------------------------------------------------------------------------------------------
def _metric_crs(network):
    """The CRS of ``network.xy_metric`` (metres); Lambert-93 for stand-in networks that do not say."""
    return getattr(network, "metric_crs", None) or LAMBERT93


def _network_segments(network):
    """Straight road segments of every directed edge, oriented u -> v, in Lambert-93.

    Returns a dict of arrays: ``edge_u``, ``edge_v`` (node positions), ``edge_t`` (seconds) per edge; per segment
    ``seg_edge`` (edge row), ``ax, ay, bx, by`` (metres), ``f0, f1`` (fractions of the edge's length).
    """
    nodes_xy = np.asarray(network.xy_metric, dtype=float)
    node_ids = np.asarray(network.node_ids)
    edges = network.edges
    pos = pd.Index(node_ids)
    eu = pos.get_indexer(edges["u"].to_numpy())
    ev = pos.get_indexer(edges["v"].to_numpy())
    if (eu < 0).any() or (ev < 0).any():
        raise ValueError("network edges reference unknown node ids")
    et = edges["travel_time_s"].to_numpy(dtype=float)

    geoms = edges.geometry.to_numpy() if "geometry" in edges.columns else np.full(len(edges), None)
    has_geom = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    lines = np.empty(len(edges), dtype=object)
    if has_geom.any():
        g = gpd.GeoSeries(geoms[has_geom], crs=edges.crs or settings.crs).to_crs(_metric_crs(network)).to_numpy()
        lines[has_geom] = g
    # edges without a geometry: the straight line between their nodes
    if (~has_geom).any():
        idx = np.flatnonzero(~has_geom)
        lines[idx] = shapely.linestrings(np.stack([nodes_xy[eu[idx]], nodes_xy[ev[idx]]], axis=1))
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    # orient each geometry u -> v (a reverse directed row may share its twin's geometry)
    first = np.searchsorted(owner, np.arange(len(edges)), side="left")
    last = np.searchsorted(owner, np.arange(len(edges)), side="right") - 1
    d_first_u = np.hypot(*(coords[first] - nodes_xy[eu]).T)
    d_first_v = np.hypot(*(coords[first] - nodes_xy[ev]).T)
    flip = d_first_v < d_first_u
    if flip.any():
        # reverse the coordinate runs of flipped edges
        order = np.arange(len(coords))
        for i in np.flatnonzero(flip):
            order[first[i] : last[i] + 1] = order[first[i] : last[i] + 1][::-1]
        coords = coords[order]
    same = owner[:-1] == owner[1:]
    a_idx = np.flatnonzero(same)
    seg_edge = owner[a_idx]
    a = coords[a_idx]
    b = coords[a_idx + 1]
    seg_len = np.hypot(*(b - a).T)
    # cumulative fractions along each edge
    cum = np.zeros(len(seg_len) + 1)
    np.cumsum(seg_len, out=cum[1:])
    starts = np.searchsorted(seg_edge, np.arange(len(edges)), side="left")
    ends = np.searchsorted(seg_edge, np.arange(len(edges)), side="right")
    edge_len = cum[ends] - cum[starts]
    base = cum[starts][seg_edge]
    tot = edge_len[seg_edge]
    with np.errstate(invalid="ignore", divide="ignore"):
        f0 = np.where(tot > 0, (cum[:-1] - base) / tot, 0.0)
        f1 = np.where(tot > 0, (cum[1:] - base) / tot, 1.0)
    # the same road stored in the other direction: segment B -> A of another row (two-way roads)
    key = np.round(np.stack([a[:, 0], a[:, 1], b[:, 0], b[:, 1]], axis=1), 3)
    fwd = pd.DataFrame(key, columns=["x0", "y0", "x1", "y1"])
    fwd["row"] = np.arange(len(key))
    rev = pd.DataFrame(key[:, [2, 3, 0, 1]], columns=["x0", "y0", "x1", "y1"])
    rev["twin"] = np.arange(len(key))
    m = fwd.merge(rev, on=["x0", "y0", "x1", "y1"], how="inner")
    m = m[(m["row"] != m["twin"]) & (seg_edge[m["row"].to_numpy()] != seg_edge[m["twin"].to_numpy()])]
    m = m.drop_duplicates("row")
    twin = np.full(len(key), -1)
    twin[m["row"].to_numpy()] = m["twin"].to_numpy()
    # a twin must point back (parallel duplicates could pair unevenly): keep mutual pairs only
    ok = twin >= 0
    ok[ok] = twin[twin[ok]] == np.flatnonzero(ok)
    twin[~ok] = -1
    has_in = np.zeros(len(nodes_xy), bool)
    has_in[ev] = True
    has_out = np.zeros(len(nodes_xy), bool)
    has_out[eu] = True
    # segments grouped by the node their edge ends at (starts at): the segments a search's reached nodes give times to
    by_v = np.argsort(ev[seg_edge], kind="stable")
    by_u = np.argsort(eu[seg_edge], kind="stable")
    n_nodes = len(nodes_xy)
    v_start = np.searchsorted(ev[seg_edge][by_v], np.arange(n_nodes + 1))
    u_start = np.searchsorted(eu[seg_edge][by_u], np.arange(n_nodes + 1))
    return {
        "seg_by_v": by_v,
        "seg_by_v_start": v_start,
        "seg_by_u": by_u,
        "seg_by_u_start": u_start,
        "twin": twin,
        "has_in": has_in,
        "has_out": has_out,
        "nodes_xy": nodes_xy,
        "edge_u": eu,
        "edge_v": ev,
        "edge_t": et,
        "seg_edge": seg_edge,
        "ax": a[:, 0],
        "ay": a[:, 1],
        "bx": b[:, 0],
        "by": b[:, 1],
        "f0": f0,
        "f1": f1,
    }


def _pace(network, connector_speed_kmh=None, detour_factor=None, max_radius_m=None):
    """Off-road widening: metres per second of remaining time, and its cap in metres (from the network profile)."""
    prof = getattr(network, "profile", None)
    speed = connector_speed_kmh if connector_speed_kmh is not None else getattr(prof, "connector_speed_kmh", 30.0)
    detour = detour_factor if detour_factor is not None else getattr(prof, "snap_detour_factor", 1.3)
    cap = max_radius_m if max_radius_m is not None else getattr(prof, "max_snap_m", 5000.0)
    if not (speed > 0 and detour >= 1 and cap >= 0):
        raise ValueError("connector speed must be > 0 km/h, detour factor >= 1, max radius >= 0 m")
    return speed / 3.6 / detour, float(cap)


# --------------------------------------------------------------------------------------------------------------------
# geometry of one band
# --------------------------------------------------------------------------------------------------------------------
_ANGLES = np.linspace(0, 2 * np.pi, CIRCLE_VERTICES, endpoint=False)
_COS, _SIN = np.cos(_ANGLES), np.sin(_ANGLES)


def _tapered(ax, ay, ra, bx, by, rb):
    """Convex hulls of pairs of circles (A, ra) and (B, rb) as polygons, vectorised; metres.

    The hull is bounded by the two outer tangents and by an arc of each circle; arcs are drawn through a fixed grid
    of ``CIRCLE_VERTICES`` directions plus the tangent points, so every polygon has the same number of vertices (all
    on the true circles: the polygon is inscribed, never larger than the exact shape).
    """
    ax, ay, ra, bx, by, rb = (np.asarray(v, dtype=float) for v in (ax, ay, ra, bx, by, rb))
    n = len(ax)
    k = CIRCLE_VERTICES
    dx, dy = bx - ax, by - ay
    dist = np.hypot(dx, dy)
    # one circle inside the other (or both at one point): the hull is the larger circle
    inside = dist <= np.abs(ra - rb) + 1e-9
    a_big = inside & (ra >= rb)
    b_big = inside & ~a_big
    ax, ay, ra = np.where(b_big, bx, ax), np.where(b_big, by, ay), np.where(b_big, rb, ra)
    bx, by, rb = np.where(a_big, ax, bx), np.where(a_big, ay, by), np.where(a_big, ra, rb)
    phi = np.arctan2(dy, dx)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(inside, np.pi / 2, np.arccos(np.clip((ra - rb) / np.where(dist > 0, dist, 1.0), -1.0, 1.0)))
    start = phi - beta
    # grid directions measured from the first tangent direction, sorted: the first ones (< 2 beta) are on B's arc
    rel = np.mod(_ANGLES[None, :] - start[:, None], 2 * np.pi)
    order = np.argsort(rel, axis=1)
    rel = np.take_along_axis(rel, order, axis=1)
    on_b = rel < (2 * beta)[:, None]
    nb = on_b.sum(axis=1)
    cx = np.where(on_b, bx[:, None], ax[:, None])
    cy = np.where(on_b, by[:, None], ay[:, None])
    r = np.where(on_b, rb[:, None], ra[:, None])
    out = np.empty((n, k + 5, 2))
    j = np.arange(k)[None, :]
    pos = np.where(j < nb[:, None], j + 1, j + 3)
    rows = np.repeat(np.arange(n)[:, None], k, axis=1)
    # grid vertices from the tabulated directions: pieces sharing a circle (a junction) share these vertices exactly
    out[rows, pos, 0] = cx + r * _COS[order]
    out[rows, pos, 1] = cy + r * _SIN[order]
    end = phi + beta
    i = np.arange(n)
    t_bs = np.stack([bx + rb * np.cos(start), by + rb * np.sin(start)], axis=1)
    t_be = np.stack([bx + rb * np.cos(end), by + rb * np.sin(end)], axis=1)
    t_ae = np.stack([ax + ra * np.cos(end), ay + ra * np.sin(end)], axis=1)
    t_as = np.stack([ax + ra * np.cos(start), ay + ra * np.sin(start)], axis=1)
    out[i, 0] = t_bs
    out[i, nb + 1] = t_be
    out[i, nb + 2] = t_ae
    out[i, k + 3] = t_as
    out[i, k + 4] = t_bs
    # a grid direction (almost) on a tangent direction would give a near-duplicate of the tangent point, which can
    # fold the ring: use an exact copy of the tangent point instead
    eps = 1e-9
    two_b = (2 * beta)[:, None]
    for mask, pt in (
        (rel < eps, t_bs),
        (on_b & (rel > two_b - eps), t_be),
        (~on_b & (rel < two_b + eps), t_ae),
        (rel > 2 * np.pi - eps, t_as),
    ):
        if mask.any():
            rr, jj = np.nonzero(mask)
            out[rr, pos[rr, jj]] = pt[rr]
    return shapely.polygons(out)


def _tau(seg, node_s, rows, to_site):
    """Time to the site along segments ``rows`` (positions or a slice): ``tau(s) = c + d * s`` for ``s`` from 0 (the
    segment's start) to 1 (its end), seconds; returns ``(c, d)``."""
    e = seg["seg_edge"][rows]
    te = seg["edge_t"][e]
    f0, f1 = seg["f0"][rows], seg["f1"][rows]
    if to_site:
        # a point at fraction f of the edge drives the rest of it to v, then on: tau(f) = T[v] + (1 - f) te
        a0 = node_s[seg["edge_v"][e]] + te
        slope = -te
    else:
        a0 = node_s[seg["edge_u"][e]]
        slope = te
    return a0 + slope * f0, slope * (f1 - f0)


def segments_from(seg, nodes, to_site=True):
    """Segment rows (ascending) whose time to the site follows from the times of ``nodes`` (node positions): those of
    the edges that end at one of them (``to_site``: the edges' ``v``), or start at one (``to_site=False``: ``u``).

    Given the nodes a search reached, these are the only segments :func:`reachable_pieces` can keep: passing them as
    its ``rows`` gives the same pieces without going over the whole network for every site and band."""
    order, start = (seg["seg_by_v"], seg["seg_by_v_start"]) if to_site else (seg["seg_by_u"], seg["seg_by_u_start"])
    nodes = np.asarray(nodes, dtype=np.int64)
    lo, hi = start[nodes], start[nodes + 1]
    n = hi - lo
    total = int(n.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    # the runs [lo, hi) of every node, concatenated without a Python loop
    offsets = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(total)
    return np.sort(order[offsets])


def reachable_pieces(seg, node_s, band_s, pace_mps, cap_m, to_site=True, rows=None):
    """Road pieces from which the site is reachable within ``band_s``, with their widening radii.

    Along a directed segment the time to the site is linear in the position ``s`` (0 at its start, 1 at its end):
    ``tau(s) = c + d * s``. A segment keeps the part where ``tau <= band_s`` (the cut), and, when the same road is
    also stored in the other direction, only the part where it is the faster of the two ways (the other way covers
    the rest): the pieces of a two-way road then meet at one point instead of overlapping, which keeps the union
    small.

    Parameters
    ----------
    seg : dict
        From :func:`_network_segments`.
    node_s : numpy.ndarray
        Seconds between every node and the site (``inf`` = unreachable).
    band_s : float
        Band, seconds.
    pace_mps : float
        Off-road metres per second of remaining time.
    cap_m : float
        Maximum widening radius, metres.
    to_site : bool
        ``node_s`` are times node -> site (True) or site -> node (False).
    rows : numpy.ndarray, optional
        The segments to consider (ascending rows; :func:`segments_from` of the nodes within the band). Default:
        every segment of the network. The result is the same as long as ``rows`` holds every segment with some
        point within the band (a segment's time is at least that of the node it is measured from).

    Returns
    -------
    dict of arrays
        ``ax, ay, bx, by`` (metres, the kept pieces), ``ra, rb`` (widening radii at both ends, metres, capped),
        ``seg`` (segment row of each piece), ``ta, tb`` (seconds to the site at both ends).
    """
    if rows is None:
        c, d = _tau(seg, node_s, slice(None), to_site)
        finite = np.isfinite(c)
        # only segments with some point within the band can keep a piece: work on those (a few % of the network)
        with np.errstate(invalid="ignore"):
            rows = np.flatnonzero(finite & (np.minimum(c, c + d) <= band_s))
        cf, df = c[rows], d[rows]
    else:
        rows = np.asarray(rows, dtype=np.int64)
        cf, df = _tau(seg, node_s, rows, to_site)
        with np.errstate(invalid="ignore"):
            within = np.isfinite(cf) & (np.minimum(cf, cf + df) <= band_s)
        rows, cf, df = rows[within], cf[within], df[within]
    lo = np.zeros(len(rows))
    hi = np.ones(len(rows))
    with np.errstate(divide="ignore", invalid="ignore"):
        # cut: c + d s <= band
        s_cut = (band_s - cf) / df
        lo = np.where(df < 0, np.maximum(lo, s_cut), lo)
        hi = np.where(df > 0, np.minimum(hi, s_cut), hi)
        flat_out = (df == 0) & (cf > band_s)
        # twin: keep where c + d s <= c' + d' (1 - s), i.e. (d + d') s <= c' + d' - c
        tw = seg["twin"][rows]
        has = tw >= 0
        ct = np.full(len(rows), np.inf)
        dt_ = np.zeros(len(rows))
        if has.any():
            c_tw, d_tw = _tau(seg, node_s, tw[has], to_site)
            ok = np.isfinite(c_tw)
            at = np.flatnonzero(has)[ok]
            ct[at], dt_[at] = c_tw[ok], d_tw[ok]
            has[has] = ok
        ee = df + dt_
        rhs = ct + dt_ - cf
        s_tw = rhs / ee
        lo = np.where(has & (ee < 0), np.maximum(lo, s_tw), lo)
        hi = np.where(has & (ee > 0), np.minimum(hi, s_tw), hi)
        # equal slopes: one way is faster all along; on a tie the lower segment row keeps it
        loses = has & (ee == 0) & ((rhs < 0) | ((rhs == 0) & (rows > tw)))
    # (lo == hi: a single point, e.g. where the other way wins from the very start, which that way already covers)
    keep = ~flat_out & ~loses & (hi - lo > 1e-9)
    idx = rows[keep]
    lo, hi, c, d = lo[keep], hi[keep], cf[keep], df[keep]
    ax0, ay0, bx0, by0 = seg["ax"][idx], seg["ay"][idx], seg["bx"][idx], seg["by"][idx]
    ax = ax0 + lo * (bx0 - ax0)
    ay = ay0 + lo * (by0 - ay0)
    bx = ax0 + hi * (bx0 - ax0)
    by = ay0 + hi * (by0 - ay0)
    ta = c + d * lo
    tb = c + d * hi
    ra = np.maximum(band_s - ta, 0.0) * pace_mps
    rb = np.maximum(band_s - tb, 0.0) * pace_mps
    # the capped radius min(r, cap) is not linear along a piece whose radius crosses the cap: split it there, so
    # that each part has a linear radius (tapered part) or a constant one (capped part)
    cross = (ra - cap_m) * (rb - cap_m) < 0
    if cross.any():
        j = np.flatnonzero(cross)
        s = (cap_m - ra[j]) / (rb[j] - ra[j])
        mx = ax[j] + s * (bx[j] - ax[j])
        my = ay[j] + s * (by[j] - ay[j])
        # first part [a, m] stays in place, second part [m, b] appended
        idx = np.concatenate([idx, idx[j]])
        ax = np.concatenate([ax, mx])
        ay = np.concatenate([ay, my])
        bx = np.concatenate([bx, bx[j]])
        by = np.concatenate([by, by[j]])
        ra = np.concatenate([ra, np.full(len(j), cap_m)])
        rb = np.concatenate([rb, rb[j]])
        tm = np.full(len(j), band_s - cap_m / pace_mps)
        ta = np.concatenate([ta, tm])
        tb = np.concatenate([tb, tb[j]])
        bx[j], by[j], rb[j], tb[j] = mx, my, cap_m, tm
    return {
        "seg": idx,
        "ax": ax,
        "ay": ay,
        "bx": bx,
        "by": by,
        "ra": np.minimum(ra, cap_m),
        "rb": np.minimum(rb, cap_m),
        "ta": ta,
        "tb": tb,
    }


def _piece_polygons(seg, p, ra, rb, sel):
    """Polygons of the selected pieces."""
    idx = np.arange(len(ra))[sel]
    if not len(idx):
        return []
    return [_tapered(p["ax"][idx], p["ay"][idx], ra[idx], p["bx"][idx], p["by"][idx], rb[idx])]


def band_polygon(
    seg, node_s, band_s, pace_mps, cap_m, site_xy=None, site_cap_m=None, to_site=True, min_radius_m=1.0, inner=None,
    nodes=None,
):
    """Catchment polygon (Lambert-93) of one site for one band.

    Parameters
    ----------
    seg : dict
        From :func:`_network_segments`.
    node_s : numpy.ndarray
        Seconds between every node and the site, ``inf`` beyond reach.
    band_s : float
        Band, seconds.
    pace_mps, cap_m : float
        Off-road widening: metres per second of remaining time, and its cap in metres.
    site_xy : tuple of float, optional
        The site (metres): a disc of radius ``min(band_s * pace_mps, site_cap_m)`` around it is included.
    site_cap_m : float, optional
        Cap of that disc, metres (default ``cap_m``).
    to_site : bool
        Direction of ``node_s`` (see :func:`reachable_pieces`).
    min_radius_m : float
        Road pieces are at least this wide (a piece reached with no time left would otherwise have no area).
    inner : tuple (polygon, band_s), optional
        The polygon of a smaller band of the same site: it is unioned in (bands nest by construction), and the
        pieces it already holds unchanged (those whose radius is capped at both ends in the smaller band) are
        skipped, which saves most of the union work for the larger bands.
    nodes : numpy.ndarray, optional
        Positions of the nodes with a finite ``node_s`` (the search's reached nodes), when the caller has them: the
        work is then restricted to them and their segments (:func:`segments_from`) instead of the whole network.
        Same polygon.

    Returns
    -------
    shapely.Polygon or MultiPolygon (possibly empty)
    """
    rows = None
    if nodes is not None:
        # a segment's time is at least that of the node it is measured from: only the nodes within the band count
        nodes = np.asarray(nodes, dtype=np.int64)
        nodes = nodes[node_s[nodes] <= band_s]
        rows = segments_from(seg, nodes, to_site)
    p = reachable_pieces(seg, node_s, band_s, pace_mps, cap_m, to_site=to_site, rows=rows)
    ra = np.maximum(p["ra"], min_radius_m)
    rb = np.maximum(p["rb"], min_radius_m)
    # pieces meeting at a junction share its circle: their arcs would overlap edge on edge, which GEOS's overlay
    # resolves far more slowly than parallel edges. Each piece is narrowed by its own amount (at most 1 mm: nothing
    # at map scale, and the polygons stay inscribed), so shared arcs become concentric instead (~10 % faster unions).
    shrink = 1e-6 * (1 + (np.arange(len(ra)) * 7919) % 1000)
    ra, rb = ra - shrink, rb - shrink
    sel = slice(None)
    if inner is not None:
        # identical pieces in the smaller band: fully reachable there with at least cap / pace seconds to spare
        sel = np.maximum(p["ta"], p["tb"]) > inner[1] - cap_m / pace_mps
    parts = _piece_polygons(seg, p, ra, rb, sel)
    radii = [np.minimum(ra, rb)[sel]] if parts else []
    # reachable nodes where no piece ends (no edge leads into them in this direction): their own disc
    if nodes is None:
        ok = np.isfinite(node_s) & (node_s <= band_s)
        lone = np.flatnonzero(ok & ~(seg["has_in"] if to_site else seg["has_out"]))
    else:
        lone = np.sort(nodes[~(seg["has_in"] if to_site else seg["has_out"])[nodes]])
    if len(lone):
        r = np.maximum(np.minimum((band_s - node_s[lone]) * pace_mps, cap_m), min_radius_m)
        xy = seg["nodes_xy"][lone]
        parts.append(_tapered(xy[:, 0], xy[:, 1], r, xy[:, 0], xy[:, 1], r))
        radii.append(r)
    if site_xy is not None:
        r = min(band_s * pace_mps, cap_m if site_cap_m is None else site_cap_m)
        if r > 0:
            x, y = float(site_xy[0]), float(site_xy[1])
            parts.append(_tapered(np.array([x]), np.array([y]), np.array([r]), np.array([x]), np.array([y]), np.array([r])))
            radii.append(np.array([r]))
    has_inner = inner is not None and inner[0] is not None and not inner[0].is_empty
    geoms = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    radii = np.concatenate(radii) if radii else np.empty(0)
    poly = np.isin(shapely.get_type_id(geoms), (3, 6))  # polygons only (degenerate hulls are points/lines)
    geoms, radii = geoms[poly], radii[poly]
    return _union_pieces(geoms, radii, min(band_s * pace_mps, cap_m), inner[0] if has_inner else None)


#: pieces whose smaller radius is at least this share of the band's largest radius are unioned only where needed
DEFER_RADIUS_SHARE = 0.8


def _union_pieces(geoms, radii, max_radius_m, inner=None):
    """Union of the piece polygons (and of ``inner``), the same set as ``union_all(geoms) | inner``, computed faster.

    The union's cost is the overlays, and the wide pieces (near the site, where the radius is large or capped) lie
    almost all inside the union of the narrower ones and of the smaller band: they are left out of the first union,
    then each is tested (prepared ``contains``, cheap) and only those that stick out are unioned in. The result is the
    same polygon: every piece is either inside the first union or part of the second one.
    """
    if not len(geoms):
        return inner if inner is not None else shapely.Polygon()
    wide = radii >= DEFER_RADIUS_SHARE * max_radius_m
    out = shapely.union_all(geoms[~wide]) if (~wide).any() else shapely.Polygon()
    # the smaller band after the pieces: one overlay with the finished union is cheaper than carrying it through
    if inner is not None:
        out = shapely.union(out, inner)
    if wide.any():
        shapely.prepare(out)
        stick_out = geoms[wide][~shapely.contains(out, geoms[wide])]
        if len(stick_out):
            out = shapely.union(out, shapely.union_all(stick_out))
    return out


# --------------------------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------------------------
#: sites per chunk: each chunk's node times (sites x nodes, 8 bytes each) are the only dense array, freed after it
CHUNK_SITES = 64


def catchments(
    network,
    sites,
    bands=None,
    communes=None,
    connector_speed_kmh=None,
    detour_factor=None,
    max_radius_m=None,
    progress=False,
    n_jobs=1,
    outside=None,
    merge="site",
    chunk_size=None,
    processes=1,
):
    """Drive-time catchment polygons of every site for every band.

    Parameters
    ----------
    network : fsgeo.network.RoadNetwork or list of them
        Road network (required; e.g. ``datasets.load_study().network``), or one network per landmass (a national
        study's mainland, Corsica...): each site is routed on the first one it can be placed on
        (see :class:`CatchmentJob`).
    sites : geopandas.GeoDataFrame
        Sites with ``id``, ``name`` and Point geometry (antennas included if present).
    bands : sequence of float, optional
        Bands in minutes (default ``settings.bands_min``: 10, 20, 30).
    communes : geopandas.GeoDataFrame or False
        Communes (``load_communes()`` schema) for ``population``: inhabitants of the communes whose demand point (the
        representative point, where :mod:`fsgeo.coverage` routes from) lies inside the polygon -- whole communes,
        not area-weighted. Required: ``False`` says to compute no population (``population`` is then NaN); left
        out, ``TypeError`` (the population of another study's communes is never counted in their place).
    connector_speed_kmh, detour_factor, max_radius_m : float, optional
        Off-road widening (default: the network profile's ``connector_speed_kmh``, ``snap_detour_factor``,
        ``max_snap_m``): radius = remaining seconds x speed / detour, in metres, capped at ``max_radius_m``.
    progress : bool
        Show a tqdm bar over sites.
    n_jobs : int
        Threads computing the sites of a chunk in parallel (the polygon unions release the GIL, the rest does
        not: see ``processes``); ``-1``: one per CPU.
    outside : geopandas.GeoDataFrame, optional
        Communes outside the study (the neighbouring départements', ``load_neighbour_communes()``): their
        inhabitants are counted too, so that a border site's catchment does not read "0 inhabitants".
        ``population_study`` and ``population_outside`` then split ``population``; ``attrs["fsgeo"]
        ["population_of"]`` says which communes were counted.
    merge : {"site", "band", "rings"}
        ``"site"`` (default): one polygon per site and band; ``"band"``: :func:`merge_bands` of them (one polygon
        per band, the union of every site's, inhabitants counted once); ``"rings"``: the same as rings between
        consecutive bands (10-20, 20-30...).
    chunk_size : int, optional
        Sites routed at a time (default :data:`CHUNK_SITES`): memory stays bounded by one chunk's node times
        (``chunk_size x nodes`` floats) whatever the number of sites; the polygons do not depend on it.
    processes : int
        Worker processes computing chunks in parallel (default 1: every chunk in this process; ``-1``: one per
        CPU). The polygon work holds the GIL in parts (numpy, pandas, Python per site), so threads (``n_jobs``)
        do not fill several cores: processes do. Used only when there are at least two chunks (a national run; a
        département's sites fit in one chunk and stay in-process); each worker then also uses ``n_jobs``
        threads. Workers are forked (they inherit the networks, nothing is pickled to them; where ``fork`` does
        not exist, the job is pickled once per worker) and return their chunk's rows: results are identical to
        the in-process run, and memory is about ``processes`` times one chunk's.

    Returns
    -------
    geopandas.GeoDataFrame
        With ``merge="site"``: one row per site and band (site order, then band ascending): ``site_id``, ``site_name``, ``band_min``,
        ``population`` (inhabitants), ``area_km2``, ``reason`` (empty, or why a site could not be placed on the
        network: its polygons are then empty), geometry (EPSG:4326). For each site, the polygon of a band contains
        the polygons of the smaller bands.

    See Also
    --------
    iter_catchments : the same rows chunk by chunk (to stream them to a file, or to spread chunks over workers).
    """
    if merge not in ("site", "band", "rings"):
        raise ValueError(f"merge must be 'site', 'band' or 'rings', got {merge!r}")
    job = CatchmentJob(network, sites, bands, communes, connector_speed_kmh, detour_factor, max_radius_m,
                       outside=outside)
    out = job.concat(list(job.run(progress=progress, n_jobs=n_jobs, chunk_size=chunk_size, processes=processes)))
    if merge != "site":
        return merge_bands(out, communes=communes, outside=outside, rings=merge == "rings", metric_crs=job.crs)
    return out


def iter_catchments(network, sites, bands=None, communes=None, connector_speed_kmh=None, detour_factor=None,
                    max_radius_m=None, progress=False, n_jobs=1, chunk_size=None, outside=None, processes=1):
    """:func:`catchments` (``merge="site"``) chunk by chunk: yields one GeoDataFrame (same columns, EPSG:4326) per
    chunk of ``chunk_size`` sites, in site order; their concatenation equals ``catchments(...)``. ``processes``:
    worker processes over the chunks (see :func:`catchments`), at most two chunks each pending at a time."""
    job = CatchmentJob(network, sites, bands, communes, connector_speed_kmh, detour_factor, max_radius_m,
                       outside=outside)
    yield from job.run(progress=progress, n_jobs=n_jobs, chunk_size=chunk_size, processes=processes)


class CatchmentJob:
    """Everything computed once for a catchments run (where each site joins the network, network segments, widening
    pace, whose population is counted) and the work of one chunk of sites, :meth:`chunk`, a plain function of
    picklable inputs: the same code runs in-process (:meth:`run`) and on Dask workers
    (:func:`fsgeo.distributed.iter_catchments`).

    ``network`` may be one :class:`~fsgeo.network.RoadNetwork` or several, one per landmass (a national study:
    mainland, Corsica...): each site is routed on the first network it can be placed on (the rule of
    :func:`fsgeo.national.access_on_networks`), and a site placed on none keeps the reason given by the network
    whose nearest node is closest to it (:attr:`unplaced`, the table of :func:`fsgeo.routing.unplaced_sites`).
    Polygons are built in the metric CRS of their site's network.
    """

    def __init__(self, network, sites, bands=None, communes=None, connector_speed_kmh=None, detour_factor=None,
                 max_radius_m=None, outside=None):
        require(network, "network", "catchments", "a fsgeo.network.RoadNetwork (or a list of them, one per "
                                                  "landmass)")
        require(communes, "communes", "catchments", "to count the population inside each polygon; communes=False "
                                                    "computes no population")
        networks = _listed(network)
        if not networks:
            raise ValueError("catchments need at least one road network")
        bands = tuple(sorted({float(b) for b in (settings.bands_min if bands is None else bands)}))
        if not bands or any(not b > 0 for b in bands):
            raise ValueError(f"bands must be positive minutes, got {bands}")
        if "id" not in sites.columns:
            raise ValueError("sites have no 'id' column")
        if sites.crs is None:
            raise ValueError("sites have no CRS")
        self.networks = networks
        self.bands = bands
        #: metric CRS of the first network: the one of merged results (:func:`merge_bands`)
        self.crs = _metric_crs(networks[0])
        self.pace, self.cap = _pace(networks[0], connector_speed_kmh, detour_factor, max_radius_m)
        ids = sites["id"].astype(str).to_numpy()
        names = sites["name"].astype(str).to_numpy() if "name" in sites.columns else ids
        # only what the chunks need: ids, names, points (no other column travels to the workers)
        self.sites = gpd.GeoDataFrame({"id": ids, "name": names}, geometry=sites.geometry.to_numpy(), crs=sites.crs)
        self.site_network, self.unplaced = _place_sites(networks, self.sites)
        self.reasons = np.full(len(ids), "", dtype=object)  # why a site has empty polygons (placed on no network)
        self.reasons[self.site_network < 0] = self.unplaced["reason"].to_numpy()
        self.people = _Population(communes, outside, self.crs)
        self._segs = None

    @property
    def network(self):
        """The first network (the only one for a département study)."""
        return self.networks[0]

    @property
    def segs(self):
        """Road segments of every network (:func:`_network_segments`), computed once."""
        if self._segs is None:
            self._segs = [_network_segments(n) for n in self.networks]
        return self._segs

    @property
    def seg(self):
        """Road segments of the first network."""
        return self.segs[0]

    def chunks(self, chunk_size=None):
        """Positions of the sites of each chunk."""
        size = max(1, int(chunk_size or CHUNK_SITES))
        return [np.arange(i, min(i + size, len(self.sites))) for i in range(0, len(self.sites), size)]

    def run(self, progress=False, n_jobs=1, chunk_size=None, processes=1):
        """Yield the rows of each chunk in order (see :func:`iter_catchments`); ``processes``: worker processes
        over the chunks when there are at least two (see :func:`catchments`)."""
        chunks = self.chunks(chunk_size)
        workers = self.processes_for(len(chunks), processes)
        bar = _progress(None, progress, len(self.sites))
        parts = (self._in_processes(chunks, workers, n_jobs) if workers > 1
                 else (self.chunk(pos, n_jobs=n_jobs) for pos in chunks))
        for pos, part in zip(chunks, parts):
            yield part
            if bar is not None:
                bar.update(len(pos))
        if bar is not None:
            bar.close()

    @staticmethod
    def processes_for(n_chunks, processes=1):
        """Worker processes a run of ``n_chunks`` chunks uses for ``processes`` (1: in-process)."""
        wanted = _worker_count(processes)
        return min(wanted, n_chunks) if n_chunks >= 2 else 1

    def _in_processes(self, chunks, workers, n_jobs):
        """Rows of each chunk, in order, computed by ``workers`` processes (at most two chunks pending each)."""
        import multiprocessing as mp
        from collections import deque
        from concurrent.futures import ProcessPoolExecutor

        self.segs  # computed once here, before the fork: the workers inherit them
        forked = "fork" in mp.get_all_start_methods()
        ctx = mp.get_context("fork" if forked else None)
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(self,)) as pool:
            pending = deque()
            for pos in chunks:
                pending.append(pool.submit(_worker_chunk, pos, n_jobs))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def chunk(self, pos, n_jobs=1, network=None, seg=None):
        """Catchment rows of the sites at positions ``pos`` (EPSG:4326). ``network``/``seg`` (one or a list, as
        :attr:`networks` and :attr:`segs`) may be given by a worker that holds them already (Dask broadcast)."""
        networks = self.networks if network is None else _listed(network)
        segs = self.segs if seg is None else _listed(seg)
        pos = np.asarray(pos, dtype=int)
        where = self.site_network[pos]
        parts = []
        for k in np.unique(where):
            sel = np.flatnonzero(where == k)
            if k < 0:  # placed on no network: empty polygons, with the reason
                polys = [[shapely.Polygon() for _ in self.bands] for _ in sel]
                parts.append(self._rows(pos[sel], sel, polys, self.crs))
            else:
                polys = self._polygons(pos[sel], networks[k], segs[k], n_jobs)
                parts.append(self._rows(pos[sel], sel, polys, _metric_crs(networks[k])))
        if not parts:
            return self.concat([])[self.columns]
        out = pd.concat(parts, ignore_index=True)
        # site order of the chunk, then band ascending
        out = out.sort_values(["_i", "_b"], kind="stable").drop(columns=["_i", "_b"]).reset_index(drop=True)
        return gpd.GeoDataFrame(out, geometry="geometry", crs=settings.crs)[self.columns]

    def _polygons(self, pos, network, seg, n_jobs):
        """Polygons (metric CRS of ``network``) of the sites at ``pos``, all placed on it: one list per site, one
        polygon per band."""
        from fsgeo import routing

        bands, pace, cap = self.bands, self.pace, self.cap
        pts = self.sites.iloc[pos]
        pts = pts.set_axis(pts["id"].to_numpy(), axis=0)
        site_xy = shapely.get_coordinates(pts.to_crs(_metric_crs(network)).geometry.to_numpy())
        # one multi-source search for the chunk, cut at the largest band (every site here is placed on this network)
        times = routing.node_times(network, pts, cutoff_min=max(bands), reverse=True)

        def one_site(i):
            out, prev = [], None
            # the nodes this site's search reached (a few % of a national network): the work stays on them
            reached = np.flatnonzero(np.isfinite(times[i]))
            for b in bands:
                # each band is unioned with the previous one: nesting by construction
                poly = band_polygon(seg, times[i], b * 60.0, pace, cap, site_xy=site_xy[i], inner=prev,
                                    nodes=reached)
                prev = (poly, b * 60.0)
                out.append(poly)
            return out

        workers = _worker_count(n_jobs)
        if workers > 1 and len(pts) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                return list(pool.map(one_site, range(len(pts))))
        return [one_site(i) for i in range(len(pts))]

    def _rows(self, pos, order, polys, metric_crs):
        """Rows (EPSG:4326) of the sites at ``pos`` from their polygons in ``metric_crs``; ``_i``/``_b`` keep the
        chunk's order (``order``: the sites' places in the chunk) for the caller to sort on."""
        bands = self.bands
        nb = len(bands)
        geoms = np.empty(len(pos) * nb, dtype=object)
        geoms[:] = [p for site in polys for p in site]
        frame = pd.DataFrame({
            "site_id": np.repeat(self.sites["id"].to_numpy()[pos], nb),
            "site_name": np.repeat(self.sites["name"].to_numpy()[pos], nb),
            "band_min": np.tile(np.asarray(bands, dtype=float), len(pos)),
            "reason": np.repeat(self.reasons[pos], nb),
            "_i": np.repeat(np.asarray(order), nb),
            "_b": np.tile(np.arange(nb), len(pos)),
        })
        out = gpd.GeoDataFrame(frame, geometry=geoms, crs=metric_crs)
        out["area_km2"] = shapely.area(geoms) / 1e6
        out = self.people.add_columns(out, geoms, metric_crs)
        return out[[*self.columns, "_i", "_b"]].to_crs(settings.crs)

    @property
    def columns(self):
        return ["site_id", "site_name", "band_min", "population", *self.people.split_columns, "area_km2", "reason",
                "geometry"]

    def concat(self, parts):
        """The chunks' rows as one GeoDataFrame (EPSG:4326), with the run's ``attrs``."""
        if parts:
            out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=settings.crs)
        else:
            out = gpd.GeoDataFrame({c: [] for c in self.columns if c != "geometry"},
                                   geometry=gpd.GeoSeries([], crs=settings.crs), crs=settings.crs)
        out.attrs["fsgeo"] = {"bands_min": list(self.bands), "pace_m_per_s": self.pace, "max_radius_m": self.cap,
                              "mode": "site", "population_of": self.people.description,
                              "n_sites": int(len(self.sites)), "n_networks": len(self.networks),
                              "sites_per_network": [int((self.site_network == k).sum())
                                                    for k in range(len(self.networks))]}
        return out


#: the job of a worker process (set once by :func:`_init_worker`)
_WORKER_JOB = None


def _init_worker(job):
    global _WORKER_JOB
    _WORKER_JOB = job


def _worker_chunk(pos, n_jobs):
    return _WORKER_JOB.chunk(pos, n_jobs=n_jobs)


def _worker_count(n) -> int:
    """Workers for an ``n_jobs`` / ``processes`` argument: ``None`` or negative means one per CPU, else at least 1."""
    return (os.cpu_count() or 1) if n is None or n < 0 else max(1, int(n))


def _listed(network):
    """One network (or segments dict) or several, as a list."""
    return list(network) if isinstance(network, (list, tuple)) else [network]


def _place_sites(networks, sites):
    """Which network each site is routed on (-1: none), and a table of the sites placed on none.

    The first network a site snaps to takes it (as :func:`fsgeo.national.access_on_networks` does for communes);
    a site placed on none keeps the status, reason and distance given by the network whose nearest node is closest
    to it. The table has the columns of :func:`fsgeo.routing.unplaced_sites`, in site order."""
    from fsgeo import routing

    n = len(sites)
    which = np.full(n, -1, dtype=np.int64)
    status = np.full(n, "", dtype=object)
    reasons = np.full(n, "", dtype=object)
    nearest = np.full(n, np.nan)
    pts = sites.reset_index(drop=True)
    for k, net in enumerate(networks):
        todo = np.flatnonzero(which < 0)
        if not todo.size:
            break
        snap = routing.snap_points(net, pts.iloc[todo])
        ok = (snap["status"] == "ok").to_numpy()
        which[todo[ok]] = k
        dist = snap["snap_distance_m"].to_numpy(dtype=float)
        seen = nearest[todo]
        closer = ~ok & ((status[todo] == "") | (np.nan_to_num(dist, nan=np.inf) < np.nan_to_num(seen, nan=np.inf)))
        status[todo[closer]] = snap["status"].to_numpy()[closer]
        reasons[todo[closer]] = snap["reason"].astype(str).to_numpy()[closer]
        nearest[todo[closer]] = dist[closer]
    bad = which < 0
    unplaced = pd.DataFrame({"id": sites["id"].to_numpy()[bad], "name": sites["name"].to_numpy()[bad],
                             "status": status[bad], "reason": reasons[bad],
                             "snap_distance_m": np.round(nearest[bad], 1)}, columns=list(routing.UNPLACED_COLUMNS))
    return which, unplaced


class _Population:
    """Inhabitants whose demand point lies inside polygons: the study's communes, and optionally those outside it."""

    def __init__(self, communes, outside, metric_crs):
        self.communes = communes if communes is not False else None
        self.outside = outside if outside is not None and len(outside) else None
        self.metric_crs = metric_crs
        self.split_columns = ["population_study", "population_outside"] if self.outside is not None else []
        self._points = {}  # (which, CRS) -> demand points in it, their population and tree: built once per process
        if self.communes is None:
            self.description = "not counted"
        else:
            deps = sorted(set(self.communes["departement"].astype(str))) if "departement" in self.communes else []
            self.description = f"{len(self.communes)} communes of the study" + (f" ({', '.join(deps)})" if deps else "")
            if self.outside is not None:
                deps = sorted(set(self.outside["departement"].astype(str))) if "departement" in self.outside else []
                self.description += (f" and {len(self.outside)} communes outside it"
                                     + (f" ({', '.join(deps)})" if deps else ""))

    def __getstate__(self):  # the points are rebuilt where they are used (a worker), never shipped
        state = dict(self.__dict__)
        state["_points"] = {}
        return state

    def _inside(self, which, geoms, crs):
        key = (which, str(crs))
        if key not in self._points:
            self._points[key] = _DemandPoints(self.communes if which == "study" else self.outside, crs)
        return self._points[key].inside(geoms)

    def add_columns(self, out, geoms_metric, metric_crs=None):
        if self.communes is None:
            out["population"] = np.nan
            return out
        crs = self.metric_crs if metric_crs is None else metric_crs
        study = self._inside("study", geoms_metric, crs)
        out["population"] = study
        if self.outside is not None:
            other = self._inside("outside", geoms_metric, crs)
            out["population_study"] = study
            out["population_outside"] = other
            out["population"] = study + other
        return out


def merge_bands(catchments_gdf, communes=None, outside=None, rings=False, metric_crs=None):
    """Catchments merged per band: the union of every site's polygon of a band, its inhabitants counted once.

    Parameters
    ----------
    catchments_gdf : geopandas.GeoDataFrame
        :func:`catchments` with ``merge="site"`` (one row per site and band).
    communes, outside : geopandas.GeoDataFrame
        Whose inhabitants to count, as in :func:`catchments` (``communes`` required; ``False`` counts nobody).
    rings : bool
        Rings between consecutive bands instead of nested areas: ``0-10``, ``10-20``, ``20-30`` (each band's union
        minus the previous one's).
    metric_crs : pyproj.CRS or str, optional
        CRS of the unions (metres); default: :func:`fsgeo.schema.local_metric_crs` of the polygons' extent.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per band, ascending: ``band_min`` (upper bound, minutes), ``band_from_min`` (lower bound: 0 for
        nested areas, the previous band for rings), ``band_label`` (``"20"`` or ``"10-20"``), ``n_sites`` (sites
        with a polygon in the band), ``population`` (inhabitants whose demand point is inside, each once; with
        ``outside``, ``population_study`` + ``population_outside``), ``area_km2``, geometry (EPSG:4326). Nested
        areas contain each other; rings are disjoint and their union is the largest band's area.
    """
    require(communes, "communes", "merge_bands", "to count the population inside each band; communes=False "
                                                 "computes no population")
    gdf = catchments_gdf
    if metric_crs is None:
        b = gdf.to_crs(settings.crs).total_bounds
        metric_crs = local_metric_crs([b[0], b[2]], [b[1], b[3]], "catchments")
    metric = gdf.to_crs(metric_crs)
    bands = sorted(set(float(b) for b in gdf["band_min"]))
    unions = []
    for b in bands:
        part = metric[(metric["band_min"] == b) & ~metric.geometry.is_empty]
        unions.append((shapely.union_all(part.geometry.to_numpy()) if len(part) else shapely.Polygon(), len(part)))
    rows, geoms, prev = [], [], None
    for b, (poly, n) in zip(bands, unions):
        lower = 0.0
        if rings and prev is not None:
            lower = prev[0]
            poly = shapely.difference(poly, prev[1])
        rows.append({"band_min": b, "band_from_min": lower,
                     "band_label": f"{lower:g}-{b:g}" if rings else f"{b:g}", "n_sites": n})
        geoms.append(poly)
        prev = (b, unions[bands.index(b)][0])
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["band_min", "band_from_min", "band_label", "n_sites"]),
                           geometry=geoms, crs=metric_crs)
    out["area_km2"] = out.geometry.area / 1e6
    people = _Population(communes, outside, metric_crs)
    out = people.add_columns(out, np.array(geoms, dtype=object))
    cols = ["band_min", "band_from_min", "band_label", "n_sites", "population", *people.split_columns, "area_km2",
            "geometry"]
    out = out[cols].to_crs(settings.crs)
    meta = dict(gdf.attrs.get("fsgeo", {}))
    meta.update({"bands_min": bands, "mode": "rings" if rings else "merged", "population_of": people.description,
                 "n_sites": int(gdf["site_id"].nunique()) if "site_id" in gdf.columns else None})
    out.attrs["fsgeo"] = meta
    return out


def _progress(iterable, show, total):
    """A tqdm bar over ``total`` sites when ``show`` (``iterable`` None: a bar to update by hand), else None."""
    if not show:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc="catchments", unit="site")


class _DemandPoints:
    """The communes' demand points in one metric CRS, with their population and a tree over them."""

    def __init__(self, communes, metric_crs):
        from fsgeo.datasets import demand_points

        pts = demand_points(communes).to_crs(metric_crs)
        self.pop = pd.to_numeric(communes["population"]).to_numpy(dtype=float)
        self.tree = shapely.STRtree(pts.geometry.to_numpy())

    def inside(self, polys_metric) -> np.ndarray:
        """Inhabitants whose demand point lies inside each polygon (boundary excluded), one query for them all."""
        polys = np.asarray(polys_metric, dtype=object)
        if not len(polys):
            return np.zeros(0, dtype="int64")
        poly_i, point_i = self.tree.query(polys, predicate="contains")
        return np.bincount(poly_i, weights=self.pop[point_i], minlength=len(polys)).astype("int64")


def service_areas(access, dissolve=True, metric_crs=None):
    """Each site's service area: the communes whose nearest site it is.

    Parameters
    ----------
    access : geopandas.GeoDataFrame
        Result of :func:`fsgeo.coverage.access_times`.
    dissolve : bool
        Dissolve the communes' polygons into one per site (needs polygons).
    metric_crs : str or pyproj.CRS, optional
        CRS of the dissolve (default: the network's, recorded by ``access_times``; see
        :func:`fsgeo.coverage.underserved_zones`).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        One row per site that is someone's nearest: ``site_id``, ``site_name``, ``departement`` (of the site),
        ``n_communes``, ``population`` (inhabitants), ``mean_minutes`` (population-weighted), ``max_minutes``,
        ``communes`` (comma-separated codes), and the dissolved polygon (EPSG:4326); largest population first.
        Unreachable communes belong to no service area. A commune with demand parts (``coverage.access_times(...,
        parts=)``) belongs whole, polygon and inhabitants, to the area of its nearest site (its most populous
        part's), at its weighted mean minutes; each part's own site is in ``access.attrs["fsgeo"]["parts"]``.
    """
    reach = access[access["nearest_site_id"].notna()].copy()
    reach["_wt"] = reach["population"] * reach["minutes"]
    keys = ["nearest_site_id", "nearest_site_name", "nearest_site_departement"]
    g = reach.groupby(keys, sort=False, dropna=False)
    out = g.agg(
        n_communes=("code", "size"),
        population=("population", "sum"),
        _wt=("_wt", "sum"),
        max_minutes=("minutes", "max"),
        communes=("code", ",".join),
        _mean=("minutes", "mean"),
    )
    out["mean_minutes"] = np.where(out["population"] > 0, out["_wt"] / out["population"].clip(lower=1), out["_mean"])
    out = out.drop(columns=["_wt", "_mean"]).reset_index()
    out = out.rename(columns={"nearest_site_id": "site_id", "nearest_site_name": "site_name", "nearest_site_departement": "departement"})
    cols = ["site_id", "site_name", "departement", "n_communes", "population", "mean_minutes", "max_minutes", "communes"]
    out = out[cols]
    if dissolve and isinstance(access, gpd.GeoDataFrame):
        from fsgeo.coverage import _local_crs

        metric_crs = metric_crs or access.attrs.get("fsgeo", {}).get("metric_crs") or _local_crs(access)
        geom = reach.to_crs(metric_crs).dissolve(by="nearest_site_id").geometry
        geom = gpd.GeoSeries(geom.reindex(out["site_id"]).to_numpy(), crs=metric_crs).to_crs(settings.crs)
        out = gpd.GeoDataFrame(out, geometry=geom.to_numpy(), crs=settings.crs)
    return out.sort_values(["population", "site_id"], ascending=[False, True]).reset_index(drop=True)
