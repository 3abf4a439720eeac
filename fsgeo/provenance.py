"""Where an output comes from: fsgeo version, study and sources with their dates, network and profile parameters,
threshold and bands, command line.

:func:`provenance` builds one JSON-ready dict; the writers of :mod:`fsgeo.export` put it in every file (GeoJSON and
JSON ``fsgeo`` member, GeoPackage ``fsgeo_metadata`` table and ``gpkg_metadata``, GeoParquet/FlatGeobuf schema
metadata, CSV sidecar ``.json``), :mod:`fsgeo.reports` prints it as a footer and :mod:`fsgeo.maps` as the map's
credits line.
"""

from __future__ import annotations

import datetime as dt
import shlex
import sys

__all__ = ["provenance", "credits", "command_line"]

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
