"""``fsgeo coverage | underserved | catchments | timeline`` through the installed console script."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
from _cli import run_fsgeo


def run(*args, check=True):
    return run_fsgeo(*args, check=check)


@pytest.fixture(scope="module")
def library(access_70):
    """The same analysis through the library, to check the CLI reports it faithfully."""
    from fsgeo import coverage

    return access_70, coverage.summary(access_70)


def run_inprocess(*args) -> str:
    """Secondary variants run in-process (same parser and code path, without a new interpreter each time)."""
    import contextlib

    from fsgeo.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(list(args)) == 0
    return buf.getvalue()


def _n(v):
    return f"{int(v):,}"


def _fr(v, digits=0):
    """French number formatting, written independently of fsgeo.reports: narrow no-break space, decimal comma."""
    return f"{v:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def test_coverage_report_default_is_french(library):
    access, summ = library
    out = run("coverage").stdout
    assert out.startswith("Couverture France Services — Haute-Saône (70)")
    assert f"536 communes, {_fr(summ.population)} habitants (population municipale INSEE)" in out
    b20 = summ.bands.set_index("band_min").loc[20.0]
    assert re.search(f"{_fr(b20['population'])} +{_fr(100 * b20['population_share'], 1)}\u202f%", out)
    assert "Engagement national (30 min pour chaque habitant) : TENU" in out
    assert f"moyenne {_fr(summ.mean_min, 1)} min, médiane {_fr(summ.median_min, 1)}" in out
    under = access[access["status"] == "underserved"]
    for name in under["name"]:
        assert name in out
    assert f"les plus proches pour {_fr(summ.neighbour_population)} habitants" in out
    # the report ends by pointing to the siting step when some commune is under-served
    assert ("fsgeo rank --all-communes" in out) == bool(len(under))
    # no English left in the French report's sentences, and no code-style header
    for english in ("inhabitants", "National commitment", "Under-served", "nearest site", "communes beyond"):
        assert english not in out
    assert "Traceback" not in out


def test_coverage_report_english_one_flag_away(library):
    access, summ = library
    out = run("coverage", "--lang", "en").stdout
    assert out.startswith("France Services coverage — Haute-Saône (70)")
    assert f"536 communes, {_n(summ.population)} inhabitants" in out
    b20 = summ.bands.set_index("band_min").loc[20.0]
    assert re.search(rf"{_n(b20['population'])} +{100 * b20['population_share']:.1f}%", out)
    assert "National commitment (30 min for every inhabitant): MET" in out
    assert f"mean {summ.mean_min:.1f} min, median {summ.median_min:.1f}" in out
    under = access[access["status"] == "underserved"].sort_values("minutes", ascending=False)
    for name in under["name"]:
        assert name in out
    assert f"nearest for {_n(summ.neighbour_population)} inhabitants" in out
    assert "Traceback" not in out


def test_coverage_json_records_and_summary(library):
    access, summ = library
    data = json.loads(run("coverage", "--format", "json", "--threshold", "15").stdout)
    recs = data["communes"]
    assert len(recs) == 536
    assert set(recs[0]) == {"code", "name", "population", "nearest_site_id", "nearest_site_name", "minutes", "status",
                            "access_share", "access_dominated"}
    assert all(isinstance(r["code"], str) and len(r["code"]) == 5 for r in recs)
    s = data["summary"]
    assert s["threshold_min"] == 15
    statuses = pd.Series([r["status"] for r in recs]).value_counts()
    assert {x["status"]: x["communes"] for x in s["status"]} == {k: int(statuses.get(k, 0)) for k in ("covered", "underserved", "unreachable")}
    assert sum(x["communes"] for x in s["status"]) == 536
    under = sum(r["status"] == "underserved" for r in recs)
    assert under == sum(r["minutes"] is not None and r["minutes"] > 15 for r in recs)
    assert [b["band_min"] for b in s["bands"]] == [10, 15, 20, 30, 45]
    assert s["sites"]["counted"] == 81 and s["commitment_met"] is True  # 26 of 70, 52 of neighbours, 3 of 68


def test_coverage_csv_to_file_as_of_own_departement(tmp_path):
    out = tmp_path / "sub" / "coverage.csv"
    out.parent.mkdir()  # a missing folder is an error before the work (issue 9 §2, tests/test_export.py)
    res = run("coverage", "--format", "csv", "--out", str(out), "--as-of", "2021-01-01", "--own-departement-only")
    assert res.stdout == ""
    df = pd.read_csv(out, dtype={"code": str, "nearest_site_id": str, "nearest_site_departement": str})
    assert len(df) == 536 and df["code"].str.len().eq(5).all()
    assert set(df["nearest_site_departement"].dropna()) == {"70"}
    assert set(df["status"]) <= {"covered", "underserved", "unreachable"}
    # 9 sites in 2021 leave many communes beyond 20 min
    assert (df["status"] == "underserved").sum() > 100


def test_report_counts_only_the_sites_routed():
    """A site that could not be placed on the road network is selected but not counted: the report and the JSON
    say so instead of counting it."""
    import numpy as np

    from fsgeo import coverage
    from fsgeo.cli.coverage_cmd import _summary_json
    from fsgeo.reports import coverage_report

    communes = pd.DataFrame({"code": ["70001", "70002"], "name": ["A", "B"], "departement": "70",
                             "population": [100, 50]})
    sites = pd.DataFrame({"id": ["s1", "s2"], "name": ["One", "Lost"], "departement": "70"})
    minutes = pd.DataFrame({"s1": [5.0, 25.0], "s2": [np.nan, np.nan]}, index=["70001", "70002"])
    access = coverage.access_from_matrix(communes, sites, minutes)
    access.attrs["fsgeo"].update(n_sites_own=2, n_sites_neighbour=0,
                                 site_issues=[{"id": "s2", "reason": "missing, empty or non-finite coordinates"}])
    summ = coverage.summary(access)
    text = coverage_report(access, summ, None, label="test", lang="en")
    assert "Sites      1 counted of 2 selected (antennas included): 2 in the département" in text
    assert "site s2 not counted: missing, empty or non-finite coordinates" in text
    counts = _summary_json(summ, access)["sites"]
    assert (counts["selected"], counts["counted"]) == (2, 1) and counts["not_routed"][0]["id"] == "s2"
    text = coverage_report(access, summ, None, label="test", lang="fr")
    assert "Sites      1 comptés sur 2 retenus (antennes comprises) : 2 dans le département" in text
    assert "site s2 non compté : missing, empty or non-finite coordinates" in text
    # one commune under-served, one covered: singular words, never "1 communes"
    assert "1 communes" not in text and "1 habitants" not in text


@pytest.mark.parametrize(
    "args, words",
    [
        (["coverage", "--no-such-option"], "unrecognized arguments"),
        (["coverage", "--as-of", "2022-13-45"], "invalid date"),
        (["coverage", "--sites", "/nonexistent/sites.geojson"], "/nonexistent/sites.geojson"),
        (["coverage", "--threshold", "-5"], "minutes must be > 0"),
        (["coverage", "--threshold", "inf"], "minutes must be finite"),
        (["coverage", "--threshold", "nan"], "minutes must be finite"),
        (["coverage", "--bands", "nan,10"], "invalid minutes list"),
        (["timeline", "--bands", "20,inf"], "invalid minutes list"),
        (["coverage", "--top", "-1"], "--top must be >= 0"),
        (["coverage", "--format", "xml"], "invalid choice"),
        (["underserved", "--as-of", "31/02/2022"], "invalid date"),
        (["coverage", "--network", "/nonexistent/net.gpkg"], "/nonexistent/net.gpkg"),
        (["underserved", "--out", "{tmp}/out.gpkg"], "fsgeo underserved writes table, json, csv or geojson"),
        (["timeline", "--out", "{tmp}/out.geojson"], "fsgeo timeline writes table, json or csv"),
        (["catchments", "--out", "{tmp}/out.json"], "fsgeo catchments writes table, csv, geojson, gpkg, parquet or fgb"),
        (["timeline", "--as-of", "1999-01-01"], "no site selected"),
        (["catchments", "--as-of", "1999-01-01", "--format", "geojson"], "no site selected"),
        (["catchments", "--bands", "10,abc"], "invalid minutes list"),
        (["timeline", "--communes", "/nonexistent/c.geojson"], "/nonexistent/c.geojson"),
    ],
)
def test_bad_input_one_line_exit_2(args, words, tmp_path):
    res = run(*[a.format(tmp=tmp_path) for a in args], check=False)
    assert not any(tmp_path.iterdir())  # nothing written
    assert res.returncode == 2
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert words in err


def test_underserved_geojson_communes_and_zones(tmp_path):
    communes_out = tmp_path / "underserved.geojson"
    run("underserved", "--threshold", "15", "--as-of", "2021-01-01", "--out", str(communes_out))
    fc = json.loads(communes_out.read_text())
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) > 50
    props = [f["properties"] for f in fc["features"]]
    assert all(p["minutes"] > 15 for p in props)
    assert [p["rank"] for p in props] == list(range(1, len(props) + 1))
    assert all(p["zone_id"] is not None for p in props)
    zones_out = tmp_path / "zones.geojson"
    run_inprocess("underserved", "--threshold", "15", "--as-of", "2021-01-01", "--zones", "--out", str(zones_out))
    zones = json.loads(zones_out.read_text())["features"]
    assert sum(z["properties"]["n_communes"] for z in zones) == len(props)
    assert sum(z["properties"]["population"] for z in zones) == sum(p["population"] for p in props)
    assert zones[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    table = run_inprocess("underserved", "--threshold", "15", "--as-of", "2021-01-01", "--lang", "en")
    assert "Zones of adjacent under-served communes" in table and props[0]["name"] in table


def test_catchments_geojson_and_table(tmp_path):
    out = tmp_path / "catchments.geojson"
    args = ["catchments", "--bands", "10,20", "--own-departement-only", "--as-of", "2020-01-01"]
    run(*args, "--out", str(out))
    feats = json.loads(out.read_text())["features"]
    assert len(feats) == 6 * 2  # six sites of the département labelled on 2020-01-01, two bands
    by_site = {}
    for f in feats:
        by_site.setdefault(f["properties"]["site_id"], {})[f["properties"]["band_min"]] = f["properties"]["population"]
    assert all(v[20.0] >= v[10.0] > 0 for v in by_site.values())
    table = run_inprocess(*args, "--lang", "en")
    assert "Drive-time catchments" in table and "10 min" in table and "20 min" in table
    areas = pd.read_csv(io.StringIO(run_inprocess("catchments", "--service-areas", "--format", "csv")), dtype={"site_id": str})
    assert areas["population"].sum() > 200_000 and areas["n_communes"].sum() == 536


def test_timeline_csv_and_table():
    df = pd.read_csv(io.StringIO(run("timeline", "--format", "csv").stdout))
    assert len(df) >= 9 and df["date"].is_monotonic_increasing
    assert df["sites_open"].is_monotonic_increasing
    assert (df["share_within_30"].diff().dropna() >= -1e-12).all()
    assert df["share_within_20"].iloc[-1] > df["share_within_20"].iloc[0]
    table = run_inprocess("timeline", "--lang", "en")
    assert "How the France Services network got finer" in table and df["date"].iloc[0] in table
    table = run_inprocess("timeline")
    assert "Comment le réseau France Services s'est densifié" in table and "≤ 20 min" in table


def test_coverage_outputs_carry_their_provenance():
    """The JSON says which fsgeo, study, sources (with their dates), network profile and parameters made it; the
    report ends with the same as a footer."""
    from fsgeo import __version__, datasets

    manifest = datasets.load_study().manifest
    data = json.loads(run_inprocess("coverage", "--format", "json", "--threshold", "15"))
    prov = data["provenance"]
    assert prov["fsgeo_version"] == __version__ and prov["study"]["name"] == manifest.name
    assert [s.get("date") for s in prov["study"]["sources"]] == [s.get("date") for s in manifest.sources]
    assert prov["parameters"]["threshold_min"] == 15 and prov["parameters"]["bands_min"][0] == 10
    assert prov["network"]["circuity"] > 1 and prov["network"]["metric_crs"] == "EPSG:2154"
    assert "OpenStreetMap" in prov["credits"] and "ANCT" in prov["credits"]
    text = run_inprocess("coverage", "--threshold", "15")
    assert "Sources et paramètres" in text and "(2024-08-01)" in text and "Seuil 15 min" in text


@pytest.mark.slow
def test_catchments_cli_worker_processes_equal_in_process():
    """--processes 2 over two chunks (--chunk-size 3, six sites) writes the rows of the in-process run."""
    args = ["catchments", "--bands", "10", "--own-departement-only", "--as-of", "2020-01-01", "--chunk-size", "3",
            "--format", "csv"]
    two = run_inprocess(*args, "--processes", "2")
    one = run_inprocess(*args, "--processes", "1")
    assert two == one and len(pd.read_csv(io.StringIO(one))) == 6
