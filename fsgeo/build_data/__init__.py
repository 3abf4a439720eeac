"""Rebuild the embedded ``data/`` folder from the raw public sources.

    python -m fsgeo.build_data --raw ../shared/data/raw --out data

Deterministic: the same inputs give byte-identical outputs. Each step prints what it did (counts, merges, anything it
had to drop and why) through the ``log`` callable it is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import geopandas as gpd

DEPARTEMENT = "70"
NEIGHBOURS = ("21", "25", "39", "52", "88", "90")
SITE_MARGIN_M = 25_000.0      # neighbouring sites kept when within this distance of the département boundary
NETWORK_MARGIN_M = 30_000.0   # network clipped to the département plus this margin (wider than the sites' one)
#: CRS of the files written; metric CRS (Lambert-93) of every distance, buffer and area. Fixed here rather than read
#: from ``fsgeo.settings``, which a session may change: the build must give the same bytes whatever the session.
STORAGE_CRS = "EPSG:4326"
METRIC_CRS = "EPSG:2154"


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


def raw_departement_outline(raw: Path, code: str = DEPARTEMENT) -> gpd.GeoDataFrame:
    """Outline of a département from ``france-geojson`` (EPSG:4326), one row."""
    gdf = gpd.read_file(departement_file(raw, code, "departement-*.geojson"))
    if gdf.crs is None:
        gdf = gdf.set_crs(STORAGE_CRS)
    return gdf.to_crs(STORAGE_CRS)


def build_all(raw: Path, out: Path, log: Callable[[str], None] = print) -> None:
    """Run every build step: communes and outline, neighbouring communes, sites, network."""
    from fsgeo.build_data import communes, neighbours, network, sites

    raw, out = Path(raw), Path(out)
    if not raw.is_dir():
        raise FileNotFoundError(f"raw data folder not found: {raw}")
    out.mkdir(parents=True, exist_ok=True)
    communes.build(raw, out, log)
    neighbours.build(raw, out, log)  # after communes: adds its entry to their manifest
    sites.build(raw, out, log)
    network.build(raw, out, log)
