"""Readers and validation of user files: sites (ANCT CSV, GeoJSON / GeoPackage, plain CSV) and communes.

Every reader returns the schema of the embedded data (``docs/ARCHITECTURE.md``) in EPSG:4326 and raises
:class:`InputError` on bad input, with a message naming the file, the row (1-based data row: the CSV header or the
GeoJSON envelope is not counted) or the id, and what is wrong. Nothing is dropped silently: a row that cannot be read
is an error, not a gap.

Files whose declared CRS is projected (Lambert-93, UTM, ...) are reprojected to EPSG:4326. Files with no CRS, or
declaring WGS84, whose coordinates are clearly metres are an error ("wrong CRS?").

:func:`read_points` reads the point files of sites and of candidates (:mod:`fsgeo.siting`); other modules validate
their inputs with :func:`check_unique_ids`, :func:`check_geometries`, :func:`normalise_kind`, :func:`clean_text` /
:func:`clean_id`, and word their errors with :meth:`InputError.at`.
"""

from __future__ import annotations

import codecs
import io as _io
import math
import re
import unicodedata
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from fsgeo import hours as _hours
from fsgeo.errors import InputError, InputWarning, shown
from fsgeo.schema import (  # the shared schema helpers; re-exported here (public names) for existing callers
    COMMUNE_COLUMNS,
    FORMATS,
    HOURS_COLUMNS,
    KINDS,
    SITE_COLUMNS,
    clean_id,
    clean_text,
    departement_of,
    local_metric_crs,
    parse_date,
    to_storage_crs,
)
from fsgeo.schema import commune_code as _commune_code
from fsgeo.schema import is_blank as _blank
from fsgeo.schema import parse_bool as _bool_word
from fsgeo.settings import settings

__all__ = [
    "InputError",
    "SITE_COLUMNS",
    "COMMUNE_COLUMNS",
    "KINDS",
    "FORMATS",
    "read_points",
    "read_table",
    "read_sites",
    "read_anct_csv",
    "read_communes",
    "read_outline",
    "load_demand_parts",
    "commune_table",
    "check_unique_ids",
    "check_geometries",
    "normalise_kind",
    "clean_text",
    "clean_id",
    "departement_of",
    "parse_date",
    "in_france",
]


# ANCT spellings (and our own) -> schema values; keys compared after _key()
_KIND_ALIASES = {"principal": "principal", "antenne": "antenna", "antenna": "antenna"}
_FORMAT_ALIASES = {
    "fixe": "fixed", "fixed": "fixed",
    "multisites": "multisite", "multisite": "multisite",
    "fixe_antenne(s)": "fixed_with_antennas", "fixe_antennes": "fixed_with_antennas",
    "fixe_antenne": "fixed_with_antennas", "fixed_with_antennas": "fixed_with_antennas",
    "itinerante": "itinerant", "itinerant": "itinerant",
    "bus_equivalent": "bus", "bus": "bus",
}
ANCT_COLUMNS = (
    "id_fs", "insee_dep", "lib_fs", "adresse", "complement_adresse", "insee_com", "code_postal", "lib_com",
    "latitude", "longitude", *_hours.ANCT_DAY_COLUMNS.values(), "commentaire", "type_fs", "format_fs", "groupe_fs",
    "labellisation_fs",
)

# Bounding boxes (lon_min, lat_min, lon_max, lat_max) of metropolitan France incl. Corsica and of the overseas
# départements (Saint-Martin / Saint-Barthélemy, which the ANCT list includes, fall in the Guadeloupe box).
_FRANCE_BOXES = {
    "metropolitan France": (-5.3, 41.3, 9.7, 51.2),
    "Guadeloupe": (-63.2, 15.8, -60.9, 18.2),
    "Martinique": (-61.3, 14.35, -60.75, 14.95),
    "Guyane": (-54.7, 2.0, -51.5, 6.0),
    "La Réunion": (55.15, -21.45, 55.9, -20.8),
    "Mayotte": (44.9, -13.1, 45.35, -12.55),
}


_error = InputError.at  # short name for the many raises below

#: more inhabitants than this in one commune is a broken file (Paris, the largest, has about 2.1 million)
MAX_COMMUNE_POPULATION = 10_000_000


# --- small helpers -------------------------------------------------------------------------------------------------

def _key(text: str) -> str:
    """Case- and accent-insensitive key: 'Itinérante' -> 'itinerante'."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return text.strip().casefold().replace(" ", "_")


def normalise_kind(value, default: str = "principal", source=None, row=None, ident=None) -> str:
    """``"principal"`` or ``"antenna"`` from our spelling or the ANCT's (``Principal`` / ``Antenne``, any case or
    accents); ``default`` when blank. Any other value raises :class:`InputError` at ``source``/``row``/``ident``."""
    kind = _KIND_ALIASES.get(_key(clean_text(value) or default))
    if kind is None:
        raise _error(source, f"unknown kind {value!r} (expected one of {', '.join(KINDS)}, or the ANCT Principal / "
                             "Antenne)", row, ident)
    return kind


def check_unique_ids(values, source, what: str = "id") -> list[str]:
    """``values`` as ids (:func:`clean_id`). A blank or repeated one raises :class:`InputError` naming ``source``
    (a path or a name), the 1-based row and the id: "missing id", "duplicate id 'A' (also on row 1)"."""
    ids = [clean_id(v) for v in values]
    seen: dict[str, tuple[int, str]] = {}
    for row, ident in enumerate(ids, start=1):
        if not ident:
            raise _error(source, f"missing {what}", row)
        key = _id_key(ident)
        if key in seen:
            first_row, first = seen[key]
            also = f"row {first_row}" + (f", as {first!r}" if first != ident else "")
            raise _error(source, f"duplicate {what} {ident!r} (also on {also})", row, ident)
        seen[key] = (row, ident)
    return ids


def _id_key(ident: str) -> str:
    """The id a spreadsheet meant: '413.0' (a number written by Excel or GDAL) is '413'."""
    return re.sub(r"^([+-]?\d+)\.0*$", r"\1", ident)


def in_france(lon, lat) -> np.ndarray:
    """True where (lon, lat) in degrees lies in metropolitan France, Corsica or an overseas département (boxes)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    inside = np.zeros(np.broadcast(lon, lat).shape, dtype=bool)
    for x0, y0, x1, y1 in _FRANCE_BOXES.values():
        inside |= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    return inside


def _check_point(path, row, ident, lon: float, lat: float, what: str = "point") -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise _error(path, f"{what} has a missing or non-finite coordinate (lon={lon}, lat={lat})", row, ident)
    if abs(lon) > 180 or abs(lat) > 90:
        raise _error(path, f"{what} (x={lon:.1f}, y={lat:.1f}) is not in degrees: these look like projected metres "
                           "(wrong CRS? lon/lat must be WGS84 degrees; a GeoJSON / GeoPackage may instead declare "
                           "its CRS, e.g. EPSG:2154)", row, ident)
    if not in_france(lon, lat):
        hint = ("latitude and longitude look swapped" if in_france(lat, lon)
                else "lat/lon may be swapped or the CRS wrong")
        raise _error(path, f"{what} (lon={lon:.6f}, lat={lat:.6f}) is outside France (metropolitan France, Corsica "
                           f"and the overseas départements): {hint}", row, ident)


