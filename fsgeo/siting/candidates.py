"""Candidate sites: read from a user file, or generated from the communes that host no site yet.

Candidates are a GeoDataFrame (EPSG:4326 Points, RangeIndex) with :data:`CANDIDATE_COLUMNS`: ``id`` (str),
``name``, ``kind`` (``principal`` | ``antenna``), ``parent_id`` (id of the existing principal space an antenna would
belong to, or None), ``commune_code`` (INSEE code of the commune it lies in, None outside the communes given),
``commune_name``, ``lon``, ``lat`` (degrees).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from fsgeo import io
from fsgeo.errors import require
from fsgeo.settings import settings

CANDIDATE_COLUMNS = ("id", "name", "kind", "parent_id", "commune_code", "commune_name", "lon", "lat")


def read_candidates(path, communes=None) -> gpd.GeoDataFrame:
    """Read candidate sites from a GeoJSON / GeoPackage of Points or a CSV.

    Parameters
    ----------
    path : str or Path
        - GeoJSON / GeoPackage (layer ``candidates`` when there are several): Point geometry, any declared CRS
          (reprojected to EPSG:4326);
        - CSV (``,`` ``;`` or tab): ``lat``/``lon`` (or ``latitude``/``longitude``, WGS84 degrees) or an INSEE
          commune code column (``commune_code`` or ``insee``): the candidate is then placed at that commune's demand
          point.

        Optional columns: ``id`` (default: the 1-based row number), ``name`` (default: the commune's name, else the
        id), ``kind`` (``principal`` | ``antenna``, French ``Antenne`` accepted; default ``principal``, or
        ``antenna`` when a parent is given), ``parent`` (or ``parent_id``: id of the existing principal space that
        would run the antenna). Other columns are ignored.
    communes : GeoDataFrame, str or Path
        Communes (COMMUNES schema) to place code-only rows and to find the commune of each candidate. Required
        (e.g. ``datasets.load_study().communes``).

    Returns
    -------
    GeoDataFrame
        :data:`CANDIDATE_COLUMNS` and Point geometry, EPSG:4326, RangeIndex, in file order.

    Raises
    ------
    fsgeo.io.InputError
        Naming the file, the row / id and the problem (unreadable file, missing coordinates, coordinates outside
        France or in the wrong CRS, unknown commune code or kind, duplicate id, a parent on a principal space).
    """
    if isinstance(communes, (str, Path)):
        communes = io.read_communes(communes)
    if communes is None:
        if not Path(path).is_file():  # the file's own problem first
            raise io.InputError(f"{path}: file not found")
        require(communes, "communes", "read_candidates", "to place code-only rows and find each candidate's commune")
    pts = io.read_points(path, communes=communes, required=(), what="candidate")
    if "parent" in pts.columns:
        if "parent_id" in pts.columns:
            raise io.InputError(f"{path}: both 'parent' and 'parent_id' columns: keep one")
        pts = pts.rename(columns={"parent": "parent_id"})
    col = lambda c: pts[c].tolist() if c in pts.columns else [None] * len(pts)  # noqa: E731
    ids, parents = pts["id"].tolist(), [io.clean_id(v) or None for v in col("parent_id")]
    kinds = []
    for i, (ident, kind, parent) in enumerate(zip(ids, col("kind"), parents), start=1):
        kinds.append(io.normalise_kind(kind, "antenna" if parent else "principal", path, i, ident))
        if parent and kinds[-1] == "principal":
            raise io.InputError.at(path, f"parent {parent!r} given for a principal space: only antennas have a "
                                         "parent (set kind to antenna or leave parent empty)", i, ident)
    # the commune: the file's, else the one the point lies in; a nameless candidate takes the commune's name
    codes, cnames = [io.clean_id(v) for v in col("commune_code")], [io.clean_text(v) for v in col("commune_name")]
    located, located_names, lookup = _commune_of(pts.geometry, communes)
    for i, code in enumerate(codes):
        if not code and located[i] is not None:
            codes[i], cnames[i] = located[i], located_names[i]
        elif code and not cnames[i]:
            cnames[i] = lookup.get(code, "")
    names = [io.clean_text(v) or cname or ident for v, cname, ident in zip(col("name"), cnames, ids)]
    return _frame(ids, names, kinds, parents, codes, cnames, pts.geometry.x, pts.geometry.y)


def _frame(ids, names, kinds, parents, codes, cnames, lon, lat) -> gpd.GeoDataFrame:
    """:data:`CANDIDATE_COLUMNS` (blank parent and commune codes as None) with Points at lon/lat (degrees)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    out = pd.DataFrame({
        "id": list(ids), "name": names, "kind": kinds, "parent_id": _objects(p or None for p in parents),
        "commune_code": _objects(c or None for c in codes), "commune_name": cnames, "lon": lon, "lat": lat,
    })
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat, crs=settings.crs), crs=settings.crs)


def _objects(values) -> pd.Series:
    """Object column keeping None for missing values (pandas 3 would infer a string dtype with NaN)."""
    return pd.Series(list(values), dtype=object)


