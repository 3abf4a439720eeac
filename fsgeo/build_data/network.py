"""Road network of a study from the Travel Mapping (TM) route files (the default, offline), or from OpenStreetMap.

Source: ``travelmapping/highwaydata-fra.tar.gz`` (TravelMapping/HighwayData, France), read in memory.

Systems (:func:`select_systems`): ``fraa`` (autoroutes, ``motorway``), ``frasf`` (named freeways, ``expressway``),
``fran`` (routes nationales, ``trunk``) everywhere, and the local systems (routes départementales, métropolitaines,
Corsica's routes territoriales) that cover the studied départements, their neighbours or the other départements
within the network margin (68 for 70: its roads reach the 3 sites of Haut-Rhin within 25 km). Which départements a
local system covers is read from the data, not from its name: the share of its routes whose middle waypoint lies in
each département (``fragesd6ae``, Alsace, covers 67 and 68; ``fracord`` 2A and 2B; ``fraarad69m`` 69). Its road
class comes from its name in ``systems.csv`` (départementales, métropolitaines, territoriales). ``eure`` (E-roads)
runs concurrently with A/N roads: it only adds its refs to the segments it shares, never edges of its own; the
tourist routes (``fratr``) are not used.

Graph: TM joins routes by giving them a waypoint with identical coordinates, so nodes are waypoint coordinates
where a visible waypoint sits, where a route starts or ends, or that two routes (or one route twice) pass through.
Other hidden shaping points (``+...``) are vertices of the edge LineStrings. Concurrent routes give one edge
(same node pair and geometry) whose ``routes`` lists all refs and whose ``road_class`` is the highest. The graph is
clipped to the study outline buffered by the network margin, then reduced to the components that matter
(:func:`keep_components`): on each landmass (mainland, Corsica, an island) of the study and its neighbours, its
largest connected component; the others are dropped and logged.

Output: ``out/network/<slug>.gpkg``, layers ``nodes`` and ``edges`` (EPSG:4326), byte-identical run to run.
Overseas départements have no Travel Mapping route files: no network is built and the manifest says that one must
be supplied (``--network FILE``).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
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

from fsgeo.build_data import OVERSEAS_METRIC_CRS, STORAGE_CRS, StudyArea, read_departements
from fsgeo.build_data.travelmapping import HighwayData, Route


class BuildError(ValueError):
    """No network can be built from the sources as asked: the message says why and what to supply."""

ARCHIVE = Path("travelmapping") / "highwaydata-fra.tar.gz"

#: road classes, highest first (the class of a shared segment is the highest among its routes)
ROAD_CLASSES = ("motorway", "expressway", "trunk", "departementale", "metropolitan")
NATIONAL_SYSTEMS = {"fraa": "motorway", "frasf": "expressway", "fran": "trunk"}
REF_ONLY_SYSTEMS = ("eure",)
#: systems never used for edges: tourist routes (they follow roads already read, under another name)
UNUSED_SYSTEMS = ("fratr",)
#: road class of a local system, from a word of its name in ``systems.csv``
LOCAL_CLASSES = (("départementales", "departementale"), ("métropolitaines", "metropolitan"),
                 ("territoriales", "trunk"))
#: a local system covers a département when at least this share of its routes have their middle waypoint in it
COVER_SHARE = 0.10
#: TM levels used: preview systems are complete and open for review (Haute-Saône's own routes are ``preview``)
LEVELS = ("active", "preview")
#: GeoPackage stores creation / modification timestamps; pinned for byte-identical builds
FIXED_DATE = "2000-01-01T00:00:00Z"
#: a network node within this distance of a landmass polygon (coast, bridge end) is on it
LANDMASS_TOLERANCE_M = 500.0

Coord = tuple[float, float]  # (lon, lat) as parsed: identical strings give identical floats


def _local_class(system) -> str | None:
    name = system.name.lower()
    return next((cls for word, cls in LOCAL_CLASSES if word in name), None)


_COVERAGE_CACHE: dict = {}


def system_coverage(hd: HighwayData, systems: dict, raw: Path) -> dict[str, dict[str, float]]:
    """``{system: {département: share of its routes}}`` for every French local system (see module docstring).

    Remembered per archive file (path, size, mtime) for the session: a sweep of many builds computes it once."""
    stat = hd.path.stat()
    key = (str(hd.path.resolve()), stat.st_size, stat.st_mtime_ns, str(Path(raw).resolve()))
    if key not in _COVERAGE_CACHE:
        _COVERAGE_CACHE[key] = _system_coverage(hd, systems, raw)
    return _COVERAGE_CACHE[key]


def _system_coverage(hd: HighwayData, systems: dict, raw: Path) -> dict[str, dict[str, float]]:
    deps = read_departements(raw, STORAGE_CRS)
    names, points = [], []
    for name, system in systems.items():
        if (system.country != "FRA" or name in NATIONAL_SYSTEMS or name in REF_ONLY_SYSTEMS
                or name in UNUSED_SYSTEMS or not hd.has(f"hwy_data/_systems/{name}.csv")):
            continue  # the archive holds metropolitan France only: overseas systems have no files in it
        for route in hd.route_list(name, region_prefix="FRA"):
            mid = hd.middle_point(route)
            if mid is not None:
                names.append(name)
                points.append(mid)
    if not points:
        return {}
    pts = shapely.points(np.array(points))
    tree = shapely.STRtree(deps.geometry.values)
    ip, idep = tree.query(pts, predicate="within")
    where = np.full(len(pts), "", dtype=object)
    where[ip] = deps["code"].to_numpy()[idep]
    counts: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter(names)
    for name, dep in zip(names, where):
        if dep:
            counts[name][dep] += 1
    return {name: {dep: n / totals[name] for dep, n in counts[name].items()} for name in totals}


def select_systems(hd: HighwayData, area: StudyArea, log: Callable[[str], None]) -> dict[str, str]:
    """Systems to build edges from, ``{system: road_class}`` (national first, then local ones by name), logged with
    each system's level and the départements it covers."""
    systems = hd.systems()
    wanted = {*area.codes, *area.neighbours, *area.nearby}
    coverage = system_coverage(hd, systems, area.raw)
    chosen = dict(NATIONAL_SYSTEMS)
    covered = set()
    for name in sorted(coverage):
        deps = sorted(d for d, share in coverage[name].items() if share >= COVER_SHARE)
        if not wanted & set(deps):
            continue
        road_class = _local_class(systems[name])
        if road_class is None:
            log(f"network: system {name} ({systems[name].name}) covers {', '.join(deps)} but its kind of road is "
                "unknown: skipped")
            continue
        chosen[name] = road_class
        covered |= set(deps) & wanted
        log(f"network: system {name} covers {', '.join(deps)} ({systems[name].name})")
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
    bare = sorted(wanted - covered)
    if bare:
        log(f"network: no Travel Mapping routes départementales for {', '.join(bare)}: national roads only there")
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
    """Write the ``nodes`` and ``edges`` layers to a GeoPackage, byte-identical for identical inputs, atomically."""
    from fsgeo.atomic import atomic_path

    with atomic_path(path) as tmp, _gdal_config(OGR_CURRENT_DATE=FIXED_DATE):
        nodes.to_file(tmp, layer="nodes", driver="GPKG", engine="pyogrio")
        edges.to_file(tmp, layer="edges", driver="GPKG", engine="pyogrio")


