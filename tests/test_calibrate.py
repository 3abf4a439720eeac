"""Calibration: known parameters recovered from synthetic trips (times by fsgeo's router on a network timed with a
hidden profile, route lengths by networkx on the same network: independent of the fit's own route accounting); the
trips file's errors name the row; the profile file round-trips and every command accepts it."""

from __future__ import annotations

import dataclasses
import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from fsgeo import calibrate, routing
from fsgeo.datasets import demand_points, load_communes
from fsgeo.errors import InputError
from fsgeo.network import RoadNetwork
from fsgeo.profile import CarProfile, load_profile
from fsgeo.settings import settings
from tests._cli import run_fsgeo

HIDDEN = {"circuity": 1.33, "motorway": 124.0, "trunk": 72.0, "departementale": 71.0}


@pytest.fixture(scope="module")
def network():
    return RoadNetwork.from_file(settings.network_path, profile={"direct_leg": False})


@pytest.fixture(scope="module")
def communes():
    return load_communes()


def hidden_profile(start: CarProfile) -> CarProfile:
    speeds = {**start.road_class_speeds_kmh, **{k: v for k, v in HIDDEN.items() if k != "circuity"}}
    return dataclasses.replace(start, circuity=HIDDEN["circuity"], road_class_speeds_kmh=speeds)


