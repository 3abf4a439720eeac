"""Demand points: where a commune's inhabitants are assumed to start from.

A commune's drive time is measured from one point. The polygon's pole of inaccessibility (the point deepest inside,
fsgeo's first choice) is not where people live: Arles's falls in the Camargue, Dijon's 5 km from its centre. Two ways
to do better, in this order:

1. **A points file** (``--demand-points FILE``: CSV with ``code`` (INSEE), ``lon``, ``lat`` (WGS84 degrees) and
   ``source``, e.g. town-hall / chef-lieu coordinates, what INSEE's historical distance tool used). Each point is kept
   exactly as given, never moved; one outside its commune is kept and logged.
2. **The road junction heuristic** (no file, or a commune the file does not list): the village or town centre is
   where the roads meet. Among the network nodes inside the commune that a local road serves (not motorway-only),
   take the one with the most such nodes within :data:`DENSITY_RADIUS_M` (junction density: a town centre's
   crossroads, a village's square where the départementales meet), ties broken by the distance to the polygon's
   centroid. With the classified roads of Travel Mapping this is the junction of the routes départementales, which in
   rural France sits in the village. A commune with no such node inside keeps its pole of inaccessibility (logged).

Every commune whose point moves more than :data:`REPORT_MOVE_M` from its pole of inaccessibility is logged by code,
name, distance and method.

**Demand parts** (several weighted points of one commune, ``communes/demand_parts.geojson``; the contract is in
``docs/ARCHITECTURE.md``): Paris, Lyon and Marseille hold 3.5 million people between them, one point each is wrong.

- From the points file: the arrondissement municipal codes (75101-75120, 69381-69389, 13201-13216; all of a
  commune's, populations from the COG), or several rows of one commune code with a ``population`` / ``weight``
  column (scaled to the commune's population). User points are never moved.
- Without a file, a commune that has arrondissements municipaux in the COG gets as many parts. No raw source gives
  the arrondissements' coordinates or polygons, so the parts are not the arrondissements; two rules
  (``--demand-parts``):

  - ``area`` (default, :func:`area_parts`): the inhabitants spread evenly over the commune's largest polygon (a
    city of arrondissements is dense from edge to edge): k-means on a regular grid of :data:`AREA_CELLS` cells
    inside it; each part's point is the grid cell nearest its cluster's centre, its population the commune's times
    the cluster's share of the area. Parks, port basins and massifs (Marseille's Calanques) count as inhabited.
  - ``junctions`` (:func:`cluster_parts`): k-means on its local-road junctions; each part's point is the junction
    nearest its cluster's centre, its population the commune's times the cluster's share of junctions. On Travel
    Mapping's classified roads the junctions of Paris are nearly all on the périphérique: every part at the edge.

A commune with parts keeps one point in ``communes.geojson``: its most populous part's. Parts populations are whole
inhabitants summing exactly to the commune's (largest remainder, :func:`apportion`).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from fsgeo.build_data import METRIC_CRS, STORAGE_CRS
from fsgeo.errors import InputError
from fsgeo.io import read_table

__all__ = ["read_demand_points", "arrondissements", "junction_points", "cluster_parts", "area_parts", "user_parts",
           "apportion", "PARTS_BASES",
           "place", "apply_to_study", "read_networks", "summary", "DENSITY_RADIUS_M", "REPORT_MOVE_M", "HEURISTIC",
           "PARTS_HEURISTICS", "PARTS_FILE", "METHODS"]

DENSITY_RADIUS_M = 1000.0
REPORT_MOVE_M = 2000.0
MOTORWAY_CLASSES = ("motorway", "motorway_link")
#: ``type`` of the arrondissements municipaux (Paris, Lyon, Marseille) in the COG
ARRONDISSEMENT_TYPE = "arrondissement-municipal"
#: k-means iterations of the road-junction clusters (Lloyd's, from a deterministic farthest-point start)
KMEANS_ITERATIONS = 100
PARTS_FILE = "communes/demand_parts.geojson"
#: the rules for the demand parts of communes with arrondissements (``--demand-parts``): see the module notes
PARTS_BASES = ("area", "junctions", "none")
#: grid cells laid over a commune's largest polygon by :func:`area_parts` (about 100 per part for Paris's 20)
AREA_CELLS = 2000


def arrondissements(raw) -> pd.DataFrame:
    """The arrondissements municipaux of the COG (``etalab/communes.json``, rows of type
    ``arrondissement-municipal``): ``code`` (75101...), ``name``, ``commune`` (75056, 69123, 13055), ``population``;
    sorted by code. The COG gives no coordinates or polygons for them (nor does any other raw source)."""
    from fsgeo.build_data.communes import CommuneList

    rows = [r for r in CommuneList(Path(raw)).rows if r.get("type") == ARRONDISSEMENT_TYPE]
    out = pd.DataFrame({"code": [str(r["code"]) for r in rows], "name": [str(r["nom"]) for r in rows],
                        "commune": [str(r["commune"]) for r in rows],
                        "population": [int(r.get("population") or 0) for r in rows]},
                       columns=["code", "name", "commune", "population"])
    return out.sort_values("code", kind="stable").reset_index(drop=True)


def read_demand_points(path, arrondissements: pd.DataFrame | None = None) -> pd.DataFrame:
    """The user's demand points, checked; errors name the file, the row and the problem.

    Columns ``code``, ``lon``, ``lat``, ``source``, and optionally ``population`` (or ``weight``). Three kinds of
    rows (see the module notes):

    - one row for a commune: its one demand point;
    - several rows with the same commune code: the commune's demand parts, each row with a ``population`` /
      ``weight`` (>= 0; scaled to the commune's population when the study is built);
    - arrondissement municipal codes (75101-75120, 69381-69389, 13201-13216, given ``arrondissements``,
      :func:`arrondissements`): each row is a part of its commune, weighted by the arrondissement's COG population;
      a commune given by arrondissement must list all of them.

    Returns
    -------
    pandas.DataFrame
        ``code`` (the commune's INSEE code), ``part`` (the arrondissement code, else None), ``lon``, ``lat``,
        ``source``, ``weight`` (NaN when none is given), ``line`` (line number in the file), in file order.
    """
    path = Path(path)
    df = read_table(path, "demand points")
    missing = [c for c in ("code", "lon", "lat", "source") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing} (columns found: {list(df.columns)}); expected code, "
                         "lon, lat, source (and population or weight for a commune given by several points)")
    weight_col = next((c for c in ("population", "weight") if c in df.columns), None)
    arr = {} if arrondissements is None else {r["code"]: r for r in arrondissements.to_dict("records")}
    rows = []
    for i, r in enumerate(df.to_dict("records")):
        line = i + 2
        code = r["code"].strip()
        if not code:
            raise InputError(f"{path}: row {line}: code is empty")
        if code.isdigit() and len(code) == 4:
            code = "0" + code  # a spreadsheet dropped the leading zero
        try:
            lon, lat = float(r["lon"].replace(",", ".")), float(r["lat"].replace(",", "."))
        except ValueError:
            raise InputError(f"{path}: row {line} (commune {code}): lon/lat {r['lon']!r}, {r['lat']!r} are not "
                             "numbers") from None
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise InputError(f"{path}: row {line} (commune {code}): ({lon}, {lat}) is not a WGS84 longitude/latitude")
        source = r["source"].strip()
        if not source:
            raise InputError(f"{path}: row {line} (commune {code}): source is empty (say where the point comes from)")
        weight = math.nan
        text = r.get(weight_col) if weight_col else ""
        text = text.strip() if isinstance(text, str) else ""  # a short row leaves the last cell empty
        if text:
            try:
                weight = float(text.replace(",", ".").replace("\u202f", "").replace(" ", ""))
            except ValueError:
                raise InputError(f"{path}: row {line} (commune {code}): {weight_col} {text!r} is not a "
                                 "number") from None
            if not math.isfinite(weight) or weight < 0:
                raise InputError(f"{path}: row {line} (commune {code}): {weight_col} {text!r} must be a finite "
                                 "number >= 0")
        part = None
        if code in arr:
            part, code = code, arr[code]["commune"]
        rows.append({"code": code, "part": part, "lon": lon, "lat": lat, "source": source, "weight": weight,
                     "line": line})
    out = pd.DataFrame(rows, columns=["code", "part", "lon", "lat", "source", "weight", "line"])
    for code, group in out.groupby("code", sort=False):
        lines = group["line"].tolist()
        by_arr = group["part"].notna()
        if by_arr.any() and not by_arr.all():
            raise InputError(f"{path}: commune {code} is given both as a commune (row(s) "
                             f"{group.loc[~by_arr, 'line'].tolist()}) and by arrondissement (row(s) "
                             f"{group.loc[by_arr, 'line'].tolist()}): give one or the other")
        if by_arr.all():
            dup = group[group["part"].duplicated(keep=False)]
            if len(dup):
                raise InputError(f"{path}: arrondissement {dup['part'].iat[0]} has several points (rows "
                                 f"{dup.loc[dup['part'] == dup['part'].iat[0], 'line'].tolist()}): one per "
                                 "arrondissement")
            expected = arrondissements.loc[arrondissements["commune"] == code, "code"].tolist()
            absent = [c for c in expected if c not in set(group["part"])]
            if absent:
                raise InputError(f"{path}: commune {code} is given by arrondissement (rows {lines}) but "
                                 f"{len(absent)} of its {len(expected)} arrondissements have no point: "
                                 f"{', '.join(absent)}; list them all (or give the commune one point)")
            continue
        if len(group) < 2:
            continue
        if weight_col is None:
            raise InputError(f"{path}: commune {code} has several points (rows {lines}) but the file has no "
                             "population (or weight) column: several points of a commune need each its "
                             "population or weight")
        blank = group[group["weight"].isna()]
        if len(blank):
            raise InputError(f"{path}: row {blank['line'].iat[0]} (commune {code}): {weight_col} is missing; "
                             f"commune {code} has several points (rows {lines}), each needs its {weight_col}")
        if not group["weight"].sum() > 0:
            raise InputError(f"{path}: commune {code} has several points (rows {lines}) whose {weight_col} are "
                             "all 0: nobody to place")
    return out


def apportion(total: int, weights) -> np.ndarray:
    """``total`` (whole inhabitants) shared in proportion to ``weights`` (>= 0, sum > 0) by the largest remainder
    method: whole numbers summing exactly to ``total``; ties go to the first weights. Weights that already sum to
    ``total`` in whole numbers are returned unchanged."""
    w = np.asarray(weights, dtype=float)
    quota = total * w / w.sum()
    out = np.floor(quota + 1e-9).astype(np.int64)
    short = int(total - out.sum())
    if short > 0:
        order = np.lexsort((np.arange(len(w)), -(quota - out)))
        out[order[:short]] += 1
    elif short < 0:  # floating noise on quotas that were whole numbers
        order = np.lexsort((np.arange(len(w)), quota - out))
        out[order[:-short]] -= 1
    return out


def _local_nodes(communes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, edges: pd.DataFrame,
                 metric_crs: str = METRIC_CRS):
    """The local-road nodes (served by a road that is not motorway-only) and which commune holds each.

    Returns ``(xy, lon, lat, hits)``: the nodes' metric coordinates (n x 2), their degrees, and a frame of the nodes
    inside a commune (index: position in ``xy``; ``index_right``: the commune's position in ``communes``).
    """
    ids = nodes["node_id"].to_numpy() if "node_id" in nodes.columns else nodes.index.to_numpy()
    rc = edges["road_class"].astype(str).str.split(";")
    local_edge = ~rc.map(lambda cs: all(c.strip() in MOTORWAY_CLASSES for c in cs)).to_numpy(bool)
    local_ids = np.union1d(edges["u"].to_numpy()[local_edge], edges["v"].to_numpy()[local_edge])
    keep = np.isin(ids, local_ids)
    metric = nodes.to_crs(metric_crs).geometry[keep]
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    lonlat = nodes.to_crs(STORAGE_CRS).geometry[keep]
    lon_all, lat_all = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    if not len(xy):
        return xy, lon_all, lat_all, pd.DataFrame({"index_right": pd.Series([], dtype=int)})
    polys = communes.to_crs(metric_crs)
    pts = gpd.GeoSeries(shapely.points(xy), crs=metric_crs)
    hits = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), gpd.GeoDataFrame(geometry=polys.geometry.values),
                     predicate="within")
    return xy, lon_all, lat_all, hits


def junction_points(communes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, edges: pd.DataFrame,
                    metric_crs: str = METRIC_CRS) -> pd.DataFrame:
    """The road-junction centre of every commune (see the module notes).

    Parameters
    ----------
    communes : GeoDataFrame
        ``code`` and (Multi)Polygons, any CRS.
    nodes : GeoDataFrame
        Network nodes: ``node_id`` column or index, Points.
    edges : DataFrame
        ``u``, ``v`` (node ids), ``road_class``.
    metric_crs : str
        Metric CRS of the distances (the study's: Lambert-93 in metropolitan France).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``communes``: ``lon``, ``lat`` (degrees, 6 decimals; NaN when no node qualifies), ``density``
        (local-road nodes within :data:`DENSITY_RADIUS_M`).
    """
    xy, lon_all, lat_all, hits = _local_nodes(communes, nodes, edges, metric_crs)
    out = pd.DataFrame({"lon": np.nan, "lat": np.nan, "density": 0}, index=communes.index)
    if not len(xy):
        return out
    density = np.array([len(v) for v in cKDTree(xy).query_ball_point(xy, DENSITY_RADIUS_M)])
    centroids = communes.to_crs(metric_crs).geometry.centroid
    for k, group in hits.groupby("index_right"):
        inside = group.index.to_numpy()
        c = centroids.iloc[k]
        dc = np.hypot(xy[inside, 0] - c.x, xy[inside, 1] - c.y)
        best = inside[np.lexsort((dc, -density[inside]))[0]]
        out.iloc[k, :] = [round(float(lon_all[best]), 6), round(float(lat_all[best]), 6), int(density[best])]
    out["density"] = out["density"].astype(int)
    return out


def place(communes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame | None, edges: pd.DataFrame | None,
          user: pd.DataFrame | None = None, log: Callable[[str], None] = print, tag: str = "demand",
          source_name: str = "demand points file", metric_crs: str = METRIC_CRS) -> gpd.GeoDataFrame:
    """Communes with ``point_lon`` / ``point_lat`` replaced: the user's point, else the junction centre, else the pole
    of inaccessibility already there; adds ``point_source`` (``user: <source>`` | ``road junction`` | ``pole of
    inaccessibility``) and logs every move over :data:`REPORT_MOVE_M`.

    A user code that is not among ``communes`` is an error naming its row (a typo must not pass unnoticed).
    """
    out = communes.copy()
    pole = gpd.GeoSeries(gpd.points_from_xy(out["point_lon"], out["point_lat"]), crs=STORAGE_CRS).to_crs(metric_crs)
    lon, lat = out["point_lon"].to_numpy(float).copy(), out["point_lat"].to_numpy(float).copy()
    source = np.full(len(out), "pole of inaccessibility", dtype=object)
    if nodes is not None and edges is not None:
        junction = junction_points(out, nodes, edges, metric_crs)
        has = junction["lon"].notna().to_numpy()
        lon[has], lat[has] = junction["lon"].to_numpy()[has], junction["lat"].to_numpy()[has]
        source[has] = "road junction"
        log(f"{tag}: {int(has.sum())} communes at their road-junction centre, {int((~has).sum())} without a "
            f"local-road node inside keep their pole of inaccessibility")
    if user is not None and len(user):
        pos = pd.Index(out["code"].astype(str)).get_indexer(user["code"])
        unknown = user[pos < 0]
        if len(unknown):
            r = unknown.iloc[0]
            raise InputError(f"{source_name}: row {r['line']}: commune {r['code']!r} is not one of the "
                             f"{len(out)} communes built")
        lon[pos], lat[pos] = user["lon"].to_numpy(float), user["lat"].to_numpy(float)
        source[pos] = ["user: " + s for s in user["source"]]
        inside = shapely.contains_xy(out.geometry.to_numpy()[pos], lon[pos], lat[pos])
        for (code, line), ok in zip(zip(user["code"], user["line"]), inside):
            if not ok:
                log(f"{tag}: {source_name} row {line}: the point of {code} lies outside its commune; kept as given")
        log(f"{tag}: {len(user)} communes at the points of {source_name} (kept as given)")
    new = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=STORAGE_CRS).to_crs(metric_crs)
    moved = pole.distance(new, align=False).to_numpy()
    out["point_lon"], out["point_lat"] = lon, lat
    out["point_source"] = source
    far = np.flatnonzero(moved > REPORT_MOVE_M)
    log(f"{tag}: {len(far)} communes moved more than {REPORT_MOVE_M / 1000:.0f} km from their pole of "
        f"inaccessibility")
    names = out["name"].astype(str).to_numpy() if "name" in out.columns else out["code"].astype(str).to_numpy()
    for j in far[np.argsort(-moved[far], kind="stable")]:
        log(f"{tag}: moved {out['code'].iat[j]} ({names[j]}) {moved[j] / 1000:.1f} km: {source[j]}")
    out.attrs["moved_m"] = pd.Series(moved, index=out["code"].astype(str).to_numpy())
    return out


PART_COLUMNS = ["code", "part", "name", "population", "source"]


def _kmeans(xy: np.ndarray, k: int) -> np.ndarray:
    """Cluster labels of the points ``xy`` (n x 2, metres) into ``k`` clusters, deterministically: Lloyd's k-means
    (:func:`scipy.cluster.vq.kmeans2`, fixed iterations) from a farthest-point start (the point nearest the points'
    mean, then each time the point farthest from those chosen; ties to the first in (x, y) order). The caller gives
    ``xy`` sorted and at least ``k`` distinct points. Labels of clusters left empty are not used (see the caller)."""
    from scipy.cluster.vq import kmeans2, vq

    mean = xy.mean(axis=0)
    chosen = [int(np.argmin(np.hypot(*(xy - mean).T)))]
    dmin = np.hypot(*(xy - xy[chosen[0]]).T)
    while len(chosen) < k:
        nxt = int(np.argmax(dmin))
        chosen.append(nxt)
        dmin = np.minimum(dmin, np.hypot(*(xy - xy[nxt]).T))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "one of the clusters is empty": such clusters are dropped by the caller
        centres, _ = kmeans2(xy, xy[chosen].copy(), iter=KMEANS_ITERATIONS, minit="matrix", missing="warn")
    return vq(xy, centres)[0]


def _no_parts() -> gpd.GeoDataFrame:
    """An empty demand-parts frame (:data:`PART_COLUMNS`, Points, EPSG:4326)."""
    return gpd.GeoDataFrame(pd.DataFrame(columns=PART_COLUMNS), geometry=[], crs=STORAGE_CRS)


def _to_split(communes: gpd.GeoDataFrame, parts_of: dict) -> gpd.GeoDataFrame:
    """The communes of ``parts_of``, sorted by code (the parts' order does not depend on the input's)."""
    wanted = communes[communes["code"].astype(str).isin(set(parts_of))]
    return wanted.sort_values("code", kind="stable").reset_index(drop=True)


def _clusters(xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k-means groups (:func:`_kmeans`) of the sorted points ``xy`` as parts: the position in ``xy`` of each
    group's representative (its point nearest the group's centre; ties by x, then y) and each group's size, in part
    order (largest group first, then x, then y). Empty groups are dropped."""
    labels = _kmeans(xy, k)
    groups = [g for g in (np.flatnonzero(labels == j) for j in range(k)) if len(g)]
    members = np.array([len(g) for g in groups])
    reps = np.array([g[np.lexsort((xy[g, 1], xy[g, 0], np.hypot(*(xy[g] - xy[g].mean(axis=0)).T)))[0]]
                     for g in groups])
    order = np.lexsort((xy[reps, 1], xy[reps, 0], -members))
    return reps[order], members[order]


def _add_parts(rows: list, geoms: list, commune, members, lon, lat, source: str) -> np.ndarray:
    """Append the parts of ``commune`` (a row with ``code``, ``name``, ``population``) to ``rows`` / ``geoms``:
    ids ``<code>-<i>``, names ``"<commune>, partie <i>"``, populations the commune's shared by ``members`` (whole
    inhabitants, :func:`apportion`), points at ``lon`` / ``lat`` rounded to 6 decimals; returns the populations."""
    code = str(commune.code)
    pops = apportion(int(commune.population), members)
    for i, (pop, x, y) in enumerate(zip(pops, lon, lat), start=1):
        rows.append({"code": code, "part": f"{code}-{i}", "name": f"{commune.name}, partie {i}",
                     "population": int(pop), "source": source})
        geoms.append(shapely.Point(round(float(x), 6), round(float(y), 6)))
    return pops


def cluster_parts(communes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, edges: pd.DataFrame, parts_of: dict,
                  log: Callable[[str], None] = print, tag: str = "demand",
                  metric_crs: str = METRIC_CRS) -> gpd.GeoDataFrame:
    """Demand parts of communes from their local-road junctions (the heuristic; see the module notes).

    ``parts_of`` maps a commune code (of ``communes``: ``code``, ``name``, ``population``, polygons) to its number
    of parts k. Its local-road nodes (those :func:`junction_points` uses) are clustered into k groups (k-means in
    the metric CRS, :func:`_kmeans`); each part's point is the junction of its group nearest the group's centre (a
    real road node), its population the commune's times the group's share of junctions (whole inhabitants, summing
    exactly to the commune's: :func:`apportion`). Parts are ordered by population (largest first), then x, then y;
    ids ``<code>-<i>``, names ``"<commune>, partie <i>"``. A commune with fewer distinct junctions than k gets one
    part per junction; with fewer than 2, no parts (logged: it keeps its single point).

    Returns
    -------
    GeoDataFrame
        :data:`PART_COLUMNS` + Point geometry (EPSG:4326, degrees rounded to 6 decimals), sorted by commune code.
    """
    wanted = _to_split(communes, parts_of)
    rows, geoms = [], []
    if not len(wanted) or nodes is None or edges is None:
        return _no_parts()
    xy, lon_all, lat_all, hits = _local_nodes(wanted, nodes, edges, metric_crs)
    inside_of = {k: g.index.to_numpy() for k, g in hits.groupby("index_right")} if len(xy) else {}
    for j, c in enumerate(wanted.itertuples(index=False)):
        code, k_wanted = str(c.code), int(parts_of[str(c.code)])
        inside = inside_of.get(j, np.array([], dtype=int))
        # distinct junctions, sorted by (x, y): the clustering does not depend on the network's node order
        pts, first = np.unique(xy[inside], axis=0, return_index=True)
        inside = inside[first]
        k = min(k_wanted, len(pts))
        if k < 2:
            log(f"{tag}: {code} ({c.name}): {len(pts)} local-road junction(s) inside, cannot split it into "
                f"{k_wanted} parts; it keeps one point")
            continue
        reps, members = _clusters(pts, k)
        if len(reps) < k_wanted:
            log(f"{tag}: {code} ({c.name}): {len(reps)} parts instead of {k_wanted} ({len(pts)} local-road "
                "junctions inside)")
        nodes_at = inside[reps]
        pops = _add_parts(rows, geoms, c, members, lon_all[nodes_at], lat_all[nodes_at], "road-junction cluster")
        log(f"{tag}: {code} ({c.name}): {len(reps)} parts from {len(pts)} local-road junctions (k-means), "
            f"populations {', '.join(f'{p:,}' for p in pops)}")
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=PART_COLUMNS), geometry=geoms, crs=STORAGE_CRS)


def area_parts(communes: gpd.GeoDataFrame, parts_of: dict, log: Callable[[str], None] = print,
               tag: str = "demand", metric_crs: str = METRIC_CRS, cells: int = AREA_CELLS) -> gpd.GeoDataFrame:
    """Demand parts of communes from their area: the inhabitants spread evenly over the largest polygon.

    ``parts_of`` maps a commune code (of ``communes``: ``code``, ``name``, ``population``, polygons) to its number
    of parts k. A regular square grid of about ``cells`` cells is laid over the commune's largest polygon (metric
    CRS; islands and detached parts, e.g. Marseille's Frioul, are left out) and the centres of the cells inside it
    are clustered into k groups (k-means, :func:`_kmeans`); each part's point is the cell centre of its group
    nearest the group's centre (always inside the polygon), its population the commune's times the group's share of
    the cells (whole inhabitants summing exactly to the commune's: :func:`apportion`). Parts are ordered by
    population (largest first), then x, then y; ids ``<code>-<i>``, names ``"<commune>, partie <i>"``. No network
    is needed: the parts route like any demand point (an access leg, or a direct leg to a site under 3 km).

    Returns
    -------
    GeoDataFrame
        :data:`PART_COLUMNS` + Point geometry (EPSG:4326, degrees rounded to 6 decimals), sorted by commune code.
    """
    wanted = _to_split(communes, parts_of)
    rows, geoms = [], []
    if not len(wanted):
        return _no_parts()
    metric = wanted.geometry.to_crs(metric_crs)
    for c, shape in zip(wanted.itertuples(index=False), metric):
        code, k = str(c.code), int(parts_of[str(c.code)])
        polys = list(getattr(shape, "geoms", [shape]))
        poly = max(polys, key=lambda g: g.area)
        step = math.sqrt(poly.area / cells)
        x0, y0, x1, y1 = poly.bounds
        # cell centres on a grid anchored at the polygon's lower-left corner, rounded to the centimetre: the same
        # polygon gives the same grid whatever the platform
        xs, ys = np.meshgrid(np.arange(x0 + step / 2, x1, step), np.arange(y0 + step / 2, y1, step))
        xy = np.round(np.column_stack([xs.ravel(), ys.ravel()]), 2)
        xy = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]
        xy = xy[np.lexsort((xy[:, 1], xy[:, 0]))]
        if len(xy) < max(k, 2):
            log(f"{tag}: {code} ({c.name}): {len(xy)} grid cells inside, cannot split it into {k} parts; it keeps "
                "one point")
            continue
        reps, members = _clusters(xy, k)
        lonlat = gpd.GeoSeries(gpd.points_from_xy(xy[reps, 0], xy[reps, 1]), crs=metric_crs).to_crs(STORAGE_CRS)
        pops = _add_parts(rows, geoms, c, members, lonlat.x.to_numpy(), lonlat.y.to_numpy(), "area cluster")
        left = len(polys) - 1
        log(f"{tag}: {code} ({c.name}): {len(reps)} parts from {len(xy)} grid cells of {step:.0f} m over its "
            f"largest polygon ({poly.area / 1e6:.1f} km²" + (f"; {left} smaller polygon(s) left out" if left else "")
            + f"), populations {', '.join(f'{p:,}' for p in pops)}")
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=PART_COLUMNS), geometry=geoms, crs=STORAGE_CRS)


