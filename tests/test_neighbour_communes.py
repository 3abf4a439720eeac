"""Invariants of the committed neighbouring communes (data/communes/neighbours.geojson), checked against the raw
sources when present: départements, populations, demand points, the 30-km margin, no commune of 70, no overlap."""

import glob
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from fsgeo import datasets
from fsgeo.build_data import NETWORK_MARGIN_M
from fsgeo.settings import settings

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
needs_raw = pytest.mark.skipif(not RAW.is_dir(),
                               reason=f"raw sources absent ({RAW}): checked against the manifest only")
PATH = settings.neighbour_communes_path
DEPARTEMENT = "70"
NEIGHBOURS = ("21", "25", "39", "52", "88", "90")  # derived by the build from the outlines (study.json)
#: the committed outline (union of the simplified commune polygons) differs from the france-geojson outline the build
#: measures against by about 200 m (Hausdorff distance)
OUTLINE_SLACK_M = 500.0


@pytest.fixture(scope="module")
def neighbours():
    return gpd.read_file(PATH)


@pytest.fixture(scope="module")
def metric(neighbours):
    return neighbours.to_crs("EPSG:2154")


@pytest.fixture(scope="module")
def outline():
    return datasets.load_outline().to_crs("EPSG:2154").geometry.iloc[0]


@pytest.fixture(scope="module")
def manifest():
    return json.loads((settings.communes_path.parent / "manifest.json").read_text(encoding="utf-8"))["neighbours"]


def test_schema(neighbours):
    assert neighbours.crs.to_epsg() == 4326
    assert list(neighbours.columns) == ["code", "name", "departement", "population", "area_km2",
                                        "point_lon", "point_lat", "point_source", "geometry"]
    assert neighbours["code"].is_unique and list(neighbours["code"]) == sorted(neighbours["code"])
    assert all(isinstance(c, str) and len(c) == 5 for c in neighbours["code"])
    assert neighbours["name"].str.len().gt(0).all()
    assert neighbours.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert neighbours.is_valid.all() and (~neighbours.is_empty).all()


def test_departements_are_neighbours_only(neighbours, manifest):
    assert set(neighbours["departement"]) == set(NEIGHBOURS)  # every neighbour touches 70: each has communes here
    assert (neighbours["code"].str[:2] == neighbours["departement"]).all()
    assert not neighbours["code"].str.startswith(DEPARTEMENT).any()
    assert not set(neighbours["code"]) & set(datasets.load_communes()["code"])
    assert manifest["departements"] == list(NEIGHBOURS) and manifest["margin_m"] == NETWORK_MARGIN_M


def test_populations(neighbours, manifest):
    assert np.issubdtype(neighbours["population"].dtype, np.integer)
    assert (neighbours["population"] >= 0).all()
    assert int(neighbours["population"].sum()) == manifest["population"]
    assert len(neighbours) == manifest["communes"]
    per_dep = neighbours.groupby("departement")["population"].agg(["size", "sum"])
    assert {d: {"communes": int(r["size"]), "population": int(r["sum"])} for d, r in per_dep.iterrows()} \
        == manifest["by_departement"]
    # Territoire de Belfort lies wholly within 30 km: all its 101 current communes are here
    assert manifest["by_departement"]["90"]["communes"] == 101


def test_area_matches_geometry(neighbours, metric):
    np.testing.assert_allclose(neighbours["area_km2"], metric.area / 1e6, atol=1e-3)
    assert neighbours["area_km2"].gt(0).all()


def test_demand_points_inside(neighbours):
    pts = shapely.points(neighbours["point_lon"], neighbours["point_lat"])
    inside = shapely.contains(neighbours.geometry.values, pts)
    assert inside.all(), f"points outside their commune: {list(neighbours['code'][~inside])}"


def test_within_the_margin(metric, outline):
    dist = np.asarray(shapely.distance(outline, metric.geometry.values))
    assert dist.max() <= NETWORK_MARGIN_M + OUTLINE_SLACK_M, metric["code"][dist.argmax()]
    assert dist.max() > NETWORK_MARGIN_M - 2_000  # the margin really is 30 km, not a smaller one
    assert (dist == 0).sum() > 50  # the communes along the boundary are there


def test_no_overlap_with_70_nor_each_other(metric, outline):
    # shared boundaries only: nothing of 70 is counted twice, merged polygons are dissolved once
    assert float(metric.intersection(outline).area.max()) < 1e-3 * float(metric.area.min())
    union = shapely.union_all(metric.geometry.values)
    assert metric.area.sum() == pytest.approx(union.area, rel=1e-6)


def test_loader(neighbours):
    loaded = datasets.load_neighbour_communes()
    assert loaded.crs == "EPSG:4326" and list(loaded["code"]) == list(neighbours["code"])
    assert list(loaded.columns) == list(neighbours.columns)
    assert (loaded["population"].to_numpy() == neighbours["population"].to_numpy()).all()


@needs_raw
def test_complete_against_raw(neighbours, manifest):
    """Every 2018 polygon of the neighbouring départements within 30 km belongs to a kept commune (its own code, its
    ``chefLieu`` or the current commune listing it in ``anciensCodes``), and the populations are etalab's."""
    rows = json.loads((RAW / "etalab" / "communes.json").read_text(encoding="utf-8"))
    current = {r["code"]: r for r in rows if r["type"] == "commune-actuelle"}
    owner = {old: r["code"] for r in current.values() for old in r.get("anciensCodes") or ()}
    owner.update({r["code"]: r["chefLieu"] for r in rows if r.get("chefLieu") and r["code"] not in current})
    outline = gpd.read_file(glob.glob(str(RAW / "france-geojson" / "departements" / "70-*" / "departement-*"))[0])
    outline = outline.set_crs("EPSG:4326", allow_override=True).to_crs("EPSG:2154").union_all()
    kept = set(neighbours["code"])
    n_near = 0
    for dep in NEIGHBOURS:
        src = gpd.read_file(glob.glob(str(RAW / "france-geojson" / "departements" / f"{dep}-*" / "communes-*"))[0])
        src = src.set_crs("EPSG:4326", allow_override=True).to_crs("EPSG:2154")
        near = src[src.distance(outline) <= NETWORK_MARGIN_M]
        n_near += len(near)
        target = [c if c in current else owner.get(c) for c in near["code"].astype(str)]
        assert all(t in kept for t in target), sorted(set(target) - kept)
    assert n_near >= len(neighbours)
    assert dict(zip(neighbours["code"], neighbours["population"].astype(int))) == \
        {c: current[c]["population"] for c in neighbours["code"]}
    assert manifest["source_communes"] == sum(r.get("departement") in NEIGHBOURS for r in current.values())
