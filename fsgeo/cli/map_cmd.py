"""``fsgeo map``: a standalone HTML map of drive-time coverage, catchments, under-served zones, sites and new sites."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

from fsgeo.cli.common import (
    CliError, add_data_args, add_lang_arg, minutes_list, positive_minutes, provenance_of, report_unplaced,
    study_label, study_of, whole_number,
)
from fsgeo.reports import default_lang
from fsgeo.settings import settings


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "map",
        description="Write one HTML file that opens in any browser, offline too (Leaflet is embedded; only the "
                    "optional base tiles need the network): communes coloured by minutes to the nearest site, "
                    "drive-time catchments, under-served zones, existing sites, and candidate or chosen new sites.",
    )
    p.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="the HTML file to write (FILE.png: only a PNG of the map, as --png)")
    p.add_argument("--threshold", type=positive_minutes, default=None, metavar="MIN",
                   help=f"under-served threshold in minutes (default {settings.threshold_min:g}, or the one of "
                        "--rank-json)")
    p.add_argument("--bands", type=minutes_list, default=None, metavar="LIST",
                   help="minute classes of the communes, e.g. 10,15,20,30,45 (the default)")
    p.add_argument("--catchment-bands", type=minutes_list, default=None, metavar="LIST",
                   help="drive-time catchment bands in minutes (default "
                        + ",".join(f"{b:g}" for b in settings.bands_min) + ")")
    p.add_argument("--no-catchments", action="store_true", help="skip the catchments (the slowest part)")
    p.add_argument("--catchments-per-site", action="store_true",
                   help="one catchment outline per site and band instead of the default merged areas (the union of "
                        "every site's catchment per band)")
    new = p.add_mutually_exclusive_group()
    new.add_argument("--candidates", type=Path, metavar="FILE",
                     help="candidate sites to score and choose from, as for 'fsgeo rank --candidates'")
    new.add_argument("--rank-json", type=Path, metavar="FILE",
                     help="the output of 'fsgeo rank --format json': its candidates and chosen sites")
    p.add_argument("--k", type=whole_number(1), default=None, help="with --candidates: number of new sites (default 3)")
    from fsgeo.siting.registry import model_specs

    p.add_argument("--model", choices=list(model_specs()), default=None,
                   help="with --candidates: how the new sites are chosen (default greedy)")
    p.add_argument("--no-tiles", action="store_true",
                   help="no base map tiles (for offline machines): a plain background, everything else drawn")
    p.add_argument("--cdn", action="store_true",
                   help="load Leaflet from a CDN instead of embedding it (smaller file, needs the network)")
    p.add_argument("--title", default=None,
                   help="title shown on the map (default: the département and the --as-of date)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar over the catchments (default: on when standard error is a terminal)")
    p.add_argument("--png", type=Path, default=None, metavar="FILE",
                   help="also write a PNG of the map (1024x768 by default, see --png-size) through headless Chromium, "
                        "for reports and slides; a clear error when no browser is installed")
    p.add_argument("--png-size", default="1024x768", metavar="WxH", help="size of the PNG in pixels (default 1024x768)")
    from fsgeo.maps import NATIONAL_MIN_COMMUNES, NATIONAL_SIMPLIFY_M

    p.add_argument("--national", action=argparse.BooleanOptionalAction, default=None,
                   help="national map (all of France, a region): communes simplified and drawn on one canvas, "
                        "département outlines, sites as light circles, no catchments or under-served zones "
                        "(communes beyond the threshold are outlined); default: on for studies of more than "
                        f"{NATIONAL_MIN_COMMUNES:,} communes")
    p.add_argument("--simplify", type=float, default=None, metavar="METRES",
                   help="tolerance of the commune simplification in metres (default "
                        f"{NATIONAL_SIMPLIFY_M:g} for a national map, 0 otherwise)")
    add_data_args(p)
    add_lang_arg(p)
    p.set_defaults(func=run)


def _read_rank_json(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, float | None]:
    """Candidates, chosen sites and threshold from ``fsgeo rank --format json``; errors name the file and entry."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("chosen"), list):
        raise CliError(f"{path}: expected the JSON of 'fsgeo rank --format json' (an object with a 'chosen' list)")
    frames = []
    for key in ("candidates", "chosen"):
        rows = data.get(key) or []
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise CliError(f"{path}: '{key}' must be a list of objects")
        for i, r in enumerate(rows):
            try:
                ok = all(math.isfinite(float(r[c])) for c in ("lon", "lat"))
            except (KeyError, TypeError, ValueError):
                ok = False
            if not ok:
                raise CliError(f"{path}: {key}[{i}] (id {r.get('id')!r}): missing or invalid lon/lat")
        frames.append(pd.DataFrame(rows))
    threshold = data.get("threshold")
    if threshold is not None:
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise CliError(f"{path}: invalid threshold {threshold!r}") from None
        if not (threshold > 0 and math.isfinite(threshold)):
            raise CliError(f"{path}: invalid threshold {threshold!r}")
    return frames[0], frames[1], threshold