def user_parts(user: pd.DataFrame, communes: gpd.GeoDataFrame, arrondissements: pd.DataFrame | None,
               source_name: str, log: Callable[[str], None] = print, tag: str = "demand") -> gpd.GeoDataFrame:
    """Demand parts given by the user's file (the communes with several rows of :func:`read_demand_points`),
    points kept exactly as given.

    By arrondissement: part id = the arrondissement code, name and population from the COG (scaled to the commune's
    population if they do not sum to it, logged). Several rows of one commune code: ids ``<code>-<i>`` in file
    order, names ``"<commune>, partie <i>"``, populations = the commune's shared in proportion to the file's
    ``population`` / ``weight`` (:func:`apportion`). Every code must be one of ``communes`` (else an error naming
    the file and the row: parts belong to the study's own communes).
    """
    by_code = communes.assign(code=communes["code"].astype(str)).set_index("code")
    arr = None if arrondissements is None else arrondissements.set_index("code")
    rows, geoms = [], []
    for code, group in user.groupby("code", sort=True):
        if code not in by_code.index:
            r = group.iloc[0]
            what = f"arrondissement {r['part']} belongs to commune {code!r}, which" if pd.notna(r["part"]) \
                else f"commune {code!r} (given by {len(group)} points)"
            raise InputError(f"{source_name}: row {r['line']}: {what} is not one of the {len(by_code)} communes of "
                             "the study (demand parts are for the study's own communes)")
        commune = by_code.loc[code]
        total = int(commune["population"])
        if group["part"].notna().all():
            group = group.sort_values("part", kind="stable")
            cog = arr.loc[group["part"], "population"].to_numpy()
            pops = apportion(total, cog) if cog.sum() > 0 else apportion(total, np.ones(len(cog)))
            if int(cog.sum()) != total:
                log(f"{tag}: {code}: its arrondissements' COG populations sum to {int(cog.sum()):,}, the commune "
                    f"has {total:,}: scaled to the commune's")
            ids, names = group["part"].tolist(), arr.loc[group["part"], "name"].tolist()
        else:
            pops = apportion(total, group["weight"].to_numpy(float))
            ids = [f"{code}-{i}" for i in range(1, len(group) + 1)]
            names = [f"{commune['name']}, partie {i}" for i in range(1, len(group) + 1)]
        for pid, name, pop, r in zip(ids, names, pops, group.itertuples(index=False)):
            rows.append({"code": code, "part": pid, "name": name, "population": int(pop),
                         "source": f"user: {r.source}"})
            geoms.append(shapely.Point(r.lon, r.lat))
        inside = shapely.contains_xy(commune.geometry, group["lon"].to_numpy(float), group["lat"].to_numpy(float))
        for line, ok in zip(group["line"], inside):
            if not ok:
                log(f"{tag}: {source_name} row {line}: a point of {code} lies outside its commune; kept as given")
        log(f"{tag}: {code} ({commune['name']}): {len(group)} parts from {source_name} (kept as given), "
            f"populations {', '.join(f'{p:,}' for p in pops)}")
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=PART_COLUMNS), geometry=geoms, crs=STORAGE_CRS)


