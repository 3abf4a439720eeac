"""``fsgeo coverage``, ``fsgeo underserved``, ``fsgeo catchments``, ``fsgeo timeline``: drive-time coverage reports."""

from __future__ import annotations

import io as _io

import numpy as np
import pandas as pd

from fsgeo.cli.common import (
    CliError, add_data_args, add_output_args, emit, minutes_list, output_format, positive_minutes, require_sites,
    study_label, study_of, to_json,
)
from fsgeo.coverage import ACCESS_COLUMNS
from fsgeo.settings import settings

ACCESS_RECORD = ["code", "name", "population", "nearest_site_id", "nearest_site_name", "minutes", "status"]
ACCESS_CSV = ACCESS_COLUMNS  # the per-commune table, in the order coverage.access_times returns it


# --------------------------------------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------------------------------------
def register(subparsers) -> None:
    p = subparsers.add_parser(
        "coverage",
        help="drive time from every commune to its nearest France Services site: the coverage report",
        description="Drive time by car from every commune to its nearest France Services site (antennas and sites of "
        "neighbouring départements included by default): shares of inhabitants within each band, the national "
        "30-minute commitment, under-served communes and zones. On the study of --study (default $FSGEO_STUDY, else "
        "the embedded Haute-Saône study).",
    )
    _threshold_arg(p)
    p.add_argument(
        "--bands",
        type=minutes_list,
        metavar="MIN,MIN,...",
        help="bands for the shares, minutes (default: %s)" % ",".join(f"{b:g}" for b in settings.summary_bands_min),
    )
    p.add_argument("--top", type=int, default=10, metavar="N", help="communes listed in the report tables (default 10)")
    add_data_args(p)
    add_output_args(p, formats=("table", "json", "csv"))
    p.set_defaults(func=run_coverage)

    p = subparsers.add_parser(
        "underserved",
        help="communes beyond the threshold, ranked, and the zones they form",
        description="Communes whose nearest site is beyond the threshold, ranked by inhabitants x minutes over it, "
        "and adjacent ones grouped into zones: where a new site or antenna would help most. "
        "--out FILE.geojson writes a GeoJSON (communes with their zone, or the zones with --zones).",
    )
    _threshold_arg(p)
    p.add_argument("--zones", action="store_true", help="GeoJSON/CSV output: one row per zone instead of per commune")
    add_data_args(p)
    add_output_args(p, formats=("table", "json", "csv", "geojson"))
    p.set_defaults(func=run_underserved)

    p = subparsers.add_parser(
        "catchments",
        help="drive-time catchment polygons of every site (10/20/30 min by default)",
        description="Drive-time catchment of every site for each band, built from the road network (not a convex "
        "hull); bands nest. --out FILE.geojson writes the polygons. --service-areas gives instead each site's "
        "service area (the communes whose nearest site it is).",
    )
    p.add_argument(
        "--bands",
        type=minutes_list,
        metavar="MIN,MIN,...",
        help="bands, minutes (default: %s)" % ",".join(f"{b:g}" for b in settings.bands_min),
    )
    p.add_argument("--service-areas", action="store_true", help="service areas instead of drive-time catchments")
    p.add_argument("--jobs", type=int, default=-1, metavar="N", help="threads for the polygons (default -1: one per CPU)")
    add_data_args(p)
    add_output_args(p, formats=("table", "csv", "geojson"))
    p.set_defaults(func=run_catchments)

    p = subparsers.add_parser(
        "timeline",
        help="coverage at every labellisation date: how the network got finer",
        description="Coverage of the communes at every labellisation date of the département's sites: sites open, "
        "inhabitants within 20 and 30 minutes, mean time.",
    )
    p.add_argument(
        "--bands", type=minutes_list, metavar="MIN,MIN,...", default=(20.0, 30.0), help="bands, minutes (default 20,30)"
    )
    add_data_args(p)
    add_output_args(p, formats=("table", "json", "csv"))
    p.set_defaults(func=run_timeline)


def _threshold_arg(p) -> None:
    p.add_argument(
        "--threshold",
        type=positive_minutes,
        metavar="MIN",
        help=f"under-served beyond this many minutes (default {settings.threshold_min:g})",
    )