def _parse_float(path, row, ident, value, column: str) -> float:
    if _blank(value):
        raise _error(path, f"missing value in column {column!r}", row, ident)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().replace("\u2212", "-")
    if re.fullmatch(r"[+-]?\d+,\d+", text):  # French decimal comma
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        raise _error(path, f"cannot read {column} {shown(value)} as a number", row, ident) from None


def _parse_bool(path, row, ident, value, column: str) -> bool:
    try:
        return _bool_word(value)
    except ValueError:
        raise _error(path, f"cannot read {column} {shown(value)} as true/false", row, ident) from None


def _read_csv(path: Path, nrows: int | None = None) -> pd.DataFrame:
    """CSV as strings (codes keep their leading zeros); separator ',', ';' or tab detected from the header.

    Rows ending with an extra separator (``a,b,c,`` under ``x,y,z``) are read as they are meant; a value beyond the
    header's last column is an :class:`InputError` naming the row. (pandas would otherwise take the first column as
    an index and shift every other column left.)
    """
    text = _decode_text(path, nrows)
    header = text.split("\n", 1)[0]
    sep = max([",", ";", "\t"], key=header.count)
    read = dict(dtype=str, keep_default_na=False, sep=sep, nrows=nrows)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(_io.StringIO(text), index_col=False, **read)
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
            _check_beyond_header(path, pd.read_csv(_io.StringIO(text), header=None, skiprows=1, **read),
                                 len(df.columns))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot read as CSV: {exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_table(path, what: str) -> pd.DataFrame:
    """A small user CSV (trips, demand points) as strings, separator sniffed, columns stripped and lower-cased.

    ``what`` names the file's content in the errors: ``"<path>: <what> file not found"`` and
    ``"<path>: cannot read as a CSV file of <what>: ..."`` (:class:`InputError`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found")
    try:
        df = pd.read_csv(path, dtype=str, sep=None, engine="python", keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot read as a CSV file of {what}: {exc}") from None
    df.columns = [c.strip().lower() for c in df.columns]
    return df


def _cp1252_repair(err: UnicodeDecodeError):
    """codecs error handler: bytes that are not UTF-8 read as Windows-1252 (the one byte Excel or an old tool wrote)."""
    try:
        return err.object[err.start:err.end].decode("cp1252"), err.end
    except UnicodeDecodeError:  # undefined in Windows-1252 too: report the byte's place in the whole file
        raise UnicodeDecodeError("cp1252", err.object, err.start, err.end, "undefined byte") from None


codecs.register_error("fsgeo-cp1252", _cp1252_repair)


def _decode_text(path: Path, nrows: int | None = None) -> str:
    """The file as text: UTF-8 (BOM or not); a file mostly in Windows-1252 as Windows-1252; a UTF-8 file with a few
    Windows-1252 bytes repaired line by line, with an :class:`~fsgeo.errors.InputWarning` naming the lines. A byte
    that is neither (0x81, 0x8D, 0x8F, 0x90, 0x9D) is an InputError naming the line. Never mojibake."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    bad, non_ascii = [], 0
    for number, line in enumerate(lines, start=1):
        if max(line, default=0) < 0x80:
            continue
        non_ascii += 1
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
    try:
        if len(bad) > non_ascii / 2:  # a Windows-1252 file (its accents are never valid UTF-8)
            return data.decode("cp1252")
        text = data.decode("utf-8", errors="fsgeo-cp1252")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line}: byte 0x{data[exc.start]:02X} is neither UTF-8 nor Windows-1252 text "
                         "(save the file as UTF-8)") from None
    if nrows is not None:  # only the header was wanted (the full read warns)
        return text
    shown_lines = ", ".join(map(str, bad[:10])) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
    warnings.warn(f"{path}: line{'s' if len(bad) > 1 else ''} {shown_lines} (the header is line 1) not UTF-8 like "
                  "the rest of the file: read as Windows-1252 (e.g. 'é' written by Excel); check these rows",
                  InputWarning, stacklevel=4)
    return text


def _check_beyond_header(path: Path, rows: pd.DataFrame, n_columns: int) -> None:
    """InputError at the first row (of the header-less ``rows``) with a value beyond the header's ``n_columns``."""
    beyond = rows.iloc[:, n_columns:]
    filled = beyond.apply(lambda col: col.str.strip() != "").to_numpy()
    if filled.any():
        i, j = np.argwhere(filled)[0]
        raise _error(path, f"more fields than the header ({n_columns} columns): value {beyond.iat[i, j]!r} beyond "
                           f"the last column", int(i) + 1)


def _require(path, columns, required, aliased=()) -> None:
    """InputError naming the ``required`` columns absent from ``columns`` (the file's, listed in the message) and not
    in ``aliased`` (required names the file gives under another accepted name)."""
    missing = [c for c in required if c not in columns and c not in aliased]
    if missing:
        raise InputError(f"{path}: missing column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(repr(c) for c in missing)} (columns found: {', '.join(map(str, columns))})")


def _pick(columns, *names):
    """First of ``names`` present among ``columns`` (case-insensitive), else None."""
    lower = {str(c).casefold(): c for c in columns}
    for n in names:
        if n.casefold() in lower:
            return lower[n.casefold()]
    return None


# --- geo files and CRS ---------------------------------------------------------------------------------------------

def _read_geo(path: Path, preferred_layer: str) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        layer = None
        if path.suffix.lower() == ".gpkg":
            names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
            if len(names) > 1:
                if preferred_layer not in names:
                    raise InputError(f"{path}: {len(names)} layers ({', '.join(names)}) and none named "
                                     f"{preferred_layer!r}: say which one to use by naming it {preferred_layer!r}")
                layer = preferred_layer
        with warnings.catch_warnings():
            # GDAL / geopandas notes on the way in: a malformed geometry is reported below with its row (checked by
            # check_geometries), a property column that is not JSON stays text as it should
            warnings.filterwarnings("ignore", message=r"(?s).*(OGRGeoJSON|Invalid coord|dimensions must be)",
                                    category=RuntimeWarning)
            warnings.filterwarnings("ignore", message=r"Could not parse column .* as JSON", category=UserWarning)
            return gpd.read_file(path, layer=layer)
    except InputError:
        raise
    except Exception as exc:  # GDAL's errors vary by driver; report them with the file name
        raise InputError(f"{path}: cannot read as a GeoJSON / GeoPackage file: {exc}") from None


def check_geometries(source, gdf, ids, allowed: tuple[str, ...] = ("Point",)) -> None:
    """Every geometry of ``gdf`` present, non-empty, valid and of an ``allowed`` type, else :class:`InputError`
    naming ``source`` (a path or a name), the 1-based row, its id (from ``ids``) and the problem."""
    for i, (geom, ident) in enumerate(zip(gdf.geometry, ids), start=1):
        if geom is None or geom.is_empty:
            raise _error(source, "missing or empty geometry", i, ident)
        if geom.geom_type not in allowed:
            raise _error(source, f"geometry is a {geom.geom_type}, expected {' or '.join(allowed)}", i, ident)
        if not geom.is_valid:
            raise _error(source, f"invalid geometry: {shapely.is_valid_reason(geom)}", i, ident)




