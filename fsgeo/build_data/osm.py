"""An OpenStreetMap road network for a study, instead of the Travel Mapping one.

Either a file the user has (``--network FILE``: a regional ``.osm.pbf`` extract, ``.osm`` XML or an osmnx GraphML),
or a download through osmnx (``--osm-download``: the ``drive`` network of the study area and its margin, cached
under ``settings.cache_dir`` so a second build is offline; :meth:`fsgeo.network.RoadNetwork.from_polygon`). Either
way the network is read with :class:`fsgeo.network.RoadNetwork` (the same speeds and one-way rules as every other
network), clipped to the study outline buffered by the network margin (nodes inside the zone, the edges between
them), and saved as GraphML in ``out/network/<slug>.graphml`` (osmnx's format: ``RoadNetwork.from_file`` and
``osmnx.load_graphml`` read it).

A supplied extract may cover only part of the study: the manifest records the extent of the network
(``network.extent``), and the communes beyond it are reported unreachable, "outside the supplied network", by the
routing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import shapely

from fsgeo.build_data import STORAGE_CRS, StudyArea


def _zone_4326(area: StudyArea):
    zone = area.outline_metric().buffer(area.network_margin_m)
    return gpd.GeoSeries([zone], crs=area.metric_crs).to_crs(STORAGE_CRS).iloc[0]


def build(area: StudyArea, out: Path, log: Callable[[str], None] = print, *, path=None,
          download: bool = False) -> dict:
    """Read or download an OSM network, clip it to the study area + margin, write it; returns the manifest entry.

    Parameters
    ----------
    area : StudyArea
        The study (outline, network margin in metres of its metric CRS).
    out : Path
        Study folder; the network goes to ``out/network/<slug>.graphml``.
    log : callable
        One line per step.
    path : path, optional
        The OSM file (.osm.pbf, .osm, .osm.xml, .osm.bz2, .graphml).
    download : bool
        Download the drive network of the zone through osmnx instead (cached).
    """
    import osmnx as ox

    from fsgeo.atomic import atomic_path
    from fsgeo.network import RoadNetwork

    zone = _zone_4326(area)
    margin_km = f"{area.network_margin_m / 1000:g} km"
    if download:
        log(f"network: OpenStreetMap drive network of {area.name} + {margin_km} through osmnx (cached)")
        net = RoadNetwork.from_polygon(zone)
        source, label = "osm-download", "OpenStreetMap (osmnx download)"
    else:
        path = Path(path)
        log(f"network: OpenStreetMap network from {path}")
        net = RoadNetwork.from_file(path)
        source, label = "osm-file", path.name
    log(f"network: read {net.n_nodes} nodes, {len(net.edges)} directed edges")
    G = net.to_osmnx()
    lon = np.array([d["x"] for _, d in G.nodes(data=True)], dtype=float)
    lat = np.array([d["y"] for _, d in G.nodes(data=True)], dtype=float)
    shapely.prepare(zone)
    inside = shapely.contains_xy(zone, lon, lat)
    node_ids = list(G.nodes)
    kept = [n for n, ok in zip(node_ids, inside) if ok]
    G = G.subgraph(kept).copy()
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    log(f"network: clip to {', '.join(area.codes)} + {margin_km}: {G.number_of_nodes()} nodes, "
        f"{G.number_of_edges()} directed edges kept ({len(node_ids) - len(kept)} nodes outside)")
    if G.number_of_edges() == 0:
        raise ValueError(f"{path if path is not None else 'osmnx download'}: no road of this network lies within "
                         f"{margin_km} of {area.name} ({', '.join(area.codes)})")
    xs = np.array([d["x"] for _, d in G.nodes(data=True)])
    ys = np.array([d["y"] for _, d in G.nodes(data=True)])
    extent = [round(float(xs.min()), 6), round(float(ys.min()), 6), round(float(xs.max()), 6),
              round(float(ys.max()), 6)]
    covered = _covered_share(area, extent)
    log(f"network: extent lon {extent[0]}..{extent[2]}, lat {extent[1]}..{extent[3]}: "
        f"{covered:.1%} of the study area; communes beyond it are reported unreachable (outside the supplied network)")
    folder = Path(out) / "network"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{area.slug}.graphml"
    with atomic_path(target) as tmp:
        ox.save_graphml(G, tmp)
    log(f"network: wrote {target}")
    entry = {"source": source, "file": f"network/{target.name}", "input": label, "margin_m": area.network_margin_m,
             "nodes": int(G.number_of_nodes()), "edges": int(G.number_of_edges()), "extent": extent,
             "covered_share": round(covered, 4),
             "source_entry": {"id": "osm", "title": f"OpenStreetMap road network ({label})",
                              "licence": "ODbL 1.0, © OpenStreetMap contributors",
                              "url": "https://www.openstreetmap.org/copyright",
                              "date": None, "file": label}}
    return entry


def _covered_share(area: StudyArea, extent) -> float:
    """Share of the study area's surface inside the network's bounding box."""
    box = gpd.GeoSeries([shapely.box(*extent)], crs=STORAGE_CRS).to_crs(area.metric_crs).iloc[0]
    outline = area.outline_metric()
    return float(outline.intersection(box).area / outline.area) if outline.area else 0.0
