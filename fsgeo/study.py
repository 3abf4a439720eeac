"""A study: the folder that holds one study area's data and its manifest ``study.json``.

A study is one département (``codes=["70"]``), several, or all of France. Its folder holds the sites, the communes,
the neighbouring communes (outside demand), the outline and the road network, plus ``study.json``, which says what
they are and where they come from. ``data/`` in the repository is the embedded study of Haute-Saône (70);
``python -m fsgeo.build_data --departement NN --out DIR`` builds any other.

This module owns the manifest only (read, validate, write); :func:`fsgeo.datasets.load_study` loads the data it
points to.

``study.json`` keys (every path is relative to the study folder)::

    {
      "format": 1,                              # manifest format version
      "fsgeo_version": "0.1.0",                 # fsgeo that built the study
      "name": "Haute-Saône",                    # shown in reports and maps
      "slug": "haute-saone",                    # file-name friendly name
      "codes": ["70"],                          # départements of the study ("france" studies list them all)
      "neighbours": ["21", "25", ...],          # départements whose communes are the outside demand
      "margins_m": {"sites": 25000, "network": 30000, "neighbour_communes": 30000},
      "crs": {"storage": "EPSG:4326", "metric": "EPSG:2154"},
      "files": {"sites": "sites.geojson", "communes": "communes/communes.geojson",
                "neighbour_communes": "communes/neighbours.geojson", "outline": "communes/outline.geojson",
                "network": "network/haute-saone.gpkg",    # "network": null when none could be built (overseas)
                "demand_parts": "communes/demand_parts.geojson"},  # only when a commune has demand parts
      "network": {"source": "travelmapping" | "osm-file" | "osm-download" | null, ...details...},
      "sources": [{"id": "anct", "title": "...", "file": "anct/liste-fs-20240801.csv", "date": "2024-08-01",
                   "licence": "...", "url": "..."}, ...],
      "demand": {"method": "road junction" | "pole of inaccessibility", "parameters": {...},
                 "file": null | {"name", "sha256", "rows", "sources"},   # --demand-points FILE
                 "points": {"road junction": 530, "user": 0, ...}, "moved_over_m": 2000,
                 "moved": {"70xxx": 5123, ...},          # communes moved more than 2 km, metres, largest first
                 "parts": {"file", "method", "rule", "communes": 3, "parts": 45,   # only with demand parts
                           "by_commune": {"75056": {"parts": 20, "population": 2103778, "source": ...}}}}
    }
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fsgeo.errors import InputError

__all__ = ["MANIFEST_NAME", "FORMAT_VERSION", "FILE_KEYS", "StudyManifest", "read_manifest", "find_study"]

MANIFEST_NAME = "study.json"
FORMAT_VERSION = 1
#: the data files a study may hold; "network" may be null (no road network could be built: supply one)
#: "demand_parts" is listed only by studies with demand parts (a commune with several weighted demand points)
FILE_KEYS = ("sites", "communes", "neighbour_communes", "outline", "network", "demand_parts")
_REQUIRED_FILES = ("sites", "communes", "outline")


@dataclass
class StudyManifest:
    """The contents of ``study.json`` (see the module docstring), plus the folder it was read from (``root``)."""

    name: str
    codes: list[str]
    files: dict[str, str | None]
    slug: str = ""
    neighbours: list[str] = field(default_factory=list)
    margins_m: dict[str, float] = field(default_factory=dict)
    crs: dict[str, str] = field(default_factory=lambda: {"storage": "EPSG:4326", "metric": "EPSG:2154"})
    network: dict = field(default_factory=dict)
    sources: list[dict] = field(default_factory=list)
    #: which demand points the communes use (``fsgeo.build_data.demand.summary``): method and parameters, the user's
    #: file if any, counts per point source, communes moved more than 2 km; empty in studies built before it
    demand: dict = field(default_factory=dict)
    fsgeo_version: str = ""
    format: int = FORMAT_VERSION
    root: Path | None = field(default=None, compare=False, repr=False)

    # --- paths --------------------------------------------------------------------------------------------------
    def path(self, key: str) -> Path | None:
        """Absolute path of the file ``key`` (one of :data:`FILE_KEYS`), or None when the study has none."""
        if key not in FILE_KEYS:
            raise KeyError(f"unknown study file {key!r}: expected one of {', '.join(FILE_KEYS)}")
        rel = self.files.get(key)
        if rel is None:
            return None
        return (self.root or Path(".")) / rel

    @property
    def metric_crs(self) -> str:
        """Metric CRS of the study (Lambert-93 in metropolitan France, the local UTM/RGAF zone overseas)."""
        return self.crs.get("metric", "EPSG:2154")

    @property
    def label(self) -> str:
        """``"Haute-Saône (70)"``: name and codes, for reports and maps."""
        codes = ", ".join(self.codes)
        return self.name if len(self.codes) > 3 or not codes or codes in self.name else f"{self.name} ({codes})"

    # --- I/O ----------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("root")
        return data

    def to_json(self) -> str:
        """The manifest as written: sorted keys, 2-space indent, UTF-8 (non-ASCII kept), final newline."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    def write(self, folder) -> Path:
        """Write ``folder/study.json`` atomically; returns its path."""
        from fsgeo.atomic import write_text

        folder = Path(folder)
        path = write_text(folder / MANIFEST_NAME, self.to_json())
        self.root = folder
        return path

    @classmethod
    def read(cls, folder) -> "StudyManifest":
        """Read and validate ``folder/study.json`` (or the file itself); :class:`InputError` naming the file and
        the key otherwise."""
        path = Path(folder)
        if path.is_dir():
            path = path / MANIFEST_NAME
        if not path.exists():
            raise InputError(f"{path}: no study manifest ({MANIFEST_NAME}); build a study with "
                             "'fsgeo build --departement NN --out DIR'")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a valid JSON manifest ({exc})") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: the manifest must be a JSON object")
        for key in ("name", "codes", "files"):
            if key not in data:
                raise InputError(f"{path}: missing key {key!r}")
        if data.get("format", FORMAT_VERSION) > FORMAT_VERSION:
            raise InputError(f"{path}: manifest format {data['format']} is newer than this fsgeo understands "
                             f"({FORMAT_VERSION}); upgrade fsgeo")
        if not isinstance(data["codes"], list) or not all(isinstance(c, str) and c for c in data["codes"]):
            raise InputError(f"{path}: 'codes' must be a list of département codes as strings, e.g. [\"70\"]")
        files = data["files"]
        if not isinstance(files, dict):
            raise InputError(f"{path}: 'files' must be an object mapping {', '.join(FILE_KEYS)} to paths")
        unknown = sorted(set(files) - set(FILE_KEYS))
        if unknown:
            raise InputError(f"{path}: 'files' has unknown key(s) {unknown}: expected {', '.join(FILE_KEYS)}")
        for key in _REQUIRED_FILES:
            if not files.get(key):
                raise InputError(f"{path}: 'files' lacks {key!r}")
        known = {f for f in cls.__dataclass_fields__ if f != "root"}
        manifest = cls(**{k: v for k, v in data.items() if k in known})
        manifest.root = path.parent
        for key in FILE_KEYS:
            p = manifest.path(key)
            if p is not None and not p.exists():
                raise InputError(f"{path}: files.{key} = {files[key]!r}: {p} does not exist")
        return manifest


def read_manifest(folder) -> StudyManifest:
    """:meth:`StudyManifest.read`."""
    return StudyManifest.read(folder)


def find_study(path=None) -> Path:
    """The study folder to use: ``path``, else ``$FSGEO_STUDY``, else the embedded study (``data/``)."""
    if path is not None:
        return Path(path)
    env = os.environ.get("FSGEO_STUDY")
    if env:
        return Path(env)
    from fsgeo.settings import settings

    return Path(settings.data_dir)
