"""The national study keeps every structure of the ANCT list (2,845), also the two of Saint-Martin (978), a
territory that is not a département (no commune polygon, no network): a site margin around the départements would
drop them. Skips without ``../shared``."""

import csv
from pathlib import Path

import pytest

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
pytestmark = pytest.mark.skipif(not RAW.is_dir(),
                                reason=f"raw sources absent ({RAW}): the national sites cannot be selected")


def _anct_rows() -> int:
    """Rows of the ANCT list, counted with the csv module (independent of fsgeo's reader)."""
    from fsgeo.build_data.sites import ANCT_FILE

    with open(RAW / ANCT_FILE, encoding="utf-8-sig", newline="") as f:
        sample = f.read(4096)
        f.seek(0)
        return sum(1 for _ in csv.DictReader(f, dialect=csv.Sniffer().sniff(sample, delimiters=",;")))


@pytest.mark.slow
def test_national_sites_keep_every_structure():
    from fsgeo.build_data import france
    from fsgeo.build_data import sites as sb

    codes = [*france.OVERSEAS, "01", "2A"]  # the margin rule is the same for any set of codes
    kept = sb.select_sites(france.france_area(RAW, codes, lambda m: None, every_site=True), lambda m: None)
    assert len(kept) == _anct_rows() == 2845
    st_martin = kept[kept["departement"].astype(str) == "978"]
    assert len(st_martin) == 2 and not st_martin["in_departement"].any()
    assert kept["id"].is_unique
    # without every_site the margin drops structures far from the départements studied (978 among them)
    some = sb.select_sites(france.france_area(RAW, codes, lambda m: None), lambda m: None)
    assert len(some) < len(kept) and "978" not in set(some["departement"].astype(str))