def landmasses(area: StudyArea) -> list:
    """The landmass polygons (metric CRS) of the study and its neighbouring départements: the parts of the union
    of their france-geojson outlines (mainland, Corsica, each island), largest first."""
    from fsgeo.build_data import raw_departement_outline

    codes = [*area.codes, *area.neighbours]
    union = raw_departement_outline(area.raw, codes).to_crs(area.metric_crs).union_all()
    parts = list(shapely.get_parts(union))
    return sorted(parts, key=lambda p: -p.area)


def keep_components(edges: gpd.GeoDataFrame, area: StudyArea, log: Callable[[str], None]):
    """Keep, on each landmass, the largest connected component of the clipped network (and the largest overall).

    Returns the kept edges and one entry per kept component (``nodes``, ``edges``, ``km``, ``lon``/``lat`` of a
    node of it). Other components (pieces cut by the clip, roads whose junction Travel Mapping does not record)
    are dropped and logged.
    """
    coords = sorted(set(edges["ux"]) | set(edges["vx"]))
    index = {c: i for i, c in enumerate(coords)}
    ui = edges["ux"].map(index).to_numpy()
    vi = edges["vx"].map(index).to_numpy()
    n = len(coords)
    adj = coo_matrix((np.ones(len(edges)), (ui, vi)), shape=(n, n))
    n_comp, labels = connected_components(adj, directed=False)
    sizes = np.bincount(labels)
    keep = {int(sizes.argmax())}
    parts = landmasses(area)
    if len(parts) > 1:
        xy = gpd.GeoSeries(shapely.points(np.array(coords)), crs=STORAGE_CRS).to_crs(area.metric_crs).values
        tree = shapely.STRtree(parts)
        inode, ipart = tree.query(xy, predicate="dwithin", distance=LANDMASS_TOLERANCE_M)
        for part in np.unique(ipart):
            comps = np.unique(labels[inode[ipart == part]])
            keep.add(int(comps[np.argmax(sizes[comps])]))
    keep_node = np.isin(labels, sorted(keep))
    keep_edge = keep_node[ui]
    dropped = edges[~keep_edge]
    info = []
    for comp in sorted(keep, key=lambda c: (-sizes[c], c)):
        sel = labels[ui] == comp
        first = coords[int(np.flatnonzero(labels == comp)[0])]
        info.append({"nodes": int(sizes[comp]), "edges": int(sel.sum()),
                     "km": round(float(edges["length_m"][sel].sum()) / 1000, 1),
                     "lon": first[0], "lat": first[1]})
    kept_text = "largest component" if len(keep) == 1 else f"{len(keep)} components kept (one per landmass)"
    log(f"network: {kept_text} {', '.join(str(c['nodes']) for c in info)} nodes; dropped {n_comp - len(keep)} "
        f"other components: {int((~keep_node).sum())} nodes, {len(dropped)} edges, "
        f"{dropped['length_m'].sum() / 1000:.1f} km"
        + (f" ({', '.join(sorted(set(';'.join(dropped['routes']).split(';'))))})" if len(dropped) else ""))
    return edges[keep_edge].reset_index(drop=True), info


