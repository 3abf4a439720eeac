"""Issue 12: every output of every command carries its provenance (fsgeo version, study, parameters, command line).

One case per (command, format), run in-process through ``fsgeo.cli.main`` on the embedded study; each output is read
back the way a user's tool would (JSON member, GeoPackage table, GeoParquet schema metadata, sidecar ``.json``, PNG
``iTXt`` chunk, the footer of a text report or map). ``test_every_command_and_format_has_a_case`` reads the commands
from ``fsgeo.cli.COMMANDS`` and their formats from their ``--format`` choices: a new command or format without a
case here fails.
"""

from __future__ import annotations

import html
import json
import re
import shlex
import sqlite3

import pytest

import fsgeo
from fsgeo import cli

#: commands whose output is not a result: a study folder (``study.json`` records fsgeo's version and every source
#: with its date) or the raw sources (``sources.json`` records their URLs and dates)
EXEMPT = {"build": "writes a study folder whose study.json is its provenance",
          "sources": "downloads the raw sources, recorded with their dates in sources.json"}

STUDY = "Haute-Saône"

# (command, format, arguments before --out/--format, expected parameters)
T25 = {"threshold_min": 25.0}
CASES = [
    ("datasets", "table", [], {}),
    ("datasets", "json", [], {}),
    *[("coverage", f, ["--threshold", "25"], {**T25, "bands_min": [10.0, 15.0, 20.0, 30.0, 45.0]})
      for f in ("table", "json", "csv", "geojson", "gpkg", "parquet", "fgb")],
    *[("underserved", f, ["--threshold", "25"], T25) for f in ("table", "json", "csv", "geojson")],
    # per site: streamed (csv, geojson) or not (table); merged per band for the GIS files
    *[("catchments", f, ["--bands", "12", "--jobs", "1"], {"bands_min": [12.0]}) for f in ("table", "csv", "geojson")],
    *[("catchments", f, ["--bands", "12", "--merge", "band", "--jobs", "1"], {"bands_min": [12.0], "merge": "band"})
      for f in ("gpkg", "parquet", "fgb")],
    *[("catchments", f, ["--service-areas"], {"threshold_min": 20.0}) for f in ("table", "csv", "geojson")],
    *[("timeline", f, ["--bands", "15,30"], {"bands_min": [15.0, 30.0]}) for f in ("table", "json", "csv")],
    *[("rank", f, ["--all-communes", "--min-population", "3000", "--k", "1", "--threshold", "25"],
       {**T25, "model": "greedy", "k": 1}) for f in ("table", "json", "csv")],
    *[("accessibility", f, ["--threshold", "25", "--method", "e2sfca"], {**T25, "method": "e2sfca"})
      for f in ("table", "json", "csv")],
    ("map", "html", ["--threshold", "25", "--no-catchments", "--no-tiles"], T25),
    ("map", "png", ["--threshold", "25", "--no-catchments", "--no-tiles"], T25),
    ("calibrate", "table", ["--iterations", "1"], {"iterations": 1}),
    ("calibrate", "json", ["--iterations", "1"], {"iterations": 1}),
]
ENDING = {"table": "txt", "json": "json", "csv": "csv", "geojson": "geojson", "gpkg": "gpkg", "parquet": "parquet",
          "fgb": "fgb", "html": "html", "png": "png"}


def _case_id(case):
    command, fmt, args, _ = case
    extra = "-service-areas" if "--service-areas" in args else ("-merged" if "--merge" in args else "")
    return f"{command}{extra}-{fmt}"


def _trips(tmp_path, study) -> str:
    pts = study.communes.set_index("code")
    rows = ["id,origin_code,destination_lon,destination_lat,minutes,km,source"]
    for k, (a, b) in enumerate([("70550", "70285"), ("70550", "70279"), ("70279", "70285"), ("70421", "70550")]):
        rows.append(f"t{k},{a},{pts.loc[b, 'point_lon']},{pts.loc[b, 'point_lat']},{40 + 5 * k},{45 + 4 * k},planner")
    path = tmp_path / "trips.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def _footer_checks(text: str, command: str, params: dict, lang: str = "fr") -> None:
    """The footer of a text report or map, as a person reads it."""
    words = {"fr": ("Sources et paramètres", "Étude : ", "Seuil ", "Tranches ", "tranches ", "Commande : "),
             "en": ("Sources and parameters", "Study: ", "Threshold ", "Bands ", "bands ", "Command: ")}[lang]
    title, study, threshold, bands, bands_after, cmd = words
    assert title in text and f"fsgeo {fsgeo.__version__}" in text
    assert study + STUDY in text
    if "threshold_min" in params:
        assert f"{threshold}{params['threshold_min']:g} min" in text
    elif "bands_min" in params:
        assert f"{bands}{', '.join(f'{b:g}' for b in params['bands_min'])} min" in text
    assert cmd + command in text


