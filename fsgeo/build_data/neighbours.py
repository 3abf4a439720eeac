"""Communes of the neighbouring départements near the département: the demand outside the study area.

The sites of neighbouring départements also serve their own inhabitants; a floating-catchment method that ignored
them would share those sites' supply among a few border villages only (``fsgeo.accessibility``). This step keeps
the current communes of the neighbouring départements (``StudyArea.neighbours``, derived from the outlines) whose
territory comes within ``StudyArea.neighbour_communes_margin_m`` (the network's margin, in the study's metric CRS) of
the study outline, the same outline and margin as the network clip.

Same sources and method as :mod:`fsgeo.build_data.communes`: the 2018 polygons of the neighbouring départements are
mapped to current communes (``chefLieu``, ``anciensCodes``; e.g. 90073 Moval -> 90068 Meroux-Moval) and dissolved;
demand points are computed the same way. A commune is kept whole when any of its polygons is within the margin
(its territory may straddle the line). Rules (nothing dropped silently):

- a 2018 polygon that maps to no current commune is an error if it is within the margin, else logged;
- a polygon that now belongs to a commune outside the neighbouring départements is logged with its owner;
- a current commune without any 2018 polygon cannot be placed, so nobody can tell whether it is within the margin:
  an error;
- a kept commune without a population (int >= 0) is an error.

Output: ``out/communes/neighbours.geojson`` (COMMUNES schema, EPSG:4326) and a ``neighbours`` entry in
``out/communes/manifest.json`` (written by the communes step first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import shapely

from fsgeo.build_data import StudyArea, read_departements
from fsgeo.build_data.communes import (
    BuildError,
    CommuneList,
    _write_geojson,
    check_populations,
    dissolve,
    polygons_2018,
    share_polygons,
    write_manifest,
)

FILE_NAME = "neighbours.geojson"


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km"


def select_neighbours(area: StudyArea, log: Callable[[str], None] = print) -> tuple[gpd.GeoDataFrame, dict]:
    """The neighbouring communes within the margin of the study outline, and their manifest entry.

    Parameters
    ----------
    area : StudyArea
        The study: its neighbours, outline, margin (``neighbour_communes_margin_m``, metres in its metric CRS) and
        raw sources folder.
    log : callable
        Receives one human-readable line per step.

    Returns
    -------
    communes : geopandas.GeoDataFrame
        COMMUNES schema (EPSG:4326), sorted by code.
    manifest : dict
        Counts and totals (written under ``neighbours`` in ``manifest.json``).
    """
    raw = Path(area.raw)
    departements = tuple(area.neighbours)
    margin_m = area.neighbour_communes_margin_m
    metric = area.metric_crs
    clist = CommuneList(raw)
    current = clist.of_departements(departements)
    deps_text = ", ".join(departements)
    log(f"neighbours: {clist.path.name}: {len(current)} current communes of {deps_text}")

    poly = polygons_2018(raw, clist, departements, current, log, tag="neighbours")
    outline = area.outline_metric()
    shapely.prepare(outline)
    poly["dist_m"] = np.asarray(shapely.distance(outline, poly.geometry.to_crs(metric).values), dtype=float)
    near = poly["dist_m"] <= margin_m

    # polygons that map to nothing: their land cannot be given to anyone
    lost = poly[poly["current"].isna()]
    for r in lost.itertuples():
        log(f"neighbours: 2018 polygon {r.code} ({r.nom}, {r.source}) maps to no current commune, "
            f"{_km(r.dist_m)} from the outline: " + ("ERROR, within the margin" if r.dist_m <= margin_m
                                                    else "beyond the margin, not needed"))
    lost_near = lost[lost["dist_m"] <= margin_m]
    if len(lost_near):
        raise BuildError(f"{clist.path}: 2018 polygons within {_km(margin_m)} of the outline map to no current "
                         "commune: " + ", ".join(f"{c} ({n}, {s})" for c, n, s in
                                                 zip(lost_near["code"], lost_near["nom"], lost_near["source"])))
    # polygons whose land now belongs to a commune of another département
    elsewhere = poly[poly["current"].notna() & ~poly["current"].isin(list(current))]
    for r in elsewhere.itertuples():
        dep = clist.current[r.current].get("departement")
        where = (f"in communes.geojson (département {dep})" if dep in area.codes
                 else f"département {dep} is not a neighbour, not kept")
        log(f"neighbours: 2018 polygon {r.code} ({r.nom}) belongs to {r.current} ({clist.current[r.current]['nom']}), "
            f"{where}; {_km(r.dist_m)} from the outline")
    mapped = poly[poly["current"].isin(list(current))]

    # a current commune with no polygon cannot be placed: within the margin or not, nobody can tell (except the
    # communes restored after 2018, which share their holder's polygon)
    shared = share_polygons(current, mapped["current"], log, tag="neighbours")
    missing = sorted(set(current) - set(mapped["current"]) - set(shared))
    for code in missing:
        log(f"neighbours: ERROR: current commune {code} ({current[code]['nom']}) has no 2018 polygon: cannot be "
            "placed, so cannot tell whether it is within the margin")
    if missing:
        raise BuildError(f"{clist.path}: current communes of {deps_text} without any 2018 polygon (cannot tell "
                         "whether they are within the margin): "
                         + ", ".join(f"{c} ({current[c]['nom']})" for c in missing))

    kept_codes = set(mapped.loc[near.loc[mapped.index], "current"])
    kept_codes = sorted(kept_codes | {c for c, holder in shared.items() if holder in kept_codes})
    shared = {c: h for c, h in shared.items() if c in kept_codes}
    kept_current = {c: current[c] for c in kept_codes}
    check_populations(kept_current, clist.path)
    kept_poly = mapped[mapped["current"].isin(kept_codes)]

    merged = kept_poly[kept_poly["code"] != kept_poly["current"]].sort_values("code")
    for old, new, name, dist in zip(merged["code"], merged["current"], merged["nom"], merged["dist_m"]):
        log(f"neighbours: merge {old} ({name}) -> {new} ({current[new]['nom']}), {_km(dist)} from the outline")
    other_merges = int((mapped["code"] != mapped["current"]).sum()) - len(merged)
    log(f"neighbours: {other_merges} other 2018 polygons merged into communes beyond the margin (not kept)")
    invalid = kept_poly[~kept_poly.geometry.is_valid]
    if len(invalid):
        log(f"neighbours: {len(invalid)} source polygons invalid, repaired with make_valid: "
            f"{sorted(invalid['code'])}")

    gdf = dissolve(kept_poly, kept_current, kept_codes, "neighbours", shared)
    # kept whole: a commune whose territory crosses the margin line (farthest vertex beyond it)
    far = np.array([float(shapely.distance(outline, shapely.points(shapely.get_coordinates(g))).max())
                    for g in gdf.to_crs(metric).geometry])
    straddle = int((far > margin_m).sum())
    touching = int((np.asarray(shapely.distance(outline, gdf.to_crs(metric).geometry.values)) == 0).sum())
    log(f"neighbours: {len(gdf)} communes within {_km(margin_m)} of the outline kept (of {len(current)}): "
        f"{touching} touch it, {straddle} straddle the {_km(margin_m)} line (kept whole)")
    by_dep = {}
    for dep in departements:
        sel = gdf[gdf["departement"] == dep]
        pop = int(sel["population"].sum())
        dep_total = sum(r.get("population") or 0 for r in current.values() if r.get("departement") == dep)
        by_dep[dep] = {"communes": int(len(sel)), "population": pop}
        log(f"neighbours: département {dep}: {len(sel)} communes kept, population {pop} "
            f"(of {dep_total} in the département)")
    total = int(gdf["population"].sum())
    multi = int((gdf.geom_type == "MultiPolygon").sum())
    log(f"neighbours: {len(gdf)} communes written ({multi} MultiPolygon), {len(merged)} merges, "
        f"population {total}, area {gdf['area_km2'].sum():.1f} km²")

    _log_other_departements(area, outline, log)
    manifest = {
        "departements": list(departements),
        "margin_m": margin_m,
        "source_communes": len(current),
        "polygons_2018": int(len(poly)),
        "merges": {old: new for old, new in zip(merged["code"], merged["current"])},
        "communes": int(len(gdf)),
        "population": total,
        "by_departement": by_dep,
    }
    return gdf, manifest


def _log_other_departements(area: StudyArea, outline, log) -> None:
    """Name the départements other than the neighbours that also come within the margin (their communes are not
    kept; their sites within the sites' margin are, see :mod:`fsgeo.build_data.sites`)."""
    path = Path(area.raw) / "france-geojson" / "departements.geojson"
    margin_m = area.neighbour_communes_margin_m
    if not path.is_file():
        log(f"neighbours: {path.name} absent: other départements within the margin not checked")
        return
    deps = read_departements(area.raw, area.metric_crs)
    dist = np.asarray(shapely.distance(outline, deps.geometry.values), dtype=float)
    for code, name, d in sorted(zip(deps["code"], deps["nom"], dist)):
        if code not in area.codes and code not in area.neighbours and d <= margin_m:
            log(f"neighbours: note: département {code} ({name}) comes {_km(d)} from the outline but is not a "
                "neighbour: its communes are not included; its roads and its sites within "
                f"{_km(area.site_margin_m)} are")


def build(area: StudyArea, out: Path, log: Callable[[str], None] = print) -> gpd.GeoDataFrame | None:
    """Write ``out/communes/neighbours.geojson`` and add its entry to ``out/communes/manifest.json``.

    The communes step must have run first (it writes the manifest). Returns the communes written, or None when the
    study has no neighbouring département (overseas, or all of France): no file is written then.
    """
    folder = Path(out) / "communes"
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: run the communes step first (fsgeo.build_data.communes.build)")
    if not area.neighbours:
        log("neighbours: no neighbouring département: no outside demand file")
        return None
    gdf, entry = select_neighbours(area, log)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["neighbours"] = entry
    target = folder / FILE_NAME
    _write_geojson(gdf, target)
    write_manifest(folder, manifest)
    log(f"neighbours: wrote {target} ({len(gdf)} features, {target.stat().st_size / 1e6:.2f} MB)")
    return gdf
