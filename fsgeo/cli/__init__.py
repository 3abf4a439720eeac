"""The ``fsgeo`` console script: a thin shell over the public API.

Each sub-command lives in its own module under ``fsgeo.cli`` and exposes ``register(subparsers)``, which adds its
parser and sets ``func(args) -> int``. Only the module of the command being run is imported (the analysis modules
import numpy, pandas, geopandas...): ``fsgeo --help`` and ``fsgeo --version`` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import warnings

from fsgeo.cli.common import CliError, OneLineParser

# one module per sub-command; order = order in --help
COMMAND_MODULES = [
    "fsgeo.cli.datasets_cmd",
    "fsgeo.cli.coverage_cmd",
    "fsgeo.cli.rank_cmd",
    "fsgeo.cli.map_cmd",
    "fsgeo.cli.accessibility_cmd",
    "fsgeo.cli.calibrate_cmd",
    "fsgeo.cli.build_cmd",
    "fsgeo.cli.sources_cmd",
]

#: command -> (module that registers it, one-line help shown by ``fsgeo --help``); a module of COMMAND_MODULES
#: without an entry here is imported for every command line (correct, only slower)
COMMANDS = {
    "datasets": ("fsgeo.cli.datasets_cmd", "summarise the study: its name, sources, sites, communes and road network"),
    "coverage": ("fsgeo.cli.coverage_cmd",
                 "drive time from every commune to its nearest France Services site: the coverage report"),
    "underserved": ("fsgeo.cli.coverage_cmd", "communes beyond the threshold, ranked, and the zones they form"),
    "catchments": ("fsgeo.cli.coverage_cmd",
                   "drive-time catchment polygons of every site (10/20/30 min by default), per site or merged"),
    "timeline": ("fsgeo.cli.coverage_cmd", "coverage at every labellisation date: how the network got finer"),
    "rank": ("fsgeo.cli.rank_cmd", "score candidate sites and choose up to k new ones (greedy or exact location models)"),
    "map": ("fsgeo.cli.map_cmd",
            "write a standalone HTML map (communes by drive time, catchments, under-served zones, sites)"),
    "accessibility": ("fsgeo.cli.accessibility_cmd",
                      "floating-catchment accessibility: opening hours within reach per 1,000 inhabitants (2SFCA)"),
    "calibrate": ("fsgeo.cli.calibrate_cmd",
                  "fit circuity and road-class speeds to reference trips; write a profile file for --profile"),
    "build": ("fsgeo.cli.build_cmd", "build a study of any département from the raw public sources"),
    "sources": ("fsgeo.cli.sources_cmd",
                "download the public raw sources (ANCT list, COG, commune polygons, Travel Mapping)"),
}


class _Subparsers:
    """The sub-parsers action, giving each command its help line from :data:`COMMANDS` (one place for it)."""

    def __init__(self, action):
        self._action = action

    def add_parser(self, name, **kwargs):
        if name in COMMANDS:
            kwargs.setdefault("help", COMMANDS[name][1])
        return self._action.add_parser(name, **kwargs)

    def __getattr__(self, name):
        return getattr(self._action, name)


def _version() -> str:
    from fsgeo import __version__

    return f"fsgeo {__version__}"


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the module of the command named there is imported (all of them without)."""
    parser = OneLineParser(prog="fsgeo", description="Drive-time coverage and siting of France Services spaces.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    wrapped = _Subparsers(sub)
    lazy = {module for module, _ in COMMANDS.values()}
    wanted = next((a for a in (argv or []) if not a.startswith("-")), None) if argv is not None else None
    if argv is None:
        load = set(COMMAND_MODULES)
    else:  # the command's own module; none for "fsgeo --help" or a mistyped command (argparse lists the choices)
        load = {COMMANDS[wanted][0]} if wanted in COMMANDS else set()
    registered = set()
    for module in dict.fromkeys([COMMANDS[c][0] for c in COMMANDS] + COMMAND_MODULES):
        if module in load or module not in lazy:
            importlib.import_module(module).register(wrapped)
            registered |= {name for name, (mod, _) in COMMANDS.items() if mod == module}
    for name, (module, text) in COMMANDS.items():
        if name not in registered and name not in sub.choices:  # listed in --help; parsed only when run
            sub.add_parser(name, help=text, add_help=False)
    # --help lists the commands in COMMANDS order, whatever order the modules registered them in
    order = {name: i for i, name in enumerate(COMMANDS)}
    sub._choices_actions.sort(key=lambda a: order.get(a.dest, len(order)))
    return parser


def main(argv: list[str] | None = None) -> int:
    typed = list(sys.argv[1:] if argv is None else argv)
    argv = _negative_values(typed)
    try:
        args = build_parser(argv).parse_args(argv)
        from fsgeo.provenance import command_line

        args._command = command_line(["fsgeo", *typed])  # the provenance of every output names it
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning  # restored on exit by catch_warnings
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        # Ctrl-C: no traceback; any file being written is left as it was (atomic writes)
        print("fsgeo: interrupted", file=sys.stderr)
        return 130
    except (CliError, ValueError, OSError, KeyError, ImportError) as exc:
        # bad input of any kind (or an optional extra missing, e.g. pyrosm for .osm.pbf): one line, exit 2
        msg = str(exc).strip().splitlines()
        print(f"fsgeo: error: {msg[0] if msg else type(exc).__name__}", file=sys.stderr)
        return 2


_NEGATIVE = re.compile(r"-\d[\d.,eE+-]*|-\.\d[\d.,eE+-]*")


def _negative_values(argv: list[str]) -> list[str]:
    """``--bands -5,10`` -> ``--bands=-5,10``: argparse takes a value starting with ``-`` for an option (and says
    "expected one argument"); glued to its option the value reaches the option's own check ("negative band")."""
    out: list[str] = []
    for token in argv:
        if out and _NEGATIVE.fullmatch(token) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning from a library (geopandas, pyogrio, shapely...) as one line, without the source line."""
    text = " ".join(str(message).split())
    print(f"fsgeo: warning: {text}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
