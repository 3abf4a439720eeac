"""Reader for Travel Mapping (TM) highway data, straight from the ``HighwayData`` archive (no extraction).

Files used (https://github.com/TravelMapping/HighwayData):

- ``systems.csv``: ``System;CountryCode;Name;Color;Tier;Level`` (semicolon separated); lines starting with ``#`` are
  systems not in the project (commented out); ``Level`` is ``active``, ``preview`` or ``devel``.
- ``hwy_data/_systems/<system>.csv``: one route (file) per line:
  ``system;region;route;banner;abbreviation;city;fileNameRoot;altRouteNames``.
- ``hwy_data/<region>/<system>/<fileNameRoot>.wpt``: one waypoint per line,
  ``LABEL [ALT_LABELS...] http://www.openstreetmap.org/?lat=..&lon=..``. Labels starting with ``+`` are hidden
  shaping points; alternative labels starting with ``*`` are deprecated ones kept for users' lists.
"""

from __future__ import annotations

import csv
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class TravelMappingError(ValueError):
    """Malformed Travel Mapping file: the message names the file, the line and the problem."""


@dataclass(frozen=True)
class Waypoint:
    label: str
    alt_labels: tuple[str, ...]
    lon: float  # degrees, WGS84
    lat: float  # degrees, WGS84

    @property
    def hidden(self) -> bool:
        """Hidden shaping point (label ``+...``): shapes the line, not meant as a junction."""
        return self.label.startswith("+")


@dataclass
class Route:
    system: str
    region: str
    route: str
    banner: str
    abbreviation: str
    city: str
    root: str
    waypoints: list[Waypoint] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """Road reference as signposted, banner included (``A36``, ``D1-70``)."""
        return f"{self.route}{self.banner}"

    @property
    def path(self) -> str:
        return f"hwy_data/{self.region}/{self.system}/{self.root}.wpt"


@dataclass(frozen=True)
class System:
    system: str
    country: str
    name: str
    tier: int
    level: str  # active | preview | devel


def parse_wpt(text: str, source: str = "<wpt>") -> list[Waypoint]:
    """Parse the text of a ``.wpt`` file into waypoints (blank lines skipped).

    Raises
    ------
    TravelMappingError
        A line without a URL, or whose URL lacks a valid ``lat``/``lon`` (message names ``source`` and the line).
    """
    points = []
    for n, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or "?" not in fields[-1]:
            raise TravelMappingError(f"{source}:{n}: expected 'LABEL [ALT...] URL', got {line!r}")
        query = parse_qs(urlsplit(fields[-1]).query)
        try:
            lat, lon = float(query["lat"][0]), float(query["lon"][0])
        except (KeyError, ValueError, IndexError):
            raise TravelMappingError(f"{source}:{n}: no valid lat/lon in URL {fields[-1]!r}") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise TravelMappingError(f"{source}:{n}: coordinates out of range (lat {lat}, lon {lon})")
        points.append(Waypoint(fields[0], tuple(fields[1:-1]), lon, lat))
    return points


class HighwayData:
    """A HighwayData ``.tar.gz`` archive read in one sequential pass into memory (nothing extracted to disk).

    Random access into a gzip stream re-decompresses from the start at every seek, so the members (plain text,
    a few tens of MB) are all read once, in archive order.
    """

    #: archives already read in this session, by (path, size, mtime): a sweep of many builds reads each once
    _CACHE: dict = {}

    def __init__(self, path: Path):
        self.path = Path(path)
        stat = self.path.stat()
        key = (str(self.path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in self._CACHE:
            files: dict[str, bytes] = {}
            with tarfile.open(self.path, "r:*") as tar:
                for member in tar:
                    if member.isfile():
                        files[member.name.removeprefix("./")] = tar.extractfile(member).read()
            # route lists name some files in another case than the archive stores them (``frapdl.d0025A85.wpt``
            # listed, ``frapdl.d0025a85.wpt`` stored): names are looked up case-insensitively when the exact one is
            # absent
            folded: dict[str, str] = {}
            for name in sorted(files):
                folded.setdefault(name.casefold(), name)
            self._CACHE.clear()  # one archive at a time
            self._CACHE[key] = (files, folded, {})
        self._files, self._folded, self._parsed = self._CACHE[key]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Nothing to release: the archive's contents stay cached for the session (see ``_CACHE``)."""

    def read_text(self, name: str) -> str:
        """Text of the member ``name`` (exact name first, else the one equal to it ignoring case)."""
        data = self._files.get(name)
        if data is None:
            data = self._files.get(self._folded.get(name.casefold(), ""))
        if data is None:
            raise FileNotFoundError(f"{self.path}: no member {name}")
        return data.decode("utf-8-sig")

    def has(self, name: str) -> bool:
        """Whether the archive holds ``name`` (ignoring case)."""
        return name in self._files or name.casefold() in self._folded

    def _csv(self, name: str) -> list[list[str]]:
        text = self.read_text(name)
        return [row for row in csv.reader(io.StringIO(text), delimiter=";") if row and not row[0].startswith("#")]

    def systems(self) -> dict[str, System]:
        """Systems of ``systems.csv`` (commented-out ones excluded), by name."""
        out = {}
        for row in self._csv("systems.csv")[1:]:
            if len(row) < 6:
                continue
            out[row[0]] = System(row[0], row[1], row[2], int(row[4]), row[5].strip())
        return out

    def route_list(self, system: str, region_prefix: str | None = None) -> list[Route]:
        """Routes of ``system`` as listed in ``_systems/<system>.csv``, without their waypoints (not read)."""
        name = f"hwy_data/_systems/{system}.csv"
        routes = []
        for n, row in enumerate(self._csv(name)[1:], start=2):
            if len(row) < 7:
                raise TravelMappingError(f"{self.path}:{name}:{n}: expected 8 fields, got {row!r}")
            if row[0] != system:
                raise TravelMappingError(f"{self.path}:{name}:{n}: route of system {row[0]!r}, expected {system!r}")
            r = Route(*row[:7])
            if region_prefix is None or r.region.startswith(region_prefix):
                routes.append(r)
        return routes

    def middle_point(self, route: Route) -> tuple[float, float] | None:
        """(lon, lat) of the middle waypoint of a route file (only that line is parsed), None when it is absent."""
        if not self.has(route.path):
            return None
        lines = [ln for ln in self.read_text(route.path).splitlines() if ln.strip()]
        if not lines:
            return None
        w = parse_wpt(lines[len(lines) // 2], f"{self.path}:{route.path}")[0]
        return w.lon, w.lat

    def routes(self, system: str, region_prefix: str | None = None) -> list[Route]:
        """Route files of ``system`` with their waypoints, in the order of ``_systems/<system>.csv``.

        ``region_prefix`` keeps only the routes of matching regions (``"FRA"`` for the French part of a
        multi-country system such as ``eure``, whose other countries' files an extract may not carry).
        """
        key = (system, region_prefix)
        if key not in self._parsed:
            routes = self.route_list(system, region_prefix)
            for r in routes:
                r.waypoints = parse_wpt(self.read_text(r.path), f"{self.path}:{r.path}")
                if len(r.waypoints) < 2:
                    raise TravelMappingError(f"{self.path}:{r.path}: fewer than 2 waypoints")
            self._parsed[key] = routes
        return list(self._parsed[key])
