"""fsgeo.maps: layers, classes and legend, escaping, tiles, site icons, feature counts, offline assets.

Inputs are small hand-made GeoDataFrames with the columns of the analysis-result contracts (docs/ARCHITECTURE.md),
with hostile strings in every text field that comes from a file.
"""

from __future__ import annotations

import json
import math
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from fsgeo import maps

XSS_SITE = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
XSS_TEMPLATE = "Back`tick ${document.title='XSS'} C:\\u00"


def make_inputs():
    """4×4 grid of communes around Vesoul, 5 sites (2 principal, 1 antenna, 2 neighbours), catchments, one zone,
    candidates and chosen sites."""
    polys, rows = [], []
    for k in range(16):
        i, j = divmod(k, 4)
        polys.append(box(6.0 + i * 0.1, 47.5 + j * 0.1, 6.1 + i * 0.1, 47.6 + j * 0.1))
        rows.append(dict(code=f"70{k:03d}", name=f"Commune {k}", population=100 * (k + 1), minutes=k * 3.3,
                         nearest_site_id="a", nearest_site_name="Vesoul <FS>", status="covered", reason=""))
    rows[0]["name"] = "<script>document.title='XSS'</script>"
    rows[1]["name"] = XSS_IMG
    rows[2]["name"] = XSS_TEMPLATE
    rows[15].update(minutes=math.inf, status="unreachable", reason="off the main road component <n42>")
    access = gpd.GeoDataFrame(rows, geometry=polys, crs="EPSG:4326")
    access.loc[access["minutes"] > 20, "status"] = "underserved"
    access.loc[15, "status"] = "unreachable"

    sites = gpd.GeoDataFrame(
        dict(
            id=["a", "b", "c", "d", "e"],
            name=[XSS_SITE, "Site B", "Antenne C", "Voisin D", "Voisin E"],
            kind=["principal", "principal", "antenna", "principal", "antenna"],
            format=["fixed", "fixed", "fixed", "fixed", "fixed"],
            departement=["70", "70", "70", "25", "88"],
            in_departement=[True, True, True, False, False],
            address=[XSS_IMG, "2 rue B", "", None, "5 rue E"],
            commune_name=["Vesoul", "Gray", "Lure", "Besançon", "Épinal"],
            hours_monday=["09:00-12:00,13:30-16:30", "", "", "", ""],
            hours_tuesday=["", "", "", "", ""],
            weekly_open_hours=[24.0, 30.0, 6.0, 35.0, 4.0],
            labelled_on=["2020-01-01", "2021-02-03", "2022-03-04", "2019-12-01", "2023-01-01"],
            comment=["`${document.title='XSS'}`", "", "", "", ""],
        ),
        geometry=[Point(6.05, 47.55), Point(6.35, 47.85), Point(6.15, 47.75), Point(5.9, 47.4), Point(6.6, 48.0)],
        crs="EPSG:4326",
    )
    outline = gpd.GeoDataFrame({"code": ["70"], "name": ["Haute-Saône"]}, geometry=[access.union_all()],
                               crs="EPSG:4326")
    metric = sites.iloc[:3].to_crs("EPSG:2154")
    catch = []
    for band, radius in ((10, 5000), (20, 12000)):
        for (_, s), g in zip(sites.iloc[:3].iterrows(), metric.geometry.buffer(radius)):
            catch.append(dict(site_id=s["id"], site_name=s["name"], band_min=float(band), population=1000, geometry=g))
    catchments = gpd.GeoDataFrame(catch, geometry="geometry", crs="EPSG:2154").to_crs("EPSG:4326")
    far = access[(access["minutes"] > 20) & np.isfinite(access["minutes"])]
    zones = gpd.GeoDataFrame(
        dict(zone_id=["1"], communes=[list(far["code"])], n_communes=[len(far)], population=[far["population"].sum()],
             max_minutes=[far["minutes"].max()]),
        geometry=[far.union_all()], crs="EPSG:4326",
    )
    candidates = pd.DataFrame(dict(id=["k1", "k2", "k3"], name=[XSS_SITE, "Cand 2", "Cand 3"],
                                   lon=[6.32, 6.25, 6.45], lat=[47.62, 47.58, 48.05], rank=[1, 2, 3],
                                   gain_population=[1200, 800, 100]))
    chosen = pd.DataFrame(dict(id=["k1", "k2"], name=[XSS_SITE, "Cand 2"], commune_code=["70011", "70010"],
                               lon=[6.32, 6.25], lat=[47.62, 47.58], kind=["antenna", "principal"], rank=[1, 2],
                               gain_population=[1200, 800], parent_id=["a", None], parent_minutes=[14.2, np.nan]))
    return dict(access=access, sites=sites, outline=outline, catchments=catchments, zones=zones,
                candidates=candidates, chosen=chosen)


