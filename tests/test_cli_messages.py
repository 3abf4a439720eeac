"""Issue 9 §7: small things users hit — Ctrl-C, library warnings, numpy reprs in messages, options that were silently
ignored or misreported."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from fsgeo.errors import shown


def _main(capsys, *argv):
    from fsgeo.cli import main

    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_ctrl_c_is_one_line_exit_130():
    code = ("import sys, fsgeo.cli; print('ready', flush=True); "
            "sys.exit(fsgeo.cli.main(['catchments', '--bands', '10,20,30,45,60']))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(2.0)  # inside main, loading data or computing the catchments
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == "fsgeo: interrupted\n"


def test_library_warnings_do_not_leak(tmp_path, capsys):
    """A GeoJSON property that is not JSON (geopandas UserWarning) and a malformed point (GDAL RuntimeWarning):
    before, two lines of library source each; now nothing for the first and the one-line error for the second."""
    mixed = tmp_path / "mixed.geojson"
    mixed.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a", "name": "A", "comment": 1},
         "geometry": {"type": "Point", "coordinates": [6.15, 47.62]}},
        {"type": "Feature", "properties": {"id": "b", "name": "B", "comment": "t"},
         "geometry": {"type": "Point", "coordinates": [6.2, 47.6]}}]}), encoding="utf-8")
    code, out, err = _main(capsys, "datasets", "--sites", mixed)
    assert code == 0 and err == "", err
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"1","name":"x"},'
                   '"geometry":{"type":"Point","coordinates":[6.1]}}]}', encoding="utf-8")
    code, out, err = _main(capsys, "datasets", "--sites", bad)
    assert code == 2 and err.count("\n") == 1 and "row 1" in err and "Warning" not in err, err


def test_other_warnings_are_one_line(capsys, monkeypatch):
    import warnings

    import fsgeo.cli as cli

    def noisy(args):
        warnings.warn("something odd\n  over two lines", UserWarning)
        return 0

    original = cli.build_parser

    def build(argv=None):
        parser = original(argv)
        sub = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
        sub.choices["datasets"].set_defaults(func=noisy)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)
    assert cli.main(["datasets"]) == 0
    assert capsys.readouterr().err == "fsgeo: warning: something odd over two lines\n"


def test_no_numpy_repr_in_messages(tmp_path, capsys):
    sites = tmp_path / "sites.csv"
    sites.write_text("id,name,lat,lon\na,A,47.62,6.15\nb,B,47.44,5.59\n", encoding="utf-8")
    code, out, err = _main(capsys, "accessibility", "--sites", sites)
    assert code == 2 and "weekly_open_hours" in err
    assert "np." not in err and "site 'a' (A): empty" in err


def test_shown():
    assert shown(np.float64("nan")) == "empty" and shown(None) == "empty" and shown(pd.NA) == "empty"
    assert shown(np.float64(1.5)) == "1.5" and shown(np.int64(3)) == "3" and shown("x") == "'x'"


def test_objective_with_an_exact_model_is_an_error(capsys):
    code, out, err = _main(capsys, "rank", "--all-communes", "--model", "mclp", "--objective", "pmedian")
    assert code == 2 and "--objective only applies with --model greedy" in err


@pytest.mark.parametrize("argv,words", [
    (["catchments", "--bands", "-5,10"], "negative band -5"),
    (["coverage", "--bands", "10,-20"], "negative band -20"),
    (["map", "--out", "x.html", "--catchment-bands", "-1"], "negative band -1"),
    (["coverage", "--threshold", "-5"], "must be > 0, got -5"),
])
def test_negative_values_say_so(capsys, argv, words):
    from fsgeo.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "expected one argument" not in err and err.count("\n") == 1