def _with_parts(placed: gpd.GeoDataFrame, parts: gpd.GeoDataFrame, pole_metric: gpd.GeoSeries, metric_crs: str,
                log: Callable[[str], None], tag: str) -> gpd.GeoDataFrame:
    """``placed`` with the point of every commune that has parts moved to its most populous part (first in file
    order on ties), ``point_source`` saying which (``road-junction cluster (1 of 20)``, ``user: <source>
    (arrondissement 75115)``), and ``attrs["moved_m"]`` updated."""
    out = placed.copy()
    moved = out.attrs["moved_m"].copy()
    pos = pd.Index(out["code"].astype(str))
    for code, group in parts.groupby("code", sort=True):
        top = group.iloc[int(np.argmax(group["population"].to_numpy()))]
        i = pos.get_loc(code)
        n = len(group)
        if top["source"].startswith("user: "):
            which = f"arrondissement {top['part']}" if not top["part"].startswith(f"{code}-") else \
                f"part {top['part'].rsplit('-', 1)[1]} of {n}"
            source = f"{top['source']} ({which})"
        else:
            source = f"{top['source']} ({top['part'].rsplit('-', 1)[1]} of {n})"
        out.iat[i, out.columns.get_loc("point_lon")] = float(top.geometry.x)
        out.iat[i, out.columns.get_loc("point_lat")] = float(top.geometry.y)
        out.iat[i, out.columns.get_loc("point_source")] = source
        new = gpd.GeoSeries([top.geometry], crs=STORAGE_CRS).to_crs(metric_crs).iloc[0]
        moved[code] = float(pole_metric.iloc[i].distance(new))
        log(f"{tag}: {code}: point at its most populous part {top['part']} ({int(top['population']):,} "
            f"inhabitants), moved {moved[code] / 1000:.1f} km from its pole of inaccessibility")
    out.attrs["moved_m"] = moved
    return out


