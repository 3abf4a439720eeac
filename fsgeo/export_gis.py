"""GIS outputs: GeoPackage (layers, an ``fsgeo_metadata`` table, QGIS styles), GeoParquet and FlatGeobuf, each with
its provenance (:func:`fsgeo.provenance.provenance`).

Every writer takes ``data`` as a GeoDataFrame, a dict of layer name -> GeoDataFrame, or any analysis output
(:func:`fsgeo.results.as_result`), and ``metadata`` (the provenance): GeoPackage keeps it in the ``fsgeo_metadata``
table (key, value as JSON); GeoParquet in the file's key-value metadata (``fsgeo``, beside the ``geo`` key of the
GeoParquet spec); FlatGeobuf, which has no place for it, and CSV get a sidecar ``<file>.json``. Column names stay
English identifiers. Every file is written under a temporary name and renamed (:mod:`fsgeo.atomic`).

The style of a layer uses the classes and colours of the HTML map (:func:`style_classes`), written twice: as a QGIS
style (:func:`qml_style`) and as an OGC Styled Layer Descriptor 1.1 with Symbology Encoding 1.1 (:func:`sld_style`,
for GeoServer, MapServer, ArcGIS Pro and QGIS alike). A GeoPackage stores both in QGIS's ``layer_styles`` table
(``styleQML``, ``styleSLD``: applied when QGIS opens the layer) and writes them beside the file as ``.qml`` and
``.sld``.

:mod:`fsgeo.export` holds the one table of writers (format -> writer, file ending -> format) and registers these
ones from :data:`FORMATS` as ``gpkg``, ``parquet`` and ``fgb``; pyogrio and pyarrow are imported when a file is
written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from fsgeo.errors import OutputError

from fsgeo.provenance import sidecar_path, write_sidecar  # noqa: F401  (the sidecar of FlatGeobuf; re-exported)

__all__ = ["METADATA_TABLE", "write_gpkg", "read_gpkg_metadata", "write_parquet", "write_fgb", "write_sidecar",
           "sidecar_path", "qml_style", "sld_style", "FORMATS"]


def json_text(obj, indent=2) -> str:
    """JSON text of metadata (NaN/inf as null, numpy/pandas scalars, dates and CRS converted, UTF-8 kept)."""
    from fsgeo.results import plain

    return json.dumps(plain(obj), ensure_ascii=False, indent=indent)


#: the GeoPackage table holding the provenance (one row per key, JSON values)
METADATA_TABLE = "fsgeo_metadata"


def _layers(data, layer: str | None = None) -> dict:
    """``{layer name: GeoDataFrame in EPSG:4326}`` of ``data`` with list/dict cells written as JSON text."""
    import geopandas as gpd

    if isinstance(data, dict):
        items = list(data.items())
    else:
        table = getattr(data, "table", data)
        kind = getattr(data, "kind", None)
        items = [(layer or kind or "data", table)]
    out = {}
    for name, df in items:
        if hasattr(df, "as_result") or (hasattr(df, "table") and not hasattr(df, "columns")):
            df = df.table
        if not isinstance(df, gpd.GeoDataFrame):
            raise OutputError(f"layer {name!r}: a GIS file needs geometries (got a {type(df).__name__})")
        if df.crs is None:
            raise OutputError(f"layer {name!r}: the GeoDataFrame has no CRS")
        gdf = df.to_crs("EPSG:4326").copy()
        for col in gdf.columns:
            if col != gdf.geometry.name and gdf[col].dtype == object:
                gdf[col] = gdf[col].map(lambda v: json.dumps(v, ensure_ascii=False, default=str)
                                        if isinstance(v, (list, tuple, dict, set)) else v)
        out[str(name)] = gdf
    return out


def _metadata_rows(metadata: dict | None) -> pd.DataFrame:
    rows = [{"key": str(k), "value": json_text(v, indent=None)} for k, v in (metadata or {}).items()]
    return pd.DataFrame(rows, columns=["key", "value"])


def write_gpkg(data, path, layer: str | None = None, metadata: dict | None = None, style: bool = True) -> Path:
    """Write one or more layers to a GeoPackage (EPSG:4326), with the provenance in :data:`METADATA_TABLE`, and the
    styles of the layers fsgeo knows (communes by minutes, catchments): stored in the ``layer_styles`` table QGIS
    reads (applied on opening) and beside the file as ``.qml`` (:func:`qml_style`) and ``.sld`` (:func:`sld_style`):
    ``<file>.qml`` for one layer, ``<file>.<layer>.qml`` for several. Atomic: the whole file is built under a
    temporary name, then renamed (each style file too)."""
    import pyogrio

    from fsgeo.atomic import atomic_path

    layers = _layers(data, layer)
    with atomic_path(path) as tmp:
        for i, (name, gdf) in enumerate(layers.items()):
            pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=i > 0)
        if metadata:
            pyogrio.write_dataframe(_metadata_rows(metadata), tmp, layer=METADATA_TABLE, driver="GPKG", append=True)
        styles = {name: qml_style(gdf, metadata) for name, gdf in layers.items()} if style else {}
        styles = {name: (qml, sld_style(layers[name], metadata, name)) for name, qml in styles.items()
                  if qml is not None}
        if styles:
            _store_styles(tmp, styles, {name: layers[name].geometry.name for name in styles})
    from fsgeo.atomic import write_text as atomic_text

    for name, texts in styles.items():
        for text, ending in zip(texts, (".qml", ".sld")):
            target = Path(path).with_suffix(ending) if len(layers) == 1 else \
                Path(path).with_name(f"{Path(path).stem}.{name}{ending}")
            atomic_text(target, text)
    return Path(path)


def _store_styles(gpkg, styles: dict, geometry_columns: dict) -> None:
    """QGIS's ``layer_styles`` table in the GeoPackage: QGIS applies each layer's default style when it opens it."""
    import sqlite3

    con = sqlite3.connect(gpkg)
    try:
        con.execute("""CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT,
            f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
            f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN,
            description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME DEFAULT CURRENT_TIMESTAMP)""")
        for name, (qml, sld) in styles.items():
            con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                        "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                        "VALUES ('', '', ?, ?, ?, ?, ?, 1, 'fsgeo: the classes and colours of the HTML map', "
                        "'fsgeo', '', '2000-01-01T00:00:00')", (name, geometry_columns[name], name, qml, sld))
        con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier) "
                    "VALUES ('layer_styles', 'attributes', 'layer_styles')")
        con.commit()
    finally:
        con.close()


def read_gpkg_metadata(path) -> dict:
    """The provenance stored by :func:`write_gpkg` (``{}`` when there is none)."""
    import sqlite3

    con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (METADATA_TABLE,)).fetchone():
            return {}
        return {k: json.loads(v) for k, v in con.execute(f"SELECT key, value FROM {METADATA_TABLE}")}
    finally:
        con.close()


def write_parquet(data, path, layer: str | None = None, metadata: dict | None = None) -> Path:
    """Write a layer as GeoParquet (pyarrow; the ``geo`` metadata of the GeoParquet spec, plus ``fsgeo`` with the
    provenance as JSON). Atomic."""
    import pyarrow.parquet as pq

    from fsgeo.atomic import atomic_path

    layers = _layers(data, layer)
    if len(layers) != 1:
        raise OutputError(f"{path}: a Parquet file holds one layer, got {len(layers)} ({', '.join(layers)})")
    gdf = next(iter(layers.values()))
    with atomic_path(path) as tmp:
        gdf.to_parquet(tmp, index=False)
        if metadata:
            table = pq.read_table(tmp)
            meta = dict(table.schema.metadata or {})
            meta[b"fsgeo"] = json_text(metadata, indent=None).encode("utf-8")
            tmp.unlink()
            pq.write_table(table.replace_schema_metadata(meta), tmp)
    return Path(path)


def write_fgb(data, path, layer: str | None = None, metadata: dict | None = None) -> Path:
    """Write a layer as FlatGeobuf (with its spatial index); the provenance goes to a sidecar ``<file>.json``."""
    import pyogrio

    from fsgeo.atomic import atomic_path

    layers = _layers(data, layer)
    if len(layers) != 1:
        raise OutputError(f"{path}: a FlatGeobuf file holds one layer, got {len(layers)} ({', '.join(layers)})")
    name, gdf = next(iter(layers.items()))
    with atomic_path(path) as tmp:
        pyogrio.write_dataframe(gdf, tmp, layer=name, driver="FlatGeobuf")
    if metadata:
        write_sidecar(path, metadata)
    return Path(path)


# ---- styles: the same classes and colours as the HTML map, as QGIS QML and as OGC SLD
def style_classes(gdf, metadata: dict | None = None):
    """The classes of an fsgeo layer as the HTML map draws them, or None for a layer fsgeo has no style for.

    Communes (a ``minutes`` column, polygons): ``("graduated", "minutes", ranges, unreachable colour)`` with
    ``ranges`` a list of ``(lower, upper, colour, label)`` (the first class includes its lower bound 0, the others
    are ``lower < minutes <= upper``, the last one open: ``upper`` 100000): the edges of
    :func:`fsgeo.maps.band_edges` with the threshold, the colours of :func:`fsgeo.maps.band_colors`; communes with
    no time get the unreachable colour. Catchments (``band_min``): ``("categorized", "band_min", [(band, colour,
    label)])``, one outline colour per band as on the map.
    """
    from fsgeo import maps

    params = (metadata or {}).get("parameters", {}) if metadata else {}
    if "minutes" in gdf.columns and gdf.geom_type.isin(["Polygon", "MultiPolygon"]).any():
        threshold = params.get("threshold_min")
        edges = maps.band_edges(params.get("bands_min"), threshold)
        colors = maps.band_colors(len(edges) + 1)
        ranges, lows = [], [0.0, *edges]
        highs = [*edges, 100000.0]
        for i, (lo, hi, color) in enumerate(zip(lows, highs, colors)):
            label = f"≤ {hi:g} min" if i == 0 else (f"{lo:g}–{hi:g} min" if i < len(edges) else f"> {lo:g} min")
            ranges.append((lo, hi, color, label))
        return "graduated", "minutes", ranges, maps.UNREACHABLE_COLOR
    if "band_min" in gdf.columns:
        bands = sorted({float(b) for b in gdf["band_min"]})
        colors = maps._catchment_colors(len(bands))
        return "categorized", "band_min", [(b, c, f"≤ {b:g} min") for b, c in zip(bands, colors)]
    return None


#: the label of the communes with no drive time, in both styles
UNREACHABLE_LABEL = "non routée / unreachable"


def qml_style(gdf, metadata: dict | None = None) -> str | None:
    """A QGIS layer style (QML) for an fsgeo layer (:func:`style_classes`), or None for a layer fsgeo has no style
    for."""
    classes = style_classes(gdf, metadata)
    if classes is None:
        return None
    if classes[0] == "graduated":
        _, field, ranges, unreachable = classes
        return _qml_graduated(field, ranges, unreachable)
    _, field, cats = classes
    return _qml_categorized(field, cats)


SLD_NS = {"sld": "http://www.opengis.net/sld", "se": "http://www.opengis.net/se", "ogc": "http://www.opengis.net/ogc",
          "xlink": "http://www.w3.org/1999/xlink", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}


def sld_style(gdf, metadata: dict | None = None, name: str = "layer") -> str | None:
    """An OGC Styled Layer Descriptor 1.1.0 (Symbology Encoding 1.1) for an fsgeo layer, with the classes and colours
    of :func:`qml_style` (:func:`style_classes`): one rule per class with its filter, fill (communes, 75 % opaque,
    white outline) or outline (catchments); None for a layer fsgeo has no style for."""
    import xml.etree.ElementTree as ET

    classes = style_classes(gdf, metadata)
    if classes is None:
        return None
    for prefix, uri in SLD_NS.items():
        ET.register_namespace(prefix, uri)
    sld, se, ogc = (f"{{{SLD_NS[k]}}}" for k in ("sld", "se", "ogc"))

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, tag, attrs)
        if text is not None:
            el.text = str(text)
        return el

    root = ET.Element(sld + "StyledLayerDescriptor", {
        "version": "1.1.0",
        f"{{{SLD_NS['xsi']}}}schemaLocation":
            "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd"})
    layer = sub(root, sld + "NamedLayer")
    sub(layer, se + "Name", name)
    style = sub(layer, sld + "UserStyle")
    sub(style, se + "Name", name)
    fts = sub(style, se + "FeatureTypeStyle")

    def rule(label, condition, fill, stroke, width, fill_opacity):
        r = sub(fts, se + "Rule")
        sub(r, se + "Name", label)
        sub(sub(r, se + "Description"), se + "Title", label)
        f = sub(r, ogc + "Filter")
        condition(f)
        sym = sub(r, se + "PolygonSymbolizer")
        if fill is not None:
            fe = sub(sym, se + "Fill")
            sub(fe, se + "SvgParameter", fill, name="fill")
            sub(fe, se + "SvgParameter", fill_opacity, name="fill-opacity")
        st = sub(sym, se + "Stroke")
        sub(st, se + "SvgParameter", stroke, name="stroke")
        sub(st, se + "SvgParameter", width, name="stroke-width")

    def compare(op, field, value):
        def build(parent):
            c = sub(parent, ogc + op)
            sub(c, ogc + "PropertyName", field)
            sub(c, ogc + "Literal", f"{value:g}")
        return build

    def both(*conditions):
        def build(parent):
            a = sub(parent, ogc + "And")
            for c in conditions:
                c(a)
        return build

    if classes[0] == "graduated":
        _, field, ranges, unreachable = classes
        rule(UNREACHABLE_LABEL, lambda f: sub(sub(f, ogc + "PropertyIsNull"), ogc + "PropertyName", field),
             unreachable, "#ffffff", 0.5, 0.75)
        for i, (lo, hi, color, label) in enumerate(ranges):
            low = compare("PropertyIsGreaterThanOrEqualTo" if i == 0 else "PropertyIsGreaterThan", field, lo)
            cond = low if i == len(ranges) - 1 else both(low, compare("PropertyIsLessThanOrEqualTo", field, hi))
            rule(label, cond, color, "#ffffff", 0.5, 0.75)
    else:
        _, field, cats = classes
        for value, color, label in cats:
            rule(label, compare("PropertyIsEqualTo", field, value), None, color, 1.5, None)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _symbol(name: str, fill: str, stroke: str = "#ffffff", fill_style: str = "solid", width: float = 0.26) -> str:
    def rgba(hexcolor, alpha=255):
        h = hexcolor.lstrip("#")
        return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"

    return (f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            f'<Option type="Map">'
            f'<Option name="color" type="QString" value="{rgba(fill, 191)}"/>'
            f'<Option name="outline_color" type="QString" value="{rgba(stroke)}"/>'
            f'<Option name="outline_width" type="QString" value="{width}"/>'
            f'<Option name="outline_width_unit" type="QString" value="MM"/>'
            f'<Option name="style" type="QString" value="{fill_style}"/>'
            f'<Option name="outline_style" type="QString" value="solid"/>'
            f'</Option></layer></symbol>')


def _qml(renderer: str) -> str:
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28" styleCategories="Symbology">\n' + renderer + "\n</qgis>\n")


def _qml_graduated(field: str, ranges, else_color: str) -> str:
    from html import escape as esc

    rng = "".join(f'<range lower="{lo:g}" upper="{hi:g}" symbol="{i}" label="{esc(label)}" render="true"/>'
                  for i, (lo, hi, _, label) in enumerate(ranges))
    syms = "".join(_symbol(str(i), color) for i, (_, _, color, _) in enumerate(ranges))
    # communes with no time (unreachable) fall in no range: QGIS draws them with the "else" rule of a rule-based
    # renderer only, so the graduated renderer gets one more class, minutes NULL, via its source expression
    expr = f'coalesce("{field}", -1)'
    rng = f'<range lower="-1" upper="-0.5" symbol="{len(ranges)}" label="{UNREACHABLE_LABEL}" render="true"/>' \
        + rng
    syms += _symbol(str(len(ranges)), else_color)
    return _qml(f'<renderer-v2 type="graduatedSymbol" attr="{esc(expr)}" graduatedMethod="GraduatedColor" '
                f'symbollevels="0" enableorderby="0" forceraster="0">'
                f"<ranges>{rng}</ranges><symbols>{syms}</symbols></renderer-v2>")


def _qml_categorized(field: str, cats) -> str:
    from html import escape as esc

    c = "".join(f'<category value="{v:g}" symbol="{i}" label="{esc(label)}" render="true" type="double"/>'
                for i, (v, _, label) in enumerate(cats))
    syms = "".join(_symbol(str(i), color, stroke=color, fill_style="no", width=0.6)
                   for i, (_, color, _) in enumerate(cats))
    return _qml(f'<renderer-v2 type="categorizedSymbol" attr="{field}" symbollevels="0" enableorderby="0" '
                f'forceraster="0"><categories>{c}</categories><symbols>{syms}</symbols></renderer-v2>')


#: the GIS formats, registered by :mod:`fsgeo.export` in its one table: format -> (writer, file endings)
FORMATS = {"gpkg": (write_gpkg, (".gpkg",)), "parquet": (write_parquet, (".parquet", ".geoparquet")),
           "fgb": (write_fgb, (".fgb",))}
#: formats that need geometries
GIS_FORMATS = tuple(FORMATS)
