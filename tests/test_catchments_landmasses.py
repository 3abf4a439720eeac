"""``fsgeo catchments`` on a study with several landmasses (a small "France" of Corse-du-Sud and Territoire de
Belfort built from the raw sources): every site gets its catchment, Corsica's sites on Corsica's network. Skips
without ``../shared``."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from tests._cli import run_fsgeo

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the two-landmass study cannot be built"),
]


@pytest.fixture(scope="module")
def two_landmasses(tmp_path_factory):
    from fsgeo.build_data import france

    out = tmp_path_factory.mktemp("corse-belfort")
    france.build(RAW, out, log=lambda m: None, codes=["2A", "90"])
    return out


def test_every_site_gets_its_catchment_on_its_own_landmass(two_landmasses, tmp_path):
    from fsgeo import catchments, datasets
    from fsgeo.cli.national_cmd import networks_of

    study = datasets.load_study(two_landmasses)
    names = [lm["name"] for lm in study.manifest.network["landmasses"]]
    assert len(names) == 2 and "corse" in names
    sites = study.sites
    corse = sites["departement"].astype(str).isin(["2A", "2B"]).to_numpy()
    assert corse.sum() >= 10 and (~corse).sum() >= 10

    out = tmp_path / "catchments.geojson"
    run_fsgeo("catchments", "--study", two_landmasses, "--bands", "10,20", "--format", "geojson", "--out", out,
              timeout=600)
    got = gpd.read_file(out)
    assert len(got) == 2 * len(sites)  # every site, every band
    assert (got["reason"].fillna("") == "").all()
    assert (got["area_km2"] > 1).all()  # nobody left with an empty polygon (Corsica's sites were before)
    corse_ids = set(sites["id"].astype(str)[corse])
    on_corse = got[got["site_id"].astype(str).isin(corse_ids)]
    assert len(on_corse) == 2 * len(corse_ids)
    # Corsica's polygons are on Corsica (east of 8.4 E, south of 43.1 N); the others are not
    lon0, lat0, lon1, lat1 = on_corse.total_bounds
    assert lon0 > 8.4 and lat1 < 43.1
    assert (got[~got["site_id"].astype(str).isin(corse_ids)].geometry.bounds["miny"] > 43.1).all()

    # routed on Corsica's network: the library assigns them to it, with the polygons of a run on it alone
    networks = networks_of(study)
    job = catchments.CatchmentJob(networks, sites, bands=(10,), communes=False)
    k = names.index("corse")
    assert (job.site_network[corse] == k).all() and (job.site_network[~corse] != k).all()
    alone = catchments.catchments(networks[k], sites[corse], bands=(10,), communes=False)
    mine = got[(got["band_min"] == 10) & got["site_id"].astype(str).isin(corse_ids)]
    mine = mine.set_index(mine["site_id"].astype(str)).loc[alone["site_id"]]
    np.testing.assert_allclose(mine["area_km2"].to_numpy(), alone["area_km2"].to_numpy(), rtol=1e-6)
    a = mine.to_crs("EPSG:2154").geometry.to_numpy()
    b = alone.to_crs("EPSG:2154").geometry.to_numpy()
    assert (shapely.area(shapely.symmetric_difference(a, b)) < 1e-4 * shapely.area(b)).all()