def read_networks(network_files) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame | None]:
    """Nodes and edges (``road_class``; an OSM network's ``highway`` stands in) of one network GeoPackage or several
    (a national study has one per landmass: node ids are offset so they stay distinct); (None, None) when none."""
    if network_files is None:
        return None, None
    if isinstance(network_files, (str, Path)):
        network_files = [network_files]
    from fsgeo.network import RoadNetwork

    node_frames, edge_frames, offset = [], [], 0
    for path in network_files:
        if path is None or not Path(path).is_file():
            continue
        net = RoadNetwork.from_file(path)  # a GeoPackage (Travel Mapping) or a GraphML (an OSM network)
        nodes, edges = net.nodes, net.edges
        ids = nodes.index.to_numpy() if "node_id" not in nodes.columns else nodes["node_id"].to_numpy()
        ids = ids.astype(np.int64)
        node_frames.append(gpd.GeoDataFrame({"node_id": ids + offset}, geometry=nodes.geometry.values,
                                            crs=nodes.crs).to_crs(STORAGE_CRS))
        rc = edges["road_class"] if "road_class" in edges.columns else edges["highway"]
        edge_frames.append(pd.DataFrame({"u": edges["u"].to_numpy(np.int64) + offset,
                                         "v": edges["v"].to_numpy(np.int64) + offset,
                                         "road_class": rc.astype(str).to_numpy()}))
        offset += int(ids.max()) + 1 if len(ids) else 0
    if not node_frames:
        return None, None
    nodes = gpd.GeoDataFrame(pd.concat(node_frames, ignore_index=True), geometry="geometry", crs=STORAGE_CRS)
    return nodes, pd.concat(edge_frames, ignore_index=True)


