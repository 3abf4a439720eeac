"""How much the drive times moved, and how far they are from references (issue 11).

    python bench/bench_truth.py [--raw ../shared/data/raw] [--no-national] [--no-osm]

For the embedded study (Haute-Saône) and, when ``../shared`` exists, for a national build of the Travel Mapping network
made here with fsgeo's build functions (every département's routes, all current communes, all 2,845 structures):

- communes whose time to the nearest site changes by more than 5 min between the *old* model (pole of inaccessibility,
  nearest-node snapping) and the *new* one (road-junction demand points, k-nearest snapping that never strands a
  point on motorway-only nodes): count, population, the worst 10 with the reason (the point moved, the snapping);
- the population shares within 20 and 30 min, old and new;
- how many communes' times are dominated by their access leg (``access_share`` > 0.5), old and new;
- (national) Paris, Marseille and Lyon as one point each against one weighted point per part (``parts=``).

Then the calibration error before/after: the Riviera OSM reference (``bench/osm_reference.py``: the Travel Mapping
network against the full OSM network of the same area) and, for Haute-Saône, the published route lengths quoted in
issue 11 (no fit on two trips: the error of the default profile only).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fsgeo import coverage, datasets, routing  # noqa: E402
from fsgeo.build_data import demand  # noqa: E402
from fsgeo.build_data.communes import demand_point  # noqa: E402
from fsgeo.network import RoadNetwork  # noqa: E402

OLD_SNAP = {"snap_nodes": 1, "snap_local_road": False}
TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
TO_GEO = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def poles(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The communes with their old demand point: the pole of inaccessibility of the polygon."""
    out = communes.copy()
    ll = [demand_point(g, "EPSG:2154") for g in out.geometry]
    out["point_lon"] = [p[0] for p in ll]
    out["point_lat"] = [p[1] for p in ll]
    return out


def per_inhabitant(minutes: pd.Series, pop: pd.Series) -> float:
    """Population-weighted mean of the finite times (unroutable communes, NaN or inf, are counted apart)."""
    t = minutes.to_numpy(dtype=float)
    ok = np.isfinite(t)
    return float(np.average(t[ok], weights=pop.reindex(minutes.index).to_numpy(dtype=float)[ok]))


def nearest_minutes(network, communes, sites) -> pd.DataFrame:
    """Minutes to the nearest site (all sites given) and the access share, per commune code."""
    pts = datasets.demand_points(communes)
    pts = pts.set_axis(pts["code"].astype(str).to_numpy(), axis=0)
    site_pts = sites.set_axis(sites["id"].astype(str).to_numpy(), axis=0)
    near = routing.nearest(network, pts, site_pts[["geometry"]], on_snap_error="nan")
    share = (near["access_min"] / near["minutes"].where(near["minutes"] > 0)).fillna(0).where(near["minutes"].notna())
    return pd.DataFrame({"minutes": near["minutes"].to_numpy(), "site": near["facility"].to_numpy(),
                         "access_share": share}, index=pts.index)


