"""fsgeo.maps.show / notebook_html: a map inline in Jupyter with no network (Leaflet embedded in an iframe srcdoc).

The unit tests parse the iframe back out of the output; the browser test (skipped where Debian's ``chromium`` is
absent) renders a page holding only that iframe and checks the screenshot shows the coloured communes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import warnings
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from fsgeo import maps

HOSTILE = "<script>alert(1)</script>\" onload=\"alert(2)"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def small_map(**kwargs):
    polys = [box(6.0 + 0.1 * i, 47.5, 6.1 + 0.1 * i, 47.6) for i in range(4)]
    access = gpd.GeoDataFrame(
        dict(code=["70001", "70002", "70003", "70004"], name=[HOSTILE, "Vesoul", "Gray", "Lure"],
             population=[100, 2000, 300, 40], minutes=[3.0, 12.0, 25.0, 50.0], nearest_site_name=["A"] * 4),
        geometry=polys, crs="EPSG:4326")
    sites = gpd.GeoDataFrame(
        dict(id=["a", "b"], name=[HOSTILE, "Site B"], kind=["principal", "antenna"], in_departement=[True, True]),
        geometry=[Point(6.05, 47.55), Point(6.25, 47.55)], crs="EPSG:4326")
    return maps.coverage_map(access, sites, tiles=False, **kwargs)


class _Frames(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.frames, self.divs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "iframe":
            self.frames.append(dict(attrs))
        elif tag == "div":
            self.divs.append(dict(attrs))


def parse(fragment):
    p = _Frames()
    p.feed(fragment)
    p.close()
    return p


def test_iframe_holds_the_offline_page():
    out = maps.notebook_html(small_map(), height=400)
    p = parse(out)
    # one element only: nothing in the page escaped the attribute
    assert p.tags == ["div", "span", "iframe"] and len(p.frames) == 1
    assert set(p.frames[0]) == {"class", "srcdoc", "style", "sandbox"}
    frame = p.frames[0]
    assert p.divs[0]["style"].endswith("height:400px") and "width:100%;" in p.divs[0]["style"]
    assert "position:absolute" in frame["style"] and "height:100%" in frame["style"]
    assert frame["sandbox"].split()[0] == "allow-scripts" and "allow-same-origin" not in frame["sandbox"]
    page = frame["srcdoc"]
    assert page.startswith("<!DOCTYPE html>") and "L.map(" in page
    # Leaflet and jQuery embedded, nothing loaded from the network
    assert "Leaflet 1.9" in page and "jQuery" in page
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=\"https?:", page)
    # the page is map_html's (of the same map built again: folium adds to a map it renders twice), random ids
    # renumbered
    expected = maps.map_html(small_map(), inline_assets=True)
    assert re.sub(r"_[0-9a-f]{32}", "_ID", page) == re.sub(r"_[0-9a-f]{32}", "_ID", expected)
    # map_html itself renumbers them now: the same map gives the same bytes everywhere
    assert page == expected and re.search(r"map_0{31}1\b", page)


def test_hostile_names_stay_text():
    out = maps.notebook_html(small_map())
    assert "<script>alert(1)" not in out and 'onload="' not in out
    assert parse(out).tags == ["div", "span", "iframe"]
    page = parse(out).frames[0]["srcdoc"]
    # inside the page the name is still HTML-escaped, as in a saved map
    assert HOSTILE not in page and "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot; onload=&quot;alert(2)" in page


def test_stable_ids_make_the_output_reproducible():
    a, b = maps.notebook_html(small_map()), maps.notebook_html(small_map())
    assert a == b
    # folium's own ids are random: the map's page renumbers them (saved files are byte-identical too)
    assert maps.map_html(small_map()) == maps.map_html(small_map())
    assert small_map().get_root().render() != small_map().get_root().render()
    # renumbering keeps distinct elements distinct
    page = maps.map_html(small_map())
    assert len(set(re.findall(r"_([0-9a-f]{32})(?![0-9A-Za-z])", page))) == len(
        set(re.findall(r"_(0{20}\d{12})(?![0-9A-Za-z])", parse(a).frames[0]["srcdoc"])))


def test_cdn_variant_and_sizes():
    p = parse(maps.notebook_html(small_map(), inline_assets=False, width=640, height="60vh"))
    assert re.search(r"<script[^>]+src=\"https://", p.frames[0]["srcdoc"])
    assert "width:640px;" in p.divs[0]["style"] and "height:60vh" in p.divs[0]["style"]
    for bad in ("100%;background:url(x)", "-5", "", "auto"):
        with pytest.raises(ValueError, match="CSS length"):
            maps.notebook_html(small_map(), height=bad)


def test_show_returns_a_displayable_html_object():
    IPython = pytest.importorskip("IPython")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # IPython warns on HTML starting with <iframe>: it would print in notebooks
        obj = maps.show(small_map(), height=300)
    assert isinstance(obj, IPython.display.HTML)
    assert obj.data == maps.notebook_html(small_map(), height=300)
    assert obj._repr_html_().startswith('<div class="fsgeo-map-output"') and "fsgeo-map-frame" in obj._repr_html_()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_iframe_renders_offline_in_chromium(tmp_path):
    from PIL import Image

    page = tmp_path / "notebook_output.html"
    page.write_text("<!DOCTYPE html><html><body style='margin:0;background:#fff'>"
                    + maps.notebook_html(small_map(), height=600, width=800) + "</body></html>", encoding="utf-8")
    shot = tmp_path / "inline.png"
    profile = tempfile.mkdtemp(prefix="fsgeo-chromium-")
    try:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", f"--user-data-dir={profile}",
                        # no network at all: an asset fetched from a CDN would fail
                        "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=4000",
                        # the sandboxed iframe gets its own renderer process, which headless screenshots may catch
                        # before it paints: keep it in-process so the screenshot is reliable
                        "--disable-features=IsolateOrigins,site-per-process", "--disable-site-isolation-trials",
                        "--window-size=900,700", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    print(f"\ninline map screenshot: {shot}")
    pixels = np.asarray(Image.open(shot).convert("RGB"))[:600, :800].reshape(-1, 3).astype(int)
    # communes drawn in the band colours: the green of 0-10 min and the red of > 45 min
    green = (pixels[:, 1] - pixels[:, 0] > 60) & (pixels[:, 1] - pixels[:, 2] > 30)
    red = (pixels[:, 0] - pixels[:, 1] > 100) & (pixels[:, 0] - pixels[:, 2] > 100)
    assert green.mean() > 0.01 and red.mean() > 0.01
