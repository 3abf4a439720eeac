"""Communes of the neighbouring départements near the département: the demand outside the study area.

The sites of neighbouring départements also serve their own inhabitants; a floating-catchment method that ignored
them would share those sites' supply among a few border villages only (``fsgeo.accessibility``). This step keeps
the current communes of the neighbouring départements (``NEIGHBOURS``) whose territory comes within
``NETWORK_MARGIN_M`` (Lambert-93) of the département outline, the same outline and margin as the network clip.

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

from fsgeo.build_data import DEPARTEMENT, METRIC_CRS, NEIGHBOURS, NETWORK_MARGIN_M, raw_departement_outline
from fsgeo.build_data.communes import (
    BuildError,
    CommuneList,
    _write_geojson,
    check_populations,
    dissolve,
    polygons_2018,
    write_manifest,
)

FILE_NAME = "neighbours.geojson"


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km"


def select_neighbours(raw: Path, log: Callable[[str], None] = print, departements=NEIGHBOURS,
                      margin_m: float = NETWORK_MARGIN_M) -> tuple[gpd.GeoDataFrame, dict]:
    """The neighbouring communes within ``margin_m`` metres of the département outline, and their manifest entry.

    Parameters
    ----------
    raw : Path
        Raw sources folder.
    log : callable
        Receives one human-readable line per step.
    departements : sequence of str
        Neighbouring départements.
    margin_m : float
        Margin around the outline, metres (Lambert-93).

    Returns
    -------
    communes : geopandas.GeoDataFrame
        COMMUNES schema (EPSG:4326), sorted by code.
    manifest : dict
        Counts and totals (written under ``neighbours`` in ``manifest.json``).
    """
    raw = Path(raw)
    departements = tuple(departements)
    clist = CommuneList(raw)
    current = clist.of_departements(departements)
    deps_text = ", ".join(departements)
    log(f"neighbours: {clist.path.name}: {len(current)} current communes of {deps_text}")

    poly = polygons_2018(raw, clist, departements, current, log, tag="neighbours")
    outline = raw_departement_outline(raw).to_crs(METRIC_CRS).union_all()
    shapely.prepare(outline)
    metric = poly.geometry.to_crs(METRIC_CRS)
    poly["dist_m"] = np.asarray(shapely.distance(outline, metric.values), dtype=float)
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
        where = (f"in communes.geojson (département {DEPARTEMENT})" if dep == DEPARTEMENT
                 else f"département {dep} is not a neighbour, not kept")
        log(f"neighbours: 2018 polygon {r.code} ({r.nom}) belongs to {r.current} ({clist.current[r.current]['nom']}), "
            f"{where}; {_km(r.dist_m)} from the outline")
    mapped = poly[poly["current"].isin(list(current))]

    # a current commune with no polygon cannot be placed: within the margin or not, nobody can tell
    missing = sorted(set(current) - set(mapped["current"]))
    for code in missing:
        log(f"neighbours: ERROR: current commune {code} ({current[code]['nom']}) has no 2018 polygon: cannot be "
            "placed, so cannot tell whether it is within the margin")
    if missing:
        raise BuildError(f"{clist.path}: current communes of {deps_text} without any 2018 polygon (cannot tell "
                         "whether they are within the margin): "
                         + ", ".join(f"{c} ({current[c]['nom']})" for c in missing))

    kept_codes = sorted(set(mapped.loc[near.loc[mapped.index], "current"]))
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

    gdf = dissolve(kept_poly, kept_current, kept_codes, "neighbours")
    # kept whole: a commune whose territory crosses the margin line (farthest vertex beyond it)
    far = np.array([float(shapely.distance(outline, shapely.points(shapely.get_coordinates(g))).max())
                    for g in gdf.to_crs(METRIC_CRS).geometry])
    straddle = int((far > margin_m).sum())
    touching = int((np.asarray(shapely.distance(outline, gdf.to_crs(METRIC_CRS).geometry.values)) == 0).sum())
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

    _log_other_departements(raw, outline, departements, margin_m, log)
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


def _log_other_departements(raw: Path, outline, departements, margin_m: float, log) -> None:
    """Name the départements other than the neighbours that also come within the margin (their communes are not
    kept: the embedded sites and network stop at the neighbours)."""
    path = raw / "france-geojson" / "departements.geojson"
    if not path.is_file():
        log(f"neighbours: {path.name} absent: other départements within the margin not checked")
        return
    deps = gpd.read_file(path).to_crs(METRIC_CRS)
    deps["code"] = deps["code"].astype(str)
    dist = np.asarray(shapely.distance(outline, deps.geometry.values), dtype=float)
    for code, name, d in sorted(zip(deps["code"], deps["nom"], dist)):
        if code != DEPARTEMENT and code not in departements and d <= margin_m:
            log(f"neighbours: note: département {code} ({name}) comes {_km(d)} from the outline but is not a "
                "neighbour: its communes are not included (no sites or routes départementales of it embedded)")


def build(raw: Path, out: Path, log: Callable[[str], None] = print) -> gpd.GeoDataFrame:
    """Write ``out/communes/neighbours.geojson`` and add its entry to ``out/communes/manifest.json``.

    The communes step must have run first (it writes the manifest). Returns the communes written.
    """
    gdf, entry = select_neighbours(raw, log)
    folder = Path(out) / "communes"
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: run the communes step first (fsgeo.build_data.communes.build)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["neighbours"] = entry
    target = folder / FILE_NAME
    _write_geojson(gdf, target)
    write_manifest(folder, manifest)
    log(f"neighbours: wrote {target} ({len(gdf)} features, {target.stat().st_size / 1e6:.2f} MB)")
    return gdf