def report(label: str, communes_old, communes_new, sites, net_old, net_new, moved_m: pd.Series) -> None:
    t0 = time.perf_counter()
    pop = communes_new.set_index(communes_new["code"].astype(str))["population"]
    names = communes_new.set_index(communes_new["code"].astype(str))["name"]
    old = nearest_minutes(net_old, communes_old, sites)
    mid = nearest_minutes(net_new, communes_old, sites)       # old points, new snapping
    new = nearest_minutes(net_new, communes_new, sites)
    delta = new["minutes"] - old["minutes"]
    big = delta.abs() > 5
    print(f"== {label}: {len(pop):,} communes, {int(pop.sum()):,} inhabitants, {len(sites):,} sites "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"communes whose time changes by more than 5 min (old: pole of inaccessibility + nearest node; new: "
          f"road-junction point + k-nearest snapping): {int(big.sum()):,}, {int(pop[big].sum()):,} inhabitants "
          f"({int((delta < -5).sum()):,} shorter, {int((delta > 5).sum()):,} longer)")
    order = delta.abs().sort_values(ascending=False).index[:10]
    for code in order:
        if not np.isfinite(delta[code]):
            continue
        why = []
        if moved_m.get(code, 0) > 100:
            why.append(f"point moved {moved_m[code] / 1000:.1f} km ({communes_new.set_index('code').loc[code, 'point_source']})")
        snap = mid.loc[code, "minutes"] - old.loc[code, "minutes"]
        if abs(snap) > 0.05:
            why.append(f"snapping alone {snap:+.1f} min")
        print(f"  {code} {names[code]:<28} {int(pop[code]):>9,} inh.  {old.loc[code, 'minutes']:6.1f} -> "
              f"{new.loc[code, 'minutes']:6.1f} min  ({'; '.join(why) or 'both'})")
    unroutable_old = int((~np.isfinite(old["minutes"].to_numpy(float))).sum())
    unroutable_new = int((~np.isfinite(new["minutes"].to_numpy(float))).sum())
    for t in (20, 30):
        s_old = pop[old["minutes"] <= t].sum() / pop.sum()
        s_new = pop[new["minutes"] <= t].sum() / pop.sum()
        print(f"population within {t} min: old {s_old:.2%}, new {s_new:.2%}")
    print(f"mean minutes per inhabitant: old {per_inhabitant(old['minutes'], pop):.2f},"
          f" new {per_inhabitant(new['minutes'], pop):.2f}; unroutable communes: "
          f"old {unroutable_old}, new {unroutable_new}")
    for tag, frame in (("old", old), ("new", new)):
        dom = frame["access_share"] > 0.5
        print(f"time dominated by the access leg (access_share > 0.5), {tag}: {int(dom.sum()):,} communes, "
              f"{int(pop[dom].sum()):,} inhabitants")
    # the demand points alone (k-nearest snapping on both sides): what rebuilding a study with them changes
    d_pts = new["minutes"] - mid["minutes"]
    big_pts = d_pts.abs() > 5
    print(f"demand points alone (pole -> road junction, k-nearest snapping both): {int(big_pts.sum()):,} communes, "
          f"{int(pop[big_pts].sum()):,} inhabitants change by more than 5 min ({int((d_pts < -5).sum()):,} shorter, "
          f"{int((d_pts > 5).sum()):,} longer); mean minutes per inhabitant "
          f"{per_inhabitant(mid['minutes'], pop):.2f} -> {per_inhabitant(new['minutes'], pop):.2f}; within 20 min "
          f"{pop[mid['minutes'] <= 20].sum() / pop.sum():.2%} -> {pop[new['minutes'] <= 20].sum() / pop.sum():.2%}; "
          f"access-dominated communes {int((mid['access_share'] > 0.5).sum()):,} -> "
          f"{int((new['access_share'] > 0.5).sum()):,}")
    for code in d_pts.abs().sort_values(ascending=False).index[:5]:
        if np.isfinite(d_pts[code]):
            print(f"  {code} {names[code]:<28} {int(pop[code]):>9,} inh.  {mid.loc[code, 'minutes']:6.1f} -> "
                  f"{new.loc[code, 'minutes']:6.1f} min  (point moved {moved_m.get(code, 0) / 1000:.1f} km)")
    sens = new["minutes"] * 1.1
    print(f"sensitivity: every new time +10 % -> within 20 min {pop[sens <= 20].sum() / pop.sum():.2%}, "
          f"within 30 min {pop[sens <= 30].sum() / pop.sum():.2%}")
    return old, new


