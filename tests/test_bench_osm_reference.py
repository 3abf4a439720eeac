"""bench/osm_reference.py runs end to end on the raw sources (the Riviera OSM extract against the Travel Mapping
network of 06 built by fsgeo's own build): a benchmark that stops running is caught here, not in a closing note.
Skips without ``../shared``."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (RAW / "osm").is_dir(), reason=f"raw sources absent ({RAW}): no OSM extract")]


def test_osm_reference_compares_the_two_networks(capsys):
    spec = importlib.util.spec_from_file_location("osm_reference", ROOT / "bench" / "osm_reference.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules["osm_reference"] = bench
    spec.loader.exec_module(bench)
    osm, tm = bench.build_pair_networks(RAW)
    o, d = bench.od_pairs(osm, 30)
    res = bench.compare(osm, tm, o, d)
    ratio = res["tm_min"] / res["osm_min"]
    assert len(ratio) == 30 and np.isfinite(ratio).all()
    assert 0.3 < np.median(ratio) < 3  # the same area by two networks: the same order of time
    assert res["fit"].report().startswith("calibration on 30 trips")
