"""Studies and their data as GeoDataFrames: :func:`load_study` (the study folder: ``--study DIR``, ``$FSGEO_STUDY`` or
the embedded Haute-Saône study in ``data/``) and the single-file loaders.

Every loader returns EPSG:4326 data in the schemas of ``docs/ARCHITECTURE.md``; given a path, it reads the user's file
through the validating readers of :mod:`fsgeo.io` (bad files raise :class:`fsgeo.errors.InputError`). With no path,
the single-file loaders read the default study's file (``$FSGEO_STUDY``, else ``data/``). Only this module, the CLI
and the notebooks read data from disk; the analyses take what they use as arguments.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import geopandas as gpd
import pandas as pd

from fsgeo import io
from fsgeo.errors import InputError
from fsgeo.schema import as_date, to_date
from fsgeo.settings import settings
from fsgeo.study import StudyManifest, find_study

__all__ = ["Study", "load_study", "load_sites", "load_communes", "load_neighbour_communes", "load_outline",
           "load_network", "sites_as_of", "labelled_dates", "demand_points", "as_date"]


class Study:
    """One study area's data, each layer read from disk on first use and then cached.

    Build one with :func:`load_study`. Attributes: ``manifest`` (:class:`fsgeo.study.StudyManifest`), ``root``
    (the study folder), ``name``, ``label`` (``"Haute-Saône (70)"``), ``codes`` (its départements), ``metric_crs``
    (the study's metric CRS, e.g. ``"EPSG:2154"``), ``paths`` (file of each layer, None when the study has none); and
    the layers ``communes``, ``sites``, ``outline``, ``neighbour_communes``, ``demand_parts`` (GeoDataFrames,
    EPSG:4326; ``demand_parts`` None when the study has none) and ``network`` (:class:`fsgeo.network.RoadNetwork`).
    """

    def __init__(self, manifest: StudyManifest, profile=None, **files):
        unknown = sorted(set(files) - {"sites", "communes", "neighbour_communes", "outline", "network"})
        if unknown:
            raise TypeError(f"unknown study file(s) {unknown}")
        self.manifest = manifest
        #: car profile of the network (``fsgeo.profile.CarProfile``, dict or profile file; None: the default one)
        self.profile = profile
        #: file of every layer: the manifest's, or the one given instead (``--sites``, ``--network``...)
        self.paths: dict[str, Path | None] = {
            key: Path(files[key]) if files.get(key) is not None else manifest.path(key)
            for key in ("sites", "communes", "neighbour_communes", "outline", "network")
        }
        self.paths["demand_parts"] = manifest.path("demand_parts")

    def __repr__(self) -> str:
        return f"<Study {self.label} at {self.root}>"

    @property
    def root(self) -> Path | None:
        return self.manifest.root

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def label(self) -> str:
        return self.manifest.label

    @property
    def codes(self) -> list[str]:
        return list(self.manifest.codes)

    @property
    def metric_crs(self) -> str:
        return self.manifest.metric_crs

    @cached_property
    def communes(self) -> gpd.GeoDataFrame:
        """Communes of the study (COMMUNES schema, EPSG:4326)."""
        return io.read_communes(self.paths["communes"], metric_crs=self.metric_crs)

    @cached_property
    def sites(self) -> gpd.GeoDataFrame:
        """Sites of the study and those near it (SITES schema, EPSG:4326); ``in_departement`` is True for the sites
        of the study's départements (the study's codes decide, over a flag stored in the file, for every site whose
        département is known). Plain-CSV rows given by a commune code are placed with the study's communes."""
        return _own_by_codes(io.read_sites(self.paths["sites"], communes=lambda: self.communes,
                                           departement=self.codes), self.codes)

    @cached_property
    def outline(self) -> gpd.GeoDataFrame:
        """Outline of the study area (``code``, ``name``, polygon; EPSG:4326)."""
        return io.read_outline(self.paths["outline"])

    @cached_property
    def neighbour_communes(self) -> gpd.GeoDataFrame | None:
        """Communes of the neighbouring départements near the study area (COMMUNES schema), the outside demand;
        None when the study has none (an island, all of France)."""
        path = self.paths["neighbour_communes"]
        return None if path is None else io.read_communes(path, metric_crs=self.metric_crs)

    @cached_property
    def network(self):
        """The study's road network (:class:`fsgeo.network.RoadNetwork`; the study's own network file is measured in
        the study's metric CRS, a network given instead chooses its own).

        Raises
        ------
        InputError
            When the study has no network (``files.network`` null: Travel Mapping has no roads overseas): one must
            be supplied, ``--network FILE`` (an OSM extract) or ``load_study(network=FILE)``.
        """
        path = self.paths["network"]
        if path is None:
            why = self._no_network_why()
            raise InputError(f"study {self.label} ({self.root}) has no road network (files.network is null in its "
                             f"study.json): {why}" + ("" if "--network" in why else
                                                      "; supply one with --network FILE (an OSM extract such as a "
                                                      "regional .osm.pbf, or a GraphML / GeoPackage), or "
                                                      "load_study(network=FILE)"))
        from fsgeo.network import RoadNetwork  # imported here: the network stack is heavier than the data loaders

        from fsgeo.profile import resolve_profile

        profile = resolve_profile(self.profile)
        if path != self.manifest.path("network"):  # a network of one's own (--network): it chooses its metric CRS
            return RoadNetwork.from_file(path, profile=profile)
        net = RoadNetwork.from_file(path, profile=profile, metric_crs=self.metric_crs)  # the study's metric CRS
        # the communes the build found on an island where this network has no road: coverage reports them so
        islands = frozenset(str(c) for c in (self.manifest.network or {}).get("islands_without_roads") or ())
        if islands:
            net.islands_without_roads = islands
        return net

    def _no_network_why(self) -> str:
        why = (self.manifest.network or {}).get("reason")
        return str(why) if why else "none could be built for this area"

    @cached_property
    def demand_parts(self) -> gpd.GeoDataFrame | None:
        """Demand parts of the study's communes with several weighted demand points (Paris, Lyon and Marseille in
        a study built with them; :func:`fsgeo.io.load_demand_parts`, checked against :attr:`communes`), or None
        when the study has none (``files.demand_parts`` absent from ``study.json``, as in the embedded study) or
        when its communes were replaced by a file of one's own (``--communes``: that file's points stand)."""
        path = self.paths["demand_parts"]
        if path is None or self.paths["communes"] != self.manifest.path("communes"):
            return None
        return io.load_demand_parts(path, communes=self.communes)

    @property
    def has_network(self) -> bool:
        """Whether :attr:`network` can be loaded (the study has one, or one was given)."""
        return self.paths["network"] is not None