#: what ``study.json`` records of the road-junction heuristic (``demand.parameters``)
HEURISTIC = {"method": "road junction",
             "rule": "the local-road network node inside the commune with the most local-road nodes within the "
                     "density radius, ties broken by the distance to the polygon's centroid; the polygon's pole of "
                     "inaccessibility when no local-road node lies inside",
             "density_radius_m": DENSITY_RADIUS_M, "excluded_road_classes": list(MOTORWAY_CLASSES)}
METHODS = ("road-junction", "pole")


def apply_to_study(out: Path, network_file, log: Callable[[str], None] = print,
                   demand_points: Path | None = None, metric_crs: str = METRIC_CRS,
                   method: str = "road-junction", raw: Path | None = None, parts_basis: str = "area",
                   split_population: int | None = None) -> dict:
    """Place the demand points of a built study (after its network): rewrite ``out/communes/communes.geojson`` (and
    ``neighbours.geojson`` when present) with the user's points or the road-junction centres, and a
    ``point_source`` column; write ``out/communes/demand_parts.geojson`` when a commune of the study has demand
    parts (its arrondissements municipaux, or several points in the file); returns the manifest's ``demand`` entry
    (:func:`summary`), whose ``moved`` maps the study's communes moved more than :data:`REPORT_MOVE_M` to the
    metres moved and whose ``parts`` (present only when there are parts) describes them.

    ``network_file``: the study's network GeoPackage (layers ``nodes``, ``edges``), a list of them (one per
    landmass), or None when no network was built (then only the user's points apply). ``demand_points``: the
    user's CSV (:func:`read_demand_points`). ``method``: ``"road-junction"`` (the heuristic, default) or ``"pole"``
    (keep the polygon's pole of inaccessibility wherever the file gives no point; no heuristic parts either).
    ``raw``: the raw sources folder, for the COG's arrondissements municipaux (None: none known, no heuristic parts
    and arrondissement codes in the file are unknown communes). ``parts_basis``: the rule for the parts of the
    communes with arrondissements that the file does not give (:data:`PARTS_BASES`): ``"area"`` (default,
    :func:`area_parts`), ``"junctions"`` (:func:`cluster_parts`; needs the road-junction method's network) or
    ``"none"`` (one point each). ``split_population``: N > 0 gives every other commune of more than N inhabitants
    ceil(population / N) parts by the same rule (default None: only the communes with arrondissements).
    """
    if split_population is not None and not (isinstance(split_population, (int, np.integer))
                                             and split_population > 0):
        raise ValueError(f"demand split population {split_population!r}: expected a whole number of inhabitants > 0")
    from fsgeo.build_data.communes import _write_geojson

    if method not in METHODS:
        raise ValueError(f"demand point method {method!r}: expected one of {', '.join(METHODS)}")
    check_parts_basis(parts_basis)
    out = Path(out)
    arr = arrondissements(raw) if raw is not None else None
    nodes = edges = None
    if method == "road-junction":
        nodes, edges = read_networks(network_file)
    user = read_demand_points(demand_points, arr) if demand_points is not None else None
    source_name = str(demand_points) if demand_points is not None else "demand points file"
    frames = {}
    for name in ("communes.geojson", "neighbours.geojson"):
        path = out / "communes" / name
        if path.is_file():
            frames[name] = gpd.read_file(path)
            frames[name]["code"] = frames[name]["code"].astype(str)
    single = multi = None
    if user is not None:
        known = set().union(*(set(f["code"]) for f in frames.values()))
        unknown = user[~user["code"].isin(known)]
        if len(unknown):
            r = unknown.iloc[0]
            if pd.notna(r["part"]):
                raise InputError(f"{demand_points}: row {r['line']}: arrondissement {r['part']} belongs to commune "
                                 f"{r['code']!r}, which is not a commune of the study")
            raise InputError(f"{demand_points}: row {r['line']}: commune {r['code']!r} is neither a commune of the "
                             "study nor one of its neighbouring communes")
        several = user["code"].duplicated(keep=False) | user["part"].notna()
        single, multi = user[~several], user[several]
        study_codes = set(frames["communes.geojson"]["code"]) if "communes.geojson" in frames else set()
        outside = multi[~multi["code"].isin(study_codes)]
        if len(outside):
            r = outside.iloc[0]
            raise InputError(f"{demand_points}: row {r['line']}: commune {r['code']!r} is a neighbouring commune, "
                             "not a commune of the study: demand parts (several points, arrondissements) are for "
                             "the study's own communes; give it one point")
    placed_study, parts = None, None
    for name, communes in frames.items():
        tag = "demand" if name == "communes.geojson" else "demand (neighbours)"
        mine = single[single["code"].isin(set(communes["code"]))] if single is not None else None
        base = communes.drop(columns=["point_source"], errors="ignore")
        placed = place(base, nodes, edges, user=mine, log=log, tag=tag, source_name=source_name,
                       metric_crs=metric_crs)
        if name == "communes.geojson":
            parts = _study_parts(placed, nodes, edges, multi, arr, source_name, log, metric_crs, parts_basis,
                                 split_population)
            if len(parts):
                pole = gpd.GeoSeries(gpd.points_from_xy(base["point_lon"], base["point_lat"]),
                                     crs=STORAGE_CRS).to_crs(metric_crs)
                placed = _with_parts(placed, parts, pole, metric_crs, log, tag)
            placed_study = placed
        cols = [c for c in placed.columns if c != "geometry"]
        cols.insert(cols.index("point_lat") + 1, cols.pop(cols.index("point_source")))
        _write_geojson(placed[cols + ["geometry"]], out / "communes" / name)
    parts_path = out / PARTS_FILE
    if parts is not None and len(parts):
        _write_geojson(parts, parts_path)
        log(f"demand: wrote {parts_path}: {len(parts)} demand parts of {parts['code'].nunique()} communes")
    elif parts_path.exists():
        parts_path.unlink()  # a previous build's parts must not outlive it: study.json will not list them
    entry = summary(placed_study, user, demand_points, method, have_network=nodes is not None, parts=parts,
                    parts_basis=parts_basis)
    if split_population is not None and "parts" in entry:
        entry["parts"]["split_population"] = int(split_population)
    return entry