# --------------------------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------------------------
def _load(args, need_network=True):
    """Communes, sites and (when needed) network of the study (``--study``, single files replaced by ``--sites``,
    ``--communes``, ``--network``); the study is kept as ``args.study_data`` for titles and a later network."""
    args.study_data = study = study_of(args)
    return study.communes, study.sites, study.network if need_network else None


def _access(args):
    from fsgeo import coverage

    communes, sites, network = _load(args)
    access = coverage.access_times(
        communes,
        sites,
        network,
        threshold_min=getattr(args, "threshold", None),
        own_departement_only=args.own_departement_only,
        kind=args.kind,
        as_of=args.as_of,
    )
    return communes, sites, network, access


def _geojson(gdf) -> str:
    return gdf.to_crs(settings.crs).to_json(drop_id=True, na="null")


def _csv(df, columns=None) -> str:
    buf = _io.StringIO()
    df = pd.DataFrame(df.drop(columns=[c for c in ("geometry",) if c in df.columns]))
    (df[columns] if columns else df).to_csv(buf, index=False, float_format="%.2f", lineterminator="\n")
    return buf.getvalue()


def _departement_label(args, communes) -> str:
    """The study's name for titles (``"Haute-Saône (70)"``), or what ``--communes`` covers."""
    return study_label(args.study_data, args)


# --------------------------------------------------------------------------------------------------------------------
# formatting helpers
# --------------------------------------------------------------------------------------------------------------------
def _n(v) -> str:
    """Integer with spaces between thousands (233 185)."""
    return f"{int(round(v)):,}".replace(",", " ")


def _pct(v) -> str:
    return "   n/a" if v is None or not np.isfinite(v) else f"{100 * v:5.1f} %"


def _min(v) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.1f}"


def _cut(text, width) -> str:
    text = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _short_site(name) -> str:
    name = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
    for prefix in ("France services de la ", "France services de l'", "France services de ", "France services d'", "France services "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _plain(text) -> str:
    """Lower-case letters only, accents removed (for "is the commune already in the name" checks)."""
    import unicodedata

    text = unicodedata.normalize("NFKD", str(text))
    return "".join(ch for ch in text.lower() if ch.isalpha())


def site_labels(sites) -> dict:
    """Short label of every site id: its name without "France services", plus its commune when not in the name."""
    out = {}
    communes = sites["commune_name"] if "commune_name" in sites.columns else pd.Series("", index=sites.index)
    for ident, name, commune in zip(sites["id"].astype(str), sites["name"], communes):
        label = _short_site(name)
        commune = "" if commune is None or (isinstance(commune, float) and np.isnan(commune)) else str(commune)
        if commune and _plain(commune) not in _plain(label):
            label = f"{label} ({commune})"
        out[ident] = label
    return out


def _rows(lines, header, rows, widths, aligns) -> None:
    fmt = "  " + "  ".join(f"{{:{'<' if a == 'l' else '>'}{w}}}" for w, a in zip(widths, aligns))
    lines.append(fmt.format(*header).rstrip())
    for r in rows:
        lines.append(fmt.format(*[_cut(v, w) for v, w in zip(r, widths)]).rstrip())


# --------------------------------------------------------------------------------------------------------------------
# fsgeo coverage
# --------------------------------------------------------------------------------------------------------------------
def run_coverage(args) -> int:
    from fsgeo import catchments, coverage

    if args.top < 0:
        raise CliError("--top must be >= 0")
    fmt = output_format(args)
    communes, sites, network, access = _access(args)
    summ = coverage.summary(access, bands=args.bands, n_worst=max(args.top, 1))
    if fmt == "json":
        out = {"summary": _summary_json(summ, access), "communes": _records(access)}
        emit(to_json(out), args.out)
    elif fmt == "csv":
        emit(_csv(access, ACCESS_CSV), args.out)
    else:
        areas = catchments.service_areas(access, dissolve=False)
        report = coverage_report(
            access, summ, areas, label=_departement_label(args, communes), top=args.top, labels=site_labels(sites)
        )
        emit(report, args.out)
    return 0


def _records(access) -> list[dict]:
    df = pd.DataFrame(access[ACCESS_RECORD])
    df["minutes"] = df["minutes"].round(2)
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()} for r in df.to_dict("records")]


