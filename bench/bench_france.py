"""Benchmark: all of France in one run -- load, nearest site, national coverage report, catchments of every site,
exact MCLP of the next 100 sites -- against baselines measured in the same run.

    python bench/bench_france.py [--study DIR | --raw DIR --cache DIR] [--skip-catchments | --only-catchments] [--k 100]

Data: a national study folder (``python -m fsgeo.build_data.france --out DIR``), given with ``--study``, or built
from ``--raw`` into ``--cache`` (default ``$TMPDIR/fsgeo-france``) the first time.

Each step runs in its own child process (``spawn``), so that its peak resident memory (``ru_maxrss``, the data
loading included) is its own. Targets (issue 13): coverage report < 20 s and < 2 GB; catchments of all sites
< 120 s and peak < 3 GB; exact MCLP of the next 100 sites at 20 min < 30 s and < 4 GB.

Baselines (the code paths before this work, in the same run):

- coverage: the dense communes x sites matrix with a 60-min cutoff (``coverage.commune_site_matrix`` +
  ``access_from_matrix``), on the whole country (about 3.5 GB);
- catchments: the unchunked way (node times of every site at once, one ``sites x nodes`` array) on a subset of
  sites, as the full run would take about 12 GB -- beyond what one process may use on this shared machine; the
  chunked code is timed on the same subset for the ratio, then on every site;
- MCLP: ``rank_candidates(model="mclp")`` (dense communes x candidates matrix, unlimited searches) on a subset of
  départements, since the national one takes about 6 GB; the restricted model runs on the same subset (same
  objective checked) and then nationally.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW_DEFAULT = HERE.parent.parent / "shared" / "data" / "raw"


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # kB -> GB


def _tree_rss_sampler():
    """Start a thread sampling the resident memory of this process plus all its children (worker processes) every
    0.2 s; returns a function giving the largest sum seen, in GB (an upper bound: pages a forked worker still
    shares with its parent are counted in both)."""
    import threading

    import psutil

    me, peak, stop = psutil.Process(), [0], threading.Event()

    def sample():
        while not stop.is_set():
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:  # ended between the listing and the read
                    pass
            peak[0] = max(peak[0], total)
            stop.wait(0.2)

    threading.Thread(target=sample, daemon=True).start()

    def result():
        stop.set()
        return peak[0] / 1024 ** 3

    return result


def _load(paths):
    """The study's layers: read from its files by the load step, which also pickles them so that the later steps
    (whose timings exclude loading) start in seconds instead of re-parsing 60 MB of GeoJSON each."""
    import pickle

    snap = Path(paths["snapshot"])
    if snap.exists():
        with open(snap, "rb") as fh:
            return pickle.load(fh)
    from fsgeo.build_data import france

    study = france.load(paths["study"])
    out = study["communes"], study["sites"], study["networks"], study["departements"]
    with open(snap, "wb") as fh:
        pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return out


# ------------------------------------------------------------------------------------------------------------ steps
def step_load(paths, opts):
    import pickle

    from fsgeo.build_data import france

    t0 = time.perf_counter()
    study = france.load(paths["study"])
    t = time.perf_counter() - t0
    communes, sites, nets = study["communes"], study["sites"], study["networks"]
    with open(paths["snapshot"], "wb") as fh:  # the later steps start from this (their timings exclude loading)
        pickle.dump((communes, sites, nets, study["departements"]), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {"seconds": t, "communes": len(communes), "population": int(communes["population"].sum()),
            "sites": len(sites), "nodes": sum(n.n_nodes for n in nets),
            "edges": sum(len(n.edges) for n in nets) // 2}


def step_nearest(paths, opts):
    from fsgeo import datasets, routing

    communes, sites, nets, _ = _load(paths)
    pts = datasets.demand_points(communes)
    sp = sites.set_axis(sites["id"].astype(str).to_numpy(), axis=0)
    t0 = time.perf_counter()
    near = routing.nearest(nets[0], pts, sp, on_snap_error="nan")
    t1 = time.perf_counter()
    two = routing.nearest_two(nets[0], pts, sp, on_snap_error="nan")
    t2 = time.perf_counter()
    import numpy as np

    same = np.allclose(near["minutes"].fillna(-1), two["minutes"].fillna(-1), atol=1e-9, rtol=0)
    return {"nearest_s": t1 - t0, "nearest_two_s": t2 - t1, "same_minutes": bool(same)}


def step_coverage(paths, opts):
    from fsgeo import national

    communes, sites, nets, deps = _load(paths)
    t0 = time.perf_counter()
    res = national.national_coverage(communes, sites, nets, departements=deps, as_of=opts.get("as_of"))
    text = national.text_report(res)
    t = time.perf_counter() - t0
    res.access[["code", "minutes", "nearest_site_id", "second_minutes"]].to_parquet(opts["access_out"])
    return {"seconds": t, "report_lines": text.count("\n"), "mean_min": res.summary.mean_min,
            "within_30": float(res.summary.bands.set_index("band_min").loc[30.0, "population_share"]),
            "text": text if opts.get("keep_text") else None}


def _subset(communes, sites, departements):
    if not departements:
        return communes, sites
    return (communes[communes["departement"].isin(departements)].reset_index(drop=True),
            sites[sites["departement"].isin(departements)].reset_index(drop=True))


def step_coverage_subset(paths, opts):
    """The national coverage computation (one network) on the baseline's subset, for the ratio."""
    from fsgeo import coverage

    communes, sites, nets, _ = _load(paths)
    communes, sites = _subset(communes, sites, opts.get("departements"))
    t0 = time.perf_counter()
    acc, _ = coverage.access_from_network(communes, sites, nets[0], cutoff_min=60)
    coverage.summary(acc)
    t = time.perf_counter() - t0
    acc[["code", "minutes", "nearest_site_id", "second_minutes"]].to_parquet(opts["access_out"])
    return {"seconds": t}


