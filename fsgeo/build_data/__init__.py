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


def raw_departement_outline(raw: Path, code: str = DEPARTEMENT) -> gpd.GeoDataFrame:
    """Outline of a département from ``france-geojson`` (EPSG:4326), one row."""
    folder = next((raw / "france-geojson" / "departements").glob(f"{code}-*"), None)
    if folder is None:
        raise FileNotFoundError(f"{raw / 'france-geojson' / 'departements'}: no folder for département {code}")
    path = next(folder.glob("departement-*.geojson"))
    gdf = gpd.read_file(path)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    return gdf.to_crs("EPSG:4326")


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
