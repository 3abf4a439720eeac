"""The build script: reproduces the committed data/ byte for byte, and refuses inconsistent sources."""

import hashlib
import json
from pathlib import Path

import pytest

from fsgeo.build_data import StudyArea, build_all, communes, neighbours
from fsgeo.build_data.travelmapping import TravelMappingError, parse_wpt
from fsgeo.settings import settings

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
needs_raw = pytest.mark.skipif(not RAW.is_dir(), reason=f"raw sources absent ({RAW}): the build cannot run")
DATA = settings.data_dir
BUILT = sorted(p.relative_to(DATA) for p in DATA.rglob("*") if p.is_file() and p.name != "README.md")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    lines = []
    build_all(RAW, out, lines.append, "70")
    return out, lines


def _area(raw, codes="70"):
    return StudyArea.from_raw(raw, codes, lambda s: None)


def _placed_sha(out: Path) -> str:
    """sha256 of ``out/communes/communes.geojson`` once the build's demand step (road-junction points on the
    committed network, the same one the build makes) has run on it, as ``build_all`` does."""
    from fsgeo.build_data import demand

    demand.apply_to_study(out, settings.network_path, lambda s: None)
    return _sha(out / "communes" / "communes.geojson")


@needs_raw
def test_build_reproduces_committed_data(rebuilt):
    out, lines = rebuilt
    assert {"communes/communes.geojson", "communes/outline.geojson", "communes/manifest.json",
            "communes/neighbours.geojson", "network/haute-saone.gpkg", "sites.geojson",
            "study.json"} <= {str(p) for p in BUILT}
    produced = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert produced == BUILT
    differ = [str(p) for p in BUILT if _sha(out / p) != _sha(DATA / p)]
    assert not differ, f"rebuilt files differ from the committed ones: {differ}"


@needs_raw
def test_build_log_reports_merges_and_drops(rebuilt):
    _, lines = rebuilt
    text = "\n".join(lines)
    assert "merge 70375 (Motey-sur-Saône) -> 70491 (Seveux-Motey)" in text
    total = json.loads((DATA / "communes" / "manifest.json").read_text(encoding="utf-8"))["source_population"]
    assert f"population {total} (= source)" in text
    assert "largest component" in text and "dropped" in text
    # neighbouring communes: a merger known only from anciensCodes, the kept total, what is left out and why
    assert "neighbours: merge 90073 (Moval) -> 90068 (Meroux-Moval), 4.4 km from the outline" in text
    entry = json.loads((DATA / "communes" / "manifest.json").read_text(encoding="utf-8"))["neighbours"]
    assert f"neighbours: {entry['communes']} communes written" in text and f"population {entry['population']}" in text
    assert "straddle the 30.0 km line (kept whole)" in text
    assert "département 68 (Haut-Rhin) comes 1.4 km from the outline but is not a neighbour" in text
    # the neighbours come from the outlines; the sites of every département within 25 km are kept, neighbour or not
    assert "neighbours 21, 25, 39, 52, 88, 90 (outlines within 100 m" in text
    for site in ("838 'France services Saint-Amarin' (département 68, not a neighbour) is 16.9 km",
                 "840 'France services Masevaux-Niederbruck' (département 68, not a neighbour) is 13.5 km",
                 "3198 'France services de Dannemarie' (département 68, not a neighbour) is 23.2 km"):
        assert f"sites: kept: {site} from the boundary" in text


@needs_raw
def test_build_writes_the_study_manifest(rebuilt):
    from fsgeo.study import StudyManifest

    out, _ = rebuilt
    m = StudyManifest.read(out)
    assert m.codes == ["70"] and m.name == "Haute-Saône" and m.slug == "haute-saone"
    assert m.neighbours == ["21", "25", "39", "52", "88", "90"]
    assert m.files["network"] == "network/haute-saone.gpkg" and m.path("network").is_file()
    assert m.network["source"] == "travelmapping" and m.network["nodes"] == 4939
    # Alsace's routes départementales (fragesd6ae covers 67 and 68) reach the 3 sites of Haut-Rhin within 25 km
    assert {"frabfcd70", "fragesd6ae"} <= set(m.network["systems"]) and "fragesm6ae" not in m.network["systems"]
    assert m.metric_crs == "EPSG:2154" and [s["id"] for s in m.sources] == ["anct", "etalab", "france-geojson",
                                                                              "travelmapping"]


def _fake_raw(tmp_path: Path, edit) -> Path:
    """A raw folder whose etalab list is edited by ``edit`` (polygons linked from the real one)."""
    raw = tmp_path / "raw"
    (raw / "etalab").mkdir(parents=True)
    (raw / "france-geojson").symlink_to(RAW / "france-geojson")
    (raw / "etalab" / "departements.json").symlink_to(RAW / "etalab" / "departements.json")
    rows = json.loads((RAW / "etalab" / "communes.json").read_text(encoding="utf-8"))
    (raw / "etalab" / "communes.json").write_text(json.dumps(edit(rows)), encoding="utf-8")
    return raw


def _drop_former_code(rows, current: str, old: str):
    for r in rows:
        if r["code"] == current and r["type"] == "commune-actuelle":
            r["anciensCodes"].remove(old)
    return rows


