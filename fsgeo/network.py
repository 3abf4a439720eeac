"""Road networks as compact directed travel-time graphs.

A :class:`RoadNetwork` keeps the graph as a ``scipy.sparse.csr_matrix`` of travel times (seconds, row = from, column =
to) plus the node and edge tables as GeoDataFrames (EPSG:4326), the node coordinates in the network's metric CRS for
snapping (:attr:`RoadNetwork.metric_crs`: Lambert-93 in metropolitan France, the local UTM zone elsewhere), and a mask
of the main component (on each landmass, its largest strongly connected component: mainland, Corsica and islands
with roads are each routed on their own roads). Ways to get one:

- ``fsgeo.datasets.load_network()``: the embedded Haute-Saône network (Travel Mapping, ``RoadNetwork.from_file``);
- ``RoadNetwork.from_osmnx(G)`` / ``net.to_osmnx()``: to and from any osmnx ``MultiDiGraph``;
- ``RoadNetwork.from_file(path)``: ``.gpkg`` (fsgeo format, or osmnx's ``save_graph_geopackage``), ``.graphml``
  (osmnx), ``.osm`` / ``.osm.xml`` / ``.osm.bz2`` (osmnx XML reader), ``.osm.pbf`` (pyrosm, ``pip install fsgeo[pbf]``);
- ``RoadNetwork.from_place(query)`` / ``RoadNetwork.from_polygon(polygon)``: an osmnx ``drive`` download, HTTP-cached
  and saved as GraphML under ``settings.cache_dir`` so that the second call works offline.

Travel times come from a :class:`fsgeo.profile.CarProfile`; parallel edges between the same two nodes keep the fastest.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from fsgeo.io import InputError
from fsgeo.profile import CarProfile, resolve_profile
from fsgeo.schema import local_metric_crs
from fsgeo.settings import settings

__all__ = ["RoadNetwork", "DRIVE_EXCLUDED_HIGHWAYS"]

#: ``highway`` values a car cannot use, following osmnx's ``drive`` filter (service roads excluded too)
DRIVE_EXCLUDED_HIGHWAYS = frozenset(
    "abandoned bridleway bus_guideway busway construction corridor cycleway elevator escalator footway ladder no path "
    "pedestrian planned platform proposed raceway razed rest_area service services steps track trail".split()
)
_DRIVE_EXCLUDED_SERVICES = frozenset("alley driveway emergency_access parking parking_aisle private".split())
# access hierarchy for cars, most specific first: the first tag present decides
_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")
_CLOSED = frozenset({"no", "private"})
# osmnx's one-way conventions (graph._add_paths)
_ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
_REVERSED_VALUES = frozenset({"-1", "reverse", "T"})
_EDGE_COLUMNS = ["u", "v", "key", "length_m", "road_class", "speed_kmh", "travel_time_s", "oneway"]


class RoadNetwork:
    """Directed road network with travel times in seconds.

    Parameters
    ----------
    nodes : geopandas.GeoDataFrame
        Indexed by node id (int), columns ``x`` (longitude), ``y`` (latitude), Point geometry, EPSG:4326.
    edges : geopandas.GeoDataFrame
        One row per *directed* edge: ``u``, ``v`` (node ids), ``length_m`` (road length, metres), ``road_class``,
        ``speed_kmh``, ``travel_time_s`` (seconds), ``oneway``; LineString geometry, EPSG:4326.
    profile : CarProfile, optional
        The profile the travel times come from (kept for snapping: detour factor, connector speed, max snap distance).
    name : str, optional
        Where the network comes from (file name, query), used in messages.
    metric_crs : str, int or pyproj.CRS, optional
        Force the metric CRS (a *projected* CRS in metres, e.g. ``"EPSG:3067"``); ``ValueError`` otherwise, or when
        it cannot place every node. Default: chosen from the nodes' extent, see :attr:`metric_crs`. Every
        constructor (``from_file``, ``from_osmnx``, ``from_geopackage``, ``from_place``, ``from_polygon``, ...)
        takes the same keyword.
    landmass : None, "weak" or array-like of int, optional
        Which nodes share a landmass (mainland, an island, Corsica): the main component is the largest strongly
        connected component *of each landmass*, so that an island with roads is routed on its own roads. None (the
        default): one landmass, unless ``nodes`` has a ``landmass`` column. ``"weak"``: every weakly connected
        component of two nodes or more is a landmass (fsgeo's Travel Mapping GeoPackages: the build keeps only the
        components that are a landmass's road network, see :func:`fsgeo.build_data.network.keep_components`). An
        array: one label per node (negative: on no landmass).

    Attributes
    ----------
    metric_crs : pyproj.CRS
        The CRS of every distance on this network (snapping, snap distances, access and direct legs, metres),
        chosen at construction: Lambert-93 (EPSG:2154) when all nodes lie within its area
        of use (``CRS.area_of_use``: metropolitan France and Corsica with their offshore margin, where Lambert-93's
        scale error stays under 0.4 %), otherwise the local UTM zone (``estimate_utm_crs`` on the nodes' extent,
        e.g. EPSG:32635 for Helsinki, where Lambert-93 would overstate distances by 3 %).
    node_ids : numpy.ndarray
        Node ids (int64); a node's *position* in every array is its index here.
    xy_metric : numpy.ndarray
        ``n x 2`` node coordinates (easting, northing) in :attr:`metric_crs`, metres.
    csr : scipy.sparse.csr_matrix
        ``n x n`` directed travel times, seconds (``csr[i, j]``: fastest edge from position ``i`` to ``j``).
    main_component : numpy.ndarray
        Boolean mask over nodes: on each landmass, its largest strongly connected component (every node of it can
        reach every other node of it); one landmass by default, so the largest strongly connected component. Points
        snap to these nodes only; the other nodes (one-way or dead-end fragments) are reported.
    islands_without_roads : frozenset of str
        Commune codes on an island where the network has no road (empty unless the study loader sets it: see
        :attr:`fsgeo.datasets.Study.network`); :mod:`fsgeo.coverage` reports them unreachable, "island without
        roads", whatever their snapping says (a point within the snap limit of the mainland is still across water).
    landmass : numpy.ndarray
        Landmass of every node (int64): 0 is the landmass with the largest main component, then by decreasing size;
        -1 for nodes on no landmass (an isolated node of a ``"weak"`` network). All 0 with a single landmass.
    """

    def __init__(self, nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, profile: CarProfile | Mapping | None = None,
                 name: str = "network", *, metric_crs=None, landmass=None):
        self.name = str(name)
        self.profile = resolve_profile(profile)
        if len(nodes) == 0:
            raise ValueError(f"{self.name}: the network has no nodes")
        if len(edges) == 0:
            raise ValueError(f"{self.name}: the network has no edges")
        missing = [c for c in ("x", "y") if c not in nodes.columns]
        if missing:
            raise ValueError(f"{self.name}: nodes lack column(s) {missing}")
        missing = [c for c in ("u", "v", "travel_time_s") if c not in edges.columns]
        if missing:
            raise ValueError(f"{self.name}: edges lack column(s) {missing}")
        node_ids = np.asarray(nodes.index, dtype=np.int64)
        if pd.Index(node_ids).has_duplicates:
            dup = pd.Index(node_ids)[pd.Index(node_ids).duplicated()].unique()[:10].tolist()
            raise ValueError(f"{self.name}: duplicate node ids {dup}")
        lon = nodes["x"].to_numpy(dtype=float)
        lat = nodes["y"].to_numpy(dtype=float)
        bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
        if bad.any():
            raise ValueError(f"{self.name}: nodes {node_ids[bad][:10].tolist()} have missing or invalid lon/lat")

        index = pd.Index(node_ids)
        ui = index.get_indexer(edges["u"].to_numpy())
        vi = index.get_indexer(edges["v"].to_numpy())
        unknown = (ui < 0) | (vi < 0)
        if unknown.any():
            rows = edges.index[unknown][:10].tolist()
            raise ValueError(f"{self.name}: edges rows {rows} reference node ids absent from the nodes")
        t = edges["travel_time_s"].to_numpy(dtype=float)
        badt = ~np.isfinite(t) | (t < 0)
        if badt.any():
            raise ValueError(f"{self.name}: edges rows {edges.index[badt][:10].tolist()} have an invalid travel_time_s")
        zero_length = "length_m" in edges.columns and not (pd.to_numeric(edges["length_m"], errors="coerce") > 0).any()
        if zero_length or not (t > 0).any():
            what = "length_m" if zero_length else "travel_time_s"
            raise InputError(f"{self.name}: every one of the {len(edges):,} edges has {what} 0 (or none): the "
                             "network carries no distances (wrong length column or units?)")

        edges = edges.copy()
        edges["key"] = edges.groupby([edges["u"], edges["v"]]).cumcount().to_numpy()
        cols = [c for c in _EDGE_COLUMNS if c in edges.columns]
        edges = edges[cols + [c for c in edges.columns if c not in cols]]
        self.nodes = nodes
        self.edges = edges
        self.node_ids = node_ids
        n = len(node_ids)

        # parallel edges: keep the fastest (lexsort by time, first of each (u, v))
        order = np.lexsort((t, vi, ui))
        ui_s, vi_s, t_s = ui[order], vi[order], t[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (ui_s[1:] != ui_s[:-1]) | (vi_s[1:] != vi_s[:-1])
        # built directly from CSR arrays: explicit zero-time edges stay edges for csgraph
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(indptr, ui_s[first] + 1, 1)
        self.csr = sparse.csr_matrix((t_s[first], vi_s[first].astype(np.int32), np.cumsum(indptr).astype(np.int32)),
                                     shape=(n, n))

        self.metric_crs = _choose_metric_crs(metric_crs, lon, lat, self.name)
        to_metric = Transformer.from_crs("EPSG:4326", self.metric_crs, always_xy=True)
        mx, my = to_metric.transform(lon, lat)
        self.xy_metric = np.column_stack([mx, my])
        lost = ~np.isfinite(self.xy_metric).all(axis=1)
        if lost.any():
            raise ValueError(f"{self.name}: metric_crs {self.metric_crs.to_string()} ({self.metric_crs.name}) cannot "
                             f"place nodes {node_ids[lost][:10].tolist()}: choose a projected CRS made for where the "
                             "network lies (or leave metric_crs to None)")
        if landmass is None and "landmass" in nodes.columns:
            landmass = nodes["landmass"].to_numpy()
        self.landmass, self.main_component = _landmasses(self.csr, landmass, self.name)
        #: codes of the communes on an island where this network has no road (set by the study loader from its
        #: manifest's ``network.islands_without_roads``): coverage reports them unreachable, "island without roads"
        self.islands_without_roads: frozenset[str] = frozenset()
        self._cache: dict[str, Any] = {}

    # -- derived structures (cached) -----------------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def csr_reverse(self) -> sparse.csr_matrix:
        """Transposed graph (``[j, i]`` = time of edge ``i -> j``): searching on it gives times *towards* a node."""
        if "csr_reverse" not in self._cache:
            self._cache["csr_reverse"] = self.csr.T.tocsr()
        return self._cache["csr_reverse"]

    @property
    def kdtree(self):
        """``scipy.spatial.cKDTree`` over :attr:`xy_metric`."""
        if "kdtree" not in self._cache:
            from scipy.spatial import cKDTree

            self._cache["kdtree"] = cKDTree(self.xy_metric)
        return self._cache["kdtree"]

    def __repr__(self) -> str:
        share = self.main_component.mean()
        return (f"RoadNetwork({self.name!r}: {self.n_nodes:,} nodes, {len(self.edges):,} directed edges, "
                f"main component {share:.1%} of nodes)")

    # -- osmnx interoperability ----------------------------------------------------------------------------------
    @classmethod
    def from_osmnx(cls, G: nx.MultiDiGraph, profile: CarProfile | Mapping | None = None, weight: str | None = None,
                   name: str = "osmnx graph", *, metric_crs=None) -> RoadNetwork:
        """Network from an osmnx graph (any ``MultiDiGraph`` with node ``x``/``y``; one-way streets respected).

        Parameters
        ----------
        G : networkx.MultiDiGraph
            osmnx graph, unprojected or projected (``G.graph["crs"]``; EPSG:4326 assumed when absent). An undirected
            graph is read as two-way everywhere.
        profile : CarProfile or dict, optional
            Speeds: edges with a ``highway`` attribute use the OSM table (capped by ``maxspeed``), edges with a
            Travel Mapping ``road_class`` the road-class table. Their ``length`` (metres) is the road length.
        weight : str, optional
            Use this edge attribute as the travel time in seconds instead (e.g. ``"travel_time"`` after
            ``ox.add_edge_travel_times``).
        name : str
            Used in messages.
        metric_crs : str, int or pyproj.CRS, optional
            Force the metric CRS (projected, metres); default chosen from the extent (see :class:`RoadNetwork`). A
            projected graph's own CRS is not used for that: only the nodes' position decides.
        """
        prof = resolve_profile(profile)
        metric_crs = _checked_metric_crs(metric_crs)
        if G.number_of_nodes() == 0:
            raise ValueError(f"{name}: the graph has no nodes")
        crs = G.graph.get("crs")
        node_ids, xs, ys = [], [], []
        for nid, data in G.nodes(data=True):
            if "x" not in data or "y" not in data:
                raise ValueError(f"{name}: node {nid!r} has no x/y coordinates")
            node_ids.append(nid)
            xs.append(float(data["x"]))
            ys.append(float(data["y"]))
        try:
            node_ids_arr = np.asarray(node_ids, dtype=np.int64)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: node ids must be integers (osmnx uses OSM ids)") from None
        xs_a, ys_a = np.asarray(xs), np.asarray(ys)
        to_wgs = _to_wgs84(crs, xs_a, ys_a, name)
        lon, lat = to_wgs(xs_a, ys_a) if to_wgs else (xs_a, ys_a)
        pos = {nid: i for i, nid in enumerate(node_ids)}

        rows = []
        osm_speed = _osm_speed_memo(prof)
        directed = G.is_directed()
        multi = G.is_multigraph()
        edge_iter = G.edges(keys=True, data=True) if multi else ((u, v, 0, d) for u, v, d in G.edges(data=True))
        for u, v, _k, data in edge_iter:
            length = data.get("length")
            if length is None or not np.isfinite(float(length)):
                iu, iv = pos[u], pos[v]
                length = _great_circle_m(lat[iu], lon[iu], lat[iv], lon[iv])
            length = float(length)
            highway = data.get("highway")
            road_class_tm = data.get("road_class")
            if weight is not None:
                if weight not in data:
                    raise ValueError(f"{name}: edge ({u}, {v}) has no {weight!r} attribute")
                tt = float(data[weight])
                speed = length / tt * 3.6 if tt > 0 else math.inf
                rc = _join(highway) if highway is not None else road_class_tm
            elif highway is not None:
                speed = osm_speed(highway, data.get("maxspeed"))
                tt = length / (speed / 3.6)
                rc = _join(highway)
            elif road_class_tm in prof.road_class_speeds_kmh:
                speed = prof.road_class_speed_kmh(road_class_tm)
                tt = length / (speed / 3.6)
                rc = road_class_tm
            else:
                speed = prof.default_speed_kmh
                tt = length / (speed / 3.6)
                rc = None if road_class_tm is None else str(road_class_tm)
            geom = data.get("geometry")
            row = {"u": u, "v": v, "length_m": length, "road_class": rc, "speed_kmh": speed, "travel_time_s": tt,
                   "oneway": _truthy(data.get("oneway", False)), "geometry": geom}
            # highway / maxspeed kept as given (lists of merged segments too): to_osmnx -> from_osmnx gives the same
            for attr in ("highway", "maxspeed"):
                if attr in data:
                    row[attr] = data[attr]
            for attr in ("name", "routes"):
                if attr in data:
                    row[attr] = _join(data[attr])
            rows.append(row)
            if not directed:
                rev = dict(row, u=v, v=u, geometry=None if geom is None else shapely.reverse(geom))
                rows.append(rev)
        edges = pd.DataFrame(rows)
        if len(edges) == 0:
            raise ValueError(f"{name}: the graph has no edges")
        geoms = np.array(edges["geometry"].tolist() + [None], dtype=object)[:-1]  # writable, no shapely coercion
        if to_wgs is not None:
            geoms = np.array([None if g is None else shapely.transform(g, lambda c: np.column_stack(to_wgs(c[:, 0], c[:, 1])))
                              for g in geoms], dtype=object)
        need = np.array([g is None for g in geoms])
        if need.any():
            iu = edges["u"].map(pos).to_numpy()[need]
            iv = edges["v"].map(pos).to_numpy()[need]
            geoms[need] = _segments(lon[iu], lat[iu], lon[iv], lat[iv])
        edges = gpd.GeoDataFrame(edges.drop(columns="geometry"), geometry=list(geoms), crs="EPSG:4326")
        nodes = _nodes_frame(node_ids_arr, lon, lat)
        for attr in ("label", "street_count", "landmass"):
            vals = [G.nodes[n].get(attr) for n in node_ids]
            if any(v is not None for v in vals):
                nodes[attr] = vals
        return cls(nodes, edges, prof, name=name, metric_crs=metric_crs)

    def to_osmnx(self) -> nx.MultiDiGraph:
        """The network as an osmnx-style ``MultiDiGraph`` (EPSG:4326).

        Nodes carry ``x``, ``y`` (lon/lat) and ``street_count``; edges ``length`` (m), ``speed_kph``,
        ``travel_time`` (s), ``road_class``, ``oneway`` and ``geometry``, so ``ox.routing.shortest_path(G, o, d,
        weight="travel_time")``, ``ox.graph_to_gdfs``, ``ox.distance.nearest_nodes`` etc. work on it.
        """
        G = nx.MultiDiGraph(crs="EPSG:4326", simplified=True, created_with="fsgeo", name=self.name)
        node_cols = [c for c in self.nodes.columns if c not in ("geometry",)]
        node_records = self.nodes[node_cols].to_dict("records")
        G.add_nodes_from(zip(self.node_ids.tolist(), node_records))
        e = self.edges
        skip = {"u", "v", "key", "length_m", "speed_kmh", "travel_time_s", "geometry"}
        other = [c for c in e.columns if c not in skip]
        records = e[other].to_dict("records") if other else [{} for _ in range(len(e))]
        for u, v, k, length, speed, tt, geom, rec in zip(e["u"].tolist(), e["v"].tolist(), e["key"].tolist(),
                                                         e["length_m"].tolist(), e["speed_kmh"].tolist(),
                                                         e["travel_time_s"].tolist(), e.geometry.tolist(), records):
            attrs = {kk: vv for kk, vv in rec.items() if not _is_null(vv)}
            attrs.update(length=length, speed_kph=speed, travel_time=tt, geometry=geom)
            G.add_edge(u, v, key=k, **attrs)
        counts = _street_counts(G)
        nx.set_node_attributes(G, counts, name="street_count")
        return G

    # -- files ---------------------------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, profile: CarProfile | Mapping | None = None, *,
                  metric_crs=None) -> RoadNetwork:
        """Read a network file; the format follows the extension.

        ``.gpkg`` (fsgeo's network format, or osmnx's ``save_graph_geopackage``), ``.graphml`` (osmnx),
        ``.osm`` / ``.osm.xml`` / ``.osm.bz2`` (OSM XML through osmnx, ``drive`` filter), ``.osm.pbf`` (pyrosm,
        ``driving`` network; needs ``pip install fsgeo[pbf]``).

        Parameters
        ----------
        path : str or Path
            The network file.
        profile : CarProfile or dict, optional
            Speeds (km/h), circuity and snapping settings (default :class:`fsgeo.profile.CarProfile`).
        metric_crs : str, int or pyproj.CRS, optional
            Force the metric CRS used for snapping and every distance (a projected CRS in metres); default: Lambert-93
            in metropolitan France, the local UTM zone elsewhere (see :class:`RoadNetwork`).

        Returns
        -------
        RoadNetwork
            Travel times in seconds, node and edge tables in EPSG:4326.

        Raises
        ------
        FileNotFoundError
            No such file.
        ImportError
            A ``.osm.pbf`` without pyrosm installed.
        ValueError
            Unsupported extension, or a file that cannot be read as a road network of its format
            (:class:`fsgeo.io.InputError` naming the file, the format and the parser's complaint), or a
            ``metric_crs`` that is not a projected CRS in metres.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"network file not found: {path}")
        metric_crs = _checked_metric_crs(metric_crs)  # before parsing: a bad argument is not a bad file
        name = path.name.lower()
        if name.endswith(".gpkg"):
            fmt, read = "GeoPackage", cls.from_geopackage
        elif name.endswith(".graphml"):
            fmt, read = "GraphML", cls._from_graphml
        elif name.endswith((".osm", ".osm.xml", ".osm.bz2", ".xml", ".osm.gz")):
            fmt, read = "OSM XML", cls.from_osm_xml
        elif name.endswith(".pbf"):
            fmt, read = "OSM PBF", cls.from_pbf
        else:
            raise ValueError(f"{path}: unsupported network format; use .gpkg, .graphml, .osm, .osm.xml, .osm.bz2 "
                             "or .osm.pbf")
        try:
            return read(path, profile, metric_crs=metric_crs)
        except ImportError:
            raise
        except Exception as exc:  # the parsers' own errors (XML, GDAL, PBF) name neither the file nor the format
            if isinstance(exc, ValueError) and path.name in str(exc):  # our own checks already name the file
                raise
            kind = "" if isinstance(exc, ValueError) else f"{type(exc).__name__}: "
            raise InputError(f"{path}: cannot read this file as a road network ({fmt}): {kind}{exc}") from exc

    @classmethod
    def _from_graphml(cls, path: Path, profile: CarProfile | Mapping | None = None, *,
                      metric_crs=None) -> RoadNetwork:
        import osmnx as ox

        return cls.from_osmnx(ox.load_graphml(path), profile, name=path.name, metric_crs=metric_crs)

    @classmethod
    def from_geopackage(cls, path: str | Path, profile: CarProfile | Mapping | None = None, *,
                        metric_crs=None) -> RoadNetwork:
        """Read a GeoPackage with layers ``nodes`` and ``edges``.

        fsgeo's format (the embedded network): nodes ``node_id``, ``x``, ``y``; edges ``u``, ``v``, ``road_class``
        (Travel Mapping class), ``length_m`` (straight waypoint-line length, multiplied by the profile's
        ``circuity``), ``oneway`` (False: both directions from one row). osmnx's ``save_graph_geopackage`` output
        (nodes ``osmid``; directed edges with ``highway``, ``maxspeed``, ``length``) is read too. Errors name the
        file, the layer and its rows by feature id (1-based, as a GIS shows them).

        Parameters (``metric_crs`` included) and return as :meth:`from_file`; travel time = ``length_m`` (x
        ``circuity`` for Travel Mapping edges) / speed of the class (km/h), seconds. The embedded Haute-Saône network
        lies in France: its metric CRS is Lambert-93.
        """
        import pyogrio

        path = Path(path)
        prof = resolve_profile(profile)
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
        for layer in ("nodes", "edges"):
            if layer not in layers:
                raise ValueError(f"{path}: no layer {layer!r} (layers: {layers})")
        # indexed by feature id (1-based rows, as a GIS shows them): the row numbers of the errors below
        nodes = gpd.read_file(path, layer="nodes", fid_as_index=True)
        edges = gpd.read_file(path, layer="edges", fid_as_index=True)
        if nodes.crs is None or edges.crs is None:
            raise ValueError(f"{path}: layers must declare a CRS")
        nodes = nodes.to_crs("EPSG:4326")
        edges = edges.to_crs("EPSG:4326")
        id_col = "node_id" if "node_id" in nodes.columns else "osmid" if "osmid" in nodes.columns else None
        if id_col is None:
            raise ValueError(f"{path}: layer 'nodes' needs a 'node_id' column")
        ids = pd.to_numeric(nodes[id_col], errors="coerce")
        if ids.isna().any():
            raise ValueError(f"{path}: layer 'nodes' rows {nodes.index[ids.isna()][:10].tolist()} have no integer "
                             f"{id_col}")
        if nodes.geometry.is_empty.any() or nodes.geometry.isna().any():
            bad = nodes.index[nodes.geometry.is_empty | nodes.geometry.isna()][:10].tolist()
            raise ValueError(f"{path}: layer 'nodes' rows {bad} have no geometry")
        lon, lat = nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()
        node_frame = _nodes_frame(ids.to_numpy(np.int64), lon, lat)
        for col in ("label", "street_count"):
            if col in nodes.columns:
                node_frame[col] = nodes[col].to_numpy()

        for col in ("u", "v"):
            if col not in edges.columns:
                raise ValueError(f"{path}: layer 'edges' needs a {col!r} column")
        known = pd.Index(node_frame.index)
        ends = [pd.to_numeric(edges[c], errors="coerce") for c in ("u", "v")]
        unknown = ~(ends[0].isin(known) & ends[1].isin(known))
        if unknown.any():
            rows = edges.index[unknown][:10].tolist()
            raise ValueError(f"{path}: layer 'edges' rows {rows} reference node ids absent from layer 'nodes'")
        landmass = nodes["landmass"].to_numpy() if "landmass" in nodes.columns else None
        if "highway" in edges.columns:
            edges = _osm_edges_from_frame(edges, prof, str(path))
        elif "road_class" in edges.columns:
            edges = _tm_edges(edges, prof, str(path))
            # fsgeo's build keeps only landmass road networks (one component per landmass): each is routed
            landmass = "weak" if landmass is None else landmass
        else:
            raise ValueError(f"{path}: layer 'edges' needs a 'road_class' (Travel Mapping) or 'highway' (OSM) column")
        return cls(node_frame, edges, prof, name=path.name, metric_crs=metric_crs, landmass=landmass)

    @classmethod
    def from_osm_xml(cls, path: str | Path, profile: CarProfile | Mapping | None = None, *,
                     metric_crs=None) -> RoadNetwork:
        """Read OSM XML (``.osm``, ``.osm.xml``, ``.osm.bz2``) with osmnx, keep drivable ways (osmnx ``drive``
        filter, car access hierarchy), simplify without merging edges of different ``highway``/``maxspeed``.

        Parameters (``metric_crs`` included) and return as :meth:`from_file`; edge lengths are osmnx's great-circle
        lengths, metres.
        """
        import osmnx as ox

        path = Path(path)
        tags = ["access", "area", "highway", "junction", "maxspeed", "motor_vehicle", "motorcar", "name", "oneway",
                "ref", "service", "vehicle"]
        with _osmnx_settings(useful_tags_way=sorted(set(ox.settings.useful_tags_way) | set(tags))):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                G = ox.graph_from_xml(path, bidirectional=False, simplify=False, retain_all=True)
        drop = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not _drivable(d)]
        G.remove_edges_from(drop)
        G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
        if G.number_of_edges() == 0:
            raise ValueError(f"{path}: no drivable way in this OSM file")
        G = ox.simplify_graph(G, edge_attrs_differ=["highway", "maxspeed", "oneway"])
        return cls.from_osmnx(G, profile, name=path.name, metric_crs=metric_crs)

    @classmethod
    def from_pbf(cls, path: str | Path, profile: CarProfile | Mapping | None = None, *,
                 metric_crs=None) -> RoadNetwork:
        """Read an ``.osm.pbf`` extract with pyrosm (``driving`` network; one-way rules as osmnx).

        Parameters (``metric_crs`` included) and return as :meth:`from_file`; segment lengths are great-circle
        lengths (osmnx's formula), metres. Needs pyrosm (``pip install fsgeo[pbf]``): ``ImportError`` saying so
        otherwise.
        """
        try:
            import pyrosm
        except ImportError:
            raise ImportError("reading .osm.pbf files needs pyrosm: pip install 'fsgeo[pbf]'") from None
        path = Path(path)
        prof = resolve_profile(profile)
        osm = pyrosm.OSM(str(path))
        got = osm.get_network(network_type="driving", nodes=True)
        if got is None or got[1] is None or len(got[1]) == 0:
            raise ValueError(f"{path}: no drivable way in this OSM file")
        pnodes, pedges = got
        pnodes = pnodes.drop_duplicates("id")
        node_frame = _nodes_frame(pnodes["id"].to_numpy(np.int64), pnodes["lon"].to_numpy(float),
                                  pnodes["lat"].to_numpy(float))
        pos = pd.Index(node_frame.index)
        iu, iv = pos.get_indexer(pedges["u"]), pos.get_indexer(pedges["v"])
        if (iu < 0).any() or (iv < 0).any():
            raise ValueError(f"{path}: pyrosm returned edges whose nodes are missing")
        lon, lat = node_frame["x"].to_numpy(), node_frame["y"].to_numpy()
        length = _great_circle_m(lat[iu], lon[iu], lat[iv], lon[iv])  # same formula as osmnx: comparable lengths

        def tag(col: str) -> pd.Series:
            if col in pedges.columns:
                return pedges[col]
            return pd.Series([None] * len(pedges), index=pedges.index, dtype=object)

        oneway_tag = tag("oneway").astype(object).where(tag("oneway").notna(), None)
        junction = tag("junction").astype(object)
        is_oneway = oneway_tag.isin(_ONEWAY_VALUES).to_numpy() | (junction == "roundabout").to_numpy()
        is_reversed = oneway_tag.isin(_REVERSED_VALUES).to_numpy() & is_oneway
        highway = tag("highway").to_numpy(dtype=object)
        maxspeed = tag("maxspeed").to_numpy(dtype=object)
        speeds = _osm_speeds(prof, highway, maxspeed)
        base = pd.DataFrame({
            "u": pedges["u"].to_numpy(np.int64), "v": pedges["v"].to_numpy(np.int64), "length_m": length,
            "road_class": highway, "speed_kmh": speeds, "travel_time_s": length / (speeds / 3.6),
            "oneway": is_oneway, "highway": highway, "maxspeed": maxspeed, "name": tag("name").to_numpy(dtype=object),
            "osmid": pedges["id"].to_numpy(np.int64),
        })
        geoms = _segments(lon[iu], lat[iu], lon[iv], lat[iv])
        edges = _directed(base, geoms, forward=~is_reversed, backward=~is_oneway | is_reversed)
        return cls(node_frame, edges, prof, name=path.name, metric_crs=metric_crs)

    # -- downloads -----------------------------------------------------------------------------------------------
    @classmethod
    def from_place(cls, query: str | dict | list, profile: CarProfile | Mapping | None = None, *,
                   metric_crs=None) -> RoadNetwork:
        """Download the ``drive`` network of a place with osmnx (e.g. ``"Haute-Saône, France"``).

        osmnx's HTTP cache goes to ``settings.cache_dir / "osmnx"`` and the graph is saved as GraphML under
        ``settings.cache_dir / "graphs"``; a second call with the same query reads that file and needs no network.

        Parameters
        ----------
        query : str, dict or list
            What ``osmnx.graph_from_place`` accepts (a Nominatim query).
        profile : CarProfile or dict, optional
            As in :meth:`from_file`.
        metric_crs : str, int or pyproj.CRS, optional
            As in :meth:`from_file` (not part of the cache key: the saved graph is the same).

        Returns
        -------
        RoadNetwork
            Travel times in seconds, EPSG:4326.
        """
        import osmnx as ox

        metric_crs = _checked_metric_crs(metric_crs)  # before any download
        key = "place-" + _digest(repr(query))
        return cls._cached_download(key, lambda: ox.graph_from_place(query, network_type="drive"), profile,
                                    name=str(query), metric_crs=metric_crs)

    @classmethod
    def from_polygon(cls, polygon, profile: CarProfile | Mapping | None = None, *, metric_crs=None) -> RoadNetwork:
        """Download the ``drive`` network inside a polygon (shapely, EPSG:4326 lon/lat) with osmnx; cached like
        :meth:`from_place`, same ``profile`` and ``metric_crs`` keywords."""
        import osmnx as ox

        metric_crs = _checked_metric_crs(metric_crs)

        if isinstance(polygon, (gpd.GeoDataFrame, gpd.GeoSeries)):
            if polygon.crs is None:
                raise ValueError("polygon has no CRS: set it (e.g. .set_crs('EPSG:4326'))")
            polygon = polygon.to_crs("EPSG:4326").union_all()
        if not isinstance(polygon, (shapely.Polygon, shapely.MultiPolygon)):
            raise ValueError(f"from_polygon needs a Polygon or MultiPolygon, got {type(polygon).__name__}")
        key = "polygon-" + _digest(shapely.normalize(polygon).wkb_hex)
        return cls._cached_download(key, lambda: ox.graph_from_polygon(polygon, network_type="drive"), profile,
                                    name="polygon", metric_crs=metric_crs)

    @classmethod
    def _cached_download(cls, key: str, download, profile, name: str, metric_crs=None) -> RoadNetwork:
        import osmnx as ox

        cache_dir = Path(settings.cache_dir)
        graph_path = cache_dir / "graphs" / f"{key}.graphml"
        if graph_path.exists():
            G = ox.load_graphml(graph_path)
        else:
            with _osmnx_settings(use_cache=True, cache_folder=str(cache_dir / "osmnx")):
                G = download()
            graph_path.parent.mkdir(parents=True, exist_ok=True)
            # written aside then renamed: an interrupted save must not leave a truncated graph that every later
            # (offline) call would fail to read
            partial = graph_path.with_suffix(".graphml.partial")
            try:
                ox.save_graphml(G, partial)
                partial.replace(graph_path)
            finally:
                partial.unlink(missing_ok=True)
        return cls.from_osmnx(G, profile, name=name, metric_crs=metric_crs)