@pytest.fixture(scope="module")
def inputs():
    return make_inputs()


@pytest.fixture(scope="module")
def full_map(inputs):
    return maps.coverage_map(**inputs, tiles=False, title="Test <map> & co", lang="en")


@pytest.fixture(scope="module")
def full_html(full_map):
    return maps.map_html(full_map, inline_assets=True)


def _walk(element):
    for child in element._children.values():
        yield child
        yield from _walk(child)


def _layers(m):
    return {getattr(c, "layer_name", None): c for c in m._children.values() if isinstance(c, (folium.GeoJson, folium.FeatureGroup))}


def _markers(layer):
    return [c for c in layer._children.values() if isinstance(c, folium.Marker)]


def _icon(marker):
    return next(c for c in marker._children.values() if isinstance(c, folium.DivIcon))


def _text(m, text):
    """``text`` from the map's element tree with the user-text tokens replaced by the escaped strings."""
    return m.get_root().resolve(text)


# --------------------------------------------------------------------------------------------------------------------


def test_classify_minutes_is_right_closed_with_unreachable():
    edges = maps.band_edges((10, 30), threshold_min=20)
    assert edges == (10.0, 20.0, 30.0)
    got = maps.classify_minutes([0, 10, 10.01, 20, 29.9, 30, 30.5, np.inf, np.nan], edges)
    assert got.tolist() == [0, 0, 1, 1, 2, 2, 3, -1, -1]
    assert maps.band_labels(edges) == ["0–10 min", "10–20 min", "20–30 min", "> 30 min"]
    assert len(set(maps.band_colors(4))) == 4 and len(set(maps.band_colors(9))) == 9
    with pytest.raises(ValueError, match="positive"):
        maps.band_edges((10, -5))


def test_exactly_at_the_threshold_is_within_it(inputs):
    """A commune at exactly the threshold is covered (as in fsgeo.coverage): it falls in the class ending at the
    threshold, which the legend does not flag, and gets no 'above the threshold' outline."""
    access = inputs["access"].copy()
    access.loc[3, "minutes"], access.loc[4, "minutes"] = 20.0, 20.000001
    m = maps.coverage_map(access, inputs["sites"], tiles=False, threshold_min=20, lang="en")
    props = [f["properties"] for f in _layers(m)["Communes: minutes to the nearest site"].data["features"]]
    colors = maps.band_colors(len(maps.band_edges(None, 20)) + 1)
    assert props[3]["above"] is False and props[3]["fill"] == colors[2]  # 15–20 min
    assert props[4]["above"] is True and props[4]["fill"] == colors[3]  # 20–30 min
    legend = next(c for c in m._children.values() if isinstance(c, maps._Legend)).html
    assert "15–20 min <span" in legend and "20–30 min ⚠" in legend