# --- point files ---------------------------------------------------------------------------------------------------

_GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb")
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")


def read_points(path, *, communes=None, required=("id",), what: str = "site",
                layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a user file of points (sites, candidates...), ids and coordinates checked, into EPSG:4326.

    Parameters
    ----------
    path : str or Path
        - GeoJSON / GeoPackage (``.geojson``, ``.json``, ``.gpkg``, also ``.shp``, ``.fgb``) of Points in any
          declared CRS (reprojected to EPSG:4326);
        - CSV (``,`` ``;`` or tab; UTF-8 or Windows-1252) with ``lat``/``lon`` (or ``latitude``/``longitude``,
          ``lng``: WGS84 degrees, decimal comma accepted) and/or an INSEE commune code column (``commune_code``,
          ``insee``, ``code_insee`` or ``insee_com``, renamed ``commune_code``): a row without coordinates is placed
          at its commune's demand point (``point_lon``/``point_lat``) and takes its ``commune_name`` when blank.
    communes : GeoDataFrame, str or Path, optional
        Communes (COMMUNES schema) placing code-only CSV rows. Default: the embedded communes, loaded only when needed.
    required : tuple of str, default ("id",)
        Columns the file must have. A file without ``id`` (when not required) gets ids "1", "2", ... (row numbers).
    what : str, default "site"
        What a row is, in messages ("no candidates in the file") and the default ``layer`` (``what + "s"``).
    layer : str, optional
        GeoPackage layer to read when there are several (default ``what + "s"``).

    Returns
    -------
    GeoDataFrame
        ``id`` (text: GDAL's 413.0 becomes "413") then the file's other columns (a CSV's as text, without its
        lat/lon columns), ``commune_code`` (when present) as text keeping its leading zero, Point geometry;
        EPSG:4326, RangeIndex, file order.

    Raises
    ------
    InputError
        Naming the file, the 1-based row / id and the problem: file missing, unreadable, of another type or empty;
        missing column; missing or duplicate id; geometry not a Point; missing or unreadable coordinates; unknown
        commune code; metres in a file declaring degrees (wrong CRS); a point outside France.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in _GEO_SUFFIXES:
        gdf = _canonical_columns(_read_geo(path, layer or f"{what}s"))
        _require(path, gdf.columns, required)
        ids = _row_ids(gdf)
        check_geometries(path, gdf, ids)
        gdf = to_storage_crs(gdf, path)
        raw, lons, lats = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), gdf.geometry.x, gdf.geometry.y
    elif suffix in _CSV_SUFFIXES:
        raw = _canonical_columns(_read_csv(path))
        _require(path, raw.columns, required)
        ids = _row_ids(raw)
        raw, lons, lats = _csv_coordinates(raw, path, ids, communes, what)
    else:
        raise InputError(f"{path}: unsupported {what}s file type {suffix!r} (use .geojson, .gpkg or .csv)")
    return _points_frame(path, raw, ids, lons, lats, what)


#: other names of the schema's columns in the files people have (French and English; case, accents, spaces and
#: hyphens do not matter): a préfecture's "Nom", "Type" (Antenne / Principal), "Commune", "Adresse"...
COLUMN_ALIASES = {
    "id": ("identifiant", "id_site", "site_id", "code_site"),
    "name": ("nom", "nom_site", "nom_de_la_structure", "libelle", "site_name", "site", "structure"),
    "kind": ("type", "type_site", "type_de_site", "nature", "site_type"),
    "format": ("format_site", "modalite"),
    "parent_id": ("parent", "id_parent", "parent_site", "structure_parente", "site_parent", "rattachement"),
    "commune_name": ("commune", "nom_commune", "ville", "city", "town", "municipality"),
    "commune_code": ("code_commune", "codgeo", "insee", "code_insee", "insee_com", "cog"),
    "address": ("adresse", "adresse_postale", "addr", "street"),
    "comment": ("commentaire", "commentaires", "remarque", "remarques", "observations"),
    "labelled_on": ("date_labellisation", "labellisation", "date_de_labellisation", "date_label", "labelled"),
    "departement": ("département", "dep", "dept", "code_departement", "code_dep", "department"),
    "weekly_open_hours": ("heures_hebdomadaires", "heures_par_semaine", "heures_hebdo", "opening_hours_week"),
    "lat": ("latitude", "lat_wgs84", "y_wgs84"),
    "lon": ("longitude", "lng", "long", "lon_wgs84", "x_wgs84"),
    **{f"hours_{day}": (fr, f"h_{fr}", f"horaires_{fr}") for day, fr in (
        ("monday", "lundi"), ("tuesday", "mardi"), ("wednesday", "mercredi"), ("thursday", "jeudi"),
        ("friday", "vendredi"), ("saturday", "samedi"))},
}
_ALIAS_OF = {_key(a).replace("-", "_"): canon for canon, names in COLUMN_ALIASES.items() for a in (canon, *names)}
_NATIVE_NAMES = {"insee", "code_insee", "insee_com", "latitude", "longitude", "lng"}  # what _pick reads as is
_CODE_LIKE = re.compile(r"\d[\dAB]\d{3}")


def _canonical_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Columns renamed to the schema's names (:data:`COLUMN_ALIASES`), the first of a name's spellings winning; a
    "commune" column holding INSEE codes becomes ``commune_code``."""
    renames, taken = {}, set()
    for col in df.columns:
        if col == getattr(df, "_geometry_column_name", None):
            continue
        canon = _ALIAS_OF.get(_key(col).replace("-", "_"))
        if canon == "commune_name":
            values = [clean_text(v) for v in df[col] if not _blank(v)]
            if values and all(_CODE_LIKE.fullmatch(v) for v in values):
                canon = "commune_code"
        if canon is None or canon in taken or (canon != col and canon in df.columns):
            continue
        if str(col).casefold() in _NATIVE_NAMES:  # read under its own name (errors then quote the file's name)
            taken.add(canon)
            continue
        taken.add(canon)
        if canon != col:
            renames[col] = canon
    return df.rename(columns=renames) if renames else df


def _row_ids(df) -> list[str]:
    """The ``id`` column as text (unchecked), else the 1-based row numbers."""
    return [clean_id(v) for v in df["id"]] if "id" in df.columns else [str(i) for i in range(1, len(df) + 1)]


def _csv_coordinates(df: pd.DataFrame, path: Path, ids: list[str], communes, what: str):
    """(frame without its lat/lon columns, code column renamed ``commune_code``, lons, lats) of a CSV of points."""
    lat_col, lon_col = _pick(df.columns, "lat", "latitude"), _pick(df.columns, "lon", "lng", "longitude")
    code_col = _pick(df.columns, "commune_code", "insee", "code_insee", "insee_com")
    if (lat_col is None) != (lon_col is None):
        raise InputError(f"{path}: missing column {'lon' if lon_col is None else 'lat'!r}: a CSV of {what}s needs "
                         "both lat and lon (or latitude and longitude)")
    if lat_col is None and code_col is None:
        raise InputError(f"{path}: missing columns: a CSV of {what}s needs 'lat'/'lon' (or 'latitude'/'longitude') "
                         f"or an INSEE commune code column 'commune_code' or 'insee' (columns found: "
                         f"{', '.join(df.columns)})")
    raw = df.rename(columns={code_col: "commune_code"}) if code_col else df.copy()
    raw = raw.drop(columns=[c for c in (lat_col, lon_col) if c is not None])
    lons, lats = [], []
    communes_idx = None
    for i, ident in enumerate(ids):
        has_xy = lat_col is not None and not (_blank(df[lat_col].iat[i]) and _blank(df[lon_col].iat[i]))
        if has_xy:
            lons.append(_parse_float(path, i + 1, ident, df[lon_col].iat[i], lon_col))
            lats.append(_parse_float(path, i + 1, ident, df[lat_col].iat[i], lat_col))
            continue
        code = _commune_code(raw["commune_code"].iat[i]) if code_col is not None else ""
        if not code:
            if lat_col is None:
                problem = f"missing commune code in column {code_col!r}"
            elif code_col is None:
                problem = f"missing value in columns {lat_col!r}/{lon_col!r}"
            else:
                problem = f"missing coordinates: give {lat_col}/{lon_col} or a commune code ({code_col!r})"
            raise _error(path, problem, i + 1, ident)
        if communes_idx is None:
            communes_idx = _communes_index(communes, path, what)
        if code not in communes_idx.index:
            raise _error(path, f"unknown commune code {code!r} (not among the {len(communes_idx)} communes used to "
                               f"place {what}s; give lat/lon instead)", i + 1, ident)
        c = communes_idx.loc[code]
        lons.append(float(c["point_lon"]))
        lats.append(float(c["point_lat"]))
        if "commune_name" not in raw.columns:
            raw["commune_name"] = ""
        if _blank(raw["commune_name"].iat[i]):
            raw.loc[raw.index[i], "commune_name"] = str(c["name"])
    return raw, lons, lats


def _communes_index(communes, path, what: str) -> pd.DataFrame:
    if callable(communes):  # a study's communes, read only now that a row needs them
        communes = communes()
    if communes is None:
        raise ValueError(f"{path}: communes are needed to place {what}s given by a commune code: pass communes= (a "
                         "GeoDataFrame or a communes file; fsgeo.datasets.load_study().communes)")
    elif not isinstance(communes, pd.DataFrame):
        communes = read_communes(communes)
    missing = [c for c in ("code", "name", "point_lon", "point_lat") if c not in communes.columns]
    if missing:
        raise ValueError(f"communes given to place sites lack column(s) {missing}")
    index = pd.DataFrame(communes[["code", "name", "point_lon", "point_lat"]])
    return index.set_index(pd.Index([_commune_code(c) for c in index["code"]], name="code"))


def _points_frame(path, raw: pd.DataFrame, ids, lons, lats, what: str) -> gpd.GeoDataFrame:
    """``raw`` as a GeoDataFrame of Points at ``lons``/``lats`` (degrees), after checking ids and points."""
    if len(raw) == 0:
        raise InputError(f"{path}: no {what}s in the file")
    ids = check_unique_ids(ids, path)
    lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
    for i, (ident, lon, lat) in enumerate(zip(ids, lons, lats), start=1):
        _check_point(path, i, ident, float(lon), float(lat))
    raw = raw.drop(columns=["id", "geometry"], errors="ignore").reset_index(drop=True)  # a CSV's text "geometry"
    raw.insert(0, "id", ids)
    if "commune_code" in raw.columns:
        raw["commune_code"] = [_commune_code(v) for v in raw["commune_code"]]
    return gpd.GeoDataFrame(raw, geometry=gpd.points_from_xy(lons, lats, crs=settings.crs), crs=settings.crs)


# --- sites ---------------------------------------------------------------------------------------------------------

def read_sites(path, communes=None, departement: str | None = None) -> gpd.GeoDataFrame:
    """Read a file of France Services sites into the SITES schema (EPSG:4326 Points).

    Parameters
    ----------
    path : str or Path
        ``.geojson`` / ``.json`` / ``.gpkg`` (the schema of ``data/sites.geojson``; ``id``, ``name`` and a Point
        geometry required, other columns filled with defaults), the ANCT CSV (detected by its ``id_fs`` column), or
        a plain CSV with ``id``, ``name`` and either ``lat``/``lon`` (or ``latitude``/``longitude``, WGS84 degrees)
        or an INSEE commune code column (``commune_code`` or ``insee``); see :func:`read_points`.
    communes : GeoDataFrame, str or Path, optional
        Communes (COMMUNES schema) used to place plain-CSV rows that only give a commune code, at the commune's
        demand point (``point_lon``/``point_lat``); or a function returning them, called only when a row needs
        placing. Required for such rows (io reads no embedded data: ``fsgeo.datasets.load_study().sites`` passes
        the study's communes).
    departement : str or list of str, optional
        Département(s) of interest (a study's codes) for the default of ``in_departement``: True for rows of these
        départements. Default None: every row is the study's own (``in_departement`` True unless the file says).

    Returns
    -------
    GeoDataFrame
        Columns :data:`SITE_COLUMNS` (then any extra columns of a GeoJSON / plain CSV), geometry; RangeIndex;
        EPSG:4326. Defaults: ``kind`` principal, ``format`` fixed, ``parent_id`` null, ``departement`` from the
        commune code (else the département of interest), ``in_departement`` = (departement == département of
        interest), hours ``""`` (closed/unknown), ``weekly_open_hours`` (hours) from the day hours, else the file's own
        ``weekly_open_hours``, else NaN when the file has no hour columns at all; ``labelled_on`` null, text columns
        ``""``.

    Raises
    ------
    InputError
        Naming the file, the row / id and the problem.
    """
    path = Path(path)
    if path.suffix.lower() in _CSV_SUFFIXES and path.is_file() and "id_fs" in _read_csv(path, nrows=0).columns:
        return read_anct_csv(path, departement)
    points = read_points(path, communes=communes, required=("id", "name"), what="site")
    points = _locate_departements(points, communes)
    unused = [str(c) for c in points.columns
              if c not in SITE_COLUMNS and c != points.geometry.name and not str(c).startswith("_")]
    if unused:
        warnings.warn(f"{path}: column{'s' if len(unused) > 1 else ''} {', '.join(map(repr, unused))} not understood "
                      f"(kept as extra columns, not used; the columns fsgeo reads: {', '.join(SITE_COLUMNS)})",
                      InputWarning, stacklevel=2)
    return _finish_sites(points, path, departement, hours_given=any(c in points.columns for c in HOURS_COLUMNS))


def _locate_departements(points: gpd.GeoDataFrame, communes) -> gpd.GeoDataFrame:
    """Fill ``departement`` of the rows that give neither it nor a commune code from the commune polygon each point
    lies in (never assume the study's own département: a plain CSV often mixes in sites across the boundary). A
    point in no commune of the study is outside its départements (``_outside_study``, read by _finish_sites)."""
    blank = np.ones(len(points), dtype=bool)
    for column in ("departement", "commune_code"):
        if column in points.columns:
            blank &= np.array([_blank(v) for v in points[column]], dtype=bool)
    if not blank.any() or communes is None:
        return points
    if callable(communes):
        communes = communes()
    if not isinstance(communes, gpd.GeoDataFrame) or "departement" not in communes.columns or communes.crs is None:
        return points
    polys = communes[["departement", communes.geometry.name]].to_crs(points.crs)
    where = gpd.sjoin(points.loc[blank, [points.geometry.name]], polys, how="left", predicate="within")
    where = where[~where.index.duplicated(keep="first")]["departement"]
    out = points.copy()
    if "departement" not in out.columns:
        out["departement"] = ""
    deps = where.reindex(out.index[blank])
    out.loc[out.index[blank], "departement"] = deps.fillna("").astype(str).to_numpy()
    out["_outside_study"] = False
    out.loc[out.index[blank], "_outside_study"] = deps.isna().to_numpy()
    return out


def read_anct_csv(path, departement: str | None = None) -> gpd.GeoDataFrame:
    """Read the ANCT "Liste des structures France services" CSV (all of France) into the SITES schema.

    ``format_fs`` Fixe → fixed, Multisites → multisite, Fixe_antenne(s) → fixed_with_antennas, Itinérante →
    itinerant, Bus_équivalent → bus; ``type_fs`` Principal / Antenne → principal / antenna; ``labellisation_fs``
    "Espace labellisé DD/MM/YYYY" → ISO ``labelled_on``; ``h_lundi`` … ``h_samedi`` normalised by
    :mod:`fsgeo.hours`; ``address`` = street, complement, postcode and commune.

    ``parent_id`` of an antenna: the principal space of the same ``groupe_fs`` in the same département; else a
    principal space of the same département whose name (or group) contains the antenna's stem (the name before
    "- Antenne ..."/"- Site ..."); else null. How each antenna was matched is in ``gdf.attrs["antenna_matches"]``
    (list of dicts: ``id``, ``name``, ``departement``, ``parent_id``, ``method`` group|name|none, ``reason``).

    Parameters
    ----------
    departement : str, optional
        ``in_departement`` is True for rows of this département (or of these, a list of codes). Default None: True
        for every row.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    return _anct_frame(_read_csv(path), path, departement)


def _anct_frame(df: pd.DataFrame, path: Path, departement: str | None) -> gpd.GeoDataFrame:
    _require(path, df.columns, ANCT_COLUMNS)
    rows, lons, lats = [], [], []
    for col in ("adresse", "complement_adresse"):
        df[col] = df[col].str.replace(r"\s+", " ", regex=True).str.strip()
    for i, r in enumerate(df.itertuples(index=False), start=1):
        ident = clean_text(r.id_fs)
        for col in ("type_fs", "format_fs"):  # no silent default for the ANCT's own kind / format
            if _blank(getattr(r, col)):
                raise _error(path, f"missing value in column {col!r}", i, ident)
        street = ", ".join(p for p in (clean_text(r.adresse), clean_text(r.complement_adresse)) if p)
        town = " ".join(p for p in (clean_text(r.code_postal), clean_text(r.lib_com)) if p)
        rec = {
            "id": ident, "name": clean_text(r.lib_fs), "kind": r.type_fs, "format": r.format_fs, "parent_id": None,
            "departement": clean_text(r.insee_dep), "commune_code": clean_text(r.insee_com),
            "commune_name": clean_text(r.lib_com),
            "address": ", ".join(p for p in (street, town) if p), "labelled_on": r.labellisation_fs,
            "comment": clean_text(r.commentaire), "_group": clean_text(r.groupe_fs),
        }
        for day, col in _hours.ANCT_DAY_COLUMNS.items():
            rec[f"hours_{day}"] = getattr(r, col)
        lons.append(_parse_float(path, i, ident, r.longitude, "longitude"))
        lats.append(_parse_float(path, i, ident, r.latitude, "latitude"))
        rows.append(rec)
    raw = pd.DataFrame(rows, columns=[*rows[0].keys()] if rows else ["id"])
    gdf = _finish_sites(_points_frame(path, raw, raw["id"], lons, lats, "site"), path, departement, hours_given=True)
    parents, report = match_antenna_parents(gdf, raw["_group"].tolist())
    gdf["parent_id"] = pd.Series(parents, index=gdf.index, dtype=object)
    gdf.attrs["antenna_matches"] = report
    return gdf


_WEEKLY_TOLERANCE_H = 0.01


def _departements_of_interest(departement) -> set[str] | None:
    """``departement`` (a code, or a list of codes) as a set of codes; None when not given."""
    if departement is None:
        return None
    codes = [departement] if isinstance(departement, str) else list(departement)
    return {clean_id(c) for c in codes if clean_id(c)} or None


def _finish_sites(points: gpd.GeoDataFrame, path: Path, departement: str | None,
                  hours_given: bool) -> gpd.GeoDataFrame:
    """Validate and default every SITES column of ``points`` (from :func:`_points_frame`: ids and points checked).

    ``weekly_open_hours`` (hours): computed from the day hours when any is given (a ``weekly_open_hours`` column that
    disagrees by more than 0.01 h is an error), else the file's value, else 0 (``hours_given``: the file has hour
    columns, blank = closed) or NaN (no hour columns at all: unknown).
    """
    own = _departements_of_interest(departement)
    n = len(points)
    col = lambda c, default="": points[c].tolist() if c in points.columns else [default] * n  # noqa: E731
    ids = points["id"].tolist()
    out: dict[str, list] = {c: [] for c in SITE_COLUMNS}
    names, kinds, formats = col("name"), col("kind", "principal"), col("format", "fixed")
    parents = col("parent_id", None)
    codes, deps, in_deps = col("commune_code"), col("departement"), col("in_departement", None)
    cnames, addresses, comments, dates = col("commune_name"), col("address"), col("comment"), col("labelled_on", None)
    weekly_given = col("weekly_open_hours", None)
    outside = [bool(v) for v in col("_outside_study", False)]
    hours_cols = {h: col(h) for h in HOURS_COLUMNS}
    for i in range(n):
        row, ident = i + 1, ids[i]
        name = clean_text(names[i])
        if not name:
            raise _error(path, "missing name", row, ident)
        kind = normalise_kind(kinds[i], "principal", path, row, ident)
        fmt = _FORMAT_ALIASES.get(_key(clean_text(formats[i]) or "fixed"))
        if fmt is None:
            raise _error(path, f"unknown format {formats[i]!r} (expected one of {', '.join(FORMATS)}, or the ANCT "
                               "Fixe / Multisites / Fixe_antenne(s) / Itinérante / Bus_équivalent)", row, ident)
        code = codes[i]  # normalised by _points_frame
        dep = clean_id(deps[i]) or departement_of(code)
        if dep.isdigit() and len(dep) == 1:
            dep = "0" + dep
        if not _blank(in_deps[i]):
            in_dep = _parse_bool(path, row, ident, in_deps[i], "in_departement")
        elif dep:
            in_dep = own is None or dep in own
        else:  # département unknown (no code, no commune polygon to place it): never assumed to be the study's
            in_dep = own is None and not outside[i]
        day_values = {}
        for h in HOURS_COLUMNS:
            try:
                day_values[h] = _hours.normalise_hours(hours_cols[h][i] if not _blank(hours_cols[h][i]) else "")
            except ValueError as exc:
                raise _error(path, f"{h}: {exc}", row, ident) from None
        given = None
        if not _blank(weekly_given[i]):
            given = _parse_float(path, row, ident, weekly_given[i], "weekly_open_hours")
            if not (given >= 0):
                raise _error(path, f"weekly_open_hours {weekly_given[i]!r} must be a number of hours >= 0", row,
                             ident)
        if any(day_values.values()):
            weekly = _hours.weekly_open_hours(day_values)
            # both given: one of them is wrong, and the analyses use the total (tolerance: rounding to 0.01 h)
            if given is not None and abs(given - weekly) > _WEEKLY_TOLERANCE_H:
                raise _error(path, f"weekly_open_hours {given:g} h disagrees with the opening hours given per day "
                                   f"({weekly:g} h a week)", row, ident)
        elif given is not None:
            weekly = given  # days blank: the file's total is all we know
        else:
            weekly = 0.0 if hours_given else float("nan")  # blank days: closed; no hour columns: unknown
        try:
            labelled = parse_date(dates[i])
        except ValueError as exc:
            raise _error(path, f"labelled_on: {exc}", row, ident) from None
        values = {
            "id": ident, "name": name, "kind": kind, "format": fmt,
            "parent_id": clean_id(parents[i]) or None, "departement": dep, "in_departement": bool(in_dep),
            "commune_code": code, "commune_name": clean_text(cnames[i]), "address": clean_text(addresses[i]),
            **day_values, "weekly_open_hours": float(weekly), "labelled_on": labelled,
            "comment": clean_text(comments[i]),
        }
        for c in SITE_COLUMNS:
            out[c].append(values[c])
    _check_parents(path, out["id"], out["kind"], out["parent_id"], out["in_departement"])
    extra = [c for c in points.columns if c not in SITE_COLUMNS and not str(c).startswith("_") and c != "geometry"]
    data = pd.DataFrame(out, columns=list(SITE_COLUMNS))
    for c in extra:
        data[c] = points[c].to_numpy()
    data["in_departement"] = data["in_departement"].astype(bool)
    data["weekly_open_hours"] = data["weekly_open_hours"].astype(float)
    # nullable text columns: object dtype with None (pandas would otherwise infer str with NaN)
    data["parent_id"] = pd.Series(out["parent_id"], index=data.index, dtype=object)
    data["labelled_on"] = pd.Series(out["labelled_on"], index=data.index, dtype=object)
    return gpd.GeoDataFrame(data, geometry=points.geometry.values, crs=settings.crs)


def _check_parents(path, ids, kinds, parents, own) -> None:
    """An antenna's ``parent_id``, when given, names another row of the file that is a principal space. (The parent
    of a neighbouring département's antenna may lie beyond the sites kept around the study: not an error.)"""
    row_of = {_id_key(i): r for r, i in enumerate(ids)}
    for r, (ident, kind, parent) in enumerate(zip(ids, kinds, parents)):
        if kind != "antenna" or not parent:
            continue
        p = row_of.get(_id_key(parent))
        if p is None:
            if own[r]:
                raise _error(path, f"antenna's parent_id {parent!r} is not a site of the file", r + 1, ident)
            continue
        if p == r:
            raise _error(path, "antenna is its own parent (parent_id = its id)", r + 1, ident)
        if kinds[p] != "principal":
            raise _error(path, f"antenna's parent {parent!r} (row {p + 1}) is an antenna, not a principal space",
                         r + 1, ident)


# --- antennas → principal spaces -----------------------------------------------------------------------------------

_STEM_END = re.compile(r"\s*[-–—]\s*(?:antenne|site)\b.*$|\s+antenne\b.*$", re.IGNORECASE)
_PREFIX_WORDS = {"france", "services", "bus", "multisites", "multisite", "itinerante", "la", "poste", "de", "d",
                 "du", "des", "le", "l"}


def _norm_words(text: str) -> list[str]:
    # accents dropped, any other character (apostrophes ’ included) separates words
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return re.findall(r"[a-z0-9]+", text.casefold())


def _stem(name: str) -> list[str]:
    """Significant words of a structure's name before "- Antenne ..."/"- Site ...", without "France services de"."""
    words = _norm_words(_STEM_END.sub("", name))
    while words and words[0] in _PREFIX_WORDS:
        words.pop(0)
    return words


def _contains(words: list[str], part: list[str]) -> bool:
    k = len(part)
    return k > 0 and any(words[j:j + k] == part for j in range(len(words) - k + 1))


def _name_matches(stem: list[str], pool: list[int], names: list[str], groups: list[str]) -> list[int]:
    by_name = [j for j in pool if _contains(_norm_words(names[j]), stem) or _contains(_norm_words(groups[j]), stem)]
    exact = [j for j in by_name if _stem(names[j]) == stem]
    return exact if len(exact) == 1 else by_name


def _tail(stem: list[str]) -> list[str]:
    """Words after the first preposition of a stem ([] if none or nothing significant follows)."""
    for j, w in enumerate(stem):
        if w in ("d", "de", "du", "des"):
            rest = stem[j + 1:]
            while rest and rest[0] in _PREFIX_WORDS:
                rest.pop(0)
            return rest
    return []


def match_antenna_parents(sites: pd.DataFrame, groups: list[str]) -> tuple[list, list[dict]]:
    """Parent principal space of each antenna (see :func:`read_anct_csv`).

    Parameters
    ----------
    sites : DataFrame
        SITES schema (``id``, ``name``, ``kind``, ``departement``).
    groups : list of str
        ANCT ``groupe_fs`` per row ("" when none).

    Returns
    -------
    parents : list
        ``parent_id`` per row (None for principal spaces and unmatched antennas).
    report : list of dict
        One entry per antenna: ``id``, ``name``, ``departement``, ``parent_id``, ``method`` (group|name|none),
        ``reason``.
    """
    ids, names = sites["id"].tolist(), sites["name"].tolist()
    kinds, deps = sites["kind"].tolist(), sites["departement"].tolist()
    principals: dict[str, list[int]] = {}
    for i, k in enumerate(kinds):
        if k == "principal":
            principals.setdefault(deps[i], []).append(i)
    parents: list = [None] * len(ids)
    report = []
    for i, k in enumerate(kinds):
        if k != "antenna":
            continue
        stem = _stem(names[i])
        cands = principals.get(deps[i], [])
        method, reason, parent = "none", "", None
        group_cands = [j for j in cands if groups[i] and groups[j] == groups[i]]
        if len(group_cands) == 1:
            parent, method, reason = group_cands[0], "group", f"only principal space of group {groups[i]!r}"
        else:
            pool = group_cands or cands
            chosen = _name_matches(stem, pool, names, groups)
            if not chosen and _tail(stem):
                # "Point info 14 d'Isigny-sur-Mer - Antenne ..." → the place after the first preposition
                tail_matches = _name_matches(_tail(stem), pool, names, groups)
                if tail_matches:
                    stem, chosen = _tail(stem), tail_matches
            if len(chosen) == 1:
                parent = chosen[0]
                method = "group" if group_cands else "name"
                reason = (f"principal space of group {groups[i]!r} whose name contains {' '.join(stem)!r}"
                          if group_cands else f"principal space whose name contains {' '.join(stem)!r}")
            elif len(chosen) > 1:
                reason = (f"{len(chosen)} principal spaces of département {deps[i]} match "
                          f"{' '.join(stem)!r}: {', '.join(ids[j] for j in chosen)}")
            elif group_cands:
                reason = (f"group {groups[i]!r} has {len(group_cands)} principal spaces and none is named like "
                          f"{' '.join(stem)!r}")
            else:
                reason = (f"no principal space of département {deps[i]} "
                          + (f"in group {groups[i]!r} or " if groups[i] else "")
                          + f"named like {' '.join(stem)!r}")
        parents[i] = ids[parent] if parent is not None else None
        report.append({"id": ids[i], "name": names[i], "departement": deps[i], "parent_id": parents[i],
                       "method": method, "reason": reason})
    return parents, report


# --- communes ------------------------------------------------------------------------------------------------------

def read_communes(path, metric_crs=None) -> gpd.GeoDataFrame:
    """Read a communes file (GeoJSON / GeoPackage of (Multi)Polygons) into the COMMUNES schema.

    Required: ``code`` (INSEE; also accepted: ``insee``, ``code_insee``), ``name`` (or ``nom``), ``population``
    (integer >= 0), polygon geometry. ``departement`` defaults to the code's first 2 (overseas: 3) characters;
    ``area_km2`` (km², Lambert-93; finite and >= 0 when given) and ``point_lon``/``point_lat`` (degrees, both or
    neither; ``representative_point()`` computed in Lambert-93, so it lies inside the polygon) are computed when
    absent.

    Returns
    -------
    GeoDataFrame
        Columns :data:`COMMUNE_COLUMNS` then any extra columns, geometry; RangeIndex; EPSG:4326.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.suffix.lower() not in _GEO_SUFFIXES:
        raise InputError(f"{path}: unsupported communes file type {path.suffix!r} (use .geojson or .gpkg)")
    gdf = _read_geo(path, "communes")
    code_col = _pick(gdf.columns, "code", "insee", "code_insee")
    name_col = _pick(gdf.columns, "name", "nom")
    _require(path, gdf.columns, ("code", "name", "population"),
             aliased=[n for n, col in (("code", code_col), ("name", name_col)) if col is not None])
    gdf = gdf.rename(columns={code_col: "code", name_col: "name"}).reset_index(drop=True)
    gdf["code"] = codes = check_unique_ids([_commune_code(v) for v in gdf["code"]], path, "commune code")
    _check_no_boolean_population(path, codes)
    pops = []
    for i, (v, code) in enumerate(zip(gdf["population"], codes), start=1):
        if _blank(v):
            raise _error(path, "missing population", i, code)
        p = _parse_float(path, i, code, v, "population")
        if p < 0:
            raise _error(path, f"negative population {shown(v)}", i, code)
        if not float(p).is_integer():
            raise _error(path, f"population {shown(v)} is not a whole number of inhabitants", i, code)
        if p > MAX_COMMUNE_POPULATION:
            raise _error(path, f"population {shown(v)} is not plausible for a commune (more than "
                               f"{MAX_COMMUNE_POPULATION:,}; Paris has about 2.1 million)", i, code)
        pops.append(int(p))
    gdf["population"] = np.asarray(pops, dtype="int64")
    for i, (v, code) in enumerate(zip(gdf["name"], codes), start=1):
        if _blank(v):
            raise _error(path, "missing name", i, code)
    gdf["name"] = [str(v).strip() for v in gdf["name"]]
    check_geometries(path, gdf, codes, ("Polygon", "MultiPolygon"))
    gdf = to_storage_crs(gdf, path)
    deps = gdf["departement"].tolist() if "departement" in gdf.columns else [None] * len(gdf)
    gdf["departement"] = [clean_id(d) or departement_of(c) for d, c in zip(deps, codes)]
    def numbers(column: str) -> list[float]:
        return [_parse_float(path, i, c, v, column) for i, (v, c) in enumerate(zip(gdf[column], codes), start=1)]

    if metric_crs is None:  # the study's, when read through it; else Lambert-93 in metropolitan France, UTM elsewhere
        b = gdf.geometry.bounds
        metric_crs = local_metric_crs(b[["minx", "maxx"]].to_numpy(), b[["miny", "maxy"]].to_numpy(), str(path))
    metric = gdf.geometry.to_crs(metric_crs)
    if "area_km2" not in gdf.columns:
        gdf["area_km2"] = metric.area.to_numpy() / 1e6
    else:
        areas = numbers("area_km2")
        for i, (a, v, c) in enumerate(zip(areas, gdf["area_km2"], codes), start=1):
            if not (math.isfinite(a) and a >= 0):
                raise _error(path, f"area_km2 {v!r} must be a finite number of km² >= 0", i, c)
        gdf["area_km2"] = areas
    given = [c for c in ("point_lon", "point_lat") if c in gdf.columns]
    if len(given) == 1:  # half a point: computing both would silently drop the given half
        other = "point_lat" if given == ["point_lon"] else "point_lon"
        raise InputError(f"{path}: missing column {other!r} ({given[0]} is given: give both, or neither to have the "
                         "demand point computed inside each polygon)")
    if not given:
        pts = gpd.GeoSeries(metric.representative_point(), crs=metric_crs).to_crs(settings.crs)
        gdf["point_lon"], gdf["point_lat"] = pts.x.to_numpy(), pts.y.to_numpy()
    else:
        gdf["point_lon"], gdf["point_lat"] = numbers("point_lon"), numbers("point_lat")
    for i, (x, y, c) in enumerate(zip(gdf["point_lon"], gdf["point_lat"], codes), start=1):
        _check_point(path, i, c, float(x), float(y), what="demand point")
    geom_name = gdf.geometry.name
    extra = [c for c in gdf.columns if c not in COMMUNE_COLUMNS and c != geom_name]
    out = gdf[[*COMMUNE_COLUMNS, *extra, geom_name]]
    if geom_name != "geometry":
        out = out.rename_geometry("geometry")
    return out


_JSON_BOOL_POPULATION = re.compile(rb'"population"\s*:\s*(true|false)\b')


def _check_no_boolean_population(path: Path, codes) -> None:
    """GDAL turns a GeoJSON ``"population": true`` into 1 in an integer column: look for it in the text itself."""
    if path.suffix.lower() not in (".geojson", ".json"):
        return
    data = path.read_bytes()
    found = _JSON_BOOL_POPULATION.search(data)
    if found:
        row = data.count(b'"population"', 0, found.start()) + 1  # one population per feature, in file order
        ident = codes[row - 1] if row - 1 < len(codes) else None
        raise _error(path, f"cannot read population {found.group(1).decode()} as a number", row, ident)


def read_outline(path) -> gpd.GeoDataFrame:
    """Read a département outline (``code``, ``name``, (Multi)Polygon), reprojected to EPSG:4326."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    gdf = _read_geo(path, "outline")
    ids = [clean_id(v) for v in gdf["code"]] if "code" in gdf.columns else [None] * len(gdf)
    if len(gdf) == 0:
        raise InputError(f"{path}: no feature: expected the outline polygon")
    check_geometries(path, gdf, ids, ("Polygon", "MultiPolygon"))
    gdf = to_storage_crs(gdf, path)
    gdf["code"] = [i or "" for i in ids]
    gdf["name"] = [clean_text(v) for v in gdf["name"]] if "name" in gdf.columns else ""
    geom = gdf.geometry.name
    gdf = gdf[["code", "name", *[c for c in gdf.columns if c not in ("code", "name", geom)], geom]]
    return gdf.rename_geometry("geometry") if geom != "geometry" else gdf


#: columns of a demand parts file (``communes/demand_parts.geojson``, see ``docs/ARCHITECTURE.md``)
DEMAND_PART_COLUMNS = ("code", "part", "name", "population", "source")
#: how far (inhabitants) the parts of a commune may sum from the commune's population
PARTS_POPULATION_TOLERANCE = 0.5


def load_demand_parts(path, communes=None) -> gpd.GeoDataFrame:
    """Read a demand parts file: several weighted demand points of a commune (Paris by arrondissement...).

    One row per part, only for communes with at least 2 parts: ``code`` (the commune's INSEE code), ``part``
    (unique id: an arrondissement municipal code such as 75115, or ``<code>-<k>``), ``name``, ``population``
    (inhabitants of the part, >= 0), ``source`` (where the point comes from), Point geometry (the part's demand
    point). GeoJSON or GeoPackage, reprojected to EPSG:4326.

    Parameters
    ----------
    path : str or Path
        The file (a built study's ``communes/demand_parts.geojson``).
    communes : DataFrame, optional
        The study's communes (``code``, ``population``): every part's commune must be one of them and the parts of
        a commune must sum to its population within 0.5 inhabitant.

    Returns
    -------
    GeoDataFrame
        ``code``, ``part``, ``name`` (str), ``population`` (float), ``source`` (str), geometry; file order;
        EPSG:4326.

    Raises
    ------
    InputError
        Naming the file, the row / part and the problem: missing column, empty or duplicate part id, missing or
        negative population, a commune with a single part, an unknown commune, populations that do not sum to the
        commune's.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: demand parts file not found")
    gdf = _read_geo(path, "demand_parts")
    missing = [c for c in DEMAND_PART_COLUMNS if c not in gdf.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (a demand parts file has "
                         f"{', '.join(DEMAND_PART_COLUMNS)} and Point geometries)")
    gdf = gdf.reset_index(drop=True)
    parts = [clean_id(v) for v in gdf["part"]]
    codes = []
    for i, (v, part) in enumerate(zip(gdf["code"], parts), start=1):
        if not part:
            raise _error(path, "part id is empty", i)
        code = _commune_code(v) if not _blank(v) else ""
        if not code:
            raise _error(path, f"part {part}: commune code is empty", i)
        codes.append(code)
    check_unique_ids(parts, path, "part")
    pops = []
    for i, (v, part) in enumerate(zip(gdf["population"], parts), start=1):
        if _blank(v):
            raise _error(path, f"part {part}: missing population", i)
        p = _parse_float(path, i, part, v, "population")
        if not math.isfinite(p) or p < 0:
            raise _error(path, f"part {part}: population {shown(v)} must be a finite number of inhabitants >= 0", i)
        pops.append(p)
    check_geometries(path, gdf, parts, ("Point",))
    gdf = to_storage_crs(gdf, path)
    geom = gdf.geometry.name
    out = gpd.GeoDataFrame({"code": codes, "part": parts,
                            "name": ["" if _blank(v) else str(v).strip() for v in gdf["name"]],
                            "population": np.asarray(pops, dtype=float),
                            "source": ["" if _blank(v) else str(v).strip() for v in gdf["source"]]},
                           geometry=gdf[geom].values, crs=gdf.crs)
    counts = out.groupby("code", sort=False)["part"].agg(list)
    lonely = counts[counts.map(len) < 2]
    if len(lonely):
        code = lonely.index[0]
        raise InputError(f"{path}: commune {code} has a single part ({lonely.iat[0][0]}): a demand parts file lists "
                         "only communes with 2 or more parts (a commune with one point keeps it in the communes file)")
    if communes is not None:
        table = commune_table(communes)
        known = pd.Series(table["population"].to_numpy(), index=table["code"].to_numpy())
        unknown = out[~out["code"].isin(known.index)]
        if len(unknown):
            r = unknown.iloc[0]
            raise _error(path, f"part {r['part']}: commune {r['code']} is not one of the {len(known)} communes",
                         int(unknown.index[0]) + 1)
        sums = out.groupby("code", sort=False)["population"].sum()
        off = (sums - known.loc[sums.index]).abs() > PARTS_POPULATION_TOLERANCE
        if off.any():
            code = sums.index[off.to_numpy()][0]
            raise InputError(f"{path}: commune {code}: its parts ({', '.join(counts[code])}) sum to "
                             f"{sums[code]:,.1f} inhabitants, the commune has {known[code]:,.0f} (they must sum to "
                             f"it within {PARTS_POPULATION_TOLERANCE})")
    return out


def commune_table(communes, what: str = "commune") -> pd.DataFrame:
    """Validated demand table of communes already in memory: ``code``, ``name``, ``departement``, ``population``
    (float inhabitants), one row per commune in the given order.

    The analyses (coverage, accessibility) call it on whatever frame they are handed, file-read or hand-made:
    missing columns, missing or duplicate codes and missing, infinite or negative populations are
    :class:`InputError`. Codes are text (:func:`clean_id`: 70001.0 read by GDAL becomes "70001").
    """
    if not isinstance(communes, pd.DataFrame):
        raise InputError(f"{what}s must be a pandas DataFrame or GeoDataFrame, got {type(communes).__name__}")
    missing = [c for c in ("code", "population") if c not in communes.columns]
    if missing:
        raise InputError(f"{what}s lack column(s) {', '.join(missing)}")
    codes = pd.Series([clean_id(v) for v in communes["code"]], dtype=object)  # 70001.0 (GDAL, NaN column) too
    blank = np.flatnonzero(codes.to_numpy() == "")
    if len(blank):
        raise InputError(f"{what} on row {blank[0] + 1} has no code")
    dup = codes[codes.duplicated()]
    if len(dup):
        raise InputError(f"duplicate {what} code(s): {', '.join(sorted(set(dup))[:5])}")
    pop = pd.to_numeric(communes["population"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(pop) | (pop < 0))
    if len(bad):
        value = communes["population"].iat[bad[0]]
        value = value.item() if isinstance(value, np.generic) else value  # nan, not np.float64(nan)
        raise InputError(f"{what} {codes.iat[bad[0]]}: population missing, infinite or negative ({value!r})")

    def text(col):
        return communes[col].astype(str).to_numpy() if col in communes.columns else None

    name, dep = text("name"), text("departement")
    return pd.DataFrame({
        "code": codes.to_numpy(),
        "name": codes.to_numpy() if name is None else name,
        "departement": np.full(len(codes), "") if dep is None else dep,
        "population": pop,
    })
