"""Dask runs (fsgeo.distributed) equal in-process ones: catchments chunked on a LocalCluster of 2 worker processes,
a scenario sweep, and the streamed writers (which need no Dask)."""

import json

import geopandas as gpd
import pandas as pd
import pytest

from fsgeo import catchments, distributed, national
from fsgeo.datasets import load_communes, load_network, load_sites


@pytest.fixture(scope="module")
def study():
    return load_communes(), load_sites(), load_network()


def _same(a, b):
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert all(x.equals_exact(y, 0) for x, y in zip(a.geometry, b.geometry))


def test_in_process_executor_and_streamed_files(study, tmp_path):
    communes, sites, net = study
    pick = sites.iloc[:6]
    ref = catchments.catchments(net, pick, bands=(10, 20), communes=communes)
    job = catchments.CatchmentJob(net, pick, (10, 20), communes)
    with distributed.executor() as client:
        assert isinstance(client, distributed.InProcess)
        parts = list(distributed.iter_catchments(job, client, chunk_size=4))
    assert [len(p) for p in parts] == [8, 4]
    _same(pd.concat(parts, ignore_index=True), ref)
    info = distributed.write_catchments(iter(parts), tmp_path / "c.geojson")
    back = gpd.read_file(tmp_path / "c.geojson")
    assert info["rows"] == len(back) == len(ref) and back.crs.to_epsg() == 4326
    assert (back["site_id"].astype(str).to_numpy() == ref["site_id"].to_numpy()).all()
    assert back.to_crs(2154).area.sum() == pytest.approx(ref.to_crs(2154).area.sum(), rel=1e-6)
    distributed.write_catchments(iter(parts), tmp_path / "c.csv")
    csv = pd.read_csv(tmp_path / "c.csv", dtype={"site_id": str})
    assert list(csv["population"]) == list(ref["population"]) and "geometry" not in csv.columns
    json.loads((tmp_path / "c.geojson").read_text())


def test_executor_without_dask_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith("distributed") or name.startswith("dask"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(ImportError, match=r"fsgeo\[dask\]"):
        with distributed.executor(workers=2):
            pass


@pytest.mark.slow
def test_local_cluster_of_two_processes_equals_in_process(study):
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'fsgeo[dask]')")
    communes, sites, net = study
    pick = sites.iloc[:10]
    ref = catchments.catchments(net, pick, bands=(10, 20), communes=communes, chunk_size=3)
    job = catchments.CatchmentJob(net, pick, (10, 20), communes)
    scenarios = [dict(communes=communes, sites=sites, as_of=d) for d in ("2020-01-01", "2023-12-31")]
    with distributed.executor(workers=2, processes=True) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        parts = list(distributed.iter_catchments(job, client, chunk_size=3))
        swept = distributed.sweep(national.national_coverage, net, scenarios, client)
    assert [len(p) for p in parts] == [6, 6, 6, 2]
    _same(pd.concat(parts, ignore_index=True), ref)
    for got, s in zip(swept, scenarios):
        here = national.national_coverage(network=net, **s)
        assert got.departements.equals(here.departements)
        assert got.summary.mean_min == here.summary.mean_min
