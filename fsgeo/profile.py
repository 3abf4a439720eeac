"""French car profile: driving speeds per road class, ``maxspeed`` parsing, circuity and snapping defaults.

Every travel time in fsgeo comes from one :class:`CarProfile`. Speeds are *typical driving* speeds (what a car averages
on such a road in rural and small-town France, junctions, village crossings and bends included), not legal limits.

OpenStreetMap edges (``highway`` tag)
    ``speed_kmh = min(typical speed of the highway class, maxspeed)`` when a ``maxspeed`` tag can be parsed, the typical
    speed alone otherwise. A ``maxspeed`` tag with several values separated by ``;`` or ``|`` (per lane, per direction,
    conditional) counts as its lowest value. osmnx's simplified edges may carry *lists* of ``highway`` / ``maxspeed``
    values (one per merged segment, unordered): the typical speed is then the mean over the listed classes and the
    limit the mean over the listed limits, like osmnx's own ``add_edge_speeds``.
Travel Mapping edges (``road_class``)
    the waypoint-to-waypoint lines are straight, so their length is multiplied by ``circuity`` (default 1.2) to
    estimate the road length; ``speed_kmh`` is the typical speed of the class.
Snapping
    a point joins each of its ``snap_nodes`` nearest network nodes (and the nearest one a local road serves, when
    those are all motorway interchanges) by a straight *access leg* of ``distance_m * snap_detour_factor`` metres
    driven at ``connector_speed_kmh``, and the route search picks the best; points farther than ``max_snap_m`` from
    any node are reported, never routed.
Direct legs
    two points at most ``direct_leg_max_m`` apart (or closer than the sum of their snap distances) may also be joined
    straight, at the access-leg pace, when that beats the network: the local roads the network leaves out.

Override anything with a profile object or a dict::

    CarProfile(connector_speed_kmh=20)
    resolve_profile({"highway_speeds_kmh": {"residential": 25}, "circuity": 1.3})   # dicts merge into the defaults
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CarProfile",
    "DEFAULT_HIGHWAY_SPEEDS_KMH",
    "DEFAULT_ROAD_CLASS_SPEEDS_KMH",
    "DEFAULT_MAXSPEED_ZONES_KMH",
    "parse_maxspeed",
    "resolve_profile",
    "load_profile",
]

#: Typical driving speeds per OSM ``highway`` class, km/h (France: 130 motorways, 80 two-lane rural roads, 50 in
#: built-up areas; averages below the limit account for junctions, bends and village crossings).
DEFAULT_HIGHWAY_SPEEDS_KMH: dict[str, float] = {
    "motorway": 115.0,
    "motorway_link": 60.0,
    "trunk": 90.0,
    "trunk_link": 50.0,
    "primary": 70.0,
    "primary_link": 45.0,
    "secondary": 60.0,
    "secondary_link": 40.0,
    "tertiary": 50.0,
    "tertiary_link": 35.0,
    "unclassified": 40.0,
    "road": 40.0,
    "residential": 30.0,
    "living_street": 15.0,
    "service": 20.0,
    "track": 15.0,
}

#: Typical driving speeds per Travel Mapping road class (the embedded network), km/h, applied to the road length
#: (straight waypoint length x circuity). ``motorway``: autoroutes; ``expressway``: named freeways / voies express;
#: ``trunk``: routes nationales (mostly two-lane with crossings in Haute-Saône); ``departementale``: routes
#: départementales; ``metropolitan``: metropolitan roads (urban).
DEFAULT_ROAD_CLASS_SPEEDS_KMH: dict[str, float] = {
    "motorway": 115.0,
    "expressway": 100.0,
    "trunk": 80.0,
    "departementale": 65.0,
    "metropolitan": 45.0,
}

#: Implicit ``maxspeed`` values (OSM "zone" tags), km/h. Keys are the part after the country code (``FR:urban`` ->
#: ``urban``); a country-specific key (``"FR:rural"``) takes precedence. ``walk`` is walking pace.
DEFAULT_MAXSPEED_ZONES_KMH: dict[str, float] = {
    "urban": 50.0,
    "rural": 80.0,
    "motorway": 130.0,
    "trunk": 110.0,
    "expressway": 110.0,
    "living_street": 20.0,
    "walk": 6.0,
    "FR:rural": 80.0,  # 80 km/h on two-lane rural roads since 1 July 2018
}

_MPH_TO_KMH = 1.609344
_KNOT_TO_KMH = 1.852
_NUMBER_RE = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)
_ZONE_RE = re.compile(r"^zone:?([0-9]+)$", re.IGNORECASE)
_NO_LIMIT = {"none", "signals", "variable", "unposted", "no", "implicit"}


def parse_maxspeed(value: Any, zones_kmh: Mapping[str, float] | None = None) -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value : str, int, float or None
        The tag value: ``"50"``, ``"50 km/h"``, ``"30 mph"``, ``"FR:urban"``, ``"FR:zone30"``, ``"FR:walk"``,
        ``"50;70"`` (several values: the lowest counts), a number, or missing (``None`` / NaN).
    zones_kmh : mapping, optional
        Implicit values, km/h, keyed by ``"CC:zone"`` or by the bare zone name (default
        :data:`DEFAULT_MAXSPEED_ZONES_KMH`).

    Returns
    -------
    float or None
        The speed limit in km/h, or ``None`` when the tag is missing, means "no limit" (``none``, ``signals``,
        ``variable``) or cannot be read.
    """
    zones = DEFAULT_MAXSPEED_ZONES_KMH if zones_kmh is None else zones_kmh
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        v = float(value)
        return v if math.isfinite(v) and v > 0 else None
    text = str(value).strip()
    if not text:
        return None
    parts = [p for p in re.split(r"[;|]", text) if p.strip()]
    if len(parts) > 1:
        values = [parse_maxspeed(p, zones) for p in parts]
        values = [v for v in values if v is not None]
        return min(values) if values else None
    m = _NUMBER_RE.match(text)
    if m:
        v = float(m.group(1).replace(",", "."))
        unit = (m.group(2) or "").lower()
        if unit == "mph":
            v *= _MPH_TO_KMH
        elif unit == "knots":
            v *= _KNOT_TO_KMH
        return v if v > 0 else None
    if text in zones:
        return float(zones[text])
    # "FR:urban", "DE:zone:30", "FR:zone30", "walk"
    country, sep, zone = text.partition(":")
    zone = zone if sep else country
    zone = zone.strip()
    if zone.lower() in _NO_LIMIT:
        return None
    zm = _ZONE_RE.match(zone.replace(" ", ""))
    if zm:
        return float(zm.group(1))
    if zone in zones:
        return float(zones[zone])
    if zone.lower() in zones:
        return float(zones[zone.lower()])
    return None


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _as_list(value: Any) -> list:
    if _is_missing(value):
        return []
    if isinstance(value, (list, tuple, set)):
        return [v for v in value if not _is_missing(v)]
    # GraphML round-trips store osmnx lists as their repr: "['primary', 'secondary']"
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        inner = [p.strip().strip("'\"") for p in value[1:-1].split(",")]
        return [p for p in inner if p]
    return [value]


