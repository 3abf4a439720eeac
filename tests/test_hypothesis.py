"""Issue 9: property-based tests (hypothesis) throwing generated garbage at every reader and at ``fsgeo map``.

The two invariants: a reader either raises a one-line :class:`~fsgeo.errors.InputError` naming the file, or returns a
result in which every input row is accounted for (one row out per row in, ids unique, nothing silently dropped). The
map either renders with every commune and site drawn and every generated string shown only as escaped text, or the
CLI exits 2 with one line. Bounded examples and derandomized, so the run is short and the same in CI.
"""

from __future__ import annotations

import csv
import io as _io
import json
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from fsgeo import io, maps
from fsgeo.errors import InputError

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# hostile text: template syntax, markup, formulas, separators, quotes, control characters, accents, numbers
NASTY = ["", " ", "X {{ 7*7 }}", "{% for %}", "Salle {#2", "<script>alert(1)</script>", "=HYPERLINK(\"x\")",
         "-2+3", "@SUM(1)", "a,b", "a;b", "a\tb", "a\nb", '"quoted"', "'", "\\", "`${x}`", "Haute-Saône", "Épinal",
         "413", "413.0", "1e15", "true", "nan", "NaN", "-1", "0", "47.62", "6,15", "\x00", "\u2028", "é" * 40]
text = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))
lat = st.one_of(st.floats(47.2, 48.0), st.sampled_from(["", "abc", "91", "47,5", "nan", "inf", "2000000"]),
                st.floats(allow_nan=True, allow_infinity=True))
lon = st.one_of(st.floats(5.4, 6.8), st.sampled_from(["", "x", "181", "6,1", "-inf"]), st.floats())

SITE_HEADERS = ["id", "name", "lat", "lon", "kind", "parent_id", "address", "comment", "departement",
                "commune_code", "weekly_open_hours", "labelled_on", "hours_monday", "in_departement", "nom", "type",
                "Latitude", "Longitude", "Adresse", "Commune", "junk", "=cmd"]


def _tmp(suffix: str) -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="fsgeo-hyp-")
    import os

    os.close(fd)
    return Path(name)


def _write_csv(rows: list[list], header: list[str], sep: str, encoding: str) -> Path:
    buf = _io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path = _tmp(".csv")
    path.write_bytes(buf.getvalue().encode(encoding, errors="replace"))
    return path


def _one_line_naming(exc: InputError, path: Path) -> None:
    event("InputError")
    msg = str(exc)
    assert "\n" not in msg.strip(), msg
    assert str(path) in msg, msg
    assert "np." not in msg.replace(str(path), ""), msg  # no numpy reprs


def _cell(value) -> str:
    return value if isinstance(value, str) else repr(value)


GOOD = {
    "kind": ["", "principal", "antenna", "Antenne", "Principal"], "type": ["principal", "Antenne"],
    "departement": ["", "70", "25", "2A"], "in_departement": ["", "true", "false", "oui", "0"],
    "weekly_open_hours": ["", "12", "24,5", "0"], "labelled_on": ["", "2021-03-01", "01/03/2021"],
    "hours_monday": ["", "09:00-12:00", "9h-12h,14h-17h"], "parent_id": [""], "commune_code": [""],
}


@st.composite
def site_rows(draw, headers=SITE_HEADERS):
    """A table of site rows: either garbage everywhere, or a good file with at most one cell of garbage."""
    columns = draw(st.lists(st.sampled_from(headers), min_size=1, max_size=8, unique=True))
    good = draw(st.booleans())
    if good:
        columns = list(dict.fromkeys(["id", "name", "lat", "lon",
                                      *[c for c in columns if c not in ("nom", "Latitude", "Longitude")]]))
    n = draw(st.integers(0, 5))
    rows = []
    for i in range(n):
        row = []
        for c in columns:
            if good:
                if c == "id":
                    row.append(f"s{i}")
                elif c == "name":
                    row.append(draw(st.sampled_from([t for t in NASTY if t.strip() and t != "\x00"])))
                elif c == "lat":
                    row.append(repr(draw(st.floats(47.2, 48.0))))
                elif c == "lon":
                    row.append(repr(draw(st.floats(5.4, 6.8))))
                else:
                    row.append(draw(st.sampled_from(GOOD[c])) if c in GOOD else draw(text))
            elif c == "id":
                row.append(draw(st.one_of(st.just(f"s{i}"), text)))
            elif c in ("lat", "Latitude"):
                row.append(_cell(draw(lat)))
            elif c in ("lon", "Longitude"):
                row.append(_cell(draw(lon)))
            else:
                row.append(draw(text))
        rows.append(row)
    if good and rows and draw(st.booleans()):  # one cell of garbage in a good file
        r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(columns) - 1))
        rows[r][c] = draw(text)
    return columns, rows


def _check_sites_result(result, n_rows: int) -> None:
    event("read")
    assert len(result) == n_rows  # every row accounted for
    assert result["id"].is_unique and (result["id"].astype(str).str.len() > 0).all()
    assert result.crs is not None and result.crs.to_epsg() == 4326
    assert result.geometry.notna().all() and (result.geometry.geom_type == "Point").all()
    assert np.isfinite(result.geometry.x).all() and np.isfinite(result.geometry.y).all()


