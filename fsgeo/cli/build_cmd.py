"""``fsgeo build``: build a study (any département, or several) from the raw public sources."""

from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "build",
        help="build a study of any département from the raw public sources",
        description="Build a study folder (communes, neighbouring communes, sites, road network, study.json) for "
                    "one or several départements from the raw public sources (fsgeo sources download). Then run any "
                    "command on it with --study DIR.",
    )
    area = p.add_mutually_exclusive_group(required=True)
    area.add_argument("--departement", "-d", metavar="NN",
                      help="département code(s), comma separated for one study of several: 25, 2A, 974, 70,90,25")
    area.add_argument("--france", action="store_true",
                      help="the national study: every commune and structure of France, one Travel Mapping network "
                           "per landmass, overseas départements without a network (not committed: tens of MB)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="study folder to write (created)")
    p.add_argument("--raw", type=Path, default=None, metavar="DIR",
                   help="raw sources folder (default: $FSGEO_RAW, else ../shared/data/raw)")
    p.add_argument("--name", help="study name (default: the départements' names)")
    p.add_argument("--slug", help="file-name friendly name (default: from the name)")
    net = p.add_mutually_exclusive_group()
    net.add_argument("--network", type=Path, metavar="FILE",
                     help="OpenStreetMap road network (.osm.pbf, .osm, .graphml) clipped to the study and its margin "
                          "instead of the Travel Mapping one")
    net.add_argument("--osm-download", action="store_true",
                     help="download the OpenStreetMap drive network of the study area through osmnx (cached)")
    net.add_argument("--no-network", action="store_true", help="build communes and sites only")
    p.add_argument("--demand-points", type=Path, metavar="FILE",
                   help="demand points CSV: code (INSEE), lon, lat (WGS84), source, e.g. town-hall coordinates; "
                        "kept exactly as given (the others get --demand-method); study.json records the file")
    p.add_argument("--demand-method", choices=("road-junction", "pole"), default="road-junction",
                   help="demand point of the communes the file does not give: road-junction (default: the local "
                        "junction with the most junctions within 1 km, the village centre) or pole (the polygon's "
                        "pole of inaccessibility)")
    p.add_argument("--demand-parts", choices=("area", "junctions", "none"), default="area",
                   help="several weighted demand points for the communes with arrondissements municipaux (Paris, "
                        "Lyon, Marseille) the file does not give: area (default: k-means on a grid over the "
                        "commune, inhabitants spread evenly), junctions (k-means on its local-road junctions) or "
                        "none (one point)")
    p.add_argument("--demand-split-population", type=_positive_int, metavar="N", default=None,
                   help="also split every other commune of more than N inhabitants into ceil(population / N) "
                        "demand parts by the --demand-parts rule (default: off)")
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the build log")
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of inhabitants") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of inhabitants > 0")
    return value


def default_raw() -> Path:
    import os

    env = os.environ.get("FSGEO_RAW")
    return Path(env) if env else Path("..") / "shared" / "data" / "raw"


def run(args) -> int:
    from fsgeo.build_data import build_all

    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stdout, flush=True))
    if args.france:
        return _run_france(args, log)
    manifest = build_all(args.raw or default_raw(), args.out, log, args.departement, name=args.name,
                         slug=args.slug, network=args.network, osm_download=args.osm_download,
                         study_network=not args.no_network, demand_points=args.demand_points,
                         demand_method=args.demand_method, demand_parts=args.demand_parts,
                         demand_split_population=args.demand_split_population)
    net = manifest.files.get("network")
    print(f"study {manifest.label} written to {args.out}"
          + ("" if net else f" without a road network: {manifest.network.get('reason')}"))
    return 0


def _run_france(args, log) -> int:
    from fsgeo.build_data import france
    from fsgeo.cli.common import CliError

    unused = [opt for opt, given in (("--network", args.network), ("--osm-download", args.osm_download),
                                     ("--no-network", args.no_network), ("--name", args.name),
                                     ("--slug", args.slug)) if given]
    if unused:
        raise CliError(f"--france builds the national study from Travel Mapping; {', '.join(unused)} "
                       "applies to --departement studies only")
    path = france.build(args.raw or default_raw(), args.out, log, demand_points=args.demand_points,
                        demand_method=args.demand_method, demand_parts=args.demand_parts,
                        demand_split_population=args.demand_split_population)
    print(f"study France written to {path.parent}")
    return 0
