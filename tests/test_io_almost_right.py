"""Issue 9 §4: files that are almost right — a few Windows-1252 bytes in UTF-8, French headers, no département
column, ids 413 / 413.0, absurd populations, antennas with impossible parents, a network with no lengths."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from fsgeo import io
from fsgeo.errors import InputError, InputWarning


def _read_sites_warnings(path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sites = io.read_sites(path, **kw)
    return sites, [str(w.message) for w in caught if issubclass(w.category, InputWarning)]


# --- encoding --------------------------------------------------------------------------------------------------------

def test_utf8_with_one_cp1252_byte_is_repaired_on_that_line_only(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("id,name,lat,lon\nv,Vesoul Haute-Saône,47.62,6.15\n".encode("utf-8")
                     + "g,Gray Saône,47.44,5.59\n".encode("cp1252")
                     + "l,Lure été,47.68,6.49\n".encode("utf-8"))
    sites, said = _read_sites_warnings(path)
    # before: the whole file decoded as cp1252, "SaÃ´ne" on every UTF-8 line
    assert sites["name"].tolist() == ["Vesoul Haute-Saône", "Gray Saône", "Lure été"]
    assert len(said) == 1 and "line 3 " in said[0] and str(path) in said[0]


def test_windows_1252_file_read_as_such_without_noise(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("id,name,lat,lon\nv,Vesoul Haute-Saône,47.62,6.15\ng,Gray Saône,47.44,5.59\n".encode("cp1252"))
    sites, said = _read_sites_warnings(path)
    assert sites["name"].tolist() == ["Vesoul Haute-Saône", "Gray Saône"] and said == []


def test_a_byte_neither_utf8_nor_cp1252_names_the_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"id,name,lat,lon\nv,Vesoul \x81,47.62,6.15\ng,Gray Sa\xc3\xb4ne,47.44,5.59\nh,H\xc3\xa9,47.5,6\n")
    with pytest.raises(InputError, match=r"s\.csv: line 2: byte 0x81 is neither UTF-8 nor Windows-1252"):
        io.read_sites(path)


# --- French headers ----------------------------------------------------------------------------------------------------

FRENCH = """Identifiant;Nom;Type;Commune;Code INSEE;Latitude;Longitude;Adresse;Parent;Couleur;Commentaire
1;Espace Vesoul;Principal;Vesoul;70550;47,62;6,15;1 rue A;;bleu;ouvert
2;Antenne Gray;Antenne;Gray;70279;47,44;5,59;2 rue B;1;rouge;
"""


def test_french_headers(tmp_path):
    path = tmp_path / "prefecture.csv"
    path.write_text(FRENCH, encoding="utf-8")
    sites, said = _read_sites_warnings(path)
    assert sites["id"].tolist() == ["1", "2"] and sites["name"].tolist() == ["Espace Vesoul", "Antenne Gray"]
    assert sites["kind"].tolist() == ["principal", "antenna"] and sites["parent_id"].tolist() == [None, "1"]
    assert sites["commune_name"].tolist() == ["Vesoul", "Gray"] and sites["commune_code"].tolist() == ["70550", "70279"]
    assert sites["address"].tolist() == ["1 rue A", "2 rue B"] and sites["comment"].tolist() == ["ouvert", ""]
    assert sites["departement"].tolist() == ["70", "70"]
    # the one column fsgeo does not understand: kept, and said in one warning
    assert sites["Couleur"].tolist() == ["bleu", "rouge"]
    assert len(said) == 1 and "'Couleur'" in said[0] and "not understood" in said[0] and "\n" not in said[0]


def test_commune_column_holding_codes_is_a_code(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,nom,commune\n1,A,70550\n2,B,70279\n", encoding="utf-8")
    communes = gpd.GeoDataFrame({"code": ["70550", "70279"], "name": ["Vesoul", "Gray"], "departement": ["70", "70"],
                                 "point_lon": [6.15, 5.59], "point_lat": [47.62, 47.44]},
                                geometry=[box(6.1, 47.6, 6.2, 47.7), box(5.5, 47.4, 5.6, 47.5)], crs="EPSG:4326")
    sites = io.read_sites(path, communes=communes)
    assert sites["commune_code"].tolist() == ["70550", "70279"] and sites["commune_name"].tolist() == ["Vesoul", "Gray"]


# --- département -------------------------------------------------------------------------------------------------------

MIXED = """id,name,lat,lon
v,Vesoul,47.62,6.15
b,Besancon,47.24,6.02
e,Epinal,48.17,6.45
"""


def test_departement_from_the_commune_polygons_not_assumed(tmp_path, embedded_communes):
    path = tmp_path / "s.csv"
    path.write_text(MIXED, encoding="utf-8")
    sites = io.read_sites(path, communes=embedded_communes, departement=["70"])
    assert sites["departement"].tolist() == ["70", "", ""]
    assert sites["in_departement"].tolist() == [True, False, False]  # before: all three "70"


def test_own_departement_only_keeps_only_the_study_sites(tmp_path, capsys):
    from fsgeo.cli import main

    path = tmp_path / "s.csv"
    path.write_text(MIXED, encoding="utf-8")
    out = tmp_path / "c.json"
    assert main(["coverage", "--sites", str(path), "--own-departement-only", "--out", str(out)]) == 0
    capsys.readouterr()
    sites = json.loads(out.read_text(encoding="utf-8"))["summary"]["sites"]
    assert sites["selected"] == 1 and sites["in_departement"] == 1  # before: 3 (Besançon and Épinal taken as 70)


# --- ids, populations, parents ------------------------------------------------------------------------------------------

def test_ids_413_and_413_0_are_the_same(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,name,lat,lon\n413,A,47.62,6.15\n413.0,B,47.44,5.59\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2 \(id '413.0'\): duplicate id '413.0' \(also on row 1, as '413'\)"):
        io.read_sites(path)


def _communes_file(tmp_path, population):
    path = tmp_path / "c.geojson"
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "70001", "name": "A", "population": 100},
         "geometry": box(6.0, 47.5, 6.1, 47.6).__geo_interface__},
        {"type": "Feature", "properties": {"code": "70002", "name": "B", "population": population},
         "geometry": box(6.1, 47.5, 6.2, 47.6).__geo_interface__}]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


@pytest.mark.parametrize("population,words", [
    (1e15, "population 1000000000000000.0 is not plausible"),
    (True, "cannot read population true as a number"),  # before: GDAL made it 1 inhabitant, silently
    ("true", "cannot read population "),
    (-3, "negative population -3"),
])
def test_absurd_populations(tmp_path, population, words):
    path = _communes_file(tmp_path, population)
    with pytest.raises(InputError) as exc:
        io.read_communes(path)
    msg = str(exc.value)
    assert str(path) in msg and "row 2 (id '70002')" in msg and words in msg and "np." not in msg, msg


@pytest.mark.parametrize("rows,words", [
    ("a,A,principal,\nb,B,antenna,b\n", "row 2 (id 'b'): antenna is its own parent"),
    ("a,A,principal,\nb,B,antenna,a\nc,C,antenna,b\n", "row 3 (id 'c'): antenna's parent 'b' (row 2) is an antenna"),
    ("a,A,principal,\nb,B,antenna,zz\n", "row 2 (id 'b'): antenna's parent_id 'zz' is not a site of the file"),
])
def test_antenna_parents(tmp_path, rows, words):
    path = tmp_path / "s.csv"
    lines = rows.strip().splitlines()
    coords = ["47.62,6.15", "47.44,5.59", "47.68,6.49"]
    path.write_text("id,name,kind,parent_id,lat,lon\n"
                    + "".join(f"{ln},{coords[i]}\n" for i, ln in enumerate(lines)), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        io.read_sites(path)
    assert str(path) in str(exc.value) and words in str(exc.value), str(exc.value)


def test_a_good_antenna_parent_passes(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,name,kind,parent_id,lat,lon\n413,A,principal,,47.62,6.15\nb,B,antenna,413.0,47.44,5.59\n",
                    encoding="utf-8")
    assert io.read_sites(path)["parent_id"].tolist() == [None, "413.0"]


# --- network -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("column", ["length_m", "travel_time_s"])
def test_network_with_all_zero_edges_is_an_error(column):
    from fsgeo.network import RoadNetwork

    nodes = gpd.GeoDataFrame({"x": [6.0, 6.01, 6.02], "y": [47.6, 47.6, 47.61]}, index=[1, 2, 3],
                             geometry=[Point(6.0, 47.6), Point(6.01, 47.6), Point(6.02, 47.61)], crs="EPSG:4326")
    edges = pd.DataFrame({"u": [1, 2, 2, 3], "v": [2, 1, 3, 2], "length_m": [750.0] * 4, "travel_time_s": [40.0] * 4})
    RoadNetwork(nodes, edges)  # fine
    edges[column] = 0.0
    with pytest.raises(InputError, match=f"every one of the 4 edges has {column} 0"):
        RoadNetwork(nodes, edges, name="zero.gpkg")


def test_population_limit_is_above_paris():
    assert io.MAX_COMMUNE_POPULATION > 2_200_000 and np.isfinite(io.MAX_COMMUNE_POPULATION)
