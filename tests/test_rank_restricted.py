"""``rank_candidates`` / ``fsgeo rank`` on the restricted exact MCLP (issue 13): only the communes beyond the threshold
and the candidates within it of one, never the communes x candidates matrix. Same MILP, so the same sites and
objective as the full model: checked on the embedded study, where both fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fsgeo import siting
from fsgeo.siting import api
from fsgeo.siting.registry import model_specs
from tests._cli import run_fsgeo


@pytest.fixture(scope="module")
def inputs(study):
    communes, sites = study.communes, study.sites
    return dict(candidates=siting.candidates_from_communes(communes, sites, min_population=100), communes=communes,
                sites=sites, network=study.network)


@pytest.mark.parametrize("k,threshold", [(4, 15), (12, 10)])
def test_restricted_mclp_chooses_the_same_sites_as_the_full_model(inputs, k, threshold):
    full = siting.rank_candidates(**inputs, k=k, threshold=threshold, model="mclp", restricted=False)
    rest = siting.rank_candidates(**inputs, k=k, threshold=threshold, model="mclp", restricted=True)
    assert "restricted" not in full.meta and rest.meta["restricted"]["communes"] > 0
    assert rest.result.status == full.result.status == "optimal"
    assert list(rest.chosen["id"]) == list(full.chosen["id"]) and len(full.chosen) == k
    assert rest.objective == full.objective and rest.result.baseline == full.result.baseline
    assert rest.result.greedy_objective == full.result.greedy_objective
    assert list(rest.chosen["gain_population"]) == list(full.chosen["gain_population"])
    # per candidate: the gains are exact, every candidate is scored (those reaching nobody beyond it gain 0)
    f = full.scores.set_index("id")
    r = rest.scores.set_index("id")
    assert sorted(r.index) == sorted(f.index)
    for col in ("gain_population", "resolved_communes"):
        assert (r[col].reindex(f.index) == f[col]).all(), col
    # what the restricted instance cannot know is said so, not made up
    assert r["mean_reduction_min"].isna().all() and r["takeover_codes"].isna().all()
    assert rest.chosen["served_population"].isna().all() and rest.chosen["mean_minutes"].isna().all()
    # the restricted instance is a fraction of the full one
    assert rest.meta["restricted"]["candidates"] <= full.result.extra.get("n_candidates", len(f))
    assert rest.meta["restricted"]["communes"] < len(inputs["communes"])


def test_large_studies_use_it_by_default(inputs, monkeypatch):
    assert len(inputs["communes"]) <= api.RESTRICTED_MIN_COMMUNES  # the embedded study: the full model
    small = siting.rank_candidates(**inputs, k=3, threshold=12, model="mclp")
    assert "restricted" not in small.meta
    monkeypatch.setattr(api, "RESTRICTED_MIN_COMMUNES", 100)
    large = siting.rank_candidates(**inputs, k=3, threshold=12, model="mclp")
    assert large.meta["restricted"]["pairs"] > 0
    assert list(large.chosen["id"]) == list(small.chosen["id"]) and large.objective == small.objective
    greedy = siting.rank_candidates(**inputs, k=3, threshold=12, model="greedy")  # not restrictable: full
    assert "restricted" not in greedy.meta


def test_only_restrictable_models_accept_it(inputs):
    assert [n for n, s in model_specs().items() if s.restrictable] == ["mclp"]
    with pytest.raises(ValueError, match="restrictable: mclp"):
        siting.rank_candidates(**inputs, k=3, model="pmedian", restricted=True)


@pytest.mark.slow
def test_cli_restricted_and_full_agree():
    common = ["rank", "--all-communes", "--min-population", "200", "--model", "mclp", "--k", "5",
              "--threshold", "12", "--format", "json"]
    full = json.loads(run_fsgeo(*common).stdout)
    rest = json.loads(run_fsgeo(*common, "--restricted").stdout)
    assert [c["id"] for c in rest["chosen"]] == [c["id"] for c in full["chosen"]]
    assert rest["objective"] == full["objective"] and rest["baseline"] == full["baseline"]
    assert rest["meta"]["restricted"]["communes"] > 0 and "restricted" not in full["meta"]
    table = run_fsgeo(*common[:-2], "--restricted", "--lang", "en").stdout
    assert "Restricted instance (same optimum)" in table
    bad = run_fsgeo("rank", "--all-communes", "--model", "pmedian", "--restricted", check=False)
    assert bad.returncode == 2 and "--restricted does not apply to --model pmedian" in bad.stderr
    assert np.isfinite(rest["objective"])
