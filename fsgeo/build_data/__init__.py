"""Build a study (any département, or several) from the raw public sources.

    python -m fsgeo.build_data --departement 25 --raw ../shared/data/raw --out /tmp/doubs
    python -m fsgeo.build_data --departement 70 --out data          # the embedded study

Deterministic: the same inputs give byte-identical outputs. Each step prints what it did (counts, merges, anything it
had to drop and why) through the ``log`` callable it is given. The set of départements is a parameter of every step
(:class:`StudyArea`); nothing is specific to one of them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

SITE_MARGIN_M = 25_000.0      # sites of any département kept when within this distance of the study area
NETWORK_MARGIN_M = 30_000.0   # network clipped to the study area plus this margin (wider than the sites' one)
NEIGHBOUR_COMMUNES_MARGIN_M = NETWORK_MARGIN_M  # outside demand: neighbouring communes within the network's margin
#: two départements are neighbours when their france-geojson outlines are within this distance (they share a
#: boundary; the outlines of ``departements.geojson`` touch exactly, 68 is 1.4 km from 70 and is not a neighbour)
NEIGHBOUR_TOLERANCE_M = 100.0
#: CRS of the files written. Fixed here rather than read from ``fsgeo.settings``, which a session may change: the
#: build must give the same bytes whatever the session.
STORAGE_CRS = "EPSG:4326"
#: metric CRS (distances, buffers, areas) of metropolitan France: Lambert-93
METRO_METRIC_CRS = "EPSG:2154"
#: the former name (``fsgeo.build_data.demand`` uses it); a study's own metric CRS is ``StudyArea.metric_crs``
METRIC_CRS = METRO_METRIC_CRS
#: metric CRS of the overseas départements (their official projected CRS, UTM zones of the local datums); measuring
#: them in Lambert-93 is wrong (La Réunion: 8,861 km² instead of ~2,500)
OVERSEAS_METRIC_CRS = {
    "971": "EPSG:5490",  # Guadeloupe: RGAF09 / UTM zone 20N
    "972": "EPSG:5490",  # Martinique: RGAF09 / UTM zone 20N
    "973": "EPSG:2972",  # Guyane: RGFG95 / UTM zone 22N
    "974": "EPSG:2975",  # La Réunion: RGR92 / UTM zone 40S
    "976": "EPSG:4471",  # Mayotte: RGM04 / UTM zone 38S
}


def normalise_code(code) -> str:
    """INSEE département code as the sources write it: ``"1"`` -> ``"01"``, ``"2a"`` -> ``"2A"``."""
    text = str(code).strip().upper()
    if text.isdigit() and len(text) == 1:
        text = text.zfill(2)
    if not re.fullmatch(r"\d\d|2[AB]|97[12346]", text):
        raise ValueError(f"{code!r} is not a département code (01-95, 2A, 2B, 971-976)")
    return text


def metric_crs_of(code: str) -> str:
    """Metric CRS of a département: Lambert-93 in metropolitan France, the local UTM zone overseas."""
    return OVERSEAS_METRIC_CRS.get(code, METRO_METRIC_CRS)


def slugify(text: str) -> str:
    """File-name friendly form: ``"Haute-Saône"`` -> ``"haute-saone"``."""
    text = text.replace("’", "-").replace("'", "-")  # Côtes-d’Armor -> cotes-d-armor
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def departement_file(raw: Path, code: str, pattern: str) -> Path:
    """The file of ``france-geojson/departements/<code>-*/`` matching the glob ``pattern``; FileNotFoundError naming
    the folder when there is none."""
    parent = Path(raw) / "france-geojson" / "departements"
    folder = next(parent.glob(f"{code}-*"), None)
    if folder is None:
        raise FileNotFoundError(f"{parent}: no folder for département {code}")
    path = next(folder.glob(pattern), None)
    if path is None:
        raise FileNotFoundError(f"{folder}: no {pattern}")
    return path


def raw_departement_outline(raw: Path, codes) -> gpd.GeoDataFrame:
    """Outlines of départements from ``france-geojson`` (EPSG:4326), one row per code, in the given order."""
    frames = []
    for code in [codes] if isinstance(codes, str) else codes:
        gdf = gpd.read_file(departement_file(raw, code, "departement-*.geojson"))
        gdf = gdf.set_crs(STORAGE_CRS) if gdf.crs is None else gdf.to_crs(STORAGE_CRS)
        frames.append(gdf)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=STORAGE_CRS)


_CACHE: dict = {}


def cached(path: Path, read):
    """``read(path)`` remembered for the session by (path, size, mtime): a sweep of many builds reads each raw file
    once. Callers must not modify the result (copy it)."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, read)
    if key not in _CACHE:
        _CACHE[key] = read(path)
    return _CACHE[key]