def step_coverage_dense(paths, opts):
    from fsgeo import coverage

    communes, sites, nets, _ = _load(paths)
    communes, sites = _subset(communes, sites, opts.get("departements"))
    t0 = time.perf_counter()
    m, c_reasons, _ = coverage.commune_site_matrix(communes, sites, nets[0], cutoff_min=60)
    acc = coverage.access_from_matrix(communes, sites, m, reasons=c_reasons, cutoff_min=60)
    coverage.summary(acc)
    t = time.perf_counter() - t0
    acc[["code", "minutes", "nearest_site_id", "second_minutes"]].to_parquet(opts["access_out"])
    return {"seconds": t}


def step_catchments(paths, opts):
    import numpy as np

    from fsgeo import catchments

    communes, sites, nets, _ = _load(paths)
    # every landmass (mainland, Corsica): each site routed on the network it is placed on
    net = nets if opts.get("all_landmasses") else nets[0]
    pick = sites if opts.get("n_sites") is None else sites.iloc[np.linspace(0, len(sites) - 1, opts["n_sites"]).astype(int)]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    n_rows, area, empty = 0, 0.0, 0
    chunk = opts.get("chunk_size")
    processes = opts.get("processes", 1)
    if opts.get("dask_workers"):
        from fsgeo import distributed

        job = catchments.CatchmentJob(net, pick, communes=communes)
        with distributed.executor(workers=opts["dask_workers"]) as client:
            for part in distributed.iter_catchments(job, client, chunk_size=chunk):
                n_rows += len(part)
                area += float(part["area_km2"].sum())
                empty += int(part.geometry.is_empty.sum())
        mode = f"dask LocalCluster, {opts['dask_workers']} worker processes"
    elif chunk == "all":
        out = catchments.catchments(net, pick, communes=communes, chunk_size=len(pick), n_jobs=opts.get("jobs", 1))
        mode = f"in-process, one chunk, {opts.get('jobs', 1)} thread(s)"
        n_rows, area = len(out), float(out["area_km2"].sum())
        empty = int(out.geometry.is_empty.sum())
    else:
        size = chunk or catchments.CHUNK_SITES
        workers = catchments.CatchmentJob.processes_for(-(-len(pick) // size), processes)
        mode = (f"{workers} worker processes (fork) x {opts.get('jobs', 1)} thread(s), chunks of {size} sites"
                if workers > 1 else f"in-process, {opts.get('jobs', 1)} thread(s), chunks of {size} sites")
        for part in catchments.iter_catchments(net, pick, communes=communes, chunk_size=chunk,
                                               n_jobs=opts.get("jobs", 1), processes=processes):
            n_rows += len(part)
            area += float(part["area_km2"].sum())
            empty += int(part.geometry.is_empty.sum())
    return {"seconds": time.perf_counter() - t0, "sites": len(pick), "rows": n_rows, "area_km2": area,
            "empty_rows": empty, "load": (load0, os.getloadavg()[0]), "mode": mode}


def step_mclp(paths, opts):
    import numpy as np

    from fsgeo import siting
    from fsgeo.siting.restricted import mclp_on_network

    communes, sites, nets, _ = _load(paths)
    net = nets[0]
    if opts.get("departements"):
        communes = communes[communes["departement"].isin(opts["departements"])].reset_index(drop=True)
        sites = sites[sites["departement"].isin(opts["departements"])].reset_index(drop=True)
    cand = siting.candidates_from_communes(communes, sites, min_population=opts["min_population"])
    t0 = time.perf_counter()
    if opts.get("baseline"):  # the full instance: every commune x every candidate, searches without a cutoff
        r = siting.rank_candidates(cand, communes, sites, net, k=opts["k"], threshold=20, model="mclp",
                                   on_unplaced="skip", restricted=False).result
    elif opts.get("library"):
        r = mclp_on_network(communes, sites, cand, net, opts["k"], 20)
    else:  # what fsgeo rank does: rank_candidates, restricted by default above 2,000 communes
        r = siting.rank_candidates(cand, communes, sites, net, k=opts["k"], threshold=20, model="mclp",
                                   on_unplaced="skip").result
    t = time.perf_counter() - t0
    return {"seconds": t, "candidates": len(cand), "objective": float(r.objective), "baseline": float(r.baseline),
            "chosen": len(r.chosen), "status": r.status, "rows": int(r.extra.get("n_rows", -1)),
            "cols": int(r.extra.get("n_candidates", -1))}


def step_map(paths, opts):
    """The national HTML map as ``fsgeo map --study`` writes it (coverage on every landmass, then the map)."""
    from fsgeo import maps, national

    import geopandas as gpd

    communes, sites, nets, deps = _load(paths)
    t0 = time.perf_counter()
    res = national.national_coverage(communes, sites, nets, departements=deps)
    t1 = time.perf_counter()
    access = gpd.GeoDataFrame(res.access.drop(columns=["geometry"], errors="ignore"),
                              geometry=communes.geometry.to_numpy(), crs=communes.crs)
    m = maps.coverage_map(access, sites, tiles=False, title="France", national=True)
    out = maps.save_map(m, opts["out"])
    return {"seconds": time.perf_counter() - t0, "coverage_s": t1 - t0, "mb": out.stat().st_size / 1e6}


def _chromium_seconds(html) -> float:
    """Wall time of a headless Chromium screenshot of ``html`` (1024x768): opening the page, running its scripts
    and drawing it."""
    import shutil
    import subprocess
    import tempfile

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    profile = tempfile.mkdtemp(prefix="fsgeo-bench-")
    try:
        t0 = time.perf_counter()
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--window-size=1024,768",
                        f"--screenshot={Path(profile) / 'shot.png'}", Path(html).resolve().as_uri()],
                       capture_output=True, timeout=600, check=True)
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def map_lines(paths, tmp: Path) -> None:
    """The national map: written (time, peak, size), then opened in headless Chromium against the embedded
    Haute-Saône map in the same run."""
    import shutil

    out = tmp / "bench_france_map.html"
    res = run("step_map", paths, {"out": str(out)})
    print(line("national HTML map (coverage + map)", res))
    if "error" in res:
        return
    print(f"  {res['mb']:.1f} MB (coverage {res['coverage_s']:.1f} s of it)")
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        print("  no chromium: browser load time not measured")
        return
    from fsgeo import coverage, datasets, maps

    study = datasets.load_study()
    dep = tmp / "bench_70_map.html"
    access = coverage.access_times(study.communes, study.sites, study.network)
    maps.save_map(maps.coverage_map(access, study.sites, outline=study.outline, tiles=False), dep)
    base = min(_chromium_seconds(dep) for _ in range(2))
    mine = min(_chromium_seconds(out) for _ in range(2))
    print(f"{'  opened in headless Chromium (screenshot)':<44} {mine:8.2f} s wall | Haute-Saône map "
          f"({dep.stat().st_size / 1e6:.1f} MB, 536 communes) {base:.2f} s: x {mine / base:.1f}  [target: a few seconds]")


