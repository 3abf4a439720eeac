"""The exported map, opened in a real headless Chromium with no network: what did Leaflet actually draw?

The page is saved with ``save_map`` (Leaflet inlined). A small test-only script appended to a copy of the page opens
the popup of the site named ``<script>alert(1)</script>`` and the tooltip of a commune named with an ``<img onerror>``
payload, so the DOM dump shows how those strings render. Skips where Debian's ``chromium`` is absent.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

import numpy as np
import pytest
from shapely.geometry import Point, box

import geopandas as gpd
import pandas as pd

from fsgeo import maps

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)"
)

XSS_SITE = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
XSS_TITLE = "<script>document.title='XSS'</script>"
TITLE = "Browser check <Haute-Saône>"

# test-only, first thing in <head>: an alert() would block headless Chromium, record it instead
ALERT_TRAP = """<head>
<script>window.alert = function (m) { document.documentElement.setAttribute("data-alert", String(m)); };</script>
<style>.leaflet-popup { transition: none !important; opacity: 1 !important; }</style>"""  # screenshot under virtual time

# test-only: open the popup / tooltip carrying the hostile strings, then mark that the harness ran
HARNESS = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var map = window[document.querySelector(".folium-map").id];
    var site = null, commune = null;
    map.eachLayer(function (l) {
      var p = l.getPopup && l.getPopup();
      if (p && !site) {
        var c = p.getContent();
        if ((typeof c === "string" ? c : c.textContent).indexOf("alert(1)") >= 0) { site = l; }
      }
      if (l.feature && !commune && String(l.feature.properties.tip).indexOf("data-pwned") >= 0) { commune = l; }
    });
    if (site) { site.openPopup(); }
    if (commune) { commune.fire("mouseover", {latlng: commune.getBounds().getCenter()}, true); }
    document.body.setAttribute("data-harness", (site ? "popup" : "no-popup") + "," + (commune ? "tooltip" : "no-tooltip"));
  }, 300);
});
</script>
"""


def make_inputs():
    polys, rows = [], []
    for k in range(25):
        i, j = divmod(k, 5)
        polys.append(box(6.0 + i * 0.08, 47.5 + j * 0.06, 6.08 + i * 0.08, 47.56 + j * 0.06))
        rows.append(dict(code=f"70{k:03d}", name=f"Commune {k}", population=50 * (k + 1), minutes=k * 2.1,
                         nearest_site_name="Site A", status="covered", reason=""))
    rows[6]["name"] = XSS_IMG
    rows[7]["name"] = XSS_TITLE
    rows[24].update(minutes=math.inf, status="unreachable", reason="no road")
    access = gpd.GeoDataFrame(rows, geometry=polys, crs="EPSG:4326")
    sites = gpd.GeoDataFrame(
        dict(id=list("abcde"), name=[XSS_SITE, "Site B", "Antenne C", "Voisin D", "Voisin E"],
             kind=["principal", "principal", "antenna", "principal", "antenna"],
             in_departement=[True, True, True, False, False], address=[XSS_IMG, "", "", "", ""],
             hours_monday=["09:00-12:00", "", "", "", ""], weekly_open_hours=[24.0, 30, 6, 35, 4],
             labelled_on=["2020-01-01"] * 5, comment=[XSS_TITLE, "", "", "", ""]),
        geometry=[Point(6.1, 47.6), Point(6.3, 47.7), Point(6.2, 47.55), Point(5.95, 47.45), Point(6.45, 47.82)],
        crs="EPSG:4326",
    )
    outline = gpd.GeoDataFrame({"code": ["70"]}, geometry=[access.union_all()], crs="EPSG:4326")
    metric = sites.iloc[:3].to_crs("EPSG:2154")
    catch = [
        dict(site_id=s, site_name=n, band_min=float(band), population=100, geometry=g)
        for band, radius in ((10, 4000), (20, 9000))
        for s, n, g in zip(sites["id"][:3], sites["name"][:3], metric.geometry.buffer(radius))
    ]
    catchments = gpd.GeoDataFrame(catch, geometry="geometry", crs="EPSG:2154").to_crs("EPSG:4326")
    far = access[(access["minutes"] > 20) & np.isfinite(access["minutes"])]
    zones = gpd.GeoDataFrame(dict(zone_id=["1"], communes=[list(far["code"])], n_communes=[len(far)],
                                  population=[far["population"].sum()], max_minutes=[far["minutes"].max()]),
                             geometry=[far.union_all()], crs="EPSG:4326")
    candidates = pd.DataFrame(dict(id=["k1", "k2", "k3"], name=["Cand <1>", "Cand 2", "Cand 3"],
                                   lon=[6.3, 6.25, 6.35], lat=[47.75, 47.62, 47.65], rank=[1, 2, 3],
                                   gain_population=[900, 500, 50]))
    chosen = candidates.iloc[:2].assign(kind="antenna")
    return dict(access=access, sites=sites, outline=outline, catchments=catchments, zones=zones,
                candidates=candidates, chosen=chosen)


