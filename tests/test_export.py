"""Issue 9 §2, §5, §6: fsgeo.export (writers by file ending, atomic writes, spreadsheet-safe CSV) and every CLI output
going through it: the ending decides the format, a format fsgeo cannot write or a path it cannot write fails in one
line *before* the computation, a failed write leaves the previous file intact, CSV cells are never formulas."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from fsgeo import export
from fsgeo.errors import OutputError
from tests._cli import run_fsgeo

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+2", "\r=1+2"]


# --------------------------------------------------------------------------------------------------------------------
# spreadsheet-safe cells (§6)


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_cells_get_a_quote(text):
    assert export.safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-4.5", "+33", "-1e3", "Vesoul", "a=b", "", None, -4.5, 3, float("nan")])
def test_harmless_cells_unchanged(value):
    out = export.safe_cell(value)
    assert out is value or (out == value)


def _csv_rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_csv_text_neutralises_text_keeps_numbers():
    df = pd.DataFrame({"name": FORMULAS + ["plain"], "delta": [-1.5, -2, 3, -4, 0, 1, -7],
                       "code": ["-12", "70550", "+3", "x", "y", "z", "w"]})
    rows = _csv_rows(export.csv_text(df))
    assert rows[0] == ["name", "delta", "code"]
    names = [r[0] for r in rows[1:]]
    assert names[:5] == ["'" + t for t in FORMULAS[:5]] and names[6] == "plain"
    assert names[5] == "'\n=1+2"  # quoted first, then the bare CR written as a line break (a quoted cell)
    assert [float(r[1]) for r in rows[1:]] == [-1.5, -2, 3, -4, 0, 1, -7]  # numbers stay numbers
    assert [r[2] for r in rows[1:]][:3] == ["-12", "70550", "+3"]  # plain numbers in text: harmless, unchanged
    # independent check: no cell a spreadsheet would evaluate
    for r in rows:
        for cell in r:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell.replace(",", "."))


def test_hostile_column_names_neutralised_too():
    rows = _csv_rows(export.csv_text(pd.DataFrame({"=cmd()": [1]})))
    assert rows[0] == ["'=cmd()"]


# --------------------------------------------------------------------------------------------------------------------
# formats by ending (§5)


@pytest.mark.parametrize("name,fmt", [("a.csv", "csv"), ("a.JSON", "json"), ("a.geojson", "geojson"),
                                      ("a.html", "html"), ("a.txt", "text"), ("a.out", None), ("noending", None)])
def test_format_of(name, fmt):
    assert export.format_of(name) == fmt


@pytest.mark.parametrize("name", ["a.shp", "a.kml", "a.xlsx"])
def test_unwritable_endings_are_errors(name):
    with pytest.raises(OutputError, match=r"cannot write"):
        export.format_of(name)


@pytest.mark.parametrize("name,fmt", [("a.gpkg", "gpkg"), ("a.parquet", "parquet"), ("a.fgb", "fgb")])
def test_gis_endings_have_writers(name, fmt):
    assert export.format_of(name) == fmt and fmt in export.WRITERS


def test_check_output(tmp_path):
    assert export.check_output(tmp_path / "x.csv", allowed=("table", "csv")) == "csv"
    assert export.check_output(tmp_path / "x.txt", allowed=("table", "csv")) == "text"
    assert export.check_output(tmp_path / "x", "json") == "json"
    with pytest.raises(OutputError, match="ending says csv but the format asked for is json"):
        export.check_output(tmp_path / "x.csv", "json")
    with pytest.raises(OutputError, match="writes csv, text, not geojson"):
        export.check_output(tmp_path / "x.geojson", allowed=("table", "csv"))
    with pytest.raises(OutputError, match="does not exist"):
        export.check_output(tmp_path / "missing" / "x.csv")
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        export.check_output(tmp_path / "f" / "x.csv")


def test_writers_round_trip(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["=1+1", "b"], "v": [1.0, np.nan]}, geometry=[Point(6, 47), Point(6.1, 47.1)],
                           crs="EPSG:2154").to_crs("EPSG:4326")
    p = export.write(gdf, tmp_path / "a.geojson", metadata={"unplaced_sites": []})
    back = json.loads(p.read_text(encoding="utf-8"))
    assert back["type"] == "FeatureCollection" and back["fsgeo"] == {"unplaced_sites": []}
    assert back["features"][1]["properties"]["v"] is None
    assert gpd.read_file(p).crs.to_epsg() == 4326
    p = export.write({"x": float("inf"), "n": np.int64(3)}, tmp_path / "a.json")
    assert json.loads(p.read_text()) == {"x": None, "n": 3}
    p = export.write(gdf, tmp_path / "a.csv")
    assert _csv_rows(p.read_text())[1][0] == "'=1+1"
    with pytest.raises(OutputError, match="no format given"):
        export.write("x", tmp_path / "a.out")


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "good.json"
    export.write({"a": 1}, target)
    before = target.read_bytes()

    class Boom(OSError):
        pass

    real_fsync = os.fsync

    def fail(fd):
        raise Boom(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OutputError, match=str(target).replace("/", ".") + ".*No space left"):
        export.write({"a": 2, "big": list(range(1000))}, target)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["good.json"]


# --------------------------------------------------------------------------------------------------------------------
# the CLI


def _fsgeo_cmd():
    return [shutil.which("fsgeo")] if shutil.which("fsgeo") else [sys.executable, "-m", "fsgeo"]


@pytest.mark.parametrize("args", [
    ["catchments", "--out", "{tmp}/x.kmz"],
    ["catchments", "--out", "{tmp}/x.shp"],
    ["catchments", "--out", "{tmp}/x.kml"],
    ["underserved", "--out", "{tmp}/u.gpkg"],
    ["coverage", "--out", "{tmp}/c.xlsx"],
    ["rank", "--candidates", "notebooks/proposed_antennas.csv", "--out", "{tmp}/r.xlsx"],
    ["coverage", "--format", "json", "--out", "{tmp}/x.csv"],
    ["underserved", "--format", "csv", "--out", "{tmp}/x.geojson"],
    ["timeline", "--out", "{tmp}/missing/t.csv"],
    ["accessibility", "--out", "{tmp}/afile/a.csv"],
    ["datasets", "--format", "json", "--out", "{tmp}/d.csv"],
])
def test_cli_bad_out_fails_in_one_line_before_the_work(tmp_path, args):
    from fsgeo.cli import main

    (tmp_path / "afile").write_text("x")
    argv = [a.format(tmp=tmp_path) for a in args]
    t0 = time.perf_counter()
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stderr", stderr)
        # the analyses must not even start
        import fsgeo.datasets as datasets

        mp.setattr(datasets, "load_network", lambda *a, **k: pytest.fail("loaded the network before checking --out"))
        code = main(argv)
    assert code == 2
    msg = stderr.getvalue()
    assert msg.count("\n") == 1 and msg.startswith("fsgeo: error: --out "), msg
    assert time.perf_counter() - t0 < 30
    assert not [p for p in tmp_path.iterdir() if p.name != "afile"]  # nothing written


def test_cli_unwritable_folder(tmp_path, monkeypatch, capsys):
    from fsgeo.cli import main

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permissions: the check still asks the system, here made to say no
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **k: False if str(p) == str(ro) else real(p, mode, **k))
    assert main(["coverage", "--out", str(ro / "c.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not writable" in err and str(ro) in err


@pytest.mark.parametrize("args,out", [
    (["coverage", "--format", "json"], "good.json"),
    (["catchments", "--bands", "10"], "c.geojson"),
])
def test_cli_failed_write_keeps_the_previous_output(tmp_path, args, out):
    """``ulimit -f`` makes the write fail half-way: exit 2, the error names the file, the old file is intact."""
    target = tmp_path / out
    run_fsgeo(*args, "--out", target)
    before = target.read_bytes()
    assert len(before) > 20_000

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))

    proc = subprocess.run([*_fsgeo_cmd(), *args, "--threshold", "25", "--out", str(target)] if args[0] == "coverage"
                          else [*_fsgeo_cmd(), *args, "--out", str(target)],
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert proc.returncode == 2, proc.stderr
    assert str(target) in proc.stderr and "Traceback" not in proc.stderr
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [out]


SITES_CSV = """id,name,lat,lon,kind
f1,"=HYPERLINK(""http://evil.example"",""x"")",47.62,6.15,principal
f2,+cmd|' /C calc'!A0,47.75,5.95,principal
f3,-2+3,47.48,6.3,principal
f4,@SUM(1+1),47.8,6.5,principal
"""


def _assert_no_formula(text):
    for row in _csv_rows(text):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # only plain numbers may start like a formula


def test_cli_csv_outputs_are_spreadsheet_safe(tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text(SITES_CSV, encoding="utf-8")
    proc = run_fsgeo("coverage", "--sites", sites, "--format", "csv")
    _assert_no_formula(proc.stdout)
    assert "'=HYPERLINK(" in proc.stdout and "'-2+3" in proc.stdout
    out = tmp_path / "u.csv"
    run_fsgeo("underserved", "--sites", sites, "--out", out)
    _assert_no_formula(out.read_text(encoding="utf-8"))
    cands = tmp_path / "cands.csv"
    cands.write_text(SITES_CSV.replace("f", "k"), encoding="utf-8")
    proc = run_fsgeo("rank", "--candidates", cands, "--k", "1", "--format", "csv")
    _assert_no_formula(proc.stdout)
    assert "'@SUM(1+1)" in proc.stdout


def test_streamed_catchments_csv_is_spreadsheet_safe(tmp_path):
    """fsgeo catchments --merge site --out x.csv streams chunks (fsgeo.distributed.write_catchments): same rule."""
    sites = tmp_path / "sites.csv"
    sites.write_text(SITES_CSV.replace("47.8,6.5", "47.62,6.2"), encoding="utf-8")
    out = tmp_path / "c.csv"
    run_fsgeo("catchments", "--sites", sites, "--bands", "10", "--merge", "site", "--out", out)
    text = out.read_text(encoding="utf-8")
    _assert_no_formula(text)
    assert "'=HYPERLINK(" in text and "'@SUM(1+1)" in text
    assert len(_csv_rows(text)) == 1 + 4  # header once, one row per site and band


def test_png_is_the_map_commands_format_and_other_commands_say_so(tmp_path):
    assert export.format_of(tmp_path / "carte.png") == "png" and ".png" not in export.UNSUPPORTED_ENDINGS
    assert export.check_output(tmp_path / "carte.png", allowed=("html", "png")) == "png"
    with pytest.raises(OutputError, match=r"writes csv, text, not png; for a PNG of the map: fsgeo map .*--png"):
        export.check_output(tmp_path / "x.png", allowed=("table", "csv"))


def test_a_new_format_is_one_registered_writer(tmp_path, monkeypatch):
    """One table: registering a writer gives its ending a format, check_output and write use it, with metadata."""
    monkeypatch.setattr(export, "WRITERS", dict(export.WRITERS))
    monkeypatch.setattr(export, "ENDINGS", dict(export.ENDINGS))
    monkeypatch.setattr(export, "UNSUPPORTED_ENDINGS", {k: v for k, v in export.UNSUPPORTED_ENDINGS.items()
                                                        if k != ".tsv"})

    def write_tsv(data, path, metadata=None):
        from fsgeo.atomic import write_text

        out = write_text(path, pd.DataFrame(data).to_csv(sep="\t", index=False))
        if metadata:
            export.write_sidecar(path, metadata)
        return out

    export.register("tsv", write_tsv, (".tsv",))
    path = tmp_path / "a.tsv"
    assert export.check_output(path) == "tsv"
    export.write({"a": [1, 2]}, path, metadata={"fsgeo_version": "x"})
    assert path.read_text() == "a\n1\n2\n"
    assert json.loads(export.sidecar_path(path).read_text())["fsgeo"] == {"fsgeo_version": "x"}
    # the GIS formats are in the same table, registered from fsgeo.export_gis
    from fsgeo import export_gis

    assert {f: export.WRITERS[f] for f in export_gis.FORMATS} == {f: w for f, (w, _) in export_gis.FORMATS.items()}
    assert not hasattr(export_gis, "WRITERS") and not hasattr(export_gis, "ENDINGS")
