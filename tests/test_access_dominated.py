"""Communes whose drive time is mostly their access leg (issue 11): the flag in access_times, the list in the text
report (French by default, English with lang="en") with its explanation, and the flag in the CSV / JSON outputs."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from fsgeo import coverage, reports


def test_flag_follows_the_share(access_70):
    share = access_70["access_share"].to_numpy(dtype=float)
    assert (access_70["access_dominated"].to_numpy() == (share > coverage.ACCESS_DOMINATED)).all()
    assert access_70["access_dominated"].dtype == bool and 0 < access_70["access_dominated"].sum() < len(access_70)


def test_access_dominated_table():
    access = pd.DataFrame({"code": ["1", "2", "3", "4", "5"], "name": list("abcde"), "population": [10, 20, 30, 40, 50],
                           "minutes": [10.0, 4.0, 8.0, np.nan, 6.0], "access_share": [0.55, 0.5, 0.9, np.nan, 1.0],
                           "nearest_site_id": ["s"] * 5, "nearest_site_name": ["S"] * 5})
    got = coverage.access_dominated(access)
    # 0.5 itself is not "more than half"; NaN (unreachable) is not flagged; the longest leg first
    assert got["code"].tolist() == ["3", "5", "1"]
    np.testing.assert_allclose(got["access_min"], [7.2, 6.0, 5.5])
    assert list(got.columns[:6]) == ["code", "name", "population", "minutes", "access_min", "access_share"]
    assert coverage.access_dominated(access.drop(columns="access_share")).empty


@pytest.mark.parametrize("lang, title, why", [
    ("fr", "Temps dominés par l'approche (plus de {p} du trajet) :", "il dépend du point choisi"),
    ("en", "Times dominated by the access leg (over {p} of the trip):", "it depends on the point chosen"),
])
def test_report_names_them(access_70, lang, title, why):
    title = title.format(p=reports.percent(coverage.ACCESS_DOMINATED, 0, lang=lang))
    summ = coverage.summary(access_70)
    text = reports.coverage_report(access_70, summ, label="Haute-Saône (70)", lang=lang)
    flagged = coverage.access_dominated(access_70)
    line = next(l for l in text.splitlines() if l.startswith(title))
    n, pop = len(flagged), int(flagged["population"].sum())
    assert reports.number(n, lang=lang) in line and reports.number(pop, lang=lang) in line
    assert why in text
    worst = flagged.iloc[0]
    after = text.splitlines()[text.splitlines().index(line):]
    assert any(re.match(rf"\s+{worst['code']}\s+{re.escape(worst['name'])}\s", l) for l in after[:5])
    # no such commune: no paragraph
    quiet = access_70.assign(access_share=0.0, access_dominated=False)
    assert title not in reports.coverage_report(quiet, coverage.summary(quiet), label="x", lang=lang)


def test_csv_and_json_carry_the_flag(tmp_path, access_70):
    from fsgeo.cli import main

    out = tmp_path / "c.csv"
    assert main(["coverage", "--format", "csv", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {"access_share", "access_dominated"} <= set(rows[0])
    flagged = set(access_70.loc[access_70["access_dominated"], "code"])
    assert {r["code"] for r in rows if r["access_dominated"] == "True"} == flagged
    out = tmp_path / "c.json"
    assert main(["coverage", "--format", "json", "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {r["code"] for r in data["communes"] if r["access_dominated"]} == flagged