def check_parts_basis(parts_basis: str) -> str:
    """``parts_basis`` if it is one of :data:`PARTS_BASES`, else a ValueError naming them."""
    if parts_basis not in PARTS_BASES:
        raise ValueError(f"demand parts rule {parts_basis!r}: expected one of {', '.join(PARTS_BASES)}")
    return parts_basis


def _study_parts(placed, nodes, edges, multi, arr, source_name, log, metric_crs,
                 parts_basis: str = "area", split_population: int | None = None) -> gpd.GeoDataFrame:
    """The demand parts of the study's communes: the file's (several rows or arrondissements), then the heuristic
    (``parts_basis``: area or junction clusters) for the other communes that have arrondissements municipaux (k =
    their number) and, with ``split_population`` N, for every other commune of more than N inhabitants (k =
    ceil(population / N)), unless the file gives them one point (the user's choice wins)."""
    frames = []
    given = set()
    if multi is not None and len(multi):
        frames.append(user_parts(multi, placed, arr, source_name, log))
        given |= set(multi["code"])
    if parts_basis != "none" and (nodes is not None or parts_basis == "area"):
        user_single = set(placed.loc[placed["point_source"].str.startswith("user: "), "code"].astype(str))
        codes = placed["code"].astype(str)
        parts_of = {}
        if arr is not None:
            counts = arr.groupby("commune").size()
            parts_of = {c: int(n) for c, n in counts.items() if c in set(codes) and c not in given | user_single}
            for c in sorted(set(counts.index) & user_single):
                log(f"demand: {c}: one point given by the file; no arrondissement parts")
        if split_population is not None:
            pops = placed["population"].to_numpy(float)
            big = {c: int(math.ceil(p / split_population)) for c, p in zip(codes, pops)
                   if p > split_population and c not in parts_of and c not in given | user_single}
            log(f"demand: {len(big)} other communes of more than {split_population:,} inhabitants split into "
                f"ceil(population / {split_population:,}) parts ({sum(big.values())} parts)")
            parts_of.update(big)
        if parts_of and parts_basis == "area":
            frames.append(area_parts(placed, parts_of, log, metric_crs=metric_crs))
        elif parts_of:
            frames.append(cluster_parts(placed, nodes, edges, parts_of, log, metric_crs=metric_crs))
    elif split_population is not None:
        log(f"demand: --demand-split-population {split_population} ignored: no demand-parts rule "
            f"({'--demand-parts none' if parts_basis == 'none' else 'no road network for the junctions rule'})")
    frames = [f for f in frames if len(f)]
    if not frames:
        return _no_parts()
    parts = pd.concat(frames, ignore_index=True)
    order = np.argsort(parts["code"].to_numpy(str), kind="stable")  # by commune, each commune's parts in order
    return gpd.GeoDataFrame(parts.iloc[order].reset_index(drop=True), geometry="geometry", crs=STORAGE_CRS)


