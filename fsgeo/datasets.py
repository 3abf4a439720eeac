"""The embedded Haute-Saône data (or a user's own files) as GeoDataFrames.

Every loader returns EPSG:4326 data in the schemas of ``docs/ARCHITECTURE.md``; given a path, it reads the user's file
through the validating readers of :mod:`fsgeo.io` (bad files raise :class:`fsgeo.io.InputError`).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from fsgeo import io
from fsgeo.schema import as_date, to_date
from fsgeo.settings import settings

__all__ = ["load_sites", "load_communes", "load_neighbour_communes", "load_outline", "load_network", "sites_as_of",
           "labelled_dates", "demand_points"]


def load_sites(path=None, communes=None) -> gpd.GeoDataFrame:
    """France Services sites (SITES schema, EPSG:4326 Points, RangeIndex).

    Parameters
    ----------
    path : str or Path, optional
        A sites file (GeoJSON, GeoPackage, ANCT CSV or plain CSV, see :func:`fsgeo.io.read_sites`). Default: the
        embedded ``data/sites.geojson`` (département 70 plus neighbouring sites within 25 km, flagged
        ``in_departement`` False).
    communes : GeoDataFrame, optional
        Communes used to place plain-CSV rows given only by a commune code (default: the embedded communes).
    """
    return io.read_sites(path or settings.sites_path, communes=communes)


def load_communes(path=None) -> gpd.GeoDataFrame:
    """Communes (COMMUNES schema: ``code``, ``name``, ``departement``, ``population``, ``area_km2`` in km²,
    ``point_lon``/``point_lat`` in degrees, polygons; EPSG:4326, RangeIndex). Default: the embedded communes of 70."""
    return io.read_communes(path or settings.communes_path)


def load_neighbour_communes(path=None) -> gpd.GeoDataFrame:
    """Communes of the neighbouring départements (21, 25, 39, 52, 88, 90) within 30 km (Lambert-93) of the
    département outline, in the COMMUNES schema (EPSG:4326, RangeIndex): the demand outside the study area that the
    sites near the border also serve (``accessibility.two_step_fca(..., outside_demand=...)``). Default: the embedded
    ``data/communes/neighbours.geojson``."""
    return io.read_communes(path or settings.neighbour_communes_path)


def load_outline(path=None) -> gpd.GeoDataFrame:
    """Outline of the département (``code``, ``name``, polygon; EPSG:4326). Default: the embedded outline of 70."""
    return io.read_outline(path or settings.outline_path)


def load_network(path=None):
    """Road network as a :class:`fsgeo.network.RoadNetwork` (travel times in seconds, EPSG:4326).

    Parameters
    ----------
    path : str or Path, optional
        Any file :meth:`fsgeo.network.RoadNetwork.from_file` reads (``.gpkg``, ``.graphml``, ``.osm``, ``.osm.pbf``).
        Default: the embedded Travel Mapping network of Haute-Saône and a 30 km margin (classified roads; straight
        waypoint lengths x ``circuity`` 1.2).
    """
    from fsgeo.network import RoadNetwork  # imported here: the network stack is heavier than the data loaders

    return RoadNetwork.from_file(path or settings.network_path)


def sites_as_of(sites: gpd.GeoDataFrame, date, keep_undated: bool = True) -> gpd.GeoDataFrame:
    """Sites labelled on or before ``date`` (the network of France Services as it stood that day).

    Parameters
    ----------
    sites : GeoDataFrame
        SITES schema; ``labelled_on`` ISO ``YYYY-MM-DD`` strings (or dates).
    date : str, datetime.date, datetime.datetime or pandas.Timestamp
        ``'YYYY-MM-DD'`` for strings.
    keep_undated : bool
        Keep sites without ``labelled_on`` (a user's planned or undated sites); False drops them.

    Returns
    -------
    GeoDataFrame
        The kept rows, index and columns unchanged.

    Raises
    ------
    ValueError
        Naming the value when ``date`` is not a date, or the first unreadable ``labelled_on``.
    """
    day = as_date(date)
    keep = [(d is None and keep_undated) or (d is not None and d <= day) for d in labelled_dates(sites)]
    return sites[keep]


def labelled_dates(sites) -> pd.Series:
    """``labelled_on`` of every site as a ``datetime.date`` (None when undated), indexed like ``sites``.

    Accepts what :func:`fsgeo.schema.to_date` reads (ISO strings, ``DD/MM/YYYY``, dates). Raises ``ValueError``
    naming the site (its ``id``, else its index label) whose date cannot be read, or when the column is absent.
    """
    if "labelled_on" not in sites.columns:
        raise ValueError("sites have no 'labelled_on' column: cannot select them by date")
    out = []
    for ident, value in zip(sites["id"] if "id" in sites.columns else sites.index, sites["labelled_on"]):
        try:
            out.append(to_date(value))
        except ValueError as exc:
            raise ValueError(f"site {ident!r}: labelled_on: {exc}") from None
    return pd.Series(out, index=sites.index, dtype=object)


def demand_points(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Communes as demand points: same index and columns minus the polygon, Point geometry from
    ``point_lon``/``point_lat`` (degrees), EPSG:4326."""
    missing = [c for c in ("point_lon", "point_lat") if c not in communes.columns]
    if missing:
        raise ValueError(f"communes lack column(s) {missing}: load them with fsgeo.datasets.load_communes()")
    attrs = pd.DataFrame(communes.drop(columns=communes.geometry.name)) if isinstance(communes, gpd.GeoDataFrame) \
        else pd.DataFrame(communes)
    geometry = gpd.points_from_xy(communes["point_lon"].astype(float), communes["point_lat"].astype(float),
                                  crs=settings.crs)
    return gpd.GeoDataFrame(attrs, geometry=geometry, crs=settings.crs)
