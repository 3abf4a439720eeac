"""Build ``sites.geojson`` of a study from the ANCT list of France Services structures (1 August 2024).

Keeps every structure of the studied départements, plus the structures of every other département (neighbour or
not: Haut-Rhin's come within 25 km of Haute-Saône without sharing a boundary) whose point lies within
``StudyArea.site_margin_m`` of the study area's boundary (a border commune may be closest to one of them), flagged
``in_departement: false``. Distances are measured in the study's metric CRS against the france-geojson outlines.
The file is written by hand (one feature per line, fixed key order, sorted rows) so the same inputs give the same
bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from fsgeo.atomic import write_bytes
from fsgeo.build_data import StudyArea, cached
from fsgeo.io import SITE_COLUMNS, read_anct_csv

ANCT_FILE = Path("anct") / "liste-fs-20240801.csv"


def _read_anct(path: Path) -> gpd.GeoDataFrame:
    # every row of the ANCT list names its département; ``in_departement`` is set by the build from the study's codes
    return read_anct_csv(path)


def select_sites(area: StudyArea, log: Callable[[str], None] = print) -> gpd.GeoDataFrame:
    """The structures of the study (SITES schema, EPSG:4326), sorted by département then numeric id."""
    path = Path(area.raw) / ANCT_FILE
    codes = list(area.codes)
    deps_text = ", ".join(codes)
    margin_km = f"{area.site_margin_m / 1000:g} km"
    sites = cached(path, _read_anct).copy()
    sites.attrs = dict(sites.attrs)
    kinds = Counter(sites["kind"])
    log(f"sites: {path.name}: {len(sites)} structures in France ({kinds['principal']} principal, "
        f"{kinds['antenna']} antennas)")

    outline = area.outline_metric()
    metric = sites.geometry.to_crs(area.metric_crs)
    # 0 inside the outline, else metres to its boundary
    dist = np.asarray(metric.distance(outline), dtype=float)
    sites["dist_m"] = dist
    dep = sites["departement"]
    mine = dep.isin(codes)

    own = sites[mine]
    k = Counter(own["kind"])
    log(f"sites: département {deps_text}: {len(own)} structures ({k['principal']} principal, "
        f"{k['antenna']} antenna(s))")
    for code in codes:
        if not (dep == code).any():
            log(f"sites: note: département {code} has no structure in {path.name}")
    outside = own[own["dist_m"] > 0]
    for r in outside.itertuples():
        log(f"sites: note: {r.id} {r.name!r} lies {r.dist_m:.0f} m outside the simplified outline (kept)")

    near = dist <= area.site_margin_m
    others = sorted(set(dep[near & ~mine]), key=lambda c: (c not in area.neighbours, c))
    for code in [*area.neighbours, *[c for c in others if c not in area.neighbours]]:
        in_dep = dep == code
        kept = int((in_dep & near).sum())
        what = "" if code in area.neighbours else " (not a neighbouring département)"
        log(f"sites: département {code}{what}: {kept} of {int(in_dep.sum())} structures within "
            f"{margin_km} of the boundary kept; {int((in_dep & ~near).sum())} farther dropped")
    for r in sites[near & ~mine & ~dep.isin(area.neighbours)].itertuples():
        log(f"sites: kept: {r.id} {r.name!r} (département {r.departement}, not a neighbour) is "
            f"{r.dist_m / 1000:.1f} km from the boundary")
    log(f"sites: dropped: {int((~mine & ~near).sum())} structures of other départements farther than {margin_km} "
        "from the boundary")

    out = sites[mine | near].copy()
    out["in_departement"] = out["departement"].isin(codes)
    out["_order"] = out["id"].astype(int)
    out = out.sort_values(["departement", "_order"], kind="stable").drop(columns=["_order", "dist_m"])
    out = out.reset_index(drop=True)

    matches = {m["id"]: m for m in sites.attrs.get("antenna_matches", [])}
    kept_ids = set(out["id"])
    ant = out[out["kind"] == "antenna"]
    with_parent = ant["parent_id"].notna()
    log(f"sites: antennas kept: {len(ant)}, {int(with_parent.sum())} with a parent principal space, "
        f"{int((~with_parent).sum())} without")
    for r in ant.itertuples():
        m = matches.get(r.id, {})
        if r.parent_id is None or pd.isna(r.parent_id):
            log(f"sites: antenna {r.id} {r.name!r}: no parent ({m.get('reason', 'no match')})")
        else:
            where = "" if r.parent_id in kept_ids else " (parent not in the file: beyond the margin)"
            log(f"sites: antenna {r.id} {r.name!r} -> parent {r.parent_id} by {m.get('method', '?')}{where}")
    log(f"sites: kept {len(out)} structures: {int(out['in_departement'].sum())} in {deps_text}, "
        f"{int((~out['in_departement']).sum())} in other départements")
    return out


def to_geojson_text(sites: gpd.GeoDataFrame) -> str:
    """Deterministic GeoJSON text: one feature per line, properties in SITE_COLUMNS order, shortest float repr."""
    lines = []
    for row in sites.itertuples(index=False):
        props = {}
        for c in SITE_COLUMNS:
            v = getattr(row, c)
            if v is None or (isinstance(v, float) and np.isnan(v)):
                v = None
            elif isinstance(v, (np.bool_, bool)):
                v = bool(v)
            elif isinstance(v, (np.floating, float)):
                v = float(v)
            props[c] = v
        geom = {"type": "Point", "coordinates": [float(row.geometry.x), float(row.geometry.y)]}
        feat = {"type": "Feature", "properties": props, "geometry": geom}
        lines.append(json.dumps(feat, ensure_ascii=False, separators=(",", ":")))
    head = ('{"type":"FeatureCollection","name":"sites",'
            '"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},\n"features":[\n')
    return head + ",\n".join(lines) + "\n]}\n"


def build(area: StudyArea, out: Path, log: Callable[[str], None] = print) -> Path:
    """Write ``out/sites.geojson`` (see module docstring); returns its path."""
    sites = select_sites(area, log)
    target = Path(out) / "sites.geojson"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(target, to_geojson_text(sites).encode("utf-8"))
    log(f"sites: wrote {target} ({len(sites)} features)")
    return target
