"""The command line's own behaviour: --version, a --help that imports no analysis module, lazy ``import fsgeo``."""

from __future__ import annotations

import subprocess
import sys

from _cli import run_fsgeo

import fsgeo

_HEAVY = ("pandas", "geopandas", "numpy", "scipy", "folium", "fsgeo.coverage", "fsgeo.siting.models")


def _modules_after(code: str) -> set:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout.split()
    return set(out)


def test_version():
    proc = run_fsgeo("--version")
    assert proc.stdout.strip() == f"fsgeo {fsgeo.__version__}"


def test_help_lists_every_command_without_importing_the_analysis():
    proc = run_fsgeo("--help")
    for name in ("datasets", "coverage", "underserved", "catchments", "timeline", "rank", "map", "accessibility"):
        assert f"    {name}" in proc.stdout
    loaded = _modules_after("import contextlib, io\nfrom fsgeo.cli import main\n"
                            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert not loaded & set(_HEAVY), loaded & set(_HEAVY)


def test_a_command_help_loads_only_its_module():
    loaded = _modules_after("from fsgeo.cli import main\ntry:\n    main(['datasets', '--help'])\n"
                            "except SystemExit:\n    pass")
    assert "fsgeo.cli.datasets_cmd" in loaded and "fsgeo.cli.rank_cmd" not in loaded


def test_rank_model_choices_come_from_the_registry():
    from fsgeo.siting.registry import model_specs

    text = run_fsgeo("rank", "--help").stdout
    specs = model_specs()
    assert list(specs) == ["greedy", "mclp", "lscp", "pmedian", "pcenter"]
    flat = " ".join(text.split())
    for spec in specs.values():
        assert f"{spec.name}: {spec.title}" in flat
    proc = run_fsgeo("rank", "--all-communes", "--model", "nope", check=False)
    assert proc.returncode == 2 and "invalid choice: 'nope'" in proc.stderr


def test_import_fsgeo_is_lazy_and_exposes_the_public_modules():
    loaded = _modules_after("import fsgeo")
    assert not loaded & set(_HEAVY)
    loaded = _modules_after("import fsgeo\nfsgeo.coverage.access_times")
    assert "fsgeo.coverage" in loaded
    for name in fsgeo.MODULES:
        assert getattr(fsgeo, name).__name__ == f"fsgeo.{name}"
    assert set(fsgeo.MODULES) <= set(dir(fsgeo))


def test_map_png_without_a_browser_is_one_clear_line_before_any_work(tmp_path):
    import os

    env = dict(os.environ, FSGEO_CHROMIUM=str(tmp_path / "no-such-browser"))
    proc = subprocess.run([sys.executable, "-m", "fsgeo", "map", "--out", str(tmp_path / "m.html"), "--png",
                           str(tmp_path / "m.png")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "--png needs a Chromium browser" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "m.html").exists()