def test_layers_present(full_map):
    names = set(_layers(full_map))
    assert names == {
        "Département outline",
        "Communes: minutes to the nearest site",
        "Catchments ≤ 10 min",
        "Catchments ≤ 20 min",
        "Under-served zones (> 20 min)",
        "France Services spaces",
        "France Services antennas",
        "Sites of neighbouring départements",
        "Candidate sites",
        "Chosen new sites",
    }
    controls = [c for c in full_map._children.values() if isinstance(c, folium.LayerControl)]
    assert len(controls) == 1
    controls[0].render()  # fills base_layers / overlays from the map's children
    assert set(controls[0].overlays) == names


def test_feature_counts(full_map, inputs):
    layers = _layers(full_map)
    communes = layers["Communes: minutes to the nearest site"].data["features"]
    assert len(communes) == len(inputs["access"]) == 16
    for band in (10, 20):
        assert len(layers[f"Catchments ≤ {band} min"].data["features"]) == 3
    assert len(layers["Under-served zones (> 20 min)"].data["features"]) == 1
    assert len(layers["Département outline"].data["features"]) == 1
    assert len(_markers(layers["France Services spaces"])) == 2
    assert len(_markers(layers["France Services antennas"])) == 1
    assert len(_markers(layers["Sites of neighbouring départements"])) == 2
    assert len(_markers(layers["Candidate sites"])) == 3
    chosen = _markers(layers["Chosen new sites"])
    assert [re.sub(r"<[^>]+>", "", _text(full_map, _icon(mk).options["html"])) for mk in chosen] == ["1", "2"]


def test_communes_coloured_by_band_and_unreachable_grey(full_map, inputs):
    features = _layers(full_map)["Communes: minutes to the nearest site"].data["features"]
    edges = maps.band_edges(None, 20)
    colors = maps.band_colors(len(edges) + 1)
    for f, minutes in zip(features, inputs["access"]["minutes"]):
        p = dict(f["properties"], tip=_text(full_map, f["properties"]["tip"]))
        if math.isinf(minutes):
            assert p["fill"] == maps.UNREACHABLE_COLOR
            assert "no site reachable" in p["tip"] and "&lt;n42&gt;" in p["tip"]
        else:
            expected = colors[int(np.searchsorted(edges, minutes, side="left"))]
            assert p["fill"] == expected
            assert p["above"] == (minutes > 20)
            assert f"{minutes:.1f} min" in p["tip"]
    # only the properties the map needs reach the page (no raw strings from the file)
    assert {k for f in features for k in f["properties"]} == {"tip", "fill", "above", "code"}


def test_legend_lists_bands_with_counts(full_map, inputs):
    legend = next(c for c in full_map._children.values() if isinstance(c, maps._Legend))
    text = _text(full_map, legend.html)
    assert text.startswith("<h4>Test &lt;map&gt; &amp; co</h4>")
    minutes = inputs["access"]["minutes"]
    for label, lo, hi in (("0–10 min", -1, 10), ("10–15 min", 10, 15), ("30–45 min", 30, 45)):
        n = int(((minutes > lo) & (minutes <= hi)).sum())
        assert re.search(rf"{label}.*?{n} communes?,", text), label
    assert "unreachable <span class=\"n\">1 commune," in text
    assert "20 min threshold" in text
    assert "≤ 10 min" in text and "≤ 20 min" in text  # catchments
    assert "France Services space (2)" in text and "antenna (1)" in text and "neighbouring antenna (1)" in text
    assert "candidate (3)" in text and "chosen new site, by rank (2)" in text


def test_icons_distinct_per_site_type(full_map):
    layers = _layers(full_map)
    classes = {}
    for name in ("France Services spaces", "France Services antennas", "Sites of neighbouring départements"):
        for mk in _markers(layers[name]):
            icon = _icon(mk)
            classes.setdefault(icon.options["class_name"], set()).add(icon.options["html"])
    assert sorted(classes) == sorted(
        ["fsgeo-icon fsgeo-site fsgeo-site-principal", "fsgeo-icon fsgeo-site fsgeo-site-antenna",
         "fsgeo-icon fsgeo-site fsgeo-site-neighbour", "fsgeo-icon fsgeo-site fsgeo-site-neighbour-antenna"]
    )
    svgs = [next(iter(v)) for v in classes.values()]
    assert len(set(svgs)) == 4  # four different drawings
    # no AwesomeMarkers (they need font-awesome from a CDN)
    assert not any(isinstance(c, folium.Icon) for c in _walk(full_map))


