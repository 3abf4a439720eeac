"""How the France Services network got finer: coverage at every labellisation date.

The commune x site minutes matrix (:class:`fsgeo.matrix.TravelTimes`) is computed once for all sites; the coverage
at a date is the minimum over the columns of the sites labelled on or before it (``TravelTimes.as_of``: undated
sites count as always open, like ``sites_as_of``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsgeo import coverage, datasets
from fsgeo.errors import require
from fsgeo.matrix import TravelTimes
from fsgeo.settings import settings


def timeline(
    communes,
    sites,
    network=None,
    bands=(20.0, 30.0),
    own_departement_only=False,
    kind="all",
    departement=None,
    dates=None,
):
    """Coverage of the communes at every labellisation date of the département's sites.

    Parameters
    ----------
    communes : geopandas.GeoDataFrame
        Communes (``load_communes()`` schema).
    sites : geopandas.GeoDataFrame
        Sites with ``labelled_on`` (ISO dates); sites of neighbouring départements count when labelled (unless
        ``own_departement_only``).
    network : fsgeo.network.RoadNetwork
        Road network (required; e.g. ``datasets.load_study().network``).
    bands : sequence of float
        Minutes; for each, the population (and share) within it.
    own_departement_only : bool
        Ignore sites outside the communes' département(s).
    kind : {"all", "principal"}
        Count antennas or not.
    departement : str or list of str, optional
        Whose sites' labellisation dates make the rows (default: the communes' département(s), else the sites
        flagged ``in_departement``).
    dates : sequence of date or str, optional
        Explicit dates instead.

    Returns
    -------
    pandas.DataFrame
        One row per labellisation date of the département's sites (plus the latest date of any counted site, if
        later), ascending: ``date`` (ISO str), ``new_sites`` (names of the département's sites labelled that day,
        ``"; "``-joined), ``new_sites_neighbours`` (count of other sites labelled that day), ``sites_open`` (all counted sites labelled by then), ``sites_open_departement``,
        ``population_within_<band>`` and ``share_within_<band>`` per band, ``mean_min`` (population-weighted over
        routed communes), ``max_min``, ``underserved_communes`` (beyond ``settings.threshold_min``),
        ``unreachable_population``.
    """
    require(network, "network", "timeline", "a fsgeo.network.RoadNetwork")
    bands = tuple(sorted({float(b) for b in bands}))
    selected = coverage.select_sites(sites, communes, kind=kind, own_departement_only=own_departement_only)
    labelled = datasets.labelled_dates(selected)
    st = coverage.site_table(selected)
    if departement is None:
        own = coverage.own_sites(selected, communes)
    else:
        deps = {str(departement)} if isinstance(departement, str) else {str(d) for d in departement}
        own = st["departement"].isin(deps).to_numpy()
    if dates is None:
        dates = {d for d, o in zip(labelled, own) if o and d is not None}
        # and the latest labellisation of any counted site, so that the last row is the network as it stands
        known = [d for d in labelled if d is not None]
        if known and (not dates or max(known) > max(dates)):
            dates.add(max(known))
        dates = sorted(dates)
    else:
        dates = sorted(coverage.as_date(d) for d in dates)
    times = TravelTimes.route(network, communes, selected)
    names = st["name"].to_numpy()
    lab = labelled.to_numpy()
    rows = []
    for day in dates:
        open_ = times.open_on(day)
        acc = coverage.access_from_matrix(communes, selected[open_], times.subset(open_))
        s = coverage.summary(acc, bands=bands)
        row = {
            "date": day.isoformat(),
            "new_sites": "; ".join(names[[(d == day) and o for d, o in zip(lab, own)]]),
            "new_sites_neighbours": int(sum((d == day) and not o for d, o in zip(lab, own))),
            "sites_open": int(open_.sum()),
            "sites_open_departement": int((open_ & own).sum()),
        }
        b = s.bands.set_index("band_min")
        for band in bands:
            row[f"population_within_{band:g}"] = int(b.loc[band, "population"])
            row[f"share_within_{band:g}"] = float(b.loc[band, "population_share"])
        row.update(
            {
                "mean_min": s.mean_min,
                "max_min": s.max_min,
                "underserved_communes": int(s.status.loc["underserved", "communes"]),
                "unreachable_population": s.unreachable_population,
            }
        )
        rows.append(row)
    columns = ["date", "new_sites", "new_sites_neighbours", "sites_open", "sites_open_departement",
               *[f"{what}_within_{b:g}" for b in bands for what in ("population", "share")],
               "mean_min", "max_min", "underserved_communes", "unreachable_population"]
    return pd.DataFrame(rows, columns=columns)  # no row (and these columns) when no site has a date
