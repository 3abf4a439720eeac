"""``fsgeo accessibility``: two-step floating catchment accessibility (supply within reach per 1,000 inhabitants)."""

from __future__ import annotations

import argparse

import pandas as pd

from fsgeo.cli.common import (
    add_data_args, add_output_args, emit, emit_json, output_format, positive_minutes, provenance_of, require_sites,
    report_unplaced, study_of, whole_number, write_csv_with_sidecar,
)

METHODS = ("2sfca", "e2sfca", "gaussian")


def _supply(text: str):
    """A number (same supply for every site) or a column name of the sites."""
    try:
        value = float(text)
    except ValueError:
        if not text.strip():
            raise argparse.ArgumentTypeError("empty supply: give a column name or a number") from None
        return text.strip()
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"numeric supply must be > 0, got {text}")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "accessibility",
        description="Two-step floating catchment area accessibility of every commune: the supply of the sites within "
                    "reach (weekly opening hours by default) shared among the inhabitants within reach of each "
                    "site, per 1,000 inhabitants. Classic 2SFCA (hard threshold), enhanced 2SFCA (Luo & Qi 2009 "
                    "step weights) or Gaussian decay.",
    )
    p.add_argument("--threshold", type=positive_minutes, default=None, metavar="MIN",
                   help="catchment threshold in minutes (default 30, the national commitment)")
    p.add_argument("--method", choices=METHODS, default="2sfca",
                   help="2sfca: weight 1 within the threshold; e2sfca: weights 1 / 0.68 / 0.22 in thirds of it; "
                        "gaussian: smooth decay to 0 at the threshold (default 2sfca)")
    p.add_argument("--supply", type=_supply, default="weekly_open_hours", metavar="COLUMN|NUMBER",
                   help="site supply: a column of the sites (default weekly_open_hours) or a number for every site "
                        "(1 counts sites)")
    p.add_argument("--no-outside-demand", action="store_true",
                   help="with the embedded communes, do not count the inhabitants of the neighbouring communes "
                        "within 30 km in the sites' catchments (the old, optimistic behaviour at the border)")
    p.add_argument("--top", type=whole_number(0), default=15, metavar="N",
                   help="table format: how many lowest-accessibility communes and most loaded sites to list "
                        "(default 15)")
    add_data_args(p)
    add_output_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from fsgeo import accessibility, coverage

    fmt = output_format(args)
    # cheap inputs first, so that a bad file fails before the network is loaded
    study = study_of(args)
    communes = study.communes
    sites = study.sites
    as_of = args.as_of.isoformat() if args.as_of is not None else None
    selected = coverage.select_sites(sites, communes, kind=args.kind, own_departement_only=args.own_departement_only,
                                     as_of=as_of)
    require_sites(selected, args)
    # the study's communes come with their neighbours across the boundary: the sites serve them too
    outside = None
    if args.communes is None and not args.no_outside_demand:
        outside = study.neighbour_communes  # None for a study without neighbours
    network = study.network
    unplaced = report_unplaced(network, selected, args)
    result = accessibility.two_step_fca(communes, selected, network=network, threshold_min=args.threshold,
                                        supply=args.supply, decay=None if args.method == "2sfca" else args.method,
                                        outside_demand=outside)
    meta = {
        **result.communes.attrs["fsgeo"],
        "outside_demand": None if outside is None else f"neighbouring communes of the study {study.label}",
        "as_of": as_of,
        "kind": args.kind,
        "own_departement_only": bool(args.own_departement_only),
        "n_sites_in_departement": int(selected["in_departement"].astype(bool).sum())
        if "in_departement" in selected.columns else None,
    }
    args.study_data = study
    prov = provenance_of(args, network, threshold_min=meta["threshold_min"], method=args.method,
                         supply=args.supply, outside_demand=meta["outside_demand"])
    if fmt == "json":
        emit_json({
            **meta,
            "summary": accessibility.summary(result),
            "communes": _plain(result.communes).to_dict(orient="records"),
            "sites": _plain(result.sites).to_dict(orient="records"),
            "unplaced_sites": unplaced,
        }, args.out, prov)
    elif fmt == "csv":
        from fsgeo.export import csv_text  # spreadsheet-safe cells

        write_csv_with_sidecar(csv_text(_plain(result.communes)), args.out, prov)
    else:
        from fsgeo import reports

        emit(reports.accessibility_report(result, meta, accessibility.summary(result), top=args.top,
                                          communes_given=args.communes is not None, lang=args.lang,
                                          provenance=prov), args.out)
    return 0


def _plain(df) -> pd.DataFrame:
    import geopandas as gpd

    return pd.DataFrame(df.drop(columns=df.geometry.name)) if isinstance(df, gpd.GeoDataFrame) else pd.DataFrame(df)