def summary(placed: gpd.GeoDataFrame | None, user: pd.DataFrame | None, demand_points, method: str,
            have_network: bool, parts: gpd.GeoDataFrame | None = None, parts_basis: str = "area") -> dict:
    """The ``demand`` entry of ``study.json``: which demand points the study's communes use.

    ``method`` (``road junction`` | ``pole of inaccessibility``, the rule for the communes the file does not
    give), ``parameters`` (the heuristic's, see :data:`HEURISTIC`), ``file`` (the user's file: name, sha256, rows,
    its ``source`` values) or None, ``points`` (communes per ``point_source``, without its "(1 of 20)"),
    ``moved_over_m`` and ``moved`` (``{code: metres}`` of the communes moved more than that from their pole of
    inaccessibility, largest first); and, only when some commune has demand parts, ``parts``: ``file`` (the
    parts file), ``method`` and ``rule`` (of the heuristic), ``communes`` and ``parts`` (counts) and
    ``by_commune`` (``{code: {"parts", "population", "source"}}``, source ``file``, ``area cluster`` or
    ``road-junction cluster``).
    """
    import hashlib

    entry: dict = {}
    if method == "road-junction" and have_network:
        entry["method"] = "road junction"
        entry["parameters"] = {k: v for k, v in HEURISTIC.items() if k != "method"}
    else:
        entry["method"] = "pole of inaccessibility"
        entry["parameters"] = {"reason": "no road network" if method == "road-junction" else "chosen (--demand-method "
                               "pole)"}
    if user is not None:
        path = Path(demand_points)
        entry["file"] = {"name": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                         "rows": int(len(user)), "sources": sorted(set(user["source"]))}
    else:
        entry["file"] = None
    entry["moved_over_m"] = REPORT_MOVE_M
    if placed is None:
        entry["points"], entry["moved"] = {}, {}
        return entry
    def kind(s: str) -> str:
        return "user" if s.startswith("user: ") else s.split(" (", 1)[0]

    counts = placed["point_source"].map(kind).value_counts()
    entry["points"] = {k: int(counts[k]) for k in sorted(counts.index)}
    moved = placed.attrs["moved_m"]
    far = moved[moved > REPORT_MOVE_M]
    far = far.iloc[np.lexsort((far.index.to_numpy(), -far.to_numpy()))]
    entry["moved"] = {code: round(float(m)) for code, m in far.items()}
    if parts is not None and len(parts):
        by = {}
        for code, group in parts.groupby("code", sort=True):
            by[code] = {"parts": int(len(group)), "population": int(group["population"].sum()),
                        "source": "file" if group["source"].iat[0].startswith("user: ") else group["source"].iat[0]}
        kinds = {v["source"] for v in by.values()}
        how = {"file"} if kinds == {"file"} else kinds
        entry["parts"] = {"file": PARTS_FILE, **PARTS_HEURISTICS[parts_basis], "communes": len(by),
                          "parts": int(len(parts)), "by_commune": by}
        entry["parts"]["method"] = " and ".join(sorted("points file" if k == "file" else k + "s" for k in how))
    return entry


