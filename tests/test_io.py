"""Readers of user files: schema, defaults, and every error case.

Each error message must name the file, the row or id, and the problem.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

from fsgeo.io import (
    COMMUNE_COLUMNS,
    SITE_COLUMNS,
    InputError,
    check_geometries,
    check_unique_ids,
    clean_id,
    clean_text,
    commune_table,
    departement_of,
    normalise_kind,
    read_anct_csv,
    read_communes,
    read_points,
    read_sites,
)

# the real ANCT header (same order as liste-fs-20240801.csv)
ANCT_HEADER = ["id_fs", "insee_dep", "lib_fs", "adresse", "complement_adresse", "insee_com", "code_postal", "lib_com",
               "latitude", "longitude", "mail", "telephone", "h_lundi", "h_mardi", "h_mercredi", "h_jeudi",
               "h_vendredi", "h_samedi", "prise_rdv", "commentaire", "type_fs", "format_fs", "groupe_fs",
               "labellisation_fs"]
TO_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


def anct_row(**kw) -> dict:
    row = {c: "" for c in ANCT_HEADER}
    row.update({"id_fs": "413", "insee_dep": "70", "lib_fs": "France services Lavoncourt", "adresse": "12 Rue X",
                "insee_com": "70299", "code_postal": "70120", "lib_com": "Lavoncourt", "latitude": "47.62602",
                "longitude": "5.785213", "h_lundi": "09:00 - 12:00 / 13:30 - 16:30 / 13:30 - 16:30",
                "h_mardi": "00:00 - 00:00 / 09:00 - 12:00", "type_fs": "Principal", "format_fs": "Fixe",
                "labellisation_fs": "Espace labellisé 01/09/2020"})
    row.update(kw)
    return row


def write_csv(path: Path, rows: list[dict], header=None, sep=",") -> Path:
    header = header or list(rows[0].keys())
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header, delimiter=sep, quoting=csv.QUOTE_ALL, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def write_geojson(path: Path, features: list[tuple[dict, dict | None]], crs: str | None = None) -> Path:
    doc = {"type": "FeatureCollection",
           "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def pt(lon, lat):
    return {"type": "Point", "coordinates": [lon, lat]}


def raises_naming(path: Path, *fragments):
    """Context: an InputError whose message names the file and every fragment (row, id, problem)."""

    class _Ctx:
        def __enter__(self):
            self.cm = pytest.raises(InputError)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.cm.__exit__(*exc)
            msg = str(self.info.value)
            assert str(path) in msg, msg
            for f in fragments:
                assert f in msg, f"{f!r} not in {msg!r}"
            return handled

    return _Ctx()


# --- ANCT CSV ------------------------------------------------------------------------------------------------------

@pytest.fixture
def anct_file(tmp_path):
    rows = [
        anct_row(),
        anct_row(id_fs="417", lib_fs="France services Saint Loup sur Semouse - Haute Comté", groupe_fs="Haute Comté",
                 latitude="47.883057", longitude="6.27913", insee_com="70467", lib_com="Saint-Loup-sur-Semouse"),
        anct_row(id_fs="682", lib_fs="France services Haute Comté - Antenne de Vauvillers", type_fs="Antenne",
                 groupe_fs="Haute Comté", latitude="47.92121", longitude="6.09853", insee_com="70526",
                 labellisation_fs="Espace labellisé 15/11/2022"),
        # antenna without group, matched by name to a principal of the same département
        anct_row(id_fs="524", insee_dep="88", lib_fs="France services de Fraize", insee_com="88181",
                 latitude="48.18", longitude="6.99", format_fs="Multisites"),
        anct_row(id_fs="520", insee_dep="88", lib_fs="France services Fraize - Antenne de Corcieux",
                 type_fs="Antenne", format_fs="Fixe_antenne(s)", insee_com="88115", latitude="48.17",
                 longitude="6.88"),
        # antenna with no possible parent
        anct_row(id_fs="999", insee_dep="88", lib_fs="France services Nulle Part - Antenne de Ici", type_fs="Antenne",
                 format_fs="Itinérante", latitude="48.1", longitude="6.5"),
        anct_row(id_fs="3", insee_dep="02", lib_fs="Bus France services Thiérache", format_fs="Bus_équivalent",
                 latitude="49.90147", longitude="3.626688", insee_com="02361"),
    ]
    return write_csv(tmp_path / "anct.csv", rows, ANCT_HEADER)


def test_read_anct_csv_schema_and_mappings(anct_file):
    g = read_anct_csv(anct_file)
    assert list(g.columns) == [*SITE_COLUMNS, "geometry"]
    assert g.crs == "EPSG:4326" and (g.geom_type == "Point").all()
    s = g.set_index("id")
    assert s.loc["413", "kind"] == "principal" and s.loc["682", "kind"] == "antenna"
    assert s.loc["524", "format"] == "multisite" and s.loc["520", "format"] == "fixed_with_antennas"
    assert s.loc["999", "format"] == "itinerant" and s.loc["3", "format"] == "bus" and s.loc["413", "format"] == "fixed"
    assert s.loc["413", "labelled_on"] == "2020-09-01" and s.loc["682", "labelled_on"] == "2022-11-15"
    assert s.loc["413", "hours_monday"] == "09:00-12:00,13:30-16:30"
    assert s.loc["413", "hours_tuesday"] == "09:00-12:00"
    assert s.loc["413", "weekly_open_hours"] == pytest.approx(6 + 3)
    assert s.loc["413", "geometry"].x == 5.785213 and s.loc["413", "geometry"].y == 47.62602
    assert s.loc["413", "commune_code"] == "70299" and s.loc["3", "commune_code"] == "02361"
    assert s.loc["3", "departement"] == "02"
    # in_departement: relative to the study's département(s); with none given, every row is the file's own
    assert s["in_departement"].all()
    s70 = read_anct_csv(anct_file, departement="70").set_index("id")
    assert s70.loc["413", "in_departement"] and not s70.loc["524", "in_departement"]
    assert read_anct_csv(anct_file, departement="88").set_index("id").loc["524", "in_departement"]
    both = read_anct_csv(anct_file, departement=["70", "88"]).set_index("id")  # a study of several départements
    assert both.loc["413", "in_departement"] and both.loc["524", "in_departement"]
    assert not both.loc["3", "in_departement"]  # 02
    # parents: by group, by name, none; every antenna reported
    assert s.loc["682", "parent_id"] == "417"
    assert s.loc["520", "parent_id"] == "524"
    assert s.loc["999", "parent_id"] is None and s.loc["413", "parent_id"] is None
    report = {m["id"]: m for m in g.attrs["antenna_matches"]}
    assert set(report) == {"682", "520", "999"}
    assert report["682"]["method"] == "group" and report["520"]["method"] == "name"
    assert report["999"]["method"] == "none" and "nulle part" in report["999"]["reason"]


def test_read_sites_detects_anct(anct_file):
    g = read_sites(anct_file)
    assert len(g) == 7 and g.set_index("id").loc["682", "parent_id"] == "417"


def test_anct_missing_column(tmp_path):
    header = [c for c in ANCT_HEADER if c != "labellisation_fs"]
    path = write_csv(tmp_path / "anct.csv", [anct_row()], header)
    with raises_naming(path, "missing column", "labellisation_fs"):
        read_anct_csv(path)


@pytest.mark.parametrize(
    "override, fragments",
    [
        ({"latitude": "47,6x"}, ["row 2", "'414'", "latitude", "47,6x"]),
        ({"longitude": ""}, ["row 2", "'414'", "missing value", "longitude"]),
        ({"h_jeudi": "09:00 - 08:00"}, ["row 2", "'414'", "hours_thursday", "ends at or before"]),
        ({"h_lundi": "matin"}, ["row 2", "'414'", "hours_monday", "'matin'"]),
        ({"labellisation_fs": "Espace labellisé 31/02/2022"}, ["row 2", "'414'", "labelled_on", "31/02/2022"]),
        ({"format_fs": "Camion"}, ["row 2", "'414'", "unknown format", "Camion"]),
        ({"type_fs": "Annexe"}, ["row 2", "'414'", "unknown kind", "Annexe"]),
        ({"id_fs": "413"}, ["row 2", "'413'", "duplicate id", "row 1"]),
        ({"type_fs": ""}, ["row 2", "'414'", "missing value", "type_fs"]),
        ({"latitude": "5.8", "longitude": "47.6"}, ["row 2", "'414'", "outside France", "swapped"]),
        ({"latitude": "52.52", "longitude": "13.40"}, ["row 2", "'414'", "outside France", "lat/lon may be swapped"]),
    ],
)
def test_anct_row_errors(tmp_path, override, fragments):
    path = write_csv(tmp_path / "anct.csv", [anct_row(), anct_row(**{"id_fs": "414", **override})], ANCT_HEADER)
    with raises_naming(path, *fragments):
        read_anct_csv(path)


# --- plain CSV -----------------------------------------------------------------------------------------------------

def test_plain_csv_lat_lon_and_defaults(tmp_path, embedded_communes):
    path = write_csv(tmp_path / "s.csv", [
        {"id": "a", "name": "Mairie de Gray", "lat": "47.43", "lon": "5.59", "note": "x"},
        {"id": "b", "name": "Mairie de Vesoul", "lat": "47.62", "lon": "6.15", "note": "y"},
    ])
    g = read_sites(path)
    assert list(g.columns)[: len(SITE_COLUMNS)] == list(SITE_COLUMNS) and "note" in g.columns  # extras kept
    assert g.crs == "EPSG:4326"
    assert list(g["kind"]) == ["principal"] * 2 and list(g["format"]) == ["fixed"] * 2
    assert g["parent_id"].isna().all() and g["labelled_on"].isna().all()
    # no study: no département of interest, every row the file's own; the département is never assumed (issue 9
    # §4: it was taken to be the study's): it comes from the commune polygon each point lies in
    assert g["in_departement"].all() and (g["departement"] == "").all()
    g70 = read_sites(path, departement=["70"], communes=embedded_communes)
    assert g70["in_departement"].all() and (g70["departement"] == "70").all()
    assert not read_sites(path, departement=["25", "90"], communes=embedded_communes)["in_departement"].any()
    unknown = read_sites(path, departement=["70"])  # nothing to place the points with: not assumed to be in 70
    assert not unknown["in_departement"].any() and (unknown["departement"] == "").all()
    assert g["weekly_open_hours"].isna().all()  # no hours given: unknown, not "closed"
    assert g.geometry.x.tolist() == [5.59, 6.15] and g.geometry.y.tolist() == [47.43, 47.62]


def test_plain_csv_semicolon_decimal_comma_and_long_names(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id;name;latitude;longitude;hours_monday\n1;A;47,43;5,59;9h-12h\n", encoding="utf-8")
    g = read_sites(path)
    assert g.geometry.x.iat[0] == 5.59 and g.geometry.y.iat[0] == 47.43
    assert g["hours_monday"].iat[0] == "09:00-12:00" and g["weekly_open_hours"].iat[0] == 3.0


def test_plain_csv_trailing_separators(tmp_path):
    # every row ends with a separator (a common export): pandas would take the first column as an index and shift
    # every other column left
    path = tmp_path / "s.csv"
    path.write_text("id,name,lat,lon\na,A,47.43,5.59,\nb,B,47.62,6.15,\n", encoding="utf-8")
    g = read_sites(path)
    assert g["id"].tolist() == ["a", "b"] and g["name"].tolist() == ["A", "B"]
    assert g.geometry.x.tolist() == [5.59, 6.15] and g.geometry.y.tolist() == [47.43, 47.62]
    extra = tmp_path / "extra.csv"
    extra.write_text("id,name,lat,lon\na,A,47.43,5.59,\nb,B,47.62,6.15,Vesoul\n", encoding="utf-8")
    with raises_naming(extra, "row 2", "more fields than the header", "'Vesoul'"):
        read_sites(extra)


@pytest.fixture
def small_communes():
    sq = box(6.0, 47.5, 6.1, 47.6)
    return gpd.GeoDataFrame(
        {"code": ["70550", "70279"], "name": ["Vesoul", "Gray"], "departement": ["70", "70"],
         "population": [14000, 5400], "area_km2": [9.0, 9.0], "point_lon": [6.05, 5.59], "point_lat": [47.55, 47.43]},
        geometry=[sq, sq], crs="EPSG:4326")


def test_plain_csv_commune_code_places_at_demand_point(tmp_path, small_communes):
    path = write_csv(tmp_path / "s.csv", [
        {"id": "p1", "name": "Projet Vesoul", "insee": "70550", "lat": "", "lon": ""},
        {"id": "p2", "name": "Projet Gray", "insee": "70279", "lat": "47.44", "lon": "5.60"},
    ])
    g = read_sites(path, communes=small_communes)
    assert (g.geometry.x.iat[0], g.geometry.y.iat[0]) == (6.05, 47.55)
    assert g["commune_name"].iat[0] == "Vesoul" and g["commune_code"].iat[0] == "70550"
    assert (g.geometry.x.iat[1], g.geometry.y.iat[1]) == (5.60, 47.44)  # lat/lon win when given


def test_plain_csv_commune_code_only(tmp_path, small_communes):
    path = write_csv(tmp_path / "s.csv", [{"id": "p1", "name": "P", "commune_code": "70279"}])
    g = read_sites(path, communes=small_communes)
    assert (g.geometry.x.iat[0], g.geometry.y.iat[0]) == (5.59, 47.43) and g["departement"].iat[0] == "70"


def test_plain_csv_commune_code_that_lost_its_leading_zero(tmp_path, small_communes):
    communes = small_communes.assign(code=["01004", "70279"])
    path = write_csv(tmp_path / "s.csv", [{"id": "p1", "name": "P", "commune_code": "1004"}])  # as Excel saves it
    g = read_sites(path, communes=communes)
    assert g["commune_code"].iat[0] == "01004" and (g.geometry.x.iat[0], g.geometry.y.iat[0]) == (6.05, 47.55)
    assert g["departement"].iat[0] == "01"


def test_plain_csv_unknown_commune_code(tmp_path, small_communes):
    path = write_csv(tmp_path / "s.csv", [{"id": "p1", "name": "P", "commune_code": "70279"},
                                          {"id": "p2", "name": "Q", "commune_code": "99999"}])
    with raises_naming(path, "row 2", "'p2'", "unknown commune code", "99999"):
        read_sites(path, communes=small_communes)


@pytest.mark.parametrize(
    "rows, fragments",
    [
        ([{"name": "A", "lat": "47.4", "lon": "5.6"}], ["missing column", "'id'"]),
        ([{"id": "1", "lat": "47.4", "lon": "5.6"}], ["missing column", "'name'"]),
        ([{"id": "1", "name": "A", "lat": "47.4"}], ["missing column", "'lon'"]),
        ([{"id": "1", "name": "A", "x": "1"}], ["missing columns", "commune_code"]),
        ([{"id": "1", "name": "A", "lat": "47.4", "lon": "5.6"}, {"id": "2", "name": "B", "lat": "n/a", "lon": "5.6"}],
         ["row 2", "'2'", "cannot read lat 'n/a'"]),
        ([{"id": "1", "name": "A", "lat": "47.4", "lon": "5.6"}, {"id": "1", "name": "B", "lat": "47.5", "lon": "5.7"}],
         ["row 2", "'1'", "duplicate id", "row 1"]),
        ([{"id": "1", "name": "A", "lat": "47.4", "lon": "5.6"}, {"id": "", "name": "B", "lat": "47.5", "lon": "5.7"}],
         ["row 2", "missing id"]),
        ([{"id": "1", "name": "", "lat": "47.4", "lon": "5.6"}], ["row 1", "'1'", "missing name"]),
        ([{"id": "1", "name": "A", "lat": "6677000", "lon": "900000"}], ["row 1", "'1'", "wrong CRS?"]),
        ([{"id": "1", "name": "A", "lat": "40.4", "lon": "-3.7"}], ["row 1", "'1'", "outside France"]),
        ([{"id": "1", "name": "A", "lat": "47.4", "lon": "5.6", "kind": "annexe"}], ["row 1", "'1'", "unknown kind"]),
        ([{"id": "1", "name": "A", "insee": ""}], ["row 1", "'1'", "missing commune code", "'insee'"]),
        ([{"id": "1", "name": "A", "lat": "", "lon": "", "insee": ""}], ["row 1", "'1'", "missing coordinates"]),
        ([{"id": "1", "name": "A", "lat": "47.4", "lon": "5.6", "labelled_on": "hier"}],
         ["row 1", "'1'", "labelled_on", "'hier'"]),
        ([{"id": "1", "name": "A", "lat": "47.4", "lon": "5.6", "in_departement": "peut-être"}],
         ["row 1", "'1'", "in_departement"]),
    ],
)
def test_plain_csv_errors(tmp_path, rows, fragments):
    header = list(dict.fromkeys(k for r in rows for k in r))
    path = write_csv(tmp_path / "s.csv", rows, header)
    with raises_naming(path, *fragments):
        read_sites(path, communes=gpd.GeoDataFrame())


def test_overseas_points_are_in_france(tmp_path):
    path = write_csv(tmp_path / "s.csv", [{"id": "974", "name": "Saint-Denis", "lat": "-20.88", "lon": "55.45"},
                                          {"id": "2A", "name": "Ajaccio", "lat": "41.92", "lon": "8.74"},
                                          {"id": "973", "name": "Cayenne", "lat": "4.93", "lon": "-52.33"}])
    assert len(read_sites(path)) == 3


def test_empty_file(tmp_path):
    path = write_csv(tmp_path / "s.csv", [], ["id", "name", "lat", "lon"])
    with raises_naming(path, "no sites"):
        read_sites(path)


def test_missing_file_and_unsupported_type(tmp_path):
    with raises_naming(tmp_path / "nope.csv", "file not found"):
        read_sites(tmp_path / "nope.csv")
    p = tmp_path / "sites.xlsx"
    p.write_bytes(b"x")
    with raises_naming(p, "unsupported"):
        read_sites(p)


# --- GeoJSON / GeoPackage sites ------------------------------------------------------------------------------------

def test_geojson_defaults_and_round_trip_of_embedded_schema(tmp_path):
    path = write_geojson(tmp_path / "s.geojson", [
        ({"id": 12, "name": "A", "hours_monday": "9:00-12:00", "labelled_on": "2021-04-01"}, pt(6.1, 47.6)),
        ({"id": 13, "name": "B", "kind": "antenna", "parent_id": 12, "format": "Itinérante"}, pt(6.2, 47.7)),
    ])
    g = read_sites(path)
    assert list(g["id"]) == ["12", "13"] and g["parent_id"].iat[1] == "12"  # numeric ids become strings
    assert g["hours_monday"].iat[0] == "09:00-12:00" and g["weekly_open_hours"].iat[0] == 3.0
    assert g["labelled_on"].iat[0] == "2021-04-01" and g["labelled_on"].iat[1] is None
    assert g["format"].iat[1] == "itinerant" and g["kind"].iat[1] == "antenna"
    assert g.crs == "EPSG:4326"


def test_weekly_open_hours_given_with_the_day_hours(tmp_path):
    # hours per day and weekly_open_hours both given (the embedded schema): they must agree; blank days keep the total
    path = write_geojson(tmp_path / "s.geojson", [
        ({"id": "a", "name": "A", "hours_monday": "09:00-12:00", "weekly_open_hours": 3.0}, pt(6.1, 47.6)),
        ({"id": "b", "name": "B", "hours_monday": "", "weekly_open_hours": 24.0}, pt(6.2, 47.7)),
        ({"id": "c", "name": "C", "hours_monday": "", "weekly_open_hours": None}, pt(6.3, 47.7)),
    ])
    g = read_sites(path).set_index("id")
    assert g.loc["a", "weekly_open_hours"] == 3.0
    assert g.loc["b", "weekly_open_hours"] == 24.0      # the file's total, not 0 from the blank days
    assert g.loc["c", "weekly_open_hours"] == 0.0       # hour columns present and blank: closed, as before
    bad = write_geojson(tmp_path / "bad.geojson", [
        ({"id": "a", "name": "A", "hours_monday": "09:00-12:00", "weekly_open_hours": 3.0}, pt(6.1, 47.6)),
        ({"id": "b", "name": "B", "hours_monday": "09:00-12:00", "weekly_open_hours": 30.0}, pt(6.2, 47.7)),
    ])
    with raises_naming(bad, "row 2", "'b'", "weekly_open_hours 30", "3 h"):
        read_sites(bad)
    nan = write_csv(tmp_path / "nan.csv", [{"id": "a", "name": "A", "lat": "47.6", "lon": "6.1",
                                            "weekly_open_hours": "-2"}])
    with raises_naming(nan, "row 1", "'a'", "weekly_open_hours", "'-2'", ">= 0"):
        read_sites(nan)


def test_projected_crs_is_reprojected(tmp_path):
    lon, lat = 6.1545, 47.6193  # Vesoul
    x, y = TO_L93.transform(lon, lat)
    path = write_geojson(tmp_path / "l93.geojson", [({"id": "v", "name": "Vesoul"}, pt(x, y))],
                         crs="urn:ogc:def:crs:EPSG::2154")
    g = read_sites(path)
    assert g.crs == "EPSG:4326"
    assert g.geometry.x.iat[0] == pytest.approx(lon, abs=1e-7) and g.geometry.y.iat[0] == pytest.approx(lat, abs=1e-7)
    # the same in a GeoPackage
    gpkg = tmp_path / "l93.gpkg"
    gpd.GeoDataFrame({"id": ["v"], "name": ["Vesoul"]}, geometry=[Point(x, y)], crs="EPSG:2154").to_file(gpkg)
    g2 = read_sites(gpkg)
    assert g2.geometry.x.iat[0] == pytest.approx(lon, abs=1e-7)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_metres_without_crs_is_wrong_crs(tmp_path):
    x, y = TO_L93.transform(6.1545, 47.6193)
    path = write_geojson(tmp_path / "nocrs.geojson", [({"id": "a", "name": "A"}, pt(6.1, 47.6)),
                                                      ({"id": "v", "name": "Vesoul"}, pt(x, y))])
    with raises_naming(path, "row 2", "wrong CRS?", "projected metres"):
        read_sites(path)
    gpkg = tmp_path / "nocrs.gpkg"
    gpd.GeoDataFrame({"id": ["v"], "name": ["V"]}, geometry=[Point(x, y)]).to_file(gpkg)
    with raises_naming(gpkg, "row 1", "wrong CRS?"):
        read_sites(gpkg)


@pytest.mark.parametrize(
    "features, fragments",
    [
        ([({"id": "a"}, pt(6.1, 47.6))], ["missing column", "'name'"]),
        ([({"id": "a", "name": "A"}, pt(6.1, 47.6)), ({"id": "b", "name": "B"}, None)],
         ["row 2", "'b'", "empty geometry"]),
        ([({"id": "a", "name": "A"}, {"type": "Polygon", "coordinates": [[[6, 47], [6.1, 47], [6, 47.1], [6, 47]]]})],
         ["row 1", "'a'", "Polygon, expected Point"]),
        ([({"id": "a", "name": "A"}, pt(6.1, 47.6)), ({"id": "a", "name": "B"}, pt(6.2, 47.6))],
         ["row 2", "'a'", "duplicate id"]),
        ([({"id": "a", "name": "A"}, pt(-74.0, 40.7))], ["row 1", "'a'", "outside France"]),
        ([({"id": "a", "name": "A", "kind": "kiosk"}, pt(6.1, 47.6))], ["row 1", "'a'", "unknown kind", "kiosk"]),
        ([({"id": "a", "name": "A", "hours_friday": "14:00 - 12:00"}, pt(6.1, 47.6))],
         ["row 1", "'a'", "hours_friday", "ends at or before"]),
    ],
)
def test_geojson_errors(tmp_path, features, fragments):
    path = write_geojson(tmp_path / "s.geojson", features)
    with raises_naming(path, *fragments):
        read_sites(path)


def test_gpkg_several_layers_needs_a_sites_layer(tmp_path):
    gpkg = tmp_path / "multi.gpkg"
    g = gpd.GeoDataFrame({"id": ["a"], "name": ["A"]}, geometry=[Point(6.1, 47.6)], crs="EPSG:4326")
    g.to_file(gpkg, layer="one")
    g.to_file(gpkg, layer="two")
    with raises_naming(gpkg, "2 layers", "'sites'"):
        read_sites(gpkg)
    g.to_file(gpkg, layer="sites")
    assert read_sites(gpkg)["id"].tolist() == ["a"]


# --- communes ------------------------------------------------------------------------------------------------------

def _l93_square(x0, y0, side_m):
    return box(x0, y0, x0 + side_m, y0 + side_m)


def _communes_file(tmp_path, props: list[dict], geoms=None, crs="EPSG:2154", name="c.gpkg") -> Path:
    x0, y0 = TO_L93.transform(6.1, 47.6)
    geoms = geoms or [_l93_square(x0 + 20_000 * i, y0, 10_000) for i in range(len(props))]
    path = tmp_path / name
    gpd.GeoDataFrame(props, geometry=geoms, crs=crs).to_file(path)
    return path


def test_read_communes_computes_area_and_point(tmp_path):
    path = _communes_file(tmp_path, [{"code": "70001", "nom": "A", "population": 120},
                                     {"code": "70002", "nom": "B", "population": 0}])
    c = read_communes(path)
    assert list(c.columns) == [*COMMUNE_COLUMNS, "geometry"] and c.crs == "EPSG:4326"
    assert c["area_km2"].tolist() == pytest.approx([100.0, 100.0], rel=1e-6)  # 10 km x 10 km in Lambert-93
    assert c["population"].dtype == np.int64 and c["departement"].tolist() == ["70", "70"]
    for poly, lon, lat in zip(c.geometry, c["point_lon"], c["point_lat"]):
        assert poly.contains(Point(lon, lat))


@pytest.mark.parametrize(
    "props, fragments",
    [
        ([{"code": "70001", "name": "A"}], ["missing column", "'population'"]),
        ([{"name": "A", "population": 1}], ["missing column", "'code'"]),
        ([{"code": "70001", "name": "A", "population": 5}, {"code": "70002", "name": "B", "population": -3}],
         ["row 2", "'70002'", "negative population"]),
        ([{"code": "70001", "name": "A", "population": 5}, {"code": "70002", "name": "B", "population": None}],
         ["row 2", "'70002'", "missing population"]),
        ([{"code": "70001", "name": "A", "population": 5.5}], ["row 1", "'70001'", "whole number"]),
        ([{"code": "70001", "name": "A", "population": 5}, {"code": "70001", "name": "B", "population": 6}],
         ["row 2", "'70001'", "duplicate commune code"]),
        ([{"code": "70001", "name": "A", "population": 5, "area_km2": 3.2},
          {"code": "70002", "name": "B", "population": 6, "area_km2": -1.5}],
         ["row 2", "'70002'", "area_km2 -1.5", ">= 0"]),
        ([{"code": "70001", "name": "A", "population": 5, "area_km2": "nan"}], ["row 1", "'70001'", "area_km2 'nan'"]),
        ([{"code": "70001", "name": "A", "population": 5, "point_lon": 6.15}],
         ["missing column 'point_lat'", "point_lon is given"]),
    ],
)
def test_read_communes_errors(tmp_path, props, fragments):
    path = _communes_file(tmp_path, props)
    with raises_naming(path, *fragments):
        read_communes(path)


def test_read_communes_missing_column_lists_the_file_columns(tmp_path):
    path = _communes_file(tmp_path, [{"nom": "A", "population": 1}])
    with raises_naming(path, "missing column 'code' (columns found: nom, population, geometry)"):
        read_communes(path)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_read_communes_geometry_errors(tmp_path):
    x0, y0 = TO_L93.transform(6.1, 47.6)
    bowtie = {"type": "Polygon", "coordinates": [[[6.0, 47.0], [6.1, 47.1], [6.1, 47.0], [6.0, 47.1], [6.0, 47.0]]]}
    path = write_geojson(tmp_path / "c.geojson", [({"code": "70001", "name": "A", "population": 1}, bowtie)])
    with raises_naming(path, "row 1", "'70001'", "invalid geometry", "Self-intersection"):
        read_communes(path)
    path = write_geojson(tmp_path / "c2.geojson", [({"code": "70001", "name": "A", "population": 1}, None)])
    with raises_naming(path, "row 1", "'70001'", "empty geometry"):
        read_communes(path)
    path = _communes_file(tmp_path, [{"code": "70001", "name": "A", "population": 1}],
                          geoms=[_l93_square(x0, y0, 1000)], crs=None, name="nocrs.gpkg")
    with raises_naming(path, "row 1", "wrong CRS?"):
        read_communes(path)


# --- the public point reader and validation helpers (shared with fsgeo.siting) --------------------------------------

def test_read_points_candidates_csv_with_commune_codes(tmp_path, small_communes):
    path = tmp_path / "c.csv"
    path.write_text("name;insee;lat;lon;kind;note\nMairie;70550;;;;a\n;70279;;;Antenne;b\nSalle;;47,62;6,15;;c\n",
                    encoding="utf-8")
    pts = read_points(path, communes=small_communes, required=(), what="candidate")
    assert list(pts.columns) == ["id", "name", "commune_code", "kind", "note", "commune_name", "geometry"]
    assert pts["id"].tolist() == ["1", "2", "3"] and pts.crs == "EPSG:4326" and list(pts.index) == [0, 1, 2]
    # code-only rows sit at the commune's demand point and take its name; a lat/lon row keeps its own point
    assert [(p.x, p.y) for p in pts.geometry] == [(6.05, 47.55), (5.59, 47.43), (6.15, 47.62)]
    assert pts["commune_name"].tolist() == ["Vesoul", "Gray", ""]
    assert pts["commune_code"].tolist() == ["70550", "70279", ""]
    assert pts["kind"].tolist() == ["", "Antenne", ""]  # other columns untouched: the caller validates them
    with raises_naming(path, "row 2", "'2'", "unknown commune code '70279'", "place candidates"):
        read_points(path, communes=small_communes.iloc[:1], required=(), what="candidate")
    with raises_naming(path, "missing column", "'id'"):
        read_points(path, communes=small_communes)  # id required by default


def test_read_points_geojson_projected_crs_reprojected(tmp_path):
    lon, lat = 6.1545, 47.6193  # Vesoul
    x, y = TO_L93.transform(lon, lat)
    path = write_geojson(tmp_path / "c.geojson", [({"id": 7.0, "commune_code": 1004}, pt(x, y)),
                                                  ({"id": 8.0, "commune_code": None}, pt(x + 1000, y))],
                         crs="urn:ogc:def:crs:EPSG::2154")
    pts = read_points(path, what="candidate")
    assert pts.crs == "EPSG:4326" and pts["id"].tolist() == ["7", "8"]  # GDAL's floats become text ids
    assert (pts.geometry.x.iat[0], pts.geometry.y.iat[0]) == pytest.approx((lon, lat), abs=1e-7)
    x1, y1 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True).transform(x + 1000, y)
    assert (pts.geometry.x.iat[1], pts.geometry.y.iat[1]) == pytest.approx((x1, y1), abs=1e-9)
    assert pts["commune_code"].tolist() == ["01004", ""]  # a code read as a number gets its leading zero back
    # a GeoPackage with several layers: the `what` layer by default, or the one named
    gpkg = tmp_path / "multi.gpkg"
    for layer, ident in (("other", "o"), ("candidates", "c")):
        gpd.GeoDataFrame({"id": [ident]}, geometry=[Point(x, y)], crs="EPSG:2154").to_file(gpkg, layer=layer)
    assert read_points(gpkg, what="candidate")["id"].tolist() == ["c"]
    assert read_points(gpkg, what="candidate", layer="other")["id"].tolist() == ["o"]
    with raises_naming(gpkg, "2 layers", "'sites'"):
        read_points(gpkg)


@pytest.mark.parametrize("make, fragments", [
    (lambda d: write_csv(d / "c.csv", [{"id": "A", "lat": "47.6", "lon": "6.1"},
                                       {"id": "B", "lat": "47.7", "lon": "6.2"},
                                       {"id": "A", "lat": "47.8", "lon": "6.3"}]),
     ["row 3", "'A'", "duplicate id", "also on row 1"]),
    (lambda d: write_geojson(d / "c.geojson", [({"id": 1}, pt(6.1, 47.6)), ({"id": 1.0}, pt(6.2, 47.6))]),
     ["row 2", "'1'", "duplicate id", "also on row 1"]),
    (lambda d: write_csv(d / "c.csv", [], ["id", "lat", "lon"]), ["no candidates in the file"]),
    (lambda d: write_csv(d / "c.csv", [{"id": "A", "lat": "47.6"}]), ["missing column 'lon'", "CSV of candidates"]),
    (lambda d: write_geojson(d / "c.geojson", [({"id": "A"}, pt(-3.7, 40.4))]), ["row 1", "'A'", "outside France"]),
    (lambda d: write_geojson(d / "c.geojson", [({"id": "A"}, {"type": "LineString",
                                                              "coordinates": [[6.1, 47.6], [6.2, 47.7]]})]),
     ["row 1", "'A'", "LineString, expected Point"]),
])
def test_read_points_errors_name_file_row_and_id(tmp_path, make, fragments):
    path = make(tmp_path)
    with raises_naming(path, *fragments):
        read_points(path, what="candidate")


def test_commune_table_validates_in_memory_communes():
    t = commune_table(pd.DataFrame({"code": ["70001", "70002"], "population": [10, 0], "name": ["A", "B"]}))
    assert t.columns.tolist() == ["code", "name", "departement", "population"]
    assert t["code"].tolist() == ["70001", "70002"] and t["population"].tolist() == [10.0, 0.0]
    assert commune_table(pd.DataFrame({"code": [70001.0], "population": [1]}))["code"].tolist() == ["70001"]
    for codes in (["70001", None], ["70001", float("nan")], ["70001", " "]):
        with pytest.raises(InputError, match=r"^commune on row 2 has no code$"):
            commune_table(pd.DataFrame({"code": codes, "population": [1, 2]}))
    with pytest.raises(InputError, match=r"^duplicate commune code\(s\): 70001$"):
        commune_table(pd.DataFrame({"code": ["70001", "70001"], "population": [1, 2]}))
    with pytest.raises(InputError, match=r"^commune 70002: population missing, infinite or negative \(nan\)"):
        commune_table(pd.DataFrame({"code": ["70001", "70002"], "population": [1, float("nan")]}))
    with pytest.raises(InputError, match=r"^communes lack column\(s\) population$"):
        commune_table(pd.DataFrame({"code": ["70001"]}))


def test_validation_helpers():
    assert str(InputError.at("f.csv", "bad", 2, "A")) == "f.csv: row 2 (id 'A'): bad"
    assert str(InputError.at("f.csv", "bad", ident="A")) == "f.csv: id 'A': bad"
    assert str(InputError.at(None, "bad", 2)) == "row 2: bad"
    assert check_unique_ids([12.0, " b ", "c"], "f") == ["12", "b", "c"]
    with pytest.raises(InputError, match=r"^f: row 3 \(id 'a'\): duplicate id 'a' \(also on row 1\)$"):
        check_unique_ids(["a", "b", "a"], "f")
    with pytest.raises(InputError, match=r"^f: row 2: missing commune code$"):
        check_unique_ids(["70001", float("nan")], "f", "commune code")
    assert [normalise_kind(v) for v in ("Antenne", " PRINCIPAL ", "antenna", None, "")] == [
        "antenna", "principal", "antenna", "principal", "principal"]
    assert normalise_kind("", default="antenna") == "antenna"
    with pytest.raises(InputError, match=r"^f: row 4 \(id 'x'\): unknown kind 'kiosk'"):
        normalise_kind("kiosk", "principal", "f", 4, "x")
    gdf = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[Point(6, 47), box(6, 47, 7, 48)], crs="EPSG:4326")
    with pytest.raises(InputError, match=r"^g: row 2 \(id 'b'\): geometry is a Polygon, expected Point$"):
        check_geometries("g", gdf, ["a", "b"])
    check_geometries("g", gdf, ["a", "b"], ("Point", "Polygon"))  # allowed: no error
    assert (clean_text(float("nan")), clean_text("  x "), clean_id(413.0), clean_id(" 07 ")) == ("", "x", "413", "07")
    # the département of an INSEE commune code (the build maps 2018 codes of other départements with it too)
    assert [departement_of(c) for c in ("70550", "01004", "2A004", "2B033", "97411", "97611", "")] == [
        "70", "01", "2A", "2B", "974", "976", ""]
