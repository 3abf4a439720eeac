"""Sweep: build the study of every metropolitan département (communes, sites, network) from the raw sources.

    python bench/sweep_departements.py [--raw ../shared/data/raw] [--only 2A,67] [--keep DIR]

Prints one line per département: communes, population (= the COG's, checked), sites (own / kept), network nodes and
components, seconds; then a summary. Exits non-zero if any build fails (the error is printed on its line). Each
study is built into a temporary folder (kept under ``--keep`` if given). Too long for CI (about 96 x 15 s).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fsgeo.build_data import build_all  # noqa: E402


def metropolitan(raw: Path) -> list[str]:
    rows = json.loads((raw / "etalab" / "departements.json").read_text(encoding="utf-8"))
    return [r["code"] for r in rows if r.get("zone") == "metro"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--raw", type=Path, default=REPO.parent / "shared" / "data" / "raw")
    p.add_argument("--only", help="comma list of départements (default: the 96 metropolitan ones)")
    p.add_argument("--keep", type=Path, help="keep the built studies under this folder")
    args = p.parse_args(argv)
    codes = args.only.split(",") if args.only else metropolitan(args.raw)
    print(f"{'dep':>4} {'communes':>8} {'population':>10} {'sites':>9} {'nodes':>7} {'comp':>4} {'seconds':>7}  notes",
          flush=True)
    failures, total_t = [], 0.0
    totals = {"communes": 0, "population": 0, "sites": 0, "nodes": 0}
    for code in codes:
        with tempfile.TemporaryDirectory(prefix=f"fsgeo-sweep-{code}-") as tmp:
            out = (args.keep / code) if args.keep else Path(tmp)
            lines: list[str] = []
            t0 = time.perf_counter()
            try:
                m = build_all(args.raw, out, lines.append, code)
            except Exception as exc:  # noqa: BLE001 - report and go on with the others
                dt = time.perf_counter() - t0
                failures.append(code)
                print(f"{code:>4} FAILED after {dt:.1f} s: {type(exc).__name__}: {exc}", flush=True)
                traceback.print_exc(limit=3, file=sys.stderr)
                continue
            dt = time.perf_counter() - t0
            total_t += dt
            manifest = json.loads((out / "communes" / "manifest.json").read_text(encoding="utf-8"))
            sites = json.loads((out / "sites.geojson").read_text(encoding="utf-8"))["features"]
            own = sum(f["properties"]["in_departement"] for f in sites)
            nodes = m.network.get("nodes", 0)
            comps = len(m.network.get("components", []))
            notes = []
            if manifest["population"] != manifest["source_population"]:
                notes.append("POPULATION MISMATCH")
                failures.append(code)
            if manifest.get("shared_polygons"):
                notes.append(f"{len(manifest['shared_polygons'])} restored communes share a polygon")
            if comps > 1:
                notes.append(f"{comps} landmasses with roads")
            bare = [ln.split(": ", 1)[1] for ln in lines if "no Travel Mapping routes départementales" in ln]
            if bare:
                notes.append(bare[0])
            print(f"{code:>4} {manifest['communes']:>8} {manifest['population']:>10} {own:>4}/{len(sites):<4} "
                  f"{nodes:>7} {comps:>4} {dt:>7.1f}  {'; '.join(notes)}", flush=True)
            totals["communes"] += manifest["communes"]
            totals["population"] += manifest["population"]
            totals["sites"] += own
            totals["nodes"] += nodes
    ok = len(codes) - len(set(failures))
    print(f"{ok} of {len(codes)} départements built in {total_t:.0f} s; {totals['communes']} communes, "
          f"{totals['population']} inhabitants, {totals['sites']} own sites"
          + (f"; FAILED: {', '.join(sorted(set(failures)))}" if failures else ""), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
