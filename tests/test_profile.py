"""French car profile: maxspeed parsing, speed rule, overrides and validation."""

import math

import pytest

from fsgeo.profile import (
    DEFAULT_HIGHWAY_SPEEDS_KMH,
    DEFAULT_ROAD_CLASS_SPEEDS_KMH,
    CarProfile,
    parse_maxspeed,
    resolve_profile,
)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("110kmh", 110.0),
        ("30 mph", 30 * 1.609344),
        ("50mph", 50 * 1.609344),
        ("FR:urban", 50.0),
        ("FR:rural", 80.0),
        ("FR:motorway", 130.0),
        ("FR:zone30", 30.0),
        ("FR:zone20", 20.0),
        ("DE:zone:30", 30.0),
        ("FR:walk", 6.0),
        ("walk", 6.0),
        ("50;70", 50.0),           # several values: the lowest counts
        ("90 ; FR:urban", 50.0),
        ("70|50", 50.0),
        (70, 70.0),
        (12.5, 12.5),
        ("none", None),            # no limit
        ("signals", None),
        ("FR:signals", None),
        ("fast", None),            # unreadable
        ("", None),
        (None, None),
        (float("nan"), None),
        ("0", None),
    ],
)
def test_parse_maxspeed(value, expected):
    got = parse_maxspeed(value)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, rel=1e-12)


def test_parse_maxspeed_custom_zones():
    assert parse_maxspeed("FR:rural", {"FR:rural": 90.0}) == 90.0
    assert parse_maxspeed("FR:urban", {"urban": 45.0}) == 45.0


def test_osm_speed_is_typical_capped_by_limit():
    p = CarProfile()
    primary = DEFAULT_HIGHWAY_SPEEDS_KMH["primary"]
    assert p.osm_speed_kmh("primary") == primary
    assert p.osm_speed_kmh("primary", "FR:urban") == 50.0              # limit below typical: the limit
    assert p.osm_speed_kmh("primary", "130") == primary                # limit above typical: typical speed
    assert p.osm_speed_kmh("residential", "FR:zone30") == min(DEFAULT_HIGHWAY_SPEEDS_KMH["residential"], 30.0)
    assert p.osm_speed_kmh("primary", "20 mph") == pytest.approx(20 * 1.609344)
    assert p.osm_speed_kmh("primary", "nonsense") == primary            # unreadable tag: ignored
    assert p.osm_speed_kmh("no_such_class") == p.default_speed_kmh
    assert p.osm_speed_kmh(None) == p.default_speed_kmh
    # osmnx merged edges carry lists: mean over classes, mean over limits
    mean = (DEFAULT_HIGHWAY_SPEEDS_KMH["primary"] + DEFAULT_HIGHWAY_SPEEDS_KMH["secondary"]) / 2
    assert p.osm_speed_kmh(["primary", "secondary"]) == pytest.approx(mean)
    assert p.osm_speed_kmh(["primary", "secondary"], ["30", "50"]) == pytest.approx(min(mean, 40.0))
    # GraphML round trips write those lists as their repr
    assert p.osm_speed_kmh("['primary', 'secondary']") == pytest.approx(mean)
    assert CarProfile(respect_maxspeed=False).osm_speed_kmh("primary", "30") == primary


def test_road_class_speeds_and_unknown_class():
    p = CarProfile()
    for cls in ("motorway", "trunk", "expressway", "departementale", "metropolitan"):
        assert p.road_class_speed_kmh(cls) == DEFAULT_ROAD_CLASS_SPEEDS_KMH[cls]
    with pytest.raises(KeyError, match="autobahn"):
        p.road_class_speed_kmh("autobahn")


def test_defaults_documented_values():
    p = CarProfile()
    assert (p.circuity, p.snap_detour_factor, p.connector_speed_kmh, p.max_snap_m) == (1.2, 1.3, 30.0, 5000.0)
    # access leg: 1000 m straight, x1.3, at 30 km/h
    assert p.access_s(1000.0) == pytest.approx(1000 * 1.3 / (30 / 3.6))
    assert p.direct_leg and p.direct_leg_max_m == 3000.0 and p.direct_leg_radius_m == 3000.0


def test_direct_leg_radius():
    assert CarProfile(direct_leg=False).direct_leg_radius_m == 0.0           # every direct leg off
    assert CarProfile(direct_leg_max_m=0).direct_leg_radius_m == 0.0         # the same-gap rule only
    assert CarProfile(max_snap_m=2000).direct_leg_radius_m == 2000.0         # never beyond the snapping limit
    p = resolve_profile({"direct_leg_max_m": 1500})
    assert p.direct_leg_max_m == 1500.0 and isinstance(p.direct_leg_max_m, float) and p.direct_leg_radius_m == 1500


def test_dict_overrides_merge_into_defaults():
    p = resolve_profile({"highway_speeds_kmh": {"residential": 25}, "circuity": 1.3})
    assert p.highway_speeds_kmh["residential"] == 25.0
    assert p.highway_speeds_kmh["motorway"] == DEFAULT_HIGHWAY_SPEEDS_KMH["motorway"]  # merged, not replaced
    assert p.circuity == 1.3
    assert resolve_profile(None) == CarProfile()
    same = CarProfile(connector_speed_kmh=20)
    assert resolve_profile(same) is same
    # defaults are not shared between instances
    p.highway_speeds_kmh["motorway"] = 1.0
    assert CarProfile().highway_speeds_kmh["motorway"] == DEFAULT_HIGHWAY_SPEEDS_KMH["motorway"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"circuity": 0.9}, "circuity"),
        ({"snap_detour_factor": 0.5}, "snap_detour_factor"),
        ({"connector_speed_kmh": 0}, "connector_speed_kmh"),
        ({"max_snap_m": -1}, "max_snap_m"),
        ({"direct_leg_max_m": -1}, "direct_leg_max_m"),
        ({"direct_leg_max_m": math.inf}, "direct_leg_max_m"),
        ({"direct_leg_max_m": "far"}, "direct_leg_max_m"),
        ({"default_speed_kmh": math.nan}, "default_speed_kmh"),
        ({"highway_speeds_kmh": {"primary": -5}}, "primary"),
        ({"road_class_speeds_kmh": {"trunk": "fast"}}, "trunk"),
    ],
)
def test_invalid_profile_values_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CarProfile(**kwargs)


def test_unknown_override_key_is_named():
    with pytest.raises(ValueError, match="speed_motorway"):
        resolve_profile({"speed_motorway": 120})
    with pytest.raises(TypeError):
        resolve_profile(42)
