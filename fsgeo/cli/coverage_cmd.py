"""``fsgeo coverage``, ``fsgeo underserved``, ``fsgeo catchments``, ``fsgeo timeline``: drive-time coverage reports."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from fsgeo.cli.common import (
    GIS_FORMATS, CliError, add_data_args, add_output_args, emit, emit_json, minutes_list, output_format,
    positive_minutes, provenance_of, report_unplaced, require_sites, study_label, study_of, to_json, write_csv_with_sidecar,
    write_layers,
)
from fsgeo.coverage import ACCESS_COLUMNS, ACCESS_FLAG_COLUMNS, PARTS_COLUMNS
from fsgeo.settings import settings

# minutes_min / minutes_max / n_points exist only when the study has demand parts (several points per commune):
# without them every output keeps its columns
ACCESS_RECORD = ["code", "name", "population", "nearest_site_id", "nearest_site_name", "minutes", *PARTS_COLUMNS,
                 "status", *ACCESS_FLAG_COLUMNS]
_AFTER_MINUTES = ACCESS_COLUMNS.index("minutes") + 1
# the per-commune table, in the order access_times returns it
ACCESS_CSV = [*ACCESS_COLUMNS[:_AFTER_MINUTES], *PARTS_COLUMNS, *ACCESS_COLUMNS[_AFTER_MINUTES:], *ACCESS_FLAG_COLUMNS]


# --------------------------------------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------------------------------------
def register(subparsers) -> None:
    p = subparsers.add_parser(
        "coverage",
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
    add_output_args(p, formats=("table", "json", "csv", "geojson", "gpkg", "parquet", "fgb"))
    p.set_defaults(func=run_coverage)

    p = subparsers.add_parser(
        "underserved",
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
    p.add_argument("--merge", choices=["site", "band", "rings"], default="site",
                   help="site: one polygon per site and band (default); band: the union of every site's polygons "
                        "per band, inhabitants counted once; rings: the same as rings between bands (10-20, 20-30)")
    p.add_argument("--no-outside-population", action="store_true",
                   help="count only the study's own inhabitants (by default the "
                        "communes of its neighbouring départements near the boundary are counted too, and the output says so)")
    p.add_argument("--jobs", type=int, default=-1, metavar="N",
                   help="threads for the polygons (default -1: one per CPU; 1 per worker process when --processes "
                        "runs the chunks)")
    p.add_argument("--processes", type=int, default=-1, metavar="N",
                   help="worker processes over the chunks of sites (default -1: one per CPU, when the sites make "
                        "at least two chunks -- a national study; 1: in-process)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar over the sites (default: on when standard error is a terminal)")
    _distributed_args(p)
    add_data_args(p)
    add_output_args(p, formats=("table", "csv", "geojson", "gpkg", "parquet", "fgb"))
    p.set_defaults(func=run_catchments)

    p = subparsers.add_parser(
        "timeline",
        description="Coverage of the communes at every labellisation date of the département's sites: sites open, "
        "inhabitants within 20 and 30 minutes, mean time.",
    )
    p.add_argument(
        "--bands", type=minutes_list, metavar="MIN,MIN,...", default=(20.0, 30.0), help="bands, minutes (default 20,30)"
    )
    add_data_args(p)
    add_output_args(p, formats=("table", "json", "csv"))
    p.set_defaults(func=run_timeline)


def _distributed_args(p) -> None:
    g = p.add_argument_group("batch runs (national studies; Dask with the dask extra)")
    g.add_argument("--chunk-size", type=int, default=None, metavar="N",
                   help="sites routed at a time (memory: N x network nodes; default 64)")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run the chunks on a local Dask cluster of N worker processes (pip install 'fsgeo[dask]')")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run the chunks on this Dask scheduler (tcp://host:8786)")


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


def _access(args, loaded=None):
    from fsgeo import coverage

    communes, sites, network = _load(args) if loaded is None else loaded
    selected = coverage.select_sites(sites, communes, kind=args.kind, own_departement_only=args.own_departement_only,
                                     as_of=args.as_of)
    args.unplaced = report_unplaced(network, selected, args)  # stderr (or --strict error) before the routing
    access = coverage.access_times(
        communes,
        sites,
        network,
        threshold_min=getattr(args, "threshold", None),
        own_departement_only=args.own_departement_only,
        kind=args.kind,
        as_of=args.as_of,
        parts=args.study_data.demand_parts,  # several weighted points per commune (Paris...), None when none
    )
    return communes, sites, network, access


def _geojson(gdf, metadata=None) -> str:
    from fsgeo.export import geojson_text

    return geojson_text(gdf, metadata=metadata)


def _csv(df, columns=None) -> str:
    from fsgeo.export import csv_text  # spreadsheet-safe cells

    return csv_text(df, columns=columns or None, float_format="%.2f")


def _departement_label(args, communes) -> str:
    """The study's name for titles (``"Haute-Saône (70)"``), or what ``--communes`` covers."""
    return study_label(args.study_data, args)