def _own_by_codes(sites: gpd.GeoDataFrame, codes) -> gpd.GeoDataFrame:
    """``in_departement`` = the site's département is one of ``codes`` (where the département is known)."""
    known = sites["departement"].astype(str).str.len() > 0
    sites["in_departement"] = (sites["departement"].astype(str).isin(set(codes)) & known) \
        | (sites["in_departement"].astype(bool) & ~known)
    return sites


def load_study(path=None, *, sites=None, communes=None, neighbour_communes=None, outline=None,
               network=None, profile=None) -> Study:
    """The study in folder ``path`` (its ``study.json`` manifest, validated), layers loaded on first use.

    Parameters
    ----------
    path : str or Path, optional
        Study folder (holding ``study.json``). Default: ``$FSGEO_STUDY``, else the embedded study of Haute-Saône
        (``data/``).
    sites, communes, neighbour_communes, outline, network : str or Path, optional
        A file to use instead of the study's own (what ``--sites``, ``--communes`` and ``--network`` give); a
        network given here also serves a study that has none.
    profile : CarProfile, dict, str or Path, optional
        Car profile of the network, or a profile file (JSON, e.g. written by ``fsgeo calibrate``; ``--profile``).

    Returns
    -------
    Study

    Raises
    ------
    InputError
        Naming the manifest and the key when ``study.json`` is missing or wrong, or a file it lists is absent.
    """
    manifest = StudyManifest.read(find_study(path))
    return Study(manifest, profile=profile, sites=sites, communes=communes, neighbour_communes=neighbour_communes,
                 outline=outline, network=network)


