"""The study manifest (``study.json``) a build writes, through :class:`fsgeo.study.StudyManifest`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from fsgeo import __version__
from fsgeo.build_data import STORAGE_CRS, StudyArea
from fsgeo.sources import source_entries
from fsgeo.study import StudyManifest

#: Travel Mapping archive version (``SOURCES.md``): HighwayData commit and its date
TRAVELMAPPING_COMMIT = "3d7993c9cb60"


def write_study(area: StudyArea, out: Path, network: dict, log: Callable[[str], None] = print,
                demand: dict | None = None) -> StudyManifest:
    """Write ``out/study.json`` for a built study; ``network`` is the network step's entry (its ``file`` key, a
    path relative to ``out`` or None, goes to ``files.network``)."""
    out = Path(out)
    network = dict(network)
    net_file = network.pop("file", None)
    ids = ["anct", "etalab", "france-geojson"]
    if network.get("source") == "travelmapping":
        ids.append("travelmapping")
        network.setdefault("commit", TRAVELMAPPING_COMMIT)
        network.setdefault("date", "2026-08-22")
    sources = source_entries(ids)
    if network.get("source") in ("osm-file", "osm-download"):
        sources.append(network.pop("source_entry"))
    parts_file = ((demand or {}).get("parts") or {}).get("file")
    neighbours_file = "communes/neighbours.geojson" if (out / "communes" / "neighbours.geojson").is_file() else None
    manifest = StudyManifest(
        name=area.name, slug=area.slug, codes=list(area.codes), neighbours=list(area.neighbours),
        margins_m={"sites": area.site_margin_m, "network": area.network_margin_m,
                   "neighbour_communes": area.neighbour_communes_margin_m},
        crs={"storage": STORAGE_CRS, "metric": area.metric_crs},
        files={"sites": "sites.geojson", "communes": "communes/communes.geojson",
               "neighbour_communes": neighbours_file, "outline": "communes/outline.geojson", "network": net_file,
               # listed only when the study has demand parts: studies without any keep their study.json unchanged
               **({"demand_parts": parts_file} if parts_file else {})},
        network=network, sources=sources, demand=dict(demand or {}), fsgeo_version=__version__)
    path = manifest.write(out)
    if net_file is None:
        log(f"study: {path}: no road network ({network.get('reason')}); files.network is null")
    log(f"study: wrote {path} ({area.name}: {', '.join(area.codes)})")
    return manifest