def _summary_json(summ, access) -> dict:
    d = summ.to_dict()
    meta = d.pop("meta", {})
    d["sites"] = {
        "selected": meta.get("n_sites"),
        "counted": meta.get("n_sites_routed", meta.get("n_sites")),  # selected and placed on the road network
        "in_departement": meta.get("n_sites_own"),
        "neighbouring": meta.get("n_sites_neighbour"),
        "antennas": meta.get("n_antennas"),
        "not_routed": meta.get("site_issues", []),
        "kind": meta.get("kind"),
        "own_departement_only": meta.get("own_departement_only"),
        "as_of": meta.get("as_of"),
    }
    d["unreachable"] = [
        {"code": r.code, "name": r.name, "population": int(r.population), "reason": r.reason}
        for r in access[access["status"] == "unreachable"].itertuples()
    ]
    return d


def coverage_report(access, summ, areas, label="", top=10, labels=None) -> str:
    """The plain-text coverage report (``fsgeo coverage``); ``labels`` maps site ids to display names."""
    from fsgeo import coverage

    labels = labels or {}

    def site(ident, name):
        return labels.get(str(ident), _short_site(name))

    meta = summ.meta
    thr = summ.threshold_min
    com = summ.commitment_min
    lines = []
    title = f"France Services coverage — {label}: drive time by car to the nearest site"
    lines += [title, "=" * len(title)]
    lines.append(f"Communes   {summ.n_communes} communes, {_n(summ.population)} inhabitants (INSEE population municipale)")
    n_own, n_nb = meta.get("n_sites_own", 0), meta.get("n_sites_neighbour", 0)
    what = "principal spaces only" if meta.get("kind") == "principal" else "antennas included"
    n_sites = meta.get("n_sites", 0)
    n_routed = meta.get("n_sites_routed", n_sites)
    counted = f"{n_routed} counted of {n_sites} selected" if n_routed < n_sites else f"{n_sites} counted"
    sites_line = f"Sites      {counted} ({what}): {n_own} in the département"
    if meta.get("own_departement_only"):
        sites_line += ", neighbouring départements' sites ignored"
    else:
        sites_line += f", {n_nb} in neighbouring départements"
    lines.append(sites_line)
    if meta.get("as_of"):
        lines.append(f"           network as it stood on {meta['as_of']} (sites labelled by then)")
    for issue in meta.get("site_issues", []):
        lines.append(f"           site {issue['id']} not counted: {issue['reason']}")
    lines.append("Method     from each commune's representative point, over the road network at typical driving speeds,")
    lines.append("           with the legs between the road and the commune or the site; whole commune at its point.")
    lines.append("")

    lines.append("Inhabitants by drive time to the nearest site")
    rows = []
    for r in summ.bands.itertuples():
        note = ""
        if abs(r.band_min - thr) < 1e-9:
            note = "<- under-served threshold"
        elif abs(r.band_min - com) < 1e-9:
            note = "<- national commitment"
        rows.append([f"{r.band_min:g} min", _n(r.population), _pct(r.population_share), _n(r.communes), _pct(r.commune_share), note])
    _rows(lines, ["within", "inhabitants", "share", "communes", "share", ""], rows, [9, 11, 7, 8, 7, 26], "lrrrrl")
    worst_name = summ.worst["name"].iloc[0] if len(summ.worst) else ""
    lines.append(
        f"  Per inhabitant: mean {_min(summ.mean_min)} min, median {_min(summ.median_min)}, 90th percentile "
        f"{_min(summ.p90_min)}, longest {_min(summ.max_min)}" + (f" ({worst_name})" if worst_name else "")
    )
    lines.append("")

    if summ.commitment_met:
        lines.append(f"National commitment ({com:g} min for every inhabitant): MET - every inhabitant is within {com:g} minutes.")
    else:
        parts = []
        if summ.commitment_population_beyond:
            parts.append(
                f"{_n(summ.commitment_population_beyond)} inhabitants in {summ.commitment_communes_beyond} "
                f"commune{'s' if summ.commitment_communes_beyond != 1 else ''} beyond {com:g} min"
            )
        n_unr = int(summ.status.loc["unreachable", "communes"])
        if n_unr:
            parts.append(
                f"{_n(summ.unreachable_population)} inhabitants in {n_unr} commune{'s' if n_unr != 1 else ''} "
                "with no site reachable (see 'unreachable' below)"
            )
        lines.append(f"National commitment ({com:g} min for every inhabitant): NOT MET - " + "; ".join(parts) + ".")
    st = summ.status
    lines.append(f"Under-served threshold {thr:g} min (the département's finer target):")
    for key, word in (("covered", "within it"), ("underserved", "under-served"), ("unreachable", "unreachable")):
        c, p = st.loc[key, "communes"], st.loc[key, "population"]
        lines.append(f"  {word:<13}{c:>4} communes {_n(p):>9} inhabitants {_pct(st.loc[key, 'population_share'])}")
    lines.append("")

    under = coverage.underserved(access, thr)
    lines.append(f"Under-served communes (beyond {thr:g} min), most urgent first: inhabitants x minutes over {thr:g}")
    if len(under):
        rows = [
            [r.rank, r.code, r.name, _n(r.population), _min(r.minutes), site(r.nearest_site_id, r.nearest_site_name),
             _min(r.second_minutes)]
            for r in under.head(top).itertuples()
        ]
        _rows(lines, ["rank", "code", "commune", "inhab.", "min", "nearest site", "2nd (min)"], rows,
              [4, 5, 24, 7, 5, 28, 9], "rllrrlr")
        if len(under) > top:
            lines.append(f"  ... and {len(under) - top} more (--format csv lists every commune)")
        if isinstance(access, pd.DataFrame) and "geometry" in access.columns:
            zones = coverage.underserved_zones(access, thr)
            lines.append(f"  {len(zones)} zone{'s' if len(zones) != 1 else ''} of adjacent under-served communes (fsgeo underserved):")
            rows = [
                [r.zone_id, r.n_communes, _n(r.population), _min(r.max_minutes), r.names]
                for r in zones.head(top).itertuples()
            ]
            _rows(lines, ["zone", "communes", "inhab.", "max min", "communes"], rows, [4, 8, 7, 7, 60], "rrrrl")
    else:
        lines.append("  none")
    lines.append("")

    unr = access[access["status"] == "unreachable"]
    if len(unr):
        lines.append("Unreachable communes (no drive time computed)")
        rows = [[r.code, r.name, _n(r.population), r.reason] for r in unr.itertuples()]
        _rows(lines, ["code", "commune", "inhab.", "reason"], rows, [5, 24, 7, 60], "llrl")
        lines.append("")

    lines.append("Longest drive times")
    rows = [
        [r.code, r.name, _n(r.population), _min(r.minutes), site(r.nearest_site_id, r.nearest_site_name)]
        for r in summ.worst.head(top).itertuples()
    ]
    _rows(lines, ["code", "commune", "inhab.", "min", "nearest site"], rows, [5, 24, 7, 5, 40], "llrrl")
    lines.append("")

    if summ.neighbour_population:
        lines.append(
            f"Sites of neighbouring départements are the nearest for {_n(summ.neighbour_population)} inhabitants "
            f"({_pct(summ.neighbour_population / summ.population).strip()}) in {summ.neighbour_communes} communes"
        )
        rows = [[site(r.site_id, r.site_name), r.departement, r.communes, _n(r.population)] for r in summ.neighbour_sites.head(top).itertuples()]
        _rows(lines, ["site", "dép.", "communes", "inhab."], rows, [36, 4, 8, 7], "llrr")
        lines.append("")
    elif not meta.get("own_departement_only"):
        lines.append("No commune has its nearest site in a neighbouring département.")
        lines.append("")

    if areas is not None and len(areas):
        lines.append("Service areas: communes whose nearest site it is (largest first)")
        rows = [
            [site(r.site_id, r.site_name), r.departement, r.n_communes, _n(r.population), _min(r.mean_minutes), _min(r.max_minutes)]
            for r in areas.head(top).itertuples()
        ]
        _rows(lines, ["site", "dép.", "communes", "inhab.", "mean min", "max min"], rows, [36, 4, 8, 7, 8, 7], "llrrrr")
        if len(areas) > top:
            lines.append(f"  ... {len(areas) - top} more sites (fsgeo catchments --service-areas)")
        lines.append("")
    lines.append("Every commune: fsgeo coverage --format csv; maps of catchments: fsgeo catchments --out catchments.geojson")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------------
