"""The shared schema: column names, ids, dates, blanks, booleans and the storage CRS (a low module).

Every layer (io readers, datasets, network, the analyses, the build) reads cells and names columns through these
helpers, so there is one blank test (:func:`is_blank`), one id rule (:func:`clean_id`, :func:`commune_code`), one date
parser (:func:`to_date`, with :func:`parse_date` / :func:`as_date` on top), one boolean vocabulary (:data:`TRUE_WORDS`,
:data:`FALSE_WORDS`, :func:`parse_bool`) and one reprojection to the storage CRS (:func:`to_storage_crs`).

It imports only :mod:`fsgeo.errors`, :mod:`fsgeo.hours` and :mod:`fsgeo.settings` (none of which import back), so
any module may import it without creating an import cycle. :mod:`fsgeo.io` re-exports the names it always exported.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd
from pyproj import CRS

from fsgeo import hours as _hours
from fsgeo.errors import InputError
from fsgeo.settings import settings

__all__ = [
    "HOURS_COLUMNS",
    "SITE_COLUMNS",
    "COMMUNE_COLUMNS",
    "KINDS",
    "FORMATS",
    "TRUE_WORDS",
    "FALSE_WORDS",
    "is_blank",
    "clean_text",
    "clean_id",
    "commune_code",
    "departement_of",
    "to_date",
    "parse_date",
    "as_date",
    "parse_bool",
    "to_storage_crs",
    "LAMBERT93",
    "local_metric_crs",
]

#: opening-hour columns of the SITES schema, Monday to Saturday
HOURS_COLUMNS = tuple(f"hours_{d}" for d in _hours.WEEKDAYS)
#: SITES schema, in order (geometry last)
SITE_COLUMNS = (
    "id", "name", "kind", "format", "parent_id", "departement", "in_departement", "commune_code", "commune_name",
    "address", *HOURS_COLUMNS, "weekly_open_hours", "labelled_on", "comment",
)
#: COMMUNES schema, in order (geometry last)
COMMUNE_COLUMNS = ("code", "name", "departement", "population", "area_km2", "point_lon", "point_lat")
KINDS = ("principal", "antenna")
FORMATS = ("fixed", "multisite", "fixed_with_antennas", "itinerant", "bus")

#: the one boolean vocabulary (compared case-insensitively, after stripping): English and French spellings
TRUE_WORDS = frozenset({"true", "1", "yes", "oui", "vrai", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "non", "faux", "n", "f"})


# --- cells ---------------------------------------------------------------------------------------------------------

def is_blank(value) -> bool:
    """True for None, NaN, ``pd.NA``, ``pd.NaT`` and strings of white space only."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def clean_text(value) -> str:
    """A cell as stripped text; ``""`` when blank (None, NaN, NA, white space)."""
    return "" if is_blank(value) else str(value).strip()


def clean_id(value) -> str:
    """An id or code cell as text; ``""`` when blank. Ids read as numbers by GDAL (413 or 413.0) become '413'."""
    if is_blank(value):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def commune_code(value) -> str:
    """INSEE code as text; one read as a number (1004) gets its leading zero back ('01004')."""
    code = clean_id(value)
    return "0" + code if code.isdigit() and len(code) == 4 else code


def departement_of(code) -> str:
    """Département of an INSEE commune code: its first 2 characters ("70", "2A"), 3 overseas ("974"); "" if blank."""
    code = clean_text(code)
    if not code:
        return ""
    return code[:3] if code.startswith("97") else code[:2]


# --- dates ---------------------------------------------------------------------------------------------------------

_DATE_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.+Z-]*)?")
_DATE_EXPECTED = "expected YYYY-MM-DD or DD/MM/YYYY, a date, datetime or pandas Timestamp"


def to_date(value) -> dt.date | None:
    """The one date parser: ``value`` as a ``datetime.date``, None when blank.

    Reads ISO ``YYYY-MM-DD`` (a time part is ignored), ``DD/MM/YYYY`` anywhere in the text (the ANCT's
    ``"Espace labellisé DD/MM/YYYY"``), ``datetime.date``, ``datetime.datetime`` and ``pandas.Timestamp``. Raises
    ``ValueError`` naming the value otherwise (31/02/2022 included).
    """
    if is_blank(value):
        return None
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        dmy, iso = _DATE_DMY.search(text), _DATE_ISO.fullmatch(text)
        try:
            if dmy:
                return dt.date(int(dmy.group(3)), int(dmy.group(2)), int(dmy.group(1)))
            if iso:
                return dt.date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:  # 31/02/2022 and the like
            pass
    raise ValueError(f"cannot read date {value!r} ({_DATE_EXPECTED})")


def parse_date(value) -> str | None:
    """:func:`to_date` as an ISO ``YYYY-MM-DD`` string (the form stored in ``labelled_on``); None when blank."""
    day = to_date(value)
    return None if day is None else day.isoformat()


