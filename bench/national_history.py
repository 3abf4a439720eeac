"""The README's national table: shares of inhabitants within 20 and 30 minutes at several dates.

    python bench/national_history.py --study DIR [--dates 2020-12-31,2021-12-31,...]

For each date, the structures of the ANCT list labelled on or before it (``--as-of``) are routed by car from every
commune's demand points (its parts when the study has them) on the study's networks (one per landmass), with
:func:`fsgeo.national.national_coverage`. "France" shares are of every inhabitant of the study (overseas
départements without a network count as unreachable); "mainland" shares of the 96 metropolitan départements
(Corsica included). Prints one Markdown row per date, then the wall time of each run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATES = ("2020-12-31", "2021-12-31", "2022-10-26", "2022-12-31", "2023-12-31", None)


def shares(access: pd.DataFrame, mask: np.ndarray, bands=(20.0, 30.0)) -> list[float]:
    """Population shares within each band among the rows of ``mask``, counting demand parts at their own time."""
    from fsgeo import coverage

    rows = access[mask]
    points = coverage.demand_rows(rows)  # every part of a commune at its own time (exact shares)
    pop, minutes = points["population"].to_numpy(float), points["minutes"].to_numpy(float)
    total = pop.sum()
    return [float(pop[np.isfinite(minutes) & (minutes <= b)].sum() / total) for b in bands]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, required=True, help="national study folder (fsgeo build --france)")
    ap.add_argument("--dates", default=None, help="comma-separated ISO dates (default: the README's)")
    args = ap.parse_args(argv)

    import inspect

    from fsgeo import datasets, national
    from fsgeo.cli.national_cmd import departements_table, networks_of

    study = datasets.load_study(args.study)
    communes, sites = study.communes, study.sites
    networks = networks_of(study)
    deps = departements_table(study)
    no_network = (study.manifest.network or {}).get("no_network")
    parts = getattr(study, "demand_parts", None)
    extra = {"parts": parts} if parts is not None and "parts" in inspect.signature(national.national_coverage).parameters \
        else {}
    dates = DATES if args.dates is None else tuple(d or None for d in args.dates.split(","))
    print(f"study {args.study}: {len(communes):,} communes, {int(communes['population'].sum()):,} inhabitants, "
          f"{len(sites):,} structures; demand parts: {0 if parts is None else len(parts)}", file=sys.stderr)
    print("| date | structures | ≤ 20 min France | ≤ 30 min France | ≤ 20 min mainland | ≤ 30 min mainland "
          "| départements within 30 min |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for day in dates:
        t0 = time.perf_counter()
        res = national.national_coverage(communes, sites, networks, departements=deps, as_of=day,
                                         no_network=no_network, **extra)
        access = res.access
        mainland = ~access["departement"].astype(str).str.startswith("97").to_numpy()
        fr20, fr30 = shares(access, np.ones(len(access), bool))
        ml20, ml30 = shares(access, mainland)
        met = int(res.departements["commitment_met"].sum())
        label = day or "latest"
        print(f"| {label} | {res.meta['n_sites']:,} | {fr20:.1%} | {fr30:.1%} | {ml20:.1%} | {ml30:.1%} | {met} |"
              .replace("%", " %"), flush=True)
        print(f"  {day or 'latest'}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
