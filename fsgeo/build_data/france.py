"""The national study: every commune, every France services structure and the whole Travel Mapping network.

    python -m fsgeo.build_data.france --raw ../shared/data/raw --out france

Built with the same functions as a département study (commune polygons of 2018 dissolved into current communes,
demand points, the ANCT list, the Travel Mapping network builder), for all of France:

- ``communes/communes.geojson``: every current commune of the 101 départements (COG, etalab) with its INSEE
  population. A commune restored after 2018 has no polygon of its own: it shares the polygon (and demand point) of
  the commune of its département with the same postcode that holds its former land, and the log says so; its
  population is never dropped. Communes of the overseas collectivities (975, 977, 978, 984-989) are not départements
  and not in the study (logged with their population).
- ``sites.geojson``: all 2,845 structures of the ANCT list.
- ``network/france-mainland.gpkg`` and ``network/france-corse.gpkg``: every ``fra*`` Travel Mapping system
  (``active``/``preview``), one graph per landmass (the largest connected component of each). Travel Mapping has no
  routes overseas: the manifest lists 971-976 under ``network.no_network`` with the status "no road network: supply
  one" (an OpenStreetMap extract, ``--network FILE``); their communes and sites are in the study and are reported
  unreachable with that reason, never dropped. The communes on an island where a landmass's network has no road
  (Arz, Houat, Hœdic in Morbihan) are listed under ``network.islands_without_roads`` (and per landmass), as a
  département build lists them: national runs report them "island without roads" instead of routing them across
  the water.
- ``departements.csv`` (``code``, ``name``, ``region``), ``communes/outline.geojson`` and ``study.json``.

Not committed (about 100 MB); a few minutes to build.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

import geopandas as gpd
import pandas as pd
import shapely

from fsgeo.build_data import STORAGE_CRS

OVERSEAS = ("971", "972", "973", "974", "976")
NO_NETWORK_STATUS = ("no road network: supply one (Travel Mapping has no routes here; give an OpenStreetMap extract "
                     "with --network FILE)")
LANDMASSES = {"mainland": ("70", 2_000_000.0), "corse": ("2A", 120_000.0)}


def _class_of(system: str) -> str:
    if system == "fraa":
        return "motorway"
    if system == "frasf":
        return "expressway"
    if system in ("fran", "fracort"):
        return "trunk"
    return "metropolitan" if re.match(r"^fra[a-z]{3}m", system) else "departementale"


def build_network(raw: Path, out: Path, name: str, log: Callable[[str], None] = print) -> dict:
    """The Travel Mapping network of one landmass (every ``fra*`` system, route files found whatever their case),
    as ``out/network/france-<name>.gpkg``; returns ``{"name", "file", "nodes", "edges"}``."""
    from fsgeo.build_data import StudyArea
    from fsgeo.build_data import network as netbuild

    # route files are found whatever their case by HighwayData itself; every French system is read here
    def select_all(hd, area, log):
        return {s: _class_of(s) for s, info in sorted(hd.systems().items())
                if s.startswith("fra") and info.level in netbuild.LEVELS and hd.has(f"hwy_data/_systems/{s}.csv")}

    dep, margin = LANDMASSES[name]
    area = StudyArea.from_raw(raw, dep, lambda _: None, slug=f"france-{name}")
    area.neighbours, area.nearby, area.network_margin_m = (), (), margin
    saved = netbuild.select_systems
    netbuild.select_systems = select_all
    try:
        nodes, edges, _ = netbuild.build(area, out, log)
    finally:
        netbuild.select_systems = saved
    return {"name": name, "file": f"network/france-{name}.gpkg", "nodes": int(len(nodes)), "edges": int(len(edges))}


def build_communes(raw: Path, out: Path, log: Callable[[str], None] = print, codes=None) -> gpd.GeoDataFrame:
    """Every current commune of the départements (COMMUNES schema) as ``out/communes/communes.geojson``."""
    from fsgeo.build_data import communes as cb

    clist = cb.CommuneList(raw)
    current = {c: r for c, r in clist.current.items() if len(r["departement"]) == 2 or r["departement"] in OVERSEAS}
    if codes is not None:
        current = {c: r for c, r in current.items() if r["departement"] in set(codes)}
    other = {c: r for c, r in clist.current.items() if c not in current and not (
        codes is not None and (len(r["departement"]) == 2 or r["departement"] in OVERSEAS))}
    cb.check_populations(current, clist.path)
    if other:
        log(f"communes: {len(other)} communes of overseas collectivities (not départements) left out, "
            f"{sum(r.get('population') or 0 for r in other.values())} inhabitants: "
            + ", ".join(sorted({r['departement'] for r in other.values()})))
    deps = sorted({r["departement"] for r in current.values()})
    frames = []
    for dep in deps:
        path = cb._communes_file(raw, dep)
        frames.append(cb._read_polygons(path).assign(source=path.name))
    poly = pd.concat(frames, ignore_index=True)
    poly["current"] = [clist.current_of(c) for c in poly["code"]]
    orphans = poly[poly["current"].isna()]
    for code, nom in zip(orphans["code"], orphans["nom"]):
        log(f"communes: 2018 polygon {code} ({nom}) maps to no current commune: left out")
    have = set(poly["current"].dropna())
    gdf = cb.dissolve(poly, current, sorted(c for c in current if c in have), "france-geojson")
    missing = sorted(set(current) - have)
    by_postcode = defaultdict(list)
    for code in gdf["code"]:
        for pc in current[code].get("codesPostaux") or ():
            by_postcode[(current[code]["departement"], pc)].append(code)
    extra = []
    for code in missing:
        r = current[code]
        hosts = sorted({h for pc in r.get("codesPostaux") or () for h in by_postcode.get((r["departement"], pc), [])})
        if not hosts:
            raise cb.BuildError(f"communes: {code} ({r['nom']}, {r['population']} inhabitants) has no 2018 polygon "
                                "and no commune of its postcode to share one with")
        host = gdf[gdf["code"] == hosts[0]].iloc[0]
        log(f"communes: {code} ({r['nom']}, {r['population']} inhabitants) restored after 2018, no polygon of its "
            f"own: shares the polygon and demand point of {host['code']} ({host['name']}), same postcode")
        extra.append({"code": code, "name": r["nom"], "departement": r["departement"],
                      "population": int(r["population"]), "area_km2": 0.0, "point_lon": host["point_lon"],
                      "point_lat": host["point_lat"], "geometry": host.geometry})
    if extra:
        gdf = pd.concat([gdf, gpd.GeoDataFrame(extra, geometry="geometry", crs=gdf.crs)], ignore_index=True)
    gdf = gdf.sort_values("code").reset_index(drop=True)
    total = int(gdf["population"].sum())
    expected = sum(r["population"] for r in current.values())
    if len(gdf) != len(current) or total != expected:
        raise cb.BuildError(f"communes: built {len(gdf)} communes / {total} inhabitants, the COG has "
                            f"{len(current)} / {expected}")
    folder = out / "communes"
    folder.mkdir(parents=True, exist_ok=True)
    cb._write_geojson(gdf, folder / "communes.geojson")
    log(f"communes: {len(gdf)} communes of {len(deps)} départements, {total} inhabitants (= COG)")
    return gdf


def _study_area_api() -> bool:
    """Whether the build steps take a ``StudyArea`` (any département / list of départements)."""
    import fsgeo.build_data as bd

    return hasattr(bd, "StudyArea")


def france_area(raw: Path, codes, log: Callable[[str], None] = print, every_site: bool = False):
    """The :class:`~fsgeo.build_data.StudyArea` of the national study; ``every_site``: no site margin, every
    structure of the ANCT list is kept (see :func:`_build_with_study_area`)."""
    from fsgeo.build_data import StudyArea

    area = StudyArea.from_raw(raw, codes, log, name="France", slug="france")
    if every_site:
        area.site_margin_m = float("inf")
    return area


def _build_with_study_area(raw: Path, out: Path, codes, log, every_site: bool = False
                           ) -> tuple[gpd.GeoDataFrame, list[dict]]:
    """Communes, outline, sites and one network per landmass with the any-département build steps.

    ``every_site``: keep every structure of the ANCT list, also those of territories that are not départements
    (Saint-Martin, 978: no commune polygon, no network), which a margin around the départements would drop; the
    whole of France is then the list's 2,845 structures.
    """
    from fsgeo.build_data import StudyArea
    from fsgeo.build_data import communes as cb
    from fsgeo.build_data import network as nb
    from fsgeo.build_data import sites as sb

    area = france_area(raw, codes, log, every_site=every_site)
    communes = cb.build(area, out, log)
    sb.build(area, out, log)
    landmasses = []
    metro = [c for c in codes if c not in OVERSEAS]
    for name, part in (("mainland", [c for c in metro if c not in ("2A", "2B")]),
                       ("corse", [c for c in metro if c in ("2A", "2B")])):
        if not part:
            continue
        lm = StudyArea.from_raw(raw, part, log, name=f"France ({name})", slug=f"france-{name}")
        nodes, edges, info = nb.build(lm, out, log)
        # the communes on an island of this landmass's départements where its network has no road (Arz, Houat,
        # Hœdic in Morbihan), as a département build finds them (network.islands_without_roads)
        landmasses.append({"name": name, "file": f"network/france-{name}.gpkg", "nodes": int(len(nodes)),
                           "edges": int(len(edges)), "islands_without_roads": nb.islands_without_roads(lm, out, nodes,
                                                                                                      log)})
    return communes, landmasses


def build(raw: Path, out: Path, log: Callable[[str], None] = print, codes=None, *, demand_points=None,
          demand_method: str = "road-junction", demand_parts: str = "area",
          demand_split_population: int | None = None) -> Path:
    """Build the national study in ``out`` (see the module docstring); returns the manifest's path.

    ``codes`` restricts it to some départements (a small "France" for tests); default: all 101. ``demand_points``
    (a CSV, kept as given) and ``demand_method`` place the demand points as in a département build
    (:func:`fsgeo.build_data.demand.apply_to_study`, on the networks of every landmass); ``study.json`` records them.
    """
    from fsgeo.build_data import demand

    if demand_method not in demand.METHODS:
        raise ValueError(f"demand point method {demand_method!r}: expected one of {', '.join(demand.METHODS)}")
    demand.check_parts_basis(demand_parts)
    if demand_points is not None:
        demand.read_demand_points(demand_points, demand.arrondissements(raw))  # a bad file fails before the build
    from fsgeo import __version__
    from fsgeo.build_data import sites as sb
    from fsgeo.build_data.communes import _write_geojson
    from fsgeo.io import read_anct_csv
    from fsgeo.study import StudyManifest

    raw, out = Path(raw), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = json.loads((raw / "etalab" / "departements.json").read_text(encoding="utf-8"))
    deps = pd.DataFrame({"code": [r["code"] for r in rows], "name": [r["nom"] for r in rows],
                         "region": [r.get("region", "") for r in rows]})
    deps = deps[deps["code"].str.len().eq(2) | deps["code"].isin(OVERSEAS)].reset_index(drop=True)
    if codes is not None:
        deps = deps[deps["code"].isin(list(codes))].reset_index(drop=True)
    deps.to_csv(out / "departements.csv", index=False)

    if _study_area_api():
        communes, landmasses = _build_with_study_area(raw, out, deps["code"].tolist(), log,
                                                       every_site=codes is None)
        sites = gpd.read_file(out / "sites.geojson")
    else:
        communes = build_communes(raw, out, log, None if codes is None else deps["code"].tolist())
        outline_src = raw / "france-geojson" / "departements.geojson"
        outline_geom = shapely.union_all(gpd.read_file(outline_src).to_crs(STORAGE_CRS).geometry.make_valid().values)
        outline = gpd.GeoDataFrame({"code": ["france"], "name": ["France"]}, geometry=[outline_geom],
                                   crs=STORAGE_CRS)
        _write_geojson(outline, out / "communes" / "outline.geojson")
        sites = read_anct_csv(raw / sb.ANCT_FILE, departement="__none__")
        sites["in_departement"] = True
        (out / "sites.geojson").write_text(sb.to_geojson_text(sites), encoding="utf-8")
        log(f"sites: {len(sites)} structures")
        landmasses = [build_network(raw, out, name, log) for name in LANDMASSES]
    for lm in landmasses:
        log(f"network: {lm['name']}: {lm['nodes']} nodes, {lm['edges']} road segments ({lm['file']})")
    no_network = [{"departement": d, "communes": int((communes["departement"] == d).sum()),
                   "population": int(communes.loc[communes["departement"] == d, "population"].sum()),
                   "sites": int((sites["departement"] == d).sum()), "status": NO_NETWORK_STATUS} for d in OVERSEAS]
    for row in no_network:
        log(f"network: {row['departement']}: {row['communes']} communes, {row['population']} inhabitants, "
            f"{row['sites']} sites: {row['status']}")
    no_network = [e for e in no_network if e["departement"] in set(deps["code"])]
    demand_info = demand.apply_to_study(out, [out / lm["file"] for lm in landmasses], log, demand_points=demand_points,
                                        method=demand_method, raw=raw, parts_basis=demand_parts,
                                        split_population=demand_split_population)
    parts_file = (demand_info.get("parts") or {}).get("file")
    manifest = StudyManifest(
        name="France", slug="france", codes=deps["code"].tolist(), neighbours=[],
        files={"sites": "sites.geojson", "communes": "communes/communes.geojson", "neighbour_communes": None,
               "outline": "communes/outline.geojson", "network": landmasses[0]["file"],
               **({"demand_parts": parts_file} if parts_file else {})},
        margins_m={}, network={"source": "travelmapping", "landmasses": landmasses, "no_network": no_network,
                               "islands_without_roads": sorted({c for lm in landmasses
                                                                for c in lm.get("islands_without_roads", ())})},
        sources=[{"id": "anct", "file": str(sb.ANCT_FILE), "date": "2024-08-01"},
                 {"id": "etalab", "file": "etalab/communes.json"},
                 {"id": "france-geojson", "file": "france-geojson/departements", "date": "2018"},
                 {"id": "travelmapping", "file": "travelmapping/highwaydata-fra.tar.gz"}],
        demand=demand_info, fsgeo_version=__version__)
    path = manifest.write(out)
    log(f"france: study written to {out} in {time.perf_counter() - t0:.0f} s")
    return path


def load(folder) -> dict:
    """The national study: ``communes``, ``sites``, ``networks`` (one :class:`~fsgeo.network.RoadNetwork` per
    landmass), ``departements`` (DataFrame), ``no_network`` (the départements without a road network) and
    ``manifest``, and ``demand_parts`` (the communes' demand parts, :func:`fsgeo.io.load_demand_parts`, None when
    the study has none: pass it as ``parts=`` to :func:`fsgeo.national.national_coverage`)."""
    from fsgeo import datasets, io
    from fsgeo.network import RoadNetwork
    from fsgeo.study import StudyManifest

    manifest = StudyManifest.read(folder)
    root = manifest.root
    communes = datasets.load_communes(manifest.path("communes"))
    sites = datasets.load_sites(manifest.path("sites"), communes=communes)
    lms = manifest.network.get("landmasses") or [{"file": manifest.files["network"]}]
    networks = [RoadNetwork.from_file(root / lm["file"]) for lm in lms]
    islands = frozenset(str(c) for c in manifest.network.get("islands_without_roads") or ())
    for net in networks:  # what Study.network gives the study's own network: coverage reports them so
        net.islands_without_roads = islands
    deps_path = root / "departements.csv"
    deps = pd.read_csv(deps_path, dtype=str) if deps_path.exists() else None
    parts_path = manifest.path("demand_parts")
    parts = None if parts_path is None else io.load_demand_parts(parts_path, communes=communes)
    return {"communes": communes, "sites": sites, "networks": networks, "departements": deps,
            "no_network": manifest.network.get("no_network", []), "manifest": manifest, "demand_parts": parts}


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m fsgeo.build_data.france", description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=Path("../shared/data/raw"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    build(args.raw, args.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