# fsgeo underserved
# --------------------------------------------------------------------------------------------------------------------
def run_underserved(args) -> int:
    from fsgeo import coverage

    fmt = output_format(args)
    communes, sites, network, access = _access(args)
    thr = access.attrs["fsgeo"]["threshold_min"]
    under = coverage.underserved(access, thr)
    zones = coverage.underserved_zones(access, thr)
    zid = coverage.zone_of(zones)
    under["zone_id"] = under["code"].map(zid).astype("Int64")
    cols = ["rank", "code", "name", "population", "minutes", "excess_min", "priority", "zone_id", "nearest_site_id",
            "nearest_site_name", "second_site_name", "second_minutes"]
    zcols = ["zone_id", "n_communes", "population", "max_minutes", "mean_minutes", "priority", "area_km2", "communes", "names"]
    if fmt == "geojson":
        emit(_geojson(zones[zcols + ["geometry"]] if args.zones else under[cols + ["geometry"]]), args.out)
    elif fmt == "csv":
        emit(_csv(zones[zcols] if args.zones else under[cols]), args.out)
    elif fmt == "json":
        unr = access[access["status"] == "unreachable"]
        out = {
            "threshold_min": thr,
            "communes": pd.DataFrame(under[cols]).round(2).to_dict("records"),
            "zones": pd.DataFrame(zones[zcols]).round(2).to_dict("records"),
            "unreachable": pd.DataFrame(unr[["code", "name", "population", "reason"]]).to_dict("records"),
        }
        emit(to_json(out), args.out)
    else:
        lines = [f"Under-served communes: nearest France Services site beyond {thr:g} min by car", ""]
        if not len(under):
            lines.append("  none")
        else:
            lines.append(
                f"{len(under)} communes, {_n(under['population'].sum())} inhabitants; ranked by inhabitants x minutes over {thr:g}"
            )
            rows = [
                [r.rank, r.code, r.name, _n(r.population), _min(r.minutes), "" if pd.isna(r.zone_id) else int(r.zone_id),
                 _short_site(r.nearest_site_name)]
                for r in under.itertuples()
            ]
            _rows(lines, ["rank", "code", "commune", "inhab.", "min", "zone", "nearest site"], rows,
                  [4, 5, 24, 7, 5, 4, 36], "rllrrrl")
            lines += ["", "Zones of adjacent under-served communes (where a new site or antenna would help most)"]
            rows = [
                [r.zone_id, r.n_communes, _n(r.population), _min(r.max_minutes), f"{r.area_km2:.0f}", r.names]
                for r in zones.itertuples()
            ]
            _rows(lines, ["zone", "communes", "inhab.", "max min", "km2", "communes"], rows, [4, 8, 7, 7, 5, 60], "rrrrrl")
        unr = access[access["status"] == "unreachable"]
        if len(unr):
            lines += ["", "Unreachable communes (no drive time computed)"]
            _rows(lines, ["code", "commune", "inhab.", "reason"], [[r.code, r.name, _n(r.population), r.reason] for r in unr.itertuples()],
                  [5, 24, 7, 60], "llrl")
        emit("\n".join(lines) + "\n", args.out)
    return 0


