"""One result type for every analysis: ``.table``, ``.meta``, ``.summary()``, ``.to_records()``.

Each analysis keeps returning what its users already hold (a GeoDataFrame for coverage and catchments, an
:class:`~fsgeo.accessibility.FCAResult`, a :class:`~fsgeo.siting.RankResult`); :func:`as_result` wraps any of them
in a :class:`Result`, the one shape the writers of :mod:`fsgeo.export`, the reports and the maps need:

- ``table``: the main table, a GeoDataFrame (EPSG:4326) when the analysis has geometry -- communes for coverage
  and accessibility, polygons for catchments, candidates for siting;
- ``meta``: a JSON-ready dict of the parameters and inputs (threshold, bands, sites counted, model...);
- ``summary()``: the headline figures, JSON-ready;
- ``to_records()``: the table's rows as plain dicts (no geometry; NaN/inf -> None), what JSON outputs carry;
- ``to_dict()``: ``{"kind", "meta", "summary", "records"}``.

Machine-readable names (keys, columns) are stable English identifiers whatever the report language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Result", "as_result", "plain"]


def plain(value):
    """``value`` as plain JSON-ready Python: numpy/pandas scalars unwrapped, NaN/inf/NA -> None, containers walked,
    DataFrames as their :func:`records` (:func:`fsgeo.provenance.plain` with frames)."""
    import pandas as pd

    from fsgeo.provenance import plain as plain_values

    return plain_values(value, frame=lambda v: records(v) if isinstance(v, pd.DataFrame) else None)


def records(df) -> list[dict]:
    """The rows of ``df`` as plain dicts, without its geometry column."""
    import pandas as pd

    geom = getattr(df, "_geometry_column_name", None)
    frame = pd.DataFrame(df.drop(columns=[geom])) if geom in getattr(df, "columns", []) else pd.DataFrame(df)
    return [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


@dataclass
class Result:
    """The result of one analysis (see the module documentation).

    Attributes
    ----------
    kind : str
        ``coverage``, ``catchments``, ``service_areas``, ``underserved_zones``, ``accessibility``, ``siting``...
    table : pandas.DataFrame or geopandas.GeoDataFrame
        The main table (EPSG:4326 when it has geometry).
    meta : dict
        Parameters and inputs, JSON-ready.
    extra : dict
        Other tables of the analysis by name (accessibility's ``sites``, siting's ``chosen``...).
    """

    kind: str
    table: Any
    meta: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    _summary: Callable[[], dict] | None = field(default=None, repr=False)

    def summary(self) -> dict:
        """Headline figures, JSON-ready."""
        if self._summary is not None:
            return plain(self._summary())
        return {"rows": len(self.table)}

    def to_records(self) -> list[dict]:
        """The table's rows as plain dicts (no geometry, NaN -> None)."""
        return records(self.table)

    def to_dict(self) -> dict:
        """``kind``, ``meta``, ``summary``, ``records`` and the extra tables' records: one JSON-ready dict."""
        out = {"kind": self.kind, "meta": plain(self.meta), "summary": self.summary(), "records": self.to_records()}
        for name, df in self.extra.items():
            out[name] = records(df) if hasattr(df, "columns") else plain(df)
        return out


def as_result(obj, kind: str | None = None) -> Result:
    """Wrap an analysis' output in a :class:`Result` (a :class:`Result` is returned as is).

    Recognised: :func:`fsgeo.coverage.access_times` (per-commune table), :func:`fsgeo.catchments.catchments`
    (per site, merged or rings), :func:`fsgeo.catchments.service_areas`, :func:`fsgeo.coverage.underserved_zones`,
    :class:`fsgeo.accessibility.FCAResult`, :class:`fsgeo.siting.RankResult`; any other (Geo)DataFrame becomes a
    ``table`` result with its ``attrs["fsgeo"]`` as ``meta``.
    """
    if isinstance(obj, Result):
        return obj
    if hasattr(obj, "as_result"):
        return obj.as_result()
    meta = dict(getattr(obj, "attrs", {}).get("fsgeo", {}))
    columns = set(getattr(obj, "columns", []))
    if kind is None:
        if {"code", "minutes", "status", "nearest_site_id"} <= columns:
            kind = "coverage"
        elif {"site_id", "band_min"} <= columns or {"band_min", "band_label"} <= columns:
            kind = "catchments"
        elif {"site_id", "n_communes", "mean_minutes"} <= columns:
            kind = "service_areas"
        elif {"zone_id", "n_communes"} <= columns:
            kind = "underserved_zones"
        else:
            kind = "table"
    summary = None
    if kind == "coverage":
        def summary():
            from fsgeo import coverage

            d = coverage.summary(obj).to_dict()
            d.pop("meta", None)
            return d
    elif kind == "catchments":
        def summary():
            by = "band_label" if "band_label" in obj.columns else "band_min"
            return {"rows": len(obj), "population_by_band": {str(k): plain(v) for k, v in
                                                             obj.groupby(by, sort=False)["population"].sum().items()}}
    return Result(kind, obj, meta, _summary=summary)