def embedded() -> None:
    communes = datasets.load_communes()
    sites = datasets.load_sites()
    path = datasets.settings.network_path if hasattr(datasets, "settings") else None
    from fsgeo.settings import settings

    path = settings.network_path
    nodes = gpd.read_file(path, layer="nodes")
    edges = gpd.read_file(path, layer="edges")
    old = poles(communes)
    new = demand.place(old, nodes, edges, log=lambda _: None)
    built = communes.set_index("code")
    same = np.allclose(built.loc[new["code"], ["point_lon", "point_lat"]].to_numpy(float),
                       new[["point_lon", "point_lat"]].to_numpy(float), atol=1e-9)
    print(f"embedded communes.geojson carries the road-junction points the bench recomputes: {same}")
    report("embedded study (Haute-Saône)", old, new, sites, RoadNetwork.from_file(path, profile=OLD_SNAP),
           RoadNetwork.from_file(path), new.attrs["moved_m"])
    # published route lengths quoted in issue 11 (no fit: two trips)
    net = RoadNetwork.from_file(path)
    from fsgeo import calibrate

    pts = datasets.demand_points(communes).set_index("code")
    o = gpd.GeoDataFrame(geometry=[pts.loc["70447", "geometry"], pts.loc["70279", "geometry"]], crs="EPSG:4326")
    besancon = gpd.points_from_xy([6.0241], [47.2378], crs="EPSG:4326")[0]  # Besançon, place du 8 Septembre
    d = gpd.GeoDataFrame(geometry=[pts.loc["70550", "geometry"], besancon], crs="EPSG:4326")
    r = calibrate._route(net, o, d)
    classes = sorted(net.profile.road_class_speeds_kmh)
    theta = np.array([net.profile.circuity] + [net.profile.road_class_speeds_kmh[c] for c in classes])
    minutes, km = calibrate._predict(theta, r, net.profile)
    for (a, b, ref), m, k in zip((("Rioz", "Vesoul", 28.5), ("Gray", "Besançon", 50.0)), minutes, km):
        print(f"published distance {a} -> {b}: {ref:.1f} km; fsgeo {k:.1f} km ({k / ref - 1:+.0%}), {m:.1f} min")


def national(study: Path, raw: Path) -> None:
    """Old and new demand points and snapping on the national study's mainland network (``fsgeo build --france``).
    The old points are the poles of inaccessibility: taken as stored when the study was built with them, else
    recomputed from the polygons."""
    from fsgeo.build_data import france

    t0 = time.perf_counter()
    nat = france.load(study)
    manifest = nat["manifest"]
    lms = manifest.network.get("landmasses") or [{"file": manifest.files["network"]}]
    gpkg = manifest.root / lms[0]["file"]  # the first landmass is the mainland
    communes, sites = nat["communes"], nat["sites"]
    mainland = ~communes["departement"].astype(str).str.match(r"^(2A|2B|97)")
    communes = communes[mainland.to_numpy()].reset_index(drop=True)
    stored = communes.get("point_source")
    old = communes if stored is None or (stored == "pole of inaccessibility").all() else poles(communes)
    print(f"national study {study}: {len(communes):,} mainland communes, network {gpkg.name} "
          f"({time.perf_counter() - t0:.0f} s)")
    nodes, edges = demand.read_networks([gpkg])
    new = demand.place(old, nodes, edges, log=lambda _: None)
    net_new = RoadNetwork.from_file(gpkg)
    t_old, t_new = report("national study (mainland France, Travel Mapping)", old, new, sites,
                          RoadNetwork.from_file(gpkg, profile=OLD_SNAP), net_new, new.attrs["moved_m"])
    pop = new.set_index("code")["population"]
    print("the artefacts named in issue 11 (minutes to the nearest site, old -> new):")
    for code, name in (("71081", "Champforgeuil"), ("21231", "Dijon"), ("30189", "Nîmes"), ("49007", "Angers"),
                       ("06088", "Nice"), ("13004", "Arles")):
        if code in pop.index:
            print(f"  {name} ({code}): {t_old.loc[code, 'minutes']:.1f} -> {t_new.loc[code, 'minutes']:.1f} min, "
                  f"point moved {new.attrs['moved_m'][code] / 1000:.1f} km, access share "
                  f"{t_old.loc[code, 'access_share']:.0%} -> {t_new.loc[code, 'access_share']:.0%}")
    parts_effect(manifest, new, sites, net_new, nodes, edges, raw)