# -- helpers -----------------------------------------------------------------------------------------------------
def _landmasses(csr: sparse.csr_matrix, landmass, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(landmass, main_component)`` of a network (see :class:`RoadNetwork`): per landmass, its largest strongly
    connected component (ties: the lowest component label, as ``argmax``), landmasses renumbered by the size of
    that component (largest first)."""
    n = csr.shape[0]
    n_scc, scc = connected_components(csr, directed=True, connection="strong")
    if landmass is None:
        lm = np.zeros(n, dtype=np.int64)
    elif isinstance(landmass, str):
        if landmass != "weak":
            raise ValueError(f"{name}: landmass must be None, 'weak' or one label per node, got {landmass!r}")
        _, lm = connected_components(csr, directed=True, connection="weak")
        lm = lm.astype(np.int64)
        lm[np.bincount(lm)[lm] < 2] = -1  # an isolated node is no landmass's road network
    else:
        lm = pd.to_numeric(pd.Series(np.asarray(landmass).ravel()), errors="coerce").to_numpy()
        if lm.shape != (n,) or not np.isfinite(lm).all():
            raise ValueError(f"{name}: landmass needs one integer label per node ({n}), got {np.shape(landmass)}")
        lm = lm.astype(np.int64)
    on = lm >= 0
    if not on.any():  # no landmass at all: the largest strongly connected component, as with one landmass
        lm = np.zeros(n, dtype=np.int64)
        on = np.ones(n, bool)
    # node count of every (landmass, strong component) pair; per landmass the largest (lowest label on ties)
    key = np.unique(lm[on] * n_scc + scc[on], return_counts=True)
    pair_lm, pair_scc, count = key[0] // n_scc, key[0] % n_scc, key[1]
    order = np.lexsort((pair_scc, -count, pair_lm))
    first = np.ones(order.size, bool)
    first[1:] = pair_lm[order][1:] != pair_lm[order][:-1]
    best_lm, best_scc, best_n = pair_lm[order][first], pair_scc[order][first], count[order][first]
    main = np.isin(scc, best_scc)
    # renumber: 0 = the landmass with the largest main component (then by size, ties by former label)
    rank = np.lexsort((best_lm, -best_n))
    new_id = np.empty(rank.size, dtype=np.int64)
    new_id[rank] = np.arange(rank.size)
    out = np.full(n, -1, dtype=np.int64)
    out[on] = new_id[np.searchsorted(best_lm, lm[on])]  # best_lm is sorted: every landmass has its pair
    return out, main


def _checked_metric_crs(value, what: str = "metric_crs") -> CRS | None:
    """``value`` as a ``pyproj.CRS`` (None stays None: chosen later from the extent); ``ValueError`` unless it is a
    projected CRS whose axes are in metres (every distance, radius and speed of fsgeo is in metres)."""
    if value is None:
        return None
    try:
        crs = CRS.from_user_input(value)
    except CRSError as exc:
        raise ValueError(f"{what} {value!r} is not a coordinate reference system pyproj knows: {exc}") from None
    hint = "e.g. a UTM zone (EPSG:326xx north, EPSG:327xx south) or Lambert-93 (EPSG:2154)"
    if not crs.is_projected:
        kind = "a geographic CRS (degrees)" if crs.is_geographic else f"not projected ({crs.type_name})"
        raise ValueError(f"{what} {value!r} ({crs.name}) is {kind}: distances need a projected CRS in metres, "
                         f"{hint}")
    units = sorted({a.unit_name for a in crs.axis_info if a.unit_conversion_factor != 1.0})
    if units:
        raise ValueError(f"{what} {value!r} ({crs.name}) has axes in {', '.join(units)}, not metres: distances "
                         f"need a projected CRS in metres, {hint}")
    return crs


def _choose_metric_crs(value, lon: np.ndarray, lat: np.ndarray, name: str) -> CRS:
    """The metric CRS of a network whose nodes are at ``lon``, ``lat`` (degrees): ``value`` when given, else
    Lambert-93 when every node lies within its area of use, else the local UTM zone (:func:`fsgeo.schema.local_metric_crs`)."""
    forced = _checked_metric_crs(value)
    if forced is not None:
        return forced
    return local_metric_crs(lon, lat, name)


@contextlib.contextmanager
def _osmnx_settings(**values):
    """Temporarily set ``osmnx.settings`` values (restored afterwards: the user's osmnx configuration is theirs)."""
    import osmnx as ox

    old = {k: getattr(ox.settings, k) for k in values}
    try:
        for k, v in values.items():
            setattr(ox.settings, k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(ox.settings, k, v)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _great_circle_m(lat1, lon1, lat2, lon2):
    from osmnx.distance import great_circle

    return great_circle(np.asarray(lat1, float), np.asarray(lon1, float), np.asarray(lat2, float),
                        np.asarray(lon2, float))


def _segments(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = (np.atleast_1d(np.asarray(a, float)) for a in (lon1, lat1, lon2, lat2))
    coords = np.stack([np.column_stack([lon1, lat1]), np.column_stack([lon2, lat2])], axis=1)
    return shapely.linestrings(coords)


def _directed(rows: pd.DataFrame, geoms, forward: np.ndarray, backward: np.ndarray) -> gpd.GeoDataFrame:
    """One row per driving direction (EPSG:4326): ``rows[forward]`` as they are, then ``rows[backward]`` with ``u`` and
    ``v`` swapped and their geometry reversed."""
    geoms = np.asarray(geoms, dtype=object)
    ahead = rows[forward].assign(geometry=geoms[forward])
    back = rows[backward].rename(columns={"u": "v", "v": "u"}).assign(geometry=shapely.reverse(geoms[backward]))
    return gpd.GeoDataFrame(pd.concat([ahead, back], ignore_index=True), geometry="geometry", crs="EPSG:4326")


def _nodes_frame(ids: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"x": lon, "y": lat}, geometry=gpd.points_from_xy(lon, lat),
                            index=pd.Index(ids, name="node_id"), crs="EPSG:4326")


def _to_wgs84(crs, xs, ys, name):
    """None when coordinates are already lon/lat; else a transformer function to EPSG:4326."""
    if crs is None:
        if np.all(np.abs(xs) <= 180) and np.all(np.abs(ys) <= 90):
            return None
        raise ValueError(f"{name}: the graph has no 'crs' and its coordinates are not lon/lat")
    crs = CRS.from_user_input(crs)
    if crs.equals(CRS.from_epsg(4326)):
        return None
    t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return lambda x, y: t.transform(x, y)


def _is_null(v) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v)) if np.ndim(v) == 0 else False
    except (TypeError, ValueError):
        return False


def _join(value):
    if isinstance(value, (list, tuple, set)):
        return ";".join(str(v) for v in value)
    return None if _is_null(value) else value


def _truthy(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_truthy(v) for v in value)
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1"}
    return bool(value) if not _is_null(value) else False


def _osm_speed_memo(prof: CarProfile):
    """``prof.osm_speed_kmh`` (km/h) computed once per distinct (highway, maxspeed) pair: few pairs, many edges."""
    memo: dict = {}

    def speed(highway, maxspeed) -> float:
        key = (repr(highway), repr(maxspeed))  # repr: lists of merged segments are keys too
        if key not in memo:
            memo[key] = prof.osm_speed_kmh(highway, maxspeed)
        return memo[key]

    return speed


def _osm_speeds(prof: CarProfile, highways, maxspeeds) -> np.ndarray:
    """Speed of every edge, km/h (see :func:`_osm_speed_memo`)."""
    speed = _osm_speed_memo(prof)
    return np.array([speed(h, m) for h, m in zip(highways, maxspeeds)], dtype=float)


def _drivable(d: Mapping) -> bool:
    """osmnx ``drive`` filter on a way's tags, with the car access hierarchy (motorcar > motor_vehicle > vehicle >
    access; ``no``/``private`` close the way, also within ``a;b`` multi-values)."""
    hw = d.get("highway")
    highways = hw if isinstance(hw, list) else [hw]
    if not highways or any(_is_null(h) for h in highways):
        return False
    if any(h in DRIVE_EXCLUDED_HIGHWAYS for h in highways):
        return False
    if d.get("area") == "yes":
        return False
    for key in _ACCESS_KEYS:
        value = d.get(key)
        if not _is_null(value):
            if any(part.strip() in _CLOSED for part in str(value).split(";")):
                return False
            break
    service = d.get("service")
    if isinstance(service, str) and any(p.strip() in _DRIVE_EXCLUDED_SERVICES for p in service.split(";")):
        return False
    return True


def _street_counts(G: nx.MultiDiGraph) -> dict:
    """Undirected neighbours per node (osmnx's ``street_count`` without self-loop subtleties)."""
    return {n: len(set(G.predecessors(n)) | set(G.successors(n))) for n in G.nodes}


def _tm_edges(edges: gpd.GeoDataFrame, prof: CarProfile, source: str) -> gpd.GeoDataFrame:
    """Directed edges from fsgeo's Travel Mapping layer: road length = straight length x circuity."""
    if "length_m" not in edges.columns:
        raise ValueError(f"{source}: layer 'edges' needs a 'length_m' column (metres)")
    length = pd.to_numeric(edges["length_m"], errors="coerce")
    bad = length.isna() | (length < 0)
    if bad.any():
        raise ValueError(f"{source}: layer 'edges' rows {edges.index[bad][:10].tolist()} have a missing or negative "
                         "length_m")
    rc = edges["road_class"].astype(object)
    unknown = ~rc.isin(list(prof.road_class_speeds_kmh))
    if unknown.any():
        rows = edges.index[unknown][:10].tolist()
        raise ValueError(f"{source}: layer 'edges' rows {rows} have an unknown road_class "
                         f"{sorted(set(rc[unknown].astype(str)))} (known: {sorted(prof.road_class_speeds_kmh)})")
    speed = rc.map(prof.road_class_speeds_kmh).to_numpy(float)
    road_len = length.to_numpy(float) * prof.circuity
    oneway = edges["oneway"].map(_truthy).to_numpy(bool) if "oneway" in edges.columns else np.zeros(len(edges), bool)
    out = pd.DataFrame({
        "u": pd.to_numeric(edges["u"]).to_numpy(np.int64), "v": pd.to_numeric(edges["v"]).to_numpy(np.int64),
        "length_m": road_len, "road_class": rc.to_numpy(), "speed_kmh": speed,
        "travel_time_s": road_len / (speed / 3.6), "oneway": oneway, "line_length_m": length.to_numpy(float),
    })
    if "routes" in edges.columns:
        out["routes"] = edges["routes"].to_numpy(dtype=object)
    return _directed(out, edges.geometry.to_numpy(), forward=np.ones(len(out), bool), backward=~oneway)


def _osm_edges_from_frame(edges: gpd.GeoDataFrame, prof: CarProfile, source: str) -> gpd.GeoDataFrame:
    """Directed edges from an osmnx GeoPackage: one row per direction (``directed=True``), or, osmnx's default, one
    row per street with its direction in ``from``/``to`` and ``oneway`` False meaning both ways."""
    lcol = "length_m" if "length_m" in edges.columns else "length" if "length" in edges.columns else None
    if lcol is None:
        raise ValueError(f"{source}: layer 'edges' needs a 'length' column (metres)")
    length = pd.to_numeric(edges[lcol], errors="coerce")
    if length.isna().any() or (length < 0).any():
        bad = edges.index[length.isna() | (length < 0)][:10].tolist()
        raise ValueError(f"{source}: layer 'edges' rows {bad} have a missing or negative {lcol}")
    maxspeed = edges["maxspeed"] if "maxspeed" in edges.columns else pd.Series([None] * len(edges), index=edges.index)
    speeds = _osm_speeds(prof, edges["highway"].tolist(), maxspeed.tolist())
    out = pd.DataFrame({
        "u": pd.to_numeric(edges["u"]).to_numpy(np.int64), "v": pd.to_numeric(edges["v"]).to_numpy(np.int64),
        "length_m": length.to_numpy(float), "road_class": edges["highway"].map(_join).to_numpy(dtype=object),
        "speed_kmh": speeds, "travel_time_s": length.to_numpy(float) / (speeds / 3.6),
        "oneway": edges["oneway"].map(_truthy).to_numpy(bool) if "oneway" in edges.columns else False,
        "highway": edges["highway"].to_numpy(dtype=object), "maxspeed": maxspeed.to_numpy(dtype=object),
    })
    everyone = np.ones(len(out), bool)
    if {"from", "to"} <= set(edges.columns):
        out["u"] = pd.to_numeric(edges["from"]).to_numpy(np.int64)
        out["v"] = pd.to_numeric(edges["to"]).to_numpy(np.int64)
        return _directed(out, edges.geometry.to_numpy(), forward=everyone, backward=~out["oneway"].to_numpy(bool))
    return _directed(out, edges.geometry.to_numpy(), forward=everyone, backward=~everyone)
