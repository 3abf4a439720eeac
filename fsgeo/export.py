"""Output files: one writer per format, the format chosen by the file ending, every file written atomically.

The one table of writers is :data:`WRITERS` (format name -> function ``writer(data, path, metadata=None,
**options) -> Path``) and the one table of endings is :data:`ENDINGS` (file ending -> format name); a format is added
with :func:`register` (:mod:`fsgeo.export_gis` registers GeoPackage, GeoParquet and FlatGeobuf, whose libraries are
imported when a file is written). Every writer takes the provenance (:func:`fsgeo.provenance.provenance`) as
``metadata`` and puts it where the format has room for it: a ``provenance`` member (JSON), an ``fsgeo`` member
(GeoJSON), the ``fsgeo_metadata`` table (GeoPackage), the schema metadata (GeoParquet), an ``iTXt`` chunk (PNG), a
sidecar ``<file>.json`` (CSV, FlatGeobuf); text reports and HTML maps print it as their footer. :func:`check_output` is called *before* any
computation: it resolves the format from ``--format`` and the file ending (a mismatch, or an ending fsgeo cannot
write, is an :class:`~fsgeo.errors.OutputError`), and checks that the file can be written (parent folder exists, is
a folder, is writable). :func:`write` then dispatches to the writer. Every writer renders the whole content in memory
or in a temporary file first and renames it over the target (:mod:`fsgeo.atomic`): a failure never destroys or
half-writes a previous result.

Spreadsheet safety (CSV): a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would
be read as a formula by Excel or LibreOffice (``=HYPERLINK(...)``, ``+cmd|...``, ``-2+3``, ``@SUM(...)``). Following
OWASP's advice on CSV injection, such cells get a leading single quote (``'=HYPERLINK(...)``), which spreadsheets
show as text. Only *text* cells are changed: numeric columns stay numbers (``-4.5`` stays ``-4.5``), and a text cell
that is a plain number (``-4.5``, ``+33``) is left alone since it cannot be a formula.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Callable

import pandas as pd

from fsgeo.atomic import check_writable, write_text as _atomic_write_text
from fsgeo.errors import OutputError
from fsgeo.provenance import png_text, png_with_text, sidecar_path, write_sidecar  # noqa: F401  (re-exported)

__all__ = [
    "ENDINGS",
    "WRITERS",
    "register",
    "UNSUPPORTED_ENDINGS",
    "format_of",
    "check_output",
    "write",
    "write_csv",
    "write_json",
    "write_geojson",
    "write_html",
    "write_text",
    "write_png",
    "write_sidecar",
    "sidecar_path",
    "png_with_text",
    "csv_text",
    "json_text",
    "geojson_text",
    "safe_cell",
    "spreadsheet_safe",
]

# --------------------------------------------------------------------------------------------------------------------
# spreadsheet-safe cells

#: first characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def safe_cell(value):
    """``value`` made safe for a spreadsheet: a text starting with ``= + - @``, tab or CR gets a leading ``'``.

    Non-text values (numbers, None, NaN) and texts that are plain numbers are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _is_text_column(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or pd.api.types.is_datetime64_any_dtype(series))


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (non-numeric columns, and the column names) pass :func:`safe_cell`."""
    out = df.copy()
    for col in out.columns:
        if _is_text_column(out[col]):
            out[col] = out[col].astype(object).map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


# --------------------------------------------------------------------------------------------------------------------
# text of each format (for standard output too)


def csv_text(df: pd.DataFrame, columns=None, float_format: str | None = None) -> str:
    """CSV text of ``df`` (no index, ``\\n`` line ends, geometry dropped), spreadsheet-safe (:func:`safe_cell`)."""
    df = pd.DataFrame(df.drop(columns=[c for c in ("geometry",) if c in df.columns]))
    if columns is not None:
        df = df[list(columns)]
    buf = io.StringIO()
    # a bare CR inside a cell is not quoted with "\n" line ends (it would split the row): line breaks become "\n"
    df = spreadsheet_safe(df)
    df = df.apply(lambda col: col.astype(object).map(_one_newline) if _is_text_column(col) else col)
    df.to_csv(buf, index=False, float_format=float_format, lineterminator="\n",
                                quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def _one_newline(value):
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def _json_default(o):
    import datetime as dt

    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (dt.date, dt.datetime, pd.Timestamp)):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean_floats(obj):
    if isinstance(obj, float):
        return None if (math.isnan(obj) or math.isinf(obj)) else obj
    if isinstance(obj, dict):
        return {str(k): _clean_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_floats(v) for v in obj]
    if obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            return _clean_floats(obj.item())
        except (ValueError, AttributeError):
            return obj
    return obj


def json_text(obj, indent: int | None = 2) -> str:
    """JSON text: NaN/inf as null, numpy/pandas scalars and dates converted, UTF-8 characters kept."""
    return json.dumps(_clean_floats(obj), default=_json_default, ensure_ascii=False, indent=indent)


def geojson_text(gdf, metadata: dict | None = None) -> str:
    """GeoJSON FeatureCollection of ``gdf`` in EPSG:4326 (RFC 7946); ``metadata`` goes in a top-level ``fsgeo``
    member (foreign members are allowed by RFC 7946 §6.1)."""
    if isinstance(gdf, dict):
        fc = dict(gdf)
    else:
        if gdf.crs is None:
            raise ValueError("GeoDataFrame has no CRS: set it before writing GeoJSON")
        fc = json.loads(gdf.to_crs("EPSG:4326").to_json(drop_id=True, na="null"))
    if metadata:
        fc["fsgeo"] = metadata
    return json_text(fc, indent=None)


# --------------------------------------------------------------------------------------------------------------------
# writers: data -> atomic file


def _ending_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def write_csv(data, path, columns=None, float_format: str | None = None, metadata: dict | None = None) -> Path:
    """Write a DataFrame (or CSV text already made safe by :func:`csv_text`) as a spreadsheet-safe CSV file; the
    provenance ``metadata`` goes to the sidecar ``<file>.json`` (:func:`write_sidecar`)."""
    text = data if isinstance(data, str) else csv_text(data, columns=columns, float_format=float_format)
    out = _atomic_write_text(path, text)
    if metadata:
        write_sidecar(path, metadata)
    return out


def write_json(data, path, indent: int | None = 2, metadata: dict | None = None) -> Path:
    """Write a JSON-able object (or JSON text) as a JSON file; the provenance ``metadata`` goes in a top-level
    ``provenance`` member of an object (kept when the object already has one)."""
    if metadata:
        obj = json.loads(data) if isinstance(data, str) else data
        if not isinstance(obj, dict):
            raise OutputError(f"{path}: the provenance goes in a JSON object, got a {type(obj).__name__}")
        data = obj if "provenance" in obj else {**obj, "provenance": metadata}
    text = data if isinstance(data, str) else json_text(data, indent=indent)
    return _atomic_write_text(path, _ending_newline(text))


def write_geojson(data, path, metadata: dict | None = None) -> Path:
    """Write a GeoDataFrame (or a FeatureCollection dict, or GeoJSON text) as a GeoJSON file, EPSG:4326; the
    provenance ``metadata`` goes in a top-level ``fsgeo`` member."""
    if isinstance(data, dict) and not hasattr(data, "crs") and "type" not in data:  # {layer: GeoDataFrame}: first
        data = next(iter(data.values()))
    if isinstance(data, str) and metadata:
        data = json.loads(data)
    text = data if isinstance(data, str) else geojson_text(getattr(data, "table", data), metadata=metadata)
    return _atomic_write_text(path, _ending_newline(text))


def write_html(data, path, metadata: dict | None = None) -> Path:
    """Write an HTML page: text, or a folium map (see :func:`fsgeo.maps.save_map`, which renders it first). A map
    carries its provenance as its footer (:func:`fsgeo.maps.coverage_map` ``provenance=``): ``metadata`` is not
    added here."""
    if not isinstance(data, str):
        from fsgeo.maps import save_map

        return save_map(data, path)
    return _atomic_write_text(path, data)


def write_text(data, path, metadata: dict | None = None) -> Path:
    """Write a plain-text report (UTF-8). A report prints its provenance as its footer, in its language
    (:func:`fsgeo.reports.provenance_footer`): ``metadata`` is not added here."""
    return _atomic_write_text(path, _ending_newline(str(data)))


def write_png(data, path, metadata: dict | None = None, width: int = 1024, height: int = 768) -> Path:
    """A PNG of a map through headless Chromium (:func:`fsgeo.maps.screenshot`): ``data`` is a saved HTML map (its
    path) or a folium map; the provenance goes in an ``iTXt`` chunk (key ``fsgeo``, JSON)."""
    import tempfile

    from fsgeo import maps

    if isinstance(data, (str, Path)) and Path(data).is_file():
        return maps.screenshot(data, path, width=width, height=height, metadata=metadata)
    with tempfile.TemporaryDirectory(prefix="fsgeo-png-") as work:
        html = maps.save_map(data, Path(work) / "map.html")
        return maps.screenshot(html, path, width=width, height=height, metadata=metadata)


#: format name -> writer(data, path, metadata=None, **options): the one table of writers (see :func:`register`)
WRITERS: dict[str, Callable[..., Path]] = {}

#: file ending -> format name (longest ending first when matching)
ENDINGS: dict[str, str] = {}

#: formats whose writer needs geometries (a GeoDataFrame, or a dict of layer name -> GeoDataFrame)
GEOMETRY_FORMATS: set[str] = set()


def register(fmt: str, writer: Callable[..., Path], endings=(), geometry: bool = False) -> None:
    """Add (or replace) the writer of ``fmt`` and the file endings that ask for it: a new output format is this one
    call. ``writer(data, path, metadata=None, **options) -> Path`` writes atomically and puts the provenance
    ``metadata`` where the format has room for it."""
    WRITERS[fmt] = writer
    for ending in endings:
        ENDINGS[ending.lower()] = fmt
    if geometry:
        GEOMETRY_FORMATS.add(fmt)


register("csv", write_csv, (".csv",))
register("json", write_json, (".json",))
register("geojson", write_geojson, (".geojson",), geometry=True)
register("html", write_html, (".html", ".htm"))
register("text", write_text, (".txt", ".text"))
register("png", write_png, (".png",))

#: endings of formats fsgeo does not write (yet): an error before any work, never another format under that name
UNSUPPORTED_ENDINGS: dict[str, str] = {
    ".shp": "Shapefile",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".gml": "GML",
    ".xlsx": "Excel",
    ".xls": "Excel",
    ".ods": "OpenDocument spreadsheet",
    ".tsv": "TSV",
    ".topojson": "TopoJSON",
    ".pdf": "PDF",
    ".zip": "zip",
    ".gz": "gzip",
}

#: what to use instead when a command is asked for a format another command writes (``--out x.png`` of coverage)
OTHER_COMMAND = {"png": "a PNG of the map: fsgeo map --out FILE.html --png FILE.png",
                 "html": "an HTML map: fsgeo map --out FILE.html"}

#: how people name the formats (``--format table`` writes the text report)
_ALIASES = {"table": "text", "txt": "text", "htm": "html"}


def _ending(path) -> str:
    name = Path(path).name.lower()
    for table in (ENDINGS, UNSUPPORTED_ENDINGS):
        for ending in sorted(table, key=len, reverse=True):
            if name.endswith(ending) and len(name) > len(ending):
                return ending
    return Path(path).suffix.lower()


def format_of(path) -> str | None:
    """The format a file ending asks for (``"csv"``, ``"geojson"``...), None for an ending with no meaning to fsgeo
    (no ending, ``.out``...); :class:`~fsgeo.errors.OutputError` for the ending of a format fsgeo cannot write."""
    ending = _ending(path)
    if ending in ENDINGS and ENDINGS[ending] in WRITERS:
        return ENDINGS[ending]
    if ending in UNSUPPORTED_ENDINGS:
        writable = ", ".join(sorted({e for e, f in ENDINGS.items() if f in WRITERS}))
        raise OutputError(f"{path}: fsgeo cannot write {UNSUPPORTED_ENDINGS[ending]} ({ending}) files; "
                          f"use one of {writable}")
    return None


def check_output(path, fmt: str | None = None, allowed=None, default: str | None = None) -> str:
    """Resolve and check an output before any work; returns the format name to write.

    Parameters
    ----------
    path : str or Path
        The output file.
    fmt : str, optional
        The format asked for explicitly (``--format``); ``"table"`` means ``"text"``.
    allowed : iterable of str, optional
        Formats the caller can produce (``"table"`` accepted for ``"text"``); default: every writer.
    default : str, optional
        Format when neither ``fmt`` nor the ending says (default ``"text"``).

    Raises
    ------
    OutputError
        The ending is of a format fsgeo cannot write, contradicts ``fmt``, is not one the caller produces, or the
        file cannot be written (missing parent folder, parent that is a file, no permission).
    """
    norm = {_ALIASES.get(a, a) for a in (allowed if allowed is not None else WRITERS)}
    asked = _ALIASES.get(fmt, fmt) if fmt is not None else None
    by_ending = format_of(path)
    if asked is not None and by_ending is not None and asked != by_ending:
        raise OutputError(f"{path}: the file ending says {by_ending} but the format asked for is {asked}; "
                          "change one of them")
    chosen = asked or by_ending or _ALIASES.get(default, default) or "text"
    if chosen not in norm:
        can = ", ".join(sorted(norm))
        other = f"; for {OTHER_COMMAND[chosen]}" if chosen in OTHER_COMMAND else ""
        raise OutputError(f"{path}: this command writes {can}, not {chosen}{other}")
    check_writable(path)
    return chosen


def write(data, path, fmt: str | None = None, **options) -> Path:
    """Write ``data`` to ``path`` with the writer of ``fmt`` (default: the one the file ending asks for)."""
    name = _ALIASES.get(fmt, fmt) if fmt is not None else format_of(path)
    if name is None:
        raise OutputError(f"{path}: no format given and the file ending does not name one "
                          f"({', '.join(sorted(ENDINGS))})")
    try:
        writer = WRITERS[name]
    except KeyError:
        raise OutputError(f"{path}: fsgeo has no writer for {name!r} (known: {', '.join(sorted(WRITERS))})") from None
    return writer(data, path, **options)



def _register_gis() -> None:
    """The GIS writers of :mod:`fsgeo.export_gis` (GeoPackage, GeoParquet, FlatGeobuf) in the one table; their
    libraries (pyogrio, pyarrow) are imported only when a file is written."""
    from fsgeo import export_gis

    for fmt, (writer, endings) in export_gis.FORMATS.items():
        register(fmt, writer, endings, geometry=True)


_register_gis()
