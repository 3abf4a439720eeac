"""``fsgeo datasets``: a readable summary of the study (name, départements, sources and their dates) and of its sites,
communes and road network (the embedded study by default, ``--study DIR``, or single files of one's own)."""

from __future__ import annotations

from collections import Counter

from fsgeo.cli.common import CliError, add_data_args, add_output_args, emit, emit_json, output_format, provenance_of, study_of
from fsgeo.errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "datasets",
        description="Summarise the study fsgeo would use (--study DIR, else $FSGEO_STUDY, else the embedded "
                    "Haute-Saône study): its name, départements and sources with their dates, and its sites, "
                    "communes and road network (or the files given by --sites, --communes, --network).",
    )
    add_data_args(p)
    add_output_args(p, formats=("table", "json"))
    p.set_defaults(func=run)


def _study_summary(study) -> dict:
    m = study.manifest
    return {
        "name": m.name, "label": study.label, "codes": list(m.codes), "path": str(study.root),
        "neighbours": list(m.neighbours), "metric_crs": m.metric_crs, "fsgeo_version": m.fsgeo_version,
        "network_source": (m.network or {}).get("source"),
        "sources": [{k: src.get(k) for k in ("id", "title", "date", "licence", "url")} for src in m.sources],
    }


def _sites_summary(args, study) -> dict:
    from fsgeo.datasets import sites_as_of

    path = study.paths["sites"]
    sites = study.sites
    info: dict = {"path": str(path), "total_in_file": len(sites)}
    if args.as_of is not None:
        sites = sites_as_of(sites, args.as_of)
        info["as_of"] = args.as_of.isoformat()
    if args.kind == "principal":
        sites = sites[sites["kind"] == "principal"]
    if args.own_departement_only:
        sites = sites[sites["in_departement"]]
    own, other = sites[sites["in_departement"]], sites[~sites["in_departement"]]
    dates = sites["labelled_on"].dropna()
    info.update({
        "count": len(sites),
        "in_departement": {"total": len(own), **{k: int(v) for k, v in sorted(Counter(own["kind"]).items())}},
        "neighbours": {"total": len(other),
                       "by_departement": {k: int(v) for k, v in sorted(Counter(other["departement"]).items())}},
        "by_kind": {k: int(v) for k, v in sorted(Counter(sites["kind"]).items())},
        "by_format": {k: int(v) for k, v in sorted(Counter(sites["format"]).items())},
        "labelled_from": min(dates) if len(dates) else None,
        "labelled_to": max(dates) if len(dates) else None,
        "undated": int(sites["labelled_on"].isna().sum()),
        "weekly_open_hours_median": float(sites["weekly_open_hours"].median()) if len(sites) else None,
    })
    return info


def _communes_summary(args, study) -> dict:
    path = study.paths["communes"]
    communes = study.communes
    return {
        "path": str(path), "available": True, "count": len(communes),
        "population": int(communes["population"].sum()),
        "area_km2": float(communes["area_km2"].sum()),
        "by_departement": {k: int(v) for k, v in sorted(Counter(communes["departement"]).items())},
    }


def _network_summary(args, study) -> dict:
    path = study.paths["network"]
    if path is None:  # a study without a road network (overseas): say so, and what to do
        try:
            study.network
        except InputError as exc:
            return {"path": None, "available": False, "reason": str(exc)}
    try:
        net = study.network
    except ImportError as exc:  # an optional extra (pyrosm for .osm.pbf) is missing: say which, in one line
        raise CliError(str(exc)) from None
    edges = net.edges
    oneway = edges["oneway"].astype(bool) if "oneway" in edges.columns else None
    # .edges holds one row per direction: a two-way road counts once
    length_m = (edges.loc[~oneway, "length_m"].sum() / 2 + edges.loc[oneway, "length_m"].sum()) \
        if oneway is not None else edges["length_m"].sum()
    main = getattr(net, "main_component", None)
    return {
        "path": str(path), "available": True, "nodes": len(net.nodes), "directed_edges": len(edges),
        "road_km": float(length_m) / 1000.0,
        "main_component_nodes": int(main.sum()) if main is not None else None,
        "by_road_class": ({k: int(v) for k, v in sorted(Counter(edges["road_class"]).items())}
                          if "road_class" in edges.columns else {}),
    }


def run(args) -> int:
    fmt = output_format(args)  # before the work: an --out ending the command cannot write is an error
    study = study_of(args)
    summary = {"study": _study_summary(study), "sites": _sites_summary(args, study),
               "communes": _communes_summary(args, study), "network": _network_summary(args, study)}
    args.study_data = study
    # the network's profile only when the study has one (a study without a network says so above)
    prov = provenance_of(args, study.network if summary["network"]["available"] else None)
    if fmt == "json":
        emit_json(summary, args.out, prov)
    else:
        from fsgeo import reports

        emit(reports.datasets_report(summary, lang=args.lang, provenance=prov), args.out)
    return 0