def run(args) -> int:
    from fsgeo import catchments as catchments_mod
    from fsgeo import coverage, maps

    from fsgeo import export
    from fsgeo.atomic import check_writable

    if args.candidates is None and (args.k is not None or args.model is not None):
        raise CliError("--k and --model only apply with --candidates")
    # before any work: a missing or read-only folder, or an ending of another format (map.csv), fails now
    try:
        png_only = export.format_of(args.out) == "png"
        export.check_output(args.out, None if png_only else "html", allowed=("html", "png"))
    except OSError as exc:
        raise CliError(f"--out {exc}") from None
    if png_only:  # --out map.png: the PNG alone (the HTML it is rendered from lives in a temporary folder)
        if args.png is not None:
            raise CliError("--out is already a PNG: give --png only with an HTML --out")
        args.png = args.out
    if args.png is not None:  # before the work: a bad size, an unwritable file or no browser fail in one line
        _png_size(args.png_size)
        check_writable(args.png)
        if maps.find_browser() is None:
            raise CliError("--png needs a Chromium browser (apt-get install chromium, or FSGEO_CHROMIUM=/path); "
                           "the HTML map needs none")
    candidates = chosen = None
    threshold = args.threshold
    if args.rank_json is not None:
        candidates, chosen, rank_threshold = _read_rank_json(args.rank_json)
        if threshold is None:
            threshold = rank_threshold
        elif rank_threshold is not None and rank_threshold != threshold:
            print(f"fsgeo map: note: {args.rank_json} was ranked at {rank_threshold:g} min, the map uses "
                  f"{threshold:g} min", file=sys.stderr)
    if threshold is None:
        threshold = settings.threshold_min
    as_of = args.as_of.isoformat() if args.as_of is not None else None

    study = study_of(args)
    communes = study.communes
    if args.simplify is not None and not (args.simplify >= 0 and math.isfinite(args.simplify)):
        raise CliError(f"--simplify {args.simplify:g}: expected a tolerance in metres, 0 or more")
    national_map = maps.is_national(communes) if args.national is None else args.national
    if national_map:
        return _run_national(args, study, threshold, as_of)
    # the user's files first, so that a bad one fails before the drive times and catchments are computed
    proposals = None
    if args.candidates is not None:
        from fsgeo.siting import read_candidates

        proposals = read_candidates(args.candidates, communes)
    sites = study.sites
    network = study.network
    if args.communes is None:
        outline = study.outline
    else:  # a user's communes: their union is the study area
        outline = communes.dissolve()[["geometry"]].assign(code=",".join(sorted(set(communes["departement"]))))
    selected = coverage.select_sites(sites, communes, kind=args.kind,
                                     own_departement_only=args.own_departement_only, as_of=as_of)
    # one rule for sites and candidates: left out and reported on stderr, or an error with --strict
    report_unplaced(network, selected, args, listed_in='fsgeo coverage --format json, "unplaced_sites"')
    if proposals is not None:
        report_unplaced(network, proposals, args, what="candidate",
                        listed_in='fsgeo rank --format json, "unplaced"')
    access = coverage.access_times(communes, sites, network, threshold_min=threshold,
                                   own_departement_only=args.own_departement_only, kind=args.kind, as_of=as_of,
                                   parts=study.demand_parts)
    zones = coverage.underserved_zones(access, threshold)
    catch = None
    if not args.no_catchments and len(selected):
        # the neighbours' inhabitants count in the catchments' population too (a border site is not "empty")
        outside = study.neighbour_communes if args.communes is None else None
        catch = catchments_mod.catchments(network, selected, bands=args.catchment_bands, communes=communes,
                                          outside=outside,
                                          progress=sys.stderr.isatty() if args.progress is None else args.progress,
                                          merge="site" if args.catchments_per_site else "band")
    if proposals is not None:
        from fsgeo.siting import rank_candidates

        ranked = rank_candidates(proposals, communes=communes, sites=sites, network=network, k=args.k or 3,
                                 threshold=threshold, model=args.model or "greedy", as_of=as_of, kind=args.kind,
                                 own_departement_only=args.own_departement_only,
                                 on_unplaced="raise" if args.strict else "skip")
        candidates, chosen = ranked.scores, ranked.chosen

    title = args.title
    if title is None:
        place = study.name if args.communes is None else study_label(study, args)
        if (args.lang or default_lang()) == "fr":
            title = f"{place} : temps de trajet jusqu'à France Services" + (f", sites au {as_of}" if as_of else "")
        else:
            title = f"{place}: drive time to France Services" + (f", sites as of {as_of}" if as_of else "")
    args.study_data = study
    prov = provenance_of(args, network, threshold_min=threshold,
                         bands_min=list(maps.band_edges(args.bands, threshold)),
                         catchment_bands_min=None if catch is None else list(args.catchment_bands or settings.bands_min),
                         catchments="per site" if args.catchments_per_site else "merged per band",
                         model=(args.model or "greedy") if args.candidates is not None else None,
                         k=(args.k or 3) if args.candidates is not None else None,
                         candidates=str(args.candidates or args.rank_json or "") or None)
    m = maps.coverage_map(access, selected, outline=outline, catchments=catch, zones=zones, candidates=candidates,
                          chosen=chosen, threshold_min=threshold, tiles=not args.no_tiles, bands=args.bands,
                          title=title, lang=args.lang, provenance=prov, national=False,
                          communes_simplify_m=args.simplify)
    path = _save(m, args, prov, png_only)
    if path is None:
        return 0
    status = access["status"].value_counts()
    parts = [f"{len(access)} communes ({status.get('underserved', 0)} under-served, "
             f"{status.get('unreachable', 0)} unreachable at {threshold:g} min)",
             f"{len(selected)} sites", f"{len(zones)} under-served zone(s)"]
    if catch is not None:
        parts.append(f"{len(catch)} catchment polygons" + ("" if args.catchments_per_site else " (merged per band)"))
    if candidates is not None:
        parts.append(f"{len(candidates)} candidates, {len(chosen)} chosen")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): " + ", ".join(parts))
    if args.png is not None:
        _screenshot(path, args, prov)
    return 0


