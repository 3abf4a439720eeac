"""The committed data/sites.geojson.

Invariants always; checks against the raw ANCT list and the build when ../shared exists.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from pyproj import Transformer
import numpy as np
import shapely
from shapely.geometry import Point, shape

from fsgeo.hours import normalise_hours, weekly_open_hours
from fsgeo.io import FORMATS, KINDS, SITE_COLUMNS
from fsgeo.settings import settings

REPO = Path(__file__).resolve().parents[1]
SITES = REPO / "data" / "sites.geojson"
RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
ANCT = RAW / "anct" / "liste-fs-20240801.csv"
NEEDS_RAW = pytest.mark.skipif(not ANCT.exists(), reason=f"raw sources not available at {RAW} (../shared absent): "
                                                         "build checks need them")
MARGIN_M = 25_000.0
NEIGHBOURS = {"21", "25", "39", "52", "88", "90"}
_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


def to_l93(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(_L93.transform(xy[:, 0], xy[:, 1])))


@pytest.fixture(scope="module")
def features():
    # read the file as plain JSON: independent of fsgeo's reader
    return json.loads(SITES.read_text(encoding="utf-8"))["features"]


def _outline_l93(raw_only: bool = False):
    """Outline of 70 in Lambert-93: the committed outline, else (or if ``raw_only``) the raw france-geojson one that
    the build measures against."""
    candidates = [] if raw_only else [settings.outline_path]
    candidates += sorted((RAW / "france-geojson" / "departements").glob("70-*/departement-70-*.geojson"))
    for p in candidates:
        if p.exists():
            doc = json.loads(p.read_text(encoding="utf-8"))
            geoms = [shape(f["geometry"]) for f in doc.get("features", [doc])]  # a collection or one Feature
            return to_l93(shapely.union_all(geoms))
    pytest.skip("no outline of département 70: neither data/communes/outline.geojson nor ../shared")


def test_schema_and_invariants(features):
    assert features, "empty sites file"
    ids = [f["properties"]["id"] for f in features]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for f in features:
        p = f["properties"]
        assert list(p) == list(SITE_COLUMNS)
        assert f["geometry"]["type"] == "Point"
        assert isinstance(p["id"], str) and p["id"].isdigit()
        assert p["kind"] in KINDS and p["format"] in FORMATS
        assert p["in_departement"] is (p["departement"] == "70")
        assert p["departement"] == "70" or p["departement"] in NEIGHBOURS | {"68"}  # 68: within 25 km, not a neighbour
        assert re.fullmatch(r"\d[\dAB]\d{3}", p["commune_code"]) and p["commune_code"].startswith(p["departement"])
        hours = [p[f"hours_{d}"] for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday")]
        assert all(normalise_hours(h) == h for h in hours)
        assert p["weekly_open_hours"] == pytest.approx(weekly_open_hours(hours))
        assert dt.date.fromisoformat(p["labelled_on"]).isoformat() == p["labelled_on"]
        assert (p["parent_id"] is None) or (p["kind"] == "antenna" and p["parent_id"] != p["id"])
    # sorted by département then numeric id (deterministic output)
    keys = [(f["properties"]["departement"], int(f["properties"]["id"])) for f in features]
    assert keys == sorted(keys)
    # the 26 structures of 70 in the 1 August 2024 list
    assert sum(f["properties"]["departement"] == "70" for f in features) == 26


def test_points_within_outline_margin(features):
    outline = _outline_l93()
    tol = 200.0  # the committed outline may differ slightly from the raw one the build measured against
    for f in features:
        p = f["properties"]
        d = to_l93(shape(f["geometry"])).distance(outline)
        if p["in_departement"]:
            assert d < tol, f"{p['id']} lies {d:.0f} m outside département 70"
        else:
            assert d <= MARGIN_M + tol, f"{p['id']} lies {d:.0f} m from the boundary"


def _raw_rows():
    with ANCT.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@NEEDS_RAW
def test_all_26_structures_of_70_with_their_coordinates(features):
    raw70 = [r for r in _raw_rows() if r["insee_dep"] == "70"]
    assert len(raw70) == 26
    by_id = {f["properties"]["id"]: f for f in features}
    for r in raw70:
        f = by_id.get(r["id_fs"])
        assert f is not None, f"structure {r['id_fs']} {r['lib_fs']!r} missing"
        lon, lat = f["geometry"]["coordinates"]
        assert (lon, lat) == (float(r["longitude"]), float(r["latitude"]))
        p = f["properties"]
        assert p["name"] == r["lib_fs"] and p["commune_code"] == r["insee_com"]
        d, m, y = re.search(r"(\d\d)/(\d\d)/(\d{4})", r["labellisation_fs"]).groups()
        assert p["labelled_on"] == f"{y}-{m}-{d}"
        assert p["kind"] == {"Principal": "principal", "Antenne": "antenna"}[r["type_fs"]]


@NEEDS_RAW
def test_neighbour_selection_matches_an_independent_distance_check(features):
    # every département's structures within 25 km count, neighbour or not (Haut-Rhin's 3 are 13.5-23.2 km away)
    outline = _outline_l93(raw_only=True)
    expected = set()
    for r in _raw_rows():
        if r["insee_dep"] == "70":
            expected.add(r["id_fs"])
        else:
            p = to_l93(Point(float(r["longitude"]), float(r["latitude"])))
            if p.distance(outline) <= MARGIN_M:
                expected.add(r["id_fs"])
    assert {f["properties"]["id"] for f in features} == expected
    in_68 = {f["properties"]["id"] for f in features if f["properties"]["departement"] == "68"}
    assert in_68 == {"838", "840", "3198"}


@NEEDS_RAW
def test_antenna_parent_from_raw_group(features):
    rows = _raw_rows()
    by_id = {f["properties"]["id"]: f["properties"] for f in features}
    for r in rows:
        if r["id_fs"] in by_id and r["type_fs"] == "Antenne" and r["groupe_fs"]:
            principals = [q["id_fs"] for q in rows if q["type_fs"] == "Principal" and q["insee_dep"] == r["insee_dep"]
                          and q["groupe_fs"] == r["groupe_fs"]]
            if len(principals) == 1:
                assert by_id[r["id_fs"]]["parent_id"] == principals[0]
    assert by_id["682"]["parent_id"] == "417"  # Haute Comté antenna of Vauvillers → Saint-Loup-sur-Semouse


@NEEDS_RAW
def test_build_reproduces_committed_file(tmp_path):
    from fsgeo.build_data import StudyArea, sites

    lines: list[str] = []
    out = sites.build(StudyArea.from_raw(RAW, "70", lines.append), tmp_path, lines.append)
    assert out.read_bytes() == SITES.read_bytes(), "data/sites.geojson differs from a fresh build"
    assert any("département 70: 26 structures" in line for line in lines)
