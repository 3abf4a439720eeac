"""A reference no one tuned: fsgeo's times on the Travel Mapping network vs on the full OpenStreetMap network of the
same area, for the same origin/destination pairs.

    python bench/osm_reference.py [--raw ../shared/data/raw] [--pairs 400]

The only real OSM extract of a French area at hand is ``osm/monaco-french-riviera.osm.pbf`` (SOURCES.md: 11 x 6 km
around Monaco, data of 2016; coastal and hilly, with the A8 and the three Corniches). The Travel Mapping network of
département 06 is built from the raw archive with fsgeo's own build functions (clipped to 06 + 5 km). Origins and
destinations: OSM nodes on residential / unclassified / tertiary streets (where people live), in random pairs at
least 2 km apart in a straight line. Both networks use the default profile (OSM: typical speeds per ``highway``
class capped by ``maxspeed``, ``direct_leg_max_m=0``: the streets are all there). Ratios are TM / OSM, for minutes
and for route km (``fsgeo.calibrate``'s route accounting). Then the TM profile is calibrated against the OSM
trips, which says what circuity and speeds would make TM agree with OSM here: one small coastal hilly area, so it is
evidence, not a national truth.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from fsgeo import calibrate
from fsgeo.network import RoadNetwork

LOCAL = ("residential", "unclassified", "tertiary", "living_street")


def quantiles(r) -> str:
    r = np.asarray(r, dtype=float)
    r = r[np.isfinite(r)]
    q = np.quantile(r, [0.1, 0.25, 0.5, 0.75, 0.9])
    return (f"n {r.size}: p10 {q[0]:.2f}, p25 {q[1]:.2f}, median {q[2]:.2f}, p75 {q[3]:.2f}, p90 {q[4]:.2f}; "
            f"|ratio-1| median {np.median(np.abs(r - 1)):.1%}, p90 {np.quantile(np.abs(r - 1), 0.9):.1%}")


def build_pair_networks(raw: Path, log=lambda _: None):
    from fsgeo.build_data import StudyArea
    from fsgeo.build_data import network as build_network

    osm = RoadNetwork.from_file(raw / "osm" / "monaco-french-riviera.osm.pbf", profile={"direct_leg_max_m": 0})
    tmp = Path(tempfile.mkdtemp(prefix="fsgeo-tm06-"))
    area = StudyArea.from_raw(raw, "06", log)  # the build's own plan of département 06
    area.network_margin_m = 5000.0
    build_network.build(area, tmp, log=log)
    tm = RoadNetwork.from_file(next((tmp / "network").glob("*.gpkg")))
    return osm, tm


def od_pairs(osm: RoadNetwork, n_pairs: int, seed: int = 6, min_m: float = 2000.0):
    e = osm.edges
    local = e["road_class"].astype(str).str.split(";").map(lambda cs: any(c in LOCAL for c in cs))
    ids = np.unique(np.concatenate([e.loc[local, "u"], e.loc[local, "v"]]))
    pos = pd.Index(osm.node_ids).get_indexer(ids)
    ids, pos = ids[osm.main_component[pos]], pos[osm.main_component[pos]]
    rng = np.random.default_rng(seed)
    xy = osm.xy_metric[pos]
    o_idx, d_idx = [], []
    while len(o_idx) < n_pairs:
        a, b = rng.choice(ids.size, 2, replace=False)
        if np.hypot(*(xy[a] - xy[b])) >= min_m:
            o_idx.append(a)
            d_idx.append(b)
    pts = osm.nodes.loc[ids, ["geometry"]].reset_index(drop=True)
    return (gpd.GeoDataFrame(pts.iloc[o_idx].reset_index(drop=True), crs="EPSG:4326"),
            gpd.GeoDataFrame(pts.iloc[d_idx].reset_index(drop=True), crs="EPSG:4326"))


def compare(osm: RoadNetwork, tm: RoadNetwork, origins, destinations) -> dict:
    r_osm = calibrate._route(osm, origins, destinations)
    osm_min, osm_km = calibrate._predict(np.array([1.0] + [1.0] * len(osm.profile.road_class_speeds_kmh)), r_osm,
                                         osm.profile)
    r_tm = calibrate._route(tm, origins, destinations)
    classes = sorted(tm.profile.road_class_speeds_kmh)
    theta = np.array([tm.profile.circuity] + [tm.profile.road_class_speeds_kmh[c] for c in classes])
    tm_min, tm_km = calibrate._predict(theta, r_tm, tm.profile)
    fit = calibrate.calibrate(tm, origins, destinations, osm_min, osm_km)
    return {"osm_min": osm_min, "osm_km": osm_km, "tm_min": tm_min, "tm_km": tm_km, "fit": fit,
            "tm_access_share": (tm.profile.access_s(r_tm.access_m) / 60) / tm_min,
            "osm_access_share": (osm.profile.access_s(r_osm.access_m) / 60) / osm_min}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data" / "raw")
    ap.add_argument("--pairs", type=int, default=400)
    args = ap.parse_args(argv)
    if not (args.raw / "osm" / "monaco-french-riviera.osm.pbf").exists():
        print(f"no OSM extract under {args.raw}: nothing to compare (../shared absent)")
        return 0
    osm, tm = build_pair_networks(args.raw)
    print(f"OSM network: {osm}")
    print(f"TM network (département 06 + 5 km): {tm}")
    o, d = od_pairs(osm, args.pairs)
    res = compare(osm, tm, o, d)
    om, dm = o.to_crs(2154).geometry, d.to_crs(2154).geometry
    straight = np.hypot(om.x.to_numpy() - dm.x.to_numpy(), om.y.to_numpy() - dm.y.to_numpy()) / 1000
    print(f"{len(o)} O/D pairs between OSM nodes of local streets, straight distance {np.median(straight):.1f} km "
          f"median ({straight.min():.1f}-{straight.max():.1f})")
    print(f"OSM: median {np.median(res['osm_min']):.1f} min, {np.median(res['osm_km']):.1f} km "
          f"(route / straight {np.median(res['osm_km'] / straight):.2f})")
    print(f"TM : median {np.median(res['tm_min']):.1f} min, {np.median(res['tm_km']):.1f} km "
          f"(route / straight {np.median(res['tm_km'] / straight):.2f}); access legs "
          f"{np.median(res['tm_access_share']):.0%} of the TM time (median)")
    print(f"ratio TM / OSM, minutes: {quantiles(res['tm_min'] / res['osm_min'])}")
    print(f"ratio TM / OSM, km:      {quantiles(res['tm_km'] / res['osm_km'])}")
    print("TM profile calibrated on these OSM trips (minutes and km):")
    print(res["fit"].report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
