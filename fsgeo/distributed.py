"""Batch work on a Dask cluster (optional extra ``fsgeo[dask]``): catchments of many sites, per-département
reports and scenario sweeps, with the road network sent to every worker once.

The work is cut into the same chunks as in-process runs (:class:`fsgeo.catchments.CatchmentJob`), so results are
identical whether they run here, on a :class:`distributed.LocalCluster` (``workers=N``) or on a remote scheduler
(``scheduler="tcp://host:8786"``). Without Dask, :func:`executor` gives an in-process stand-in with the same
interface: the same chunking runs in this process, one chunk at a time.

Results come back chunk by chunk and in order (:func:`iter_catchments`), so a caller can stream them to a file
(:func:`write_catchments`: GeoJSON features or CSV rows appended as chunks arrive, the file renamed into place at
the end) without holding every polygon of France in memory.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from pathlib import Path

import pandas as pd

from fsgeo import atomic

__all__ = ["executor", "iter_catchments", "write_catchments", "sweep", "InProcess"]


class InProcess:
    """Stand-in for a Dask client when Dask is absent or not wanted: ``scatter`` keeps the object, ``submit`` runs
    the function at once; the same code paths as with a cluster."""

    is_dask = False

    def scatter(self, data, broadcast=False, hash=True):  # noqa: ARG002 - distributed.Client.scatter signature
        return data

    def submit(self, fn, *args, pure=None, **kwargs):  # noqa: ARG002
        return _Done(fn(*args, **kwargs))

    def close(self):
        pass


class _Done:
    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value


@contextlib.contextmanager
def executor(scheduler=None, workers=None, processes=True, threads_per_worker=1, memory_limit="auto"):
    """A Dask client for the duration of a ``with`` block, or :class:`InProcess` when neither is given.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).
    workers : int, optional
        Start a :class:`distributed.LocalCluster` with this many workers (closed at the end of the block).
    processes : bool
        Workers as processes (default; the polygon work holds the GIL in parts) or threads.
    threads_per_worker : int
    memory_limit : str or int
        Per-worker memory limit of the local cluster (Dask's syntax, e.g. ``"3GB"``).

    Raises
    ------
    ImportError
        When a scheduler or workers are asked for and ``dask.distributed`` is not installed (``pip install
        "fsgeo[dask]"``).
    """
    if scheduler is None and not workers:
        yield InProcess()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('Dask is not installed: pip install "fsgeo[dask]" (dask.distributed) to use '
                          '--scheduler / --workers') from exc
    if scheduler is not None:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=int(workers), threads_per_worker=int(threads_per_worker), processes=processes,
                           memory_limit=memory_limit, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


class _Box:
    """One object scattered as one (Dask scatters the items of a list or dict separately)."""

    def __init__(self, value):
        self.value = value


def _scatter(client, obj):
    return client.scatter(_Box(obj), broadcast=True, hash=False)


def _chunk_task(job, pos, network, seg, n_jobs):
    return job.value.chunk(pos, n_jobs=n_jobs, network=network.value, seg=seg.value)


def iter_catchments(job, client=None, chunk_size=None, n_jobs=1, max_in_flight=None, progress=False):
    """Catchment rows of every chunk of ``job`` (a :class:`fsgeo.catchments.CatchmentJob`), in site order.

    The networks (one per landmass) and their road segments are scattered to every worker once (``broadcast=True``); each task carries
    only its sites' positions. At most ``max_in_flight`` chunks are pending at a time (default: twice the number of
    workers), so results do not pile up in memory while the caller writes them.
    """
    import copy

    client = client or InProcess()
    light = copy.copy(job)
    light.networks, light._segs = None, None  # the heavy parts travel once, by broadcast
    network = _scatter(client, job.networks)  # one network per landmass (a list, even of one)
    seg = _scatter(client, job.segs)
    light = _scatter(client, light)
    n_workers = max(1, len(client.scheduler_info().get("workers", {}))) if getattr(client, "is_dask", True) else 1
    limit = max_in_flight or 2 * n_workers
    chunks = job.chunks(chunk_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(job.sites), desc="catchments", unit="site")
    pending: deque = deque()
    for pos in chunks:
        pending.append((len(pos), client.submit(_chunk_task, light, pos, network, seg, n_jobs, pure=False)))
        while len(pending) >= limit:
            size, fut = pending.popleft()
            yield fut.result()
            if bar is not None:
                bar.update(size)
    while pending:
        size, fut = pending.popleft()
        yield fut.result()
        if bar is not None:
            bar.update(size)
    if bar is not None:
        bar.close()


def write_catchments(chunks, path, fmt=None, metadata: dict | None = None) -> dict:
    """Stream catchment chunks to ``path`` (GeoJSON FeatureCollection or CSV without geometry), atomically.

    Parameters
    ----------
    chunks : iterable of geopandas.GeoDataFrame
        From :func:`iter_catchments` or :func:`fsgeo.catchments.iter_catchments` (EPSG:4326).
    path : str or Path
        Output file; the format follows its ending (``.geojson``/``.json`` or ``.csv``) unless ``fmt`` is given.
    metadata : dict, optional
        The provenance (:func:`fsgeo.provenance.provenance`): the GeoJSON's top-level ``fsgeo`` member, or the CSV's
        sidecar ``<file>.json``.

    Returns
    -------
    dict
        ``rows`` written and ``path``.
    """
    path = Path(path)
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "geojson")
    if fmt not in ("csv", "geojson"):
        raise ValueError(f"write_catchments writes csv or geojson, got {fmt!r}")
    atomic.check_writable(path)
    rows = 0
    with atomic.atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        if fmt == "geojson":
            fh.write('{"type": "FeatureCollection", "crs": {"type": "name", "properties": '
                     '{"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, ')
            if metadata:
                from fsgeo.provenance import json_text

                fh.write('"fsgeo": ' + json_text(metadata) + ", ")
            fh.write('"features": [\n')
        first = True
        for chunk in chunks:
            if fmt == "csv":
                from fsgeo.export import csv_text  # spreadsheet-safe cells (issue 9 §6)

                text = csv_text(pd.DataFrame(chunk.drop(columns="geometry")), float_format="%.2f")
                fh.write(text if first else text.split("\n", 1)[1])
            else:
                features = json.loads(chunk.to_json(drop_id=True, na="null"))["features"]
                for feat in features:
                    fh.write(("" if first else ",\n") + json.dumps(feat, ensure_ascii=False))
                    first = False
            first = False
            rows += len(chunk)
        if fmt == "geojson":
            fh.write("\n]}\n")
    if metadata and fmt == "csv":
        from fsgeo.provenance import write_sidecar

        write_sidecar(path, metadata)
    return {"rows": rows, "path": str(path)}


def _sweep_task(fn, network, kwargs):
    return fn(network=network.value, **kwargs)


def sweep(fn, network, scenarios, client=None):
    """Run ``fn(network=network, **scenario)`` for every scenario (dates, thresholds, site sets...), the network
    broadcast once; results in the order of ``scenarios``.

    ``fn`` must be importable by the workers (a module-level function such as
    :func:`fsgeo.national.national_coverage` or :func:`fsgeo.national.departement_summary`).
    """
    client = client or InProcess()
    net = _scatter(client, network)
    futures = [client.submit(_sweep_task, fn, net, dict(s), pure=False) for s in scenarios]
    return [f.result() for f in futures]