# --------------------------------------------------------------------------------------------------------------------
# fsgeo catchments
# --------------------------------------------------------------------------------------------------------------------
def run_catchments(args) -> int:
    from fsgeo import catchments, coverage

    fmt = output_format(args)
    if args.service_areas:
        communes, sites, network, access = _access(args)
        areas = catchments.service_areas(access)
        cols = ["site_id", "site_name", "departement", "n_communes", "population", "mean_minutes", "max_minutes", "communes"]
        if fmt == "geojson":
            emit(_geojson(areas), args.out)
        elif fmt == "csv":
            emit(_csv(areas, cols), args.out)
        else:
            lines = ["Service areas: the communes whose nearest France Services site it is", ""]
            rows = [
                [r.site_id, _short_site(r.site_name), r.departement, r.n_communes, _n(r.population), _min(r.mean_minutes),
                 _min(r.max_minutes)]
                for r in areas.itertuples()
            ]
            _rows(lines, ["id", "site", "dép.", "communes", "inhab.", "mean min", "max min"], rows,
                  [5, 36, 4, 8, 7, 8, 7], "lllrrrr")
            emit("\n".join(lines) + "\n", args.out)
        return 0
    communes, sites, _ = _load(args, need_network=False)
    selected = coverage.select_sites(sites, communes, kind=args.kind, own_departement_only=args.own_departement_only,
                                     as_of=args.as_of)
    require_sites(selected, args)
    network = args.study_data.network
    out = catchments.catchments(network, selected, bands=args.bands, communes=communes, n_jobs=args.jobs)
    if fmt == "geojson":
        emit(_geojson(out), args.out)
    elif fmt == "csv":
        emit(_csv(out), args.out)
    else:
        bands = out.attrs["fsgeo"]["bands_min"]
        total = int(communes["population"].sum())
        lines = [
            "Drive-time catchments: inhabitants of the communes (at their representative point) from which a site is",
            f"reached within each band; {len(selected)} sites, bands nest. Polygons: --out catchments.geojson",
            "",
        ]
        wide = out.pivot_table(index=["site_id", "site_name"], columns="band_min", values="population", sort=False)
        area = out.pivot_table(index=["site_id", "site_name"], columns="band_min", values="area_km2", sort=False)
        rows = []
        for (sid, name), r in wide.iterrows():
            rows.append([sid, _short_site(name)] + [_n(r[b]) for b in bands] + [f"{area.loc[(sid, name), bands[-1]]:.0f}"])
        _rows(lines, ["id", "site"] + [f"{b:g} min" for b in bands] + [f"km2 {bands[-1]:g}"], rows,
              [5, 36] + [8] * len(bands) + [7], "ll" + "r" * (len(bands) + 1))
        lines.append(f"  (inhabitants of the communes studied: {_n(total)})")
        for r in out[out["reason"] != ""].drop_duplicates("site_id").itertuples():
            lines.append(f"  site {r.site_id} has no catchment: {r.reason}")
        emit("\n".join(lines) + "\n", args.out)
    return 0