def build(area: StudyArea, out: Path, log: Callable[[str], None] = print):
    """Build ``out/network/<slug>.gpkg`` from the Travel Mapping archive.

    Parameters
    ----------
    area : StudyArea
        The study: départements (whose routes, and their neighbours', are read), outline, network margin (metres,
        in its metric CRS), raw sources folder (``travelmapping/highwaydata-fra.tar.gz``, ``france-geojson/``).
    out : Path
        Output study folder; the file goes to ``out/network/``.
    log : callable
        Receives one human-readable line per step.

    Returns
    -------
    (nodes, edges, info) : GeoDataFrame, GeoDataFrame, dict
        As written (EPSG:4326; ``length_m`` in metres, geodesic along the waypoint polyline) and the network's
        entry of the study manifest (systems, components kept).
    """
    raw, out = Path(area.raw), Path(out)
    archive = raw / ARCHIVE
    with HighwayData(archive) as hd:
        chosen = select_systems(hd, area, log)
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

    # clip to the study area + margin (its metric CRS)
    zone = area.outline_metric().buffer(area.network_margin_m)
    inside = edges.to_crs(area.metric_crs).intersects(zone)
    edges = edges[inside.values].reset_index(drop=True)
    log(f"network: clip to département {', '.join(area.codes)} + {area.network_margin_m / 1000:.0f} km: "
        f"{len(edges)} edges kept, {int((~inside).sum())} outside")
    if len(edges) == 0:
        raise BuildError(f"{archive}: no Travel Mapping road within {area.network_margin_m / 1000:.0f} km of "
                         f"{', '.join(area.codes)}: supply a network (--network FILE)")
    edges, components = keep_components(edges, area, log)

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
    target = folder / f"{area.slug}.gpkg"
    write_gpkg(nodes, edges, target)
    log(f"network: wrote {target}")
    info = {"source": "travelmapping", "systems": sorted(chosen), "margin_m": area.network_margin_m,
            "nodes": int(len(nodes)), "edges": int(len(edges)), "components": components}
    return nodes, edges, info


