"""Issue 9 §1: text from a user's file never runs as template code in a map (Jinja2 via folium/branca).

folium compiles the rendered output of each element again as a Jinja2 template, so before the fix a site named
``X {{ 7*7 }}`` showed ``49``, a ``cycler.__init__.__globals__.os`` expression ran Python (created a directory),
``{{(range|string)|first}}img ...`` built live markup past the HTML escaping and ``Salle {#2 au fond`` crashed the
export with a TemplateSyntaxError. Each payload goes into every user field (site name, id, address, comment, commune
names, candidate files, title), through the library and through ``fsgeo map``; the pages are checked as HTML and,
where Debian's chromium is installed, as rendered by headless Chromium (every popup and tooltip opened).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from fsgeo import maps
from tests._cli import run_fsgeo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)"
)


def payloads(marker_dir: Path) -> dict[str, str]:
    """The issue's payloads; ``mkdir`` creates ``marker_dir`` if the expression ever runs."""
    return {
        "arith": "X {{ 7*7 }}",
        "python": "{{ cycler.__init__.__globals__.os.makedirs('" + str(marker_dir) + "') }}",
        "markup": "{{(range|string)|first}}img src=x onerror=alert(document.domain)>",
        "comment": "Salle {#2 au fond",
        "block": "{% for x in range(3) %}loop{% endfor %} ${`\\u0060`} </script>",
    }


FIELDS = ("site-name", "site-id", "site-address", "site-comment", "commune", "cand-name", "cand-id", "title")


def tagged(field: str, payload: str) -> str:
    return f"{field}: {payload}"


def _inputs(p: str):
    """Small hand-made inputs with ``p`` (tagged by field) in every text field a file can carry."""
    polys, rows = [], []
    for k in range(9):
        i, j = divmod(k, 3)
        polys.append(box(6.0 + i * 0.08, 47.5 + j * 0.06, 6.08 + i * 0.08, 47.56 + j * 0.06))
        rows.append(dict(code=f"70{k:03d}", name=f"Commune {k}", population=100 * (k + 1), minutes=k * 4.0,
                         nearest_site_name=tagged("site-name", p), status="covered", reason=""))
    rows[4]["name"] = tagged("commune", p)
    rows[8].update(minutes=math.inf, status="unreachable", reason="no road")
    access = gpd.GeoDataFrame(rows, geometry=polys, crs="EPSG:4326")
    sites = gpd.GeoDataFrame(
        dict(id=[tagged("site-id", p), "b"], name=[tagged("site-name", p), "Site B"], kind=["principal", "antenna"],
             in_departement=[True, True], address=[tagged("site-address", p), ""],
             comment=[tagged("site-comment", p), ""], hours_monday=["09:00-12:00", ""]),
        geometry=[Point(6.05, 47.55), Point(6.15, 47.6)], crs="EPSG:4326",
    )
    catch = gpd.GeoDataFrame(
        dict(site_id=[sites["id"][0]], site_name=[sites["name"][0]], band_min=[10.0], population=[500]),
        geometry=[Point(6.05, 47.55).buffer(0.03)], crs="EPSG:4326",
    )
    zones = gpd.GeoDataFrame(dict(zone_id=["1"], communes=[["70004", "70005"]], n_communes=[2], population=[1100],
                                  max_minutes=[20.0]), geometry=[box(6.08, 47.56, 6.16, 47.68)], crs="EPSG:4326")
    candidates = pd.DataFrame(dict(id=[tagged("cand-id", p), "k2"], name=[tagged("cand-name", p), "Cand 2"],
                                   lon=[6.1, 6.2], lat=[47.6, 47.65], rank=[1, 2], gain_population=[300, 100]))
    chosen = candidates.iloc[:1].assign(kind="antenna", parent_id=sites["id"][0], parent_minutes=4.0)
    return dict(access=access, sites=sites, catchments=catch, zones=zones, candidates=candidates, chosen=chosen)


def _page(p: str):
    m = maps.coverage_map(**_inputs(p), tiles=False, title=tagged("title", p), threshold_min=10)
    return m, maps.map_html(m, inline_assets=False)


@pytest.mark.parametrize("name", ["arith", "python", "markup", "comment", "block"])
def test_payloads_stay_text_in_the_html(tmp_path, name):
    """Fast, no browser: the page renders, every field's payload is in it as escaped text, nothing was evaluated."""
    marker = tmp_path / "pwned"
    p = payloads(marker)[name]
    m, page = _page(p)  # before the fix: TemplateSyntaxError for "comment" and "block"
    assert not marker.exists()
    assert_payload_stays_text(m, page, p)


