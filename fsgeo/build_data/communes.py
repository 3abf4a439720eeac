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

from fsgeo.atomic import write_text
from fsgeo.build_data import STORAGE_CRS, StudyArea, departement_file, departement_names, metric_crs_of
from fsgeo.io import departement_of

#: 2018 codes that merged into a current commune but are not listed as delegated / associated communes in the
#: etalab package (SOURCES.md): Motey-sur-Saône merged into Seveux-Motey on 1 January 2019. (Seveux-Motey's
#: ``anciensCodes`` list it too; this documented table comes first.)
UNLISTED_MERGES = {"70375": "70491"}

#: Communes restored after 2018 (a commune nouvelle split again): they have no 2018 polygon of their own, their land
#: is inside the 2018 polygon of the commune nouvelle, whose code a current commune kept. The etalab list keeps no
#: trace of the split (no ``anciensCodes``, no ``chefLieu``), hence this documented table, restored -> holder:
#: Sannerville left Saline (now Troarn, 14712) on 1 January 2020; Celles, Chalinargues, Chavagnac and
#: Sainte-Anastasie left Neussargues en Pinatelle (now Neussargues-Moissac, 15141) and L'Oie and Sainte-Florence
#: left Essarts en Bocage (85084) on 1 January 2024. Rule (:func:`share_polygons`): the restored communes and their
#: holder share the holder's 2018 polygon and demand point (the sources give no boundary between them), the area
#: of the polygon is split among them in proportion to their populations, and every population is kept.
RESTORED_COMMUNES = {
    "14666": "14712",
    "15031": "15141", "15035": "15141", "15047": "15141", "15171": "15141",
    "85165": "85084", "85212": "85084",
}


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


def demand_point(geom_4326, metric_crs: str = "EPSG:2154") -> tuple[float, float]:
    """The demand point of a commune (lon, lat in degrees, 6 decimals): where its inhabitants are taken to live.

    The one place the build computes it (swap this function to change the rule): the pole of inaccessibility of the
    commune's largest part, computed in ``metric_crs`` with 10 m precision. It stays far from the boundary, so it
    is inside the polygon in any CRS; checked anyway, with shapely's ``representative_point`` (always inside) as
    the fallback.
    """
    to_metric, to_geo = _transformers(metric_crs)
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


_TRANSFORMERS: dict[str, tuple[Transformer, Transformer]] = {}


def _transformers(metric_crs: str) -> tuple[Transformer, Transformer]:
    if metric_crs not in _TRANSFORMERS:
        _TRANSFORMERS[metric_crs] = (Transformer.from_crs(STORAGE_CRS, metric_crs, always_xy=True),
                                     Transformer.from_crs(metric_crs, STORAGE_CRS, always_xy=True))
    return _TRANSFORMERS[metric_crs]