def _commune_of(points: gpd.GeoSeries, communes):
    """(code per point or None, name per point, {code: name}) by point-in-polygon over ``communes``."""
    n = len(points)
    codes, names = [None] * n, [""] * n
    if communes is None or len(communes) == 0:
        return codes, names, {}
    lookup = dict(zip(communes["code"].astype(str), communes["name"].astype(str)))
    if not isinstance(communes, gpd.GeoDataFrame) or communes.geometry is None:
        return codes, names, lookup
    polys = communes.to_crs(settings.crs) if communes.crs is not None and not communes.crs.equals(settings.crs) \
        else communes
    pts = gpd.GeoDataFrame({"_i": np.arange(n)}, geometry=points.to_numpy(), crs=settings.crs)
    hit = gpd.sjoin(pts, polys[["code", "name", polys.geometry.name]], predicate="within", how="inner")
    hit = hit.drop_duplicates("_i")
    for i, code, name in zip(hit["_i"], hit["code"].astype(str), hit["name"].astype(str)):
        codes[i], names[i] = code, name
    return codes, names, lookup


def candidates_from_communes(communes, sites, min_population=0, kind="principal") -> gpd.GeoDataFrame:
    """Every commune's demand point that does not already host a site, as candidates.

    Parameters
    ----------
    communes : GeoDataFrame
        Communes (COMMUNES schema: ``code``, ``name``, ``population``, ``point_lon``, ``point_lat``).
    sites : GeoDataFrame
        Existing sites (``commune_code``): their communes are not candidates. Pass the sites as of the date studied.
    min_population : int, default 0
        Keep communes with at least this many inhabitants.
    kind : {"principal", "antenna"}
        Kind given to every generated candidate.

    Returns
    -------
    GeoDataFrame
        :data:`CANDIDATE_COLUMNS` (``id`` = commune code) and Point geometry, EPSG:4326, RangeIndex, in commune
        order. ``attrs["fsgeo"]`` counts the communes left out (``hosting_site``, ``below_min_population``).
    """
    if kind not in io.KINDS:
        raise io.InputError(f"kind must be one of {', '.join(io.KINDS)}, got {kind!r}")
    try:
        min_population = float(min_population)
    except (TypeError, ValueError):
        raise io.InputError(f"min_population must be a number of inhabitants, got {min_population!r}") from None
    if not (min_population >= 0):
        raise io.InputError(f"min_population must be >= 0, got {min_population:g}")
    for col in ("code", "name", "population", "point_lon", "point_lat"):
        if col not in communes.columns:
            raise io.InputError(f"communes lack column {col!r}: load them with fsgeo.datasets.load_communes()")
    codes = communes["code"].astype(str)
    hosting = set(sites["commune_code"].dropna().astype(str)) if "commune_code" in sites.columns else set()
    hosts = codes.isin(hosting).to_numpy()
    small = (pd.to_numeric(communes["population"], errors="coerce") < min_population).to_numpy()
    keep = ~hosts & ~small
    c = communes[keep]
    lon, lat = c["point_lon"].to_numpy(dtype=float), c["point_lat"].to_numpy(dtype=float)
    out = gpd.GeoDataFrame({
        "id": c["code"].astype(str).to_numpy(), "name": c["name"].astype(str).to_numpy(), "kind": kind,
        "parent_id": _objects([None] * len(c)).to_numpy(),
        "commune_code": c["code"].astype(str).to_numpy(), "commune_name": c["name"].astype(str).to_numpy(),
        "lon": lon, "lat": lat,
    }, geometry=gpd.points_from_xy(lon, lat, crs=settings.crs), crs=settings.crs)
    out.attrs["fsgeo"] = {"hosting_site": int(hosts.sum()), "below_min_population": int((small & ~hosts).sum())}
    return out


def as_candidates(candidates, communes=None) -> gpd.GeoDataFrame:
    """Candidates from a path (read with :func:`read_candidates`) or a GeoDataFrame (checked, defaults filled)."""
    if isinstance(candidates, (str, Path)):
        return read_candidates(candidates, communes)
    if not isinstance(candidates, gpd.GeoDataFrame):
        raise io.InputError(f"candidates must be a file path or a GeoDataFrame of Points, got "
                            f"{type(candidates).__name__}")
    gdf = candidates.to_crs(settings.crs) if candidates.crs is not None and not candidates.crs.equals(settings.crs) \
        else candidates
    if gdf.crs is None:
        raise io.InputError("candidates: no CRS; set it first, e.g. candidates.set_crs('EPSG:4326')")
    if "id" not in gdf.columns:
        raise io.InputError("candidates: no 'id' column")
    ids = io.check_unique_ids(gdf["id"], "candidates")
    io.check_geometries("candidates", gdf, ids)
    col = lambda c: gdf[c].tolist() if c in gdf.columns else [None] * len(gdf)  # noqa: E731
    kinds = [io.normalise_kind(k, "principal", "candidates", i, ident)
             for i, (ident, k) in enumerate(zip(ids, col("kind")), start=1)]
    codes = [io.clean_id(v) or None for v in col("commune_code")]
    cnames = [io.clean_text(v) for v in col("commune_name")]
    if None in codes and communes is not None:  # the commune a point lies in, where the frame gives none
        located, located_names, _ = _commune_of(gdf.geometry, communes)
        for i in [i for i, code in enumerate(codes) if code is None]:
            codes[i], cnames[i] = located[i], located_names[i]
    names = [io.clean_text(v) or ident for v, ident in zip(col("name"), ids)]
    parents = [io.clean_id(v) for v in col("parent_id")]
    return _frame(ids, names, kinds, parents, codes, cnames, gdf.geometry.x, gdf.geometry.y)