def assert_payload_stays_text(m, page: str, p: str) -> None:
    """Every field's payload ``p`` is in the rendered ``page`` of map ``m`` as escaped text, nothing was evaluated,
    no markup or template brace of it survives."""
    escaped = maps.escape(p)
    for field in FIELDS:
        assert maps.escape(tagged(field, "")) + escaped in page, field
    assert "X 49" not in page and "looploop" not in page
    assert "<img" not in page and "<class" not in page and "</script> " not in page
    assert "{{" not in page and "{#" not in page and "{%" not in page  # no user brace survives as a brace
    assert m.get_root()._token_re.search(page) is None  # every text token was replaced


def test_text_tokens_are_resolved_by_save_and_repr(tmp_path):
    """The map object itself (folium's save / notebook display), not only map_html, shows the text."""
    p = "X {{ 7*7 }}"
    m = maps.coverage_map(**_inputs(p), tiles=False, title=tagged("title", p))
    out = tmp_path / "m.html"
    m.save(str(out))
    saved = out.read_text(encoding="utf-8")
    assert maps.escape(tagged("site-name", p)) in saved and "X 49" not in saved
    assert "title: X &#123;&#123; 7*7 &#125;&#125;</title>" in saved
    assert "X 49" not in m._repr_html_() and "site-name: X &amp;#123;" in m._repr_html_()


# --------------------------------------------------------------------------------------------------------------------
# headless Chromium

# test-only, first thing in <head>: alert() would block headless Chromium, record it instead
ALERT_TRAP = """<head>
<script>window.alert = function (m) { document.documentElement.setAttribute("data-alert", String(m)); };</script>"""