def test_escaping_in_html(full_html):
    # nothing from a file appears as markup or can close a script / template literal
    assert "<script>alert(1)" not in full_html
    assert "<img src=x" not in full_html
    assert "${document.title" not in full_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in full_html  # site popup / tooltip, as text
    assert "<title>Test &lt;map&gt; &amp; co</title>" in full_html


def test_escape_function():
    assert (maps.escape("<a href='x'>`${y}`\\</a>")
            == "&lt;a href=&#x27;x&#x27;&gt;&#96;&#36;&#123;y&#125;&#96;&#92;&lt;/a&gt;")
    # Jinja2 delimiters, line breaks and other control characters become character references too
    assert maps.escape("{{ 7*7 }} {#2\n\x00\u2028") == "&#123;&#123; 7*7 &#125;&#125; &#123;#2&#10;&#65533;&#8232;"
    assert maps.escape(None) == "" and maps.escape(float("nan")) == ""


def test_popup_content(full_map):
    site = _markers(_layers(full_map)["France Services spaces"])[0]
    popup = next(c for c in site._children.values() if isinstance(c, folium.Popup))
    html = _text(full_map, next(iter(popup.html._children.values())).data)
    assert "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>" in html
    assert "Open 24 h/week" in html and "Labelled on 2020-01-01" in html
    assert "<th>Mon</th><td>09:00-12:00, 13:30-16:30</td>" in html and "<th>Tue</th><td>closed</td>" in html
    assert "&#96;&#36;&#123;document.title=&#x27;XSS&#x27;&#125;&#96;" in html  # comment
    chosen = _markers(_layers(full_map)["Chosen new sites"])[0]
    popup = next(c for c in chosen._children.values() if isinstance(c, folium.Popup))
    html = _text(full_map, next(iter(popup.html._children.values())).data)
    assert "New site #1" in html and "1\u202f200 inhabitants newly" in html
    assert "<th>run by</th><td>a, 14.2 min</td>" in html and "<th>commune</th><td>70011</td>" in html


def test_tiles_on_and_off(inputs):
    off = maps.coverage_map(inputs["access"], inputs["sites"], tiles=False)
    on = maps.coverage_map(inputs["access"], inputs["sites"], tiles=True)
    assert not [c for c in _walk(off) if isinstance(c, folium.TileLayer)]
    assert len([c for c in _walk(on) if isinstance(c, folium.TileLayer)]) == 1
    html_off, html_on = maps.map_html(off), maps.map_html(on)
    assert "L.tileLayer" not in html_off and "L.tileLayer" in html_on
    # without tiles the same vector layers are drawn
    assert html_off.count("fsgeo-commune") == html_on.count("fsgeo-commune") > 0


def test_fit_bounds_on_the_study_area(full_map, inputs):
    fb = [c for c in full_map._children.values() if isinstance(c, folium.map.FitBounds)]
    assert len(fb) == 1
    (s, w), (n, e) = fb[0].bounds
    # communes, own sites and candidates; not the neighbours' sites nor the catchments
    c = inputs["candidates"]
    b = np.array([inputs["access"].total_bounds, inputs["sites"].iloc[:3].total_bounds,
                  [c.lon.min(), c.lat.min(), c.lon.max(), c.lat.max()]])
    assert (s, w) == pytest.approx((b[:, 1].min(), b[:, 0].min()), abs=1e-6)
    assert (n, e) == pytest.approx((b[:, 3].max(), b[:, 2].max()), abs=1e-6)
    assert n == pytest.approx(48.05)  # a candidate north of the grid
    assert inputs["sites"].geometry.y.min() < s  # neighbour D lies south of the view