def mclp_lines(paths, args) -> None:
    region = ["21", "25", "39", "58", "70", "71", "89", "90"]  # Bourgogne-Franche-Comté
    if not args.skip_baselines:
        base = run("step_mclp", paths, {"k": 20, "min_population": 500, "departements": region, "baseline": True})
        mine = run("step_mclp", paths, {"k": 20, "min_population": 500, "departements": region})
        print(line("MCLP 20 sites, Bourgogne-Franche-Comté, restricted", mine, None, None, base))
        if "error" not in base and "error" not in mine:
            print(f"  check: same optimum as the full model: {abs(base['objective'] - mine['objective']) < 1e-6} "
                  f"({mine['objective']:,.0f} inhabitants within 20 min; {mine['candidates']:,} candidates, "
                  f"restricted instance {mine['rows']:,} communes x {mine['cols']:,} candidates)")
    mclp = run("step_mclp", paths, {"k": args.k, "min_population": args.min_population})
    print(line(f"exact MCLP, next {args.k} sites at 20 min, France (rank_candidates)", mclp, 30, 4))
    if "error" not in mclp:
        print(f"  {mclp['candidates']:,} candidates (communes of >= {args.min_population:,} inhabitants hosting no "
              f"site); restricted instance {mclp['rows']:,} communes x {mclp['cols']:,} candidates; status "
              f"{mclp['status']}; within 20 min: {mclp['baseline']:,.0f} -> {mclp['objective']:,.0f} inhabitants "
              f"with {mclp['chosen']} new sites")


