"""The national map (issue 13): simplified communes on one canvas, département outlines, sites as circles.

Fast tests on the embedded study (forced into national mode) and on hand-made inputs; a slow one builds a small
multi-département study from ``../shared`` (70 + 90 + 25), writes its national map with ``fsgeo map`` and opens it in
headless Chromium (skipped without the raw sources or without chromium).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from fsgeo import maps
from tests._cli import run_fsgeo

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _layers(m, cls):
    return [c for c in m._children.values() if isinstance(c, cls)]


def _decode(geometry: list) -> list:
    """The inverse of ``maps._delta_rings`` (as the page's script does it): lon/lat rings, closed."""
    out = []
    for polys in geometry:
        parts = []
        for poly in polys:
            rings = []
            for flat in poly:
                xy = np.cumsum(np.asarray(flat, dtype=np.int64).reshape(-1, 2), axis=0) / 1e5
                rings.append(np.vstack([xy, xy[:1]]))
            parts.append(shapely.Polygon(rings[0], rings[1:]))
        out.append(shapely.MultiPolygon(parts))
    return out


# ---------------------------------------------------------------------------------------------------- simplification


def test_simplification_keeps_every_commune_and_their_shared_borders(embedded_communes):
    communes = embedded_communes
    simple = maps.simplify_communes(communes, 500)
    assert len(simple) == len(communes) and (simple.index == communes.index).all()
    assert (simple["code"].to_numpy() == communes["code"].to_numpy()).all()
    g = simple.geometry.to_numpy()
    assert not shapely.is_empty(g).any() and shapely.is_valid(g).all()
    assert set(simple.geom_type) <= {"Polygon", "MultiPolygon"}
    before = shapely.get_num_coordinates(communes.geometry.to_numpy()).sum()
    after = shapely.get_num_coordinates(g).sum()
    assert after < 0.6 * before, (before, after)
    metric = simple.to_crs(2154)
    orig = communes.to_crs(2154)
    # no overlaps, no lost area: the pieces still tile the département
    union = shapely.union_all(metric.geometry.to_numpy()).area
    assert metric.area.sum() == pytest.approx(union, rel=2e-3)
    assert union == pytest.approx(shapely.union_all(orig.geometry.to_numpy()).area, rel=1e-2)
    # each commune stays where it was: its demand point (inside the full polygon) is within 500 m of its new shape
    pts = gpd.GeoSeries(gpd.points_from_xy(communes["point_lon"], communes["point_lat"]), crs=4326).to_crs(2154)
    assert (metric.geometry.distance(pts, align=False) < 500).all()
    # shared borders stay shared: neighbours before are neighbours after
    def pairs(geoms):
        tree = shapely.STRtree(geoms)
        a, b = tree.query(geoms, predicate="intersects")
        return {(i, j) for i, j in zip(a, b) if i < j and shapely.intersection(geoms[i], geoms[j]).length > 1}
    kept = pairs(metric.geometry.to_numpy())
    was = pairs(orig.geometry.to_numpy())
    assert len(was & kept) >= 0.98 * len(was), (len(was), len(kept), len(was & kept))


def test_zero_tolerance_keeps_the_polygons(embedded_communes):
    same = maps.simplify_communes(embedded_communes.iloc[:20], 0)
    assert same.geometry.geom_equals(embedded_communes.iloc[:20].geometry.to_crs(4326)).all()


def test_departement_outlines_are_the_union_of_their_communes():
    polys = [box(i, j, i + 1, j + 1) for i in range(4) for j in range(3)]
    gdf = gpd.GeoDataFrame({"departement": ["01"] * 6 + ["02"] * 6}, geometry=polys, crs=4326)
    out = maps.departement_outlines(gdf)
    assert list(out["code"]) == ["01", "02"]
    assert out.geometry.iloc[0].equals(box(0, 0, 2, 3)) and out.geometry.iloc[1].equals(box(2, 0, 4, 3))


# ----------------------------------------------------------------------------------------------------- national map


@pytest.fixture(scope="module")
def national_70(access_70, embedded_sites):
    m = maps.coverage_map(access_70, embedded_sites, tiles=False, title="Haute-Saône", national=True,
                          generated="2024-01-01")
    return m, maps.map_html(m, inline_assets=False)


def test_national_map_keeps_every_commune_each_classed(national_70, access_70, embedded_sites):
    m, page = national_70
    (layer,) = _layers(m, maps._CompactCommunes)
    data, styles = layer.data, layer.styles
    assert len(data["geometry"]) == len(access_70)
    root = m.get_root()
    codes = [root.resolve(c) for c in data["properties"]["code"]]
    assert codes == access_70["code"].map(maps.escape).tolist()
    # each commune carries the class of its minutes, and its class's colour
    edges = maps.band_edges(None, 20.0)
    cls = maps.classify_minutes(access_70["minutes"], edges)
    cls = np.where(access_70["status"].to_numpy() == "unreachable", -1, cls)
    colors = maps.band_colors(len(edges) + 1)
    for key, c, minutes in zip(data["properties"]["s"], cls, access_70["minutes"]):
        assert key.rstrip("a") == str(c)
        assert styles[key]["fillColor"] == (maps.UNREACHABLE_COLOR if c < 0 else colors[c])
        assert key.endswith("a") == bool(np.isfinite(minutes) and minutes > 20 and c >= 0)
    # the compact geometry decodes to the simplified polygons, rounded to 1e-5 degree
    simple = maps.simplify_communes(access_70, maps.NATIONAL_SIMPLIFY_M)
    decoded = _decode(data["geometry"])
    expected = maps._round_geoms(simple.geometry)
    assert all(shapely.equals_exact(shapely.normalize(a), shapely.normalize(shapely.MultiPolygon(
        [b] if b.geom_type == "Polygon" else list(b.geoms))), tolerance=1e-9) for a, b in zip(decoded, expected))
    # one canvas, the outline of the département, the sites as circles (one GeoJSON feature each)
    assert m.options.get("prefer_canvas") is True
    assert json.dumps("Contours des départements")[1:-1] in page  # its name in the layer control
    styled = _layers(m, maps._ClassStyledGeoJson)
    site_layers = [c for c in styled if c.marker is not None]
    assert sum(len(c.data["features"]) for c in site_layers) == len(embedded_sites)
    (outlines,) = [c for c in _layers(m, maps.folium.GeoJson) if c not in styled]
    assert [f["geometry"]["type"] for f in outlines.data["features"]] in (["Polygon"], ["MultiPolygon"])
    assert "fsgeo-search" in page and json.dumps("Légende")[1:-1] in page  # search box, legend toggle
    assert "jusqu’au site le plus proche" in root.resolve(data["properties"]["tip"][0])  # French tooltips


def test_national_map_is_byte_stable(national_70, access_70, embedded_sites):
    again = maps.coverage_map(access_70, embedded_sites, tiles=False, title="Haute-Saône", national=True,
                              generated="2024-01-01")
    assert maps.map_html(again, inline_assets=False) == national_70[1]


def test_the_default_switches_to_national_above_the_size():
    n = maps.NATIONAL_MIN_COMMUNES + 1
    side = math.ceil(math.sqrt(n))
    polys = [box(2 + (k % side) * 0.01, 46 + (k // side) * 0.01, 2.01 + (k % side) * 0.01, 46.01 + (k // side) * 0.01)
             for k in range(n)]
    access = gpd.GeoDataFrame(dict(code=[f"{k:05d}" for k in range(n)], name=[f"C{k}" for k in range(n)],
                                   population=np.full(n, 10), minutes=np.linspace(0, 50, n),
                                   departement=["01"] * n), geometry=polys, crs=4326)
    sites = gpd.GeoDataFrame(dict(id=["a"], name=["A"], kind=["principal"]), geometry=[Point(2.1, 46.1)], crs=4326)
    assert maps.is_national(access) and not maps.is_national(access.iloc[:-1])
    big = maps.coverage_map(access, sites, tiles=False)
    small = maps.coverage_map(access.iloc[:200], sites, tiles=False)
    assert len(_layers(big, maps._CompactCommunes)) == 1 and not _layers(small, maps._CompactCommunes)
    (layer,) = _layers(big, maps._CompactCommunes)
    assert len(layer.data["geometry"]) == n  # none dropped: the smallest square is still there


@pytest.mark.parametrize("name", ["arith", "python", "markup", "comment", "block"])
def test_user_text_stays_text_on_the_national_map(tmp_path, name):
    from tests.test_map_injection import _inputs, assert_payload_stays_text, payloads, tagged

    marker = tmp_path / "pwned"
    p = payloads(marker)[name]
    inputs = _inputs(p)
    inputs["access"] = inputs["access"].assign(departement=tagged("commune", p))
    m = maps.coverage_map(**inputs, tiles=False, title=tagged("title", p), threshold_min=10, national=True)
    page = maps.map_html(m, inline_assets=False)
    assert not marker.exists()
    assert_payload_stays_text(m, page, p)


# ------------------------------------------------------------------------------ the CLI on a multi-département study

PROBE = """
<script>
window.addEventListener("load", function () {
  var map = window[document.querySelector(".folium-map").id];
  var out = {communes: 0, classed: 0, outlines: 0, sites: 0, canvas: document.querySelectorAll("canvas").length,
             search: document.querySelectorAll(".fsgeo-search input").length, codes: []};
  map.eachLayer(function (l) {
    if (!l.feature) { return; }
    var p = l.feature.properties;
    if (p.tip !== undefined && p.code !== undefined) {
      out.communes += 1; out.codes.push(p.code);
      if (l.options.fillColor && /^#[0-9a-f]{6}$/.test(l.options.fillColor)) { out.classed += 1; }
    } else if (p.popup !== undefined) { out.sites += 1; }
    else if (l.feature.geometry && /Polygon/.test(l.feature.geometry.type)) { out.outlines += 1; }
  });
  out.ms = Math.round(performance.now());
  document.body.setAttribute("data-probe", JSON.stringify(out));
});
</script>
"""


@pytest.mark.slow
@pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the multi-département study cannot be built")
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_national_map_of_a_multi_departement_study_opens_in_chromium(tmp_path):
    from fsgeo.build_data import build_all
    from fsgeo.datasets import load_study

    build_all(RAW, tmp_path / "study", lambda m: None, ["70", "90", "25"])
    study = load_study(tmp_path / "study")
    communes = study.communes
    # simplification keeps every commune of the three départements, valid and in place
    simple = maps.simplify_communes(communes)
    assert len(simple) == len(communes) and not simple.geometry.is_empty.any() and simple.geometry.is_valid.all()

    out = tmp_path / "map.html"
    t0 = time.perf_counter()
    r = run_fsgeo("map", "--study", str(tmp_path / "study"), "--national", "--no-tiles", "--out", str(out))
    build_s = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    assert "national map" in r.stdout and f"{len(communes)} communes" in r.stdout
    page = out.read_text(encoding="utf-8")
    assert "<script src=" not in page  # offline
    for words in ("Contours des départements", "Communes : minutes jusqu’au site le plus proche"):
        assert json.dumps(words)[1:-1] in page, words
    first = out.read_bytes()  # byte-stable: the same command again (the map's provenance footer names the command)
    assert run_fsgeo("map", "--study", str(tmp_path / "study"), "--national", "--no-tiles", "--out",
                     str(out)).returncode == 0
    assert out.read_bytes() == first

    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</html>", PROBE + "</html>"), encoding="utf-8")
    profile = tempfile.mkdtemp(prefix="fsgeo-chromium-")
    t0 = time.perf_counter()
    try:
        dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={profile}", "--virtual-time-budget=3000", "--dump-dom",
                              probe.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    load_s = time.perf_counter() - t0
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the probe did not run: the page's script failed"
    res = json.loads(found.group(1).replace("&quot;", '"'))
    print(f"\nnational map of 70+90+25: {out.stat().st_size / 1e6:.2f} MB, fsgeo map {build_s:.1f} s, "
          f"chromium {load_s:.1f} s (page script done at {res['ms']} ms)")
    assert res["communes"] == len(communes) and res["classed"] == len(communes)
    assert sorted(res["codes"]) == sorted(communes["code"].astype(str))
    assert res["outlines"] == 3  # one per département
    assert res["sites"] == len(study.sites)
    assert res["canvas"] >= 1 and res["search"] == 1