def as_date(value) -> dt.date:
    """:func:`to_date` for a value that must be a date (an ``as_of`` argument): blank raises ``ValueError`` too."""
    day = to_date(value)
    if day is None:
        raise ValueError(f"invalid date {value!r}: {_DATE_EXPECTED}")
    return day


# --- booleans ------------------------------------------------------------------------------------------------------

def parse_bool(value) -> bool:
    """``value`` as a bool: a bool, or a word of :data:`TRUE_WORDS` / :data:`FALSE_WORDS`; ``ValueError`` otherwise
    (blank included)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    word = clean_text(value).casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"cannot read {value!r} as true/false")


# --- CRS -----------------------------------------------------------------------------------------------------------

def to_storage_crs(gdf, source):
    """``gdf`` in the storage CRS (``settings.crs``, EPSG:4326): the one reprojection of user files.

    A declared projected (or other geographic) CRS is reprojected; no CRS means WGS84. Coordinates that are clearly
    metres (beyond ±180 / ±90) in a file declaring degrees, or declaring nothing, raise :class:`InputError` naming
    ``source`` (a path or a name) and the 1-based row ("wrong CRS?").
    """
    crs = gdf.crs
    geoms = gdf.geometry
    ok = geoms.notna() & ~geoms.is_empty
    if crs is not None and not crs.is_geographic:
        try:
            return gdf.to_crs(settings.crs)
        except Exception as exc:
            raise InputError(f"{source}: cannot reproject from {crs.to_string()} to {settings.crs}: {exc}") from None
    if ok.any():
        b = geoms[ok].bounds
        bad = (b[["minx", "maxx"]].abs().max(axis=1) > 180) | (b[["miny", "maxy"]].abs().max(axis=1) > 90)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            pos = int(np.flatnonzero(ok.to_numpy())[i])
            x, y = b.iloc[i]["minx"], b.iloc[i]["miny"]
            declared = "no CRS" if crs is None else f"CRS {crs.to_string()} (degrees)"
            raise InputError(f"{source}: row {pos + 1}: coordinates ({x:.1f}, {y:.1f}) look like projected metres "
                             f"but the file declares {declared}: wrong CRS? Declare the real CRS (e.g. EPSG:2154) "
                             "or give WGS84 longitude/latitude")
    if crs is None:
        return gdf.set_crs(settings.crs)
    if not crs.equals(settings.crs):
        return gdf.to_crs(settings.crs)
    return gdf


#: the metric CRS of metropolitan France (RGF93 / Lambert-93)
LAMBERT93 = "EPSG:2154"


def local_metric_crs(lon, lat, name: str = "data") -> CRS:
    """The metric CRS (projected, metres) for points at ``lon``, ``lat`` (degrees): Lambert-93 when every point lies
    within its area of use (metropolitan France and Corsica), else the UTM zone of the extent's centre (overseas,
    abroad). The rule behind a network's ``metric_crs`` and a study's ``crs.metric``; a study's manifest or a
    network, when there is one, owns the choice (pass their ``metric_crs`` rather than calling this).

    Raises ``ValueError`` naming ``name`` when no point is given or no UTM zone covers the extent.
    """
    lon, lat = np.asarray(lon, dtype=float).ravel(), np.asarray(lat, dtype=float).ravel()
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    if not len(lon):
        raise ValueError(f"{name}: no point with finite coordinates to choose a metric CRS from")
    lambert = CRS.from_user_input(LAMBERT93)
    if _within_area_of_use(lambert, lon, lat):
        return lambert
    import geopandas as gpd
    import shapely

    corners = gpd.GeoSeries(shapely.points([lon.min(), lon.max()], [lat.min(), lat.max()]), crs="EPSG:4326")
    try:
        return corners.estimate_utm_crs()  # UTM zone of the extent's centre, as geopandas picks it
    except RuntimeError:
        raise ValueError(f"{name}: no UTM zone covers its extent (lon {lon.min():.3f}..{lon.max():.3f}, lat "
                         f"{lat.min():.3f}..{lat.max():.3f}): pass metric_crs= (a projected CRS in metres)"
                         ) from None


def _within_area_of_use(crs: CRS, lon: np.ndarray, lat: np.ndarray) -> bool:
    """Whether every point lies within ``crs.area_of_use`` (its lon/lat bounds; a CRS without one fits anywhere)."""
    area = crs.area_of_use
    if area is None:
        return True
    west, south, east, north = area.bounds
    if not (south <= lat.min() and lat.max() <= north):
        return False
    if west <= east:
        return bool(west <= lon.min() and lon.max() <= east)
    return bool(((lon >= west) | (lon <= east)).all())  # an area across the antimeridian
