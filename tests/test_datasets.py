"""fsgeo.datasets: loaders (EPSG:4326, schemas), sites_as_of on known dates, demand_points, and `fsgeo datasets`."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from fsgeo import datasets
from fsgeo.profile import CarProfile
from fsgeo.cli import main
from fsgeo.io import SITE_COLUMNS
from fsgeo.settings import settings

REPO = Path(__file__).resolve().parents[1]
RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
ANCT = RAW / "anct" / "liste-fs-20240801.csv"


@pytest.fixture(scope="module")
def sites(study):
    return study.sites.copy()


def test_load_sites_embedded(sites):
    assert sites.crs == "EPSG:4326"
    assert list(sites.columns) == [*SITE_COLUMNS, "geometry"]
    assert (sites.geom_type == "Point").all()
    assert (sites.loc[sites["in_departement"], "departement"] == "70").all()
    assert int(sites["in_departement"].sum()) == 26
    assert sites["labelled_on"].map(lambda v: isinstance(v, str)).all()  # ISO strings, not parsed dates
    assert sites["id"].is_unique


def _count_70_labelled_by(day: dt.date) -> int:
    """Independent count: from the raw "Espace labellisé DD/MM/YYYY" strings when available, else from the committed
    file read as plain JSON."""
    if ANCT.exists():
        with ANCT.open(encoding="utf-8", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["insee_dep"] == "70"]
        dates = [dt.datetime.strptime(r["labellisation_fs"].split()[-1], "%d/%m/%Y").date() for r in rows]
    else:
        feats = json.loads((REPO / "data" / "sites.geojson").read_text(encoding="utf-8"))["features"]
        dates = [dt.date(*map(int, f["properties"]["labelled_on"].split("-")))
                 for f in feats if f["properties"]["departement"] == "70"]
    assert len(dates) == 26
    return sum(d <= day for d in dates)


def test_sites_as_of_known_dates(sites):
    own = sites[sites["in_departement"]]
    assert len(datasets.sites_as_of(own, "2019-12-31")) == 0  # France services started on 1 January 2020
    expected = _count_70_labelled_by(dt.date(2022, 12, 31))
    assert 0 < expected < 26
    assert len(datasets.sites_as_of(own, "2022-12-31")) == expected
    # a structure labelled on the day itself is kept
    assert len(datasets.sites_as_of(own, "2020-01-01")) == _count_70_labelled_by(dt.date(2020, 1, 1)) > 0
    assert len(datasets.sites_as_of(own, "2030-01-01")) == 26


@pytest.mark.parametrize("date", ["2022-12-31", dt.date(2022, 12, 31), dt.datetime(2022, 12, 31, 18, 0),
                                  pd.Timestamp("2022-12-31"), "31/12/2022"])  # one date parser: DD/MM/YYYY too
def test_sites_as_of_accepts_date_types(sites, date):
    kept = datasets.sites_as_of(sites, date)
    assert list(kept.index) == list(datasets.sites_as_of(sites, "2022-12-31").index)
    assert (kept["labelled_on"] <= "2022-12-31").all()
    assert isinstance(kept, gpd.GeoDataFrame) and kept.crs == "EPSG:4326"


@pytest.mark.parametrize("bad", ["2022-13-01", "31/02/2022", "yesterday", 20221231, None, pd.NaT])
def test_sites_as_of_bad_date(sites, bad):
    with pytest.raises(ValueError) as exc:
        datasets.sites_as_of(sites, bad)
    assert repr(bad) in str(exc.value)


def test_sites_as_of_undated_and_bad_rows(sites):
    s = sites.head(3).copy()
    s["labelled_on"] = pd.Series(["2021-01-01", None, "2024-01-01"], index=s.index, dtype=object)
    assert len(datasets.sites_as_of(s, "2022-01-01")) == 2
    assert len(datasets.sites_as_of(s, "2022-01-01", keep_undated=False)) == 1
    assert datasets.labelled_dates(s).tolist() == [dt.date(2021, 1, 1), None, dt.date(2024, 1, 1)]
    assert datasets.labelled_dates(s).index.equals(s.index)
    s["labelled_on"] = pd.Series(["2021-01-01", "soon", "2024-01-01"], index=s.index, dtype=object)
    with pytest.raises(ValueError, match=re.escape(repr(s["id"].iat[1])) + ".*'soon'"):
        datasets.sites_as_of(s, "2022-01-01")
    with pytest.raises(ValueError, match="no 'labelled_on' column"):
        datasets.sites_as_of(s.drop(columns="labelled_on"), "2022-01-01")


def test_demand_points():
    communes = gpd.GeoDataFrame(
        {"code": ["70001", "70002"], "name": ["A", "B"], "population": [10, 20],
         "point_lon": [6.05, 6.25], "point_lat": [47.55, 47.65]},
        geometry=[box(6.0, 47.5, 6.1, 47.6), box(6.2, 47.6, 6.3, 47.7)], crs="EPSG:4326", index=[7, 3])
    pts = datasets.demand_points(communes)
    assert list(pts.index) == [7, 3] and pts.crs == "EPSG:4326"
    assert list(pts.columns) == ["code", "name", "population", "point_lon", "point_lat", "geometry"]
    assert (pts.geom_type == "Point").all()
    assert pts.geometry.x.tolist() == [6.05, 6.25] and pts.geometry.y.tolist() == [47.55, 47.65]
    assert communes.geometry.iloc[0].geom_type == "Polygon"  # input untouched
    with pytest.raises(ValueError, match="point_lon"):
        datasets.demand_points(communes.drop(columns="point_lon"))


def test_load_sites_from_user_file(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("id,name,lat,lon\nx,Projet,47.6,6.1\n", encoding="utf-8")
    g = datasets.load_sites(p)
    assert g["id"].tolist() == ["x"] and g.crs == "EPSG:4326"


@pytest.mark.skipif(not settings.communes_path.exists(), reason="data/communes/communes.geojson not built yet")
def test_load_communes_embedded():
    c = datasets.load_communes()
    assert c.crs == "EPSG:4326" and len(c) == 536 and c["code"].is_unique
    pts = datasets.demand_points(c)
    assert pts.crs == "EPSG:4326" and len(pts) == len(c)
    assert c.geometry.contains(pts.geometry).all()  # the demand point lies inside its commune


@pytest.mark.skipif(not settings.outline_path.exists(), reason="data/communes/outline.geojson not built yet")
def test_load_outline_embedded(sites):
    o = datasets.load_outline()
    assert o.crs == "EPSG:4326" and o["code"].tolist() == ["70"]
    own = sites[sites["in_departement"]]
    assert own.within(o.geometry.iloc[0].buffer(1e-6)).all()


def test_load_network_delegates(monkeypatch, tmp_path):
    import fsgeo.network

    calls = []
    monkeypatch.setattr(fsgeo.network.RoadNetwork, "from_file",
                        classmethod(lambda cls, p, **kw: calls.append((p, kw)) or "net"))
    assert datasets.load_network(tmp_path / "x.gpkg") == "net"
    assert datasets.load_network() == "net"
    # the study's own network is measured in the study's metric CRS (its manifest owns it)
    assert [(p, sorted(kw)) for p, kw in calls] == [(tmp_path / "x.gpkg", ["profile"]),
                                                     (settings.network_path, ["metric_crs", "profile"])]
    assert calls[1][1]["metric_crs"] == "EPSG:2154" and calls[0][1]["profile"] == CarProfile()
    calls.clear()
    datasets.load_network(profile={"circuity": 1.3})
    assert calls[0][1]["profile"].circuity == 1.3


def test_cli_datasets_summary(capsys):
    assert main(["datasets", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Study: Haute-Saône (département 70)" in out
    assert "source: ANCT et Banque des Territoires, Liste des structures France services (2024-08-01)" in out
    assert "in Haute-Saône (70): 26 (1 antenna, 25 principal)" in out
    assert "Communes:" in out and "Road network:" in out
    assert main(["datasets", "--as-of", "2019-12-31", "--own-departement-only"]) == 0
    assert "  0 structures" in capsys.readouterr().out
    assert main(["datasets"]) == 0  # French by default
    out = capsys.readouterr().out
    assert "dans Haute-Saône (70) : 26 (1 antenne, 25 espaces principaux)" in out
    assert "source : ANCT et Banque des Territoires, Liste des structures France services (2024-08-01)" in out
    assert "Communes :" in out and "Réseau routier :" in out


def test_cli_datasets_bad_file(tmp_path, capsys):
    assert main(["datasets", "--sites", str(tmp_path / "none.csv")]) == 2
    assert "none.csv: file not found" in capsys.readouterr().err
    garbage = tmp_path / "roads.graphml"
    garbage.write_text("not GraphML")
    assert main(["datasets", "--network", str(garbage)]) == 2                # one line, no traceback
    assert f"{garbage}: cannot read this file as a road network (GraphML)" in capsys.readouterr().err


def test_cli_datasets_pbf_without_pyrosm(tmp_path, capsys, monkeypatch):
    pbf = tmp_path / "region.osm.pbf"
    pbf.write_bytes(b"\x00")
    monkeypatch.setitem(sys.modules, "pyrosm", None)                           # the pbf extra not installed
    assert main(["datasets", "--network", str(pbf)]) == 2                    # one line, no traceback
    assert "needs pyrosm: pip install 'fsgeo[pbf]'" in capsys.readouterr().err
