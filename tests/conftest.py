"""Session-scoped fixtures over the embedded study (``data/``): read and routed once for the whole run.

Tests that change a frame take a copy first (``study.communes.copy()``): these objects are shared by every test.
``pytest -m "not slow"`` is the fast lane (CLI subprocesses, notebooks, the browser and the raw-data builds are
marked slow); ``pytest -q`` runs everything.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    # the tests are about the embedded study: a FSGEO_STUDY of the developer's shell must not change them
    os.environ.pop("FSGEO_STUDY", None)


@pytest.fixture(scope="session")
def study():
    """The embedded study of Haute-Saône (:class:`fsgeo.datasets.Study`), layers cached once loaded."""
    from fsgeo import datasets
    from fsgeo.settings import settings

    return datasets.load_study(settings.data_dir)


@pytest.fixture(scope="session")
def embedded_communes(study):
    return study.communes


@pytest.fixture(scope="session")
def embedded_sites(study):
    return study.sites


@pytest.fixture(scope="session")
def embedded_network(study):
    """The embedded Travel Mapping network (default profile, direct legs on)."""
    return study.network


@pytest.fixture(scope="session")
def access_70(study):
    """``coverage.access_times`` of the embedded communes, sites and network (default threshold and options)."""
    from fsgeo import coverage

    return coverage.access_times(study.communes, study.sites, study.network)


# --- the fast lane -------------------------------------------------------------------------------------------------
# Slow: whole modules that run the CLI end to end, execute the notebooks, drive a browser or build from the raw
# sources; elsewhere, every test named test_cli_* (the CLI end to end) and the tests listed here. New tests in these
# modules are slow by default; mark others with @pytest.mark.slow.
SLOW_MODULES = {
    "test_notebooks.py", "test_map_browser.py", "test_build_data.py", "test_coverage_cli.py", "test_rank_cli.py",
    "test_cli_basics.py", "test_cli_messages.py",
}
SLOW_TESTS = {
    "test_neighbour_communes.py::test_complete_against_raw",          # rebuilds from the raw sources
    "test_sites_data.py::test_build_reproduces_committed_file",       # rebuilds from the raw sources
    "test_network.py::test_osmnx_round_trips_and_osmnx_functions",    # osmnx on the full Helsinki extract
    "test_network.py::test_osm_bz2_reads_like_plain_xml",             # osmnx parses the Helsinki XML twice
    "test_routing.py::test_direct_legs_match_brute_force_on_embedded_data",
    "test_network.py::test_osm_xml_matches_pbf",                      # osmnx parses the Helsinki XML
    "test_maps_inline.py::test_iframe_renders_offline_in_chromium",   # a browser
    "test_routing_links.py::test_k_links_match_networkx_on_embedded_data",  # networkx over the embedded network
    # the fast lane under 60 s (issue 10): CLI end to end (subprocess or in-process main), builds, raw archives, osmnx
    "test_map_injection.py::test_map_write_failure_keeps_the_previous_file",   # fsgeo map subprocesses
    "test_map_injection.py::test_map_out_checked_before_the_work",             # fsgeo map subprocesses
    "test_map_injection.py::test_rank_json_strings_are_data_too",              # fsgeo rank + map subprocesses
    "test_export.py::test_streamed_catchments_csv_is_spreadsheet_safe",        # fsgeo catchments subprocess
    "test_demand_points.py::test_apply_to_a_built_study",                      # a study build step
    "test_build_departements.py::test_real_route_lists_in_another_case_are_read",  # the raw Travel Mapping archive
    "test_network.py::test_from_place_and_polygon_are_cached",                 # osmnx GraphML save/load of Helsinki
    "test_unplaced.py::test_commands_report_unplaced_sites",                   # every command's CLI end to end
    "test_unplaced.py::test_strict_is_a_one_line_error_before_the_work",       # CLI end to end (--strict)
    "test_unplaced.py::test_rank_reports_sites_and_candidates_by_one_rule",    # fsgeo rank end to end
    "test_unplaced.py::test_map_reports_unplaced_sites_and_candidates",        # fsgeo map end to end
    # the heaviest cross-checks that have a lighter sibling in the fast lane
    "test_calibrate.py::test_recovers_known_parameters",      # full fit (test_times_alone_... fits in the lane)
    "test_bounded_memory.py::test_restricted_mclp_equals_the_full_model",  # two MILPs x 3 (test_rank_restricted)
    "test_accessibility.py::test_same_as_access_random",      # PySAL access on random instances (embedded: fast)
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.path.name
        name = item.originalname or item.name
        if module in SLOW_MODULES or name.startswith("test_cli") or f"{module}::{name}" in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
