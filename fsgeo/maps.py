"""Folium maps of fsgeo results, for planners: standalone HTML that works offline.

``coverage_map`` draws the analysis results (``coverage.access_times``, ``catchments.catchments``,
``coverage.underserved_zones``, ``siting`` results) on one Leaflet map, each in its own layer of a layer control.
``save_map`` writes it as one standalone HTML file with Leaflet and jQuery inlined from the local packages
XStatic-Leaflet / XStatic-jQuery (or Debian's libjs-leaflet / libjs-jquery), so the map opens on an offline machine;
only the optional base tiles need the network.

Every string that comes from a data file (site, commune and candidate names, addresses, comments, reasons, the
title) is escaped by :func:`escape` and is only ever *data*: folium compiles the rendered output of each element again
as a Jinja2 template (branca's ``MacroElement.render`` wraps it in ``Element(text)``), so text placed in the folium
element tree would be template source (``{{ 7*7 }}`` gave ``49``, ``{{ cycler.__init__.__globals__.os... }}`` ran
Python). The map therefore holds opaque tokens in place of those strings, and its root figure (:class:`TextFigure`)
swaps the tokens for the escaped text by plain string replacement after the templates have run.
"""

from __future__ import annotations

import base64
from functools import partial
import html as _html
import math
import re
import secrets
import warnings
from importlib import metadata
from pathlib import Path
from typing import Iterable, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.colormap import LinearColormap
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from fsgeo.schema import is_blank, local_metric_crs
from fsgeo.settings import settings

__all__ = [
    "coverage_map",
    "save_map",
    "map_html",
    "escape",
    "band_edges",
    "classify_minutes",
    "band_labels",
    "band_colors",
    "local_asset",
    "notebook_html",
    "show",
    "TextFigure",
    "simplify_communes",
    "departement_outlines",
    "is_national",
    "NATIONAL_MIN_COMMUNES",
    "NATIONAL_SIMPLIFY_M",
]

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: base tiles used for ``tiles=True`` (folium's keyless default)
DEFAULT_TILES = "OpenStreetMap"
#: colours of the finite minute classes, green (near) to red (far); resampled when the class count differs
BAND_PALETTE = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027")
UNREACHABLE_COLOR = "#9e9e9e"
CATCHMENT_PALETTE = ("#3f007d", "#6a51a3", "#9e9ac8")
ZONE_COLOR = "#b2182b"
SITE_COLOR = "#1d4f91"
ANTENNA_COLOR = "#3d8fd1"
NEIGHBOUR_COLOR = "#555555"
CANDIDATE_COLOR = "#e66101"
COORD_DECIMALS = 5  # ~1 m: plenty for display, keeps the HTML small
#: a map of more communes than this is drawn in national mode (:func:`coverage_map`, ``national=None``): simplified
#: communes on a canvas, département outlines, light circle markers for the sites
NATIONAL_MIN_COMMUNES = 2000
#: national mode: tolerance of the commune simplification (:func:`simplify_communes`), metres in the metric CRS
NATIONAL_SIMPLIFY_M = 500.0

REQUIRED_ACCESS = ("code", "name", "population", "minutes")
REQUIRED_SITES = ("id", "name")
REQUIRED_CATCHMENTS = ("site_id", "site_name", "band_min")


# --------------------------------------------------------------------------------------------------------------------
# escaping and small helpers


#: characters html.escape leaves alone but that would break out of a JSON/JavaScript string (control characters,
#: line separators) or form Jinja2 syntax (braces): written as numeric character references, which render the same
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029`$\\{}]")


def _char_ref(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"&#{code if code else 0xFFFD};"  # NUL is not a valid reference: the replacement character


def escape(value) -> str:
    """HTML-escape ``value`` for popups, tooltips and the legend.

    Besides ``& < > " '``, also writes as character references (which render as the same text) the characters that
    are special inside a JavaScript string or template literal (`````, ``$``, ``\\``, control characters, U+2028/9)
    and the braces of Jinja2 syntax, so the result is inert in HTML, in JSON/JavaScript strings and in a template.
    ``None``/NaN give an empty string.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return _UNSAFE_CHARS.sub(_char_ref, _html.escape(str(value), quote=True))


