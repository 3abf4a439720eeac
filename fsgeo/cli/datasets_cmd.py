"""``fsgeo datasets``: a readable summary of the study (name, départements, sources and their dates) and of its sites,
communes and road network (the embedded study by default, ``--study DIR``, or single files of one's own)."""

from __future__ import annotations

from collections import Counter

from fsgeo.cli.common import CliError, add_data_args, add_output_args, emit, output_format, study_of, to_json
from fsgeo.errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "datasets",
        help="summarise the study: its name, sources, sites, communes and road network",
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


def _thousands(x: float) -> str:
    return f"{x:,.0f}".replace(",", " ")


def _table(summary: dict) -> str:
    st, s, c, n = summary["study"], summary["sites"], summary["communes"], summary["network"]
    codes = ", ".join(st["codes"])
    lines = [f"Study: {st['name']} (département{'s' if len(st['codes']) > 1 else ''} {codes}): {st['path']}"]
    if st["neighbours"]:
        lines.append(f"  neighbouring départements: {', '.join(st['neighbours'])}")
    lines.append(f"  metric CRS: {st['metric_crs']}" + (f"; road network: {st['network_source']}"
                                                         if st["network_source"] else "; no road network"))
    for src in st["sources"]:
        lines.append(f"  source: {src['title'] or src['id']}" + (f" ({src['date']})" if src["date"] else " (undated)")
                     + (f", {src['licence']}" if src["licence"] else ""))
    lines.append(f"Sites: {s['path']}")
    lines.append(f"  {s['count']} structures" + (f" (of {s['total_in_file']} in the file)"
                                                      if s["count"] != s["total_in_file"] else ""))
    if "as_of" in s:
        lines.append(f"  as of {s['as_of']}: only structures labelled on or before that date")
    own = s["in_departement"]
    kinds = ", ".join(f"{v} {k}" for k, v in own.items() if k != "total")
    lines.append(f"  in {st['label']}: {own['total']}" + (f" ({kinds})" if kinds else ""))
    nb = s["neighbours"]
    per = ", ".join(f"{k}: {v}" for k, v in nb["by_departement"].items())
    lines.append(f"  in neighbouring départements: {nb['total']}" + (f" ({per})" if per else ""))
    lines.append("  by kind: " + (", ".join(f"{k} {v}" for k, v in s["by_kind"].items()) or "-"))
    lines.append("  by format: " + (", ".join(f"{k} {v}" for k, v in s["by_format"].items()) or "-"))
    if s["labelled_from"]:
        lines.append(f"  labelled from {s['labelled_from']} to {s['labelled_to']}"
                     + (f" ({s['undated']} undated)" if s["undated"] else ""))
    if s["weekly_open_hours_median"] is not None and s["weekly_open_hours_median"] == s["weekly_open_hours_median"]:
        lines.append(f"  median opening time: {s['weekly_open_hours_median']:.1f} h/week")
    lines.append(f"Communes: {c['path']}")
    if c["available"]:
        deps = ", ".join(f"{k}: {v}" for k, v in c["by_departement"].items())
        lines.append(f"  {c['count']} communes ({deps}), population {_thousands(c['population'])}, "
                     f"area {_thousands(c['area_km2'])} km²")
    else:
        lines.append(f"  not available: {c['reason']}")
    lines.append(f"Road network: {n['path'] or 'none'}")
    if n["available"]:
        lines.append(f"  {n['nodes']} nodes, {n['directed_edges']} directed edges, "
                     f"{_thousands(n['road_km'])} km of road")
        if n["main_component_nodes"] is not None:
            lines.append(f"  main connected component: {n['main_component_nodes']} of {n['nodes']} nodes")
        if n["by_road_class"]:
            lines.append("  directed edges by class: " + ", ".join(f"{k} {v}" for k, v in n["by_road_class"].items()))
    else:
        lines.append(f"  not available: {n['reason']}")
    return "\n".join(lines)


def run(args) -> int:
    fmt = output_format(args)  # before the work: an --out ending the command cannot write is an error
    study = study_of(args)
    summary = {"study": _study_summary(study), "sites": _sites_summary(args, study),
               "communes": _communes_summary(args, study), "network": _network_summary(args, study)}
    emit(to_json(summary) if fmt == "json" else _table(summary), args.out)
    return 0
