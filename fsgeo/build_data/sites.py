"""Build ``data/sites.geojson`` from the ANCT list of France Services structures (1 August 2024).

Keeps every structure of the département, plus the structures of its neighbouring départements whose point lies
within ``SITE_MARGIN_M`` of the département's boundary (a border commune may be closest to one of them), flagged
``in_departement: false``. Distances are measured in Lambert-93 against the france-geojson outline. The file is
written by hand (one feature per line, fixed key order, sorted rows) so the same inputs give the same bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from fsgeo.build_data import DEPARTEMENT, METRIC_CRS, NEIGHBOURS, SITE_MARGIN_M, raw_departement_outline
from fsgeo.io import SITE_COLUMNS, read_anct_csv

ANCT_FILE = Path("anct") / "liste-fs-20240801.csv"


def select_sites(raw: Path, log: Callable[[str], None] = print) -> gpd.GeoDataFrame:
    """The structures to embed (SITES schema, EPSG:4326), sorted by département then numeric id."""
    raw = Path(raw)
    path = raw / ANCT_FILE
    sites = read_anct_csv(path, departement=DEPARTEMENT)
    kinds = Counter(sites["kind"])
    log(f"sites: {path.name}: {len(sites)} structures in France ({kinds['principal']} principal, "
        f"{kinds['antenna']} antennas)")

    outline = raw_departement_outline(raw).to_crs(METRIC_CRS).union_all()
    metric = sites.geometry.to_crs(METRIC_CRS)
    # 0 inside the outline, else metres to its boundary
    dist = np.asarray(metric.distance(outline), dtype=float)
    sites["dist_m"] = dist
    dep = sites["departement"]

    own = sites[dep == DEPARTEMENT]
    k = Counter(own["kind"])
    log(f"sites: département {DEPARTEMENT}: {len(own)} structures ({k['principal']} principal, "
        f"{k['antenna']} antenna(s))")
    outside = own[own["dist_m"] > 0]
    for r in outside.itertuples():
        log(f"sites: note: {r.id} {r.name!r} lies {r.dist_m:.0f} m outside the simplified outline (kept)")

    near = dist <= SITE_MARGIN_M
    for code in NEIGHBOURS:
        in_dep = dep == code
        kept = int((in_dep & near).sum())
        log(f"sites: département {code}: {kept} of {int(in_dep.sum())} structures within "
            f"{SITE_MARGIN_M / 1000:g} km of the boundary kept; {int((in_dep & ~near).sum())} farther dropped")
    others = sites[near & ~dep.isin([DEPARTEMENT, *NEIGHBOURS])]
    for r in others.itertuples():
        log(f"sites: dropped: {r.id} {r.name!r} (département {r.departement}) is {r.dist_m / 1000:.1f} km from the "
            f"boundary but its département is not a neighbour of {DEPARTEMENT}")
    far = (dep != DEPARTEMENT) & ~(near & dep.isin(NEIGHBOURS))
    log(f"sites: dropped: {int(far.sum())} structures of other départements (not neighbours of {DEPARTEMENT}, "
        f"or farther than {SITE_MARGIN_M / 1000:g} km from its boundary)")

    keep = (dep == DEPARTEMENT) | (dep.isin(NEIGHBOURS) & near)
    out = sites[keep].copy()
    out["in_departement"] = out["departement"] == DEPARTEMENT
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
    log(f"sites: kept {len(out)} structures: {int(out['in_departement'].sum())} in {DEPARTEMENT}, "
        f"{int((~out['in_departement']).sum())} in neighbouring départements")
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


def build(raw: Path, out: Path, log: Callable[[str], None] = print) -> Path:
    """Write ``out/sites.geojson`` (see module docstring); returns its path."""
    sites = select_sites(raw, log)
    target = Path(out) / "sites.geojson"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(to_geojson_text(sites).encode("utf-8"))
    log(f"sites: wrote {target} ({len(sites)} features)")
    return target