class TextFigure(Figure):
    """The root figure of an fsgeo map: user text stays out of the templates.

    :meth:`text` escapes a string from a file and returns an opaque ASCII token standing for it; the map elements
    hold only tokens. :meth:`render` (used by ``save``, ``_repr_html_`` and :func:`map_html`) renders the page and
    then replaces each token by its escaped text, so a user's string is never compiled as Jinja2 template source.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._nonce = secrets.token_hex(8)
        self._texts: list[str] = []
        self._tokens: dict[str, str] = {}
        self._token_re = re.compile(rf"fsgeo{self._nonce}t(\d+)x")

    def text(self, value) -> str:
        """Token standing for ``escape(value)`` in the rendered page ("" for a blank value)."""
        escaped = escape(value)
        if not escaped:
            return ""
        token = self._tokens.get(escaped)
        if token is None:
            token = self._tokens[escaped] = f"fsgeo{self._nonce}t{len(self._texts)}x"
            self._texts.append(escaped)
        return token

    def resolve(self, text: str) -> str:
        """``text`` with every token replaced by the escaped string it stands for."""
        return self._token_re.sub(lambda mt: self._texts[int(mt.group(1))], text)

    def render(self, **kwargs) -> str:
        return self.resolve(super().render(**kwargs))


def _fmt_minutes(value, lang: str = "en") -> str:
    words = _MAP_TEXT[lang]
    try:
        v = float(value)
    except (TypeError, ValueError):
        return words["na"]
    if math.isnan(v):
        return words["na"]
    if math.isinf(v):
        return words["unreachable"]
    text = f"{v:.1f} min"
    return text.replace(".", ",") if lang == "fr" else text


def _fmt_int(value, esc=escape, lang: str = "en") -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if math.isnan(v):
        return _MAP_TEXT[lang]["na"]
    return f"{int(round(v)):,}".replace(",", "\u202f")  # narrow no-break space as thousands separator


def _fmt_num(x: float, lang: str = "en") -> str:
    text = f"{x:g}"
    return text.replace(".", ",") if lang == "fr" else text


_is_blank = is_blank  # the package's one blank test (fsgeo.schema)


def _require(df, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)} (have: {', '.join(map(str, df.columns))})")


def _to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise ValueError(f"{what}: GeoDataFrame has no CRS (set it explicitly, e.g. EPSG:4326)")
    out = gdf.to_crs(settings.crs) if not gdf.crs.equals(settings.crs) else gdf
    empty = out.geometry.isna() | out.geometry.is_empty
    if empty.any():
        bad = out.index[empty.to_numpy()][:5].tolist()
        raise ValueError(f"{what}: missing or empty geometry in row(s) {bad}")
    return out


def _round_geoms(geoms: gpd.GeoSeries) -> np.ndarray:
    return shapely.transform(geoms.to_numpy(), lambda c: np.round(c, COORD_DECIMALS))


# --------------------------------------------------------------------------------------------------------------------
# minute classes


def band_edges(bands: Sequence[float] | None = None, threshold_min: float | None = None) -> tuple[float, ...]:
    """Upper edges of the minute classes, minutes: ``bands`` (default ``settings.summary_bands_min``) plus the
    threshold."""
    values = set(float(b) for b in (settings.summary_bands_min if bands is None else bands))
    if threshold_min is not None:
        values.add(float(threshold_min))
    if not values or any(not (v > 0 and math.isfinite(v)) for v in values):
        raise ValueError(f"bands must be finite positive minutes, got {sorted(values)}")
    return tuple(sorted(values))


def classify_minutes(minutes, edges: Sequence[float]) -> np.ndarray:
    """Class index of each value: ``i`` for ``edges[i-1] < m <= edges[i]``, ``len(edges)`` above the last edge,
    ``-1`` for unreachable (inf or NaN)."""
    m = np.asarray(minutes, dtype=float)
    cls = np.searchsorted(np.asarray(edges, dtype=float), m, side="left")
    return np.where(np.isfinite(m), cls, -1)


def band_labels(edges: Sequence[float], lang: str = "en") -> list[str]:
    """Labels of the finite classes, e.g. ``["0–10 min", ..., "> 45 min"]`` (decimal comma with ``lang="fr"``)."""
    lows = (0.0, *edges)
    labels = [f"{_fmt_num(lo, lang)}–{_fmt_num(hi, lang)} min" for lo, hi in zip(lows[:-1], edges)]
    return labels + [f"> {_fmt_num(edges[-1], lang)} min"]


def band_colors(n_classes: int) -> list[str]:
    """``n_classes`` colours from near (green) to far (red)."""
    if n_classes == len(BAND_PALETTE):
        return list(BAND_PALETTE)
    cmap = LinearColormap(list(BAND_PALETTE), vmin=0, vmax=1)
    return [cmap(i / max(n_classes - 1, 1))[:7] for i in range(n_classes)]


# --------------------------------------------------------------------------------------------------------------------
# map elements


_CSS = """
.folium-map.leaflet-container { font-size: 12px; }
.folium-map .leaflet-control-layers { font: 12px/1.5 sans-serif; }
.fsgeo-legend { background: rgba(255,255,255,0.93); padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 sans-serif; color: #222; max-width: 290px; }
.fsgeo-legend h4 { margin: 0 0 4px; font-size: 13px; }
.fsgeo-legend .fsgeo-sub { margin: 6px 0 2px; font-weight: bold; }
.fsgeo-legend .row { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
.fsgeo-legend .sw { width: 16px; height: 11px; border: 1px solid #777; flex: none; }
.fsgeo-legend .ln { width: 18px; height: 0; border-top: 2px dashed; flex: none; }
.fsgeo-legend .ico { width: 18px; display: inline-flex; justify-content: center; flex: none; }
.fsgeo-legend .n { color: #555; }
.fsgeo-legend .fsgeo-provenance { margin-top: 6px; max-width: 320px; font-size: 10px; color: #444; }
.fsgeo-legend .fsgeo-provenance div { white-space: normal; overflow-wrap: anywhere; }
.fsgeo-legend .fsgeo-provenance summary { cursor: pointer; font-weight: bold; }
.fsgeo-icon { background: none; border: none; }
.fsgeo-icon svg { display: block; filter: drop-shadow(0 0 1px rgba(0,0,0,0.6)); }
.fsgeo-rank { width: 20px; height: 20px; border-radius: 50%; background: #e66101; color: #fff; border: 2px solid #fff;
  font: bold 11px/20px sans-serif; text-align: center; box-shadow: 0 0 2px rgba(0,0,0,0.7); }
.fsgeo-popup { font: 12px/1.4 sans-serif; }
.fsgeo-popup table { border-collapse: collapse; margin-top: 3px; }
.fsgeo-popup td, .fsgeo-popup th { padding: 0 6px 0 0; text-align: left; vertical-align: top; font-weight: normal; }
.fsgeo-popup th { color: #555; }
"""


class _Legend(MacroElement):
    """A Leaflet control holding pre-escaped legend HTML (passed as a JSON string, so nothing is parsed as script)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function () {
                var div = L.DomUtil.create("div", "fsgeo-legend");
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, css: str = _CSS, position: str = "bottomright"):
        super().__init__()
        self._name = "FsgeoLegend"
        self.html = html
        self.css = css
        self.position = position


_TOOLS_CSS = """
.fsgeo-legend .fsgeo-legend-toggle { display: block; font-weight: bold; color: #222; text-decoration: none;
  cursor: pointer; margin: -2px 0 4px; }
.fsgeo-legend.fsgeo-collapsed .fsgeo-legend-body { display: none; }
.fsgeo-legend.fsgeo-collapsed .fsgeo-legend-toggle { margin: 0; }
.fsgeo-search input { font: 12px sans-serif; padding: 4px 6px; width: 190px; border: 1px solid #aaa;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); }
.fsgeo-fullscreen a { font: bold 16px/30px sans-serif; text-align: center; }
.fsgeo-generated { font: 11px sans-serif; }
@media print {
  .leaflet-control-zoom, .leaflet-control-layers, .fsgeo-search, .fsgeo-fullscreen, .fsgeo-legend-toggle
    { display: none !important; }
  .fsgeo-legend.fsgeo-collapsed .fsgeo-legend-body { display: block !important; }
  .fsgeo-legend { box-shadow: none; border: 1px solid #999; }
  @page { size: landscape; margin: 1cm; }
}
"""

#: the words of the map's controls, by language
_TOOLS_TEXT = {
    "fr": {"legend": "Légende", "search": "Rechercher une commune…", "fullscreen": "Plein écran",
           "generated": "Carte générée le {date}", "sources": "Sources"},
    "en": {"legend": "Legend", "search": "Find a commune…", "fullscreen": "Full screen",
           "generated": "Map generated on {date}", "sources": "Sources"},
}

#: the map's fixed words (layer names, legend, tooltips, popups), by language; ``{x}`` fields are numbers or
#: already-escaped tokens, never raw user text
_MAP_TEXT = {
    "fr": {
        "outline": "Contour du département", "departements": "Contours des départements", "communes": "Communes : minutes jusqu’au site le plus proche",
        "catch": "Zones de desserte ≤ {b} min", "zones": "Zones mal desservies (> {t} min)",
        "candidates": "Sites candidats", "chosen_layer": "Nouveaux sites retenus",
        "principal": "Espaces France Services", "antenna": "Antennes France Services",
        "neighbour": "Sites des départements voisins",
        "inh": "hab.", "inhabitants": "habitants", "drive": "en voiture", "neighbouring": "Département voisin",
        "open": "Ouvert {h} h/semaine", "closed": "fermé", "labelled": "Labellisé le {d}",
        "days": ("Lun", "Mar", "Mer", "Jeu", "Ven", "Sam", "Dim"),
        "unreachable": "inaccessible", "na": "n.d.", "no_site": "aucun site accessible",
        "to_nearest": "{m} jusqu’au site le plus proche", "nearest": "le plus proche : {s}", "then": "puis : {s}",
        "parts": "moyenne de ses {n} points, pondérée par leur population ({lo} à {hi})",
        "zone": "Zone mal desservie {z}", "n_communes": "{n} communes, {p} habitants", "up_to": "jusqu’à {m}",
        "more": " et {n} autres", "candidate": "Candidat", "new_site": "Nouveau site", "chosen": "retenu",
        "gain": "gain", "gain_text": "{p} habitants nouvellement sous le seuil", "resolves": "résout",
        "resolves_text": "{n} communes mal desservies", "serves": "dessert", "mean_time": "temps moyen",
        "kind": "type", "commune": "commune", "run_by": "rattaché à",
        "commune_one": "commune", "commune_many": "communes",
        "drive_time": "Temps de trajet jusqu’au site le plus proche",
        "above": "⚠ / contour foncé : au-delà du seuil de {t} min", "catchments": "Zones de desserte",
        "zone_row": "zone mal desservie ({n})", "sites": "Sites",
        "l_principal": "espace France Services", "l_antenna": "antenne", "l_neighbour": "département voisin",
        "l_neighbour_antenna": "antenne voisine", "l_candidate": "candidat ({n})",
        "l_chosen": "nouveau site retenu, par rang ({n})",
    },
    "en": {
        "outline": "Département outline", "departements": "Département outlines", "communes": "Communes: minutes to the nearest site",
        "catch": "Catchments ≤ {b} min", "zones": "Under-served zones (> {t} min)",
        "candidates": "Candidate sites", "chosen_layer": "Chosen new sites",
        "principal": "France Services spaces", "antenna": "France Services antennas",
        "neighbour": "Sites of neighbouring départements",
        "inh": "inh.", "inhabitants": "inhabitants", "drive": "drive", "neighbouring": "Neighbouring département",
        "open": "Open {h} h/week", "closed": "closed", "labelled": "Labelled on {d}",
        "days": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        "unreachable": "unreachable", "na": "n/a", "no_site": "no site reachable",
        "to_nearest": "{m} to the nearest site", "nearest": "nearest: {s}", "then": "then: {s}",
        "parts": "mean of its {n} points, weighted by their population ({lo} to {hi})",
        "zone": "Under-served zone {z}", "n_communes": "{n} communes, {p} inhabitants", "up_to": "up to {m}",
        "more": " and {n} more", "candidate": "Candidate", "new_site": "New site", "chosen": "chosen",
        "gain": "gain", "gain_text": "{p} inhabitants newly within the threshold", "resolves": "resolves",
        "resolves_text": "{n} under-served communes", "serves": "serves", "mean_time": "mean time",
        "kind": "kind", "commune": "commune", "run_by": "run by",
        "commune_one": "commune", "commune_many": "communes",
        "drive_time": "Drive time to the nearest site",
        "above": "⚠ / dark outline: above the {t} min threshold", "catchments": "Catchments",
        "zone_row": "under-served zone ({n})", "sites": "Sites",
        "l_principal": "France Services space", "l_antenna": "antenna", "l_neighbour": "neighbouring département",
        "l_neighbour_antenna": "neighbouring antenna", "l_candidate": "candidate ({n})",
        "l_chosen": "chosen new site, by rank ({n})",
    },
}


class _MapTools(MacroElement):
    """Offline map tools, no external script: a collapsible legend (collapsed on small windows, so that the
    study area shows whole at 1024x768), a full-screen button, a commune search box, the data credits and the
    generation date (shown even without base tiles), and a print style. Every text is escaped and passed as JSON."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var words = {{ this.words|tojson }};
            // escaped text -> plain text: a detached <textarea> parses its content as text only (no element is created)
            var decoder = document.createElement("textarea");
            var decode = function (s) { decoder.innerHTML = s; return decoder.value; };
            // legend: a toggle, collapsed when the window is small
            document.querySelectorAll(".fsgeo-legend").forEach(function (div) {
                var body = document.createElement("div");
                body.className = "fsgeo-legend-body";
                while (div.firstChild) { body.appendChild(div.firstChild); }
                var toggle = document.createElement("a");
                toggle.href = "#";
                toggle.className = "fsgeo-legend-toggle";
                toggle.textContent = words.legend + " \u25BE";
                toggle.onclick = function (e) { e.preventDefault(); div.classList.toggle("fsgeo-collapsed"); };
                div.appendChild(toggle);
                div.appendChild(body);
                if (window.innerWidth < 1200 || window.innerHeight < 850) { div.classList.add("fsgeo-collapsed"); }
            });
            // full screen (the browser's Fullscreen API)
            var fs = L.control({position: "topleft"});
            fs.onAdd = function () {
                var div = L.DomUtil.create("div", "leaflet-bar fsgeo-fullscreen");
                var a = L.DomUtil.create("a", "", div);
                a.href = "#"; a.title = words.fullscreen; a.setAttribute("role", "button"); a.innerHTML = '<svg width="14" height="14" viewBox="0 0 14 14" style="margin-top:8px" fill="none" ' +
                    'stroke="#333" stroke-width="2"><path d="M1 5V1h4M9 1h4v4M13 9v4H9M5 13H1V9"/></svg>';
                L.DomEvent.on(a, "click", function (e) {
                    L.DomEvent.preventDefault(e);
                    var el = map.getContainer();
                    if (document.fullscreenElement) { document.exitFullscreen(); }
                    else if (el.requestFullscreen) { el.requestFullscreen(); }
                });
                return div;
            };
            fs.addTo(map);
            document.addEventListener("fullscreenchange", function () { map.invalidateSize(); });
            {% if this.communes_layer %}
            // commune search: type a name or an INSEE code, the map zooms to it and names it
            var layer = {{ this.communes_layer }};
            var names = {{ this.names|tojson }};
            var byLabel = {};
            var search = L.control({position: "topleft"});
            search.onAdd = function () {
                var div = L.DomUtil.create("div", "fsgeo-search");
                var input = L.DomUtil.create("input", "", div);
                input.type = "search"; input.placeholder = words.search; input.setAttribute("list", "fsgeo-communes");
                var list = L.DomUtil.create("datalist", "", div);
                list.id = "fsgeo-communes";
                var filled = false;
                var fill = function () {  // a national map's 35,000 names: on first use, not to open it
                    if (filled) { return; }
                    filled = true;
                    var frag = document.createDocumentFragment();
                    Object.keys(names).sort().forEach(function (code) {
                        var label = decode(names[code]) + " (" + code + ")";
                        byLabel[label.toLowerCase()] = code; byLabel[code] = code;
                        var opt = document.createElement("option"); opt.value = label; frag.appendChild(opt);
                    });
                    list.appendChild(frag);
                };
                input.addEventListener("focus", fill);
                input.addEventListener("input", fill);
                if (Object.keys(names).length <= 5000) { fill(); }  // a département's: at once
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                input.addEventListener("change", function () {
                    fill();
                    var code = byLabel[input.value.trim().toLowerCase()] || byLabel[input.value.trim()];
                    if (!code) { return; }
                    layer.eachLayer(function (l) {
                        if (l.feature && decode(String(l.feature.properties.code)) === code) {
                            map.fitBounds(l.getBounds(), {maxZoom: 12});
                            if (l.openTooltip) { l.openTooltip(l.getBounds().getCenter()); }
                        }
                    });
                });
                return div;
            };
            search.addTo(map);
            {% endif %}
            // credits and date, even without base tiles
            if (!map.attributionControl) { L.control.attribution({prefix: false}).addTo(map); }
            map.attributionControl.addAttribution({{ this.credits|tojson }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, lang: str, credits_html: str, names: dict, communes_layer: str | None):
        super().__init__()
        self._name = "FsgeoTools"
        self.css = _TOOLS_CSS
        self.words = _TOOLS_TEXT[lang]
        self.credits = credits_html
        self.names = names
        self.communes_layer = communes_layer


class _ClassStyledGeoJson(folium.GeoJson):
    """A GeoJSON layer whose features are styled by a small class property (``style_key``) instead of their id.

    folium's style function becomes a JavaScript ``switch`` with one ``case`` per feature, run once per feature: with
    35,000 communes that is quadratic (the national map took ~55 s to open in Chromium). Here the switch is over the
    class property, one ``case`` per class: ``style_key`` must determine the style (same key, same style).
    """

    def __init__(self, data, style_key: str, **kwargs):
        super().__init__(data, **kwargs)
        self.feature_identifier = f"feature.properties.{style_key}"

    @staticmethod
    def _distinct(mapping):
        return {k: v if k == "default" else list(dict.fromkeys(v)) for k, v in mapping.items()}

    @property
    def style_map(self):
        return self._style_map

    @style_map.setter
    def style_map(self, mapping):
        self._style_map = self._distinct(mapping)

    @property
    def highlight_map(self):
        return self._highlight_map

    @highlight_map.setter
    def highlight_map(self, mapping):
        self._highlight_map = self._distinct(mapping)


def _delta_rings(geoms) -> list:
    """Polygons as nested lists (commune > polygon > ring) of flat integer arrays ``[x0, y0, dx1, dy1, ...]``: lon
    and lat in units of 1e-5 degree (:data:`COORD_DECIMALS`), each vertex as the step from the previous one, the
    closing vertex left out. About half the bytes of GeoJSON, and far fewer arrays for the browser to build."""
    kind, coords, offsets = shapely.to_ragged_array(shapely.force_2d(np.asarray(geoms, dtype=object)))
    if kind == shapely.GeometryType.MULTIPOLYGON:
        rings, polys, parts = offsets
    else:  # all Polygons: one polygon per commune
        (rings, polys), parts = offsets, np.arange(len(offsets[1]))
    ints = np.round(coords * 10**COORD_DECIMALS).astype(np.int64)
    deltas = ints.copy()
    deltas[1:] -= ints[:-1]
    deltas[rings[:-1]] = ints[rings[:-1]]  # each ring starts from an absolute vertex
    flat = deltas.ravel().tolist()
    ring_list = [flat[2 * a:2 * (b - 1)] for a, b in zip(rings[:-1], rings[1:])]
    poly_list = [ring_list[a:b] for a, b in zip(polys[:-1], polys[1:])]
    return [poly_list[a:b] for a, b in zip(parts[:-1], parts[1:])]


class _CompactCommunes(folium.map.Layer):
    """The communes of a national map: one canvas-drawn GeoJSON layer built in the browser from compact data.

    Geometry as delta-encoded integers (:func:`_delta_rings`), properties as parallel lists, one style per class:
    32 MB and ~55 s to open with folium's GeoJson (a ``switch`` with a case per feature, run for every feature) become
    a fraction of it. The features carry the same ``tip`` (escaped HTML, tokens resolved by :class:`TextFigure`),
    ``code`` and ``s`` (style key) properties, so the tooltip, highlight and commune search work as on the
    département map.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var data = {{ this.data|tojson }};
            var styles = {{ this.styles|tojson }};
            var ring = function (a) {
                var out = new Array(a.length / 2), x = 0, y = 0;
                for (var i = 0; i < a.length; i += 2) { x += a[i]; y += a[i + 1]; out[i / 2] = [x / 1e5, y / 1e5]; }
                out.push(out[0]);
                return out;
            };
            var features = data.geometry.map(function (polys, i) {
                var props = {};
                Object.keys(data.properties).forEach(function (k) { props[k] = data.properties[k][i]; });
                return {type: "Feature", properties: props,
                        geometry: {type: "MultiPolygon", coordinates: polys.map(function (p) { return p.map(ring); })}};
            });
            var layer = L.geoJson({type: "FeatureCollection", features: features}, {
                style: function (f) { return styles[f.properties.s]; },
                onEachFeature: function (f, l) {
                    l.on({mouseover: function (e) { e.target.setStyle({{ this.highlight|tojson }}); },
                          mouseout: function (e) { layer.resetStyle(e.target); }});
                }
            });
            layer.bindTooltip(function (l) { return l.feature.properties.tip; }, {sticky: true});
            return layer;
        })();
        {% endmacro %}
        """
    )

    def __init__(self, geometry, properties: dict, styles: dict, name: str):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "CompactCommunes"
        self.data = {"geometry": _delta_rings(geometry.to_numpy()),
                     "properties": {k: [v.item() if hasattr(v, "item") else v for v in vals]
                                    for k, vals in properties.items()}}
        self.styles = styles
        self.highlight = {"weight": 3, "color": "#000000"}

    def _get_self_bounds(self):
        return [[None, None], [None, None]]


def _svg_circle(color: str, size: int, hollow: bool) -> str:
    r = size / 2 - 2
    fill, stroke = ("#ffffff", color) if hollow else (color, "#ffffff")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f'<circle cx="{size / 2}" cy="{size / 2}" r="{r}" fill="{fill}" stroke="{stroke}" stroke-width="2"/></svg>'
    )


def _svg_diamond(color: str, size: int, hollow: bool) -> str:
    c, h = size / 2, size / 2 - 1.5
    fill, stroke = ("#ffffff", color) if hollow else (color, "#ffffff")
    pts = f"{c},{c - h} {c + h},{c} {c},{c + h} {c - h},{c}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f'<polygon points="{pts}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/></svg>'
    )


def _svg_square(color: str, size: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f'<rect x="2" y="2" width="{size - 4}" height="{size - 4}" fill="#ffffff" stroke="{color}" stroke-width="2.5"/>'
        f"</svg>"
    )


#: site category -> (layer name, svg, size px)
SITE_STYLES = {
    "principal": ("France Services spaces", _svg_circle(SITE_COLOR, 18, hollow=False), 18),
    "antenna": ("France Services antennas", _svg_diamond(ANTENNA_COLOR, 16, hollow=False), 16),
    "neighbour": ("Sites of neighbouring départements", _svg_circle(NEIGHBOUR_COLOR, 16, hollow=True), 16),
    "neighbour_antenna": (None, _svg_diamond(NEIGHBOUR_COLOR, 14, hollow=True), 14),
}


def _icon(svg: str, size: int, css_class: str) -> folium.DivIcon:
    return folium.DivIcon(
        html=svg, icon_size=(size, size), icon_anchor=(size // 2, size // 2), class_name=f"fsgeo-icon {css_class}"
    )


def _site_category(row) -> str:
    neighbour = "in_departement" in row and not _is_blank(row["in_departement"]) and not bool(row["in_departement"])
    antenna = str(row.get("kind", "")).strip().lower() == "antenna"
    if neighbour:
        return "neighbour_antenna" if antenna else "neighbour"
    return "antenna" if antenna else "principal"


def _site_popup(row, esc=escape, lang: str = "en") -> str:
    words = _MAP_TEXT[lang]
    parts = [f"<b>{esc(row['name'])}</b>"]
    kind = " · ".join(esc(row[c]) for c in ("kind", "format") if c in row and not _is_blank(row[c]))
    if kind:
        parts.append(f"<i>{kind}</i>")
    addr = ", ".join(esc(row[c]) for c in ("address", "commune_name") if c in row and not _is_blank(row[c]))
    if addr:
        parts.append(addr)
    if "in_departement" in row and not _is_blank(row["in_departement"]) and not bool(row["in_departement"]):
        dep = f" ({esc(row['departement'])})" if "departement" in row and not _is_blank(row["departement"]) else ""
        parts.append(words["neighbouring"] + dep)
    if "weekly_open_hours" in row and not _is_blank(row["weekly_open_hours"]):
        try:
            parts.append(words["open"].format(h=_fmt_num(float(row["weekly_open_hours"]), lang)))
        except (TypeError, ValueError):
            parts.append(words["open"].format(h=esc(row["weekly_open_hours"])))
    days = [d for d in DAYS if f"hours_{d}" in row]
    if days:
        cells = []
        for d in days:
            v = row[f"hours_{d}"]
            text = words["closed"] if _is_blank(v) else esc(str(v).replace(",", ", "))
            cells.append(f"<tr><th>{words['days'][DAYS.index(d)]}</th><td>{text}</td></tr>")
        parts.append("<table>" + "".join(cells) + "</table>")
    if "labelled_on" in row and not _is_blank(row["labelled_on"]):
        parts.append(words["labelled"].format(d=esc(str(row["labelled_on"])[:10])))
    if "comment" in row and not _is_blank(row["comment"]):
        parts.append(f"<small>{esc(row['comment'])}</small>")
    parts.append(f"<small>id {esc(row['id'])}</small>")
    return '<div class="fsgeo-popup">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"


def _point_latlon(df: pd.DataFrame, what: str) -> np.ndarray:
    """(n, 2) array of lat, lon from a Point GeoDataFrame or ``lon``/``lat`` columns."""
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns and df.crs is not None:
        g = _to_wgs84(df, what).geometry
        if not (g.geom_type == "Point").all():
            raise ValueError(f"{what}: expected Point geometries, got {sorted(set(g.geom_type))}")
        latlon = np.column_stack([g.y.to_numpy(), g.x.to_numpy()])
    else:
        _require(df, ("lon", "lat"), what)
        latlon = np.column_stack([pd.to_numeric(df["lat"], errors="coerce"), pd.to_numeric(df["lon"], errors="coerce")])
    bad = ~np.isfinite(latlon).all(axis=1)
    if bad.any():
        rows = df.index[bad][:5].tolist()
        raise ValueError(f"{what}: missing or invalid coordinates in row(s) {rows}")
    return latlon


def _label(row, index) -> str:
    for c in ("name", "id"):
        if c in row and not _is_blank(row[c]):
            return str(row[c])
    return str(index)


# --------------------------------------------------------------------------------------------------------------------
# the map


def coverage_map(
    access: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    outline: gpd.GeoDataFrame | None = None,
    catchments: gpd.GeoDataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    candidates: pd.DataFrame | None = None,
    chosen: pd.DataFrame | None = None,
    threshold_min: float | None = None,
    tiles: bool | str = True,
    bands: Sequence[float] | None = None,
    title: str | None = None,
    simplify_m: float = 20.0,
    lang: str | None = None,
    credits: str | None = None,
    generated: str | None = None,
    search: bool = True,
    national: bool | None = None,
    communes_simplify_m: float | None = None,
    provenance: dict | None = None,
) -> folium.Map:
    """Folium map of drive-time coverage: communes by minutes, catchments, under-served zones, sites, candidates.

    Parameters
    ----------
    access : GeoDataFrame
        ``coverage.access_times`` result: commune polygons with ``code``, ``name``, ``population``, ``minutes``
        (minutes to the nearest site, ``inf``/NaN when unreachable) and optionally ``nearest_site_name``, ``status``,
        ``reason``. Any CRS (reprojected to EPSG:4326).
    sites : GeoDataFrame
        Sites as in ``data/sites.geojson`` (``id``, ``name``, ``kind``, ``in_departement``, ``address``,
        ``hours_*``, ``weekly_open_hours`` in hours, ``labelled_on``, ``comment``), Points.
    outline : GeoDataFrame, optional
        Département outline (``load_outline()``).
    catchments : GeoDataFrame, optional
        ``catchments.catchments`` result (``site_id``, ``site_name``, ``band_min`` in minutes, ``population``):
        one layer per band; only the largest band within the threshold is switched on at first (the others are in
        the layer control), so the communes stay readable.
    zones : GeoDataFrame, optional
        ``coverage.underserved_zones`` result (``zone_id``, ``communes``, ``n_communes``, ``population``,
        ``max_minutes``).
    candidates : DataFrame, optional
        Candidate sites (e.g. ``siting`` ``.scores``): ``lon``/``lat`` columns or Point geometry, ``name``/``id``,
        and ``rank``, ``gain_population`` when known.
    chosen : DataFrame, optional
        Chosen new sites (``siting`` ``.chosen``: ``id``, ``name``, ``lon``, ``lat``, ``kind``, ``rank``,
        ``gain_population``, ``parent_id``, ``parent_minutes``), drawn as numbered markers.
    threshold_min : float, optional
        Under-served threshold, minutes (default ``settings.threshold_min``); added to the class edges, communes
        above it get a dark outline.
    tiles : bool or str, default True
        Base tiles: True for a light OSM-based layer (needs the network), a folium tiles name, or False for none (a
        plain background; everything else still shows).
    bands : sequence of float, optional
        Upper edges of the minute classes, minutes (default ``settings.summary_bands_min``: 10, 15, 20, 30, 45).
    title : str, optional
        Shown at the top of the legend and as the page title (escaped).
    simplify_m : float, default 20
        Tolerance in metres (Lambert-93) to simplify catchment and zone outlines for display (0 keeps them as is);
        commune polygons are never simplified, so neighbours keep sharing their borders.
    lang : {"fr", "en"}, optional
        Language of the map's words (layer names, legend, tooltips, popups, controls); default French
        (:func:`fsgeo.reports.default_lang`).
    credits : str, optional
        Data credits shown in the corner even without base tiles (default: ANCT, INSEE, IGN, Travel Mapping and
        © OpenStreetMap contributors; :func:`fsgeo.provenance.credits` gives the study's own).
    generated : str, optional
        Generation date shown with the credits (default: today, ISO ``YYYY-MM-DD``).
    search : bool, default True
        Add the commune search box.
    national : bool, optional
        National mode, for France or any study of thousands of communes: the communes are simplified
        (:func:`simplify_communes`) and drawn on one canvas instead of one SVG element each, the département
        outlines (from the ``departement`` column of ``access``) replace ``outline``, and the sites are light
        circle markers (one GeoJSON layer per kind, same popups) instead of icons. Default: on above
        :data:`NATIONAL_MIN_COMMUNES` communes (:func:`is_national`). Measured on all of France (34,875 communes,
        2,845 sites): see ``bench/bench_france.py``.
    communes_simplify_m : float, optional
        Tolerance of the commune simplification, metres (default :data:`NATIONAL_SIMPLIFY_M` in national mode, 0
        otherwise: a département's communes are drawn as they are).
    provenance : dict, optional
        :func:`fsgeo.provenance.provenance` of the map: its footer (fsgeo version, study and sources with their
        dates, network parameters, threshold and bands, command line) at the foot of the legend, folded under
        "Sources et paramètres"; its credits and date are the defaults of ``credits`` and ``generated``.

    Catchments merged per band (:func:`fsgeo.catchments.merge_bands`, a ``band_label`` column and no ``site_id``)
    are drawn as one lightly filled area per band: what planners hand out; per-site outlines on demand.

    The map opens on the study area: communes, outline, the département's own sites and the candidates (sites of
    neighbouring départements and catchments may reach beyond it).

    Returns
    -------
    folium.Map
        Write it with :func:`save_map` for a standalone (offline) HTML file.
    """
    from fsgeo.reports import check_lang

    lang = check_lang(lang)
    words = _MAP_TEXT[lang]
    threshold = float(settings.threshold_min if threshold_min is None else threshold_min)
    edges = band_edges(bands, threshold)
    colors = band_colors(len(edges) + 1)

    _require(access, REQUIRED_ACCESS, "access")
    _require(sites, REQUIRED_SITES, "sites")
    access = _to_wgs84(access, "access")
    national = is_national(access) if national is None else bool(national)
    simplify_c = (NATIONAL_SIMPLIFY_M if national else 0.0) if communes_simplify_m is None else communes_simplify_m
    groups = _metric_groups(access) if national or simplify_c else None
    if simplify_c:
        access = simplify_communes(access, simplify_c, _groups=groups)
    sites_ll = _point_latlon(sites, "sites")
    own = np.array([_site_category(r) in ("principal", "antenna") for _, r in sites.iterrows()], dtype=bool)
    if national:  # opens on the largest landmass group (metropolitan France), not on an extent spanning oceans
        main = max(groups, key=lambda g: len(g[1]))[1]
        layers_bounds = [access.iloc[main].total_bounds]
    else:
        layers_bounds = [access.total_bounds] + ([_bounds_from_latlon(sites_ll[own])] if own.any() else [])
    if outline is not None:
        outline = _to_wgs84(outline, "outline")
        layers_bounds.append(outline.total_bounds)

    if tiles is True:
        tiles_arg = DEFAULT_TILES
    elif tiles is False or tiles is None:
        tiles_arg = None
    else:
        tiles_arg = tiles
    # fractional zoom so that fitting the bounds fills the window instead of halving the scale
    # national mode: one canvas for the tens of thousands of polygons (an SVG element each would take seconds)
    m = folium.Map(tiles=tiles_arg, control_scale=True, prefer_canvas=national, zoom_snap=0.25)
    root = TextFigure()
    root.add_child(m)  # folium made a plain Figure the map's parent: ours resolves the text tokens when rendering
    esc = root.text  # every string from a file goes through it: the elements hold tokens, never user text
    if title:
        root.title = esc(title)
    if tiles_arg is None:
        # a plain, light background instead of tiles
        m.get_root().header.add_child(Element("<style>.folium-map.leaflet-container { background: #f4f3ee; }</style>"))

    # ---- outline (national mode: the départements' outlines)
    if national and "departement" in access.columns:
        folium.GeoJson(
            _features(departement_outlines(access), {}),
            name=words["departements"],
            style_function=lambda f: {"color": "#222222", "weight": 1.2, "fill": False,
                                      "className": "fsgeo-departement"},
            interactive=False,
        ).add_to(m)
    elif outline is not None:
        folium.GeoJson(
            _features(outline, {}),
            name=words["outline"],
            style_function=lambda f: {"color": "#222222", "weight": 3, "fill": False, "className": "fsgeo-outline"},
            interactive=False,
        ).add_to(m)

    # ---- communes by minutes
    minutes = pd.to_numeric(access["minutes"], errors="coerce").to_numpy(dtype=float)
    cls = classify_minutes(minutes, edges)
    if "status" in access.columns:
        cls = np.where(access["status"].astype(str).to_numpy() == "unreachable", -1, cls)
    fill = np.array([UNREACHABLE_COLOR if c < 0 else colors[c] for c in cls], dtype=object)
    above = np.isfinite(minutes) & (minutes > threshold) & (cls >= 0)
    # rows as plain dicts: iterrows over a GeoDataFrame builds a GeoSeries per row (seconds for 35,000 communes)
    records = pd.DataFrame(access.drop(columns=access.geometry.name)).to_dict("records")
    tips = [_commune_tip(row, c < 0, esc, lang) for row, c in zip(records, cls)]
    codes = access["code"].map(esc).to_numpy()

    def commune_style(fill_color, is_above):
        return {
            "fillColor": fill_color,
            "fillOpacity": 0.75,
            "color": "#5a0000" if is_above else "#ffffff",
            # national mode: thinner borders, or the outlines of 35,000 communes would hide their colours
            "weight": (0.5 if national else 1.4) if is_above else (0.15 if national else 0.5),
            "className": "fsgeo-commune",
        }

    if national:  # compact geometry, one style per class (see _CompactCommunes)
        keys = np.array([f"{c}{'a' if a else ''}" for c, a in zip(cls, above)], dtype=object)
        styles = {k: commune_style(f, bool(a)) for k, f, a in zip(keys, fill, above)}
        communes_layer = _CompactCommunes(access.geometry, {"tip": tips, "code": codes, "s": keys}, styles,
                                          name=words["communes"])
    else:
        communes_layer = folium.GeoJson(
            _features(access, {"tip": tips, "fill": fill, "above": above.astype(bool), "code": codes}),
            name=words["communes"],
            style_function=lambda f: commune_style(f["properties"]["fill"], f["properties"]["above"]),
            highlight_function=lambda f: {"weight": 3, "color": "#000000"},
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        )
    communes_layer.add_to(m)

    # ---- catchments, one layer per band
    catch_bands: list[float] = []
    merged = catchments is not None and "site_id" not in catchments.columns and "band_min" in catchments.columns
    if merged and len(catchments):
        catchments = _simplified(_to_wgs84(catchments, "catchments"), simplify_m)
        catch_bands = sorted(float(b) for b in pd.unique(catchments["band_min"]))
        ccolors = _catchment_colors(len(catch_bands))
        within = [b for b in catch_bands if b <= threshold]
        shown = within[-1] if within else catch_bands[0]
        for band, color in zip(catch_bands, ccolors):
            sub = catchments[catchments["band_min"].astype(float) == band]
            label = str(sub["band_label"].iloc[0]) if "band_label" in sub.columns else _fmt_num(band)
            tips = [f"≤ {escape(label)} min" + (f"<br>{_fmt_int(r['population'], lang=lang)} {words['inh']}"
                                                 if "population" in sub.columns else "") for _, r in sub.iterrows()]
            slug = _fmt_num(band).replace(".", "_")
            folium.GeoJson(
                _features(sub, {"tip": tips}),
                name=words["catch"].format(b=escape(label)),
                show=band == shown,
                style_function=lambda f, color=color, slug=slug: {
                    "color": color, "weight": 1.5, "opacity": 0.9, "fillColor": color, "fillOpacity": 0.08,
                    "className": f"fsgeo-catchment fsgeo-catchment-merged fsgeo-catchment-{slug}",
                },
                tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
            ).add_to(m)
    elif catchments is not None and len(catchments):
        _require(catchments, REQUIRED_CATCHMENTS, "catchments")
        catchments = _simplified(_to_wgs84(catchments, "catchments"), simplify_m)
        catch_bands = sorted(float(b) for b in pd.unique(catchments["band_min"]))
        ccolors = _catchment_colors(len(catch_bands))
        within = [b for b in catch_bands if b <= threshold]
        shown = within[-1] if within else catch_bands[0]
        for band, color in zip(catch_bands, ccolors):
            sub = catchments[catchments["band_min"].astype(float) == band]
            tips = [
                f"<b>{esc(r['site_name'])}</b><br>≤ {_fmt_num(band, lang)} min {words['drive']}"
                + (f"<br>{_fmt_int(r['population'], esc, lang)} {words['inhabitants']}" if "population" in sub.columns else "")
                for _, r in sub.iterrows()
            ]
            slug = _fmt_num(band).replace(".", "_")
            folium.GeoJson(
                _features(sub, {"tip": tips}),
                name=words["catch"].format(b=_fmt_num(band, lang)),
                show=band == shown,
                # stroke only: hovering the outline names the site, the communes beneath stay hoverable
                style_function=lambda f, color=color, slug=slug: {
                    "color": color,
                    "weight": 1.3,
                    "opacity": 0.85,
                    "dashArray": "5 4",
                    "fill": False,
                    "className": f"fsgeo-catchment fsgeo-catchment-{slug}",
                },
                tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
            ).add_to(m)

    # ---- under-served zones
    if zones is not None and len(zones):
        zones = _simplified(_to_wgs84(zones, "zones"), simplify_m)
        names = dict(zip(access["code"].astype(str), access["name"].astype(str)))
        tips = [_zone_tip(r, names, threshold, esc, lang) for _, r in zones.iterrows()]
        folium.GeoJson(
            _features(zones, {"tip": tips}),
            name=words["zones"].format(t=_fmt_num(threshold, lang)),
            style_function=lambda f: {
                "color": ZONE_COLOR,
                "weight": 3,
                "dashArray": "8 5",
                "fill": False,
                "className": "fsgeo-zone",
            },
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        ).add_to(m)

    # ---- sites, one layer per category
    categories = [_site_category(r) for _, r in sites.iterrows()]
    groups = {
        "principal": folium.FeatureGroup(name=words["principal"]),
        "antenna": folium.FeatureGroup(name=words["antenna"]),
        "neighbour": folium.FeatureGroup(name=words["neighbour"]),
    }
    counts = dict.fromkeys(SITE_STYLES, 0)
    if national:  # light circle markers, one GeoJSON layer per kind (thousands of icons would each be an element)
        _national_sites(m, sites, categories, sites_ll, counts, words, esc, lang)
        rows = ()
    else:
        rows = zip(sites.iterrows(), categories, sites_ll)
    for (idx, row), cat, (lat, lon) in rows:
        _, svg, size = SITE_STYLES[cat]
        counts[cat] += 1
        folium.Marker(
            [lat, lon],
            icon=_icon(svg, size, f"fsgeo-site fsgeo-site-{cat.replace('_', '-')}"),
            tooltip=folium.Tooltip(esc(row["name"])),
            popup=folium.Popup(_site_popup(row, esc, lang), max_width=320),
        ).add_to(groups["neighbour" if cat.startswith("neighbour") else cat])
    for key, group in groups.items():
        if len(group._children):
            group.add_to(m)

    # ---- candidates and chosen new sites
    if candidates is not None and len(candidates):
        ll = _point_latlon(candidates, "candidates")
        layers_bounds.append(_bounds_from_latlon(ll))
        group = folium.FeatureGroup(name=words["candidates"])
        for (idx, row), (lat, lon) in zip(candidates.iterrows(), ll):
            folium.Marker(
                [lat, lon],
                icon=_icon(_svg_square(CANDIDATE_COLOR, 13), 13, "fsgeo-candidate"),
                tooltip=folium.Tooltip(esc(_label(row, idx))),
                popup=folium.Popup(_candidate_popup(row, idx, words["candidate"], esc, lang), max_width=300),
            ).add_to(group)
        group.add_to(m)
    if chosen is not None and len(chosen):
        ll = _point_latlon(chosen, "chosen")
        layers_bounds.append(_bounds_from_latlon(ll))
        group = folium.FeatureGroup(name=words["chosen_layer"])
        for i, ((idx, row), (lat, lon)) in enumerate(zip(chosen.iterrows(), ll)):
            rank = row["rank"] if "rank" in row and not _is_blank(row["rank"]) else i + 1
            folium.Marker(
                [lat, lon],
                icon=folium.DivIcon(
                    html=f'<div class="fsgeo-rank">{esc(_rank_text(rank))}</div>',
                    icon_size=(24, 24),
                    icon_anchor=(12, 12),
                    class_name="fsgeo-icon fsgeo-chosen",
                ),
                tooltip=folium.Tooltip(f"#{esc(_rank_text(rank))} {esc(_label(row, idx))}"),
                popup=folium.Popup(_candidate_popup(row, idx, words["new_site"], esc, lang), max_width=300),
                z_index_offset=1000,
            ).add_to(group)
        group.add_to(m)

    # ---- legend (with the provenance footer), layer control, extent
    _Legend(
        _legend_html(title, edges, colors, cls, access["population"], threshold, catch_bands, zones, counts,
                     candidates, chosen, esc, lang) + _provenance_html(provenance, esc, lang)
    ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if credits is None:
        from fsgeo.provenance import credits as default_credits

        credits = default_credits(provenance)
    day = generated or (provenance or {}).get("generated") or __import__("datetime").date.today().isoformat()
    # commune names and credits (the study's name may come from its study.json) are user text: tokens too
    names = dict(zip(access["code"].map(esc), access["name"].map(esc))) if search else {}
    _MapTools(lang, esc(credits) + " | " + escape(_TOOLS_TEXT[lang]["generated"].format(date=day)), names,
              communes_layer.get_name() if search else None).add_to(m)
    b = np.array(layers_bounds, dtype=float)
    m.fit_bounds([[np.nanmin(b[:, 1]), np.nanmin(b[:, 0])], [np.nanmax(b[:, 3]), np.nanmax(b[:, 2])]])
    return m


def _simplified(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    if not tolerance_m:
        return gdf
    b = gdf.geometry.to_crs(settings.crs).bounds  # the data's own metric CRS (Lambert-93 in France, UTM elsewhere)
    crs = local_metric_crs(b[["minx", "maxx"]].to_numpy(), b[["miny", "maxy"]].to_numpy(), "map layer")
    metric = gdf.geometry.to_crs(crs).simplify(tolerance_m, preserve_topology=True)
    return gdf.set_geometry(metric.to_crs(settings.crs))


#: national mode: site category -> (radius px, fill colour, stroke colour)
NATIONAL_SITE_STYLES = {
    "principal": (1.8, SITE_COLOR, SITE_COLOR),
    "antenna": (1.3, ANTENNA_COLOR, ANTENNA_COLOR),
    "neighbour": (1.8, "#ffffff", NEIGHBOUR_COLOR),
    "neighbour_antenna": (1.3, "#ffffff", NEIGHBOUR_COLOR),
}


def _national_sites(m, sites, categories, sites_ll, counts, words, esc, lang) -> None:
    """The sites as circle markers: one GeoJSON layer per kind, the same tooltips and popups as the icons."""
    cats = np.asarray(categories, dtype=object)
    for cat in cats:
        counts[cat] += 1
    for key in ("principal", "antenna", "neighbour"):
        sel = np.flatnonzero((cats == key) | ((cats == "neighbour_antenna") & (key == "neighbour")))
        if not sel.size:
            continue
        sub = sites.iloc[sel]
        radius, fill, stroke = NATIONAL_SITE_STYLES[key]
        props = {
            "tip": [esc(r["name"]) for _, r in sub.iterrows()],
            "popup": [_site_popup(r, esc, lang) for _, r in sub.iterrows()],
            "kind": cats[sel],
        }
        points = gpd.GeoSeries(shapely.points(sites_ll[sel, 1], sites_ll[sel, 0]), crs=settings.crs)
        _ClassStyledGeoJson(
            _features(gpd.GeoDataFrame(geometry=points, crs=settings.crs), props),
            style_key="kind",
            name=words[key],
            marker=folium.CircleMarker(radius=radius, weight=0.5, fill=True, fill_opacity=0.8),
            style_function=lambda f, fill=fill, stroke=stroke, key=key: {
                "radius": NATIONAL_SITE_STYLES[f["properties"]["kind"]][0], "color": stroke, "fillColor": fill,
                "className": "fsgeo-site fsgeo-site-" + f["properties"]["kind"].replace("_", "-"),
            },
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False, max_width=320),
        ).add_to(m)


def is_national(access) -> bool:
    """Whether :func:`coverage_map` draws ``access`` in national mode by default: more than
    :data:`NATIONAL_MIN_COMMUNES` communes."""
    return len(access) > NATIONAL_MIN_COMMUNES


def _metric_groups(gdf: gpd.GeoDataFrame) -> list[tuple[object, np.ndarray]]:
    """Row positions grouped by metric CRS, chosen per département (``departement`` column; else one group):
    Lambert-93 for all of metropolitan France and Corsica, the UTM zone of each overseas département."""
    b = gdf.geometry.bounds
    keys = gdf["departement"].astype(str).to_numpy() if "departement" in gdf.columns else np.zeros(len(gdf), int)
    groups: dict[str, tuple[object, list[np.ndarray]]] = {}
    for key in pd.unique(keys):
        rows = np.flatnonzero(keys == key)
        sub = b.iloc[rows]
        crs = local_metric_crs(sub[["minx", "maxx"]].to_numpy(), sub[["miny", "maxy"]].to_numpy(), "map communes")
        groups.setdefault(crs.to_wkt(), (crs, []))[1].append(rows)
    return [(crs, np.sort(np.concatenate(parts))) for crs, parts in groups.values()]


def simplify_communes(communes: gpd.GeoDataFrame, tolerance_m: float = NATIONAL_SIMPLIFY_M,
                      _groups=None) -> gpd.GeoDataFrame:
    """Commune polygons simplified for display, every commune kept and shared borders still shared.

    :func:`shapely.coverage_simplify` (GEOS coverage simplification, Visvalingam-Whyatt over the edges of the
    tiling: a border between two communes is simplified once, so neighbours still meet without gaps or slivers, and a
    polygon is at most reduced to a triangle, never removed). It works in metres, in the metric CRS of each
    département (Lambert-93 for metropolitan France and Corsica as one tiling, the UTM zone overseas).

    Parameters
    ----------
    communes : GeoDataFrame
        (Multi)polygons, any CRS; a ``departement`` column picks the metric CRS per département.
    tolerance_m : float
        Roughly the square root of the area of the triangles removed, metres (0 keeps the polygons as they are).
        500 m (the national map's default) keeps the shape of a commune at the scale of a département.

    Returns
    -------
    GeoDataFrame
        The same rows in the same order (EPSG:4326), geometry simplified. A commune whose coverage result is empty or
        invalid (input that is not a clean tiling) is simplified on its own (topology-preserving) instead.
    """
    gdf = _to_wgs84(communes, "communes")
    if not tolerance_m:
        return gdf
    geoms = gdf.geometry.to_numpy()
    out = geoms.copy()
    for crs, rows in _metric_groups(gdf) if _groups is None else _groups:
        metric = gpd.GeoSeries(geoms[rows], crs=settings.crs).to_crs(crs).to_numpy()
        simple = shapely.coverage_simplify(metric, float(tolerance_m))
        polygonal = np.isin(shapely.get_type_id(simple), (3, 6))  # Polygon, MultiPolygon
        bad = shapely.is_empty(simple) | ~polygonal | ~shapely.is_valid(simple)
        if bad.any():
            simple[bad] = shapely.simplify(metric[bad], float(tolerance_m), preserve_topology=True)
        out[rows] = gpd.GeoSeries(simple, crs=crs).to_crs(settings.crs).to_numpy()
    return gdf.set_geometry(gpd.GeoSeries(out, index=gdf.index, crs=settings.crs))


def departement_outlines(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One outline per département: the union of its communes (``departement`` column), EPSG:4326, columns
    ``code`` and geometry, sorted by code. Pass communes already simplified (:func:`simplify_communes`): the union
    of simplified communes follows their borders exactly."""
    gdf = _to_wgs84(communes, "communes")
    _require(gdf, ("departement",), "communes")
    codes = gdf["departement"].astype(str).to_numpy()
    order = sorted(pd.unique(codes))
    geoms = []
    for code in order:
        parts = gdf.geometry.to_numpy()[codes == code]
        try:  # fast for a clean tiling; a general union where it is not one
            union = shapely.coverage_union_all(parts)
        except shapely.errors.GEOSException:
            union = None
        geoms.append(union if union is not None and union.is_valid and not union.is_empty
                     else shapely.union_all(parts))
    return gpd.GeoDataFrame({"code": order}, geometry=geoms, crs=settings.crs)


def _bounds_from_latlon(ll: np.ndarray) -> np.ndarray:
    return np.array([ll[:, 1].min(), ll[:, 0].min(), ll[:, 1].max(), ll[:, 0].max()])


def _features(gdf: gpd.GeoDataFrame, props: dict) -> dict:
    """A GeoJSON FeatureCollection carrying only ``props`` (escaped or numeric): raw file strings never reach the
    page, and the HTML stays small (coordinates rounded to ~1 m)."""
    geoms = _round_geoms(gdf.geometry)
    out = gpd.GeoDataFrame({k: np.asarray(v) for k, v in props.items()}, geometry=geoms, crs=settings.crs)
    return out.to_geo_dict(show_bbox=False)  # Leaflet needs no bounding boxes: 2 MB less on a national map


def _catchment_colors(n: int) -> list[str]:
    if n <= len(CATCHMENT_PALETTE):
        return list(CATCHMENT_PALETTE[:n])
    cmap = LinearColormap(list(CATCHMENT_PALETTE), vmin=0, vmax=1)
    return [cmap(i / (n - 1))[:7] for i in range(n)]


def _commune_tip(row, unreachable: bool, esc=escape, lang: str = "en") -> str:
    words = _MAP_TEXT[lang]
    lines = [f"<b>{esc(row['name'])}</b> ({esc(row['code'])})",
             f"{_fmt_int(row['population'], esc, lang)} {words['inhabitants']}"]
    if unreachable:
        reason = row.get("reason", "")
        lines.append(words["no_site"] + (f": {esc(reason)}" if not _is_blank(reason) else ""))
    else:
        lines.append(words["to_nearest"].format(m=_fmt_minutes(row["minutes"], lang)))
        if (row.get("n_points") or 1) > 1:  # a commune with demand parts (fsgeo.coverage.aggregate_parts)
            lines.append(words["parts"].format(n=int(row["n_points"]), lo=_fmt_minutes(row.get("minutes_min"), lang),
                                               hi=_fmt_minutes(row.get("minutes_max"), lang)))
            if not _is_blank(row.get("reason", "")):  # some of its parts have no time
                lines.append(esc(row["reason"]))
        if "nearest_site_name" in row and not _is_blank(row["nearest_site_name"]):
            lines.append(words["nearest"].format(s=esc(row["nearest_site_name"])))
        if "second_site_name" in row and not _is_blank(row["second_site_name"]):
            lines.append(words["then"].format(s=esc(row["second_site_name"]))
                         + f" ({_fmt_minutes(row.get('second_minutes'), lang)})")
    return "<br>".join(lines)


def _zone_tip(row, names: dict, threshold: float, esc=escape, lang: str = "en") -> str:
    words = _MAP_TEXT[lang]
    lines = [f"<b>{words['zone'].format(z=esc(row.get('zone_id', '')))}</b> (> {_fmt_num(threshold, lang)} min)"]
    if "n_communes" in row:
        lines.append(words["n_communes"].format(n=_fmt_int(row["n_communes"], esc, lang),
                                                p=_fmt_int(row.get("population"), esc, lang)))
    if "max_minutes" in row:
        lines.append(words["up_to"].format(m=_fmt_minutes(row["max_minutes"], lang)))
    codes = row.get("communes")
    if isinstance(codes, str):
        codes = [c for c in re.split(r"[;,\s]+", codes) if c]
    if codes is not None and not isinstance(codes, float):
        codes = list(codes)
        shown = ", ".join(esc(names.get(str(c), c)) for c in codes[:8])
        lines.append(shown + (words["more"].format(n=len(codes) - 8) if len(codes) > 8 else ""))
    return "<br>".join(lines)


def _rank_text(rank) -> str:
    try:
        return str(int(rank))
    except (TypeError, ValueError):
        return str(rank)


def _candidate_popup(row, idx, what: str, esc=escape, lang: str = "en") -> str:
    words = _MAP_TEXT[lang]

    def has(col):
        return col in row and not _is_blank(row[col])

    head = what + (f" #{esc(_rank_text(row['rank']))}" if has("rank") else "")
    if has("chosen_rank"):
        head += f" ({words['chosen']} #{esc(_rank_text(row['chosen_rank']))})"
    parts = [f"<b>{esc(_label(row, idx))}</b>", head]
    rows = []
    if has("gain_population"):
        rows.append((words["gain"], words["gain_text"].format(p=_fmt_int(row["gain_population"], esc, lang))))
    if has("resolved_communes"):
        rows.append((words["resolves"], words["resolves_text"].format(n=_fmt_int(row["resolved_communes"], esc, lang))))
    if has("served_population"):
        rows.append((words["serves"], f"{_fmt_int(row['served_population'], esc, lang)} {words['inhabitants']}"))
    if has("mean_reduction_min"):
        rows.append((words["mean_time"], f"−{_fmt_minutes(row['mean_reduction_min'], lang)}"))
    if has("kind"):
        rows.append((words["kind"], esc(row["kind"])))
    if has("commune_name") or has("commune_code"):
        name = esc(row["commune_name"]) if has("commune_name") else ""
        code = esc(row["commune_code"]) if has("commune_code") else ""
        rows.append((words["commune"], f"{name} ({code})" if name and code else name or code))
    if has("parent_id") or has("parent_name"):
        parent = esc(row["parent_name"]) if has("parent_name") else esc(row["parent_id"])
        if has("parent_minutes"):
            parent += f", {_fmt_minutes(row['parent_minutes'], lang)}"
        rows.append((words["run_by"], parent))
    if has("id"):
        rows.append(("id", esc(row["id"])))
    parts.append("<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>")
    return '<div class="fsgeo-popup">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"


def _communes(mask: np.ndarray, lang: str = "en") -> str:
    n = int(mask.sum())
    return f"{n} " + _MAP_TEXT[lang]["commune_many" if n > 1 or (n == 0 and lang == "en") else "commune_one"]


def _legend_html(title, edges, colors, cls, population, threshold, catch_bands, zones, counts, candidates,
                 chosen, esc=escape, lang: str = "en") -> str:
    words = _MAP_TEXT[lang]
    pop = pd.to_numeric(population, errors="coerce").fillna(0).to_numpy()
    h = []
    if title:
        h.append(f"<h4>{esc(title)}</h4>")
    h.append(f'<div class="fsgeo-sub">{words["drive_time"]}</div>')
    labels = band_labels(edges, lang)
    for i, (label, color) in enumerate(zip(labels, colors)):
        sel = cls == i
        mark = " ⚠" if i > 0 and edges[i - 1] >= threshold else ""
        h.append(
            f'<div class="row"><span class="sw" style="background:{color}"></span>{escape(label)}{mark}'
            f' <span class="n">{_communes(sel, lang)}, {_fmt_int(pop[sel].sum(), lang=lang)} {words["inh"]}</span></div>'
        )
    sel = cls < 0
    h.append(
        f'<div class="row"><span class="sw" style="background:{UNREACHABLE_COLOR}"></span>{words["unreachable"]}'
        f' <span class="n">{_communes(sel, lang)}, {_fmt_int(pop[sel].sum(), lang=lang)} {words["inh"]}</span></div>'
    )
    h.append(f'<div class="row">{words["above"].format(t=_fmt_num(threshold, lang))}</div>')
    if catch_bands:
        h.append(f'<div class="fsgeo-sub">{words["catchments"]}</div>')
        for band, color in zip(catch_bands, _catchment_colors(len(catch_bands))):
            h.append(f'<div class="row"><span class="ln" style="border-color:{color}"></span>'
                     f"≤ {_fmt_num(band, lang)} min</div>")
    if zones is not None and len(zones):
        h.append(
            f'<div class="row"><span class="ln" style="border-color:{ZONE_COLOR}"></span>'
            + words["zone_row"].format(n=len(zones)) + "</div>"
        )
    h.append(f'<div class="fsgeo-sub">{words["sites"]}</div>')
    for key in ("principal", "antenna", "neighbour", "neighbour_antenna"):
        label = words["l_" + key]
        if counts.get(key) or key in ("principal", "antenna"):
            h.append(f'<div class="row"><span class="ico">{SITE_STYLES[key][1]}</span>'
                     f"{label} ({counts.get(key, 0)})</div>")
    if candidates is not None and len(candidates):
        h.append(f'<div class="row"><span class="ico">{_svg_square(CANDIDATE_COLOR, 13)}</span>'
                 + words["l_candidate"].format(n=len(candidates)) + "</div>")
    if chosen is not None and len(chosen):
        h.append(
            '<div class="row"><span class="ico"><span class="fsgeo-rank" style="width:14px;height:14px;'
            'line-height:14px;font-size:9px;border-width:1px">1</span></span>'
            + words["l_chosen"].format(n=len(chosen)) + "</div>"
        )
    return "".join(h)


def _provenance_html(provenance, esc=escape, lang: str = "en") -> str:
    """The provenance footer (:func:`fsgeo.reports.provenance_footer`, the text reports' own) folded at the foot of
    the legend; every line is user text for the map (study name, command line): escaped, as tokens."""
    if not provenance:
        return ""
    from fsgeo.reports import provenance_footer

    title, *lines = [line for line in provenance_footer(provenance, lang) if line]
    return (f'<details class="fsgeo-provenance"><summary>{escape(title)}</summary>'
            + "".join(f"<div>{esc(line)}</div>" for line in lines) + "</details>")


# --------------------------------------------------------------------------------------------------------------------
# standalone HTML with inlined assets

#: local copies of the assets, first found wins: pip packages XStatic-Leaflet / XStatic-jQuery, then Debian's
#: libjs-leaflet / libjs-jquery
_ASSET_SOURCES = {
    "leaflet.js": [("XStatic-Leaflet", "xstatic/pkg/leaflet/data/leaflet.js"),
                   (None, "/usr/share/javascript/leaflet/leaflet.js")],
    "leaflet.css": [("XStatic-Leaflet", "xstatic/pkg/leaflet/data/leaflet.css"),
                    (None, "/usr/share/javascript/leaflet/leaflet.css")],
    "jquery.js": [("XStatic-jQuery", "xstatic/pkg/jquery/data/jquery.min.js"),
                  (None, "/usr/share/javascript/jquery/jquery.min.js")],
}
#: folium's default assets that an fsgeo map does not use (Bootstrap, Awesome Markers and their fonts)
_UNUSED_DEFAULTS = re.compile(r"bootstrap|awesome-markers|awesome\.rotate|fontawesome|glyphicons", re.I)
_ASSET_TAG = re.compile(
    r'<script\s+src="(?P<js>[^"]+)"\s*>\s*</script>|<link\s+rel="stylesheet"\s+href="(?P<css>[^"]+)"\s*/?>', re.I
)


def local_asset(name: str) -> Path:
    """Path of the local copy of ``leaflet.js``, ``leaflet.css`` or ``jquery.js`` used by ``inline_assets``."""
    tried = []
    for dist, rel in _ASSET_SOURCES[name]:
        if dist is None:
            path = Path(rel)
        else:
            try:
                path = Path(metadata.distribution(dist).locate_file(rel))
            except metadata.PackageNotFoundError:
                tried.append(f"pip package {dist} (not installed)")
                continue
        if path.is_file():
            return path
        tried.append(str(path))
    raise FileNotFoundError(
        f"no local copy of {name} for an offline map (tried: {'; '.join(tried)}). Install it with "
        "`pip install XStatic-Leaflet XStatic-jQuery` (or `apt-get install libjs-leaflet libjs-jquery`), "
        "or save with inline_assets=False to load it from a CDN"
    )


def _inline_css(path: Path) -> str:
    css = path.read_text(encoding="utf-8")

    def data_uri(match: re.Match) -> str:
        img = path.parent / match.group(1)
        if not img.is_file():
            return match.group(0)
        return f"url(data:image/png;base64,{base64.b64encode(img.read_bytes()).decode('ascii')})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    return "<style>\n" + re.sub(r"</(style)", r"<\\/\1", css, flags=re.I) + "\n</style>"


def _inline_js(path: Path) -> str:
    js = path.read_text(encoding="utf-8")
    # nothing in the code may close the <script> element early
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.I).replace("<!--", "<\\!--")
    return "<script>\n" + js + "\n</script>"


def map_html(m: folium.Map, inline_assets: bool = True) -> str:
    """The map as one HTML document.

    With ``inline_assets`` the Leaflet and jQuery code and the Leaflet CSS (with its images as data URIs) are
    embedded from local copies (see :func:`local_asset`) and folium's unused CDN assets are dropped, so the page
    needs no network (base tiles excepted). Other external scripts (e.g. from folium plugins) are kept as links with a
    warning, since they cannot load offline.
    """
    # folium names every element with a random id: renumbered, the same map gives the same bytes
    page = _stable_ids(m.get_root().render())
    if not inline_assets:
        return page
    cache: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        url = match.group("js") or match.group("css")
        base = url.rsplit("/", 1)[-1].split("?")[0].lower()
        if match.group("js") and base == "leaflet.js":
            key, render = "leaflet.js", _inline_js
        elif match.group("css") and base == "leaflet.css":
            key, render = "leaflet.css", _inline_css
        elif match.group("js") and re.fullmatch(r"jquery(-[\d.]+)?(\.min)?\.js", base):
            key, render = "jquery.js", _inline_js
        elif _UNUSED_DEFAULTS.search(url) and "L.AwesomeMarkers" not in page:
            return ""
        else:
            warnings.warn(f"{url} is not available offline: the map loads it from the network", stacklevel=3)
            return match.group(0)
        if key in cache:  # the same asset twice: keep one copy
            return ""
        cache[key] = render(local_asset(key))
        return cache[key]

    return _ASSET_TAG.sub(replace, page)


def save_map(m: folium.Map, path, inline_assets: bool = True) -> Path:
    """Write ``m`` as a standalone HTML file (UTF-8), creating parent folders; returns the path.

    ``inline_assets=True`` (default) embeds Leaflet so the file opens offline (see :func:`map_html`). The page is
    rendered first, then written atomically (:func:`fsgeo.atomic.write_text`): a failure leaves any previous file
    as it was.
    """
    from fsgeo.atomic import write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, map_html(m, inline_assets=inline_assets))


# --------------------------------------------------------------------------------------------------------------------
# inline display in Jupyter, offline

#: folium element names end with a random 32-hex suffix (``map_3f2a...``); ``stable_ids`` renumbers them
_FOLIUM_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9A-Za-z])")
_CSS_LENGTH = re.compile(r"\d+(\.\d+)?(px|%|em|rem|vh|vw)?")


def _css_length(value, what: str) -> str:
    text = str(value).strip()
    if not _CSS_LENGTH.fullmatch(text):
        raise ValueError(f"{what} must be a CSS length such as 500, '500px' or '100%', got {value!r}")
    return text + "px" if text[-1].isdigit() else text


def _stable_ids(page: str) -> str:
    numbers: dict[str, str] = {}
    return _FOLIUM_ID.sub(lambda mt: numbers.setdefault(mt.group(0), f"{len(numbers) + 1:032d}"), page)


def notebook_html(m: folium.Map, height=520, width="100%", inline_assets: bool = True, stable_ids: bool = True) -> str:
    """An ``<iframe>`` element showing ``m``, for a notebook output cell, with no network needed.

    folium's own notebook display loads Leaflet from a CDN; here the page is :func:`map_html` with Leaflet and
    jQuery embedded (``inline_assets``), HTML-escaped into the iframe's ``srcdoc``. The iframe is sandboxed
    (scripts allowed, no access to the notebook page).

    Parameters
    ----------
    m : folium.Map
        E.g. a :func:`coverage_map`.
    height, width : int or str
        Iframe size: a number of pixels or a CSS length (``"100%"``).
    inline_assets : bool, default True
        Embed Leaflet/jQuery (offline); False links them from the CDN (smaller output, needs the network).
    stable_ids : bool, default True
        Renumber folium's random element ids in order of appearance, so the same map gives the same output
        (committed notebooks do not change when re-run).

    Returns
    -------
    str
        The iframe in a ``<div>`` of the given size, over a short hint for viewers that do not show iframes.
    """
    h, w = _css_length(height, "height"), _css_length(width, "width")
    page = map_html(m, inline_assets=inline_assets)
    if stable_ids:
        page = _stable_ids(page)
    # in a <div> (IPython warns about HTML output starting with <iframe>) holding a hint that the drawn map covers:
    # it shows where the viewer strips iframes (an untrusted notebook, a static notebook renderer)
    return (
        f'<div class="fsgeo-map-output" style="position:relative;width:{w};height:{h}">'
        '<span style="color:#565656;font:13px sans-serif">Map not shown? Trust the notebook (File &gt; Trust '
        "Notebook) or write it to a file with fsgeo.maps.save_map.</span>"
        f'<iframe class="fsgeo-map-frame" srcdoc="{_html.escape(page, quote=True)}" '
        'style="position:absolute;left:0;top:0;width:100%;height:100%;border:1px solid #ddd;box-sizing:border-box;'
        'background:#ffffff" sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox"></iframe></div>'
    )


def show(m: folium.Map, height=520, width="100%", inline_assets: bool = True, stable_ids: bool = True):
    """Display ``m`` inline in Jupyter without the network: ``maps.show(maps.coverage_map(...))``.

    Same parameters as :func:`notebook_html`; returns an ``IPython.display.HTML`` object (the last expression of a
    cell is displayed).
    """
    try:
        from IPython.display import HTML
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        raise ImportError("fsgeo.maps.show needs IPython (pip install 'fsgeo[notebooks]'); "
                          "use save_map to write an HTML file instead") from None
    return HTML(notebook_html(m, height=height, width=width, inline_assets=inline_assets, stable_ids=stable_ids))


# --------------------------------------------------------------------------------------------------------------------
# PNG through headless Chromium (reports, slides)

#: browsers tried by :func:`screenshot`, first found wins (``FSGEO_CHROMIUM`` overrides)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_browser() -> str | None:
    """Path of a Chromium-family browser (``$FSGEO_CHROMIUM``, else the first of :data:`CHROMIUM_NAMES` on PATH)."""
    import os
    import shutil

    env = os.environ.get("FSGEO_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def screenshot(html_path, png_path, width: int = 1024, height: int = 768, wait_ms: int = 4000,
               timeout_s: float = 60, metadata: dict | None = None) -> Path:
    """Render a saved map (:func:`save_map`) to a PNG of ``width`` x ``height`` pixels with headless Chromium.

    The page fits its bounds to the window, so the whole study area shows. Written atomically; ``metadata`` (the
    provenance, :func:`fsgeo.provenance.provenance`) goes in the PNG's ``iTXt`` chunk ``fsgeo`` as JSON. Raises
    :class:`FileNotFoundError` with the install hint when no browser is found (``apt-get install chromium``, or
    ``FSGEO_CHROMIUM=/path/to/chrome``), :class:`OSError` naming the browser when it fails.
    """
    import shutil
    import subprocess
    import tempfile

    from fsgeo.atomic import check_writable, write_bytes

    check_writable(png_path)
    browser = find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium browser found for the PNG: install one (apt-get install chromium) or "
                                "set FSGEO_CHROMIUM=/path/to/chromium")
    html_path = Path(html_path).resolve()
    work = tempfile.mkdtemp(prefix="fsgeo-chromium-")
    try:
        shot = Path(work) / "map.png"
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={Path(work) / 'profile'}", f"--virtual-time-budget={int(wait_ms)}",
               f"--window-size={int(width)},{int(height)}", f"--screenshot={shot}", html_path.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0 or not shot.is_file():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise OSError(f"{browser} could not render {html_path.name} to PNG: {last}")
        png = shot.read_bytes()
        if metadata:
            from fsgeo.provenance import json_text, png_with_text

            png = png_with_text(png, "fsgeo", json_text(metadata))
        return write_bytes(png_path, png)
    finally:
        shutil.rmtree(work, ignore_errors=True)