# test-only: the content of every popup and tooltip (as Leaflet would insert it) copied into <div id="probe">
PROBE = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var map = window[document.querySelector(".folium-map").id];
    var probe = document.createElement("div");
    probe.id = "probe";
    var n = 0;
    function add(content, layer) {
      if (typeof content === "function" && !layer.feature && layer.eachLayer) {
        layer.eachLayer(function (child) { add(content, child); });  // a GeoJSON layer's per-feature tooltip
        return;
      }
      if (typeof content === "function") { content = content(layer); }
      var div = document.createElement("div");
      div.className = "probe-item";
      if (typeof content === "string") { div.innerHTML = content; } else if (content) { div.appendChild(content.cloneNode(true)); }
      probe.appendChild(div);
      n += 1;
    }
    map.eachLayer(function (l) {
      if (l.getPopup && l.getPopup()) { add(l.getPopup().getContent(), l); }
      if (l.getTooltip && l.getTooltip()) { add(l.getTooltip().getContent(), l); }
    });
    document.body.appendChild(probe);
    document.body.setAttribute("data-probed", String(n));
  }, 300);
});
</script>
"""


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.title = ""
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: (v or "") for k, v in attrs}))
        self._stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data):
        inside = self._stack[-1] if self._stack else ""
        if inside == "title":
            self.title += data
        elif inside not in ("script", "style"):
            self.text.append(data)

    def attrs(self, tag):
        return [a for t, a in self.elements if t == tag]


def _render(page: Path) -> _Dom:
    probe = page.with_name(page.stem + "_probe.html")
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("<head>", ALERT_TRAP, 1).replace("</html>", PROBE + "</html>"), encoding="utf-8")
    profile = tempfile.mkdtemp(prefix="fsgeo-chromium-")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
           "--dump-dom", probe.as_uri()]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=page.parent, check=True).stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom = _Dom()
    dom.feed(out)
    return dom


def _assert_shown_and_inert(dom: _Dom, p: str, fields, marker: Path):
    body = dom.attrs("body")[0]
    assert int(body.get("data-probed", "0")) > 0, "the probe did not run: the page's script failed"
    text = "".join(dom.text)
    for field in fields:
        if field == "title":
            assert dom.title == tagged("title", p)
        else:
            assert tagged(field, p) in text, field
    assert "X 49" not in text and "loop" not in text
    assert "data-alert" not in dom.attrs("html")[0], "a script ran"
    assert not [a for a in dom.attrs("img") if a.get("src") == "x"], "markup from a file became an element"
    assert not marker.exists(), "a template expression ran Python"


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("name", ["arith", "python", "markup", "comment"])
def test_library_map_in_chromium(tmp_path, name):
    marker = tmp_path / "pwned"
    p = payloads(marker)[name]
    m = maps.coverage_map(**_inputs(p), tiles=False, title=tagged("title", p), threshold_min=10)
    page = maps.save_map(m, tmp_path / "map.html")
    _assert_shown_and_inert(_render(page), p, FIELDS, marker)


def _user_files(tmp_path: Path, p: str) -> dict[str, Path]:
    """A sites CSV, a candidates CSV and a communes GeoJSON (the embedded communes, two renamed) carrying ``p``."""
    from fsgeo import datasets

    sites = tmp_path / "sites.csv"
    pd.DataFrame(dict(
        id=[tagged("site-id", p), "s2"], name=[tagged("site-name", p), "Site two"], lat=[47.62, 47.75],
        lon=[6.15, 5.95], kind=["principal", "principal"], address=[tagged("site-address", p), ""],
        comment=[tagged("site-comment", p), ""],
    )).to_csv(sites, index=False)
    cands = tmp_path / "candidates.csv"
    pd.DataFrame(dict(id=[tagged("cand-id", p), "c2"], name=[tagged("cand-name", p), "Cand 2"], lat=[47.48, 47.7],
                      lon=[5.68, 6.3], kind=["principal", "antenna"])).to_csv(cands, index=False)
    communes = datasets.load_communes()
    communes.loc[[0, 1], "name"] = tagged("commune", p)
    communes.loc[1, "name"] += " bis"
    path = tmp_path / "communes.geojson"
    communes.to_file(path, driver="GeoJSON")
    return dict(sites=sites, candidates=cands, communes=path)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["arith", "python", "markup", "comment"])
def test_cli_map_with_hostile_files(tmp_path, name):
    """``fsgeo map`` on a user's sites, candidates and communes files and --title: exit 0, page in Chromium shows the
    literal text, nothing ran."""
    marker = tmp_path / "pwned"
    p = payloads(marker)[name]
    files = _user_files(tmp_path, p)
    out = tmp_path / "map.html"
    proc = run_fsgeo("map", "--sites", files["sites"], "--candidates", files["candidates"], "--communes",
                     files["communes"], "--title", tagged("title", p), "--no-catchments", "--no-tiles", "--k", "1",
                     "--out", out, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not marker.exists()
    page = out.read_text(encoding="utf-8")
    assert "X 49" not in page and "<img src=x" not in page
    for field in FIELDS:
        assert maps.escape(tagged(field, p)) in page, field
    if CHROMIUM is not None:
        _assert_shown_and_inert(_render(out), p, FIELDS, marker)


def test_rank_json_strings_are_data_too(tmp_path):
    """Names read back from ``fsgeo rank --format json`` (``--rank-json``) go through the same path."""
    marker = tmp_path / "pwned"
    p = payloads(marker)["python"]
    rank = tmp_path / "rank.json"
    row = dict(id=tagged("cand-id", p), name=tagged("cand-name", p), lon=6.1, lat=47.6, rank=1, kind="antenna",
               parent_id=p, commune_name=p)
    rank.write_text(json.dumps(dict(candidates=[row], chosen=[row], threshold=20)), encoding="utf-8")
    out = tmp_path / "map.html"
    run_fsgeo("map", "--rank-json", rank, "--no-catchments", "--no-tiles", "--out", out)
    assert not marker.exists()
    assert maps.escape(tagged("cand-name", p)) in out.read_text(encoding="utf-8")


def test_map_write_failure_keeps_the_previous_file(tmp_path):
    """Issue 9 §2 for maps: a write that fails half-way (here ``ulimit -f``) leaves the previous map intact, and the
    error names the file."""
    import resource
    import sys

    out = tmp_path / "map.html"
    args = ["map", "--no-catchments", "--no-tiles", "--out", out]
    run_fsgeo(*args)
    before = out.read_bytes()
    assert len(before) > 200_000

    def limit():  # the new page (~1 MB) cannot be written in full
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    cmd = [shutil.which("fsgeo")] if shutil.which("fsgeo") else [sys.executable, "-m", "fsgeo"]
    proc = subprocess.run([*cmd, *map(str, args), "--title", "a new title"], capture_output=True, text=True,
                          timeout=300, preexec_fn=limit)
    assert proc.returncode == 2, proc.stderr
    assert str(out) in proc.stderr and "Traceback" not in proc.stderr
    assert out.read_bytes() == before  # not truncated
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]  # no temporary file left behind


def test_map_out_checked_before_the_work(tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "map.html"
    proc = run_fsgeo("map", "--out", missing, check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr and str(missing) in proc.stderr
    afile = tmp_path / "afile"
    afile.write_text("x")
    proc = run_fsgeo("map", "--out", afile / "map.html", check=False)
    assert proc.returncode == 2 and "is a file, not a folder" in proc.stderr
    proc = run_fsgeo("map", "--out", tmp_path / "map.csv", check=False)  # HTML never under another format's name
    assert proc.returncode == 2 and "ending says csv" in proc.stderr and not (tmp_path / "map.csv").exists()