def _child(fn_name, paths, opts, queue):
    try:
        tree_peak = _tree_rss_sampler()
        c0 = time.process_time()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = globals()[fn_name](paths, opts)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # every thread of the step, and of its worker processes (the wall time includes waiting for a CPU)
        out["cpu_s"] = time.process_time() - c0 + (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        # this process's maximum resident memory, or the largest sum over it and its worker processes if larger
        out["peak_gb"] = max(_rss_gb(), tree_peak())
        queue.put(out)
    except BaseException as exc:  # report, never hang the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}", "peak_gb": _rss_gb()})


def run(fn_name, paths, opts=None):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn_name, paths, opts or {}, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def line(name, res, target_s=None, target_gb=None, baseline=None):
    if "error" in res:
        return f"{name:<44} FAILED: {res['error']} (peak {res['peak_gb']:.2f} GB)"
    s = res["seconds"]
    text = f"{name:<44} {s:8.2f} s wall  peak {res['peak_gb']:5.2f} GB  (step CPU {res['cpu_s']:.1f} s)"
    if baseline is not None and "seconds" in baseline:
        text += (f"  | baseline {baseline['seconds']:7.2f} s wall, {baseline['peak_gb']:5.2f} GB "
                 f"(CPU {baseline['cpu_s']:.1f} s): x{baseline['seconds'] / s:5.1f} faster")
    checks = []
    if target_s is not None:
        checks.append(f"< {target_s:g} s {'met' if s < target_s else 'MISSED'}")
    if target_gb is not None:
        checks.append(f"< {target_gb:g} GB {'met' if res['peak_gb'] < target_gb else 'MISSED'}")
    return text + (f"  [{'; '.join(checks)}]" if checks else "")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study", type=Path, help="national study folder (python -m fsgeo.build_data.france --out DIR)")
    ap.add_argument("--raw", type=Path, default=None, help="raw sources (default ../shared/data/raw)")
    ap.add_argument("--cache", type=Path, default=None, help="where the assembled national inputs are cached")
    ap.add_argument("--k", type=int, default=100, help="new sites of the MCLP (default 100)")
    ap.add_argument("--min-population", type=int, default=2000,
                    help="candidates: communes of at least this many inhabitants hosting no site (default 2000)")
    ap.add_argument("--catchment-subset", type=int, default=150,
                    help="sites of the unchunked catchments baseline (default 150)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="threads for the catchment polygons (default 2, or 1 per worker process with --processes)")
    ap.add_argument("--processes", type=int, default=2,
                    help="worker processes over the chunks of the all-sites catchments (default 2; 1: in-process)")
    ap.add_argument("--in-process-baseline", action="store_true",
                    help="also time the all-sites catchments in-process (2 threads, the way before --processes) "
                         "first, as the baseline of the ratio")
    ap.add_argument("--dask-workers", type=int, default=0, metavar="N",
                    help="also time the all-sites catchments on a Dask LocalCluster of N workers (for comparison)")
    ap.add_argument("--skip-catchments", action="store_true")
    ap.add_argument("--only-catchments", action="store_true", help="the catchment steps only (after the load)")
    ap.add_argument("--skip-baselines", action="store_true")
    ap.add_argument("--only", choices=["mclp", "map"], default=None,
                    help="after loading, only the MCLP lines or only the national map lines")
    args = ap.parse_args(argv)

    study = args.study
    if study is None:
        import tempfile

        study = args.cache or Path(tempfile.gettempdir()) / "fsgeo-france"
        if not (study / "study.json").exists():
            from fsgeo.build_data import france

            t0 = time.perf_counter()
            france.build(args.raw or RAW_DEFAULT, study, log=lambda m: None)
            print(f"national study built in {time.perf_counter() - t0:.0f} s: {study}")
    tmp_snap = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_france_{os.getpid()}.pickle"
    paths = {"study": str(study), "snapshot": str(tmp_snap)}
    source = f"national study {study}"
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    print(f"fsgeo national benchmark -- {source}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(targets are judged on wall time; on a shared machine the step CPU time says what the code itself costs)")
    print("(each step in its own process; peak = that process's maximum resident memory, loading included; the "
          "steps after the first read the loaded layers from a pickle, so their times exclude loading)\n")

    tmp_snap.unlink(missing_ok=True)
    load = run("step_load", paths)
    if "error" in load:
        print(line("load", load))
        return 1
    print(f"{load['communes']:,} communes, {load['population']:,} inhabitants, {load['sites']:,} sites, "
          f"network {load['nodes']:,} nodes / {load['edges']:,} road segments")
    print(line("load (communes, sites, network)", load))
    if args.only is not None:
        (mclp_lines(paths, args) if args.only == "mclp" else map_lines(paths, tmp))
        tmp_snap.unlink(missing_ok=True)
        return 0
    if not args.only_catchments:
        near = run("step_nearest", paths)
        if "error" in near:
            print(line("nearest", near))
        else:
            print(f"{'nearest site of every commune':<44} {near['nearest_s']:8.2f} s;  nearest and second nearest "
                  f"{near['nearest_two_s']:.2f} s (same minutes: {near['same_minutes']})")

        cov = run("step_coverage", paths, {"access_out": str(tmp / "bench_france_access.parquet")})
        print(line("coverage report (national + by département)", cov, 20, 2))
        # the dense matrix of the whole country peaks near 10 GB with multi-link snapping (measured once): the baseline
        # runs on three regions (their communes and sites), and the bounded-memory code on the same subset for the ratio
        dense = sub = None
        if not args.skip_baselines:
            regions = ["01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",  # Auvergne-Rhône-Alpes
                       "21", "25", "39", "58", "70", "71", "89", "90",  # Bourgogne-Franche-Comté
                       "08", "10", "51", "52", "54", "55", "57", "67", "68", "88"]  # Grand Est
            dense = run("step_coverage_dense", paths, {"departements": regions,
                                                        "access_out": str(tmp / "bench_france_dense.parquet")})
            sub = run("step_coverage_subset", paths, {"departements": regions,
                                                       "access_out": str(tmp / "bench_france_access.parquet")})
            print(line("  same on 3 regions (30 départements), no matrix", sub, None, None, dense))
        if dense is not None and "error" not in dense and "error" not in sub:
            import numpy as np
            import pandas as pd

            a = pd.read_parquet(tmp / "bench_france_access.parquet")
            b = pd.read_parquet(tmp / "bench_france_dense.parquet")
            within = b["minutes"].to_numpy() <= 60  # the dense baseline is cut at 60 min
            diff = np.abs(a["minutes"].to_numpy()[within] - b["minutes"].to_numpy()[within])
            print(f"  check: nearest minutes equal to the dense matrix's for the {int(within.sum()):,} communes within "
                  f"60 min: max difference {diff.max():.2e} min")

    if not args.skip_catchments:
        if args.jobs is None:
            args.jobs = 1 if args.processes > 1 else 2
        sub = args.catchment_subset
        if not args.skip_baselines:
            base = run("step_catchments", paths, {"n_sites": sub, "chunk_size": "all", "jobs": args.jobs})
            mine = run("step_catchments", paths, {"n_sites": sub, "chunk_size": None, "jobs": args.jobs})
            print(line(f"catchments, {sub} sites, chunked", mine, None, None, base))
            if "error" not in base and "error" not in mine:
                print(f"  check: same rows and areas as unchunked: {base['rows'] == mine['rows']}, "
                      f"{abs(base['area_km2'] - mine['area_km2']) < 1e-6 * base['area_km2']}")
        inproc = None
        if args.in_process_baseline:
            inproc = run("step_catchments", paths, {"n_sites": None, "chunk_size": None, "jobs": 2,
                                                    "all_landmasses": True, "processes": 1})
            print(line(f"  all sites in-process ({inproc.get('mode', '?')})", inproc, 120, 3))
        full = run("step_catchments", paths, {"n_sites": None, "chunk_size": None, "jobs": args.jobs,
                                              "all_landmasses": True, "processes": args.processes})
        print(line(f"catchments of all sites (10/20/30 min)", full, 120, 3, inproc))
        if "error" not in full:
            print(f"  mode: {full['mode']} (peak: the largest sum of the resident memory of the step's process and "
                  "its workers, shared pages counted in each)")
            print(f"  {full['sites']:,} sites on every landmass network: {full['rows']:,} rows, "
                  f"{full['rows'] - full['empty_rows']:,} polygons, {full['empty_rows']:,} empty (sites placed on no "
                  f"network: overseas); load average {full['load'][0]:.1f} at the start, {full['load'][1]:.1f} at "
                  f"the end (wall time waits for a CPU when the load exceeds the {os.cpu_count()} cores)")
        if args.dask_workers:
            dask = run("step_catchments", paths, {"n_sites": None, "chunk_size": None, "all_landmasses": True,
                                                  "dask_workers": args.dask_workers})
            print(line(f"  same on Dask ({args.dask_workers} local workers)", dask, 120, 3))
            if "error" not in dask and "error" not in full:
                print(f"  check: same rows and areas as the worker processes: {dask['rows'] == full['rows']}, "
                      f"{abs(dask['area_km2'] - full['area_km2']) < 1e-6 * full['area_km2']}; load average "
                      f"{dask['load'][0]:.1f} -> {dask['load'][1]:.1f}")

    if not args.only_catchments:
        mclp_lines(paths, args)
        map_lines(paths, tmp)
    tmp_snap.unlink(missing_ok=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
