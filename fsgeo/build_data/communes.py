"""Communes of the département and its outline, from the 2018 polygons and the current commune list.

Sources (``raw`` folder, see its ``SOURCES.md``):

- ``etalab/communes.json`` (@etalab/decoupage-administratif 6.0.0): the current communes (``commune-actuelle``),
  their INSEE *population municipale*, and the delegated / associated communes with the ``chefLieu`` they belong to;
- ``france-geojson/departements/NN-*/communes-NN-*.geojson``: IGN ADMIN EXPRESS 2018 commune polygons (simplified).

The 2018 polygons predate several mergers, so each one is mapped to the current commune that contains it
(:meth:`CommuneList.current_of`: ``chefLieu`` of a delegated / associated commune, else ``anciensCodes``) and the
polygons are dissolved per current commune. A polygon that maps to nothing, a current commune without a polygon or
without a population is an error: nothing is dropped silently. :func:`polygons_2018` and :func:`dissolve` serve any
set of départements (``neighbours.py`` uses them for the neighbouring communes).

Outputs, under ``out/communes/``: ``communes.geojson``, ``outline.geojson`` and ``manifest.json`` (source totals and
counts, used by the data tests when the raw sources are absent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.ops import polylabel

from fsgeo.build_data import DEPARTEMENT, METRIC_CRS, STORAGE_CRS, departement_file
from fsgeo.io import departement_of

#: 2018 codes that merged into a current commune but are not listed as delegated / associated communes in the
#: etalab package (SOURCES.md): Motey-sur-Saône merged into Seveux-Motey on 1 January 2019. (Seveux-Motey's
#: ``anciensCodes`` list it too; this documented table comes first.)
UNLISTED_MERGES = {"70375": "70491"}

DEPARTEMENT_NAMES = {"70": "Haute-Saône"}


class BuildError(ValueError):
    """The raw sources are inconsistent: the message names the file, the code and the problem."""


def _communes_file(raw: Path, dep: str) -> Path:
    return departement_file(raw, dep, f"communes-{dep}-*.geojson")


def _read_polygons(path: Path) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path)
    gdf = (gdf.set_crs(STORAGE_CRS) if gdf.crs is None else gdf.to_crs(STORAGE_CRS))
    gdf["code"] = gdf["code"].astype(str)
    dup = gdf["code"][gdf["code"].duplicated()]
    if len(dup):
        raise BuildError(f"{path}: duplicate commune codes {sorted(dup)}")
    return gdf


def _polygonal(geom, what: str):
    """Valid (Multi)Polygon from a dissolved geometry (drops the degenerate lines/points make_valid may add)."""
    geom = shapely.make_valid(geom)
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(parts)
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
        raise BuildError(f"{what}: no valid polygon after dissolving ({geom.geom_type})")
    return geom


def _demand_point(geom_4326, to_metric: Transformer, to_geo: Transformer) -> tuple[float, float]:
    """A point well inside the commune: pole of inaccessibility of its largest part, in Lambert-93 (10 m precision).

    It stays far from the boundary, so it is inside the polygon in any CRS; checked anyway, with shapely's
    ``representative_point`` (always inside) as the fallback.
    """
    metric = shapely.transform(geom_4326, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])))
    parts = shapely.get_parts(metric)
    largest = parts[int(np.argmax([p.area for p in parts]))]
    pole = polylabel(largest, tolerance=10.0)
    lon, lat = to_geo.transform(pole.x, pole.y)
    lon, lat = round(float(lon), 6), round(float(lat), 6)
    if not geom_4326.contains(shapely.Point(lon, lat)):
        p = geom_4326.representative_point()
        lon, lat = float(p.x), float(p.y)
    return lon, lat


class CommuneList:
    """The etalab commune list (``etalab/communes.json``): current communes and where a former code went.

    A 2018 code maps to the current commune that holds its land (:meth:`current_of`), by these rules in order: it is
    a current commune itself; it is in :data:`UNLISTED_MERGES`; a delegated / associated commune row names its
    ``chefLieu``; a current commune lists it in its ``anciensCodes`` (former codes: mergers without delegated
    communes, e.g. 90073 Moval -> 90068 Meroux-Moval).
    """

    def __init__(self, raw: Path):
        self.path = Path(raw) / "etalab" / "communes.json"
        self.rows = json.loads(self.path.read_text(encoding="utf-8"))
        self.by_code: dict[str, list[dict]] = {}
        for r in self.rows:
            self.by_code.setdefault(r["code"], []).append(r)
        #: every current commune of France, by code
        self.current = {r["code"]: r for r in self.rows if r.get("type") == "commune-actuelle"}
        #: former code -> current commune listing it in ``anciensCodes``
        self.former = {old: r["code"] for r in self.current.values() for old in (r.get("anciensCodes") or ())}

    def of_departements(self, departements) -> dict[str, dict]:
        """Current communes of the départements, ``{code: row}``."""
        return {c: r for c, r in self.current.items() if r.get("departement") in departements}

    def current_of(self, code: str) -> str | None:
        """Current commune holding the land of ``code`` (a 2018 code), or None when the list has no trace of it."""
        if code in self.current:
            return code
        if code in UNLISTED_MERGES:
            return UNLISTED_MERGES[code]
        for r in self.by_code.get(code, []):
            if r.get("type") in ("commune-deleguee", "commune-associee") and r.get("chefLieu") in self.current:
                return r["chefLieu"]
        return self.former.get(code)

    def describe(self, code: str) -> str:
        """``name, type of chefLieu`` of a delegated / associated code, else ``former code of X``."""
        r = next((r for r in self.by_code.get(code, []) if r.get("chefLieu")), None)
        if r is not None:
            return f"{r.get('nom')}, {r.get('type')} of {r.get('chefLieu')}"
        return f"former code of {self.former.get(code)}"


def check_populations(current: dict[str, dict], path: Path) -> int:
    """Total population of ``current`` (``{code: row}``); a missing or negative population is a :class:`BuildError`."""
    for code, r in current.items():
        pop = r.get("population")
        if not isinstance(pop, int) or pop < 0:
            raise BuildError(f"{path}: commune {code} ({r.get('nom')}): population {pop!r} is not an int >= 0")
    return sum(r["population"] for r in current.values())


def polygons_2018(raw: Path, clist: CommuneList, departements, current: dict[str, dict],
                  log: Callable[[str], None], tag: str = "communes") -> gpd.GeoDataFrame:
    """The 2018 polygons of the départements, mapped to current communes.

    Parameters
    ----------
    raw : Path
        Raw sources folder.
    clist : CommuneList
        The etalab list.
    departements : sequence of str
        Départements whose france-geojson files are read, in this order.
    current : dict
        The current communes studied (``{code: row}``): polygons of other départements' files whose code now belongs
        to one of them are added (e.g. 52210 Frettes -> 70122 Champlitte); their absence is logged.
    log : callable
        Receives one line per file and per such polygon.
    tag : str
        Prefix of the log lines.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326: ``code`` (2018), ``nom``, ``source`` (file name), ``current`` (current commune code, None when it
        maps to nothing; it may be a commune outside ``current``), geometry; rows in file order.
    """
    frames = []
    for dep in departements:
        path = _communes_file(raw, dep)
        poly = _read_polygons(path)
        poly["source"] = path.name
        log(f"{tag}: {path.name}: {len(poly)} polygons (2018)")
        frames.append(poly)
    # codes of other départements that now belong to a studied commune (chefLieu or anciensCodes)
    foreign = ({r["code"] for r in clist.rows if r.get("chefLieu") in current}
               | {old for old, new in clist.former.items() if new in current})
    foreign = sorted(c for c in foreign if departement_of(c) not in departements and c not in clist.current)
    cache: dict[str, gpd.GeoDataFrame | None] = {}
    for code in foreign:
        other = departement_of(code)
        if other not in cache:
            try:
                opath = _communes_file(raw, other)
                cache[other] = _read_polygons(opath).assign(source=opath.name)
            except FileNotFoundError:
                cache[other] = None
        odata = cache[other]
        found = odata[odata["code"] == code] if odata is not None else []
        if len(found):
            frames.append(found)
            log(f"{tag}: {code} has a polygon in {found['source'].iat[0]}: merged into {clist.current_of(code)}")
        else:
            where = odata["source"].iat[0] if odata is not None and len(odata) else "no file"
            owner = clist.current_of(code)
            log(f"{tag}: {code} ({clist.describe(code)}) has no 2018 polygon of its own ({where}): its land is "
                f"already in {owner}'s")
    poly = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    poly["current"] = [clist.current_of(c) for c in poly["code"]]
    return poly


def dissolve(poly: gpd.GeoDataFrame, current: dict[str, dict], codes, what: str) -> gpd.GeoDataFrame:
    """One row per current commune of ``codes`` (sorted): its 2018 polygons (``poly.current == code``) dissolved.

    Returns the COMMUNES schema (EPSG:4326): ``code``, ``name``, ``departement``, ``population`` (inhabitants),
    ``area_km2`` (km², Lambert-93), ``point_lon``, ``point_lat`` (degrees, :func:`_demand_point`), geometry.
    ``what`` names the source in errors.
    """
    to_metric = Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)
    to_geo = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)
    records = []
    geoms = poly.geometry.to_numpy()
    rows_of = poly.groupby("current", sort=False).indices  # one pass, not one scan per commune (35,000 nationally)
    for code in sorted(codes):
        r = current[code]
        parts = list(geoms[rows_of[code]]) if code in rows_of else []
        geom = _polygonal(shapely.union_all([shapely.make_valid(g) for g in parts]), f"{what} commune {code}")
        lon, lat = _demand_point(geom, to_metric, to_geo)
        records.append({"code": code, "name": r["nom"], "departement": r["departement"],
                        "population": int(r["population"]), "point_lon": lon, "point_lat": lat, "geometry": geom})
    gdf = gpd.GeoDataFrame(records, geometry="geometry", crs=STORAGE_CRS)
    gdf.insert(4, "area_km2", (gdf.to_crs(METRIC_CRS).area / 1e6).round(4))
    gdf["population"] = gdf["population"].astype("int64")
    return gdf


def build(raw: Path, out: Path, log: Callable[[str], None] = print, departement: str = DEPARTEMENT) -> gpd.GeoDataFrame:
    """Build ``out/communes/communes.geojson``, ``outline.geojson`` and ``manifest.json``.

    Parameters
    ----------
    raw : Path
        Raw sources folder (``etalab/``, ``france-geojson/``).
    out : Path
        Output data folder; files go to ``out/communes/``.
    log : callable
        Receives one human-readable line per step.
    departement : str
        INSEE département code.

    Returns
    -------
    geopandas.GeoDataFrame
        The communes (EPSG:4326): ``code``, ``name``, ``departement``, ``population`` (inhabitants),
        ``area_km2`` (km², Lambert-93), ``point_lon``, ``point_lat`` (degrees), geometry.
    """
    raw, out = Path(raw), Path(out)
    clist = CommuneList(raw)
    etalab_path = clist.path
    current = clist.of_departements([departement])
    if not current:
        raise BuildError(f"{etalab_path}: no commune-actuelle for département {departement}")
    source_total = check_populations(current, etalab_path)
    log(f"communes: {etalab_path.name}: {len(current)} current communes of {departement}, population {source_total}")

    path = _communes_file(raw, departement)
    poly = polygons_2018(raw, clist, [departement], current, log)
    orphans = poly[~poly["current"].isin(list(current))]
    if len(orphans):
        raise BuildError(f"{path}: 2018 polygons map to no current commune of {departement}: "
                         + ", ".join(f"{c} ({n})" for c, n in zip(orphans["code"], orphans["nom"])))
    merged = poly[poly["code"] != poly["current"]].sort_values("code")
    for old, new, name in zip(merged["code"], merged["current"], merged["nom"]):
        log(f"communes: merge {old} ({name}) -> {new} ({current[new]['nom']})")
    missing = sorted(set(current) - set(poly["current"]))
    if missing:
        raise BuildError(f"{path}: current communes without any polygon: "
                         + ", ".join(f"{c} ({current[c]['nom']})" for c in missing))

    invalid = poly[~poly.geometry.is_valid]
    if len(invalid):
        log(f"communes: {len(invalid)} source polygons invalid, repaired with make_valid: {sorted(invalid['code'])}")
    gdf = dissolve(poly, current, current, str(path))

    total = int(gdf["population"].sum())
    if total != source_total or len(gdf) != len(current):
        raise BuildError(f"communes: built {len(gdf)} communes / population {total}, source has "
                         f"{len(current)} / {source_total}")
    multi = int((gdf.geom_type == "MultiPolygon").sum())
    log(f"communes: {len(gdf)} communes written ({multi} MultiPolygon), {len(merged)} merges, "
        f"population {total} (= source), area {gdf['area_km2'].sum():.1f} km²")

    outline_geom = _polygonal(shapely.union_all(gdf.geometry.values), "outline")
    name = DEPARTEMENT_NAMES.get(departement, departement)
    outline = gpd.GeoDataFrame({"code": [departement], "name": [name]}, geometry=[outline_geom], crs=STORAGE_CRS)
    area = float(outline.to_crs(METRIC_CRS).area.iloc[0] / 1e6)
    log(f"communes: outline {outline_geom.geom_type}, {area:.1f} km²")

    folder = out / "communes"
    folder.mkdir(parents=True, exist_ok=True)
    _write_geojson(gdf, folder / "communes.geojson")
    _write_geojson(outline, folder / "outline.geojson")
    manifest = {
        "departement": departement,
        "sources": {"etalab": "etalab/communes.json (@etalab/decoupage-administratif 6.0.0)",
                    "polygons": f"france-geojson/departements/.../{path.name} (IGN ADMIN EXPRESS 2018)"},
        "source_communes": len(current),
        "source_population": source_total,
        "polygons_2018": int(len(poly)),
        "merges": {old: new for old, new in zip(merged["code"], merged["current"])},
        "communes": int(len(gdf)),
        "population": total,
    }
    write_manifest(folder, manifest)
    return gdf


def write_manifest(folder: Path, manifest: dict) -> None:
    """``folder/manifest.json``: indented JSON, keys in insertion order, UTF-8, final newline."""
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GeoJSON written deterministically (pyogrio, no timestamp); overwrites ``path``."""
    if path.exists():
        path.unlink()
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "NO", "WRITE_NAME": "NO"})
