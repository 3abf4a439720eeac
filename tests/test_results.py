"""fsgeo.results: every analysis as one result type (.table, .meta, .summary(), .to_records()), JSON-ready."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fsgeo import coverage
from fsgeo.results import Result, as_result


def _access():
    communes = pd.DataFrame({"code": ["70001", "70002", "70003"], "name": ["A", "B", "C"], "departement": "70",
                             "population": [100, 50, 7]})
    sites = pd.DataFrame({"id": ["s1"], "name": ["One"], "departement": "70"})
    minutes = pd.DataFrame({"s1": [5.0, 25.0, np.nan]}, index=["70001", "70002", "70003"])
    return coverage.access_from_matrix(communes, sites, minutes)


def test_coverage_result_is_json_ready_and_faithful():
    access = _access()
    res = as_result(access)
    assert res.kind == "coverage" and res.table is access and res.meta["threshold_min"] == 20
    recs = res.to_records()
    assert [r["code"] for r in recs] == ["70001", "70002", "70003"]
    assert recs[2]["minutes"] is None and recs[2]["status"] == "unreachable"  # NaN -> None, not "NaN"
    summ = res.summary()
    assert summ["population"] == 157 and summ["n_communes"] == 3
    text = json.dumps(res.to_dict(), allow_nan=False)  # no NaN sneaks in
    assert json.loads(text)["records"][1]["minutes"] == 25.0
    assert as_result(res) is res


def test_fca_result_serialises():
    from fsgeo.accessibility import two_step_fca

    communes = pd.DataFrame({"code": ["a", "b"], "name": ["A", "B"], "departement": "70", "population": [1000, 3000]})
    sites = pd.DataFrame({"id": ["s"], "name": ["S"], "departement": "70", "weekly_open_hours": [40.0]})
    minutes = pd.DataFrame({"s": [10.0, 50.0]}, index=["a", "b"])
    res = two_step_fca(communes, sites, minutes=minutes, threshold_min=30)
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["kind"] == "accessibility" and len(d["records"]) == 2 and len(d["sites"]) == 1
    # 40 h shared by the 1000 inhabitants within reach: 40 h per 1,000 inhabitants, independent arithmetic
    assert d["records"][0]["accessibility"] == pytest.approx(40.0) and d["records"][1]["accessibility"] == 0
    assert res.table is res.communes and res.meta["threshold_min"] == 30
    assert res.summary()["population"] == 4000
    communes_again, sites_again = res  # still unpacks as before
    assert communes_again is res.communes


def test_any_frame_becomes_a_table_result():
    res = as_result(pd.DataFrame({"x": [1.0, float("inf")]}))
    assert isinstance(res, Result) and res.kind == "table" and res.to_records() == [{"x": 1.0}, {"x": None}]
