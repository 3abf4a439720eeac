"""fsgeo.reports: one number formatter, the message catalogue, French by default."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from fsgeo import reports
from fsgeo.reports import NNBSP, MESSAGES, Text, number, percent


@pytest.mark.parametrize("value, digits, lang, expected", [
    (233185, 0, "fr", f"233{NNBSP}185"),
    (233185, 0, "en", "233,185"),
    (9.14, 1, "fr", "9,1"),
    (9.14, 1, "en", "9.1"),
    (-0.04, 1, "fr", "0,0"),      # never "-0,0"
    (-0.04, 1, "en", "0.0"),
    (-1234.56, 1, "fr", f"-1{NNBSP}234,6"),
    (1234567.891, 2, "fr", f"1{NNBSP}234{NNBSP}567,89"),
    (float("nan"), 1, "fr", "n.d."),
    (None, 0, "en", "n/a"),
    (float("inf"), 0, "en", "n/a"),
])
def test_number(value, digits, lang, expected):
    assert number(value, digits, lang) == expected


def test_number_matches_python_rounding_on_many_values():
    """Independent check: strip the French separators and compare with Python's own rounding."""
    rng = np.random.default_rng(1)
    for v in rng.normal(0, 1e5, 300):
        for d in (0, 1, 2):
            fr, en = number(v, d, "fr"), number(v, d, "en")
            assert float(fr.replace(NNBSP, "").replace(",", ".")) == pytest.approx(round(v, d), abs=1e-9)
            assert float(en.replace(",", "")) == pytest.approx(round(v, d), abs=1e-9)
            assert not fr.startswith("-0") or fr.startswith("-0,") and float(fr.replace(",", ".")) != 0


def test_percent():
    assert percent(0.565, lang="fr") == f"56,5{NNBSP}%"
    assert percent(0.565, lang="en") == "56.5%"
    assert percent(float("nan"), lang="fr") == "n.d."


def test_plurals_follow_the_language():
    fr, en = Text("fr"), Text("en")
    assert fr.count(0, "commune") == "0 commune" and fr.count(1, "commune") == "1 commune"
    assert fr.count(2, "commune") == "2 communes"
    assert en.count(0, "commune") == "0 communes" and en.count(1, "commune") == "1 commune"
    assert fr.count(1, "new_site") == "1 nouveau site" and fr.count(3, "new_site") == "3 nouveaux sites"
    assert fr.count(233185, "inhabitant") == f"233{NNBSP}185 habitants"


def test_catalogue_has_both_languages_with_the_same_fields():
    for key, forms in MESSAGES.items():
        assert set(forms) == {"fr", "en"}, key
        fields = [set(re.findall(r"{(\w+)}", forms[lang])) for lang in ("fr", "en")]
        assert fields[0] == fields[1], key
        assert forms["fr"].count("|") == forms["en"].count("|"), key


def test_default_language_is_french_and_env_overrides(monkeypatch):
    monkeypatch.delenv("FSGEO_LANG", raising=False)
    assert reports.default_lang() == "fr"
    monkeypatch.setenv("FSGEO_LANG", "en_GB.UTF-8")
    assert reports.default_lang() == "en"
    with pytest.raises(ValueError, match="unknown language"):
        reports.check_lang("de")


def _small_access():
    from fsgeo import coverage

    communes = pd.DataFrame({"code": ["70001", "70002", "70003"], "name": ["Aa", "Bé", "Cé"], "departement": "70",
                             "population": [1000, 1, 50]})
    sites = pd.DataFrame({"id": ["s1"], "name": ["France services de Aa"], "departement": "70"})
    minutes = pd.DataFrame({"s1": [5.0, 25.0, 45.0]}, index=["70001", "70002", "70003"])
    access = coverage.access_from_matrix(communes, sites, minutes)
    access.attrs["fsgeo"].update(n_sites_own=1, n_sites_neighbour=0)
    return access, coverage.summary(access)


def test_coverage_report_french_and_english_say_the_same_numbers():
    access, summ = _small_access()
    fr = reports.coverage_report(access, summ, label="Test (70)", lang="fr")
    en = reports.coverage_report(access, summ, label="Test (70)", lang="en")
    assert fr.startswith("Couverture France Services — Test (70)") and en.startswith("France Services coverage")
    assert f"3 communes, 1{NNBSP}051 habitants" in fr and "3 communes, 1,051 inhabitants" in en
    # 50 inhabitants of one commune beyond 30 min: singular commune, plural inhabitants
    assert "NON TENU - 50 habitants dans 1 commune au-delà de 30 min" in fr
    assert "NOT MET - 50 inhabitants in 1 commune beyond 30 min" in en
    assert "1 communes" not in fr + en
    assert "fsgeo rank" in fr and "fsgeo rank" in en  # two under-served communes: the next step is named


