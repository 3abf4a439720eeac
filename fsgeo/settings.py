"""Package-wide settings: one object instead of constants scattered across modules.

Change a value for the whole session with ``fsgeo.settings.threshold_min = 30``; functions read the settings at call
time whenever their own argument is left to ``None``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _default_data_dir() -> Path:
    env = os.environ.get("FSGEO_DATA_DIR")
    if env:
        return Path(env)
    # the repository's data/ folder, next to the package (editable install, the supported layout)
    return Path(__file__).resolve().parent.parent / "data"


@dataclass
class Settings:
    #: folder of the embedded study (``study.json``, ``sites.geojson``, ``communes/``, ``network/``); the metric CRS
    #: and the départements studied belong to a study (``fsgeo.datasets.load_study``), not to the settings
    data_dir: Path = field(default_factory=_default_data_dir)
    #: CRS of stored data and public outputs
    crs: str = "EPSG:4326"
    #: under-served threshold, minutes (the national commitment is 30; Haute-Saône aims finer)
    threshold_min: float = 20.0
    #: national France services commitment, minutes
    commitment_min: float = 30.0
    #: catchment bands, minutes
    bands_min: tuple[float, ...] = (10.0, 20.0, 30.0)
    #: summary bands for access-time shares, minutes
    summary_bands_min: tuple[float, ...] = (10.0, 15.0, 20.0, 30.0, 45.0)
    #: cache folder for OSM downloads (osmnx HTTP cache and saved graphs)
    cache_dir: Path = field(default_factory=lambda: Path(os.environ.get("FSGEO_CACHE_DIR", Path.home() / ".cache" / "fsgeo")))

    @property
    def sites_path(self) -> Path:
        return self.data_dir / "sites.geojson"

    @property
    def communes_path(self) -> Path:
        return self.data_dir / "communes" / "communes.geojson"

    @property
    def neighbour_communes_path(self) -> Path:
        return self.data_dir / "communes" / "neighbours.geojson"

    @property
    def outline_path(self) -> Path:
        return self.data_dir / "communes" / "outline.geojson"

    @property
    def network_path(self) -> Path:
        return self.data_dir / "network" / "haute-saone.gpkg"


settings = Settings()