def _save(m, args, prov, png_only: bool) -> Path | None:
    """Write the map to ``--out``; with ``--out map.png`` (``png_only``) only the PNG, rendered from an HTML in a
    temporary folder. Returns the HTML's path, None when only the PNG was written."""
    from fsgeo import maps

    if png_only:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="fsgeo-map-") as work:
            _screenshot(maps.save_map(m, Path(work) / "map.html", inline_assets=not args.cdn), args, prov)
        return None
    return maps.save_map(m, args.out, inline_assets=not args.cdn)


def _screenshot(html: Path, args, prov) -> None:
    """``--png``: the map at ``--png-size`` through headless Chromium, with the provenance in the PNG."""
    from fsgeo import maps

    width, height = _png_size(args.png_size)
    png = maps.screenshot(html, args.png, width=width, height=height, metadata=prov)
    print(f"wrote {png} ({width}x{height})")


def _png_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise CliError(f"--png-size {text!r}: expected WIDTHxHEIGHT in pixels, e.g. 1024x768") from None
    if not (100 <= w <= 10000 and 100 <= h <= 10000):
        raise CliError(f"--png-size {text!r}: width and height must be between 100 and 10000 pixels")
    return w, h


def _run_national(args, study, threshold: float, as_of: str | None) -> int:
    """The national map: coverage on every landmass's network (:func:`fsgeo.national.national_coverage`, no
    communes x sites matrix), communes simplified, département outlines, sites as circles; no catchments or zones
    (the catchments of thousands of sites take minutes, see ``fsgeo catchments``)."""
    import time

    import geopandas as gpd

    from fsgeo import coverage, maps, national
    from fsgeo.cli.national_cmd import departements_table, networks_of

    if args.candidates is not None or args.rank_json is not None:
        raise CliError("--candidates and --rank-json are not drawn on a national map: make a map of the "
                       "départements concerned (fsgeo build --departement NN) or use --no-national")
    t0 = time.perf_counter()
    communes, sites = study.communes, study.sites
    networks = networks_of(study)
    result = national.national_coverage(
        communes, sites, networks, departements=departements_table(study), threshold_min=threshold, as_of=as_of,
        kind=args.kind, no_network=(study.manifest.network or {}).get("no_network"), parts=study.demand_parts)
    access = gpd.GeoDataFrame(result.access.drop(columns=["geometry"], errors="ignore"),
                              geometry=communes.geometry.to_numpy(), crs=communes.crs)
    if not (access["code"].astype(str).to_numpy() == communes["code"].astype(str).to_numpy()).all():
        raise AssertionError("national coverage changed the order of the communes")  # pragma: no cover
    lost = result.meta["sites_not_routed"]
    if lost:  # overseas: a few hundred sites, one line (fsgeo coverage --study lists the départements without roads)
        print(f"fsgeo: warning: {len(lost)} site(s) on no road network of the study, drawn but not routed (e.g. "
              f"{lost[0]['id']!r}: {lost[0]['reason']})", file=sys.stderr)
    maps_sites = coverage.select_sites(sites, communes, kind=args.kind, as_of=as_of)
    if not args.no_catchments:
        print("fsgeo map: national map: no catchments or under-served zones (communes beyond the threshold are "
              "outlined; fsgeo catchments --study gives the catchments)", file=sys.stderr)
    title = args.title
    if title is None:
        if (args.lang or default_lang()) == "fr":
            title = f"{study.name} : temps de trajet jusqu'à France Services" + (f", sites au {as_of}" if as_of else "")
        else:
            title = f"{study.name}: drive time to France Services" + (f", sites as of {as_of}" if as_of else "")
    args.study_data = study
    prov = provenance_of(args, networks[0], threshold_min=threshold,
                         bands_min=list(maps.band_edges(args.bands, threshold)), national_map=True)
    m = maps.coverage_map(access, maps_sites, threshold_min=threshold, tiles=not args.no_tiles, bands=args.bands,
                          title=title, lang=args.lang, provenance=prov, national=True,
                          communes_simplify_m=args.simplify)
    path = _save(m, args, prov, png_only=args.png is not None and args.png == args.out)
    if path is None:
        return 0
    status = access["status"].value_counts()
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, national map, {time.perf_counter() - t0:.0f} s): "
          f"{len(access)} communes ({status.get('underserved', 0)} under-served, "
          f"{status.get('unreachable', 0)} unreachable at {threshold:g} min), {len(maps_sites)} sites, "
          f"{access['departement'].astype(str).nunique()} départements")
    if args.png is not None:
        _screenshot(path, args, prov)
    return 0
