"""The one communes x sites minutes matrix (:mod:`fsgeo.matrix`): alignment, validation, reasons, subsets by date."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from fsgeo import accessibility, coverage, routing
from fsgeo.datasets import sites_as_of
from fsgeo.errors import InputError
from fsgeo.matrix import TravelTimes, aligned


def _frame():
    return pd.DataFrame({"s1": [5.0, 12.0, np.inf], "s2": [25.0, 8.0, 40.0]}, index=["70001", "70002", "70003"])


# ---------------------------------------------------------------------------------------------------------------------
# alignment and validation: errors name the ids
# ---------------------------------------------------------------------------------------------------------------------
def test_aligned_reorders_and_ignores_extra_rows_and_columns():
    m = _frame().assign(s3=1.0)
    got = aligned(m, ["70003", "70001"], ["s2", "s1"])
    assert got.tolist() == [[40.0, np.inf], [25.0, 5.0]]
    assert aligned(m["s1"], ["70002"]).tolist() == [12.0]  # a Series: one value per row
    # integer labels (a matrix read from a file) are compared as text
    ints = _frame().set_axis([70001, 70002, 70003], axis=0)
    assert aligned(ints, ["70002"], ["s2"]).tolist() == [[8.0]]


def test_alignment_errors_name_the_ids():
    m = _frame()
    with pytest.raises(InputError, match=r"minutes matrix lacks commune\(s\) 70009: its index must hold their codes"):
        aligned(m, ["70001", "70009"], ["s1"])
    with pytest.raises(InputError, match=r"lacks site\(s\) s7, s8"):
        aligned(m, ["70001"], ["s8", "s1", "s7"])
    with pytest.raises(InputError, match=r"candidate_minutes lacks candidate\(s\) P"):
        aligned(m, ["70001"], ["P"], name="candidate_minutes", col_what="candidate")
    dup = pd.concat([m, m.iloc[[1]]])
    with pytest.raises(InputError, match=r"duplicated commune code\(s\) 70002"):
        aligned(dup, ["70001"], ["s1"])
    with pytest.raises(InputError, match=r"duplicated site id\(s\) s1"):
        aligned(pd.concat([m, m[["s1"]]], axis=1), ["70001"])
    neg = m.copy()
    neg.loc["70002", "s2"] = -3.0
    with pytest.raises(InputError, match="negative time -3.0 from commune 70002 to site s2"):
        aligned(neg, ["70001", "70002"], ["s1", "s2"])
    aligned(neg, ["70001"], ["s1", "s2"])  # only what is read is checked
    text = m.astype(object)
    text.loc["70003", "s2"] = "soon"
    with pytest.raises(InputError, match=r"value 'soon' for commune '70003', site 's2' is not a number of minutes"):
        aligned(text, ["70003"], ["s2"])
    # the analyses raise the same errors, naming the ids
    communes = pd.DataFrame({"code": ["70001", "70009"], "population": [10, 20]})
    sites = pd.DataFrame({"id": ["s1", "s2"], "name": ["One", "Two"]})
    with pytest.raises(InputError, match=r"lacks commune\(s\) 70009"):
        coverage.access_from_matrix(communes, sites, TravelTimes.from_frame(m))
    with pytest.raises(InputError, match=r"lacks commune\(s\) 70009"):
        accessibility.two_step_fca(communes, sites, minutes=TravelTimes.from_frame(m), supply=1)


def test_own_index_accepted_in_place_of_codes():
    # a matrix straight from routing.travel_time_matrix keeps the frames' own index (accessibility accepts it)
    m = _frame().set_axis([10, 11, 12], axis=0).set_axis([0, 1], axis=1)
    got = aligned(m, ["70001", "70002", "70003"], ["s1", "s2"], rows_alt=pd.Index([10, 11, 12]),
                  cols_alt=pd.Index([0, 1]))
    np.testing.assert_array_equal(got, _frame().to_numpy())
    with pytest.raises(InputError, match=r"must hold the commune codes \(or the index of the communes frame\)"):
        aligned(m, ["70001"], ["s1"], rows_alt=pd.Index([99]))


def test_from_frame_carries_reasons_and_row_status():
    m = _frame()
    m.loc["70002"] = np.nan  # not routed
    times = TravelTimes.from_frame(m, reasons={"70002": "commune point 3.2 km from the road network"}, cutoff_min=30)
    status = times.row_status()
    assert status["status"].tolist() == ["ok", "not_placed", "ok"]
    assert status.loc["70002", "reason"] == "commune point 3.2 km from the road network"
    m["s2"] = m["s2"].where(m.index == "70002", np.inf)
    beyond = TravelTimes.from_frame(m, cutoff_min=30).row_status()
    assert beyond.loc["70003"].tolist() == ["no_site_reachable", "no site reachable by road within 30 min"]
    assert beyond.loc["70002"].tolist() == ["not_placed", "commune point could not be placed on the road network"]
    assert set(TravelTimes.from_frame(m[[]]).row_status()["reason"]) == {"no site given"}
    unplaced = TravelTimes.from_frame(m.assign(s1=np.nan, s2=np.nan)).row_status()
    assert set(unplaced["reason"]) == {"no site could be placed on the road network"}
    # coverage reads the reasons and the cutoff the matrix carries
    communes = pd.DataFrame({"code": ["70001", "70002", "70003"], "population": [10, 20, 30]})
    sites = pd.DataFrame({"id": ["s1", "s2"]})
    acc = coverage.access_from_matrix(communes, sites, TravelTimes.from_frame(m, reasons={"70002": "too far"},
                                                                              cutoff_min=30))
    assert acc["reason"].tolist() == ["", "too far", "no site reachable by road within 30 min"]
    with pytest.raises(ValueError, match="pandas DataFrame"):
        TravelTimes.from_frame(m.to_numpy())


# ---------------------------------------------------------------------------------------------------------------------
# routed on the embedded network
# ---------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def routed(study):
    communes = study.communes.iloc[::6].copy()
    sites = study.sites.copy()
    # one commune point and one site far out of the network: they cannot be placed, and say why
    communes.loc[communes.index[3], ["point_lon", "point_lat"]] = [-3.0, 47.0]
    far = sites.index[5]
    sites["geometry"] = sites.geometry.where(sites.index != far, sites.geometry.translate(-7.0, 0.0))
    return communes, sites, study.network, TravelTimes.route(study.network, communes, sites)


def test_route_equals_routing_and_carries_reasons(routed):
    communes, sites, net, times = routed
    codes, ids = communes["code"].astype(str), sites["id"].astype(str)
    assert times.codes.tolist() == codes.tolist() and times.site_ids.tolist() == ids.tolist()
    pts = communes.assign(geometry=gpd.points_from_xy(communes["point_lon"], communes["point_lat"],
                                                               crs="EPSG:4326")).set_axis(codes.to_numpy(), axis=0)
    direct = routing.travel_time_matrix(net, pts, sites.set_axis(ids.to_numpy(), axis=0), on_snap_error="nan")
    np.testing.assert_array_equal(times.minutes.to_numpy(), direct.to_numpy())
    bad_code, bad_site = codes.iat[3], ids.iat[5]
    status = times.row_status()
    assert status.loc[bad_code, "status"] == "too_far"
    snapped = routing.snap_points(net, pts.loc[[bad_code]])["reason"].iat[0]
    assert snapped and status.loc[bad_code, "reason"] == snapped
    assert (status.drop(index=bad_code)["status"] == "ok").all()
    assert times.unplaced["id"].tolist() == [bad_site]
    assert times.unplaced.equals(routing.unplaced_sites(net, sites))
    assert times.site_reasons().to_dict() == {bad_site: times.unplaced["reason"].iat[0]}
    assert np.isnan(times.minutes[bad_site]).all() and np.isnan(times.minutes.loc[bad_code]).all()
    assert times.network["max_snap_m"] == net.profile.max_snap_m and "metric_crs" in times.network
    # the matrix's nearest times are those of the matrix-free path (routing.nearest_two), the reasons the same
    acc = coverage.access_from_matrix(communes, sites, times)
    free, _ = coverage.access_from_network(communes, sites, net)
    np.testing.assert_allclose(acc["minutes"], free["minutes"], rtol=0, atol=1e-9)
    assert acc["reason"].tolist() == free["reason"].tolist()
    assert acc.loc[3, "reason"] == status.loc[bad_code, "reason"]
    assert acc.attrs["fsgeo"]["sites_not_routed"] == [bad_site]


def test_cutoff_reason(routed, study):
    communes, sites, net, _ = routed
    times = TravelTimes.route(net, communes, sites.iloc[:2], cutoff_min=1)
    status = times.row_status()
    assert times.cutoff_min == 1.0
    assert (status["reason"] == "no site reachable by road within 1 min").sum() >= len(communes) - 3
    assert np.isinf(times.minutes.to_numpy()[status["status"].to_numpy() == "no_site_reachable"]).all()


def test_subset_by_date_equals_a_recomputed_matrix(routed):
    communes, sites, net, times = routed
    for day in ("2020-01-01", "2021-06-30", "2023-12-31"):
        sub = times.as_of(day)
        again = TravelTimes.route(net, communes, sites_as_of(sites, day))
        assert 0 < sub.shape[1] < len(sites) or day == "2023-12-31"
        assert sub.site_ids.tolist() == again.site_ids.tolist()
        np.testing.assert_array_equal(sub.minutes.to_numpy(), again.minutes.to_numpy())
        assert sub.unplaced["id"].tolist() == again.unplaced["id"].tolist()
        assert sub.reasons.equals(again.reasons)
    with pytest.raises(InputError, match=r"lacks site\(s\) nope"):
        times.subset(["nope"])
    with pytest.raises(ValueError, match="no 'labelled_on'"):
        TravelTimes.from_frame(_frame()).as_of("2020-01-01")


def test_accessibility_takes_the_matrix(routed):
    communes, sites, net, times = routed
    own = communes.assign(code=communes["code"].astype(str))
    sites = sites.assign(weekly_open_hours=sites["weekly_open_hours"].where(sites["weekly_open_hours"] > 0, 1.0))
    on_network = accessibility.two_step_fca(own, sites, network=net)
    given = accessibility.two_step_fca(own, sites, minutes=times)
    pd.testing.assert_frame_equal(pd.DataFrame(on_network.communes), pd.DataFrame(given.communes))
    assert given.sites.set_index("id").loc[sites["id"].iat[5], "status"] == "unroutable"
    assert given.sites.set_index("id").loc[sites["id"].iat[5], "reason"] == times.unplaced["reason"].iat[0]


def test_siting_instance_takes_the_matrix(routed):
    from fsgeo.siting.instance import make_instance

    communes, sites, net, times = routed
    codes = times.codes
    pop = pd.Series(communes["population"].to_numpy(dtype=float), index=codes)
    existing = pd.Series(np.inf, index=codes)
    bad_code, bad_site = codes[3], times.unplaced["id"].iat[0]
    # an unplaced candidate is an error naming it (rank_candidates reports and drops those first)
    with pytest.raises(InputError, match=rf"candidate_minutes is NaN for candidate\(s\) {bad_site}"):
        make_instance(pop, existing, times)
    placed = times.subset(times.site_ids != bad_site)
    inst = make_instance(pop, existing, placed, threshold=20)
    # the commune the router could not place reaches no candidate; the others keep their routed times
    assert np.isinf(inst.minutes[3]).all()
    np.testing.assert_array_equal(np.delete(inst.minutes, 3, axis=0),
                                  placed.minutes.drop(index=bad_code).to_numpy())
    assert inst.candidates.tolist() == placed.site_ids.tolist()