def _page_text(page: str) -> str:
    """The words of an HTML map: its legend is a JSON string (``\\u003c`` escapes) of escaped HTML."""
    return html.unescape(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page))


def _provenance(fmt: str, out, stdout: str) -> dict:
    """The provenance dict stored in ``out`` by a machine-readable format."""
    if fmt == "json":
        return json.loads(out.read_text(encoding="utf-8"))["provenance"]
    if fmt == "geojson":
        return json.loads(out.read_text(encoding="utf-8"))["fsgeo"]
    if fmt in ("csv", "fgb"):
        side = json.loads((out.parent / (out.name + ".json")).read_text(encoding="utf-8"))
        assert side["file"] == out.name
        return side["fsgeo"]
    if fmt == "gpkg":
        con = sqlite3.connect(out)
        try:
            return {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM fsgeo_metadata")}
        finally:
            con.close()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return json.loads(pq.read_schema(out).metadata[b"fsgeo"])
    if fmt == "png":
        from fsgeo.provenance import png_text

        return json.loads(png_text(out.read_bytes())["fsgeo"])
    raise AssertionError(f"no reader for {fmt}")


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_every_output_carries_its_provenance(case, tmp_path, study, capsys):
    command, fmt, args, params = case
    if fmt == "png":
        from fsgeo.maps import find_browser

        if find_browser() is None:
            pytest.skip("no Chromium browser for the PNG (apt-get install chromium)")
    out = tmp_path / f"out.{ENDING[fmt]}"
    if command == "calibrate":  # the report goes to standard output, the profile (and trips CSV) to files
        argv = [command, "--trips", _trips(tmp_path, study), "--out", str(tmp_path / "profile.json"),
                "--trips-out", str(tmp_path / "trips_out.csv"), *args, "--format", fmt]
    else:
        argv = [command, *args, "--out", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    stdout = capsys.readouterr().out
    typed = shlex.join(["fsgeo", *argv])

    if command == "calibrate":
        profile = json.loads((tmp_path / "profile.json").read_text(encoding="utf-8"))
        provs = [profile["_provenance"], _provenance("csv", tmp_path / "trips_out.csv", "")]
        if fmt == "json":
            provs.append(json.loads(stdout)["provenance"])
        else:
            _footer_checks(stdout, typed, params)
    elif fmt in ("table", "html"):
        text = out.read_text(encoding="utf-8")
        _footer_checks(_page_text(text) if fmt == "html" else text, typed, params)
        return
    else:
        provs = [_provenance(fmt, out, stdout)]
    for prov in provs:
        assert prov["fsgeo_version"] == fsgeo.__version__
        assert prov["study"]["name"] == STUDY and prov["study"]["codes"] == ["70"]
        # the study's sources with their dates, as its study.json gives them
        assert [(s["id"], s.get("date")) for s in prov["study"]["sources"]] == \
            [(s["id"], s.get("date")) for s in study.manifest.sources]
        assert {s["id"] for s in prov["study"]["sources"]} >= {"anct", "travelmapping"}
        assert prov["command"] == typed
        for key, value in params.items():
            assert prov["parameters"][key] == value, (key, prov["parameters"])
        assert prov["network"]["circuity"] > 1 and prov["network"]["max_snap_m"] > 0
        assert prov["network"]["road_class_speeds_kmh"]["motorway"] > 100


@pytest.mark.slow
def test_english_footer_on_request(tmp_path, capsys):
    out = tmp_path / "report.txt"
    argv = ["underserved", "--threshold", "25", "--lang", "en", "--out", str(out)]
    assert cli.main(argv) == 0
    text = out.read_text(encoding="utf-8")
    _footer_checks(text, shlex.join(["fsgeo", *argv]), T25, lang="en")
    assert "Sources et paramètres" not in text


def _formats(command: str) -> set[str]:
    parser = cli.build_parser([command])
    sub = next(a for a in parser._actions if getattr(a, "choices", None) and command in a.choices).choices[command]
    fmt = next((a for a in sub._actions if "--format" in a.option_strings), None)
    return set(fmt.choices) if fmt is not None else set()


def test_every_command_and_format_has_a_case():
    cases: dict[str, set[str]] = {}
    for command, fmt, _, _ in CASES:
        cases.setdefault(command, set()).add(fmt)
    commands = set(cli.COMMANDS) - set(EXEMPT)
    assert commands == set(cases), f"commands without a provenance case: {sorted(commands - set(cases))}"
    for command in commands:
        missing = _formats(command) - cases[command]
        assert not missing, f"fsgeo {command}: formats without a provenance case: {sorted(missing)}"
    # fsgeo map writes HTML, and PNG by its ending or --png
    assert cases["map"] == {"html", "png"}