@pytest.fixture(scope="module")
def communes(embedded_communes):
    return embedded_communes


@SETTINGS
@given(data=site_rows(), sep=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "cp1252", "utf-8-sig"]))
def test_read_sites_csv(communes, data, sep, encoding):
    columns, rows = data
    path = _write_csv(rows, columns, sep, encoding)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = io.read_sites(path, communes=communes)
    except InputError as exc:
        _one_line_naming(exc, path)
    else:
        _check_sites_result(result, len(rows))
    finally:
        path.unlink()


@SETTINGS
@given(data=site_rows(), sep=st.sampled_from([",", ";"]))
def test_read_points_csv(communes, data, sep):
    columns, rows = data
    path = _write_csv(rows, columns, sep, "utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = io.read_points(path, what="candidate", communes=communes)
    except InputError as exc:
        _one_line_naming(exc, path)
    else:
        _check_sites_result(result, len(rows))
    finally:
        path.unlink()


@st.composite
def geojson_points(draw):
    n = draw(st.integers(0, 4))
    feats = []
    for i in range(n):
        props = {"id": draw(st.one_of(st.just(f"p{i}"), text, st.integers(), st.none())),
                 "name": draw(st.one_of(text, st.none(), st.booleans()))}
        for key in draw(st.lists(st.sampled_from(["kind", "comment", "departement", "weekly_open_hours", "nom"]),
                                 max_size=3, unique=True)):
            props[key] = draw(st.one_of(text, st.integers(-5, 5), st.floats(allow_nan=False), st.none()))
        geom = draw(st.sampled_from(["point", "point", "null", "polygon", "1d", "far"]))
        x, y = draw(st.floats(5.5, 6.7)), draw(st.floats(47.3, 47.9))
        geometry = {"point": {"type": "Point", "coordinates": [x, y]}, "null": None,
                    "polygon": box(x, y, x + 0.01, y + 0.01).__geo_interface__,
                    "1d": {"type": "Point", "coordinates": [x]},
                    "far": {"type": "Point", "coordinates": [x * 1e5, y * 1e5]}}[geom]
        if geometry is not None and geom == "polygon":
            geometry = json.loads(json.dumps(geometry))
        feats.append({"type": "Feature", "properties": props, "geometry": geometry})
    return {"type": "FeatureCollection", "features": feats}


@SETTINGS
@given(geojson_points())
def test_read_sites_geojson(fc):
    path = _tmp(".geojson")
    path.write_text(json.dumps(fc), encoding="utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = io.read_sites(path)
    except InputError as exc:
        _one_line_naming(exc, path)
    else:
        _check_sites_result(result, len(fc["features"]))
    finally:
        path.unlink()


@SETTINGS
@given(st.data())
def test_read_anct_csv(data):
    columns = list(io.ANCT_COLUMNS)
    drop = data.draw(st.lists(st.sampled_from(columns), max_size=1))
    columns = [c for c in columns if c not in drop]
    n = data.draw(st.integers(0, 4))
    good = data.draw(st.booleans())
    nice = {"latitude": lambda: repr(data.draw(st.floats(47.2, 48.0))),
            "longitude": lambda: repr(data.draw(st.floats(5.4, 6.8))),
            "type_fs": lambda: data.draw(st.sampled_from(["Principal", "Antenne"])),
            "format_fs": lambda: data.draw(st.sampled_from(["Fixe", "Itinérante", "Multisites"])),
            "insee_dep": lambda: data.draw(st.sampled_from(["70", "25"])),
            "insee_com": lambda: data.draw(st.sampled_from(["70550", "25056", ""])),
            "labellisation_fs": lambda: data.draw(st.sampled_from(["", "Espace labellisé 01/03/2021"])),
            "code_postal": lambda: "70000"}
    rows = []
    for i in range(n):
        row = []
        for c in columns:
            if good:
                if c == "id_fs":
                    row.append(str(100 + i))
                elif c in nice:
                    row.append(nice[c]())
                elif c.startswith("h_"):
                    row.append(data.draw(st.sampled_from(["", "09:00-12:00"])))
                else:
                    row.append(data.draw(st.sampled_from([t for t in NASTY if t != "\x00"])))
            elif c == "id_fs":
                row.append(data.draw(st.one_of(st.just(str(100 + i)), text)))
            elif c == "latitude":
                row.append(_cell(data.draw(lat)))
            elif c == "longitude":
                row.append(_cell(data.draw(lon)))
            elif c == "type_fs":
                row.append(data.draw(st.sampled_from(["Principal", "Antenne", "", "autre"])))
            elif c == "format_fs":
                row.append(data.draw(st.sampled_from(["Fixe", "Itinérante", "Bus_équivalent", "", "?"])))
            elif c == "insee_dep":
                row.append(data.draw(st.sampled_from(["70", "25", "", "2A", "x"])))
            else:
                row.append(data.draw(text))
        rows.append(row)
    path = _write_csv(rows, columns, data.draw(st.sampled_from([",", ";"])), "utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = io.read_anct_csv(path)
    except InputError as exc:
        _one_line_naming(exc, path)
    else:
        _check_sites_result(result, n)
    finally:
        path.unlink()


@st.composite
def communes_fc(draw):
    n = draw(st.integers(0, 4))
    feats = []
    for i in range(n):
        props = {"code": draw(st.one_of(st.just(f"70{i:03d}"), text, st.integers(0, 99999))),
                 "name": draw(st.one_of(st.just(f"C{i}"), text)),
                 "population": draw(st.one_of(st.integers(0, 5000), st.integers(0, 5000), st.integers(-5, 10**16),
                                              st.floats(), st.booleans(), text, st.none()))}
        if draw(st.booleans()):
            props["point_lon"] = draw(st.one_of(st.floats(6.0, 6.1), text))
            props["point_lat"] = draw(st.one_of(st.floats(47.5, 47.6), text))
        geom = draw(st.sampled_from(["box", "box", "box", "box", "point", "null", "bowtie"]))
        x = 6.0 + 0.1 * i
        geometry = {"box": box(x, 47.5, x + 0.1, 47.6).__geo_interface__,
                    "point": {"type": "Point", "coordinates": [x, 47.5]}, "null": None,
                    "bowtie": {"type": "Polygon", "coordinates": [[[x, 47.5], [x + 0.1, 47.6], [x + 0.1, 47.5],
                                                                    [x, 47.6], [x, 47.5]]]}}[geom]
        feats.append({"type": "Feature", "properties": props, "geometry": json.loads(json.dumps(geometry))})
    return {"type": "FeatureCollection", "features": feats}


@SETTINGS
@given(communes_fc())
def test_read_communes(fc):
    path = _tmp(".geojson")
    path.write_text(json.dumps(fc), encoding="utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = io.read_communes(path)
    except InputError as exc:
        _one_line_naming(exc, path)
    else:
        event("read")
        assert len(result) == len(fc["features"]) and result["code"].is_unique
        assert (result["population"] >= 0).all() and (result["population"] <= io.MAX_COMMUNE_POPULATION).all()
        for feature, pop in zip(fc["features"], result["population"]):  # the file's number, not a coerced one
            given_pop = feature["properties"]["population"]
            assert not isinstance(given_pop, bool)
            assert float(pop) == float(str(given_pop).replace(",", "."))
    finally:
        path.unlink()


@SETTINGS
@given(communes_fc())
def test_read_outline(fc):
    path = _tmp(".geojson")
    path.write_text(json.dumps(fc), encoding="utf-8")
    try:
        result = io.read_outline(path)
    except InputError as exc:
        _one_line_naming(exc, path)
    else:
        event("read")
        assert len(result) == len(fc["features"]) and result.geometry.is_valid.all()
    finally:
        path.unlink()


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(st.lists(text, min_size=4, max_size=4), text)
def test_coverage_map_with_generated_text(names, title):
    """Every commune and site drawn, every string shown only as escaped text, whatever it holds."""
    access = gpd.GeoDataFrame(
        {"code": ["70001", "70002"], "name": names[:2], "population": [10, 20], "minutes": [5.0, np.inf],
         "status": ["covered", "unreachable"], "reason": [names[2], names[3]], "nearest_site_name": names[2:]},
        geometry=[box(6.0, 47.5, 6.1, 47.6), box(6.1, 47.5, 6.2, 47.6)], crs="EPSG:4326")
    sites = gpd.GeoDataFrame({"id": ["a", "b"], "name": names[1:3], "address": names[2:], "comment": names[:2],
                              "kind": ["principal", "antenna"]},
                             geometry=[Point(6.05, 47.55), Point(6.15, 47.55)], crs="EPSG:4326")
    m = maps.coverage_map(access, sites, tiles=False, title=title)
    page = maps.map_html(m, inline_assets=False)
    assert page.count('"fsgeo-commune"') >= 1 and page.count("fsgeo-site-") >= 2
    for s in [*names, title]:
        if s.strip():
            assert maps.escape(s) in page
    assert "X 49" not in page and "{{" not in page and "{%" not in page and "{#" not in page
    assert m.get_root()._token_re.search(page) is None


@settings(max_examples=2, deadline=None, derandomize=True, database=None)
@given(st.lists(text, min_size=2, max_size=2), text)
def test_cli_map_with_a_generated_sites_file(names, title):
    from fsgeo.cli import main

    path = _write_csv([["g1", names[0], "47.62", "6.15"], ["g2", names[1], "47.44", "5.59"]],
                      ["id", "name", "lat", "lon"], ",", "utf-8")
    out = path.with_suffix(".html")
    try:
        code = main(["map", "--sites", str(path), "--title", title or "t", "--no-catchments", "--no-tiles",
                     "--out", str(out)])
        if code == 0:
            page = out.read_text(encoding="utf-8")
            assert all(maps.escape(n) in page for n in names if n.strip())
        else:
            assert code == 2 and not out.exists()
    finally:
        path.unlink()
        out.unlink(missing_ok=True)