def area_km2(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Area of each row in km², measured in the metric CRS of its ``departement`` (4 decimals)."""
    out = np.zeros(len(gdf))
    deps = gdf["departement"].to_numpy()
    for dep in dict.fromkeys(deps):
        sel = deps == dep
        out[sel] = gdf.geometry[sel].to_crs(metric_crs_of(dep)).area.to_numpy() / 1e6
    return np.round(out, 4)


class CommuneList:
    """The etalab commune list (``etalab/communes.json``): current communes and where a former code went.

    A 2018 code maps to the current commune that holds its land (:meth:`current_of`), by these rules in order: it is
    a current commune itself; it is in :data:`UNLISTED_MERGES`; a delegated / associated commune row names its
    ``chefLieu``; a current commune lists it in its ``anciensCodes`` (former codes: mergers without delegated
    communes, e.g. 90073 Moval -> 90068 Meroux-Moval).
    """

    _ROWS: dict = {}  # parsed files by (path, size, mtime): a sweep of many builds parses the 8.6 MB file once

    def __init__(self, raw: Path):
        self.path = Path(raw) / "etalab" / "communes.json"
        stat = self.path.stat()
        key = (str(self.path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in self._ROWS:
            self._ROWS.clear()
            self._ROWS[key] = json.loads(self.path.read_text(encoding="utf-8"))
        self.rows = self._ROWS[key]  # shared, read only
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
    folder = Path(raw) / "france-geojson" / "departements"
    fileless = [c for c in foreign if next(folder.glob(f"{departement_of(c)}-*"), None) is None]
    if fileless:  # e.g. Corsica's pre-1976 codes (20xxx) in anciensCodes: département 20 has no polygon file
        log(f"{tag}: {len(fileless)} former codes of départements without a polygon file ({fileless[0]}...): "
            "renumbered communes, their land is in their current commune's polygon")
        foreign = [c for c in foreign if c not in fileless]
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


def share_polygons(current: dict[str, dict], mapped, log: Callable[[str], None], tag: str = "communes") -> dict:
    """Place the current communes of ``current`` that no polygon maps to (``mapped``: codes that have one) by the
    rule of :data:`RESTORED_COMMUNES`; returns ``{restored: holder}`` for those it placed (logged one by one).

    A restored commune whose holder has no polygon either is left out of the result (the caller reports it)."""
    placed = {}
    mapped = set(mapped)
    for code in sorted(set(current) - mapped):
        holder = RESTORED_COMMUNES.get(code)
        if holder is None or holder not in mapped:
            continue
        placed[code] = holder
        log(f"{tag}: {code} ({current[code]['nom']}, population {current[code]['population']}) was restored after "
            f"2018 and has no 2018 polygon of its own: it shares the polygon and demand point of {holder} "
            f"({current.get(holder, {}).get('nom', '?')}), the area split by population")
    return placed


def dissolve(poly: gpd.GeoDataFrame, current: dict[str, dict], codes, what: str,
             shared: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """One row per current commune of ``codes`` (sorted): its 2018 polygons (``poly.current == code``) dissolved.

    Returns the COMMUNES schema (EPSG:4326): ``code``, ``name``, ``departement``, ``population`` (inhabitants),
    ``area_km2`` (km², in the metric CRS of the département), ``point_lon``, ``point_lat`` (degrees,
    :func:`demand_point`), geometry. ``what`` names the source in errors. ``shared`` (``{restored: holder}``, see
    :func:`share_polygons`): those communes take their holder's polygon and demand point, and the group's area is
    split in proportion to population.
    """
    shared = dict(shared or {})
    records, geoms = [], {}
    poly_geoms = poly.geometry.to_numpy()
    rows_of = poly.groupby("current", sort=False).indices  # one pass, not one scan per commune (35,000 nationally)
    for code in sorted(codes):
        r = current[code]
        if code in shared:
            continue
        parts = list(poly_geoms[rows_of[code]]) if code in rows_of else []
        geom = _polygonal(shapely.union_all([shapely.make_valid(g) for g in parts]), f"{what} commune {code}")
        lon, lat = demand_point(geom, metric_crs_of(r["departement"]))
        geoms[code] = (geom, lon, lat)
    for code in sorted(codes):
        r = current[code]
        geom, lon, lat = geoms[shared.get(code, code)]
        records.append({"code": code, "name": r["nom"], "departement": r["departement"],
                        "population": int(r["population"]), "point_lon": lon, "point_lat": lat, "geometry": geom})
    gdf = gpd.GeoDataFrame(records, geometry="geometry", crs=STORAGE_CRS)
    area = area_km2(gdf)
    if shared:
        group = gdf["code"].map(lambda c: shared.get(c, c))
        pop = gdf["population"].astype(float)
        total = pop.groupby(group).transform("sum")
        size = pop.groupby(group).transform("size")
        share = np.where(total > 0, pop / total.where(total > 0, 1.0), 1.0 / size)
        area = np.round(area * share, 4)  # share is 1 outside the groups
    gdf.insert(4, "area_km2", area)
    gdf["population"] = gdf["population"].astype("int64")
    return gdf


def build(area: StudyArea, out: Path, log: Callable[[str], None] = print) -> gpd.GeoDataFrame:
    """Build ``out/communes/communes.geojson``, ``outline.geojson`` and ``manifest.json``.

    Parameters
    ----------
    area : StudyArea
        The départements studied and the raw sources folder (``etalab/``, ``france-geojson/``).
    out : Path
        Output study folder; files go to ``out/communes/``.
    log : callable
        Receives one human-readable line per step.

    Returns
    -------
    geopandas.GeoDataFrame
        The communes (EPSG:4326): ``code``, ``name``, ``departement``, ``population`` (inhabitants),
        ``area_km2`` (km², metric CRS of the département), ``point_lon``, ``point_lat`` (degrees), geometry.
    """
    raw, out = Path(area.raw), Path(out)
    codes = list(area.codes)
    deps_text = ", ".join(codes)
    clist = CommuneList(raw)
    etalab_path = clist.path
    current = clist.of_departements(codes)
    empty = [c for c in codes if not any(r["departement"] == c for r in current.values())]
    if empty:
        raise BuildError(f"{etalab_path}: no commune-actuelle for département {', '.join(empty)}")
    source_total = check_populations(current, etalab_path)
    log(f"communes: {etalab_path.name}: {len(current)} current communes of {deps_text}, population {source_total}")

    paths = [_communes_file(raw, dep) for dep in codes]
    where = ", ".join(str(p) for p in paths)
    poly = polygons_2018(raw, clist, codes, current, log)
    orphans = poly[~poly["current"].isin(list(current))]
    if len(orphans):
        raise BuildError(f"{where}: 2018 polygons map to no current commune of {deps_text}: "
                         + ", ".join(f"{c} ({n})" for c, n in zip(orphans["code"], orphans["nom"])))
    merged = poly[poly["code"] != poly["current"]].sort_values("code")
    for old, new, name in zip(merged["code"], merged["current"], merged["nom"]):
        log(f"communes: merge {old} ({name}) -> {new} ({current[new]['nom']})")
    shared = share_polygons(current, poly["current"], log)
    missing = sorted(set(current) - set(poly["current"]) - set(shared))
    if missing:
        raise BuildError(f"{where}: current communes without any polygon: "
                         + ", ".join(f"{c} ({current[c]['nom']})" for c in missing))

    invalid = poly[~poly.geometry.is_valid]
    if len(invalid):
        log(f"communes: {len(invalid)} source polygons invalid, repaired with make_valid: {sorted(invalid['code'])}")
    gdf = dissolve(poly, current, current, where, shared)

    total = int(gdf["population"].sum())
    if total != source_total or len(gdf) != len(current):
        raise BuildError(f"communes: built {len(gdf)} communes / population {total}, source has "
                         f"{len(current)} / {source_total}")
    multi = int((gdf.geom_type == "MultiPolygon").sum())
    log(f"communes: {len(gdf)} communes written ({multi} MultiPolygon), {len(merged)} merges, "
        + (f"{len(shared)} sharing a polygon, " if shared else "")
        + f"population {total} (= source), area {gdf['area_km2'].sum():.1f} km²")

    outline = outline_of(gdf, area)
    for r in outline.itertuples():
        km2 = float(area_km2(outline.assign(departement=outline["code"]).iloc[[r.Index]])[0])
        log(f"communes: outline {r.code} ({r.name}) {r.geometry.geom_type}, {km2:.1f} km²")

    folder = out / "communes"
    folder.mkdir(parents=True, exist_ok=True)
    _write_geojson(gdf, folder / "communes.geojson")
    _write_geojson(outline, folder / "outline.geojson")
    manifest = {
        "departement": ",".join(codes),
        "sources": {"etalab": "etalab/communes.json (@etalab/decoupage-administratif 6.0.0)",
                    "polygons": ", ".join(f"france-geojson/departements/.../{p.name}" for p in paths)
                    + " (IGN ADMIN EXPRESS 2018)"},
        "source_communes": len(current),
        "source_population": source_total,
        "polygons_2018": int(len(poly)),
        "merges": {old: new for old, new in zip(merged["code"], merged["current"])},
        "communes": int(len(gdf)),
        "population": total,
    }
    if shared:
        manifest["shared_polygons"] = shared
    write_manifest(folder, manifest)
    return gdf


def outline_of(communes: gpd.GeoDataFrame, area: StudyArea) -> gpd.GeoDataFrame:
    """The study outline: one row per département (``code``, ``name``), the union of its commune polygons."""
    names = departement_names(area.raw)
    rows = []
    for code in area.codes:
        geoms = communes.geometry[communes["departement"] == code].values
        rows.append({"code": code, "name": names[code],
                     "geometry": _polygonal(shapely.union_all(geoms), f"outline of {code}")})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


def write_manifest(folder: Path, manifest: dict) -> None:
    """``folder/manifest.json``: indented JSON, keys in insertion order, UTF-8, final newline (atomic)."""
    write_text(folder / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GeoJSON written deterministically (pyogrio, no timestamp) and atomically; replaces ``path``."""
    from fsgeo.atomic import atomic_path

    with atomic_path(path) as tmp:
        gdf.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "NO", "WRITE_NAME": "NO"})
