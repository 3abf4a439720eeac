"""Options and output helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path


class CliError(Exception):
    """A user error detected by the CLI itself (reported in one line, exit code 2)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse parser whose errors are a single line on stderr and exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def iso_date(text: str) -> dt.date:
    from fsgeo.schema import as_date  # the package's one date parser

    try:
        return as_date(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: expected YYYY-MM-DD or DD/MM/YYYY") from None


def minutes_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid minutes list {text!r}: expected e.g. 10,20,30") from None
    negative = [v for v in values if v < 0]
    if negative:
        raise argparse.ArgumentTypeError(f"negative band {negative[0]:g} in {text!r}: bands are minutes > 0")
    if not values or not all(0 < v < math.inf for v in values):  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"invalid minutes list {text!r}: values must be finite and > 0")
    return tuple(sorted(set(values)))


def whole_number(minimum: int = 0):
    """argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid number {text!r}: expected a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text}")
        return value

    parse.__name__ = "whole number"
    return parse


def _positive(text: str, unit: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid {unit} {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{unit} must be finite, got {text}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{unit} must be > 0, got {text}")
    return value


def positive_minutes(text: str) -> float:
    """argparse type: a finite number of minutes > 0."""
    return _positive(text, "minutes")


def positive_seconds(text: str) -> float:
    """argparse type: a finite number of seconds > 0."""
    return _positive(text, "seconds")


def add_data_args(parser: argparse.ArgumentParser) -> None:
    """--study/--sites/--communes/--network/--profile/--as-of/--kind/--own-departement-only; load them with
    :func:`study_of`."""
    g = parser.add_argument_group("data (default: the study in $FSGEO_STUDY, else the embedded Haute-Saône study)")
    g.add_argument("--study", type=Path, metavar="DIR",
                   help="study folder (its study.json; built by 'fsgeo build'); default $FSGEO_STUDY, else the "
                        "embedded study. --sites, --communes and --network replace one of its files")
    g.add_argument("--sites", type=Path, help="sites file (GeoJSON, GeoPackage, ANCT CSV or CSV with lat/lon)")
    g.add_argument("--communes", type=Path, help="communes file (GeoJSON / GeoPackage)")
    g.add_argument("--network", type=Path, help="road network (.gpkg, .graphml, .osm, .osm.pbf)")
    g.add_argument("--profile", type=Path, metavar="FILE",
                   help="car profile (JSON: speeds, circuity, snapping; e.g. written by fsgeo calibrate)")
    g.add_argument("--as-of", type=iso_date, metavar="DATE", help="keep the sites labelled on or before DATE")
    g.add_argument("--kind", choices=["all", "principal"], default="all", help="count antennas too (all) or not")
    g.add_argument("--own-departement-only", action="store_true", help="ignore sites of neighbouring départements")
    g.add_argument("--strict", action="store_true",
                   help="stop with an error when a site or candidate cannot be placed on the road network (by "
                        "default it is left out and reported on stderr and in the JSON/GeoJSON output)")


def study_of(args):
    """The :class:`fsgeo.datasets.Study` the command works on: ``--study`` (else ``$FSGEO_STUDY``, else the embedded
    study) with the files given by ``--sites``, ``--communes`` and ``--network`` in place of its own. Layers load on
    first use, so a command that needs no network never reads one."""
    from fsgeo.datasets import load_study

    return load_study(args.study, sites=args.sites, communes=args.communes, network=args.network,
                      profile=getattr(args, "profile", None))


def study_label(study, args=None) -> str:
    """The study's name for titles (``"Haute-Saône (70)"``); with ``--communes`` of one's own, what they cover."""
    if args is not None and getattr(args, "communes", None) is not None:
        communes = study.communes
        deps = sorted(set(communes["departement"].astype(str))) if "departement" in communes.columns else []
        if deps == sorted(study.codes):
            return study.label
        if len(deps) == 1:
            return f"département {deps[0]}"
        return "départements " + ", ".join(deps) if deps else "the given communes"
    return study.label


#: up to this many sites (or candidates) left off the network get one warning line each; more get one line in all
UNPLACED_LINES_MAX = 10


def report_unplaced(network, sites, args, what: str = "site", unplaced=None,
                    listed_in: str | None = None) -> list[dict]:
    """Sites (or candidates) that cannot be placed on the road network (:func:`fsgeo.routing.unplaced_sites`):
    one warning line each on stderr (one line in all, with their count, statuses, a few ids and ``listed_in``,
    when there are more than :data:`UNPLACED_LINES_MAX`: the national study's 210 overseas sites), or a one-line
    error with ``--strict``. Returns them as records for the JSON/GeoJSON metadata (``unplaced_sites`` /
    ``unplaced_candidates``). ``unplaced``: that table already made (e.g. over several networks,
    :attr:`fsgeo.catchments.CatchmentJob.unplaced`); ``listed_in``: where the user finds every one with its reason
    (default: the JSON output's ``unplaced_sites``)."""
    from fsgeo import routing

    if unplaced is None:
        unplaced = routing.unplaced_sites(network, sites)
    if len(unplaced) and getattr(args, "strict", False):
        raise CliError(_one_line(routing.unplaced_message(unplaced, what)) + " (--strict)")
    if len(unplaced) > UNPLACED_LINES_MAX:
        print(unplaced_summary(unplaced, what, listed_in or '--format json, "unplaced_sites"'), file=sys.stderr)
    else:
        for r in unplaced.itertuples():
            print(f"fsgeo: warning: {what} {_one_line(r.id)!r} ({_one_line(r.name)}) not used: {r.reason}",
                  file=sys.stderr)
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
            for rec in unplaced.to_dict(orient="records")]


def unplaced_summary(unplaced, what: str = "site", listed_in: str = '--format json, "unplaced_sites"',
                     shown: int = 3) -> str:
    """One warning line for many sites (or candidates) left off the network: how many, by snapping status, the
    first ``shown`` ids with their names, and where every one is listed with its reason."""
    statuses = unplaced["status"].astype(str).value_counts()
    by_status = ", ".join(f"{n} {status}" for status, n in statuses.items())
    first = ", ".join(f"{_one_line(i)!r} ({_one_line(name)})" for i, name in
                      zip(unplaced["id"].head(shown), unplaced["name"].head(shown)))
    return (f"fsgeo: warning: {len(unplaced)} {what}s not used, not placed on the road network ({by_status}): "
            f"{first} and {len(unplaced) - min(shown, len(unplaced))} more; every one with its reason: {listed_in}")


def _one_line(text) -> str:
    return " ".join(str(text).split())


def require_sites(selected, args) -> None:
    """One-line error when ``--as-of``, ``--kind`` or ``--own-departement-only`` left no site to work with."""
    if len(selected) == 0:
        from fsgeo.coverage import selection_text

        raise CliError(f"no site selected: {selection_text(args.kind, args.own_departement_only, args.as_of)}; "
                       "check --as-of, --kind and --own-departement-only")


def add_output_args(parser: argparse.ArgumentParser, formats=("table", "json", "csv")) -> None:
    """--format (first of ``formats`` by default) and --out; read the choice with :func:`output_format`."""
    parser.add_argument("--format", choices=list(formats), default=formats[0], help="output format")
    parser.add_argument("--out", type=Path, help="write to this file instead of standard output")
    parser.set_defaults(_output=(parser.prog, tuple(formats)))
    add_lang_arg(parser)


def add_lang_arg(parser: argparse.ArgumentParser) -> None:
    """--lang: the language of what a person reads (reports, maps); file columns and JSON keys stay English."""
    parser.add_argument("--lang", choices=["fr", "en"], default=None,
                        help="language of the text report or map: fr (default, or $FSGEO_LANG) or en; column "
                             "names and JSON keys stay English")


GIS_FORMATS = ("gpkg", "parquet", "fgb")


def output_format(args) -> str:
    """The output format, resolved and checked before any computation (:func:`fsgeo.export.check_output`).

    ``--format`` when given; else the one the ``--out`` ending asks for (``.json``, ``.geojson``, ``.csv``...);
    else the command's default (its text table). A one-line error when the ending names a format fsgeo cannot write
    (``.gpkg``, ``.shp``, ``.kml``...), when it contradicts ``--format`` (``--format json --out x.csv``), when the
    command does not produce that format, or when ``--out`` cannot be written (missing folder, not writable)."""
    from fsgeo import export

    prog, formats = args._output
    if args.out is None:
        return args.format
    asked = None if args.format == formats[0] else args.format
    try:
        by_ending = export.format_of(args.out)
        if by_ending is not None and asked is None:
            wanted = "table" if by_ending == "text" else by_ending
            if wanted not in formats:
                either = ", ".join(formats[:-1]) + " or " + formats[-1]
                other = (f"; for {export.OTHER_COMMAND[wanted]}" if wanted in export.OTHER_COMMAND
                         else "; choose --format, or a file ending that matches it")
                raise CliError(f"--out {args.out}: {prog} writes {either}, not {wanted}{other}")
        chosen = export.check_output(args.out, asked, allowed=formats, default=formats[0])
    except OSError as exc:  # OutputError: one line naming the file
        raise CliError(f"--out {exc}") from None
    # the command's own name for the format (its text report is "table")
    return next((f for f in formats if f == chosen or (f == "table" and chosen == "text")), chosen)


def emit(text: str, out: Path | None) -> None:
    """Write text to standard output, or atomically to ``out`` (checked by :func:`output_format` beforehand)."""
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        from fsgeo import export

        export.write_text(text, out)
        size = out.stat().st_size
        # a word on stderr so a script's stdout stays clean and a person sees where the result went
        print(f"wrote {out} ({size / 1e6:.1f} MB)" if size > 1e5 else f"wrote {out}", file=sys.stderr)


def to_json(obj) -> str:
    """JSON with NaN/inf as null and numpy/pandas scalars converted (:func:`fsgeo.export.json_text`)."""
    from fsgeo.export import json_text

    return json_text(obj)


def table(df, float_format: str = "{:.1f}") -> str:
    """Plain-text table for terminals."""
    return df.to_string(float_format=lambda v: float_format.format(v))


def provenance_of(args, network=None, **parameters) -> dict:
    """The provenance of a command's output (:func:`fsgeo.provenance.provenance`): the study it read, the network's
    profile, the parameters given, the command line as typed."""
    from fsgeo.provenance import provenance

    study = getattr(args, "study_data", None)
    if study is None and hasattr(args, "study"):
        study = study_of(args)
    for key in ("as_of", "kind", "own_departement_only"):
        if key not in parameters and getattr(args, key, None) not in (None, False):
            value = getattr(args, key)
            parameters[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return provenance(study, network, parameters, command=getattr(args, "_command", None))


def write_layers(fmt: str, layers: dict, out, prov: dict) -> None:
    """Write a GIS output with its provenance through the writers table (:func:`fsgeo.export.write`): a GeoPackage
    holds every layer (and their QGIS and SLD styles), GeoJSON, GeoParquet and FlatGeobuf the first one; a word on
    stderr says where it went."""
    from fsgeo import export

    if fmt != "gpkg":
        name = next(iter(layers))
        layers = {name: layers[name]}
    if out is None:
        if fmt == "geojson":  # GeoJSON may go to standard output
            sys.stdout.write(export.geojson_text(next(iter(layers.values())), metadata=prov) + "\n")
            return
        raise CliError(f"--format {fmt} writes a file: give --out FILE")
    path = export.write(layers, out, fmt, metadata=prov)
    print(f"wrote {path} ({', '.join(layers)})" if fmt == "gpkg" else f"wrote {path}", file=sys.stderr)


def emit_json(obj: dict, out, prov: dict) -> None:
    """A JSON object with its provenance in a top-level ``provenance`` member, to standard output or ``out``."""
    emit(to_json(obj if "provenance" in obj else {**obj, "provenance": prov}), out)


def write_csv_with_sidecar(text: str, out, prov: dict) -> None:
    """CSV text to ``out`` (or standard output) and, in a file, its provenance in the sidecar ``<file>.json``."""
    emit(text, out)
    if out is not None:
        from fsgeo.provenance import write_sidecar

        write_sidecar(out, prov)
