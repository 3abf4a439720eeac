"""Notebook 04_france runs for real on the national study (built from ../shared once, then reused from the cache:
``$FSGEO_FRANCE_STUDY`` or ``<cache_dir>/france-study``); skipped with its reason without the raw sources."""

import os
from pathlib import Path

import pytest

from fsgeo.settings import settings

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04_france.ipynb"

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the national study cannot be built")
def test_notebook_04_france_executes(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    from test_notebooks import current_python_kernel

    from fsgeo.build_data import france

    study = Path(os.environ.get("FSGEO_FRANCE_STUDY", settings.cache_dir / "france-study"))
    if not (study / "study.json").exists():
        france.build(RAW, study, log=lambda line: None)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    old = os.environ.get("FSGEO_FRANCE_STUDY")
    os.environ["FSGEO_FRANCE_STUDY"] = str(study)
    try:
        with current_python_kernel() as kernel:
            nbclient.NotebookClient(nb, timeout=1200, kernel_name=kernel,
                                    resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        if old is None:
            os.environ.pop("FSGEO_FRANCE_STUDY", None)
        else:
            os.environ["FSGEO_FRANCE_STUDY"] = old
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    html = "\n".join(str(o.get("data", {}).get("text/plain", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert "34,875 communes" in text and "2,845 structures" in text
    assert "Engagement de l'État (30 min)" in text
    assert "métropole" in text and "2024-08-01" in html and "2022-10-26" in html
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