def parts_effect(manifest, communes, sites, network, nodes, edges, raw: Path) -> None:
    """Paris, Marseille and Lyon as one point each against one weighted point per part (``parts=``): the study's
    demand parts when it has them, else the build's heuristic (k-means on a grid over the area, k = the COG's
    arrondissements municipaux); their times and the national figures, both routed here on the mainland network."""
    if manifest.files.get("demand_parts"):
        from fsgeo import io

        parts = io.load_demand_parts(manifest.path("demand_parts"), communes=communes)
        how = "the study's demand parts"
    elif (Path(raw) / "etalab").exists():
        arr = demand.arrondissements(raw)
        counts = arr.groupby("commune").size()
        parts = demand.area_parts(communes, {c: int(k) for c, k in counts.items() if c in set(communes["code"])},
                                  log=lambda _: None)
        how = "heuristic parts (k-means on a grid over the area, k = arrondissements)"
    else:
        print("demand parts: none in the study and no raw COG to make them; skipped")
        return
    t0 = time.perf_counter()
    one, _ = coverage.access_from_network(communes, sites, network)
    t_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    split, _ = coverage.access_from_network(communes, sites, network, parts=parts)
    t_split = time.perf_counter() - t0
    print(f"== demand parts: {how}, {len(parts)} parts of {parts['code'].nunique()} communes (routing "
          f"{t_one:.1f} s one point per commune, {t_split:.1f} s with the parts)")
    a1, a2 = one.set_index("code"), split.set_index("code")
    for code in parts["code"].drop_duplicates():
        r1, r2 = a1.loc[code], a2.loc[code]
        print(f"  {code} {r2['name']:<10} {int(r2['population']):>9,} inh.: one point {r1['minutes']:5.1f} min; "
              f"{int(r2['n_points'])} parts: mean {r2['minutes']:.1f}, min {r2['minutes_min']:.1f}, max "
              f"{r2['minutes_max']:.1f} min")
    s1, s2 = coverage.summary(one), coverage.summary(split)
    for b1, b2 in zip(s1.bands.itertuples(), s2.bands.itertuples()):
        if b1.band_min in (10, 20, 30):
            print(f"  population within {b1.band_min:g} min: one point {b1.population_share:.2%}, parts "
                  f"{b2.population_share:.2%} ({b2.population - b1.population:+,} inh.)")
    print(f"  mean minutes per inhabitant: one point {s1.mean_min:.2f}, parts {s2.mean_min:.2f}; p90 "
          f"{s1.p90_min:.2f} -> {s2.p90_min:.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data" / "raw")
    ap.add_argument("--no-national", action="store_true")
    ap.add_argument("--study", type=Path, default=Path.home() / ".cache" / "fsgeo" / "france-study",
                    help="national study folder (fsgeo build --france; default: the cache notebook 04 uses)")
    ap.add_argument("--no-osm", action="store_true")
    args = ap.parse_args(argv)
    embedded()
    have_raw = (args.raw / "travelmapping" / "highwaydata-fra.tar.gz").exists()
    if not args.no_osm and have_raw:
        import osm_reference

        osm, tm = osm_reference.build_pair_networks(args.raw)
        o, d = osm_reference.od_pairs(osm, 400)
        res = osm_reference.compare(osm, tm, o, d)
        print("== calibration against the OSM reference (Riviera, 400 trips; TM profile fitted to OSM times and km)")
        print(f"ratio TM / OSM, minutes: {osm_reference.quantiles(res['tm_min'] / res['osm_min'])}")
        print(f"ratio TM / OSM, km:      {osm_reference.quantiles(res['tm_km'] / res['osm_km'])}")
        print(res["fit"].report())
    if not args.no_national:
        if (args.study / "study.json").exists():
            national(args.study, args.raw)
        else:
            print(f"national: skipped, no national study at {args.study} (fsgeo build --france --out DIR)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
