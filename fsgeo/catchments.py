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
4. the site's own surroundings (straight access, radius ``band * pace``) are added, everything is unioned.

Bands nest by construction: each band's polygon is unioned with the next smaller band's.

All metric work is in Lambert-93 (``settings.metric_crs``); outputs are EPSG:4326.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from fsgeo.settings import settings

#: vertices per circle used to widen road pieces (a 16-gon loses < 2 % of the disc's area)
CIRCLE_VERTICES = 16


# --------------------------------------------------------------------------------------------------------------------
# network -> road segments (metric), computed once per call
# --------------------------------------------------------------------------------------------------------------------
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
        g = gpd.GeoSeries(geoms[has_geom], crs=edges.crs or settings.crs).to_crs(settings.metric_crs).to_numpy()
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
    return {
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
    """Off-road widening: metres per second of remaining time, cap in metres, and whether the site circle is capped."""
    prof = getattr(network, "profile", None)
    speed = connector_speed_kmh if connector_speed_kmh is not None else getattr(prof, "connector_speed_kmh", 30.0)
    detour = detour_factor if detour_factor is not None else getattr(prof, "snap_detour_factor", 1.3)
    cap = max_radius_m if max_radius_m is not None else getattr(prof, "max_snap_m", 5000.0)
    if not (speed > 0 and detour >= 1 and cap >= 0):
        raise ValueError("connector speed must be > 0 km/h, detour factor >= 1, max radius >= 0 m")
    # with a direct leg, a point near the site reaches it straight, without the snapping cap
    direct = bool(getattr(prof, "direct_leg", False))
    return speed / 3.6 / detour, float(cap), direct


# --------------------------------------------------------------------------------------------------------------------
# geometry of one band
# --------------------------------------------------------------------------------------------------------------------
_UNIT = np.stack(
    [np.cos(np.linspace(0, 2 * np.pi, CIRCLE_VERTICES, endpoint=False)), np.sin(np.linspace(0, 2 * np.pi, CIRCLE_VERTICES, endpoint=False))],
    axis=1,
)


def _tapered(ax, ay, ra, bx, by, rb):
    """Convex hulls of pairs of circles (A, ra) and (B, rb), vectorised; radii in metres."""
    ca = np.stack([ax, ay], axis=1)[:, None, :] + ra[:, None, None] * _UNIT[None]
    cb = np.stack([bx, by], axis=1)[:, None, :] + rb[:, None, None] * _UNIT[None]
    pts = np.concatenate([ca, cb], axis=1)
    return shapely.convex_hull(shapely.multipoints(pts))


def reachable_pieces(seg, node_s, band_s, pace_mps, cap_m, to_site=True):
    """Road pieces from which the site is reachable within ``band_s`` and their remaining times.

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

    Returns
    -------
    dict of arrays
        ``ax, ay, bx, by`` (metres, the kept piece of each segment), ``ra, rb`` (widening radii, metres),
        ``seg`` (segment row).
    """
    e = seg["seg_edge"]
    te = seg["edge_t"][e]
    if to_site:
        # point at fraction f drives the rest of the edge to v, then on: tau(f) = T[v] + (1 - f) te
        a0 = node_s[seg["edge_v"]][e] + te
        slope = -te
    else:
        a0 = node_s[seg["edge_u"]][e]
        slope = te
    f0, f1 = seg["f0"], seg["f1"]
    tmin = a0 + slope * np.where(slope < 0, f1, f0)
    keep = np.isfinite(tmin) & (tmin <= band_s)
    idx = np.flatnonzero(keep)
    a0, slope, f0, f1 = a0[idx], slope[idx], f0[idx], f1[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        fcut = np.where(slope != 0, (band_s - a0) / slope, np.nan)
    lo = np.where(slope < 0, np.maximum(f0, np.nan_to_num(fcut, nan=-np.inf)), f0)
    hi = np.where(slope > 0, np.minimum(f1, np.nan_to_num(fcut, nan=np.inf)), f1)
    lo = np.clip(lo, f0, f1)
    hi = np.clip(hi, f0, f1)
    span = f1 - f0
    with np.errstate(divide="ignore", invalid="ignore"):
        s_lo = np.where(span > 0, (lo - f0) / span, 0.0)
        s_hi = np.where(span > 0, (hi - f0) / span, 1.0)
    ax0, ay0, bx0, by0 = seg["ax"][idx], seg["ay"][idx], seg["bx"][idx], seg["by"][idx]
    ax = ax0 + s_lo * (bx0 - ax0)
    ay = ay0 + s_lo * (by0 - ay0)
    bx = ax0 + s_hi * (bx0 - ax0)
    by = ay0 + s_hi * (by0 - ay0)
    ra = np.maximum(band_s - (a0 + slope * lo), 0.0) * pace_mps
    rb = np.maximum(band_s - (a0 + slope * hi), 0.0) * pace_mps
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
        bx[j], by[j], rb[j] = mx, my, cap_m
    return {
        "seg": idx,
        "ax": ax,
        "ay": ay,
        "bx": bx,
        "by": by,
        "ra": np.minimum(ra, cap_m),
        "rb": np.minimum(rb, cap_m),
    }


def band_polygon(seg, node_s, band_s, pace_mps, cap_m, site_xy=None, site_cap_m=None, to_site=True, min_radius_m=1.0):
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
        Cap of that disc (default ``cap_m``; ``inf`` when the profile links points to sites by a direct leg).
    to_site : bool
        Direction of ``node_s`` (see :func:`reachable_pieces`).
    min_radius_m : float
        Road pieces are at least this wide (a piece reached with no time left would otherwise have no area).

    Returns
    -------
    shapely.Polygon or MultiPolygon (possibly empty)
    """
    p = reachable_pieces(seg, node_s, band_s, pace_mps, cap_m, to_site=to_site)
    ra = np.maximum(p["ra"], min_radius_m)
    rb = np.maximum(p["rb"], min_radius_m)
    parts = [_tapered(p["ax"], p["ay"], ra, p["bx"], p["by"], rb)] if len(ra) else []
    # reachable nodes no kept piece ends at (no edge into them in this direction): their own disc
    ok = np.isfinite(node_s) & (node_s <= band_s)
    covered = np.zeros(len(node_s), bool)
    covered[(seg["edge_v"] if to_site else seg["edge_u"])[seg["seg_edge"][p["seg"]]]] = True
    lone = np.flatnonzero(ok & ~covered)
    if len(lone):
        r = np.maximum(np.minimum((band_s - node_s[lone]) * pace_mps, cap_m), min_radius_m)
        xy = seg["nodes_xy"][lone]
        parts.append(_tapered(xy[:, 0], xy[:, 1], r, xy[:, 0], xy[:, 1], r))
    if site_xy is not None:
        r = min(band_s * pace_mps, cap_m if site_cap_m is None else site_cap_m)
        if r > 0:
            x, y = float(site_xy[0]), float(site_xy[1])
            parts.append(_tapered(np.array([x]), np.array([y]), np.array([r]), np.array([x]), np.array([y]), np.array([r])))
    if not parts:
        return shapely.Polygon()
    geoms = np.concatenate(parts)
    geoms = geoms[shapely.get_type_id(geoms) == 3]  # polygons only (degenerate hulls are points/lines)
    if not len(geoms):
        return shapely.Polygon()
    return shapely.union_all(geoms)


# --------------------------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------------------------
def catchments(
    network,
    sites,
    bands=None,
    communes=None,
    connector_speed_kmh=None,
    detour_factor=None,
    max_radius_m=None,
    progress=False,
):
    """Drive-time catchment polygons of every site for every band.

    Parameters
    ----------
    network : fsgeo.network.RoadNetwork
        Road network (``None``: the embedded one).
    sites : geopandas.GeoDataFrame
        Sites with ``id``, ``name`` and Point geometry (antennas included if present).
    bands : sequence of float, optional
        Bands in minutes (default ``settings.bands_min``: 10, 20, 30).
    communes : geopandas.GeoDataFrame, optional
        Communes (``load_communes()`` schema) for ``population``: inhabitants of the communes whose demand point (the
        representative point) lies inside the polygon. Default: the embedded communes; ``False`` skips it.
    connector_speed_kmh, detour_factor, max_radius_m : float, optional
        Off-road widening (default: the network profile's ``connector_speed_kmh``, ``snap_detour_factor``,
        ``max_snap_m``). Radius = remaining seconds x speed / detour, in metres, capped.
    progress : bool
        Show a tqdm bar over sites.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per site and band (site order, then band ascending): ``site_id``, ``site_name``, ``band_min``,
        ``population`` (inhabitants, int; NaN-free unless ``communes=False``), ``area_km2``, geometry (EPSG:4326).
        For each site, the polygon of a band contains the polygons of the smaller bands.
    """
    from fsgeo import datasets, routing

    if network is None:
        network = datasets.load_network()
    bands = tuple(sorted({float(b) for b in (settings.bands_min if bands is None else bands)}))
    if not bands or any(not b > 0 for b in bands):
        raise ValueError(f"bands must be positive minutes, got {bands}")
    if "id" not in sites.columns:
        raise ValueError("sites have no 'id' column")
    ids = sites["id"].astype(str).to_numpy()
    names = sites["name"].astype(str).to_numpy() if "name" in sites.columns else ids
    pace, cap, direct = _pace(network, connector_speed_kmh, detour_factor, max_radius_m)
    seg = _network_segments(network)
    pts = sites.set_axis(ids, axis=0)
    if pts.crs is None:
        raise ValueError("sites have no CRS")
    site_xy = shapely.get_coordinates(pts.to_crs(settings.metric_crs).geometry.to_numpy())
    times = np.empty((len(pts), len(seg["nodes_xy"])))
    if len(pts):
        times = np.asarray(routing.node_times(network, pts.to_crs(settings.crs), cutoff_min=max(bands), reverse=True), dtype=float)

    it = range(len(pts))
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="catchments", unit="site")
    rows, geoms = [], []
    for i in it:
        prev = None
        for b in bands:
            poly = band_polygon(
                seg, times[i], b * 60.0, pace, cap, site_xy=site_xy[i], site_cap_m=np.inf if direct else cap
            )
            if prev is not None and not prev.is_empty:
                poly = shapely.union(poly, prev)  # nesting by construction
            prev = poly
            rows.append({"site_id": ids[i], "site_name": names[i], "band_min": b})
            geoms.append(poly)
    geoms = np.array(geoms, dtype=object)
    out = gpd.GeoDataFrame(rows, columns=["site_id", "site_name", "band_min"], geometry=list(geoms), crs=settings.metric_crs)
    out["area_km2"] = out.geometry.area / 1e6
    if communes is None:
        communes = datasets.load_communes()
    if communes is not False:
        out["population"] = _population_inside(geoms, communes)
    else:
        out["population"] = np.nan
    out = out[["site_id", "site_name", "band_min", "population", "area_km2", "geometry"]].to_crs(settings.crs)
    out.attrs["fsgeo"] = {"bands_min": list(bands), "pace_m_per_s": pace, "max_radius_m": cap}
    return out


def _population_inside(polys_metric, communes) -> np.ndarray:
    """Inhabitants of the communes whose demand point lies inside each polygon (Lambert-93 polygons)."""
    from fsgeo.datasets import demand_points

    pts = demand_points(communes).to_crs(settings.metric_crs)
    xy = shapely.get_coordinates(pts.geometry.to_numpy())
    pop = pd.to_numeric(communes["population"]).to_numpy(dtype=float)
    out = np.zeros(len(polys_metric), dtype="int64")
    tree = shapely.STRtree(shapely.points(xy))
    for i, poly in enumerate(polys_metric):
        if poly is None or poly.is_empty:
            continue
        cand = tree.query(poly)
        if len(cand):
            inside = shapely.contains_xy(poly, xy[cand, 0], xy[cand, 1])
            out[i] = int(pop[cand[inside]].sum())
    return out


def service_areas(access, dissolve=True):
    """Each site's service area: the communes whose nearest site it is.

    Parameters
    ----------
    access : geopandas.GeoDataFrame
        Result of :func:`fsgeo.coverage.access_times`.
    dissolve : bool
        Dissolve the communes' polygons into one per site (needs polygons).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        One row per site that is someone's nearest: ``site_id``, ``site_name``, ``departement`` (of the site),
        ``n_communes``, ``population`` (inhabitants), ``mean_minutes`` (population-weighted), ``max_minutes``,
        ``communes`` (comma-separated codes), and the dissolved polygon (EPSG:4326); largest population first.
        Unreachable communes belong to no service area.
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
        geom = reach.to_crs(settings.metric_crs).dissolve(by="nearest_site_id").geometry
        geom = gpd.GeoSeries(geom.reindex(out["site_id"]).to_numpy(), crs=settings.metric_crs).to_crs(settings.crs)
        out = gpd.GeoDataFrame(out, geometry=geom.to_numpy(), crs=settings.crs)
    return out.sort_values(["population", "site_id"], ascending=[False, True]).reset_index(drop=True)