def _default_path(key: str) -> Path:
    """The default study's file ``key`` (a study without one: InputError naming it)."""
    study = load_study()
    path = study.paths[key]
    if path is None:
        if key == "network":
            study.network  # raises the error that says a network must be supplied
        raise InputError(f"study {study.label} ({study.root}) has no {key.replace('_', ' ')} file")
    return path


def load_sites(path=None, communes=None) -> gpd.GeoDataFrame:
    """France Services sites (SITES schema, EPSG:4326 Points, RangeIndex).

    Parameters
    ----------
    path : str or Path, optional
        A sites file (GeoJSON, GeoPackage, ANCT CSV or plain CSV, see :func:`fsgeo.io.read_sites`). Default: the
        default study's sites (:func:`load_study`), with ``in_departement`` relative to its départements.
    communes : GeoDataFrame, optional
        Communes used to place plain-CSV rows given only by a commune code (default: the default study's, read
        only when a row needs them).
    """
    if path is None:
        study = load_study()
        if communes is None:
            return study.sites
        return _own_by_codes(io.read_sites(study.paths["sites"], communes=communes, departement=study.codes),
                             study.codes)
    return io.read_sites(path, communes=(lambda: load_study().communes) if communes is None else communes)


def load_communes(path=None) -> gpd.GeoDataFrame:
    """Communes (COMMUNES schema: ``code``, ``name``, ``departement``, ``population``, ``area_km2`` in km²,
    ``point_lon``/``point_lat`` in degrees, polygons; EPSG:4326, RangeIndex). Default: the default study's communes."""
    return load_study().communes if path is None else io.read_communes(path)


def load_neighbour_communes(path=None) -> gpd.GeoDataFrame:
    """Communes of the neighbouring départements near the study area, in the COMMUNES schema (EPSG:4326,
    RangeIndex): the demand outside the study area that the sites near the border also serve
    (``accessibility.two_step_fca(..., outside_demand=...)``). Default: the default study's (for the embedded study:
    the communes of 21, 25, 39, 52, 88 and 90 within 30 km of Haute-Saône)."""
    return io.read_communes(path or _default_path("neighbour_communes"))


def load_outline(path=None) -> gpd.GeoDataFrame:
    """Outline of the study area (``code``, ``name``, polygon; EPSG:4326). Default: the default study's outline."""
    return io.read_outline(path or _default_path("outline"))


def load_network(path=None, profile=None):
    """Road network as a :class:`fsgeo.network.RoadNetwork` (travel times in seconds, EPSG:4326).

    Parameters
    ----------
    path : str or Path, optional
        Any file :meth:`fsgeo.network.RoadNetwork.from_file` reads (``.gpkg``, ``.graphml``, ``.osm``, ``.osm.pbf``).
        Default: the default study's network (:attr:`Study.network`; for the embedded study, the Travel Mapping
        network of Haute-Saône and a 30 km margin: classified roads, straight waypoint lengths x ``circuity`` 1.2).
    profile : CarProfile, dict, str or Path, optional
        Speeds and snapping settings, or a profile file (JSON, e.g. from ``fsgeo calibrate``); default profile if None.
    """
    if path is None:
        return load_study(profile=profile).network
    from fsgeo.network import RoadNetwork  # imported here: the network stack is heavier than the data loaders
    from fsgeo.profile import resolve_profile

    return RoadNetwork.from_file(path, profile=resolve_profile(profile))


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
