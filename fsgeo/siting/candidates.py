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
from fsgeo.settings import settings

CANDIDATE_COLUMNS = ("id", "name", "kind", "parent_id", "commune_code", "commune_name", "lon", "lat")
_GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb")
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")


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
        would run the antenna).
    communes : GeoDataFrame, str or Path, optional
        Communes (COMMUNES schema) to place code-only rows and to find the commune of each candidate. Default: the
        embedded communes.

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
    path = Path(path)
    if not path.is_file():
        raise io.InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    communes = _communes_frame(communes)
    if suffix in _CSV_SUFFIXES:
        df, named = _prepare(io._read_csv(path), path)
        sites = io._plain_csv_sites(df, path, communes, None)
    elif suffix in _GEO_SUFFIXES:
        gdf = io._read_geo(path, "candidates")
        raw, named = _prepare(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), path)
        io._check_geometries(path, gdf, raw["id"].tolist(), ("Point",))
        gdf = io._to_wgs84(gdf, path)
        raw["_lon"], raw["_lat"] = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
        sites = io._finish_sites(raw.reset_index(drop=True), path, None, weekly_from_file=False)
    else:
        raise io.InputError(f"{path}: unsupported candidates file type {suffix!r} (use .geojson, .gpkg or .csv)")
    if len(sites) == 0:
        raise io.InputError(f"{path}: no candidate in the file")
    return _finish(sites, communes, named)


def _communes_frame(communes):
    if communes is None:
        from fsgeo.datasets import load_communes

        return load_communes()
    if isinstance(communes, (str, Path)):
        return io.read_communes(communes)
    return communes


def _prepare(df: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[bool]]:
    """Default ids and names, ``parent`` -> ``parent_id``, antenna kind implied by a parent.

    Returns the frame and, per row, whether the file named the candidate (else its name is filled later)."""
    df = df.copy()
    if "parent" in df.columns:
        if "parent_id" in df.columns:
            raise io.InputError(f"{path}: both 'parent' and 'parent_id' columns: keep one")
        df = df.rename(columns={"parent": "parent_id"})
    if "id" not in df.columns:
        df["id"] = [str(i) for i in range(1, len(df) + 1)]
    df["id"] = [io._id_text(v) for v in df["id"]]
    named = [not io._blank(v) for v in df["name"]] if "name" in df.columns else [False] * len(df)
    df["name"] = [io._text(v) if ok else ident for v, ok, ident in zip(df.get("name", [""] * len(df)), named, df["id"])]
    parents = df["parent_id"].tolist() if "parent_id" in df.columns else [None] * len(df)
    kinds = df["kind"].tolist() if "kind" in df.columns else [""] * len(df)
    for i, (kind, parent) in enumerate(zip(kinds, parents), start=1):
        if io._blank(parent):
            continue
        k = io._KIND_ALIASES.get(io._key(io._text(kind))) if not io._blank(kind) else None
        if k == "principal":
            raise io._error(path, f"parent {io._id_text(parent)!r} given for a principal space: only antennas have a "
                                  "parent (set kind to antenna or leave parent empty)", i, df["id"].iat[i - 1])
        if io._blank(kind):
            kinds[i - 1] = "antenna"
    df["kind"] = kinds
    return df, named


def _finish(sites: gpd.GeoDataFrame, communes, named: list[bool]) -> gpd.GeoDataFrame:
    lon, lat = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    codes = sites["commune_code"].astype(str).to_numpy(dtype=object)
    cnames = sites["commune_name"].astype(str).to_numpy(dtype=object)
    located = _commune_of(sites.geometry, communes)
    for i in range(len(sites)):
        if not codes[i] and located[0][i] is not None:
            codes[i], cnames[i] = located[0][i], located[1][i]
        elif codes[i] and not cnames[i]:
            cnames[i] = located[2].get(codes[i], "")
    names = sites["name"].to_numpy(dtype=object)
    for i in range(len(sites)):
        if not named[i]:
            names[i] = cnames[i] or sites["id"].iat[i]
    out = pd.DataFrame({
        "id": sites["id"].astype(str).to_numpy(), "name": names, "kind": sites["kind"].to_numpy(),
        "parent_id": _objects(io._id_text(v) or None for v in sites["parent_id"]),
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
    ids = [io._id_text(v) for v in gdf["id"]]
    for i, ident in enumerate(ids, start=1):
        if not ident:
            raise io.InputError(f"candidates: row {i}: missing id")
    io._check_unique("candidates", ids)
    io._check_geometries("candidates", gdf, ids, ("Point",))
    out = pd.DataFrame({"id": ids})
    n = len(gdf)

    def col(c, default):
        return gdf[c].to_numpy(dtype=object) if c in gdf.columns else np.full(n, default, dtype=object)

    kinds = []
    for i, (ident, kind) in enumerate(zip(ids, col("kind", "principal")), start=1):
        k = io._KIND_ALIASES.get(io._key(io._text(kind) or "principal"))
        if k is None:
            raise io.InputError(f"candidates: row {i} (id {ident!r}): unknown kind {kind!r} (expected principal or "
                                "antenna)")
        kinds.append(k)
    out["name"] = [io._text(v) or ident for v, ident in zip(col("name", ""), ids)]
    out["kind"] = kinds
    out["parent_id"] = _objects(io._id_text(v) or None for v in col("parent_id", None))
    out["commune_code"] = _objects(io._id_text(v) or None for v in col("commune_code", None))
    out["commune_name"] = [io._text(v) for v in col("commune_name", "")]
    out["lon"], out["lat"] = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    if out["commune_code"].isna().any() and communes is not None:
        codes, names, _ = _commune_of(gdf.geometry.reset_index(drop=True), communes)
        miss = out["commune_code"].isna().to_numpy()
        out["commune_code"] = _objects(codes[i] if miss[i] else out["commune_code"].iat[i] for i in range(n))
        out.loc[miss, "commune_name"] = [names[i] for i in np.flatnonzero(miss)]
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"], crs=settings.crs),
                            crs=settings.crs)