@dataclass
class CarProfile:
    """Car speeds and routing approximations (all units in the names).

    Parameters
    ----------
    highway_speeds_kmh : dict
        Typical driving speed per OSM ``highway`` class, km/h (default :data:`DEFAULT_HIGHWAY_SPEEDS_KMH`).
    road_class_speeds_kmh : dict
        Typical driving speed per Travel Mapping road class, km/h (default :data:`DEFAULT_ROAD_CLASS_SPEEDS_KMH`).
    default_speed_kmh : float
        Speed of an OSM edge whose ``highway`` class is not in the table, km/h.
    maxspeed_zones_kmh : dict
        Implicit ``maxspeed`` values, km/h (``FR:urban`` 50, ``FR:rural`` 80, ``FR:motorway`` 130, ...).
    respect_maxspeed : bool
        Cap OSM speeds at the parsed ``maxspeed`` (``min(typical, limit)``).
    circuity : float
        Road length / straight length for Travel Mapping waypoint lines (dimensionless, >= 1; OSM edges follow the
        road geometry and are not scaled).
    snap_detour_factor : float
        Access-leg length / straight distance between a point and its snapped node (dimensionless, >= 1).
    connector_speed_kmh : float
        Speed on the access leg, km/h.
    max_snap_m : float
        Points farther than this from every node are reported ``too_far`` instead of routed, metres.
    snap_nodes : int
        A point joins the network at its ``snap_nodes`` nearest nodes within ``max_snap_m`` (default 4), each by its
        own access leg, and the shortest-path search picks the best; when none of them is served by a local road
        (only motorway carriageways meet there: an interchange), the nearest node that is joins them too. 1 gives the
        single nearest node
        (with ``snap_local_road``, see below). Why: the nearest node is often not the road people take
        (Champforgeuil, 71081, snapped to an A6 interchange and got 43.5 min to a site 3.9 km away).
    snap_local_road : bool
        Add the nearest local-road node (within ``max_snap_m``) to a point's links when its ``snap_nodes`` nearest
        are all motorway-only (default True). ``snap_nodes=1, snap_local_road=False`` is the nearest-node snapping
        fsgeo used before.
    direct_leg : bool
        Allow *direct legs*: an origin and a destination may be joined by a straight leg (same detour factor and
        connector speed as the access legs) instead of through the network, when that is faster. ``False`` turns
        every direct leg off (times are then exactly access leg + network path + access leg).
    direct_leg_max_m : float
        Straight distance up to which any two points may be joined by a direct leg, metres (default 3,000; 0 keeps
        only the same-gap rule below; used up to ``max_snap_m`` at most). The time of such a pair is
        ``min(network time, access_s(straight distance))``. Why: the embedded Travel Mapping network has classified
        roads only, while neighbouring villages are joined by the local grid of voies communales and minor
        départementales it leaves out, so two points a few hundred metres apart that snap to different roads (an N57
        interchange and the D14) would otherwise go round through the network (Saulx: 10 min to a site 888 m away,
        2.3 min by a direct leg). 3 km is the scale of that local grid in Haute-Saône: the median distance from a
        commune's point to its nearest neighbour's is 2.3 km, 90 % are within 3.2 km. Beyond that the classified
        network is the realistic route (a direct leg of 3 km already takes 7.8 min at 30 km/h x 1.3). Kept at most
        ``max_snap_m``: a straight off-network trip longer than any allowed access leg would not be credible.
        Whatever this radius, two points closer to each other than the sum of their snap distances (both in the
        same gap of the network: the straight leg is no longer than the two access legs) are always allowed one: a
        point to itself is 0 minutes.
        A direct leg is two-way: on a complete OSM street network, where the local roads *are* in the graph, it may
        short-cut one-way streets between points under 3 km apart; set ``direct_leg_max_m=0`` there to keep every
        such trip on the streets (the same-gap rule never beats the access legs, so it cannot).
    """

    highway_speeds_kmh: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_HIGHWAY_SPEEDS_KMH))
    road_class_speeds_kmh: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ROAD_CLASS_SPEEDS_KMH))
    default_speed_kmh: float = 30.0
    maxspeed_zones_kmh: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MAXSPEED_ZONES_KMH))
    respect_maxspeed: bool = True
    circuity: float = 1.2
    snap_detour_factor: float = 1.3
    connector_speed_kmh: float = 30.0
    max_snap_m: float = 5000.0
    snap_nodes: int = 4
    snap_local_road: bool = True
    direct_leg: bool = True
    direct_leg_max_m: float = 3000.0

    def __post_init__(self) -> None:
        for name in ("highway_speeds_kmh", "road_class_speeds_kmh", "maxspeed_zones_kmh"):
            table = getattr(self, name)
            if not isinstance(table, Mapping):
                raise ValueError(f"CarProfile.{name} must be a dict of km/h values, got {type(table).__name__}")
            for key, speed in table.items():
                if not _positive(speed):
                    raise ValueError(f"CarProfile.{name}[{key!r}] must be a positive speed in km/h, got {speed!r}")
            setattr(self, name, {str(k): float(v) for k, v in table.items()})
        for name in ("default_speed_kmh", "connector_speed_kmh", "max_snap_m"):
            if not _positive(getattr(self, name)):
                raise ValueError(f"CarProfile.{name} must be positive, got {getattr(self, name)!r}")
        v = self.direct_leg_max_m
        try:
            ok = math.isfinite(float(v)) and float(v) >= 0 and not isinstance(v, bool)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"CarProfile.direct_leg_max_m must be a distance >= 0 in metres, got {v!r}")
        self.direct_leg_max_m = float(v)
        n = self.snap_nodes
        if isinstance(n, bool) or not isinstance(n, (int, float)) or n != int(n) or n < 1:
            raise ValueError(f"CarProfile.snap_nodes must be a whole number >= 1, got {n!r}")
        self.snap_nodes = int(n)
        for name in ("circuity", "snap_detour_factor"):
            v = getattr(self, name)
            if not (_positive(v) and v >= 1.0):
                raise ValueError(f"CarProfile.{name} must be a factor >= 1, got {v!r}")

    # -- speeds ----------------------------------------------------------------------------------------------------
    def osm_speed_kmh(self, highway: Any, maxspeed: Any = None) -> float:
        """Driving speed of an OSM edge, km/h: typical speed of its class, capped by its parsed ``maxspeed``."""
        classes = [str(h) for h in _as_list(highway)]
        typical = [self.highway_speeds_kmh.get(h, self.default_speed_kmh) for h in classes] or [self.default_speed_kmh]
        speed = sum(typical) / len(typical)
        if self.respect_maxspeed:
            limits = [parse_maxspeed(m, self.maxspeed_zones_kmh) for m in _as_list(maxspeed)]
            limits = [v for v in limits if v is not None]
            if limits:
                speed = min(speed, sum(limits) / len(limits))
        return float(speed)

    def road_class_speed_kmh(self, road_class: str) -> float:
        """Typical speed of a Travel Mapping road class, km/h; ``KeyError`` naming the known classes otherwise."""
        try:
            return self.road_class_speeds_kmh[road_class]
        except KeyError:
            known = ", ".join(sorted(self.road_class_speeds_kmh))
            raise KeyError(f"unknown road_class {road_class!r} (known: {known})") from None

    def access_s(self, distance_m):
        """Time on an access leg of straight length ``distance_m`` (metres, scalar or array), seconds."""
        return distance_m * self.snap_detour_factor / (self.connector_speed_kmh / 3.6)

    @property
    def direct_leg_radius_m(self) -> float:
        """Straight distance up to which any two points may be joined by a direct leg, metres:
        ``min(direct_leg_max_m, max_snap_m)``, 0 when ``direct_leg`` is off."""
        return float(min(self.direct_leg_max_m, self.max_snap_m)) if self.direct_leg else 0.0

    # -- construction ----------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> CarProfile:
        """Defaults updated by ``values``; dict-valued fields (speed tables) are merged, not replaced."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown CarProfile setting(s) {unknown}; known: {sorted(names)}")
        base = cls()
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            current = getattr(base, key)
            if isinstance(current, dict) and isinstance(value, Mapping):
                kwargs[key] = {**current, **value}
            else:
                kwargs[key] = value
        return dataclasses.replace(base, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _positive(v: Any) -> bool:
    try:
        return math.isfinite(float(v)) and float(v) > 0
    except (TypeError, ValueError):
        return False


def resolve_profile(profile: CarProfile | Mapping[str, Any] | str | None = None) -> CarProfile:
    """``None`` -> default :class:`CarProfile`; a dict -> defaults updated by it; a profile -> itself; a path (str or
    ``pathlib.Path``) -> :func:`load_profile`."""
    import os

    if profile is None:
        return CarProfile()
    if isinstance(profile, CarProfile):
        return profile
    if isinstance(profile, Mapping):
        return CarProfile.from_dict(profile)
    if isinstance(profile, (str, os.PathLike)):
        return load_profile(profile)
    raise TypeError(f"profile must be a CarProfile, a dict, a profile file or None, got {type(profile).__name__}")


def load_profile(path) -> CarProfile:
    """A profile file (JSON object of :class:`CarProfile` settings, e.g. written by ``fsgeo calibrate``): the
    defaults updated by it (speed tables merged); keys starting with ``_`` (metadata such as ``_calibration``) are
    ignored. Errors (:class:`fsgeo.errors.InputError`) name the file and the setting."""
    import json
    from pathlib import Path

    from fsgeo.errors import InputError

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: profile file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON profile file: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a profile file holds a JSON object of settings, got {type(data).__name__}")
    try:
        return CarProfile.from_dict({k: v for k, v in data.items() if not str(k).startswith("_")})
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: {exc}") from None

