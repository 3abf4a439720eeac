"""National inputs for ``bench/bench_france.py``, assembled with fsgeo's own build functions from the raw sources.

This is a stand-in until ``fsgeo build --france`` exists: it reuses ``fsgeo.build_data`` (commune polygons of
2018 dissolved into current communes, the ANCT list, the Travel Mapping network builder) for the whole of France and
caches the result under ``--cache`` (default ``$TMPDIR/fsgeo-france``). Not committed: tens of MB.

- communes: every current commune of the COG (etalab) with its population; those of the départements whose 2018
  polygons are all present are dissolved as in a département build; a current commune with no 2018 polygon of its
  own (restored after 2018) is listed with its population, and a demand point at its former parent's, and logged;
- sites: all 2,845 structures of the ANCT list;
- network: every ``fra*`` Travel Mapping system (``active``/``preview``), route files looked up whatever their
  case, clipped to nothing (the whole of France); the builder keeps its largest connected component: the mainland
  (Corsica's roads form their own graph, left out here: its communes are reported off the network).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

RAW_DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "raw"
CACHE_DEFAULT = Path(tempfile.gettempdir()) / "fsgeo-france"


def _class_of(system: str) -> str:
    if system in ("fraa",):
        return "motorway"
    if system == "frasf":
        return "expressway"
    if system in ("fran", "fracort"):
        return "trunk"
    return "metropolitan" if re.match(r"^fra[a-z]{3}m", system) else "departementale"


def build_network(raw: Path, out: Path, log=print) -> Path:
    """Mainland Travel Mapping network of France (every ``fra*`` system) as ``out/network/haute-saone.gpkg``."""
    from fsgeo.build_data import network as netbuild
    from fsgeo.build_data import travelmapping

    target = out / "network" / netbuild.FILE_NAME
    if target.exists():
        return target

    class AnyCase(travelmapping.HighwayData):
        def read_text(self, name):
            if name not in self._files:
                lower = {k.lower(): k for k in self._files}
                name = lower.get(name.lower(), name)
            return super().read_text(name)

    def select_all(systems, departements, log):
        return {name: _class_of(name) for name, s in sorted(systems.items())
                if name.startswith("fra") and s.level in netbuild.LEVELS}

    saved = netbuild.select_systems, netbuild.HighwayData
    netbuild.select_systems, netbuild.HighwayData = select_all, AnyCase
    try:
        # the whole country: any département's outline with a margin wider than France
        netbuild.build(raw, out, log, departement="70", neighbours=(), margin_m=2_000_000.0)
    finally:
        netbuild.select_systems, netbuild.HighwayData = saved
    return target


def build_communes(raw: Path, out: Path, log=print) -> Path:
    """Every current commune of France (COMMUNES schema) as ``out/communes/communes.geojson``."""
    from fsgeo.build_data import communes as cb

    target = out / "communes" / "communes.geojson"
    if target.exists():
        return target
    clist = cb.CommuneList(raw)
    current = clist.current
    deps = sorted({r["departement"] for r in current.values()})
    frames = []
    for dep in deps:
        try:
            path = cb._communes_file(raw, dep)
        except FileNotFoundError:
            log(f"communes: {dep}: no polygon file")
            continue
        poly = cb._read_polygons(path)
        frames.append(poly.assign(source=path.name))
    poly = pd.concat(frames, ignore_index=True)
    poly["current"] = [clist.current_of(c) for c in poly["code"]]
    have = set(poly["current"].dropna())
    with_poly = sorted(c for c in current if c in have)
    gdf = cb.dissolve(poly, current, with_poly, "france-geojson")
    missing = sorted(set(current) - have)
    extra = []
    for code in missing:
        r = current[code]
        # restored after 2018: its land is inside its former parent's 2018 polygon; use that commune's point
        owner = poly.loc[poly["code"] == code, "current"]
        parent = owner.iat[0] if len(owner) else None
        row = gdf[gdf["code"] == parent] if parent else gdf.iloc[:0]
        if not len(row):
            log(f"communes: {code} ({r['nom']}, {r['population']} inhabitants): no polygon and no parent found")
            continue
        log(f"communes: {code} ({r['nom']}) has no 2018 polygon of its own: demand point of {parent}")
        extra.append({"code": code, "name": r["nom"], "departement": r["departement"],
                      "population": int(r["population"]), "area_km2": 0.0,
                      "point_lon": float(row["point_lon"].iat[0]), "point_lat": float(row["point_lat"].iat[0]),
                      "geometry": row.geometry.iat[0]})
    if extra:
        gdf = pd.concat([gdf, gpd.GeoDataFrame(extra, geometry="geometry", crs=gdf.crs)], ignore_index=True)
    gdf = gdf.sort_values("code").reset_index(drop=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    cb._write_geojson(gdf, target)
    total = sum(r["population"] for r in current.values())
    log(f"communes: {len(gdf)} of {len(current)} current communes, population {int(gdf['population'].sum())} of "
        f"{total}")
    return target


def build_sites(raw: Path, out: Path, log=print) -> Path:
    """All structures of the ANCT list as ``out/sites.geojson``."""
    from fsgeo.build_data.sites import ANCT_FILE, to_geojson_text
    from fsgeo.io import read_anct_csv

    target = out / "sites.geojson"
    if target.exists():
        return target
    sites = read_anct_csv(raw / ANCT_FILE, departement="__none__")
    sites["in_departement"] = True
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_geojson_text(sites), encoding="utf-8")
    log(f"sites: {len(sites)} structures")
    return target


def build_departements(raw: Path, out: Path, log=print) -> Path:
    """``out/departements.csv``: ``code``, ``name``, ``region`` of every département (etalab)."""
    target = out / "departements.csv"
    if target.exists():
        return target
    rows = json.loads((raw / "etalab" / "departements.json").read_text(encoding="utf-8"))
    frame = pd.DataFrame({"code": [r["code"] for r in rows], "name": [r["nom"] for r in rows],
                          "region": [r.get("region", "") for r in rows]})
    frame.to_csv(target, index=False)
    return target


def france(raw: Path | None = None, cache: Path | None = None, log=print) -> dict:
    """Paths of the national communes, sites and network (built once, then read from the cache), and build times."""
    raw = Path(raw or RAW_DEFAULT).resolve()
    cache = Path(cache or CACHE_DEFAULT)
    cache.mkdir(parents=True, exist_ok=True)
    times = {}
    quiet = (lambda msg: None)
    paths = {}
    for key, fn in (("departements", build_departements), ("communes", build_communes), ("sites", build_sites),
                    ("network", build_network)):
        t0 = time.perf_counter()
        paths[key] = fn(raw, cache, log if key != "network" else quiet)
        times[key] = time.perf_counter() - t0
    (cache / "build_times.json").write_text(json.dumps({k: round(v, 1) for k, v in times.items()}))
    return paths
