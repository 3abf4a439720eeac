import argparse
import sys
from pathlib import Path

from fsgeo.build_data import build_all

parser = argparse.ArgumentParser(prog="python -m fsgeo.build_data",
                                 description="Build a study (any département, or several) from the raw sources.")
parser.add_argument("--departement", "-d", default="70",
                    help="département code(s), comma separated for one study of several: 25, 2A, 70,90,25 "
                         "(default: 70, the embedded study)")
parser.add_argument("--raw", type=Path, default=Path("../shared/data/raw"), help="raw sources folder")
parser.add_argument("--out", type=Path, default=Path("data"), help="study folder to write (the project's data/)")
parser.add_argument("--name", help="study name (default: the départements' names)")
parser.add_argument("--slug", help="file-name friendly name (default: from the name)")
parser.add_argument("--network", type=Path, help="OpenStreetMap network (.osm.pbf, .osm, .graphml) clipped to the "
                                                 "study instead of the Travel Mapping one")
parser.add_argument("--osm-download", action="store_true", help="download the OpenStreetMap drive network (osmnx)")
parser.add_argument("--no-network", action="store_true", help="build communes and sites only")
parser.add_argument("--demand-points", type=Path, metavar="FILE",
                    help="demand points CSV (code, lon, lat, source; e.g. town halls), kept exactly as given")
parser.add_argument("--demand-method", choices=("road-junction", "pole"), default="road-junction",
                    help="demand point of the communes the file does not give: the road-junction village centre "
                         "(default) or the polygon's pole of inaccessibility")
parser.add_argument("--demand-parts", choices=("area", "junctions", "none"), default="area",
                    help="demand parts of Paris, Lyon, Marseille (communes with arrondissements) the file does not "
                         "give: k-means on a grid over the area (default), on the local-road junctions, or none")
parser.add_argument("--demand-split-population", type=int, metavar="N", default=None,
                    help="also split every other commune of more than N inhabitants into ceil(population / N) "
                         "demand parts (default: off)")
args = parser.parse_args()
try:
    build_all(args.raw, args.out, print, args.departement, name=args.name, slug=args.slug, network=args.network,
              osm_download=args.osm_download, study_network=not args.no_network, demand_points=args.demand_points,
              demand_method=args.demand_method, demand_parts=args.demand_parts,
              demand_split_population=args.demand_split_population)
except (ValueError, OSError) as exc:
    print(f"python -m fsgeo.build_data: error: {exc}", file=sys.stderr)
    sys.exit(2)