def synthetic_trips(network, communes, n=160, seed=2):
    """Trips from random communes to random communes (half) and to random places of the network's 30 km margin
    (half: the A36 runs there, so every fitted class carries trips): minutes from fsgeo on the hidden network, km by
    networkx."""
    truth = calibrate.retime(network, hidden_profile(network.profile))
    pts = demand_points(communes).reset_index(drop=True)[["geometry"]]
    rng = np.random.default_rng(seed)
    nodes = network.nodes.iloc[rng.choice(network.n_nodes, n // 2)][["geometry"]].reset_index(drop=True)
    o = pts.iloc[rng.choice(len(pts), n)].reset_index(drop=True)
    d = pd.concat([pts.iloc[rng.choice(len(pts), n - n // 2)], nodes], ignore_index=True)
    minutes = routing.travel_time_matrix(truth, o, d).to_numpy().diagonal().copy()
    # km: networkx shortest path (travel time) through virtual nodes joined to each point's links
    G = truth.to_osmnx()
    H = nx.DiGraph()
    for u, v, data in G.edges(data=True):
        if not H.has_edge(u, v) or H[u][v]["travel_time"] > data["travel_time"]:
            H.add_edge(u, v, travel_time=data["travel_time"], length=data["length"])
    so, sd = routing._snap(truth, o, "o", "raise"), routing._snap(truth, d, "d", "raise")
    per_m = truth.profile.access_s(1.0)
    km = np.empty(len(o))
    A = H
    for t in range(len(o)):
        for pt, node, acc, label in ((so.link_point, so.link_node, so.link_access, "o"),
                                     (sd.link_point, sd.link_node, sd.link_access, "d")):
            for n_, a in zip(node[pt == t], acc[pt == t]):
                nid = int(truth.node_ids[n_])
                e = ("src", nid) if label == "o" else (nid, "dst")
                A.add_edge(*e, travel_time=a, length=a / per_m * truth.profile.snap_detour_factor)
        path = nx.shortest_path(A, "src", "dst", weight="travel_time")
        km[t] = sum(A[a][b]["length"] for a, b in zip(path, path[1:])) / 1000
        assert sum(A[a][b]["travel_time"] for a, b in zip(path, path[1:])) / 60 == pytest.approx(minutes[t], rel=1e-9)
        A.remove_nodes_from(["src", "dst"])
    # a trip of zero minutes has no log ratio (and no reference file may hold one): a commune's road-junction point is
    # a network node, which the draw of network nodes may pick as the destination
    keep = minutes > 0
    return o[keep].reset_index(drop=True), d[keep].reset_index(drop=True), minutes[keep], km[keep]


def test_recovers_known_parameters(network, communes):
    o, d, minutes, km = synthetic_trips(network, communes)
    result = calibrate.calibrate(network, o, d, minutes, km)
    p = result.profile
    assert p.circuity == pytest.approx(HIDDEN["circuity"], rel=0.01)
    for c in ("trunk", "departementale", "motorway"):
        assert p.road_class_speeds_kmh[c] == pytest.approx(HIDDEN[c], rel=0.02), c
    assert result.before["minutes"]["p90"] > 0.03 and result.before["km"]["median"] > 0.05
    assert result.after["minutes"]["p90"] < 0.01 and result.after["km"]["p90"] < 0.01
    assert "circuity" in result.fitted and result.iterations >= 1
    # the fitted network gives the reference times through the ordinary router
    fitted = calibrate.retime(network, p)
    again = routing.travel_time_matrix(fitted, o, d).to_numpy().diagonal()
    assert np.median(np.abs(again / minutes - 1)) < 0.005


def test_times_alone_keep_circuity_and_fit_the_speeds(network, communes):
    o, d, minutes, _ = synthetic_trips(network, communes, n=80, seed=5)
    result = calibrate.calibrate(network, o, d, minutes)
    assert result.profile.circuity == network.profile.circuity and "circuity" not in result.fitted
    assert result.after["minutes"]["median"] < 0.01 < result.before["minutes"]["median"]
    assert np.isnan(result.before["km"]["median"]) and result.before["km"]["n"] == 0


def test_bounds_hold(network, communes):
    o, d, minutes, km = synthetic_trips(network, communes, n=40, seed=7)
    result = calibrate.calibrate(network, o, d, minutes / 3, km)       # references 3x faster than any road
    assert all(v <= calibrate.SPEED_BOUNDS_KMH[1] + 1e-9 for v in result.profile.road_class_speeds_kmh.values())
    assert calibrate.CIRCUITY_BOUNDS[0] - 1e-9 <= result.profile.circuity <= calibrate.CIRCUITY_BOUNDS[1] + 1e-9


def write(tmp_path, text, name="trips.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("text, message", [
    ("origin_code,destination_code,minutes,source\n70550,70285,52,x\n70550,70285,abc,x\n", "row 3: minutes 'abc'"),
    ("origin_code,destination_code,minutes,source\n70550,70285,-4,x\n", "row 2: minutes must be > 0"),
    ("origin_code,destination_code,minutes,km,source\n70550,70285,,,x\n", "row 2: no reference"),
    ("origin_code,destination_code,minutes,source\n70550,,12,x\n", "row 2: no destination"),
    ("origin_lon,origin_lat,destination_code,minutes,source\n6.1,95,70285,12,x\n", "row 2: origin (6.1, 95.0)"),
    ("origin_lon,origin_lat,destination_code,minutes,source\n6.1,north,70285,12,x\n", "row 2: origin_lon/origin_lat"),
    ("origin_code,destination_code,minutes,source\n70550,70285,12,\n", "row 2: source is empty"),
    ("origin_code,destination_code,minutes\n70550,70285,12\n", "no column source"),
    ("origin_code,minutes,source\n70550,12,x\n", "no destination: give a column destination_code"),
    ("origin_code,destination_code,source\n70550,70285,x\n", "no reference: give a column minutes and/or km"),
    ("id,origin_code,destination_code,minutes,source\na,70550,70285,12,x\na,70550,70285,13,x\n", "duplicate trip ids"),
])
def test_bad_trips_files_name_the_row(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        calibrate.read_trips(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_unknown_code_names_its_row(tmp_path, communes):
    trips = calibrate.read_trips(write(tmp_path, "origin_code;destination_code;minutes;source\n70550;70285;52;x\n"
                                                 "70550;99999;12;x\n"))
    with pytest.raises(InputError, match=r"row 3: destination_code '99999' is unknown"):
        calibrate.trip_points(trips, communes, "trips.csv")
    assert trips["minutes"].tolist() == [52.0, 12.0] and trips["line"].tolist() == [2, 3]


def test_profile_file_round_trip_and_errors(tmp_path):
    prof = CarProfile(circuity=1.27, road_class_speeds_kmh={"trunk": 77.0}, snap_nodes=3)
    path = write(tmp_path, calibrate.profile_json(prof, {"n_trips": 3}), "p.json")
    back = load_profile(path)
    assert back.circuity == 1.27 and back.road_class_speeds_kmh["trunk"] == 77.0 and back.snap_nodes == 3
    assert back.road_class_speeds_kmh["motorway"] == 115.0                 # merged into the defaults
    with pytest.raises(InputError, match="p2.json.*circuity"):
        load_profile(write(tmp_path, json.dumps({"circuity": 0.5}), "p2.json"))
    with pytest.raises(InputError, match="p3.json.*unknown CarProfile setting"):
        load_profile(write(tmp_path, json.dumps({"speed": 3}), "p3.json"))
    with pytest.raises(InputError, match="p4.json: not a JSON profile file"):
        load_profile(write(tmp_path, "{", "p4.json"))


@pytest.mark.slow
def test_cli_calibrate_then_every_command_takes_the_profile(tmp_path, communes):
    pts = communes.set_index("code")
    pairs = [("70550", "70285"), ("70550", "70279"), ("70550", "70310"), ("70279", "70285"), ("70421", "70550"),
             ("70285", "70310")]
    rows = ["id,origin_code,destination_lon,destination_lat,minutes,km,source"]
    for k, (a, b) in enumerate(pairs):
        lon, lat = pts.loc[b, "point_lon"], pts.loc[b, "point_lat"]
        rows.append(f"t{k},{a},{lon},{lat},{40 + 5 * k},{45 + 4 * k},route planner")
    trips = write(tmp_path, "\n".join(rows) + "\n")
    out = tmp_path / "profile.json"
    res = run_fsgeo("calibrate", "--trips", str(trips), "--out", str(out), "--trips-out", str(tmp_path / "t.csv"), check=False)
    assert res.returncode == 0, res.stderr
    assert "90th percentile" in res.stdout and "circuity" in res.stdout
    data = json.loads(out.read_text())
    assert data["_calibration"]["n_trips"] == 6 and 1.0 <= data["circuity"] <= 1.8
    assert len(pd.read_csv(tmp_path / "t.csv")) == 6
    base = run_fsgeo("coverage", "--format", "json", check=False)
    tuned = run_fsgeo("coverage", "--format", "json", "--profile", str(out), check=False)
    assert base.returncode == 0 and tuned.returncode == 0, tuned.stderr
    assert base.stdout != tuned.stdout
    bad = run_fsgeo("coverage", "--profile", str(tmp_path / "missing.json"), check=False)
    assert bad.returncode == 2 and "missing.json" in bad.stderr
    bad_row = write(tmp_path, "origin_code,destination_code,minutes,source\n70550,70285,x,y\n", "bad.csv")
    res = run_fsgeo("calibrate", "--trips", str(bad_row), "--out", str(tmp_path / "p.json"), check=False)
    assert res.returncode == 2 and "row 2" in res.stderr and not (tmp_path / "p.json").exists()
