"""``fsgeo accessibility``: two-step floating catchment accessibility (supply within reach per 1,000 inhabitants)."""

from __future__ import annotations

import argparse

import pandas as pd

from fsgeo.cli.common import (
    add_data_args, add_output_args, emit, output_format, positive_minutes, require_sites, table, to_json,
    study_of, whole_number,
)

METHODS = ("2sfca", "e2sfca", "gaussian")
_METHOD_TEXT = {
    "2sfca": "classic 2SFCA (Luo & Wang 2003)",
    "e2sfca": "enhanced 2SFCA (Luo & Qi 2009)",
    "gaussian": "Gaussian 2SFCA (Dai 2010)",
}


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
        help="floating-catchment accessibility: opening hours within reach per 1,000 inhabitants (2SFCA)",
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
    if fmt == "json":
        emit(to_json({
            **meta,
            "summary": accessibility.summary(result),
            "communes": _plain(result.communes).to_dict(orient="records"),
            "sites": _plain(result.sites).to_dict(orient="records"),
        }), args.out)
    elif fmt == "csv":
        emit(_plain(result.communes).to_csv(index=False), args.out)
    else:
        emit(_table(result, meta, accessibility.summary(result), args), args.out)
    return 0


def _plain(df) -> pd.DataFrame:
    import geopandas as gpd

    return pd.DataFrame(df.drop(columns=df.geometry.name)) if isinstance(df, gpd.GeoDataFrame) else pd.DataFrame(df)


def _n(x, digits=0) -> str:
    if x is None or pd.isna(x):
        return "n/a"
    return f"{x:,.{digits}f}".replace(",", " ")


def _table(result, meta: dict, s: dict, args) -> str:
    c, st = result.communes, result.sites
    t = meta["threshold_min"]
    unit = meta["unit"]
    lines = [f"fsgeo accessibility: {_METHOD_TEXT[meta['method']]}, catchment {t:g} min"
             + (f", sites as of {meta['as_of']}" if meta.get("as_of") else "")
             + (", principal spaces only" if meta["kind"] == "principal" else "")
             + (", own département only" if meta["own_departement_only"] else "")]
    lines.append(f"Weights: {meta['weights']}")
    own = meta.get("n_sites_in_departement")
    lines.append(f"{meta['n_sites']} sites" + (f" ({own} in the département, {meta['n_sites'] - own} neighbouring)"
                                               if own is not None else "")
                 + f", {s['n_communes']} communes, {_n(s['population'])} inhabitants; total supply "
                 f"{_n(meta['total_supply'], 1)} {meta['supply_unit']}")
    if meta.get("outside_communes"):
        lines.append(f"Outside demand: {meta['outside_communes']} communes of neighbouring départements, "
                     f"{_n(meta['outside_population'])} inhabitants, counted in the sites' catchments: "
                     f"{_n(meta['outside_population_in_reach'])} of them within reach of a site, taking "
                     f"{_n(meta['supply_to_outside'], 1)} {meta['supply_unit']}"
                     + (f"; {meta['outside_communes_not_routed']} commune(s) not routed "
                        f"({_n(meta['outside_population_not_routed'])} inhabitants)"
                        if meta["outside_communes_not_routed"] else ""))
    else:
        lines.append("Outside demand: none (only the inhabitants of the communes studied count in the sites' "
                     "catchments)")
    lines.append("")
    lines.append(f"Accessibility = {unit} within reach")
    lines.append(f"  population-weighted mean {_n(s['mean'], 2)}, median {_n(s['median'], 2)}, "
                 f"10th percentile {_n(s['p10'], 2)}, 90th percentile {_n(s['p90'], 2)}")
    lines.append(f"  lowest commune {_n(s['min'], 2)}, highest {_n(s['max'], 2)}")
    if meta.get("n_sites_neighbour"):
        lines.append(f"  {_n(100 * s['neighbour_share'], 0)} % of it owed to the {meta['n_sites_neighbour']} sites of "
                     "neighbouring départements"
                     + ("" if meta.get("outside_communes") else
                        ", whose own inhabitants are not counted (optimistic: see the note)"))
    for status, text in (("no_site_in_reach", f"no site within {t:g} min (accessibility 0)"),
                         ("unreachable", "not routed (accessibility 0)")):
        b = s["status"][status]
        if b["communes"] or status == "no_site_in_reach":
            lines.append(f"  communes with {text}: {b['communes']} ({_n(b['population'])} inhabitants)")
    lines.append("")
    worst = c.sort_values(["accessibility", "population"], ascending=[True, False], kind="stable").head(args.top)
    lines.append(f"Lowest accessibility ({len(worst)} of {len(c)} communes; --format csv or json for all):")
    cols = ["code", "name", "population", "accessibility", "accessibility_index", "accessibility_neighbours",
            "sites_in_reach",
            "nearest_minutes", "status"]
    lines.append(table(pd.DataFrame(worst[cols]).set_index("code"), float_format="{:.2f}"))
    reasons = worst[worst["reason"] != ""]
    if len(reasons):
        lines.append("")
        lines.append("Why:")
        lines.extend(f"  {r.code} {r.name}: {r.reason}" for r in reasons.itertuples())
    lines.append("")
    # sites reaching no commune studied give it nothing, even when their ratio is defined by outside demand
    useful = (st["status"] == "ok") & (st["communes_in_reach"] > 0)
    ok = st[useful].sort_values("ratio", kind="stable").head(args.top)
    lines.append(f"Most loaded sites: lowest supply per 1,000 inhabitants within reach ({len(ok)} of {len(st)}):")
    cols = ["id", "name", "departement", "supply", "demand_within"] + \
        (["demand_outside"] if meta.get("outside_communes") else []) + ["communes_in_reach", "ratio"]
    lines.append(table(pd.DataFrame(ok[cols]).set_index("id"), float_format="{:.2f}"))
    other = st[~useful]
    if len(other):
        lines.append("")
        lines.append(f"Sites giving nothing to the communes studied ({len(other)}"
                     + (f", first {args.top} listed" if len(other) > args.top else "") + "):")
        for r in other.head(args.top).itertuples():
            why = r.reason if r.status != "ok" else \
                f"no commune studied within {t:g} min (outside demand within reach: {_n(r.demand_outside)})"
            lines.append(f"  {r.id} {r.name}: {r.status}, {why}")
    lines.append("")
    if meta.get("outside_communes"):
        lines.append("Note: the inhabitants of the neighbouring communes within 30 km of the boundary share the "
                     "sites' supply (step 1) but get no row here. Demand farther away (beyond the embedded network) "
                     "or in départements that are not neighbours is not counted, so sites whose catchment reaches "
                     "that far remain slightly optimistic; --no-outside-demand shows the uncorrected edge effect.")
    elif meta.get("n_sites_neighbour") or meta.get("n_sites"):
        lines.append("Note: sites near the boundary also serve inhabitants outside the communes studied, not counted "
                     "here, so their ratios and the accessibility of the border communes using them are optimistic "
                     "(column accessibility_neighbours in csv/json for the sites of other départements)"
                     + ("" if args.communes is not None else "; drop --no-outside-demand to count them") + ".")
    return "\n".join(lines)
