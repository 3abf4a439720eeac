"""The communes x sites minutes matrix: one owner for coverage, accessibility, siting and the timeline.

Data flow: :mod:`fsgeo.routing` (snapping, searches) -> :class:`TravelTimes` (minutes aligned on commune codes and
site ids, validated, with the reason of every commune and site that could not be routed) -> :mod:`fsgeo.coverage`,
:mod:`fsgeo.accessibility`, :mod:`fsgeo.siting`, :mod:`fsgeo.timeline`.

:meth:`TravelTimes.route` is the one place that builds the matrix on a road network; :meth:`TravelTimes.from_frame`
wraps a matrix computed elsewhere (hand-made in tests, another router). :func:`aligned` is the one alignment of a
minutes frame on the codes and ids an analysis asks for: bad input raises :class:`fsgeo.errors.InputError` naming
the commune, site or candidate at fault.

National studies do not build this matrix (35,000 communes x 2,845 sites): :func:`fsgeo.coverage.access_from_network`
finds the two nearest sites with :func:`fsgeo.routing.nearest_two` instead, and the restricted MCLP
(:mod:`fsgeo.siting.restricted`) keeps only the pairs within the threshold (:func:`fsgeo.routing.pairs_within`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fsgeo.errors import InputError

__all__ = ["TravelTimes", "aligned", "site_table", "route_points", "ROW_STATUSES", "ROUTING_FAILED", "no_site_reason",
           "ISLAND_WITHOUT_ROADS", "on_island_without_roads", "with_landmass_gaps"]

#: why a commune (row) has no time: ``ok`` (some site has a finite time), the snapping statuses of
#: :data:`fsgeo.routing.SNAP_STATUSES` (the point could not be placed on the network: too far from it, on a cut-off
#: fragment, invalid coordinates), ``not_placed`` (a NaN row of a matrix computed elsewhere),
#: ``island_without_roads`` (on an island where the network has no road: :data:`ISLAND_WITHOUT_ROADS`),
#: ``no_site_on_landmass`` (placed, but no site on its landmass: :func:`fsgeo.routing.landmass_gaps`),
#: ``no_site_reachable`` (placed, but no site can be reached, or none within the cutoff), ``no_site`` (no column)
ROW_STATUSES = ("ok", "too_far", "off_main_component", "invalid_coordinates", "not_placed", "island_without_roads",
                "no_site_on_landmass", "no_site_reachable", "no_site")

#: reason of the communes on an island where the study's network has no road (the build lists them in its manifest,
#: ``network.islands_without_roads``; :attr:`fsgeo.network.RoadNetwork.islands_without_roads`)
ISLAND_WITHOUT_ROADS = "island without roads"


def on_island_without_roads(network, codes) -> np.ndarray:
    """Mask over ``codes``: the communes on an island where ``network`` has no road (never routed: a point within
    the snap limit of another landmass's roads is still across the water)."""
    islands = getattr(network, "islands_without_roads", None) or ()
    return pd.Index(codes).astype(str).isin(list(islands)) if islands else np.zeros(len(codes), bool)


def with_landmass_gaps(reasons: pd.Series, gaps: pd.Series) -> pd.Series:
    """The snapping reasons plus, for routable communes whose landmass has no site
    (:func:`fsgeo.routing.landmass_gaps`), that reason: used only where no site is reached."""
    gaps = gaps[gaps != ""]
    return pd.concat([reasons, gaps.astype(str)]) if len(gaps) else reasons


#: the reason of a commune that could not be routed when routing gave none (a hand-made matrix with a NaN row)
ROUTING_FAILED = "commune point could not be placed on the road network"


def no_site_reason(cutoff_min=None) -> str:
    """The reason of a commune routed on the network from which no site can be reached (within the cutoff)."""
    return f"no site reachable by road within {cutoff_min:g} min" if cutoff_min is not None else \
        "no site reachable by road"


def _few(values, limit: int = 5) -> str:
    values = [str(v) for v in values]
    more = f" (+{len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def _positions(have: pd.Index, labels, alt, name: str, axis: str, what: str) -> np.ndarray:
    """Positions of ``labels`` (codes / ids, str) in ``have`` (the frame's index or columns), else of ``alt``
    (the analysed frame's own index, e.g. a matrix straight from ``routing.travel_time_matrix``)."""
    labels = pd.Index(np.asarray(labels, dtype=object).astype(str))
    as_str = pd.Index(have.astype(str))
    if as_str.is_unique and labels.isin(as_str).all():
        return as_str.get_indexer(labels)
    if alt is not None and len(alt) and have.is_unique and pd.Index(alt).isin(have).all():
        return have.get_indexer(alt)
    dup = as_str[as_str.duplicated()]
    if len(dup):
        raise InputError(f"{name}: duplicated {what} {'code' if axis == 'index' else 'id'}(s) {_few(dup.unique())}")
    missing = labels.difference(as_str)
    holds = "their codes" if alt is None else (
        f"the {'commune codes' if axis == 'index' else what + ' ids'} (or the index of the {what}s frame)")
    raise InputError(f"{name} lacks {what}(s) {_few(missing)}: its {axis} must hold {holds}")


def aligned(frame, rows, cols=None, *, name: str = "minutes matrix", row_what: str = "commune",
            col_what: str = "site", rows_alt=None, cols_alt=None) -> np.ndarray:
    """Minutes of ``frame`` at rows ``rows`` and columns ``cols``, as a float array (the one alignment).

    Parameters
    ----------
    frame : pandas.DataFrame or pandas.Series
        Minutes, index = commune codes, columns = site ids (compared as strings); extra rows and columns are ignored.
    rows : sequence of str
        Commune codes, in the order wanted.
    cols : sequence of str, optional
        Site (candidate) ids, in the order wanted; None: every column, in order (a Series has none).
    name, row_what, col_what : str
        How the messages name the matrix, its rows and its columns.
    rows_alt, cols_alt : pandas.Index, optional
        The analysed frames' own index, accepted in place of codes / ids (a matrix from
        ``routing.travel_time_matrix(network, demand_points(communes), sites)`` keeps them).

    Returns
    -------
    numpy.ndarray
        ``(len(rows), len(cols))`` (``(len(rows),)`` for a Series), float; ``inf`` and NaN as given.

    Raises
    ------
    fsgeo.errors.InputError
        Naming the code or id: missing or duplicated rows/columns, a value that is not a number, a negative time.
    """
    series = isinstance(frame, pd.Series)
    table = frame.to_frame() if series else frame
    r = _positions(table.index, rows, rows_alt, name, "index", row_what)
    if series:
        c = np.zeros(1, dtype=int)
    elif cols is None:
        as_str = pd.Index(table.columns.astype(str))
        dup = as_str[as_str.duplicated()]
        if len(dup):
            raise InputError(f"{name}: duplicated {col_what} id(s) {_few(dup.unique())}")
        c = np.arange(table.shape[1])
    else:
        c = _positions(table.columns, cols, cols_alt, name, "columns", col_what)
    codes = np.asarray(table.index.astype(str), dtype=object)[r]
    ids = np.asarray(table.columns.astype(str), dtype=object)[c]
    numeric = [pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in table.dtypes]
    if all(numeric):  # the usual case: one fast copy
        values = table.to_numpy(dtype=float)[np.ix_(r, c)]
    else:
        values = np.empty((len(r), len(c)))
        for out_j, j in enumerate(c):
            col = table.iloc[:, j]
            if numeric[j]:
                values[:, out_j] = col.to_numpy(dtype=float)[r]
                continue
            raw = col.iloc[r]
            num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
            bad = np.isnan(num) & ~raw.isna().to_numpy(dtype=bool)
            if bad.any():
                i = np.flatnonzero(bad)[0]
                where = "" if series else f", {col_what} {ids[out_j]!r}"
                raise InputError(f"{name}: value {raw.iloc[i]!r} for {row_what} {codes[i]!r}{where} is not a number "
                                 "of minutes")
            values[:, out_j] = num
    neg = values < 0
    if neg.any():
        i, j = np.argwhere(neg)[0]
        to = "" if series else f" to {col_what} {ids[j]}"
        raise InputError(f"{name}: negative time {float(values[i, j])!r} from {row_what} {codes[i]}{to}")
    return values[:, 0] if series else values


def route_points(communes, sites):
    """What the router is given: the communes' demand points indexed by code (:func:`fsgeo.io.clean_id`) and the
    sites indexed by id, in one CRS (:func:`fsgeo.datasets.demand_points`, :func:`site_table`)."""
    from fsgeo import datasets
    from fsgeo.schema import clean_id

    points = datasets.demand_points(communes)
    points = points.set_axis([clean_id(v) for v in points["code"]], axis=0)
    site_pts = sites.set_axis(site_table(sites)["id"].to_numpy(), axis=0)
    if site_pts.crs is not None and points.crs is not None and site_pts.crs != points.crs:
        site_pts = site_pts.to_crs(points.crs)
    return points, site_pts


def site_table(sites) -> pd.DataFrame:
    """``id`` (str), ``name`` (the id when there is none) and ``departement`` (``""`` when unknown) of every site,
    in order (index 0..k-1): the matrix's columns; :class:`fsgeo.errors.InputError` when ids are missing or
    duplicated."""
    if "id" not in sites.columns:
        raise InputError("sites have no 'id' column")
    ids = sites["id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"duplicate site id(s): {', '.join(sorted(set(dup))[:5])}")
    name = sites["name"].astype(str) if "name" in sites.columns else ids
    dep = sites["departement"].astype(str) if "departement" in sites.columns else pd.Series("", index=sites.index)
    return pd.DataFrame({"id": ids.to_numpy(), "name": name.to_numpy(), "departement": dep.to_numpy()})


@dataclass(frozen=True, eq=False)
class TravelTimes:
    """Drive times from communes to sites, minutes, with why some have none.

    Build it with :meth:`route` (on a road network) or :meth:`from_frame` (a matrix computed elsewhere); read it
    with :meth:`values` (aligned on the codes and ids an analysis asks for).

    Attributes
    ----------
    minutes : pandas.DataFrame
        Minutes, index = commune codes, columns = site ids (as given to :meth:`from_frame`; str from :meth:`route`).
        ``inf`` = not reachable (or beyond ``cutoff_min``); NaN = the commune or site could not be placed on the
        network (its whole row / column).
    unrouted : pandas.DataFrame
        The communes that could not be placed on the network, indexed by code: ``status`` (the snapping status of
        :data:`fsgeo.routing.SNAP_STATUSES`: beyond the snap limit, on a fragment cut off the main network, invalid
        coordinates; ``island_without_roads``: their row is NaN; ``not_placed`` when a matrix computed elsewhere
        only gave a reason) and ``reason`` (in words). Also the communes placed on a landmass (an island) where no
        site is (``no_site_on_landmass``): their reason replaces "no site reachable" where no site is reached.
    unplaced : pandas.DataFrame
        The sites that could not be placed (:func:`fsgeo.routing.unplaced_sites`: ``id``, ``name``, ``status``,
        ``reason``, ``snap_distance_m``), in column order.
    labelled_on : pandas.Series or None
        Labellisation date of every column as the sites give it (ISO text, dates, blank when undated), indexed by
        site id; None when the sites have no ``labelled_on``.
    cutoff_min : float or None
        Search cutoff the matrix was built with, minutes.
    network : dict
        The network and car-profile parameters the times come from (:mod:`fsgeo.provenance`), for provenance.
    """

    minutes: pd.DataFrame
    unrouted: pd.DataFrame = field(default_factory=lambda: _unrouted())
    unplaced: pd.DataFrame = field(default_factory=lambda: _no_unplaced())
    labelled_on: pd.Series | None = None
    cutoff_min: float | None = None
    network: dict = field(default_factory=dict)

    # ------------------------------------------------------------------------------------------------------------
    # constructors
    # ------------------------------------------------------------------------------------------------------------
    @classmethod
    def route(cls, network, communes, sites, cutoff_min=None) -> "TravelTimes":
        """Route every commune's demand point to every site on ``network`` (the one constructor from routing).

        Parameters
        ----------
        network : fsgeo.network.RoadNetwork
        communes : geopandas.GeoDataFrame or pandas.DataFrame
            ``code`` and ``point_lon`` / ``point_lat`` (degrees, the demand point; ``load_communes()`` schema).
        sites : geopandas.GeoDataFrame
            ``id`` (unique), Point geometry, optionally ``name`` and ``labelled_on``.
        cutoff_min : float, optional
            Search cutoff, minutes (times beyond it are ``inf``).

        Notes
        -----
        One point per commune: a commune with several weighted demand points (``Study.demand_parts``: Paris, Lyon,
        Marseille) is routed from its ``point_lon`` / ``point_lat``, the point of its most populous part. The
        accessibility, siting and timeline analyses built on this matrix therefore stay one point per commune;
        :func:`fsgeo.coverage.access_times` and :func:`fsgeo.national.national_coverage` route every part
        (``parts=``).
        """
        from fsgeo import provenance, routing

        points, site_pts = route_points(communes, sites)
        snap = routing.snap_points(network, points)
        status, reason = snap["status"].astype(str), snap["reason"].astype(str)
        if len(site_pts):
            minutes = routing.travel_time_matrix(network, points, site_pts, cutoff_min=cutoff_min,
                                                 on_snap_error="nan")
            gaps = routing.landmass_gaps(network, snap, routing.snap_points(network, site_pts))
            status = status.mask(gaps != "", "no_site_on_landmass")
            reason = reason.mask(gaps != "", gaps)
        else:
            minutes = pd.DataFrame(index=points.index, dtype=float)
        island = on_island_without_roads(network, minutes.index)
        if island.any():  # no road on their island: a NaN row, whatever the snapping found across the water
            minutes = minutes.astype(float)
            minutes.iloc[island] = np.nan
            status[island], reason[island] = "island_without_roads", ISLAND_WITHOUT_ROADS
        # read when a date asks for them (open_on): an analysis without dates never trips on one
        labelled = sites["labelled_on"].set_axis(site_pts.index, axis=0) if "labelled_on" in sites.columns else None
        bad = status != "ok"
        return cls(minutes=minutes, unrouted=_unrouted(status[bad], reason[bad]),
                   unplaced=routing.unplaced_sites(network, site_pts.reset_index(drop=True)), labelled_on=labelled,
                   cutoff_min=None if cutoff_min is None else float(cutoff_min),
                   network=provenance._network_params(network))

    @classmethod
    def from_frame(cls, minutes, reasons=None, unplaced=None, labelled_on=None, cutoff_min=None) -> "TravelTimes":
        """Wrap a minutes matrix computed elsewhere (index commune codes, columns site ids); ``reasons``: why the
        communes with a NaN row could not be routed, indexed by code. Values are checked when read
        (:meth:`values`)."""
        if isinstance(minutes, TravelTimes):
            return minutes
        if not isinstance(minutes, pd.DataFrame):
            raise ValueError("minutes must be a pandas DataFrame (communes x sites, minutes)")
        reasons = pd.Series(dtype=object) if reasons is None else pd.Series(reasons, dtype=object)
        reasons.index = reasons.index.astype(str)
        reasons = reasons[~reasons.index.duplicated()]
        texts = [str(r) if r is not None and str(r) not in ("", "nan") else ROUTING_FAILED for r in reasons]
        return cls(minutes=minutes, unrouted=_unrouted(pd.Series("not_placed", index=reasons.index),
                                                       pd.Series(texts, index=reasons.index, dtype=object)),
                   unplaced=_no_unplaced() if unplaced is None else unplaced,
                   labelled_on=labelled_on, cutoff_min=None if cutoff_min is None else float(cutoff_min))

    # ------------------------------------------------------------------------------------------------------------
    # reading
    # ------------------------------------------------------------------------------------------------------------
    @property
    def codes(self) -> pd.Index:
        """Commune codes (rows), str."""
        return pd.Index(self.minutes.index.astype(str))

    @property
    def site_ids(self) -> pd.Index:
        """Site ids (columns), str."""
        return pd.Index(self.minutes.columns.astype(str))

    @property
    def shape(self) -> tuple:
        return self.minutes.shape

    def values(self, rows=None, cols=None, **how) -> np.ndarray:
        """Minutes at ``rows`` (codes) x ``cols`` (ids), validated: see :func:`aligned` (``how``: its keywords)."""
        return aligned(self.minutes, self.codes if rows is None else rows, cols, **how)

    @property
    def reasons(self) -> pd.Series:
        """Why each commune that could not be placed on the network was not, indexed by code (only those)."""
        return self.unrouted["reason"]

    def site_reasons(self) -> pd.Series:
        """Why each unplaced site could not be placed, indexed by site id."""
        return pd.Series(self.unplaced["reason"].astype(str).to_numpy(), index=self.unplaced["id"].astype(str),
                         dtype=object)

    def row_status(self) -> pd.DataFrame:
        """Per commune: ``status`` (:data:`ROW_STATUSES`) and ``reason`` (empty when ``ok``), indexed by code.

        A commune with a NaN row (over the sites placed on the network) could not be placed itself (its snapping
        status and reason); one with no finite time reaches no site (within the cutoff); with no site placed on the
        network (or none at all) every commune is ``no_site``. The same rules as :func:`fsgeo.coverage.access_from_matrix`.
        """
        M = self.values()
        n, k = M.shape
        usable = ~np.isnan(M).all(axis=0) if n else np.ones(k, bool)  # the sites placed on the network
        M = M[:, usable]
        failed = np.isnan(M).all(axis=1) if M.shape[1] else np.zeros(n, bool)
        reached = np.isfinite(M).any(axis=1)
        none = "no site given" if k == 0 else "no site could be placed on the road network"
        status = np.where(reached, "ok", "no_site_reachable" if M.shape[1] else "no_site").astype(object)
        reason = np.where(reached, "", no_site_reason(self.cutoff_min) if M.shape[1] else none).astype(object)
        lonely = np.flatnonzero(~reached & ~failed) if M.shape[1] else np.zeros(0, int)
        if lonely.size:  # placed, but no site on their landmass (island): that reason
            given = self.unrouted.reindex(self.codes[lonely])
            mine = (given["status"] == "no_site_on_landmass").to_numpy()
            status[lonely[mine]] = "no_site_on_landmass"
            reason[lonely[mine]] = given["reason"].to_numpy(dtype=object)[mine]
        failed = np.flatnonzero(failed)
        if failed.size:
            given = self.unrouted.reindex(self.codes[failed])
            status[failed] = given["status"].fillna("not_placed").to_numpy(dtype=object)
            reason[failed] = given["reason"].fillna(ROUTING_FAILED).to_numpy(dtype=object)
        return pd.DataFrame({"status": status, "reason": reason}, index=self.codes)

    # ------------------------------------------------------------------------------------------------------------
    # subsets
    # ------------------------------------------------------------------------------------------------------------
    def subset(self, cols) -> "TravelTimes":
        """The same communes with only the sites ``cols`` (ids, or a bool mask over the columns), in that order."""
        cols = np.asarray(cols)
        if cols.dtype == bool:
            if len(cols) != self.minutes.shape[1]:
                raise ValueError(f"column mask of length {len(cols)} for {self.minutes.shape[1]} sites")
            pos = np.flatnonzero(cols)
        else:
            pos = _positions(self.minutes.columns, cols, None, "minutes matrix", "columns", "site")
        ids = set(self.site_ids[pos])
        unplaced = self.unplaced[self.unplaced["id"].astype(str).isin(ids)].reset_index(drop=True)
        labelled = None if self.labelled_on is None else self.labelled_on.iloc[pos]
        return TravelTimes(minutes=self.minutes.iloc[:, pos], unrouted=self.unrouted, unplaced=unplaced,
                           labelled_on=labelled, cutoff_min=self.cutoff_min, network=self.network)

    def open_on(self, day) -> np.ndarray:
        """Bool mask over the columns: sites labelled on or before ``day`` (undated ones count as always open,
        like :func:`fsgeo.datasets.sites_as_of`)."""
        from fsgeo.datasets import labelled_dates
        from fsgeo.schema import as_date

        if self.labelled_on is None:
            raise ValueError("the sites of this matrix have no 'labelled_on': cannot select them by date")
        day = as_date(day)
        dates = labelled_dates(pd.DataFrame({"id": self.labelled_on.index, "labelled_on": self.labelled_on.to_numpy()}))
        return np.array([d is None or d <= day for d in dates], dtype=bool)

    def as_of(self, day: dt.date | str) -> "TravelTimes":
        """The matrix of the sites labelled on or before ``day`` (the timeline's columns subset per date)."""
        return self.subset(self.open_on(day))


def _unrouted(status=None, reason=None) -> pd.DataFrame:
    if status is None:
        return pd.DataFrame({"status": pd.Series(dtype=object), "reason": pd.Series(dtype=object)})
    out = pd.DataFrame({"status": status.to_numpy(dtype=object), "reason": reason.to_numpy(dtype=object)},
                       index=pd.Index(status.index.astype(str)))
    return out[~out.index.duplicated()]


def _no_unplaced() -> pd.DataFrame:
    from fsgeo.routing import UNPLACED_COLUMNS

    return pd.DataFrame({c: pd.Series(dtype=float if c == "snap_distance_m" else object) for c in UNPLACED_COLUMNS})