def read_departements(raw: Path, crs: str = METRO_METRIC_CRS) -> gpd.GeoDataFrame:
    """france-geojson ``departements.geojson`` (the 96 metropolitan outlines), ``code`` as text, in ``crs``."""
    def read(path):
        gdf = gpd.read_file(path)
        gdf["code"] = gdf["code"].astype(str)
        return gdf

    return cached(Path(raw) / "france-geojson" / "departements.geojson", read).to_crs(crs)


def departement_names(raw: Path) -> dict[str, str]:
    """``{code: name}`` of every département, from ``etalab/departements.json``."""
    path = Path(raw) / "etalab" / "departements.json"
    return {r["code"]: r["nom"] for r in json.loads(path.read_text(encoding="utf-8"))}


@dataclass
class StudyArea:
    """What a build is about: the départements studied and everything derived from them.

    Built by :meth:`from_raw`; every build step takes one. ``neighbours`` are the départements sharing a boundary
    with the study (derived from the outlines, never a table).
    """

    raw: Path
    codes: tuple[str, ...]
    name: str
    slug: str
    neighbours: tuple[str, ...] = ()
    #: other départements within the network margin (their roads are in the clipped network, their sites may be
    #: within the sites' margin), e.g. 68 for 70
    nearby: tuple[str, ...] = ()
    site_margin_m: float = SITE_MARGIN_M
    network_margin_m: float = NETWORK_MARGIN_M
    neighbour_communes_margin_m: float = NEIGHBOUR_COMMUNES_MARGIN_M
    _outline: object = field(default=None, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw, codes, log: Callable[[str], None] = print, name: str | None = None,
                 slug: str | None = None) -> "StudyArea":
        """Plan the study of ``codes`` (a code, a comma list or a sequence) from the raw sources in ``raw``."""
        raw = Path(raw)
        if not raw.is_dir():
            raise FileNotFoundError(f"raw data folder not found: {raw}")
        if isinstance(codes, str):
            codes = codes.split(",")
        codes = tuple(dict.fromkeys(normalise_code(c) for c in codes if str(c).strip()))
        if not codes:
            raise ValueError("no département given")
        names = departement_names(raw)
        unknown = [c for c in codes if c not in names]
        if unknown:
            raise ValueError(f"{raw / 'etalab' / 'departements.json'}: unknown département(s) {', '.join(unknown)}")
        name = name or ", ".join(names[c] for c in codes)
        area = cls(raw, codes, name, slug or slugify(name))
        area.neighbours, area.nearby = area._derive_neighbours(log)
        return area

    @property
    def metric_crs(self) -> str:
        """The study's metric CRS (the one recorded in ``study.json``): that of its départements, Lambert-93 when
        they mix metropolitan and overseas ones (each commune's area is still measured in its own CRS)."""
        crs = {metric_crs_of(c) for c in self.codes}
        return crs.pop() if len(crs) == 1 else METRO_METRIC_CRS

    def outline(self) -> gpd.GeoDataFrame:
        """france-geojson outlines of the studied départements (EPSG:4326), one row each."""
        if self._outline is None:
            self._outline = raw_departement_outline(self.raw, self.codes)
        return self._outline

    def outline_metric(self):
        """Union of the studied départements' outlines, a shapely geometry in :attr:`metric_crs`."""
        return self.outline().to_crs(self.metric_crs).union_all()

    def _derive_neighbours(self, log) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Départements whose outline comes within :data:`NEIGHBOUR_TOLERANCE_M` of the study's (neighbours), and
        the other ones within the network margin (nearby)."""
        path = self.raw / "france-geojson" / "departements.geojson"
        if all(c in OVERSEAS_METRIC_CRS for c in self.codes):
            log(f"study: {self.name}: overseas, no neighbouring département")
            return (), ()
        deps = read_departements(self.raw)
        mine = shapely.union_all(deps.geometry[deps["code"].isin(self.codes)].values)
        dist = np.asarray(shapely.distance(mine, deps.geometry.values), dtype=float)
        others = sorted((c, d) for c, d in zip(deps["code"], dist) if c not in self.codes)
        found = tuple(c for c, d in others if d <= NEIGHBOUR_TOLERANCE_M)
        nearby = tuple(c for c, d in others if NEIGHBOUR_TOLERANCE_M < d <= self.network_margin_m)
        log(f"study: {self.name} ({', '.join(self.codes)}): neighbours {', '.join(found) or 'none'} "
            f"(outlines within {NEIGHBOUR_TOLERANCE_M:g} m, {path.name})"
            + "".join(f"; {c} is {d / 1000:.1f} km away, within the network margin (not a neighbour)"
                      for c, d in others if c in nearby))
        return found, nearby


def build_all(raw: Path, out: Path, log: Callable[[str], None] = print, departements=("70",), *,
              name: str | None = None, slug: str | None = None, network: str | Path | None = None,
              osm_download: bool = False, study_network: bool = True, demand_points: str | Path | None = None,
              demand_method: str = "road-junction", demand_parts: str = "area",
              demand_split_population: int | None = None):
    """Build a whole study into ``out``: communes and outline, neighbouring communes, sites, network, ``study.json``.

    Parameters
    ----------
    raw : Path
        Raw sources folder (see ``SOURCES.md``).
    out : Path
        Study folder to write (created).
    log : callable
        Receives one human-readable line per step.
    departements : str or sequence of str
        Département code(s): ``"25"``, ``"70,90,25"`` or ``["2A", "2B"]`` (one study of them all).
    name, slug : str, optional
        Study name and file-name slug (default: the départements' names).
    network : path, optional
        An OpenStreetMap network (.osm.pbf, .osm, .graphml) to clip to the study instead of Travel Mapping.
    osm_download : bool
        Download the OpenStreetMap drive network of the study area through osmnx (cached).
    study_network : bool
        False: build communes and sites only (no network; ``files.network`` is null in the manifest).
    demand_points : path, optional
        The user's demand points (CSV: ``code``, ``lon``, ``lat``, ``source``, optionally ``population`` /
        ``weight``; :mod:`fsgeo.build_data.demand`), kept exactly as given: one per commune, several per commune
        (weighted demand parts) or one per arrondissement municipal (75101...); the other communes get the
        road-junction heuristic, and Paris, Lyon, Marseille its demand parts (``communes/demand_parts.geojson``).
    demand_method : {"road-junction", "pole"}
        The rule for communes the file does not give: the road-junction village centre (default) or the polygon's
        pole of inaccessibility. ``study.json`` records which (``demand``), with every commune moved over 2 km.
    demand_parts : {"area", "junctions", "none"}
        The demand parts of a commune with arrondissements municipaux that the file does not give: k-means on a grid
        over its area (default), on its local-road junctions, or none (one point).
    demand_split_population : int, optional
        Also split every other commune of more than this many inhabitants into ceil(population / N) parts by the
        same rule (default: None, only the communes with arrondissements). ``study.json`` records it.

    Returns
    -------
    fsgeo.study.StudyManifest
        The manifest written to ``out/study.json``.
    """
    from fsgeo.build_data import communes, demand, manifest, neighbours, network as network_step, sites

    out = Path(out)
    if demand_method not in demand.METHODS:
        raise ValueError(f"demand point method {demand_method!r}: expected one of {', '.join(demand.METHODS)}")
    demand.check_parts_basis(demand_parts)
    if demand_split_population is not None and not demand_split_population > 0:
        raise ValueError(f"demand split population {demand_split_population!r}: expected a number of inhabitants > 0")
    # a bad file fails before anything is built
    user = demand.read_demand_points(demand_points, demand.arrondissements(raw)) if demand_points is not None else None
    area = StudyArea.from_raw(raw, departements, log, name=name, slug=slug)
    out.mkdir(parents=True, exist_ok=True)
    communes.build(area, out, log)
    neighbours.build(area, out, log)  # after communes: adds its entry to their manifest
    sites.build(area, out, log)
    net_info = network_step.build_network(area, out, log, network=network, osm_download=osm_download,
                                          enabled=study_network)
    net_file = out / net_info["file"] if net_info.get("file") else None
    demand_info = demand.apply_to_study(out, net_file, log, demand_points=demand_points if user is not None else None,
                                        metric_crs=area.metric_crs, method=demand_method, raw=area.raw,
                                        parts_basis=demand_parts, split_population=demand_split_population)
    return manifest.write_study(area, out, net_info, log, demand=demand_info)