def no_network_reason(area: StudyArea) -> str | None:
    """Why Travel Mapping cannot give this study a network (overseas), or None."""
    overseas = [c for c in area.codes if c in OVERSEAS_METRIC_CRS]
    if overseas:
        return (f"Travel Mapping has no route files for overseas départements ({', '.join(overseas)}): "
                "supply a road network (--network FILE, an OpenStreetMap extract, or --osm-download)")
    return None


def build_network(area: StudyArea, out: Path, log: Callable[[str], None] = print, *, network=None,
                  osm_download: bool = False, enabled: bool = True) -> dict:
    """The network step of a study build: Travel Mapping by default, an OSM file (``network``) or an osmnx download
    (``osm_download``) clipped to the study. Returns the manifest's ``network`` entry, with ``file`` (relative
    path) or ``file`` None and ``reason`` when no network was built."""
    if not enabled:
        log("network: not built (communes and sites only)")
        return {"source": None, "file": None, "reason": "not built (communes and sites only)"}
    if network is not None or osm_download:
        from fsgeo.build_data import osm

        return osm.build(area, out, log, path=network, download=osm_download)
    reason = no_network_reason(area)
    if reason is not None:
        log(f"network: NOT BUILT: {reason}")
        return {"source": None, "file": None, "reason": reason}
    nodes, _, info = build(area, out, log)
    info["file"] = f"network/{area.slug}.gpkg"
    info["islands_without_roads"] = islands_without_roads(area, out, nodes, log)
    return info


ISLAND_REASON = "on an island without roads in the network"


def islands_without_roads(area: StudyArea, out: Path, nodes: gpd.GeoDataFrame, log) -> list[str]:
    """Codes of the study's communes whose demand point lies on a landmass (an island) where the network has no
    node: they cannot be routed, and the manifest lists them (``network.islands_without_roads``) with that reason."""
    path = Path(out) / "communes" / "communes.geojson"
    if not path.is_file():
        return []
    parts = landmasses(area)
    if len(parts) < 2:
        return []
    communes = gpd.read_file(path)
    pts = gpd.GeoSeries(shapely.points(communes["point_lon"], communes["point_lat"]), crs=STORAGE_CRS)
    pts = pts.to_crs(area.metric_crs).values
    node_xy = nodes.geometry.to_crs(area.metric_crs).values
    tree = shapely.STRtree(parts)
    _, with_roads = tree.query(node_xy, predicate="dwithin", distance=LANDMASS_TOLERANCE_M)
    roads = set(with_roads.tolist())
    ipt, ipart = tree.query(pts, predicate="dwithin", distance=LANDMASS_TOLERANCE_M)
    on_land = defaultdict(set)
    for i, j in zip(ipt.tolist(), ipart.tolist()):
        on_land[i].add(j)
    codes = sorted(str(communes["code"].iat[i]) for i, js in on_land.items() if not js & roads)
    for code in codes:
        name = communes.loc[communes["code"] == code, "name"].iat[0]
        log(f"network: commune {code} ({name}) is {ISLAND_REASON}: it will be reported unreachable")
    return codes
