"""Where an output comes from: fsgeo version, study and sources with their dates, network and profile parameters,
threshold and bands, command line.

:func:`provenance` builds one JSON-ready dict; the writers of :mod:`fsgeo.export` put it in every file (GeoJSON and
JSON ``fsgeo`` member, GeoPackage ``fsgeo_metadata`` table and ``gpkg_metadata``, GeoParquet/FlatGeobuf schema
metadata, CSV sidecar ``.json``), :mod:`fsgeo.reports` prints it as a footer and :mod:`fsgeo.maps` as the map's
credits line.
"""

from __future__ import annotations

import datetime as dt
import math
import shlex
import sys
from pathlib import Path

__all__ = ["provenance", "credits", "command_line", "sidecar_path", "write_sidecar", "png_with_text", "png_text"]

#: who to credit on a map or in a report, by study source id (the embedded study's); unknown ids use their title
_CREDITS = {
    "anct": "ANCT (France services)",
    "insee": "INSEE",
    "etalab": "INSEE",
    "cog": "INSEE",
    "ign": "IGN",
    "france-geojson": "IGN",
    "admin_express": "IGN",
    "travelmapping": "Travel Mapping",
}
OSM_CREDIT = "© OpenStreetMap contributors"


def command_line(argv=None) -> str:
    """The command as typed (``fsgeo coverage --out x.gpkg``), shell-quoted."""
    argv = list(sys.argv if argv is None else argv)
    if argv and argv[0].endswith(("fsgeo", "__main__.py", "fsgeo.exe")):
        argv[0] = "fsgeo"
    return " ".join(shlex.quote(str(a)) for a in argv)


def _network_params(network) -> dict:
    if network is None:
        return {}
    out = {}
    crs = getattr(network, "metric_crs", None)
    if crs is not None:
        out["metric_crs"] = crs.to_string() if hasattr(crs, "to_string") else str(crs)
    for attr in ("nodes", "edges"):
        df = getattr(network, attr, None)
        if df is not None:
            out[f"n_{attr}"] = int(len(df))
    profile = getattr(network, "profile", None)
    if profile is not None:
        for key in ("circuity", "connector_speed_kmh", "snap_detour_factor", "max_snap_m", "direct_leg_max_m"):
            if hasattr(profile, key):
                value = getattr(profile, key)
                out[key] = value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
        for key in ("road_class_speeds_kmh", "highway_speeds_kmh"):
            speeds = getattr(profile, key, None)
            if isinstance(speeds, dict):
                out[key] = {str(k): v for k, v in speeds.items() if isinstance(v, (int, float))}
        if hasattr(profile, "respect_maxspeed"):
            out["respect_maxspeed"] = bool(profile.respect_maxspeed)
    return out


def provenance(study=None, network=None, parameters: dict | None = None, command: str | None = None,
               generated: str | None = None) -> dict:
    """The provenance of an output, JSON-ready.

    Parameters
    ----------
    study : fsgeo.datasets.Study or fsgeo.study.StudyManifest, optional
        The study the data come from: its name, départements, network source and sources (id, title, date, licence).
    network : fsgeo.network.RoadNetwork, optional
        Its metric CRS, size and car profile parameters (circuity, connector speed, snap limits, speeds).
    parameters : dict, optional
        The analysis parameters (``threshold_min``, ``bands_min``, ``kind``, ``as_of``, ``model``...).
    command : str, optional
        The command line (default: this process's, :func:`command_line`).
    generated : str, optional
        Generation date (default: today, ISO ``YYYY-MM-DD``; a day, not a time, so that outputs of the same inputs
        on the same day are byte-identical).

    Returns
    -------
    dict
        ``fsgeo_version``, ``generated``, ``command``, ``study`` (``name``, ``codes``, ``network_source``,
        ``sources``), ``network``, ``parameters``, ``credits`` (the line a map or report shows).
    """
    from fsgeo import __version__

    manifest = getattr(study, "manifest", study)
    study_info = {}
    if manifest is not None:
        study_info = {
            "name": getattr(manifest, "name", None),
            "codes": list(getattr(manifest, "codes", []) or []),
            "network_source": (getattr(manifest, "network", None) or {}).get("source"),
            "built_with_fsgeo": getattr(manifest, "fsgeo_version", None) or None,
            "sources": [{k: src.get(k) for k in ("id", "title", "date", "licence", "url") if src.get(k) is not None}
                        for src in (getattr(manifest, "sources", None) or [])],
        }
    out = {
        "fsgeo_version": __version__,
        "generated": generated or dt.date.today().isoformat(),
        "command": command if command is not None else command_line(),
        "study": study_info,
        "network": _network_params(network),
        "parameters": {k: v for k, v in (parameters or {}).items() if v is not None},
    }
    out["credits"] = credits(out)
    return out


