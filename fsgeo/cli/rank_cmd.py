"""``fsgeo rank``: score candidate sites and choose new ones, the existing France Services sites kept open."""

from __future__ import annotations

import pandas as pd

from fsgeo.cli.common import (
    CliError, add_data_args, add_output_args, emit, output_format, positive_minutes, positive_seconds, table, to_json,
    study_of, whole_number,
)

MODELS = ("greedy", "mclp", "lscp", "pmedian", "pcenter")
_MODEL_TEXT = {
    "greedy": "greedy heuristic",
    "mclp": "maximal covering (exact, HiGHS)",
    "lscp": "set covering (exact, HiGHS)",
    "pmedian": "p-median (exact, HiGHS)",
    "pcenter": "p-center (exact, HiGHS)",
}
_OBJECTIVE_TEXT = {
    "population_within_threshold": "population within {t:g} min",
    "total_weighted_minutes": "total population-weighted minutes",
    "max_minutes": "maximum minutes to the nearest site",
    "new_sites": "new sites needed so that every coverable commune is within {t:g} min",
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "rank",
        help="score candidate sites and choose up to k new ones (greedy or exact location models)",
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
    p.add_argument("--model", choices=MODELS, default="greedy", help="how the new sites are chosen (default greedy)")
    p.add_argument("--objective", choices=["coverage", "pmedian", "pcenter"], default="coverage",
                   help="objective of the greedy model (default coverage)")
    p.add_argument("--time-limit", type=positive_seconds, default=None, metavar="S",
                   help="time limit per MILP solve, seconds")
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
    result = rank_candidates(
        candidates, communes=communes, sites=sites, network=network, k=args.k, threshold=args.threshold,
        model=args.model, as_of=as_of, kind=args.kind, own_departement_only=args.own_departement_only,
        objective=args.objective, on_unplaced="skip" if args.all_communes else "raise",
        time_limit_s=args.time_limit,
    )
    if fmt == "json":
        emit(to_json(result.to_dict()), args.out)
    elif fmt == "csv":
        emit(_csv(result), args.out)
    else:
        emit(_table(result, args), args.out)
    return 0


def _csv(result) -> str:
    """One row per candidate: attributes, chosen rank and parent (antennas), then the scores."""
    scores = result.scores.copy()
    scores["takeover_codes"] = scores["takeover_codes"].map(lambda codes: ";".join(codes))
    parents = result.chosen.set_index("id")[["parent_id", "parent_name", "parent_minutes", "parent_source"]]
    declared = scores["parent_id"]
    scores = scores.drop(columns="parent_id").join(parents, on="id")
    # a chosen antenna's parent as attached; a candidate not chosen keeps the parent its file declared
    scores["parent_id"] = scores["parent_id"].where(scores["parent_id"].notna(), declared)
    front = ["chosen_rank", "id", "name", "commune_code", "commune_name", "lon", "lat", "kind", "parent_id",
             "parent_name", "parent_minutes", "parent_source"]
    scores = scores[[*front, *[c for c in scores.columns if c not in front]]]
    scores["chosen_rank"] = scores["chosen_rank"].astype("Int64")
    return scores.to_csv(index=False)


def _fmt(value, digits=0) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def _table(result, args) -> str:
    res = result.result
    t = res.threshold
    lines = [f"fsgeo rank: {_MODEL_TEXT[res.model]}"
             + (f" ({result.meta['objective']})" if res.model == "greedy" else "")
             + (f", k = {res.k}" if res.model != "lscp" else "") + f", threshold {t:g} min"
             + (f", sites as of {result.meta['as_of']}" if result.meta.get("as_of") else "")]
    lines.append(f"{result.meta['n_candidates']} candidate(s) routed, {result.meta['n_communes']} communes, "
                 f"{_fmt(result.meta['population'])} inhabitants; "
                 f"{_fmt(result.meta['population_within_threshold_before'])}"
                 f" within {t:g} min of the existing sites")
    digits = 1 if res.objective_name in ("max_minutes",) else 0
    what = _OBJECTIVE_TEXT[res.objective_name].format(t=t)
    if res.objective_name == "new_sites":
        lines.append(f"Objective ({what}): {_fmt(res.objective)}; status {res.status}")
    else:
        lines.append(f"Objective ({what}): {_fmt(res.objective, digits)} (existing sites alone: "
                     f"{_fmt(res.baseline, digits)}); status {res.status}")
    if res.model != "greedy" and res.greedy_objective is not None:
        lines.append(("Greedy set cover" if res.model == "lscp" else "Greedy with the same k")
                     + f": {_fmt(res.greedy_objective, digits)} (gap {_fmt(res.gap, digits)}"
                     + (f", {res.gap_pct:.2f} %" if res.gap_pct is not None and pd.notna(res.gap_pct) else "") + ")")
    if res.message:
        lines.append(f"Note: {res.message}")
    lines.append("")
    if len(result.chosen):
        cols = ["rank", "id", "name", "commune_code", "kind", "gain_population", "served_population", "mean_minutes",
                "max_minutes"]
        chosen = result.chosen[cols].copy()
        if (result.chosen["kind"] == "antenna").any():
            chosen["run_by"] = [
                "" if kind != "antenna" else
                "no principal space reachable" if not isinstance(i, str) else
                f"{n or i} ({_fmt(m, 1)} min, {src})"
                for kind, i, n, m, src in zip(result.chosen["kind"], result.chosen["parent_id"],
                                              result.chosen["parent_name"], result.chosen["parent_minutes"],
                                              result.chosen["parent_source"])]
        lines.append("Chosen new sites (gains are marginal, in this order):")
        lines.append(table(chosen.set_index("rank")))
    else:
        lines.append("No new site chosen.")
    lines.append("")
    top = result.scores.head(args.top)
    lines.append(f"Candidates on their own, best first ({len(top)} of {len(result.scores)}; --format csv or json "
                 "for all):")
    cols = ["rank", "id", "name", "gain_population", "resolved_communes", "mean_reduction_min", "max_minutes_after",
            "takeover_communes", "takeover_population"]
    lines.append(table(top[cols].set_index("rank"), float_format="{:.2f}"))
    if len(result.unplaced):
        lines.append("")
        lines.append(f"Candidates not placed on the road network ({len(result.unplaced)}), left out:")
        lines.append(table(result.unplaced.set_index("id")))
    if len(res.excluded):
        lines.append("")
        lines.append(f"Communes the model could not help ({len(res.excluded)}"
                     + (f", first {args.top} listed; --format csv or json for all" if len(res.excluded) > args.top
                        else "") + "):")
        lines.append(table(res.excluded.head(args.top).set_index("code"), float_format="{:.0f}"))
    return "\n".join(lines)
