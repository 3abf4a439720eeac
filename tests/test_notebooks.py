"""The three notebooks run for real: executed with nbclient in notebooks/, no cell fails, the key results are there.

Also checks the committed notebooks: they carry their outputs (every code cell has some, unless tagged ``silent``),
no error, no path of the machine that ran them, no timing metadata, and their printed figures are those a fresh run
gives (outputs up to date with the code and data).

The kernel is the Python running the tests (a temporary kernel spec pointing at ``sys.executable``), so no
``ipykernel install`` is needed on a fresh machine.

Re-execute the committed notebooks in place after a change in the code or data::

    python tests/test_notebooks.py
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import pytest

# imported when a test of this module runs, not at collection (several seconds: the fast lane deselects these tests)
_MISSING = [m for m in ("nbformat", "nbclient", "ipykernel") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=f"{', '.join(_MISSING)} not installed (pip install -e '.[dev]')")
nbformat = nbclient = None


def _load_notebook_libraries():
    global nbformat, nbclient
    import nbclient
    import nbformat


@pytest.fixture(autouse=True, scope="module")
def _notebook_libraries():
    _load_notebook_libraries()

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ("01_coverage.ipynb", "02_underserved.ipynb", "03_candidates.ipynb")
KERNEL = "fsgeo-current-python"
MAX_BYTES = 3_000_000
# what a notebook run on one machine must not leak into committed outputs
MACHINE_PATHS = re.compile(r"/(?:work|root|home|tmp|Users)/|\b[A-Z]:\\[A-Za-z]")
# stderr that may legitimately appear on a fresh machine
BENIGN_STDERR = re.compile(r"Matplotlib is building the font cache|^\s*$")


@contextlib.contextmanager
def current_python_kernel():
    """A kernel spec running ``sys.executable -m ipykernel_launcher``, visible through JUPYTER_PATH."""
    with tempfile.TemporaryDirectory(prefix="fsgeo-kernel-") as tmp:
        spec = Path(tmp, "kernels", KERNEL)
        spec.mkdir(parents=True)
        spec.joinpath("kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (fsgeo tests)",
            "language": "python",
            # inline figures even where the environment sets another backend
            "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
        }))
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = tmp + (os.pathsep + old if old else "")
        try:
            yield KERNEL
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old


def execute(nb, kernel_name: str):
    """Run ``nb`` in place in notebooks/ (a cell error raises ``CellExecutionError``); no timing metadata."""
    client = nbclient.NotebookClient(nb, kernel_name=kernel_name, timeout=600, allow_errors=False,
                                     record_timing=False, resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    # the committed notebooks name the usual kernel, not the temporary one
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def outputs_of_type(nb, output_type):
    return [o for c in code_cells(nb) for o in c.outputs if o.output_type == output_type]


def stream_text(nb, name="stdout") -> list[str]:
    return ["".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == name)
            for c in code_cells(nb)]


def rich(nb, mime: str) -> list[str]:
    return [o.data[mime] for c in code_cells(nb) for o in c.outputs
            if o.output_type in ("execute_result", "display_data") and mime in o.get("data", {})]


def all_text(nb) -> str:
    return "\n".join(stream_text(nb) + rich(nb, "text/plain") + rich(nb, "text/html"))


# ----------------------------------------------------------------------------------------------------------- runs
@pytest.fixture(scope="module")
def executed():
    """Every notebook executed once from a copy of the committed file; durations in seconds."""
    out, durations = {}, {}
    with current_python_kernel() as kernel:
        for name in NAMES:
            nb = nbformat.read(NOTEBOOKS / name, as_version=4)
            for c in code_cells(nb):
                c.outputs, c.execution_count = [], None
            t0 = time.perf_counter()
            execute(nb, kernel)
            durations[name] = time.perf_counter() - t0
            out[name] = nb
    print("\nnotebook execution: " + ", ".join(f"{n} {d:.1f} s" for n, d in durations.items())
          + f", total {sum(durations.values()):.1f} s")
    return out


@pytest.mark.parametrize("name", NAMES)
def test_runs_without_error_and_cleanly(executed, name):
    nb = executed[name]
    assert not outputs_of_type(nb, "error")
    stderr = [line for text in stream_text(nb, "stderr") for line in text.splitlines()
              if not BENIGN_STDERR.search(line)]
    assert not stderr, f"{name} wrote to stderr (warnings?): {stderr[:5]}"
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1))
    for c in code_cells(nb):
        if "silent" in c.metadata.get("tags", []):
            assert not c.outputs, f"{name}: a cell tagged silent printed something:\n{c.source[:200]}"
        else:
            assert c.outputs, f"{name}: no output from:\n{c.source[:200]}"
    assert len(rich(nb, "image/png")) >= 1, f"{name}: no matplotlib figure"


def _check_map(nb, name):
    maps_html = [h for h in rich(nb, "text/html") if "fsgeo-map-frame" in h]
    assert len(maps_html) == 1, f"{name}: expected one inline map"
    srcdoc = re.search(r'srcdoc="([^"]*)"', maps_html[0]).group(1)
    assert "L.map(" in srcdoc and "Leaflet 1.9" in srcdoc
    # offline: nothing loaded from a CDN, no base tiles
    assert not re.search(r"&lt;script[^&]*src=", srcdoc) and "tile.openstreetmap" not in srcdoc
    return srcdoc


def test_coverage_notebook(executed):
    from fsgeo import coverage, datasets

    nb = executed["01_coverage.ipynb"]
    text = all_text(nb)
    for heading in ("% inhabitants", "% communes", "within (min)", "nearest_site_name", "communes &gt; 20 min"):
        assert heading in text
    # the headline sentence is the library's summary of the embedded data
    study = datasets.load_study()
    s = coverage.summary(coverage.access_times(study.communes, study.sites, study.network, threshold_min=20))
    printed = "\n".join(stream_text(nb))
    assert f"30-minute commitment {'holds' if s.commitment_met else 'does NOT hold'}" in printed
    assert f"mean {s.mean_min:.1f} min, median {s.median_min:.1f} min, 90th percentile {s.p90_min:.1f} min" in printed
    # the timeline covers every labelling date of the département's sites
    sites = datasets.load_sites()
    for date in set(sites.loc[sites["in_departement"], "labelled_on"]):
        assert f"<td>{date}</td>" in text
    srcdoc = _check_map(nb, "01")
    assert srcdoc.count("fsgeo-site-principal") >= 1 and "fsgeo-commune" in srcdoc
    assert len(rich(nb, "image/png")) == 2  # timeline chart and static map


def test_underserved_notebook(executed):
    nb = executed["02_underserved.ipynb"]
    printed = "\n".join(stream_text(nb))
    for minutes in (30, 20, 15):
        assert re.search(rf"Beyond {minutes} min: \d+ communes, [\d,]+ inhabitants", printed)
    assert re.search(r"[\d,]+ inhabitants \([\d.]+ %\) of \d+ communes have their nearest site in a neighbouring",
                     printed)
    html = "\n".join(rich(nb, "text/html"))
    for column in ("priority", "excess_min", "zone_id", "communes_served", "own département only"):
        assert column in html


def test_candidates_notebook(executed):
    nb = executed["03_candidates.ipynb"]
    html = "\n".join(rich(nb, "text/html"))
    # the proposals file was read: every proposal id is listed, with its commune
    ids = re.findall(r"^(P\d+),", (NOTEBOOKS / "proposed_antennas.csv").read_text(encoding="utf-8"), flags=re.M)
    assert len(ids) >= 5 and all(f"<td>{i}</td>" in html for i in ids)
    for column in ("gain_population", "greedy", "optimum", "gap", "pmedian", "mclp", "parent_name"):
        assert column in html
    assert "optimal" in html
    srcdoc = _check_map(nb, "03")
    assert "fsgeo-chosen" in srcdoc and "fsgeo-candidate" in srcdoc


# ------------------------------------------------------------------------------------------------ committed files
@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_carries_clean_outputs(name):
    path = NOTEBOOKS / name
    assert path.stat().st_size < MAX_BYTES, f"{name} is {path.stat().st_size / 1e6:.1f} MB"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert not outputs_of_type(nb, "error")
    for c in code_cells(nb):
        assert c.execution_count is not None, f"{name}: cell never executed:\n{c.source[:200]}"
        assert "execution" not in c.metadata, f"{name}: timing metadata left in"
        if "silent" not in c.metadata.get("tags", []):
            assert c.outputs, f"{name}: committed without the output of:\n{c.source[:200]}"
    leaked = MACHINE_PATHS.findall(all_text(nb))
    assert not leaked, f"{name}: machine paths in outputs: {leaked[:3]}"


@pytest.mark.parametrize("name", NAMES)
def test_committed_outputs_are_up_to_date(executed, name):
    """The printed figures (plain f-strings, independent of pandas' display) match a fresh run."""
    committed = stream_text(nbformat.read(NOTEBOOKS / name, as_version=4))
    fresh = stream_text(executed[name])
    assert committed == fresh, (f"{name}: committed outputs are stale; re-execute the notebooks with "
                                "`python tests/test_notebooks.py`")


def main() -> None:
    """Re-execute the committed notebooks in place, with their outputs."""
    _load_notebook_libraries()
    with current_python_kernel() as kernel:
        for name in NAMES:
            path = NOTEBOOKS / name
            nb = nbformat.read(path, as_version=4)
            t0 = time.perf_counter()
            execute(nb, kernel)  # a cell error raises before the file is written
            nbformat.write(nb, path)
            print(f"{name}: executed in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
