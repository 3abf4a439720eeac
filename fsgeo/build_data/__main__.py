import argparse
from pathlib import Path

from fsgeo.build_data import build_all

parser = argparse.ArgumentParser(prog="python -m fsgeo.build_data", description=__doc__)
parser.add_argument("--raw", type=Path, default=Path("../shared/data/raw"), help="raw sources folder")
parser.add_argument("--out", type=Path, default=Path("data"), help="output folder (the project's data/)")
args = parser.parse_args()
build_all(args.raw, args.out)
