"""fsgeo.errors, fsgeo.atomic and fsgeo.study: the low modules every layer shares."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fsgeo import atomic, io
from fsgeo.errors import InputError, OutputError
from fsgeo.settings import settings
from fsgeo.study import MANIFEST_NAME, StudyManifest, find_study


def test_input_error_is_the_io_one():
    assert io.InputError is InputError
    assert str(InputError.at("f.csv", "bad", row=3, ident="x")) == "f.csv: row 3 (id 'x'): bad"


def test_atomic_write_replaces(tmp_path):
    target = tmp_path / "out.json"
    atomic.write_text(target, "old")
    atomic.write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


def test_atomic_failure_keeps_previous(tmp_path):
    target = tmp_path / "good.json"
    atomic.write_text(target, '{"ok": true}')
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("{half")
            raise RuntimeError("boom")
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["good.json"]


def test_atomic_file_size_limit_keeps_previous(tmp_path):
    # a write that fails part-way (ulimit -f) leaves the previous file whole
    target = tmp_path / "good.json"
    atomic.write_text(target, '{"ok": true}')
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "from fsgeo import atomic\n"
        f"atomic.write_text({str(target)!r}, 'x' * 100000)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "good.json" in proc.stderr and "could not be written" in proc.stderr
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["good.json"]


@pytest.mark.parametrize("case", ["missing_parent", "parent_is_file", "is_folder"])
def test_check_writable(tmp_path, case):
    if case == "missing_parent":
        target = tmp_path / "nope" / "x.json"
    elif case == "parent_is_file":
        (tmp_path / "f").write_text("")
        target = tmp_path / "f" / "x.json"
    else:
        target = tmp_path
    with pytest.raises(OutputError, match=str(target).replace("\\", "\\\\")):
        atomic.check_writable(target)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_check_writable_readonly(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            atomic.check_writable(ro / "x.json")
    finally:
        ro.chmod(0o700)


def test_embedded_manifest_reads():
    m = StudyManifest.read(settings.data_dir)
    assert m.codes == ["70"] and m.name == "Haute-Saône"
    for key in ("sites", "communes", "outline", "network", "neighbour_communes"):
        assert m.path(key).exists(), key
    # written form is stable: reading then writing gives the same bytes
    assert m.to_json() == (settings.data_dir / MANIFEST_NAME).read_text(encoding="utf-8")


def test_manifest_errors_name_file_and_key(tmp_path):
    with pytest.raises(InputError, match="no study manifest"):
        StudyManifest.read(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text('{"name": "x", "codes": ["70"]}')
    with pytest.raises(InputError, match=r"study.json: missing key 'files'"):
        StudyManifest.read(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(
        {"name": "x", "codes": ["70"], "files": {"sites": "s.geojson", "communes": "c.geojson",
                                                  "outline": "o.geojson"}}))
    with pytest.raises(InputError, match=r"files.sites = 's.geojson'.*does not exist"):
        StudyManifest.read(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(InputError, match="not a valid JSON"):
        StudyManifest.read(tmp_path)


def test_find_study(monkeypatch, tmp_path):
    monkeypatch.delenv("FSGEO_STUDY", raising=False)
    assert find_study() == settings.data_dir
    monkeypatch.setenv("FSGEO_STUDY", str(tmp_path))
    assert find_study() == tmp_path
    assert find_study("x") == type(tmp_path)("x")
