"""Invariants of the committed communes and outline (data/communes/), checked against the raw sources when present."""

import glob
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from fsgeo.settings import settings

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
needs_raw = pytest.mark.skipif(not RAW.is_dir(),
                               reason=f"raw sources absent ({RAW}): checked against the manifest only")


@pytest.fixture(scope="module")
def communes():
    return gpd.read_file(settings.communes_path)


@pytest.fixture(scope="module")
def outline():
    return gpd.read_file(settings.outline_path)


@pytest.fixture(scope="module")
def manifest():
    return json.loads((settings.communes_path.parent / "manifest.json").read_text(encoding="utf-8"))


def test_schema_and_count(communes):
    assert communes.crs.to_epsg() == 4326
    assert list(communes.columns) == ["code", "name", "departement", "population", "area_km2",
                                      "point_lon", "point_lat", "point_source", "geometry"]
    # the build's default demand points: the road-junction village centre, the pole where no local road is inside
    assert set(communes["point_source"]) == {"road junction", "pole of inaccessibility"}
    assert len(communes) == 536
    assert communes["code"].is_unique
    assert all(isinstance(c, str) and len(c) == 5 and c.startswith("70") for c in communes["code"])
    assert list(communes["code"]) == sorted(communes["code"])
    assert (communes["departement"] == "70").all()
    assert communes["name"].str.len().gt(0).all()


def test_one_valid_polygon_each(communes):
    assert communes.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert communes.is_valid.all()
    assert (~communes.is_empty).all()


def test_populations(communes, manifest):
    assert np.issubdtype(communes["population"].dtype, np.integer)
    assert (communes["population"] >= 0).all()
    assert int(communes["population"].sum()) == manifest["source_population"]
    assert manifest["communes"] == manifest["source_communes"] == len(communes)


@needs_raw
def test_population_total_equals_etalab():
    rows = json.loads((RAW / "etalab" / "communes.json").read_text(encoding="utf-8"))
    current = {r["code"]: r["population"] for r in rows
               if r["type"] == "commune-actuelle" and r.get("departement") == "70"}
    data = gpd.read_file(settings.communes_path)
    assert set(data["code"]) == set(current)
    assert dict(zip(data["code"], data["population"].astype(int))) == current
    assert int(data["population"].sum()) == sum(current.values())


def test_area_matches_geometry(communes):
    area = communes.to_crs("EPSG:2154").area / 1e6
    np.testing.assert_allclose(communes["area_km2"], area, atol=1e-3)
    assert communes["area_km2"].gt(0).all()


def test_demand_points_inside(communes):
    pts = shapely.points(communes["point_lon"], communes["point_lat"])
    inside = shapely.contains(communes.geometry.values, pts)
    assert inside.all(), f"points outside their commune: {list(communes['code'][~inside])}"


def test_outline_covers_communes_without_overlap(communes, outline):
    assert len(outline) == 1 and outline["code"].iloc[0] == "70" and outline["name"].iloc[0] == "Haute-Saône"
    assert outline.crs.to_epsg() == 4326
    shape = outline.geometry.iloc[0]
    assert shape.is_valid and shape.geom_type in ("Polygon", "MultiPolygon")
    grown = shape.buffer(1e-7)  # ~1 cm: union round-off
    assert all(grown.covers(g) for g in communes.geometry)
    # communes tile the outline: their areas add up to it (no overlaps, no gaps)
    total = communes.to_crs("EPSG:2154").area.sum()
    assert abs(total - outline.to_crs("EPSG:2154").area.iloc[0]) / total < 1e-4


def test_manifest_merges(communes, manifest):
    codes = set(communes["code"])
    assert manifest["merges"].get("70375") == "70491"  # not a delegated commune in etalab: must not be lost
    assert set(manifest["merges"].values()) <= codes
    assert not set(manifest["merges"]) & codes


@needs_raw
def test_merged_polygons_inside_current_commune(communes, manifest):
    src = gpd.read_file(glob.glob(str(RAW / "france-geojson" / "departements" / "70-*" / "communes-70-*.geojson"))[0])
    src = src.set_crs("EPSG:4326", allow_override=True).to_crs("EPSG:2154")
    cur = communes.set_index("code").to_crs("EPSG:2154").geometry
    assert len(src) == manifest["polygons_2018"]
    target = {c: manifest["merges"].get(c, c) for c in src["code"]}
    # each old polygon lies in its current commune, e.g. 70375 (Motey-sur-Saône) in 70491 (Seveux-Motey)
    for code, geom in zip(src["code"], src.geometry):
        assert geom.intersection(cur[target[code]]).area / geom.area > 0.999, code
    # and each current commune is exactly the sum of its old polygons
    src["target"] = src["code"].map(target)
    sums = src.assign(a=src.area).groupby("target")["a"].sum()
    np.testing.assert_allclose(cur.area[sums.index], sums, rtol=1e-4)
    old = src.set_index("code").area
    assert cur["70491"].area == pytest.approx(old["70491"] + old["70375"], rel=1e-4)
