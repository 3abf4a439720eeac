"""The ``fsgeo`` console script: a thin shell over the public API.

Each sub-command lives in its own module under ``fsgeo.cli`` and exposes ``register(subparsers)``, which adds its
parser and sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from fsgeo.cli.common import CliError, OneLineParser

# one module per sub-command; order = order in --help
COMMAND_MODULES = [
    "fsgeo.cli.datasets_cmd",
    "fsgeo.cli.coverage_cmd",
    "fsgeo.cli.rank_cmd",
    "fsgeo.cli.map_cmd",
    "fsgeo.cli.accessibility_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="fsgeo", description="Drive-time coverage and siting of France Services spaces.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, ValueError, OSError, KeyError, ImportError) as exc:
        # bad input of any kind (or an optional extra missing, e.g. pyrosm for .osm.pbf): one line, exit 2
        msg = str(exc).strip().splitlines()
        print(f"fsgeo: error: {msg[0] if msg else type(exc).__name__}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