# --------------------------------------------------------------------------------------------------------------------
# fsgeo coverage
# --------------------------------------------------------------------------------------------------------------------
def run_coverage(args) -> int:
    from fsgeo import catchments, coverage

    if args.top < 0:
        raise CliError("--top must be >= 0")
    fmt = output_format(args)
    communes, sites, _ = _load(args, need_network=False)
    from fsgeo.cli import national_cmd

    if national_cmd.is_national(communes):  # several départements: national shares and a table by département
        return national_cmd.run_national(args, args.study_data, fmt)
    communes, sites, network, access = _access(args, (communes, sites, args.study_data.network))
    summ = coverage.summary(access, bands=args.bands, n_worst=max(args.top, 1))
    prov = provenance_of(args, network, threshold_min=summ.threshold_min,
                         bands_min=list(summ.bands["band_min"]), commitment_min=summ.commitment_min)
    if fmt == "json":
        out = {"summary": _summary_json(summ, access), "communes": _records(access), "unplaced_sites": args.unplaced,
               "provenance": prov}
        parts = access.attrs.get("fsgeo", {}).get("parts")
        if parts:  # each demand part's own time (communes with several points); absent without parts
            out["parts"] = _part_records(parts)
        emit(to_json(out), args.out)
    elif fmt == "csv":
        write_csv_with_sidecar(_csv(access, [c for c in ACCESS_CSV if c in access.columns]), args.out, prov)
    elif fmt in ("geojson", *GIS_FORMATS):
        # every commune with its geometry: the layer a QGIS user wants (plus the sites and zones in a GeoPackage)
        layers = {"communes": access[[c for c in ACCESS_CSV if c in access.columns] + ["geometry"]]}
        if fmt == "gpkg":
            layers["sites"] = coverage.select_sites(sites, communes, kind=args.kind,
                                                    own_departement_only=args.own_departement_only, as_of=args.as_of)
            layers["underserved_zones"] = coverage.underserved_zones(access, summ.threshold_min)
        write_layers(fmt, layers, args.out, prov)
    else:
        from fsgeo import reports

        areas = catchments.service_areas(access, dissolve=False)
        report = reports.coverage_report(access, summ, areas, label=_departement_label(args, communes), top=args.top,
                                         labels=reports.site_labels(sites), lang=args.lang, provenance=prov)
        emit(report, args.out)
    return 0


def _records(access) -> list[dict]:
    df = pd.DataFrame(access[[c for c in ACCESS_RECORD if c in access.columns]])
    for col in ("minutes", "minutes_min", "minutes_max"):
        if col in df.columns:
            df[col] = df[col].round(2)
    if "access_share" in df.columns:
        df["access_share"] = df["access_share"].round(3)
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()} for r in df.to_dict("records")]


