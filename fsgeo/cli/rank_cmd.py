"""``fsgeo rank``: score candidate sites and choose new ones, the existing France Services sites kept open."""

from __future__ import annotations

import argparse

from fsgeo.cli.common import (
    CliError, add_data_args, add_output_args, emit, emit_json, output_format, positive_minutes, positive_seconds,
    provenance_of, report_unplaced, study_of, whole_number, write_csv_with_sidecar,
)

def register(subparsers) -> None:
    from fsgeo.siting.registry import model_specs

    p = subparsers.add_parser(
        "rank",
        description="Score candidate sites on their own (population newly within the threshold, mean-time reduction, "
                    "communes taken over) and choose up to k new sites with the existing ones kept open: greedy, or "
                    "exact MCLP / LSCP / p-median / p-center solved with HiGHS.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--candidates", type=str, metavar="FILE",
                     help="candidate sites: GeoJSON / GeoPackage of points, or CSV with lat/lon or an INSEE commune "
                          "code (optional columns id, name, kind principal|antenna, parent)")
    src.add_argument("--all-communes", action="store_true",
                     help="every commune's demand point that does not already host a site")
    p.add_argument("--min-population", type=whole_number(0), default=None, metavar="N",
                   help="with --all-communes: only communes with at least N inhabitants")
    p.add_argument("--candidate-kind", choices=["principal", "antenna"], default="principal",
                   help="with --all-communes: kind given to the generated candidates (default principal)")
    p.add_argument("--k", type=whole_number(0), default=3, help="number of new sites (default 3; ignored by lscp)")
    p.add_argument("--threshold", type=positive_minutes, default=None, metavar="MIN",
                   help="coverage threshold in minutes (default 20)")
    specs = model_specs()
    p.add_argument("--model", choices=list(specs), default="greedy", metavar="MODEL",
                   help="how the new sites are chosen (default greedy): "
                        + "; ".join(f"{s.name}: {s.title}" for s in specs.values()))
    p.add_argument("--objective", choices=["coverage", "pmedian", "pcenter"], default=None,
                   help="objective of the greedy model (default coverage); the exact models have their own")
    p.add_argument("--time-limit", type=positive_seconds, default=None, metavar="S",
                   help="time limit per MILP solve, seconds")
    p.add_argument("--restricted", action=argparse.BooleanOptionalAction, default=None,
                   help="models that allow it (" + ", ".join(n for n, s in specs.items() if s.restrictable)
                        + "): solve on the communes beyond the threshold and the candidates within it of one only "
                          "(same optimum, bounded memory; the per-candidate mean times and takeovers are then not "
                          "computed); default: on for studies of more than 2,000 communes")
    p.add_argument("--top", type=whole_number(0), default=15, metavar="N",
                   help="table format: how many ranked candidates to list (default 15)")
    add_data_args(p)
    add_output_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from fsgeo import coverage
    from fsgeo.siting import candidates_from_communes, rank_candidates, read_candidates

    if args.min_population is not None and not args.all_communes:
        raise CliError("--min-population only applies with --all-communes")
    if args.objective is not None and args.model != "greedy":
        raise CliError(f"--objective only applies with --model greedy (--model {args.model} has its own objective)")
    args.objective = args.objective or "coverage"
    if args.restricted:
        from fsgeo.siting.registry import model_spec

        if not model_spec(args.model).restrictable:
            raise CliError(f"--restricted does not apply to --model {args.model}: it needs every commune-candidate time")
    fmt = output_format(args)
    # cheap inputs first, so that a bad file fails before the network is loaded
    study = study_of(args)
    communes = study.communes
    candidates = None if args.all_communes else read_candidates(args.candidates, communes)
    sites = study.sites
    as_of = args.as_of.isoformat() if args.as_of is not None else None
    if args.all_communes:
        hosts = coverage.select_sites(sites, communes, as_of=as_of)
        candidates = candidates_from_communes(communes, hosts, min_population=args.min_population or 0,
                                              kind=args.candidate_kind)
        if len(candidates) == 0:
            raise CliError("no candidate: every commune hosts a site or is below --min-population")
    network = study.network
    # one rule for sites and candidates: left out and reported (stderr, JSON), or an error with --strict
    unplaced_sites = report_unplaced(network, coverage.select_sites(
        sites, communes, kind=args.kind, own_departement_only=args.own_departement_only, as_of=as_of), args)
    report_unplaced(network, candidates, args, what="candidate", listed_in='--format json, "unplaced"')
    result = rank_candidates(
        candidates, communes=communes, sites=sites, network=network, k=args.k, threshold=args.threshold,
        model=args.model, as_of=as_of, kind=args.kind, own_departement_only=args.own_departement_only,
        objective=args.objective, on_unplaced="raise" if args.strict else "skip",
        time_limit_s=args.time_limit, restricted=args.restricted,
    )
    args.study_data = study
    prov = provenance_of(args, network, threshold_min=result.result.threshold, model=args.model,
                         k=None if args.model == "lscp" else args.k,
                         objective=args.objective if args.model == "greedy" else None,
                         candidates="all communes" if args.all_communes else str(args.candidates),
                         min_population=args.min_population, time_limit_s=args.time_limit)
    if fmt == "json":
        emit_json({**result.to_dict(), "unplaced_sites": unplaced_sites}, args.out, prov)
    elif fmt == "csv":
        write_csv_with_sidecar(_csv(result), args.out, prov)
    else:
        from fsgeo import reports

        names = dict(zip(communes["code"].astype(str), communes["name"].astype(str))) if "name" in communes else None
        emit(reports.rank_report(result, top=args.top, commune_names=names, lang=args.lang, provenance=prov),
             args.out)
    return 0


def _csv(result) -> str:
    """One row per candidate: attributes, chosen rank and parent (antennas), then the scores."""
    scores = result.scores.copy()
    scores["takeover_codes"] = scores["takeover_codes"].map(lambda codes: ";".join(codes) if isinstance(codes, list) else "")
    parents = result.chosen.set_index("id")[["parent_id", "parent_name", "parent_minutes", "parent_source"]]
    declared = scores["parent_id"]
    scores = scores.drop(columns="parent_id").join(parents, on="id")
    # a chosen antenna's parent as attached; a candidate not chosen keeps the parent its file declared
    scores["parent_id"] = scores["parent_id"].where(scores["parent_id"].notna(), declared)
    front = ["chosen_rank", "id", "name", "commune_code", "commune_name", "lon", "lat", "kind", "parent_id",
             "parent_name", "parent_minutes", "parent_source"]
    scores = scores[[*front, *[c for c in scores.columns if c not in front]]]
    scores["chosen_rank"] = scores["chosen_rank"].astype("Int64")
    from fsgeo.export import csv_text  # spreadsheet-safe cells

    return csv_text(scores)