def test_provenance_footer_in_both_languages():
    prov = {"fsgeo_version": "9.9", "generated": "2026-01-01", "command": "fsgeo coverage",
            "study": {"name": "Haute-Saône", "sources": [{"title": "ANCT France Services", "date": "2024-08-01"}]},
            "parameters": {"threshold_min": 20.0, "bands_min": [10.0, 20.0, 7.5]}}
    access, summ = _small_access()
    fr = reports.coverage_report(access, summ, lang="fr", provenance=prov)
    assert "Sources et paramètres" in fr and "ANCT France Services (2024-08-01)" in fr
    assert "Seuil 20 min, tranches 10, 20, 7,5 min" in fr and "Commande : fsgeo coverage" in fr
    en = reports.coverage_report(access, summ, lang="en", provenance=prov)
    assert "Threshold 20 min, bands 10, 20, 7.5 min" in en


def test_candidates_matter_below_on_a_hand_made_instance():
    """Existing times 12, 19.5, 8; the best candidate times 10, 18.7, 9: candidates help communes 0 and 1, so they
    matter for thresholds in [10, 12) or [18.7, 19.5): below 19.5 min, and 19 is the largest whole minute that
    works. Brute force over thresholds agrees."""
    from fsgeo.siting import make_instance
    from fsgeo.siting.api import candidates_matter_below

    codes = ["a", "b", "c"]
    inst = make_instance(pd.Series([1.0, 1.0, 1.0], index=codes), pd.Series([12.0, 19.5, 8.0], index=codes),
                         pd.DataFrame({"x": [10.0, 30.0, 9.0], "y": [40.0, 18.7, 20.0]}, index=codes), 20.0)
    hint = candidates_matter_below(inst)
    assert hint["threshold"] == 19.5 and hint["code"] == "b" and hint["candidate_minutes"] == 18.7
    assert hint["suggested_threshold"] == 19.0
    best = inst.minutes.min(axis=1)
    for t in np.arange(5, 30, 0.05):
        matters = bool(((best <= t) & (t < inst.existing)).any())
        assert matters == (t < 19.5 and (10 <= t < 12 or t >= 18.7)), t
    narrow = make_instance(pd.Series([1.0], index=["a"]), pd.Series([19.5], index=["a"]),
                           pd.DataFrame({"x": [19.2]}, index=["a"]), 20.0)
    assert candidates_matter_below(narrow)["suggested_threshold"] == 19.4  # no whole minute in [19.2, 19.5)
    never = make_instance(pd.Series([1.0], index=["a"]), pd.Series([5.0], index=["a"]),
                          pd.DataFrame({"x": [6.0]}, index=["a"]), 20.0)
    assert candidates_matter_below(never) is None


def test_table_columns_render_like_the_plain_table():
    """reports.render (one Column per column: header key, value, alignment, width, formatter) lays out exactly what
    reports.table lays out from cells formatted by hand, whatever the rows are (named tuples, dicts, pandas rows)."""
    import pandas as pd

    df = pd.DataFrame({"code": ["70550", "70001"], "name": ["Vesoul", "A very long commune name indeed, cut"],
                       "population": [15212, 87], "minutes": [3.04, 27.96], "site": ["France services de Gray", "X"]})
    cols = [reports.CODE, reports.COMMUNE.but(width=12), reports.INHAB, reports.MINUTES,
            reports.Column("h_site", "site", width=10, fmt="site"),
            reports.Column("double", lambda r: r["population"] * 2 if isinstance(r, (dict, pd.Series))
                           else r.population * 2, "r", fmt=lambda v, T: f"<{v}>")]
    for lang in ("fr", "en"):
        T = reports.Text(lang)
        by_hand = reports.table(
            [T("h_code"), T("h_commune"), T("h_inhab"), T("h_min"), T("h_site"), "double"],
            [[r.code, r.name, T.num(r.population), T.min(r.minutes), reports.short_site(r.site),
              f"<{r.population * 2}>"] for r in df.itertuples()], "llrrlr", [5, 12, 9, 6, 10, 60])
        assert reports.render(T, cols, df.itertuples()) == by_hand
        assert reports.render(T, cols, df.to_dict("records")) == by_hand
        assert reports.render(T, cols, (r for _, r in df.iterrows())) == by_hand
    fr = reports.render(reports.Text("fr"), cols, df.itertuples())
    assert fr[0].split()[:3] == ["code", "commune", "hab."] and "15\u202f212" in fr[1] and "28,0" in fr[2]
    assert "A very long…" in fr[2] and "Gray" in fr[1] and "<30424>" in fr[1]
