"""Default road network of the département, from the Travel Mapping (TM) route files.

Source: ``travelmapping/highwaydata-fra.tar.gz`` (TravelMapping/HighwayData, France), read in memory.

Systems: ``fraa`` (autoroutes, ``motorway``), ``frasf`` (named freeways, ``expressway``), ``fran`` (routes
nationales, ``trunk``) and the ``fra<region>d<NN>`` / ``fra<region>m<NN>`` routes départementales / métropolitaines of
the département and its neighbours (``departementale`` / ``metropolitan``). ``eure`` (E-roads) runs concurrently
with A/N roads: it only adds its refs to the segments it shares, never edges of its own.

Graph: TM joins routes by giving them a waypoint with identical coordinates, so nodes are waypoint coordinates
where a visible waypoint sits, where a route starts or ends, or that two routes (or one route twice) pass through.
Other hidden shaping points (``+...``) are vertices of the edge LineStrings. Concurrent routes give one edge
(same node pair and geometry) whose ``routes`` lists all refs and whose ``road_class`` is the highest. The graph is
clipped to the département outline buffered by ``NETWORK_MARGIN_M`` and reduced to its largest connected component.

Output: ``out/network/haute-saone.gpkg``, layers ``nodes`` and ``edges`` (EPSG:4326), byte-identical run to run.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Geod
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from fsgeo.build_data import (
    DEPARTEMENT,
    METRIC_CRS,
    NEIGHBOURS,
    NETWORK_MARGIN_M,
    STORAGE_CRS,
    raw_departement_outline,
)
from fsgeo.build_data.travelmapping import HighwayData, Route

FILE_NAME = "haute-saone.gpkg"
ARCHIVE = Path("travelmapping") / "highwaydata-fra.tar.gz"

#: road classes, highest first (the class of a shared segment is the highest among its routes)
ROAD_CLASSES = ("motorway", "expressway", "trunk", "departementale", "metropolitan")
NATIONAL_SYSTEMS = {"fraa": "motorway", "frasf": "expressway", "fran": "trunk"}
REF_ONLY_SYSTEMS = ("eure",)
#: TM levels used: preview systems are complete and open for review (Haute-Saône's own routes are ``preview``)
LEVELS = ("active", "preview")
#: GeoPackage stores creation / modification timestamps; pinned for byte-identical builds
FIXED_DATE = "2000-01-01T00:00:00Z"

_LOCAL_SYSTEM = re.compile(r"^fra[a-z]{3}([dm])(\d\d)$")

Coord = tuple[float, float]  # (lon, lat) as parsed: identical strings give identical floats


def select_systems(systems: dict, departements, log: Callable[[str], None]) -> dict[str, str]:
    """Systems to build edges from, ``{system: road_class}``, and log the choice with each system's level."""
    chosen = {}
    for name, road_class in NATIONAL_SYSTEMS.items():
        chosen[name] = road_class
    for name in sorted(systems):
        m = _LOCAL_SYSTEM.match(name)
        if m and m.group(2) in departements:
            chosen[name] = "departementale" if m.group(1) == "d" else "metropolitan"
    out = {}
    for name, road_class in chosen.items():
        level = systems[name].level if name in systems else "absent"
        if level in LEVELS:
            out[name] = road_class
            log(f"network: system {name} ({level}) -> {road_class}")
        else:
            log(f"network: system {name} skipped: level {level} (only {'/'.join(LEVELS)} used)")
    for name in REF_ONLY_SYSTEMS:
        log(f"network: system {name} ({systems[name].level if name in systems else 'absent'}) -> refs only")
    skipped = sorted(n for n in systems if n.startswith("fra") and n not in out)
    log(f"network: other French systems not used: {', '.join(skipped)}")
    return out