def credits(prov: dict | None) -> str:
    """The credits line of a map or report: the sources' producers (ANCT, INSEE/IGN, Travel Mapping) and
    © OpenStreetMap contributors, always (the road networks derive from OpenStreetMap)."""
    names = []
    for src in ((prov or {}).get("study") or {}).get("sources", []):
        name = _CREDITS.get(str(src.get("id", "")).lower()) or src.get("title") or src.get("id")
        if name and name not in names:
            names.append(str(name))
    if not names:
        names = ["ANCT (France services)", "INSEE", "IGN", "Travel Mapping"]
    return ", ".join(names) + ", " + OSM_CREDIT


# ---- where the provenance goes in a file with no room of its own
def png_with_text(png: bytes, key: str, text: str) -> bytes:
    """``png`` with an ``iTXt`` chunk (UTF-8 text, PNG spec §11.3.4.5) ``key`` = ``text`` after its header chunk."""
    import struct
    import zlib

    signature = b"\x89PNG\r\n\x1a\n"
    if not png.startswith(signature):
        raise ValueError("not a PNG image")
    body = key.encode("latin-1") + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    ihdr_end = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4  # signature, IHDR length/type, data, CRC
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def png_text(png: bytes) -> dict:
    """The ``iTXt`` chunks of a PNG (key -> text), e.g. the provenance :func:`write_png` stores under ``fsgeo``."""
    import struct

    out, pos = {}, 8
    while pos + 8 <= len(png):
        (length,), kind = struct.unpack(">I", png[pos:pos + 4]), png[pos + 4:pos + 8]
        if kind == b"iTXt":
            body = png[pos + 8:pos + 8 + length]
            key, rest = body.split(b"\x00", 1)
            _flag, _method, rest = rest[0], rest[1], rest[2:]
            _lang, rest = rest.split(b"\x00", 1)
            _translated, text = rest.split(b"\x00", 1)
            out[key.decode("latin-1")] = text.decode("utf-8")
        pos += 12 + length
    return out


def sidecar_path(path) -> Path:
    """``communes.csv`` -> ``communes.csv.json``: where the provenance of a file with no room for it goes."""
    return Path(str(path) + ".json")


def write_sidecar(path, metadata: dict) -> Path:
    """The provenance of ``path`` in its sidecar JSON (:func:`sidecar_path`): ``{"file": name, "fsgeo": ...}``."""
    from fsgeo.atomic import write_text

    return write_text(sidecar_path(path), json_text({"file": Path(path).name, "fsgeo": metadata}, indent=2) + "\n")


def json_text(obj, indent: int | None = None) -> str:
    """JSON text of a provenance (or any metadata): numpy/pandas scalars, dates and CRS made plain, NaN as null."""
    import json

    return json.dumps(plain(obj), ensure_ascii=False, indent=indent)


def plain(value, frame=None):
    """``value`` as plain JSON-ready Python: numpy/pandas scalars unwrapped, NaN/inf/NA -> None, dates as ISO text,
    a CRS as its name, containers walked; ``frame(value)``, when given and not None, converts a table
    (:func:`fsgeo.results.plain` passes its records)."""
    if isinstance(value, dict):
        return {str(k): plain(v, frame) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v, frame) for v in value]
    if frame is not None:
        table = frame(value)
        if table is not None:
            return table
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "to_string") and type(value).__name__ == "CRS":
        return value.to_string()
    if not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value
