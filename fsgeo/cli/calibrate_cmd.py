"""``fsgeo calibrate``: fit the car profile to reference trips and write it as a profile file (``--profile``)."""

from __future__ import annotations

from pathlib import Path

from fsgeo.cli.common import add_data_args, add_lang_arg, emit, emit_json, provenance_of, study_of


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="fit circuity and road-class speeds to reference trips; write a profile file for --profile",
        description="Route every reference trip (origin/destination as INSEE codes or lon/lat, reference minutes "
                    "and/or km, source), fit the profile's circuity and Travel Mapping class speeds by bounded least "
                    "squares on log ratios, print |fsgeo/reference - 1| before and after (median, 90th percentile) "
                    "and write the fitted profile (JSON) that every command accepts with --profile.",
    )
    p.add_argument("--trips", type=Path, required=True, metavar="FILE",
                   help="CSV: origin_code or origin_lon+origin_lat, destination_code or destination_lon+"
                        "destination_lat, minutes and/or km, source, optional id")
    p.add_argument("--out", type=Path, metavar="FILE", default=Path("profile.json"),
                   help="profile file to write (default profile.json)")
    p.add_argument("--trips-out", type=Path, metavar="FILE",
                   help="also write every trip's reference and fsgeo values before/after (CSV)")
    p.add_argument("--iterations", type=int, default=5, help="maximum route-then-fit rounds (default 5)")
    p.add_argument("--format", choices=["table", "json"], default="table", help="report format")
    add_data_args(p)
    add_lang_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from fsgeo import atomic, calibrate

    atomic.check_writable(args.out)
    if args.trips_out is not None:
        atomic.check_writable(args.trips_out)
    trips = calibrate.read_trips(args.trips)
    study = study_of(args)
    need_communes = trips["origin_lon"].isna().any() or trips["destination_lon"].isna().any()
    communes = study.communes if need_communes else None
    origins, destinations = calibrate.trip_points(trips, communes, str(args.trips))
    network = study.network
    result = calibrate.calibrate(network, origins, destinations, trips["minutes"], trips["km"],
                                 iterations=args.iterations, trip_ids=trips["id"], sources=trips["source"])
    meta = {"trips": str(args.trips), "n_trips": len(trips), "network": str(study.paths["network"]),
            "before": result.before, "after": result.after, "fitted": result.fitted,
            "sources": sorted(set(trips["source"]))}
    args.study_data = study
    # the network as routed before the fit (its profile is the one calibrated from)
    prov = provenance_of(args, network, trips=str(args.trips), n_trips=len(trips), iterations=args.iterations)
    # the profile file: its provenance under "_provenance", ignored when read back like "_calibration"
    atomic.write_text(args.out, calibrate.profile_json(result.profile, meta, provenance=prov))
    if args.trips_out is not None:
        from fsgeo.export import write_csv  # spreadsheet-safe cells, provenance in the sidecar

        write_csv(result.trips, args.trips_out, metadata=prov)
    if args.format == "json":
        emit_json({**meta, "profile": result.profile.to_dict(), "out": str(args.out)}, None, prov)
    else:
        from fsgeo.reports import provenance_footer

        emit("\n".join([result.report().rstrip("\n"), f"wrote {args.out} (use it with --profile {args.out})",
                        *provenance_footer(prov, args.lang)]), None)
    return 0