def _node_coords(routes: list[tuple[Route, str]], log) -> tuple[set[Coord], set[Coord]]:
    """Coordinates that are graph nodes (see module docstring), and the hidden shaping points among them."""
    visits: dict[Coord, int] = defaultdict(int)
    routes_at: dict[Coord, set[str]] = defaultdict(set)
    visible: set[Coord] = set()
    ends: set[Coord] = set()
    for route, _ in routes:
        prev = None
        for w in route.waypoints:
            c = (w.lon, w.lat)
            if c != prev:  # a repeated consecutive point is not a second pass
                visits[c] += 1
                routes_at[c].add(route.path)
            prev = c
            if not w.hidden:
                visible.add(c)
        ends.add((route.waypoints[0].lon, route.waypoints[0].lat))
        ends.add((route.waypoints[-1].lon, route.waypoints[-1].lat))
    shared = {c for c, n in visits.items() if n > 1 and c not in visible and c not in ends}
    by_two = sum(1 for c in shared if len(routes_at[c]) > 1)
    log(f"network: {len(shared)} hidden shaping points kept as junctions: {by_two} passed by two or more routes, "
        f"{len(shared) - by_two} passed twice by the same route (all routes read, before clipping)")
    return visible | ends | shared, shared


def _pieces(route: Route, nodes: set[Coord]):
    """Split a route at its nodes: yields lists of coordinates from node to node (consecutive duplicates dropped)."""
    coords: list[Coord] = []
    for w in route.waypoints:
        c = (w.lon, w.lat)
        if coords and coords[-1] == c:
            continue
        coords.append(c)
    piece = [coords[0]]
    for c in coords[1:]:
        piece.append(c)
        if c in nodes:
            yield piece
            piece = [c]


def _canonical(piece: list[Coord]) -> tuple[Coord, ...]:
    """Orientation-free key: the coordinate sequence starting from its smaller end (lon, then lat)."""
    return tuple(piece) if piece[0] <= piece[-1] else tuple(reversed(piece))


def _e_refs(eroads: list[Route]) -> dict[frozenset, set[str]]:
    """E-road refs per undirected pair of consecutive waypoint coordinates."""
    refs: dict[frozenset, set[str]] = defaultdict(set)
    for r in eroads:
        pts = [(w.lon, w.lat) for w in r.waypoints]
        for a, b in zip(pts, pts[1:]):
            if a != b:
                refs[frozenset((a, b))].add(r.ref)
    return refs


@contextmanager
def _gdal_config(**options):
    """Set GDAL config options (and their environment variables) for the duration of a write."""
    old_env = {k: os.environ.get(k) for k in options}
    old_cfg = {k: pyogrio.get_gdal_config_option(k) for k in options}
    os.environ.update(options)
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(old_cfg)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def write_gpkg(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, path: Path) -> None:
    """Write the ``nodes`` and ``edges`` layers to a GeoPackage, byte-identical for identical inputs."""
    if path.exists():
        path.unlink()
    with _gdal_config(OGR_CURRENT_DATE=FIXED_DATE):
        nodes.to_file(path, layer="nodes", driver="GPKG", engine="pyogrio")
        edges.to_file(path, layer="edges", driver="GPKG", engine="pyogrio")