def _part_records(parts) -> list[dict]:
    """The per-part records of ``access.attrs["fsgeo"]["parts"]``, minutes rounded like the communes'."""
    out = []
    for r in parts:
        r = dict(r)
        for key, digits in (("minutes", 2), ("second_minutes", 2), ("access_share", 3)):
            v = r.get(key)
            if isinstance(v, float):
                r[key] = None if not np.isfinite(v) else round(v, digits)
        out.append(r)
    return out


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
    prov = provenance_of(args, network, threshold_min=thr, zones=bool(args.zones))
    if fmt == "geojson":
        emit(_geojson(zones[zcols + ["geometry"]] if args.zones else under[cols + ["geometry"]],
                      {**prov, "threshold_min": thr, "unplaced_sites": args.unplaced}), args.out)
    elif fmt == "csv":
        write_csv_with_sidecar(_csv(zones[zcols] if args.zones else under[cols]), args.out, prov)
    elif fmt == "json":
        unr = access[access["status"] == "unreachable"]
        out = {
            "threshold_min": thr,
            "communes": pd.DataFrame(under[cols]).round(2).to_dict("records"),
            "zones": pd.DataFrame(zones[zcols]).round(2).to_dict("records"),
            "unreachable": pd.DataFrame(unr[["code", "name", "population", "reason"]]).to_dict("records"),
            "unplaced_sites": args.unplaced,
        }
        emit_json(out, args.out, prov)
    else:
        from fsgeo import reports

        emit(reports.underserved_report(access, under, zones, thr, lang=args.lang, provenance=prov), args.out)
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
        prov = provenance_of(args, network, threshold_min=access.attrs["fsgeo"]["threshold_min"],
                             service_areas=True)
        if fmt == "geojson":
            emit(_geojson(areas, {**prov, "unplaced_sites": args.unplaced}), args.out)
        elif fmt == "csv":
            write_csv_with_sidecar(_csv(areas, cols), args.out, prov)
        else:
            from fsgeo import reports

            emit(reports.service_areas_report(areas, lang=args.lang, provenance=prov), args.out)
        return 0
    communes, sites, _ = _load(args, need_network=False)
    selected = coverage.select_sites(sites, communes, kind=args.kind, own_departement_only=args.own_departement_only,
                                     as_of=args.as_of)
    require_sites(selected, args)
    from fsgeo import distributed
    from fsgeo.cli import national_cmd

    if args.chunk_size is not None and args.chunk_size < 1:
        raise CliError("--chunk-size must be >= 1")
    # every landmass of the study (the national one: mainland, Corsica...): each site on the network it is placed on
    networks = national_cmd.networks_of(args.study_data)
    network = networks[0]
    outside = None
    if args.communes is None and not args.no_outside_population:
        outside = args.study_data.neighbour_communes
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    job = catchments.CatchmentJob(networks, selected, bands=args.bands, communes=communes, outside=outside)
    unplaced = report_unplaced(network, selected, args, unplaced=job.unplaced,
                               listed_in='"unplaced_sites" of the output\'s metadata (GeoJSON "fsgeo" member, '
                                         'CSV sidecar .json)')
    # the chunks on Dask (--workers/--scheduler), or on local worker processes when there are several (--processes)
    dask = bool(args.workers or args.scheduler)
    processes = 1 if dask else job.processes_for(len(job.chunks(args.chunk_size)), args.processes)
    n_jobs = 1 if dask or processes > 1 else args.jobs
    with distributed.executor(scheduler=args.scheduler, workers=args.workers) as client:
        if processes > 1:
            chunks = job.run(progress=progress, n_jobs=n_jobs, chunk_size=args.chunk_size, processes=processes)
        else:
            chunks = distributed.iter_catchments(job, client, chunk_size=args.chunk_size, n_jobs=n_jobs,
                                                 progress=progress)
        if args.merge == "site" and args.out is not None and fmt in ("geojson", "csv") and not unplaced:
            # streamed: each chunk is written as it arrives, the file renamed into place at the end
            prov = provenance_of(args, network, bands_min=list(job.bands), merge=args.merge,
                                 population_of=job.people.description)
            prov["unplaced_sites"] = unplaced  # none (else not streamed): said all the same, as in the other outputs
            distributed.write_catchments(chunks, args.out, fmt, metadata=prov)
            return 0
        out = job.concat(list(chunks))
    if args.merge != "site":
        out = catchments.merge_bands(out, communes=communes, outside=outside, rings=args.merge == "rings",
                                     metric_crs=job.crs)
    attrs = out.attrs.get("fsgeo", {})
    prov = provenance_of(args, network, bands_min=list(attrs.get("bands_min") or args.bands or []) or None,
                         merge=args.merge, population_of=attrs.get("population_of"))
    prov["unplaced_sites"] = unplaced  # sites left out (issue 9 §3), in the GeoJSON's fsgeo member / GeoPackage
    if fmt == "csv":
        write_csv_with_sidecar(_csv(out), args.out, prov)
    elif fmt in ("geojson", *GIS_FORMATS):
        layers = {"catchments": out}
        if fmt == "gpkg":
            layers["sites"] = selected
        write_layers(fmt, layers, args.out, prov)
    else:
        from fsgeo import reports

        emit(reports.catchments_report(out, len(selected), population_of=out.attrs["fsgeo"]["population_of"],
                                       lang=args.lang, provenance=prov), args.out)
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
    unplaced = report_unplaced(network, coverage.select_sites(sites, communes, kind=args.kind,
                                                              own_departement_only=args.own_departement_only), args)
    tl = timeline.timeline(communes, sites, network, bands=args.bands, own_departement_only=args.own_departement_only,
                           kind=args.kind)
    prov = provenance_of(args, network, bands_min=list(args.bands))
    if fmt == "json":
        emit_json({"timeline": tl.round(4).to_dict("records"), "unplaced_sites": unplaced}, args.out, prov)
    elif fmt == "csv":
        write_csv_with_sidecar(_csv(tl), args.out, prov)
    else:
        from fsgeo import reports

        emit(reports.timeline_report(tl, args.bands, label=_departement_label(args, communes),
                                     population=communes["population"].sum(), lang=args.lang, provenance=prov),
             args.out)
    return 0