class _Dom(HTMLParser):
    """Elements of the rendered DOM: (tag, attrs) plus visible text chunks."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._in_script = 0
        self.script_texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: (v or "") for k, v in attrs}))
        if tag == "script":
            self._in_script += 1
            self.script_texts.append("")

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script:
            self._in_script -= 1

    def handle_data(self, data):
        if self._in_script:
            self.script_texts[-1] += data
        else:
            self.text.append(data)

    def count(self, tag, css_class):
        return sum(1 for t, a in self.elements if t == tag and css_class in a.get("class", "").split())


def _chromium(*args, cwd):
    profile = tempfile.mkdtemp(prefix="fsgeo-chromium-")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--virtual-time-budget=4000", *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=cwd, check=True)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("map_browser")
    inputs = make_inputs()
    m = maps.coverage_map(**inputs, tiles=False, title=TITLE)
    page = maps.save_map(m, tmp / "map.html")
    probe = tmp / "map_probe.html"
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("<head>", ALERT_TRAP, 1).replace("</html>", HARNESS + "</html>"), encoding="utf-8")
    dom_html = _chromium("--dump-dom", probe.as_uri(), cwd=tmp).stdout
    shot = tmp / "map.png"
    _chromium("--window-size=1280,900", f"--screenshot={shot}", probe.as_uri(), cwd=tmp)
    print(f"\nmap screenshot: {shot}")
    dom = _Dom()
    dom.feed(dom_html)
    return dict(inputs=inputs, dom=dom, dom_html=dom_html, shot=shot, page=page)


def test_page_is_offline_ready(rendered):
    page = rendered["page"].read_text(encoding="utf-8")
    assert "<script src=" not in page and 'rel="stylesheet"' not in page


def test_harness_ran(rendered):
    body = [a for t, a in rendered["dom"].elements if t == "body"][0]
    # Leaflet loaded offline and the map object exists: the probe found the popup and the commune layer
    assert body.get("data-harness") == "popup,tooltip"


def test_vector_layers_drawn(rendered):
    dom, inputs = rendered["dom"], rendered["inputs"]
    n_communes, n_catch = len(inputs["access"]), len(inputs["catchments"])
    assert dom.count("path", "fsgeo-commune") == n_communes == 25
    # threshold 20 min: the 20-min catchments are drawn, the 10-min ones wait (unchecked) in the layer control
    assert n_catch == 6
    assert dom.count("path", "fsgeo-catchment-20") == 3 and dom.count("path", "fsgeo-catchment-10") == 0
    assert dom.count("path", "fsgeo-zone") == 1
    assert dom.count("path", "fsgeo-outline") == 1
    # communes, catchments and zones respond to the mouse; the outline does not
    assert dom.count("path", "leaflet-interactive") == n_communes + 3 + 1
    boxes = [a for t, a in dom.elements if t == "input" and "leaflet-control-layers-selector" in a.get("class", "")]
    assert len(boxes) == 10 and sum("checked" in a for a in boxes) == 9
    assert dom.count("svg", "leaflet-zoom-animated") == 1  # one SVG renderer, no canvas


def test_markers_drawn(rendered):
    dom = rendered["dom"]
    assert dom.count("div", "leaflet-marker-icon") == 5 + 3 + 2
    assert dom.count("div", "fsgeo-site-principal") == 2
    assert dom.count("div", "fsgeo-site-antenna") == 1
    assert dom.count("div", "fsgeo-site-neighbour") == 1
    assert dom.count("div", "fsgeo-site-neighbour-antenna") == 1
    assert dom.count("div", "fsgeo-candidate") == 3
    assert dom.count("div", "fsgeo-chosen") == 2
    assert dom.count("img", "leaflet-marker-icon") == 0  # no default image markers (they would need files)


def test_legend_and_layer_control(rendered):
    dom = rendered["dom"]
    text = " ".join(dom.text)
    assert dom.count("div", "fsgeo-legend") == 1
    # the default map is in French (lang="en" gives the English words, see tests/test_maps.py)
    for label in ("0–10 min", "> 45 min", "inaccessible", "Zones de desserte ≤ 10 min",
                  "Zones mal desservies (> 20 min)", "Antennes France Services", "Nouveaux sites retenus", TITLE):
        assert label in text, label


def test_hostile_strings_shown_as_text_and_never_run(rendered):
    dom = rendered["dom"]
    text = " ".join(dom.text)
    # the popup shows the site name literally ...
    popup = [t for t, a in dom.elements if t == "div" and "leaflet-popup-content" in a.get("class", "").split()]
    assert len(popup) == 1
    assert XSS_SITE in text and XSS_IMG in text  # name (popup + legend-free text) and commune tooltip, as text
    assert dom.count("div", "leaflet-tooltip") >= 1
    # ... and nothing it carried became markup or ran
    assert not any(s.strip() in ("alert(1)", "document.title='XSS'") for s in dom.script_texts)
    assert not [a for t, a in dom.elements if t == "img" and a.get("src") == "x"]
    body = [a for t, a in dom.elements if t == "body"][0]
    assert "data-pwned" not in body
    html_el = [a for t, a in dom.elements if t == "html"][0]
    assert "data-alert" not in html_el
    titles = [a for t, a in dom.elements if t == "title"]
    assert len(titles) == 1
    assert "<title>Browser check &lt;Haute-Saône&gt;</title>" in rendered["dom_html"]


def test_screenshot_shows_a_coloured_map(rendered):
    from PIL import Image

    img = Image.open(rendered["shot"]).convert("RGB")
    assert img.size == (1280, 900)
    pixels = np.asarray(img).reshape(-1, 3).astype(int)
    # the greenest band (#1a9850 at 75 % over the plain background) and the unreachable grey are on screen
    green = (pixels[:, 1] - pixels[:, 0] > 60) & (pixels[:, 1] - pixels[:, 2] > 30)
    assert green.mean() > 0.005
    assert len(np.unique(pixels[::7], axis=0)) > 50


CANDIDATES_CSV = """id,name,lat,lon,kind
c1,Candidate <one>,47.75,5.95,principal
c2,Antenne test,47.48,5.68,antenna
c3,Cand 3,47.62,6.15,principal
"""


def test_cli_export_of_the_embedded_data(tmp_path, capsys):
    """fsgeo rank --format json -> fsgeo map --rank-json on the real data, rendered offline."""
    import json

    from fsgeo import coverage, datasets
    from fsgeo.cli import main

    cands = tmp_path / "candidates.csv"
    cands.write_text(CANDIDATES_CSV, encoding="utf-8")
    rank = tmp_path / "rank.json"
    common = ["--as-of", "2021-01-01", "--own-departement-only"]
    assert main(["rank", "--candidates", str(cands), "--k", "2", "--format", "json", "--out", str(rank), *common]) == 0
    ranked = json.loads(rank.read_text(encoding="utf-8"))
    assert len(ranked["chosen"]) >= 1
    page = tmp_path / "real.html"
    assert main(["map", "--rank-json", str(rank), "--catchment-bands", "10,20", "--no-tiles", "--out", str(page),
                 "--catchments-per-site", "--lang", "en", *common]) == 0
    capsys.readouterr()
    shot = tmp_path / "real.png"
    dom_html = _chromium("--dump-dom", page.as_uri(), cwd=tmp_path).stdout
    _chromium("--window-size=1280,900", f"--screenshot={shot}", page.as_uri(), cwd=tmp_path)
    print(f"\nreal-data map screenshot: {shot}")
    dom = _Dom()
    dom.feed(dom_html)

    study = datasets.load_study()
    communes = study.communes
    sites = coverage.select_sites(study.sites, communes, own_departement_only=True, as_of="2021-01-01")
    zones = coverage.underserved_zones(coverage.access_times(communes, sites, study.network, threshold_min=20,
                                                             own_departement_only=True, as_of="2021-01-01"))
    assert dom.count("path", "fsgeo-commune") == len(communes) == 536
    assert dom.count("path", "fsgeo-catchment-20") == len(sites) > 0  # one 20-min polygon per site
    assert dom.count("path", "fsgeo-catchment-10") == 0  # switched off at first
    assert dom.count("path", "fsgeo-zone") == len(zones) > 0
    assert dom.count("div", "fsgeo-site") == len(sites)
    assert dom.count("div", "fsgeo-chosen") == len(ranked["chosen"])
    assert dom.count("div", "fsgeo-candidate") == len(ranked["candidates"]) == 3
    text = " ".join(dom.text)
    assert "Haute-Saône: drive time to France Services, sites as of 2021-01-01" in text


@pytest.mark.slow
def test_map_is_byte_stable_french_and_its_png_shows_the_whole_departement(tmp_path):
    """fsgeo map twice gives the same bytes; the page carries the credits, the date, the search box and the merged
    catchments; --png at 1024x768 shows every commune (the legend starts collapsed at that size)."""
    from PIL import Image

    from fsgeo.cli import main

    common = ["--as-of", "2020-01-01", "--own-departement-only", "--catchment-bands", "10,20", "--no-tiles"]
    a, png = tmp_path / "a.html", tmp_path / "map.png"
    # the same command twice (the map's provenance footer names the command line, so the same one)
    assert main(["map", "--out", str(a), "--png", str(png), *common]) == 0
    first = a.read_bytes()
    assert main(["map", "--out", str(a), "--png", str(png), *common]) == 0
    assert a.read_bytes() == first
    page = a.read_text(encoding="utf-8")
    assert ": temps de trajet jusqu" in page  # French title by default
    dom_html = _chromium("--window-size=1024,768", "--dump-dom", a.as_uri(), cwd=tmp_path).stdout
    dom = _Dom()
    dom.feed(dom_html)
    text = " ".join(dom.text)
    assert "© OpenStreetMap contributors" in text and "ANCT" in text and "Carte générée le" in text
    assert 'placeholder="Rechercher une commune…"' in dom_html and "Vesoul (70550)" in dom_html
    assert dom.count("div", "fsgeo-collapsed") == 1  # the legend, folded at 1024x768
    assert dom.count("path", "fsgeo-catchment-merged") == 1  # the merged 20-min area, one polygon
    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert image.shape == (768, 1024, 3)
    # commune fills (any of the class colours, drawn at 0.75 opacity over the light background) are inside the
    # picture with a margin: the map is not cut at the edges
    colours = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in maps.band_colors(6)]
    bg = np.array([0xF4, 0xF3, 0xEE])
    mask = np.zeros(image.shape[:2], bool)
    for c in colours:
        blended = 0.75 * np.array(c) + 0.25 * bg
        mask |= (np.abs(image - blended) <= 20).all(axis=2)
    ys, xs = np.nonzero(mask)
    assert mask.sum() > 100_000  # the département fills a good part of the picture
    assert xs.min() > 5 and ys.min() > 5 and xs.max() < 1024 - 5 and ys.max() < 768 - 5
