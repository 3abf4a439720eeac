"""The national report of ``fsgeo coverage``: a study of several départements (France, a region, a list) gets the
shares nationally and a table by département and by region (:mod:`fsgeo.national`); the CLI only wires."""

from __future__ import annotations

import io as _io
import pandas as pd

from fsgeo.cli.common import emit, emit_json, provenance_of, write_csv_with_sidecar


def is_national(communes) -> bool:
    """A study of more than one département gets the national report (one row per département)."""
    return "departement" in communes.columns and communes["departement"].astype(str).nunique() > 1


def departements_table(study):
    """``code``, ``name``, ``region`` of the départements when the study provides them (``departements.csv`` in the
    study folder, written by the national build), else None."""
    path = study.root / "departements.csv" if study.root is not None else None
    if path is not None and path.is_file():
        return pd.read_csv(path, dtype=str)
    return None


def networks_of(study):
    """The study's road networks: one per landmass when its manifest lists them (the national study: mainland and
    Corsica) and no other network was given, else its one network."""
    from fsgeo.network import RoadNetwork

    landmasses = (study.manifest.network or {}).get("landmasses")
    if landmasses and study.paths["network"] == study.manifest.path("network"):
        networks = [RoadNetwork.from_file(study.root / lm["file"], metric_crs=study.metric_crs) for lm in landmasses]
        # the communes the build found on an island without roads: as Study.network does for one network
        islands = frozenset(str(c) for c in (study.manifest.network or {}).get("islands_without_roads") or ())
        for net in networks:
            net.islands_without_roads = islands
        return networks
    return [study.network]


def rows_csv(result) -> str:
    """One CSV with every row: the nation, each region, each département (``level`` says which)."""
    s = result.summary
    within = {f"share_within_{b:g}": float(r) for b, r in zip(s.bands["band_min"], s.bands["population_share"])}
    nation = {"level": "national", "departement": "", "name": "ensemble de l'étude", "region": "",
              "population": s.population, "communes": s.n_communes, "sites": result.meta["n_sites"],
              "mean_minutes": s.mean_min, "median_minutes": s.median_min, "p90_minutes": s.p90_min,
              "max_minutes": s.max_min, "unreachable_population": s.unreachable_population,
              "population_beyond_commitment": s.commitment_population_beyond, "commitment_met": s.commitment_met,
              **within}
    flagged = result.meta.get("access_dominated")
    if flagged:  # the communes whose time is mostly their access leg (national.ACCESS_FLAG_COUNTS)
        nation.update(access_dominated_communes=flagged["communes"], access_dominated_population=flagged["population"])
    frames = [pd.DataFrame([nation])] + [t.assign(level=level) for level, t in
                                         (("region", result.regions), ("departement", result.departements)) if len(t)]
    table = pd.concat(frames, ignore_index=True)
    first = ["level", "departement", "name", "region", "population", "communes", "sites"]
    last = [c for c in ("access_dominated_communes", "access_dominated_population") if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first + last] + last]
    try:  # formula-safe cells when the export helpers are there
        from fsgeo.export import csv_safe_frame  # type: ignore[attr-defined]

        table = csv_safe_frame(table)
    except ImportError:
        pass
    buf = _io.StringIO()
    table.to_csv(buf, index=False, float_format="%.4f", lineterminator="\n")
    return buf.getvalue()


def run_national(args, study, fmt) -> int:
    from fsgeo import national

    networks = networks_of(study)
    result = national.national_coverage(
        study.communes, study.sites, networks, departements=departements_table(study), bands=args.bands,
        threshold_min=getattr(args, "threshold", None), as_of=args.as_of, kind=args.kind,
        no_network=(study.manifest.network or {}).get("no_network"), parts=study.demand_parts)
    s = result.summary
    prov = provenance_of(args, networks[0] if networks else None, threshold_min=s.threshold_min,
                         bands_min=list(s.bands["band_min"]), commitment_min=s.commitment_min)
    if fmt == "json":
        emit_json(result.to_dict(), args.out, prov)
    elif fmt == "csv":
        write_csv_with_sidecar(rows_csv(result), args.out, prov)
    else:
        from fsgeo.reports import provenance_footer

        text = national.text_report(result, lang=args.lang).rstrip("\n")
        emit("\n".join([text, *provenance_footer(prov, args.lang)]) + "\n", args.out)
    return 0