def build(raw: Path, out: Path, log: Callable[[str], None] = print,
          departement: str = DEPARTEMENT, neighbours=NEIGHBOURS,
          margin_m: float = NETWORK_MARGIN_M) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Build ``out/network/haute-saone.gpkg`` from the Travel Mapping archive.

    Parameters
    ----------
    raw : Path
        Raw sources folder (``travelmapping/highwaydata-fra.tar.gz``, ``france-geojson/`` for the outline).
    out : Path
        Output data folder; the file goes to ``out/network/``.
    log : callable
        Receives one human-readable line per step.
    departement, neighbours : str, tuple of str
        Départements whose routes départementales / métropolitaines are read.
    margin_m : float
        Clip buffer around the département outline, metres (Lambert-93).

    Returns
    -------
    (nodes, edges) : tuple of geopandas.GeoDataFrame
        As written (EPSG:4326). ``length_m`` is in metres, geodesic along the waypoint polyline.
    """
    raw, out = Path(raw), Path(out)
    archive = raw / ARCHIVE
    with HighwayData(archive) as hd:
        systems = hd.systems()
        chosen = select_systems(systems, {departement, *neighbours}, log)
        routes: list[tuple[Route, str]] = []
        for name, road_class in chosen.items():
            rs = hd.routes(name, region_prefix="FRA")
            routes += [(r, road_class) for r in rs]
            log(f"network: {name}: {len(rs)} route files, {sum(len(r.waypoints) for r in rs)} waypoints")
        eroads = [r for name in REF_ONLY_SYSTEMS for r in hd.routes(name, region_prefix="FRA")]
        log(f"network: eure: {len(eroads)} route files (French part), refs only")

    nodes_xy, shared_hidden = _node_coords(routes, log)

    # edges, deduplicated: one per (undirected node pair, geometry)
    rank = {c: i for i, c in enumerate(ROAD_CLASSES)}
    merged: dict[tuple[Coord, ...], dict] = {}
    loops = 0
    for route, road_class in routes:
        for piece in _pieces(route, nodes_xy):
            if piece[0] == piece[-1]:
                loops += 1  # a loop back to the same junction: no use for shortest paths
                continue
            key = _canonical(piece)
            e = merged.setdefault(key, {"refs": set(), "class": road_class})
            e["refs"].add(route.ref)
            if rank[road_class] < rank[e["class"]]:
                e["class"] = road_class
    log(f"network: {len(merged)} distinct segments between junctions ({loops} closed loops skipped)")

    # E-road refs on the segments whose every waypoint pair the E-road also runs along
    erefs = _e_refs(eroads)
    built_pairs = {frozenset(p) for key in merged for p in zip(key, key[1:])}
    lone = [p for p in erefs if p not in built_pairs]
    log(f"network: eure: {len(erefs)} waypoint pairs, {len(lone)} run along no built segment (roads of systems "
        f"not read, or links between routes): not added as edges")
    tagged = 0
    for key, e in merged.items():
        common = None
        for a, b in zip(key, key[1:]):
            here = erefs.get(frozenset((a, b)), set())
            common = here if common is None else common & here
            if not common:
                break
        if common:
            e["refs"] |= common
            tagged += 1

    # parallel segments between the same two junctions with different shapes: split the longer ones at their middle
    # shaping point so that every (u, v) pair is one edge (the contract stores each segment once, key 0)
    by_pair: dict[tuple[Coord, Coord], list] = defaultdict(list)
    for key in merged:
        by_pair[(key[0], key[-1])].append(key)
    split = 0
    for pair, keys in by_pair.items():
        if len(keys) < 2:
            continue
        keys.sort(key=lambda k: (len(k), k))
        for k in keys[1:]:
            if len(k) < 3:
                continue
            mid = len(k) // 2
            e = merged.pop(k)
            for part in (k[: mid + 1], k[mid:]):
                part = _canonical(list(part))
                if part in merged:
                    merged[part]["refs"] |= e["refs"]
                    if rank[e["class"]] < rank[merged[part]["class"]]:
                        merged[part]["class"] = e["class"]
                else:
                    merged[part] = {"refs": set(e["refs"]), "class": e["class"]}
            nodes_xy.add(k[mid])
            split += 1
    log(f"network: {split} parallel segments (same junctions, other shape) split at a shaping point")

    keys = sorted(merged)
    geod = Geod(ellps="WGS84")
    lines = [shapely.LineString(k) for k in keys]
    edges = gpd.GeoDataFrame({
        "ux": [k[0] for k in keys], "vx": [k[-1] for k in keys],
        "routes": [";".join(sorted(merged[k]["refs"])) for k in keys],
        "road_class": [merged[k]["class"] for k in keys],
        "length_m": [round(geod.line_length(*zip(*k)), 2) for k in keys],
    }, geometry=lines, crs=STORAGE_CRS)
    dup = edges.duplicated(["ux", "vx"])
    if dup.any():
        raise RuntimeError(f"network: {int(dup.sum())} duplicate node pairs left after splitting")
    log(f"network: {len(edges)} edges before clipping, {edges['length_m'].sum() / 1000:.0f} km; "
        f"{tagged} carry E-road refs")

    # clip to the département + margin (Lambert-93)
    outline = raw_departement_outline(raw, departement).to_crs(METRIC_CRS)
    zone = shapely.union_all(outline.geometry.values).buffer(margin_m)
    inside = edges.to_crs(METRIC_CRS).intersects(zone)
    edges = edges[inside.values].reset_index(drop=True)
    log(f"network: clip to département {departement} + {margin_m / 1000:.0f} km: {len(edges)} edges kept, "
        f"{int((~inside).sum())} outside")

    # largest connected component
    coords = sorted(set(edges["ux"]) | set(edges["vx"]))
    index = {c: i for i, c in enumerate(coords)}
    ui = edges["ux"].map(index).to_numpy()
    vi = edges["vx"].map(index).to_numpy()
    n = len(coords)
    adj = coo_matrix((np.ones(len(edges)), (ui, vi)), shape=(n, n))
    n_comp, labels = connected_components(adj, directed=False)
    main = np.bincount(labels).argmax()
    keep_node = labels == main
    keep_edge = keep_node[ui]
    dropped = edges[~keep_edge]
    log(f"network: largest component {int(keep_node.sum())} nodes; dropped {n_comp - 1} other components: "
        f"{int((~keep_node).sum())} nodes, {len(dropped)} edges, {dropped['length_m'].sum() / 1000:.1f} km"
        + (f" ({', '.join(sorted(set(';'.join(dropped['routes']).split(';'))))})" if len(dropped) else ""))
    edges = edges[keep_edge].reset_index(drop=True)

    # deterministic node ids: order of sorted (lon, lat)
    coords = sorted(set(edges["ux"]) | set(edges["vx"]))
    node_id = {c: i for i, c in enumerate(coords)}
    labels_at: dict[Coord, set[str]] = defaultdict(set)
    for route, _ in routes:
        for w in route.waypoints:
            c = (w.lon, w.lat)
            if c in node_id:
                labels_at[c].add(f"{route.ref}@{w.label}")
    nodes = gpd.GeoDataFrame({
        "node_id": np.arange(len(coords), dtype="int64"),
        "x": [c[0] for c in coords], "y": [c[1] for c in coords],
        "label": [";".join(sorted(labels_at[c])) for c in coords],
    }, geometry=shapely.points(np.array(coords)), crs=STORAGE_CRS)

    edges.insert(0, "u", edges["ux"].map(node_id).astype("int64"))
    edges.insert(1, "v", edges["vx"].map(node_id).astype("int64"))
    edges.insert(2, "key", np.zeros(len(edges), dtype="int64"))
    edges["oneway"] = False
    edges = edges[["u", "v", "key", "routes", "road_class", "length_m", "oneway", "geometry"]]
    edges = edges.sort_values(["u", "v"]).reset_index(drop=True)

    hidden = sum(all(x.split("@", 1)[1].startswith("+") for x in lab.split(";")) for lab in nodes["label"])
    log(f"network: {hidden} nodes of the final network are hidden shaping points: "
        f"{len(shared_hidden & set(node_id))} shared by two routes, the others route ends or parallel-segment splits")
    km = edges.groupby("road_class")["length_m"].sum() / 1000
    log(f"network: {len(nodes)} nodes, {len(edges)} edges, {edges['length_m'].sum() / 1000:.0f} km: "
        + ", ".join(f"{c} {km.get(c, 0.0):.0f} km" for c in ROAD_CLASSES))

    folder = out / "network"
    folder.mkdir(parents=True, exist_ok=True)
    write_gpkg(nodes, edges, folder / FILE_NAME)
    log(f"network: wrote {folder / FILE_NAME}")
    return nodes, edges
