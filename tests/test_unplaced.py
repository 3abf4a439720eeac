"""Issue 9 §3: a site (or candidate) that cannot be placed on the road network is never dropped silently.

Every command that routes sites reports each one on stderr (id, name, reason, distance) and in its JSON/GeoJSON
metadata (``unplaced_sites``); ``--strict`` makes it a one-line error before the routing. Candidates follow the same
rule. The logic is one library function, :func:`fsgeo.routing.unplaced_sites`.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point

from fsgeo import routing

SITES_CSV = """id,name,lat,lon,kind
s1,Vesoul test,47.62,6.15,principal
sea1,Site en mer,43.0,5.0,principal
s3,Gray test,47.44,5.59,principal
"""
CANDS_CSV = """id,name,lat,lon,kind
c1,Candidate one,47.75,5.95,principal
csea,Candidat en mer,43.1,5.1,principal
"""


@pytest.fixture(scope="module")
def network():
    from fsgeo import datasets

    return datasets.load_study().network


def test_unplaced_sites_library(network):
    sites = gpd.GeoDataFrame({"id": ["a", "sea", "b"], "name": ["A", "En mer", "B"]},
                             geometry=[Point(6.15, 47.62), Point(5.0, 43.0), Point(5.59, 47.44)], crs="EPSG:4326")
    un = routing.unplaced_sites(network, sites)
    assert list(un.columns) == ["id", "name", "status", "reason", "snap_distance_m"]
    assert un["id"].tolist() == ["sea"] and un["name"].tolist() == ["En mer"]
    assert un["status"].iloc[0] == "too_far" and "m away" in un["reason"].iloc[0]
    # independent check of the distance: Vesoul area to the Mediterranean is > 400 km
    assert un["snap_distance_m"].iloc[0] > 400_000
    assert len(routing.unplaced_sites(network, sites.iloc[[0, 2]])) == 0
    assert len(routing.unplaced_sites(network, sites.iloc[:0])) == 0
    msg = routing.unplaced_message(un)
    assert msg.startswith("1 site(s) cannot be placed") and "'sea' (En mer)" in msg


def _files(tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text(SITES_CSV, encoding="utf-8")
    cands = tmp_path / "cands.csv"
    cands.write_text(CANDS_CSV, encoding="utf-8")
    return sites, cands


def _run(capsys, *argv):
    from fsgeo.cli import main

    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _warned(err, ident="sea1", what="site"):
    line = [ln for ln in err.splitlines() if f"{what} '{ident}'" in ln]
    assert len(line) == 1, err
    assert "not used" in line[0] and "m away" in line[0]
    return line[0]


def _meta_ok(records, ident="sea1", name="Site en mer"):
    assert [r["id"] for r in records] == [ident]
    r = records[0]
    assert r["name"] == name and r["status"] == "too_far" and r["snap_distance_m"] > 400_000 and r["reason"]


@pytest.mark.parametrize("command,fmt,extra", [
    ("coverage", "json", []),
    ("coverage", "csv", []),
    ("underserved", "json", []),
    ("underserved", "geojson", []),
    ("catchments", "geojson", ["--bands", "10"]),
    ("timeline", "json", ["--bands", "20"]),
    ("accessibility", "json", ["--supply", "1"]),
])
def test_commands_report_unplaced_sites(tmp_path, capsys, command, fmt, extra):
    sites, _ = _files(tmp_path)
    out = tmp_path / f"out.{fmt}"
    code, stdout, err = _run(capsys, command, "--sites", sites, *extra, "--out", out)
    assert code == 0, err
    _warned(err)
    if fmt == "json":
        _meta_ok(json.loads(out.read_text(encoding="utf-8"))["unplaced_sites"])
    elif fmt == "geojson":
        _meta_ok(json.loads(out.read_text(encoding="utf-8"))["fsgeo"]["unplaced_sites"])
        assert len(gpd.read_file(out)) >= 0  # still a GeoJSON file GDAL reads


@pytest.mark.parametrize("command,extra", [
    ("coverage", ["--format", "csv"]),
    ("underserved", []),
    ("catchments", ["--bands", "10"]),
    ("timeline", []),
    ("accessibility", []),
    ("rank", ["--candidates", "{cands}"]),
    ("map", ["--out", "{tmp}/m.html"]),
])
def test_strict_is_a_one_line_error_before_the_work(tmp_path, capsys, monkeypatch, command, extra):
    sites, cands = _files(tmp_path)
    from fsgeo import coverage

    monkeypatch.setattr(coverage, "access_times", lambda *a, **k: pytest.fail("routed before --strict stopped it"))
    code, stdout, err = _run(capsys, command, "--sites", sites, "--strict",
                             *[e.format(cands=cands, tmp=tmp_path) for e in extra])
    assert code == 2
    assert err.count("\n") == 1 and "'sea1' (Site en mer)" in err and "(--strict)" in err, err
    assert not (tmp_path / "m.html").exists()


def test_rank_reports_sites_and_candidates_by_one_rule(tmp_path, capsys):
    sites, cands = _files(tmp_path)
    out = tmp_path / "r.json"
    code, _, err = _run(capsys, "rank", "--sites", sites, "--candidates", cands, "--k", "1", "--out", out)
    assert code == 0, err  # before: an unplaced candidate was an error while an unplaced site was accepted
    _warned(err)
    _warned(err, "csea", "candidate")
    data = json.loads(out.read_text(encoding="utf-8"))
    _meta_ok(data["unplaced_sites"])
    assert [r["id"] for r in data["unplaced"]] == ["csea"]
    code, _, err = _run(capsys, "rank", "--candidates", cands, "--strict", "--k", "1")
    assert code == 2 and "1 candidate(s) cannot be placed" in err and "'csea'" in err


def test_map_reports_unplaced_sites_and_candidates(tmp_path, capsys):
    sites, cands = _files(tmp_path)
    out = tmp_path / "m.html"
    code, _, err = _run(capsys, "map", "--sites", sites, "--candidates", cands, "--k", "1", "--no-catchments",
                        "--no-tiles", "--out", out)
    assert code == 0, err
    _warned(err)
    _warned(err, "csea", "candidate")
    assert out.exists()


def test_coverage_table_still_names_the_site(tmp_path, capsys):
    sites, _ = _files(tmp_path)
    code, stdout, err = _run(capsys, "coverage", "--sites", sites)
    assert code == 0
    _warned(err)
    assert "sea1" in stdout


# -- many sites off the network (the national study's overseas sites): one line, not one each ----------------------
def _sea_sites(n: int) -> str:
    rows = [f"sea{i},Site en mer {i},{43.0 + i * 0.01:.2f},5.0,principal" for i in range(n)]
    return "id,name,lat,lon,kind\ns1,Vesoul test,47.62,6.15,principal\n" + "\n".join(rows) + "\n"


def test_many_unplaced_sites_are_summarised_in_one_line(network, capsys):
    import argparse

    from fsgeo.cli.common import UNPLACED_LINES_MAX, report_unplaced

    args = argparse.Namespace(strict=False)
    n = UNPLACED_LINES_MAX + 15
    sites = gpd.GeoDataFrame({"id": ["a"] + [f"sea{i}" for i in range(n)],
                              "name": ["A"] + [f"En mer {i}" for i in range(n)]},
                             geometry=[Point(6.15, 47.62)] + [Point(5.0, 43.0 + 0.01 * i) for i in range(n)],
                             crs="EPSG:4326")
    records = report_unplaced(network, sites, args)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"fsgeo: warning: {n} sites not used, not placed on the road network ({n} too_far): ")
    assert "'sea0' (En mer 0), 'sea1' (En mer 1), 'sea2' (En mer 2) and 22 more" in err and "'sea3'" not in err
    assert err.rstrip().endswith('every one with its reason: --format json, "unplaced_sites"')
    # nothing lost: every one is still returned for the JSON output, with its reason
    assert [r["id"] for r in records] == [f"sea{i}" for i in range(n)] and all(r["reason"] for r in records)
    report_unplaced(network, sites.iloc[:11], args, what="candidate", listed_in="X")   # 10: one line each
    err = capsys.readouterr().err.splitlines()
    assert len(err) == UNPLACED_LINES_MAX and all("not used: outside the supplied network" in l for l in err)
    assert err[0].startswith("fsgeo: warning: candidate 'sea0' (En mer 0) not used:")


def test_rank_summarises_many_unplaced_sites_and_lists_them_in_json(tmp_path, capsys):
    _, cands = _files(tmp_path)
    sites = tmp_path / "many.csv"
    sites.write_text(_sea_sites(12), encoding="utf-8")
    out = tmp_path / "r.json"
    code, _, err = _run(capsys, "rank", "--sites", sites, "--candidates", cands, "--k", "1", "--out", out)
    assert code == 0, err
    summary = [l for l in err.splitlines() if "sites not used" in l]
    assert len(summary) == 1 and summary[0].startswith("fsgeo: warning: 12 sites not used")
    assert "and 9 more" in summary[0]
    assert not [l for l in err.splitlines() if l.startswith("fsgeo: warning: site '")]
    _warned(err, "csea", "candidate")        # one candidate: its own line, as before
    data = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(r["id"] for r in data["unplaced_sites"]) == sorted(f"sea{i}" for i in range(12))