@needs_raw
def test_polygon_mapping_to_nothing_is_an_error(tmp_path, monkeypatch):
    # without the documented 2019 merge (nor Seveux-Motey's anciensCodes), Motey-sur-Saône's polygon belongs to no
    # current commune: refuse
    monkeypatch.setattr(communes, "UNLISTED_MERGES", {})
    raw = _fake_raw(tmp_path, lambda rows: _drop_former_code(rows, "70491", "70375"))
    with pytest.raises(communes.BuildError, match=r"70375 \(Motey-sur-Saône\)"):
        communes.build(_area(raw), tmp_path / "out", lambda s: None)
    # anciensCodes alone is enough (the table is still emptied here)
    communes.build(_area(_fake_raw(tmp_path / "b", lambda rows: rows)), tmp_path / "out_b", lambda s: None)
    assert _placed_sha(tmp_path / "out_b") == _sha(settings.communes_path)


@needs_raw
def test_neighbour_polygon_mapping_to_nothing(tmp_path):
    # Moval (4.4 km from 70) loses its owner: an error; Quemigny-Poisot (44.5 km) too: logged, beyond the margin
    raw = _fake_raw(tmp_path, lambda rows: _drop_former_code(_drop_former_code(rows, "90068", "90073"),
                                                             "21178", "21513"))
    lines = []
    with pytest.raises(communes.BuildError, match=r"within 30.0 km of the outline map to no current commune: "
                                                  r"90073 \(Moval, communes-90"):
        neighbours.select_neighbours(_area(raw), lines.append)
    text = "\n".join(lines)
    assert "2018 polygon 21513 (Quemigny-Poisot, communes-21-cote-d-or.geojson) maps to no current commune, " \
           "44.5 km from the outline: beyond the margin, not needed" in text
    assert "90073 (Moval, communes-90-territoire-de-belfort.geojson) maps to no current commune, 4.4 km from the " \
           "outline: ERROR, within the margin" in text


@needs_raw
def test_neighbour_commune_without_polygon_is_an_error(tmp_path):
    # a current commune no polygon maps to cannot be placed, so it cannot be said to lie beyond the margin
    def edit(rows):
        return rows + [{"code": "25999", "nom": "Nulle-Part", "type": "commune-actuelle", "departement": "25",
                        "population": 12}]

    with pytest.raises(communes.BuildError, match=r"without any 2018 polygon .*: 25999 \(Nulle-Part\)"):
        neighbours.select_neighbours(_area(_fake_raw(tmp_path, edit)), lambda s: None)


@needs_raw
def test_unknown_delegated_commune_is_an_error(tmp_path):
    # Georfans (70264) is a delegated commune of Belles-Fontaines (70180), which also lists it in anciensCodes:
    # either trace is enough, neither is an error
    without_row = _fake_raw(tmp_path / "a", lambda rows: [r for r in rows if r["code"] != "70264"])
    communes.build(_area(without_row), tmp_path / "a" / "out", lambda s: None)
    assert _placed_sha(tmp_path / "a" / "out") == _sha(settings.communes_path)
    raw = _fake_raw(tmp_path / "b", lambda rows: _drop_former_code([r for r in rows if r["code"] != "70264"],
                                                                   "70180", "70264"))
    with pytest.raises(communes.BuildError, match="70264"):
        communes.build(_area(raw), tmp_path / "b" / "out", lambda s: None)


@needs_raw
def test_missing_population_is_an_error(tmp_path):
    def edit(rows):
        for r in rows:
            if r["code"] == "70001" and r["type"] == "commune-actuelle":
                del r["population"]
        return rows

    with pytest.raises(communes.BuildError, match=r"70001 .*population None"):
        communes.build(_area(_fake_raw(tmp_path, edit)), tmp_path / "out", lambda s: None)


def test_parse_wpt():
    text = ("A36/A39 *OldLabel http://www.openstreetmap.org/?lat=47.121892&lon=5.390253\n"
            "\n"
            "+X04 http://www.openstreetmap.org/?lat=47.097330&lon=5.403691\n"
            "6(A36) 6 http://www.openstreetmap.org/?lon=5.438487&lat=47.067537\n")
    pts = parse_wpt(text, "t.wpt")
    assert [p.label for p in pts] == ["A36/A39", "+X04", "6(A36)"]
    assert pts[0].alt_labels == ("*OldLabel",) and pts[2].alt_labels == ("6",)
    assert [p.hidden for p in pts] == [False, True, False]
    assert (pts[2].lon, pts[2].lat) == (5.438487, 47.067537)


@pytest.mark.parametrize("line, problem", [
    ("LONELYLABEL", "expected 'LABEL"),
    ("X http://www.openstreetmap.org/?lat=47.1", "no valid lat/lon"),
    ("X http://www.openstreetmap.org/?lat=abc&lon=5", "no valid lat/lon"),
    ("X http://www.openstreetmap.org/?lat=147&lon=5", "out of range"),
])
def test_parse_wpt_errors_name_file_and_line(line, problem):
    with pytest.raises(TravelMappingError, match=rf"t\.wpt:2: .*{problem}"):
        parse_wpt("A http://www.openstreetmap.org/?lat=47&lon=5\n" + line + "\n", "t.wpt")
