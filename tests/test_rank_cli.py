"""`fsgeo rank` through the installed console script, on the embedded Haute-Saône data."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from _cli import run_fsgeo


def fsgeo(*args, check=True):
    return run_fsgeo("rank", *args, check=check)


def test_all_communes_mclp_json():
    out = json.loads(fsgeo("--all-communes", "--min-population", 400, "--k", 2, "--model", "mclp",
                           "--threshold", 12, "--format", "json").stdout)
    assert {"model", "k", "threshold", "objective", "chosen", "candidates"} <= set(out)
    assert out["model"] == "mclp" and out["k"] == 2 and out["threshold"] == 12 and out["status"] == "optimal"
    assert 1 <= len(out["chosen"]) <= 2
    first = out["chosen"][0]
    assert {"id", "name", "commune_code", "lon", "lat", "kind", "gain_population", "rank", "parent_id",
            "parent_minutes"} <= set(first)
    # the optimum is what the baseline plus the marginal gains add up to, and greedy does not beat it
    assert out["objective"] == out["baseline"] + sum(c["gain_population"] for c in out["chosen"])
    assert out["greedy_objective"] <= out["objective"]
    # candidates: communes of >= 400 inhabitants hosting no site, ranked
    assert all(c["id"] == c["commune_code"] for c in out["candidates"])
    assert [c["rank"] for c in out["candidates"]] == list(range(1, len(out["candidates"]) + 1))
    ranked = [c["gain_population"] for c in out["candidates"]]
    assert ranked == sorted(ranked, reverse=True)


def test_candidates_file_csv_output_with_antenna(tmp_path):
    cands = tmp_path / "mayors.csv"
    cands.write_text("id,name,insee,lat,lon,kind,parent\nB,Rosey,70452,,,antenne,\n"
                     "C,Salle des fêtes,,47.62,6.15,antenna,2494\nP,Jussey,70292,,,,\n", encoding="utf-8")
    out = tmp_path / "out" / "rank.csv"
    out.parent.mkdir()  # a missing folder is an error before the work (issue 9 §2)
    proc = fsgeo("--candidates", cands, "--k", 2, "--threshold", 12, "--format", "csv", "--out", out)
    assert proc.stdout == ""
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    assert set(rows) == {"B", "C", "P"}
    # Rosey (18.1 min today) brings 1,252 inhabitants within 12 min, the hall in Vesoul 796
    assert rows["C"]["chosen_rank"] == "2" and rows["C"]["parent_id"] == "2494"
    assert rows["C"]["parent_source"] == "declared" and float(rows["C"]["parent_minutes"]) > 0
    assert rows["B"]["chosen_rank"] == "1" and rows["B"]["parent_source"] == "nearest"
    assert rows["P"]["chosen_rank"] == "" and rows["P"]["kind"] == "principal"
    assert rows["C"]["name"] == "Salle des fêtes" and rows["C"]["commune_code"] == "70550"


def test_out_file_ending_sets_the_format(tmp_path):
    """--out rank.json without --format writes JSON (not the text table), as the coverage commands do."""
    out = tmp_path / "rank.json"
    fsgeo("--all-communes", "--min-population", 1000, "--k", 1, "--threshold", 12, "--out", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["model"] == "greedy" and len(data["chosen"]) == 1
    proc = fsgeo("--all-communes", "--out", tmp_path / "rank.geojson", check=False)
    assert proc.returncode == 2 and "fsgeo rank writes table, json or csv" in proc.stderr
    assert not (tmp_path / "rank.geojson").exists()


def test_csv_keeps_the_declared_parent_of_candidates_not_chosen():
    import types

    import pandas as pd

    from fsgeo.cli.rank_cmd import _csv

    scores = pd.DataFrame({"id": ["A", "B"], "name": ["a", "b"], "commune_code": ["70001", "70002"],
                           "commune_name": ["", ""], "lon": [6.0, 6.1], "lat": [47.6, 47.7],
                           "kind": ["antenna", "antenna"], "parent_id": [None, "2494"], "rank": [1, 2],
                           "takeover_codes": [["70001"], []], "chosen_rank": [1.0, float("nan")]})
    chosen = pd.DataFrame({"id": ["A"], "parent_id": ["417"], "parent_name": ["P"], "parent_minutes": [9.5],
                           "parent_source": ["nearest"]})
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(_csv(types.SimpleNamespace(scores=scores,
                                                                                          chosen=chosen))))}
    assert rows["A"]["parent_id"] == "417" and rows["A"]["parent_source"] == "nearest"
    assert rows["B"]["parent_id"] == "2494" and rows["B"]["chosen_rank"] == ""


def test_table_output_lscp():
    text = fsgeo("--all-communes", "--min-population", 1000, "--model", "lscp", "--threshold", 15,
                 "--lang", "en").stdout
    assert "set covering (exact, HiGHS)" in text and "status optimal" in text
    assert "Chosen new sites" in text and "Candidates on their own" in text
    # communes no candidate of >= 1000 inhabitants can bring within 15 min are listed, not dropped
    assert "Communes the model could not help" in text and "no candidate within 15 min" in text
    # with their names, and people's headers (no code-style column names, no decimal inhabitants)
    assert re.search(r"\n  70\d{3} [A-ZÉ][^\n]*\d  no candidate within 15 min", text)  # e.g. "70452 Rosey  249  ..."
    for code_style in ("gain_population", "takeover_population", "resolved_communes"):
        assert code_style not in text
    assert not re.search(r"\d{3}\.0+\b", text)  # no "2768.0" inhabitants
    fr = fsgeo("--all-communes", "--min-population", 1000, "--model", "lscp", "--threshold", 15).stdout
    assert "recouvrement d'ensemble (exact, HiGHS)" in fr and "statut optimal" in fr
    assert "Nouveaux sites choisis" in fr and "aucun candidat à moins de 15 min" in fr


def test_nothing_chosen_says_why_and_when_candidates_matter():
    """Every commune already within 25 min: rank says so and computes the threshold at which the candidates start
    to matter; ranking again at the suggested threshold does choose a site."""
    text = fsgeo("--all-communes", "--min-population", 1000, "--threshold", 25, "--lang", "en").stdout
    assert "No new site chosen: every commune the candidates could bring closer is already within 25 min" in text
    assert "only 0" not in text
    suggested = re.search(r"try --threshold (\S+)\.", text).group(1)
    again = json.loads(fsgeo("--all-communes", "--min-population", 1000, "--threshold", suggested,
                             "--format", "json").stdout)
    assert len(again["chosen"]) >= 1 and again["chosen"][0]["gain_population"] > 0
    fr = fsgeo("--all-communes", "--min-population", 1000, "--threshold", 25).stdout
    assert "Aucun nouveau site choisi" in fr and f"essayez --threshold {suggested}" in fr


@pytest.mark.parametrize("args, message", [
    (["--candidates", "missing.csv"], "missing.csv: file not found"),
    (["--all-communes", "--candidates", "x.csv"], "not allowed with argument"),
    (["--candidates", "x.csv", "--min-population", "10"], "--min-population only applies with --all-communes"),
    (["--all-communes", "--k", "-1"], "must be >= 0"),
    (["--all-communes", "--model", "fastest"], "invalid choice"),
    (["--all-communes", "--as-of", "2022-13-01"], "invalid date"),
    (["--all-communes", "--threshold", "inf"], "minutes must be finite"),
    (["--all-communes", "--time-limit", "nan"], "seconds must be finite"),
])
def test_errors_are_one_line_exit_2(tmp_path, args, message):
    proc = run_fsgeo("rank", *args, check=False, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_candidate_row_is_named(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,insee\nA,70013\nB,99999\n", encoding="utf-8")
    proc = fsgeo("--candidates", bad, check=False)
    assert proc.returncode == 2 and "bad.csv: row 2 (id 'B'): unknown commune code '99999'" in proc.stderr