#: what ``study.json`` records of the demand-parts heuristics (``demand.parts``), by ``--demand-parts`` rule
PARTS_HEURISTICS = {
    "area": {
        "method": "area clusters",
        "rule": "a commune with arrondissements municipaux in the COG (Paris, Lyon, Marseille) gets one part per "
                "arrondissement: k-means (k = their number) on a regular grid of cells over the commune's largest "
                "polygon (Lambert-93, farthest-point start, fixed iterations); each part's point is the cell centre "
                "nearest its cluster's centre, its population the commune's times the cluster's share of the area "
                "(largest remainder); the clusters are NOT the arrondissements. Parts from the points file "
                "(arrondissement codes: COG populations; several rows of a commune: its population or weight "
                "column) are kept as given",
        "grid_cells": AREA_CELLS,
        "kmeans_iterations": KMEANS_ITERATIONS,
    },
    "junctions": {
        "method": "road-junction clusters",
        "rule": "a commune with arrondissements municipaux in the COG (Paris, Lyon, Marseille) gets one part per "
                "arrondissement: k-means (k = their number) on the local-road junctions inside the commune "
                "(Lambert-93, farthest-point start, fixed iterations); each part's point is the junction nearest "
                "its cluster's centre, its population the commune's times the cluster's share of junctions "
                "(largest remainder); the clusters are NOT the arrondissements. Parts from the points file "
                "(arrondissement codes: COG populations; several rows of a commune: its population or weight "
                "column) are kept as given",
        "kmeans_iterations": KMEANS_ITERATIONS,
    },
    "none": {"method": "points file", "rule": "only the parts given by the points file (--demand-parts none)"},
}