def test_catchment_bands_shown_and_simplified(inputs):
    m = maps.coverage_map(inputs["access"], inputs["sites"], catchments=inputs["catchments"], threshold_min=15,
                          tiles=False, simplify_m=0, lang="en")
    layers = _layers(m)
    # the largest band within the threshold is on, the others wait in the layer control
    assert layers["Catchments ≤ 10 min"].show and not layers["Catchments ≤ 20 min"].show
    raw = layers["Catchments ≤ 20 min"].data["features"][0]["geometry"]["coordinates"][0]
    coarse = maps.coverage_map(inputs["access"], inputs["sites"], catchments=inputs["catchments"], tiles=False,
                               simplify_m=500, lang="en")
    simple = _layers(coarse)["Catchments ≤ 20 min"].data["features"][0]["geometry"]["coordinates"][0]
    assert _layers(coarse)["Catchments ≤ 20 min"].show  # threshold 20 by default
    assert 4 <= len(simple) < len(raw)
    b_raw, b_simple = np.array(raw), np.array(simple)
    assert np.allclose(b_raw.min(axis=0), b_simple.min(axis=0), atol=0.01)


def test_inline_assets_make_a_standalone_page(full_map, full_html, tmp_path):
    # no external script or stylesheet left: Leaflet, its CSS (images as data URIs) and jQuery are inline
    assert not re.search(r"<script[^>]+src=", full_html)
    assert not re.search(r"<link[^>]+stylesheet", full_html)
    assert maps.local_asset("leaflet.js").read_text(encoding="utf-8")[:2000] in full_html
    assert "url(data:image/png;base64," in full_html and "images/layers.png" not in full_html
    assert "jQuery" in full_html
    cdn = maps.map_html(full_map, inline_assets=False)
    assert re.search(r'<script src="https://[^"]+leaflet\.js"', cdn)
    path = maps.save_map(full_map, tmp_path / "sub" / "map.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert path.stat().st_size > 150_000  # leaflet.js alone is ~147 kB


def test_missing_local_assets_give_a_clear_error(full_map, monkeypatch):
    monkeypatch.setitem(maps._ASSET_SOURCES, "leaflet.js", [("No-Such-Dist-fsgeo", "x.js"), (None, "/nonexistent/leaflet.js")])
    with pytest.raises(FileNotFoundError, match="pip install XStatic-Leaflet"):
        maps.map_html(full_map, inline_assets=True)


def test_geometries_are_reprojected(inputs):
    a = maps.coverage_map(inputs["access"], inputs["sites"], tiles=False, lang="en")
    b = maps.coverage_map(inputs["access"].to_crs("EPSG:2154"), inputs["sites"].to_crs("EPSG:2154"), tiles=False,
                          lang="en")
    fa = _layers(a)["Communes: minutes to the nearest site"].data["features"][5]["geometry"]["coordinates"][0]
    fb = _layers(b)["Communes: minutes to the nearest site"].data["features"][5]["geometry"]["coordinates"][0]
    assert np.allclose(np.array(fa), np.array(fb), atol=2e-5)


def test_bad_input_errors(inputs):
    with pytest.raises(ValueError, match="access: missing column.*minutes"):
        maps.coverage_map(inputs["access"].drop(columns="minutes"), inputs["sites"])
    no_crs = inputs["access"].copy()
    no_crs = no_crs.set_crs(None, allow_override=True)
    with pytest.raises(ValueError, match="access: GeoDataFrame has no CRS"):
        maps.coverage_map(no_crs, inputs["sites"])
    bad_chosen = inputs["chosen"].copy()
    bad_chosen.loc[1, "lat"] = np.nan
    with pytest.raises(ValueError, match=r"chosen: missing or invalid coordinates in row\(s\) \[1\]"):
        maps.coverage_map(inputs["access"], inputs["sites"], chosen=bad_chosen)


def test_zone_tooltip_names_communes(full_map, inputs):
    tip = _text(full_map, _layers(full_map)["Under-served zones (> 20 min)"].data["features"][0]["properties"]["tip"])
    far = inputs["access"][(inputs["access"]["minutes"] > 20) & np.isfinite(inputs["access"]["minutes"])]
    assert f"{len(far)} communes" in tip and "more" not in tip
    assert all(name in tip for name in far["name"])


FRENCH_WORDS = ("Communes : minutes jusqu’au site le plus proche", "Zones de desserte ≤ 10 min",
                "Zones mal desservies (> 20 min)", "Sites candidats", "Nouveaux sites retenus",
                "Espaces France Services", "Antennes France Services", "Sites des départements voisins",
                "Temps de trajet jusqu’au site le plus proche", "Département voisin", "Ouvert 24 h/semaine",
                "Labellisé le 2020-01-01", "jusqu’au site le plus proche", "habitants", "Nouveau site #1",
                "Candidat", "fermé")
ENGLISH_WORDS = ("Communes: minutes to the nearest site", "Catchments ≤ 10 min", "Under-served zones (> 20 min)",
                 "Candidate sites", "Chosen new sites", "France Services spaces", "France Services antennas",
                 "Sites of neighbouring départements", "Drive time to the nearest site", "Neighbouring département",
                 "Open 24 h/week", "Labelled on 2020-01-01", "to the nearest site", "inhabitants", "New site #1",
                 "closed")


def _unescaped(html: str) -> str:
    """The page with the JSON ``\\uXXXX`` escapes undone (layer names and legend are embedded as JSON strings)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


def test_map_words_french_by_default_english_on_request(inputs, monkeypatch):
    """Layer names, legend, tooltips and popups follow ``lang``: French by default, today's English with "en"."""
    monkeypatch.delenv("FSGEO_LANG", raising=False)
    fr = _unescaped(maps.map_html(maps.coverage_map(**inputs, tiles=False), inline_assets=False))
    en = _unescaped(maps.map_html(maps.coverage_map(**inputs, tiles=False, lang="en"), inline_assets=False))
    for word in FRENCH_WORDS:
        assert word in fr, word
    for word in ENGLISH_WORDS:
        assert word in en, word
        assert word not in fr, word
    for word in ("Communes : minutes", "Sites candidats", "Département voisin", "0 habitants", "h/semaine"):
        assert word not in en, word
    # French numbers: decimal comma in the minutes of the commune tooltips
    assert re.search(r"\d+,\d min jusqu’au site le plus proche", fr)
    assert not re.search(r"\d+\.\d min jusqu", fr)


def test_html_is_valid_json_in_geojson(full_html):
    # the embedded GeoJSON parses and carries the escaped names
    blobs = re.findall(r"_add\((\{.*?\})\);\n", full_html)
    assert blobs
    tips = [f["properties"].get("tip", "") for b in blobs for f in json.loads(b)["features"]]
    assert any("&lt;img src=x onerror=" in t for t in tips)
    assert any("nearest: Vesoul &lt;FS&gt;" in t for t in tips)


# --------------------------------------------------------------------------------------------------------------------
# fsgeo map (CLI) on the embedded data

CANDIDATES_CSV = """id,name,lat,lon,kind
c1,Candidate <one>,47.75,5.95,principal
c2,Antenne test,47.48,5.68,antenna
c3,Cand 3,47.62,6.15,principal
"""


def _geojson_blobs(html: str) -> list[dict]:
    return [json.loads(b) for b in re.findall(r"_add\((\{.*?\})\);\n", html)]


def test_cli_map_with_candidates(tmp_path, capsys):
    from fsgeo import datasets
    from fsgeo.cli import main

    cands = tmp_path / "candidates.csv"
    cands.write_text(CANDIDATES_CSV, encoding="utf-8")
    out = tmp_path / "out" / "map.html"
    out.parent.mkdir()  # a missing folder is an error before the work (issue 9 §2)
    rc = main(["map", "--candidates", str(cands), "--k", "2", "--as-of", "2021-01-01", "--no-catchments",
               "--no-tiles", "--out", str(out)])
    assert rc == 0
    said = capsys.readouterr().out
    assert f"wrote {out}" in said and "3 candidates, 2 chosen" in said
    html = out.read_text(encoding="utf-8")
    assert html.count('"className": "fsgeo-icon fsgeo-chosen"') == 2
    assert html.count('"className": "fsgeo-icon fsgeo-candidate"') == 3
    assert "Candidate &lt;one&gt;" in html and "Candidate <one>" not in html
    assert "L.tileLayer" not in html and "<script src=" not in html
    features = [f for b in _geojson_blobs(html) for f in b["features"]]
    commune_codes = {f["properties"]["code"] for f in features if "above" in f["properties"]}
    assert commune_codes == set(datasets.load_communes()["code"])
    # sites as of 2021-01-01 only
    n_sites = int(re.search(r"(\d+) sites", said).group(1))
    sites = datasets.load_sites()
    assert n_sites == int((sites["labelled_on"].fillna("0000") <= "2021-01-01").sum()) < len(sites)
    assert html.count('"className": "fsgeo-icon fsgeo-site ') == n_sites


@pytest.mark.parametrize(
    "content, args, message",
    [
        (None, ["--rank-json", "{dir}/missing.json"], "missing.json: file not found"),
        ("{not json", ["--rank-json", "{file}"], "rank.json: not valid JSON"),
        ('{"candidates": []}', ["--rank-json", "{file}"], "expected the JSON of 'fsgeo rank --format json'"),
        ('{"chosen": [{"id": "x", "lon": 6.1, "lat": "north"}]}', ["--rank-json", "{file}"],
         "rank.json: chosen[0] (id 'x'): missing or invalid lon/lat"),
        ('{"chosen": []}', ["--rank-json", "{file}", "--k", "2"], "--k and --model only apply with --candidates"),
    ],
)
def test_cli_map_bad_input(tmp_path, capsys, content, args, message):
    from fsgeo.cli import main

    f = tmp_path / "rank.json"
    if content is not None:
        f.write_text(content, encoding="utf-8")
    argv = ["map", "--out", str(tmp_path / "m.html")] + [a.format(dir=tmp_path, file=f) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.html").exists()


def test_cli_map_bad_candidates_fail_before_the_work(tmp_path, capsys, monkeypatch):
    """A bad candidates file is reported before any drive time is computed (not after the slow catchments)."""
    from fsgeo import coverage
    from fsgeo.cli import main

    def no_work(*args, **kwargs):
        raise AssertionError("drive times computed before the candidates file was read")

    monkeypatch.setattr(coverage, "access_times", no_work)
    bad = tmp_path / "c.csv"
    bad.write_text("id,lat,lon\nA,abc,6\n", encoding="utf-8")
    assert main(["map", "--candidates", str(bad), "--out", str(tmp_path / "m.html")]) == 2
    err = capsys.readouterr().err
    assert "c.csv: row 1 (id 'A'): cannot read lat 'abc' as a number" in err and len(err.strip().splitlines()) == 1


def test_unknown_external_assets_are_kept_with_a_warning(inputs):
    from folium.plugins import Fullscreen

    m = maps.coverage_map(inputs["access"], inputs["sites"], tiles=False)
    Fullscreen().add_to(m)  # a plugin whose JS only exists on a CDN
    with pytest.warns(UserWarning, match=r"Control\.FullScreen.*not available offline"):
        html = maps.map_html(m, inline_assets=True)
    assert re.search(r'<script src="https://[^"]+Control\.FullScreen[^"]*\.js"', html)
    assert not re.search(r'<script src="[^"]+leaflet\.js"', html)