# --------------------------------------------------------------------------------------------------------------------
# fsgeo timeline
# --------------------------------------------------------------------------------------------------------------------
def run_timeline(args) -> int:
    from fsgeo import coverage, timeline

    fmt = output_format(args)
    communes, sites, _ = _load(args, need_network=False)
    if args.as_of is not None:
        sites = coverage.select_sites(sites, as_of=args.as_of)
    require_sites(coverage.select_sites(sites, communes, kind=args.kind,
                                        own_departement_only=args.own_departement_only), args)
    network = args.study_data.network
    tl = timeline.timeline(communes, sites, network, bands=args.bands, own_departement_only=args.own_departement_only,
                           kind=args.kind)
    if fmt == "json":
        emit(to_json(tl.round(4).to_dict("records")), args.out)
    elif fmt == "csv":
        emit(_csv(tl), args.out)
    else:
        lines = [
            f"How the France Services network got finer — {_departement_label(args, communes)}",
            f"coverage at each labellisation date of the département's sites ({_n(communes['population'].sum())} inhabitants)",
            "",
        ]
        head = ["date", "sites", "in dép."] + [f"<= {b:g} min" for b in args.bands] + ["mean min", "max min", "new sites"]
        rows = []
        for r in tl.to_dict("records"):
            new = ", ".join(_short_site(n) for n in r["new_sites"].split("; ") if n)
            if r["new_sites_neighbours"]:
                new += (", " if new else "") + f"+{r['new_sites_neighbours']} neighbouring"
            rows.append(
                [r["date"], r["sites_open"], r["sites_open_departement"]]
                + [_pct(r[f"share_within_{b:g}"]) for b in args.bands]
                + [_min(r["mean_min"]), _min(r["max_min"]), new]
            )
        _rows(lines, head, rows, [10, 5, 7] + [9] * len(args.bands) + [8, 7, 60], "lrr" + "r" * len(args.bands) + "rrl")
        lines.append("  shares = inhabitants within the band; sites = all counted (neighbouring départements included)")
        emit("\n".join(lines) + "\n", args.out)
    return 0
