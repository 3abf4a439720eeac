"""Coverage of a whole country (or any multi-département study) by département and region, in bounded memory.

:func:`national_coverage` routes every commune to its nearest and second-nearest site with two multi-source
searches per road network (:func:`fsgeo.coverage.access_from_network`: no communes x sites matrix), on one network
or on several (one per landmass: mainland, Corsica, islands; a commune or site is routed on the network it snaps
to), and summarises:

- nationally: population shares within each band (10/15/20/30/45 min by default), population-weighted mean,
  median, 90th percentile and maximum minutes, the statuses (covered / under-served / unreachable with reasons) and
  the commitment (every inhabitant within ``commitment_min``, 30 min) with the inhabitants beyond it;
- per département and per region: inhabitants, communes, share within 20 and 30 min (``table_bands``), mean
  minutes, worst commune, number of sites (of the département, in the selection), unreachable inhabitants,
  inhabitants beyond the commitment and whether it is met.

Each commune also gets ``access_share`` / ``access_dominated`` (:func:`fsgeo.coverage.access_times`'s flag: its time
is mostly the straight access leg to the road network), counted per département and region and listed in the report.

Shares are of *all* inhabitants (unreachable communes count in the denominator, never silently dropped). Times are
minutes by car from each commune's demand point (where its whole INSEE population municipale is placed), or, with
``parts=``, from each of its weighted demand points (Paris, Lyon, Marseille by arrondissement): the commune rows
aggregate the parts and every population figure counts each part at its own time
(:func:`fsgeo.coverage.demand_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fsgeo import coverage
from fsgeo.settings import settings

#: INSEE region codes (2016 regions) and names: regions group départements in the tables
REGION_NAMES = {
    "01": "Guadeloupe", "02": "Martinique", "03": "Guyane", "04": "La Réunion", "06": "Mayotte",
    "11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté", "28": "Normandie",
    "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire", "53": "Bretagne",
    "75": "Nouvelle-Aquitaine", "76": "Occitanie", "84": "Auvergne-Rhône-Alpes", "93": "Provence-Alpes-Côte d'Azur",
    "94": "Corse",
}

DEPARTEMENT_COLUMNS = [
    "departement", "name", "region", "population", "communes", "sites", "share_within_20", "share_within_30",
    "mean_minutes", "median_minutes", "max_minutes", "worst_commune_code", "worst_commune_name",
    "worst_commune_minutes", "unreachable_population", "unreachable_communes", "population_beyond_commitment",
    "commitment_met",
]


@dataclass
class NationalCoverage:
    """Result of :func:`national_coverage` (times in minutes, populations in inhabitants).

    Attributes
    ----------
    access : pandas.DataFrame
        One row per commune (:data:`fsgeo.coverage.ACCESS_COLUMNS`, plus ``region``): nearest and second-nearest
        site, minutes, status and reason, ``access_share`` and ``access_dominated`` (as
        :func:`fsgeo.coverage.access_times`, towards the nearest site on the commune's own network). No geometry
        (the national table stays light).
    summary : fsgeo.coverage.CoverageSummary
        National headline figures (bands, mean/median/p90/max, statuses, commitment).
    departements : pandas.DataFrame
        One row per département (:data:`DEPARTEMENT_COLUMNS`, shares in [0, 1]; ``share_within_20`` /
        ``share_within_30`` follow ``table_bands``; then :data:`ACCESS_FLAG_COUNTS`).
    regions : pandas.DataFrame
        The same per region (``departement``/``name`` are the region's code and name, ``region`` repeats the code).
    meta : dict
        ``as_of``, ``kind``, ``n_sites``, ``n_sites_routed``, ``sites_not_routed`` (with reasons), ``networks``
        (name, nodes per network), ``bands``, ``table_bands``, ``commitment_min``, ``access_dominated`` (``limit``,
        ``communes``, ``population``).
    """

    access: pd.DataFrame
    summary: coverage.CoverageSummary
    departements: pd.DataFrame
    regions: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: ``meta``, ``summary`` (national), ``departements`` and ``regions`` as lists of records, and
        ``access_dominated``: every commune whose time is mostly its access leg (:func:`access_dominated`)."""
        return {
            "meta": self.meta,
            "summary": _plain(self.summary.to_dict()),
            "departements": _records(self.departements),
            "regions": _records(self.regions),
            "access_dominated": _records(access_dominated(self)),
        }


def _records(frame: pd.DataFrame) -> list[dict]:
    return _plain(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))


def _plain(value):
    """numpy scalars -> Python, non-finite floats -> None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _networks(network) -> list:
    if network is None:
        raise ValueError("national_coverage needs a road network (or a list of them, one per landmass)")
    return list(network) if isinstance(network, (list, tuple)) else [network]


def access_on_networks(communes, sites, networks, threshold_min=None, cutoff_min=None, parts=None):
    """:func:`fsgeo.coverage.access_from_network` on one network or several (one per landmass).

    With several networks each commune keeps the result of the first network its point snaps to; the next network
    only routes the communes that none before could place (a few hundred for Corsica after the mainland, not the
    35,000). A commune routable on none keeps the reason of the network whose nearest node is closest. The sites
    are routed on every network (a site only reaches the communes of its own landmass anyway).

    ``parts`` (demand parts, see :func:`fsgeo.coverage.demand_point_table`): every part is a point of its own,
    routed on the first network it snaps to like a commune; each commune's row then aggregates its parts
    (:func:`fsgeo.coverage.aggregate_parts`).

    Returns
    -------
    (access, site_reasons)
        As :func:`fsgeo.coverage.access_from_network`; ``site_reasons`` lists the sites that could be placed on no
        network, with the reason given by the network nearest to them.
    """
    from fsgeo import datasets, routing

    if coverage.has_parts(parts):
        points = coverage.demand_point_table(communes, parts)
        per_point, s_bad = access_on_networks(points, sites, networks, threshold_min=threshold_min,
                                              cutoff_min=cutoff_min)
        return coverage.aggregate_parts(communes, points, per_point, threshold_min=threshold_min), s_bad
    networks = _networks(networks)
    if len(networks) == 1:
        access, reasons = coverage.access_from_network(communes, sites, networks[0], threshold_min=threshold_min,
                                                       cutoff_min=cutoff_min)
        return _with_access_flag(access, communes, sites, networks[0]), reasons
    points = datasets.demand_points(communes)
    site_pts = sites.set_axis(coverage.site_table(sites)["id"].to_numpy(), axis=0)
    n = len(communes)
    best = None
    best_snap = np.full(n, np.inf)  # -1 once routable; else the distance to the nearest node seen so far
    site_ok = np.zeros(len(sites), bool)
    site_reason = pd.Series("", index=site_pts.index, dtype=object)
    site_snap = np.full(len(sites), np.inf)
    for net in networks:
        todo = np.flatnonzero(best_snap >= 0)  # not yet routable
        if not todo.size:
            break
        snap = routing.snap_points(net, points.iloc[todo])
        ok = (snap["status"] == "ok").to_numpy()
        dist = np.nan_to_num(snap["snap_distance_m"].to_numpy(dtype=float), nan=np.inf)
        if len(sites):
            ssnap = routing.snap_points(net, site_pts)
            sok = (ssnap["status"] == "ok").to_numpy()
            sdist = np.nan_to_num(ssnap["snap_distance_m"].to_numpy(dtype=float), nan=np.inf)
            closer = ~site_ok & ~sok & (sdist < site_snap)
            site_reason[closer] = ssnap["reason"].astype(str).to_numpy()[closer]
            site_snap = np.where(closer, sdist, site_snap)
            site_ok |= sok
        # routable here, or a better reason than before (every commune gets the first network's answer)
        take = np.ones(len(todo), bool) if best is None else ok | (dist < best_snap[todo])
        rows = todo[take]
        if not rows.size:
            continue
        acc, _ = coverage.access_from_network(communes.iloc[rows], sites, net, threshold_min=threshold_min,
                                              cutoff_min=cutoff_min)
        acc = pd.DataFrame(_with_access_flag(acc, communes.iloc[rows], sites, net)).set_axis(rows, axis=0)
        if best is None:
            attrs = dict(acc.attrs.get("fsgeo", {}))
            best = acc
        else:
            best = pd.concat([best.drop(index=rows), acc])
        best_snap[rows] = np.where(ok[take], -1.0, dist[take])
    best = best.sort_index().reset_index(drop=True)
    best.attrs = {"fsgeo": attrs}
    best.attrs["fsgeo"].update({"n_sites_routed": int(site_ok.sum()),
                                "sites_not_routed": site_pts.index[~site_ok].tolist()})
    return best, site_reason[~site_ok]


def _with_access_flag(access, communes, sites, network):
    """``access_share`` and ``access_dominated`` as :func:`fsgeo.coverage.access_times` gives them, towards the
    nearest site on ``network`` (one more multi-source search on it)."""
    access["access_share"] = coverage._access_shares(access, communes, sites, network)
    access["access_dominated"] = access["access_share"].to_numpy(dtype=float) > coverage.ACCESS_DOMINATED
    return access


#: per département / region / the nation: the communes whose time is mostly their access leg and their inhabitants
ACCESS_FLAG_COUNTS = ["access_dominated_communes", "access_dominated_population"]


def _access_flag_counts(table, access, key):
    """``table`` (one row per ``departement`` code) with :data:`ACCESS_FLAG_COUNTS`, grouped on ``access[key]``."""
    flag = access["access_dominated"].fillna(False).astype(bool) if "access_dominated" in access.columns else \
        pd.Series(False, index=access.index)
    groups = access[key].astype(str)
    communes = flag.groupby(groups).sum()
    population = access["population"].where(flag, 0).astype(float).groupby(groups).sum()
    codes = table["departement"].astype(str)
    table = table.copy()
    table["access_dominated_communes"] = codes.map(communes).fillna(0).astype(int).to_numpy()
    table["access_dominated_population"] = codes.map(population).fillna(0).round().astype(int).to_numpy()
    return table


def access_dominated(result: "NationalCoverage") -> pd.DataFrame:
    """The communes of a national run whose time is mostly their access leg (:func:`fsgeo.coverage.access_dominated`,
    longest leg first), with their ``departement``."""
    flagged = coverage.access_dominated(result.access)
    dep = dict(zip(result.access["code"].astype(str), result.access["departement"].astype(str)))
    flagged.insert(2, "departement", flagged["code"].astype(str).map(dep))
    return flagged


def _weighted_mean(t, w):
    ok = np.isfinite(t) & (w > 0)
    return float(np.average(t[ok], weights=w[ok])) if ok.any() else float("nan")


def _group_table(access, key, names, sites_per, table_bands, commitment):
    """One row per value of ``key``: inhabitants counted per demand point (:func:`fsgeo.coverage.demand_rows`: a
    commune with parts at each part's time), communes per commune; the worst commune is the one holding the longest
    time (``minutes_max`` when the table has communes with parts), ``worst_commune_minutes`` that time."""
    rows = []
    demand = dict(tuple(coverage.demand_rows(access, columns=[key]).groupby(key, sort=True)))
    by_max = "minutes_max" if "minutes_max" in access.columns else "minutes"
    for code, g in access.groupby(key, sort=True):
        d = demand[code]
        t = d["minutes"].to_numpy(dtype=float)
        w = d["population"].to_numpy(dtype=float)
        total = float(w.sum())
        fin = np.isfinite(t)
        worst = g[np.isfinite(g[by_max].to_numpy(dtype=float))].sort_values([by_max, "population"],
                                                                             ascending=[False, False]).head(1)
        beyond = fin & (t > commitment)
        unreach = ~fin
        row = {
            "departement": str(code), "name": names.get(str(code), str(code)),
            "region": str(g["region"].iat[0]) if "region" in g.columns else "",
            "population": int(round(total)), "communes": int(len(g)), "sites": int(sites_per.get(str(code), 0)),
        }
        for b, col in zip(table_bands, ("share_within_20", "share_within_30")):
            row[col] = float(w[fin & (t <= b)].sum() / total) if total else float("nan")
        row.update({
            "mean_minutes": _weighted_mean(t, w),
            "median_minutes": coverage.weighted_quantile(t, w, 0.5),
            "max_minutes": float(t[fin].max()) if fin.any() else float("nan"),
            "worst_commune_code": worst["code"].iat[0] if len(worst) else None,
            "worst_commune_name": worst["name"].iat[0] if len(worst) else None,
            "worst_commune_minutes": float(worst[by_max].iat[0]) if len(worst) else float("nan"),
            "unreachable_population": int(round(w[unreach].sum())),
            "unreachable_communes": int((~np.isfinite(g["minutes"].to_numpy(dtype=float))).sum()),
            "population_beyond_commitment": int(round(w[beyond].sum())),
            # every inhabitant routed and within the commitment (a commune nobody lives in does not break it)
            "commitment_met": bool(not ((beyond | unreach) & (w > 0)).any()),
        })
        rows.append(row)
    return pd.DataFrame(rows, columns=DEPARTEMENT_COLUMNS)


def national_coverage(communes, sites, network, departements=None, bands=None, table_bands=(20.0, 30.0),
                      commitment_min=None, threshold_min=None, as_of=None, kind="all", cutoff_min=None,
                      n_worst=20, no_network=None, parts=None) -> NationalCoverage:
    """Coverage of every commune of a (national or multi-département) study, nationally and by département/region.

    Parameters
    ----------
    communes : geopandas.GeoDataFrame or pandas.DataFrame
        Communes (``code``, ``name``, ``departement``, ``population``, ``point_lon``, ``point_lat``; ``region``
        used when present, else taken from ``departements``).
    sites : geopandas.GeoDataFrame
        France Services sites (``id``, ``name``, ``departement``, ``kind``, ``labelled_on``, Points).
    network : fsgeo.network.RoadNetwork or list of them
        One road network, or one per landmass (see :func:`access_on_networks`).
    departements : pandas.DataFrame, optional
        ``code``, ``name``, ``region`` of each département (names and regions of the table rows).
    bands : sequence of float, optional
        National share bands, minutes (default ``settings.summary_bands_min``: 10, 15, 20, 30, 45).
    table_bands : (float, float)
        The two bands of the per-département shares, minutes (20 and 30).
    commitment_min : float, optional
        The State's commitment, minutes (default ``settings.commitment_min``, 30).
    threshold_min : float, optional
        Under-served threshold of the statuses, minutes (default ``settings.threshold_min``).
    as_of : str or datetime.date, optional
        Only the sites labelled on or before this date (ANCT labellisation dates).
    kind : {"all", "principal"}
        Whether antennas count as sites.
    cutoff_min : float, optional
        Routing cutoff, minutes.
    n_worst : int
        Communes listed in ``summary.worst``.
    no_network : sequence, optional
        Départements without a road network (codes, or the manifest's ``no_network`` entries with ``departement``
        and ``status``): their unreachable communes get that status as their reason.
    parts : geopandas.GeoDataFrame, optional
        Demand parts of the communes with several weighted points (``Study.demand_parts``): every part routed as
        its own point (:func:`access_on_networks`), the commune rows aggregate them, and the national, département
        and region population figures count each part's inhabitants at the part's own time
        (:func:`fsgeo.coverage.demand_rows`). ``None`` or empty: one point per commune.

    Returns
    -------
    NationalCoverage
    """
    commitment = float(settings.commitment_min if commitment_min is None else commitment_min)
    table_bands = tuple(float(b) for b in table_bands)
    if len(table_bands) != 2:
        raise ValueError(f"table_bands must be two minutes values, got {table_bands}")
    selected = coverage.select_sites(sites, communes, kind=kind, as_of=as_of)
    networks = _networks(network)
    plain = communes.drop(columns=communes.geometry.name) if hasattr(communes, "geometry") and \
        getattr(communes, "_geometry_column_name", None) in communes.columns else communes
    plain = pd.DataFrame(plain)
    access, site_reasons = access_on_networks(plain, selected, networks, threshold_min=threshold_min,
                                              cutoff_min=cutoff_min, parts=parts)
    part_records = access.attrs.get("fsgeo", {}).get("parts")
    access = pd.DataFrame(access)
    if part_records:  # the per-part results travel with the table (coverage.demand_rows)
        access.attrs["fsgeo"] = {"parts": part_records}
    if len(selected) == 0 and len(sites):
        access["reason"] = "no site selected: " + coverage.selection_text(kind, False, as_of)
    for entry in no_network or ():
        code, status = (entry["departement"], entry.get("status")) if isinstance(entry, dict) else (entry, None)
        hit = (access["departement"].astype(str) == str(code)) & (access["status"] == "unreachable")
        access.loc[hit, "reason"] = status or "no road network: supply one"
    dep_names, dep_region = {}, {}
    if departements is not None:
        d = pd.DataFrame(departements)
        dep_names = dict(zip(d["code"].astype(str), d["name"].astype(str)))
        if "region" in d.columns:
            dep_region = dict(zip(d["code"].astype(str), d["region"].astype(str)))
    if "region" in plain.columns:
        access["region"] = plain["region"].astype(str).to_numpy()
    else:
        access["region"] = [dep_region.get(d, "") for d in access["departement"].astype(str)]
    summ = coverage.summary(access, bands=bands, threshold=threshold_min, commitment_min=commitment, n_worst=n_worst)
    site_dep = selected["departement"].astype(str) if "departement" in selected.columns else pd.Series(dtype=str)
    sites_per_dep = site_dep.value_counts().to_dict()
    deps = _group_table(access, "departement", dep_names, sites_per_dep, table_bands, commitment)
    site_region = site_dep.map(dep_region) if dep_region else pd.Series(dtype=str)
    known = access["region"].astype(str) != ""
    # regions only where the study says which region each département is in
    regions = _group_table(access[known].assign(_r=access["region"][known]), "_r", REGION_NAMES,
                           site_region.value_counts().to_dict(), table_bands, commitment) if known.any() \
        else pd.DataFrame(columns=DEPARTEMENT_COLUMNS)
    deps = _access_flag_counts(deps, access, "departement")
    regions = _access_flag_counts(regions, access[known], "region")
    flagged = access["access_dominated"].fillna(False).astype(bool) if "access_dominated" in access.columns else \
        np.zeros(len(access), bool)
    meta = {
        "as_of": None if as_of is None else coverage.as_date(as_of).isoformat(),
        "kind": kind,
        "n_communes": int(len(access)),
        "population": int(round(float(access["population"].sum()))),
        "n_sites": int(len(selected)),
        # the sites placed on no network are site_reasons (access.attrs does not survive pd.DataFrame(access): the
        # report said every site was placed, overseas ones included)
        "n_sites_routed": int(len(selected) - len(site_reasons)),
        "sites_not_routed": [{"id": str(i), "reason": str(r)} for i, r in site_reasons.items()],
        "networks": [{"name": getattr(n, "name", "network"), "nodes": int(n.n_nodes)} for n in networks],
        "no_network": [e["departement"] if isinstance(e, dict) else str(e) for e in (no_network or ())],
        "bands": [float(b) for b in summ.bands["band_min"]],
        "table_bands": list(table_bands),
        "commitment_min": commitment,
        "threshold_min": summ.threshold_min,
        # the communes whose time is mostly their access leg (coverage.ACCESS_DOMINATED): how many, who lives there
        "access_dominated": {"limit": coverage.ACCESS_DOMINATED, "communes": int(flagged.sum()),
                             "population": int(round(float(access["population"][flagged].sum())))},
    }
    return NationalCoverage(access=access, summary=summ, departements=deps, regions=regions, meta=meta)


def _n(value, lang="fr") -> str:
    """An integer with thousands separators in the language's style (:func:`fsgeo.reports.number`)."""
    from fsgeo import reports

    return reports.number(value, 0, lang)


def _min(value, lang="fr") -> str:
    """Minutes, one decimal, in the language's style (``6,1`` in French); ``-`` when there is none."""
    from fsgeo import reports

    return reports.number(value, 1, lang, na="-")


def _pct(value, lang="fr") -> str:
    """A share (0-1) as a percentage in the language's style (``96,8 %`` in French); ``-`` when there is none."""
    from fsgeo import reports

    return "-" if not np.isfinite(value) else reports.percent(value, 1, lang)


def text_report(result: NationalCoverage, max_rows=None, lang=None) -> str:
    """Plain-text national report (French by default, ``lang="en"`` for English): headline figures, the commitment
    nationally and per département, the communes whose time is mostly their access leg (count, inhabitants, why,
    the longest legs with their département), the tables by département and by region.

    ``max_rows`` limits the rows of each table (``0``: headline figures only, the access-leg paragraph without its
    list). One function so that it can move to :mod:`fsgeo.reports` with the other text reports.
    """
    from fsgeo import reports

    T = reports.Text(lang)
    lang = T.lang
    s, m = result.summary, result.meta
    when = T("nat_as_of", date=m["as_of"]) if m.get("as_of") else ""
    lines = [
        T("nat_title", when=when, communes=_n(m["n_communes"], lang), inhabitants=_n(m["population"], lang),
          sites=_n(m["n_sites"], lang), routed=_n(m["n_sites_routed"], lang)),
        "",
        T("nat_bands"),
    ]
    for r in s.bands.itertuples():
        lines.append(T("nat_band", band=f"{r.band_min:>4g}", share=f"{_pct(r.population_share, lang):>8}",
                       inhabitants=_n(r.population, lang)))
    lines += [
        "",
        T("nat_times", mean=_min(s.mean_min, lang), median=_min(s.median_min, lang), p90=_min(s.p90_min, lang),
          max=_min(s.max_min, lang)),
        T("nat_unreachable", inhabitants=_n(s.unreachable_population, lang)),
        "",
    ]
    listed = reports.parts_listing(result.access, T)
    if listed is not None:  # demand parts: which communes have several weighted points
        lines[-1:-1] = [T("nat_parts", communes=listed)]
    if s.commitment_met:
        lines.append(T("nat_met", c=f"{s.commitment_min:g}"))
    else:
        lines.append(T("nat_not_met", c=f"{s.commitment_min:g}", beyond=_n(s.commitment_population_beyond, lang),
                       communes=_n(s.commitment_communes_beyond, lang),
                       unreachable=_n(s.unreachable_population, lang)))
    deps = result.departements
    lines += [T("nat_met_in", k=int(deps["commitment_met"].sum()), n=len(deps)), ""]
    top = 10 if max_rows is None else min(10, max_rows)
    flagged = access_dominated(result)
    lines += reports._access_dominated_lines(result.access, T, lambda i, name: reports.short_site(name), top,
                                             flagged=flagged, hint="nat_more_json")
    b20, b30 = (f"≤{b:g} min" for b in m.get("table_bands", (20, 30)))
    header = (f"{'code':<5} {T('nat_h_name'):<24} {T('nat_h_inhabitants'):>11} {'sites':>5} {b20:>9} {b30:>9} "
              f"{T('nat_h_mean'):>6} {T('nat_h_worst'):<30} {'min':>6} {T('nat_h_commitment'):>6}")
    tables = [(T("nat_by_departement"), deps)] if max_rows != 0 else []
    if max_rows != 0 and len(result.regions) and (result.regions["departement"] != "").any():
        tables.append((T("nat_by_region"), result.regions))
    for title, table in tables:
        lines += [title, header, "-" * len(header)]
        rows = table if max_rows is None else table.head(max_rows)
        for r in rows.itertuples():
            worst = "-" if pd.isna(r.worst_commune_code) else f"{r.worst_commune_name} ({r.worst_commune_code})"[:30]
            lines.append(
                f"{r.departement:<5} {str(r.name)[:24]:<24} {_n(r.population, lang):>11} {r.sites:>5} "
                f"{_pct(r.share_within_20, lang):>9} {_pct(r.share_within_30, lang):>9} "
                f"{_min(r.mean_minutes, lang):>6} {worst:<30} {_min(r.worst_commune_minutes, lang):>6} "
                f"{T('nat_yes' if r.commitment_met else 'nat_no'):>6}")
        lines.append("")
    return "\n".join(lines)
