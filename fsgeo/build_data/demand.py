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
"""

from __future__ import annotations

import math
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

__all__ = ["read_demand_points", "junction_points", "place", "apply_to_study", "read_networks", "summary",
           "DENSITY_RADIUS_M", "REPORT_MOVE_M", "HEURISTIC", "METHODS"]

DENSITY_RADIUS_M = 1000.0
REPORT_MOVE_M = 2000.0
MOTORWAY_CLASSES = ("motorway", "motorway_link")


def read_demand_points(path) -> pd.DataFrame:
    """The user's demand points: ``code``, ``lon``, ``lat``, ``source``, ``line`` (line number); errors name the file,
    the row and the problem (missing column, bad number, coordinates out of range, duplicate code)."""
    path = Path(path)
    df = read_table(path, "demand points")
    missing = [c for c in ("code", "lon", "lat", "source") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing} (columns found: {list(df.columns)}); expected code, "
                         "lon, lat, source")
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
        rows.append({"code": code, "lon": lon, "lat": lat, "source": source, "line": line})
    out = pd.DataFrame(rows, columns=["code", "lon", "lat", "source", "line"])
    dup = out[out["code"].duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        raise InputError(f"{path}: commune {first['code']} has several points (rows "
                         f"{dup.loc[dup['code'] == first['code'], 'line'].tolist()}): one per commune")
    return out


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
    ids = nodes["node_id"].to_numpy() if "node_id" in nodes.columns else nodes.index.to_numpy()
    rc = edges["road_class"].astype(str).str.split(";")
    local_edge = ~rc.map(lambda cs: all(c.strip() in MOTORWAY_CLASSES for c in cs)).to_numpy(bool)
    local_ids = np.union1d(edges["u"].to_numpy()[local_edge], edges["v"].to_numpy()[local_edge])
    keep = np.isin(ids, local_ids)
    metric = nodes.to_crs(metric_crs).geometry[keep]
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    lonlat = nodes.to_crs(STORAGE_CRS).geometry[keep]
    lon_all, lat_all = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    out = pd.DataFrame({"lon": np.nan, "lat": np.nan, "density": 0}, index=communes.index)
    if not len(xy):
        return out
    density = np.array([len(v) for v in cKDTree(xy).query_ball_point(xy, DENSITY_RADIUS_M)])
    polys = communes.to_crs(metric_crs)
    pts = gpd.GeoSeries(shapely.points(xy), crs=metric_crs)
    hits = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), gpd.GeoDataFrame(geometry=polys.geometry.values),
                     predicate="within")
    centroids = polys.geometry.centroid
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
                   method: str = "road-junction") -> dict:
    """Place the demand points of a built study (after its network): rewrite ``out/communes/communes.geojson`` (and
    ``neighbours.geojson`` when present) with the user's points or the road-junction centres, and a
    ``point_source`` column; returns the manifest's ``demand`` entry (:func:`summary`), whose ``moved`` maps the
    study's communes moved more than :data:`REPORT_MOVE_M` to the metres moved.

    ``network_file``: the study's network GeoPackage (layers ``nodes``, ``edges``), a list of them (one per
    landmass), or None when no network was built (then only the user's points apply). ``demand_points``: the
    user's CSV (:func:`read_demand_points`). ``method``: ``"road-junction"`` (the heuristic, default) or ``"pole"``
    (keep the polygon's pole of inaccessibility wherever the file gives no point).
    """
    from fsgeo.build_data.communes import _write_geojson

    if method not in METHODS:
        raise ValueError(f"demand point method {method!r}: expected one of {', '.join(METHODS)}")
    out = Path(out)
    nodes = edges = None
    if method == "road-junction":
        nodes, edges = read_networks(network_file)
    user = read_demand_points(demand_points) if demand_points is not None else None
    frames = {}
    for name in ("communes.geojson", "neighbours.geojson"):
        path = out / "communes" / name
        if path.is_file():
            frames[name] = gpd.read_file(path)
            frames[name]["code"] = frames[name]["code"].astype(str)
    if user is not None:
        known = set().union(*(set(f["code"]) for f in frames.values()))
        unknown = user[~user["code"].isin(known)]
        if len(unknown):
            r = unknown.iloc[0]
            raise InputError(f"{demand_points}: row {r['line']}: commune {r['code']!r} is neither a commune of the "
                             "study nor one of its neighbouring communes")
    placed_study = None
    for name, communes in frames.items():
        tag = "demand" if name == "communes.geojson" else "demand (neighbours)"
        mine = user[user["code"].isin(set(communes["code"]))] if user is not None else None
        placed = place(communes.drop(columns=["point_source"], errors="ignore"), nodes, edges, user=mine, log=log,
                       tag=tag, source_name=str(demand_points) if demand_points is not None else "demand points file",
                       metric_crs=metric_crs)
        cols = [c for c in placed.columns if c != "geometry"]
        cols.insert(cols.index("point_lat") + 1, cols.pop(cols.index("point_source")))
        _write_geojson(placed[cols + ["geometry"]], out / "communes" / name)
        if name == "communes.geojson":
            placed_study = placed
    return summary(placed_study, user, demand_points, method, have_network=nodes is not None)


def summary(placed: gpd.GeoDataFrame | None, user: pd.DataFrame | None, demand_points, method: str,
            have_network: bool) -> dict:
    """The ``demand`` entry of ``study.json``: which demand points the study's communes use.

    ``method`` (``road junction`` | ``pole of inaccessibility``, the rule for the communes the file does not
    give), ``parameters`` (the heuristic's, see :data:`HEURISTIC`), ``file`` (the user's file: name, sha256, rows,
    its ``source`` values) or None, ``points`` (communes per ``point_source``), ``moved_over_m`` and ``moved``
    (``{code: metres}`` of the communes moved more than that from their pole of inaccessibility, largest first).
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
    counts = placed["point_source"].map(lambda s: "user" if s.startswith("user: ") else s).value_counts()
    entry["points"] = {k: int(counts[k]) for k in sorted(counts.index)}
    moved = placed.attrs["moved_m"]
    far = moved[moved > REPORT_MOVE_M]
    far = far.iloc[np.lexsort((far.index.to_numpy(), -far.to_numpy()))]
    entry["moved"] = {code: round(float(m)) for code, m in far.items()}
    return entry
