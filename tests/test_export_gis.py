"""GIS outputs: GeoPackage (layers, metadata table, QGIS styles), GeoParquet, FlatGeobuf, provenance everywhere."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pytest
from _cli import run_fsgeo

from fsgeo import export_gis as export, maps, provenance


@pytest.fixture(scope="module")
def layers(study, access_70):
    from fsgeo import catchments, coverage

    sites = coverage.select_sites(study.sites, study.communes, as_of="2020-01-01", own_departement_only=True)
    merged = catchments.catchments(study.network, sites, bands=(10, 20), communes=study.communes, merge="band")
    prov = provenance.provenance(study, study.network, {"threshold_min": 20.0, "bands_min": [10, 15, 20, 30, 45]},
                                 command="fsgeo test")
    return {"communes": access_70, "catchments": merged, "sites": sites}, prov


def test_geopackage_of_communes_merged_catchments_and_sites(tmp_path, layers):
    data, prov = layers
    path = export.write_gpkg(data, tmp_path / "study.gpkg", metadata=prov)
    import pyogrio

    names = [name for name, _ in pyogrio.list_layers(path)]
    assert {"communes", "catchments", "sites", export.METADATA_TABLE} <= set(names)
    communes = gpd.read_file(path, layer="communes")
    assert len(communes) == 536 and communes.crs.to_epsg() == 4326
    assert {"code", "minutes", "nearest_site_id", "second_site_id", "status", "population"} <= set(communes.columns)
    assert communes["code"].tolist() == data["communes"]["code"].tolist()
    np.testing.assert_allclose(communes["minutes"], data["communes"]["minutes"], rtol=0, atol=1e-9)
    merged = gpd.read_file(path, layer="catchments")
    assert merged["population"].tolist() == data["catchments"]["population"].tolist()
    assert export.read_gpkg_metadata(path) == json.loads(export.json_text(prov, indent=None))
    assert not (tmp_path / "study.gpkg.aux.xml").exists()
    # QGIS applies the stored styles on opening; the same styles sit beside the file
    with sqlite3.connect(path) as con:
        styled = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault"))
    assert set(styled) == {"communes", "catchments"}
    assert (tmp_path / "study.communes.qml").read_text(encoding="utf-8") == styled["communes"]


def test_qml_classes_and_colours_match_the_html_map(tmp_path, layers):
    data, prov = layers
    qml = export.qml_style(data["communes"], prov)
    root = ET.fromstring(qml.split("\n", 1)[1])
    ranges = root.findall(".//ranges/range")
    edges = maps.band_edges([10, 15, 20, 30, 45], 20.0)
    colours = maps.band_colors(len(edges) + 1)
    uppers = [float(r.get("upper")) for r in ranges[1:]]  # the first range is "unreachable"
    assert uppers[:-1] == list(edges)
    fills = {}
    for sym in root.findall(".//symbols/symbol"):
        value = sym.find(".//Option[@name='color']").get("value")
        fills[sym.get("name")] = "#%02x%02x%02x" % tuple(int(v) for v in value.split(",")[:3])
    assert [fills[r.get("symbol")] for r in ranges[1:]] == [c.lower() for c in colours]
    assert fills[ranges[0].get("symbol")] == maps.UNREACHABLE_COLOR.lower()


def test_geoparquet_and_flatgeobuf_carry_their_provenance(tmp_path, layers):
    import pyarrow.parquet as pq

    data, prov = layers
    pq_path = export.write_parquet(data["communes"], tmp_path / "communes.parquet", metadata=prov)
    back = gpd.read_parquet(pq_path)
    assert len(back) == 536 and back.crs.to_epsg() == 4326
    meta = pq.read_schema(pq_path).metadata
    assert b"geo" in meta and json.loads(meta[b"fsgeo"])["study"]["name"] == prov["study"]["name"]
    fgb = export.write_fgb(data["catchments"], tmp_path / "catchments.fgb", metadata=prov)
    assert len(gpd.read_file(fgb)) == len(data["catchments"])
    assert json.loads(export.sidecar_path(fgb).read_text(encoding="utf-8"))["fsgeo"]["fsgeo_version"]
    with pytest.raises(OSError, match="one layer"):
        export.write_parquet(data, tmp_path / "x.parquet", metadata=prov)
    assert not (tmp_path / "x.parquet").exists()


def test_a_failed_write_keeps_the_previous_geopackage(tmp_path, layers):
    data, prov = layers
    path = export.write_gpkg({"communes": data["communes"]}, tmp_path / "c.gpkg", metadata=prov)
    before = path.read_bytes()
    with pytest.raises(OSError):
        export.write_gpkg({"communes": data["communes"], "bad": data["communes"].drop(columns="geometry")}, path)
    assert path.read_bytes() == before


def test_cli_coverage_writes_every_commune_as_a_gis_layer(tmp_path):
    out = tmp_path / "communes.gpkg"
    run_fsgeo("coverage", "--out", out)
    communes = gpd.read_file(out, layer="communes")
    assert len(communes) == 536 and communes.geometry.notna().all()
    assert set(communes["status"]) <= {"covered", "underserved", "unreachable"}
    assert (communes["status"] == "covered").sum() > 500
    assert export.read_gpkg_metadata(out)["command"].startswith("fsgeo coverage")
    assert (tmp_path / "communes.qml").exists() or (tmp_path / "communes.communes.qml").exists()
    csv = tmp_path / "communes.csv"
    run_fsgeo("coverage", "--out", csv)
    side = json.loads(export.sidecar_path(csv).read_text(encoding="utf-8"))
    assert side["file"] == "communes.csv" and side["fsgeo"]["parameters"]["threshold_min"] == 20
    parquet = tmp_path / "communes.parquet"
    run_fsgeo("coverage", "--out", parquet)
    assert len(gpd.read_parquet(parquet)) == 536


def test_cli_catchments_geopackage_with_sites_and_provenance(tmp_path):
    out = tmp_path / "catchments.gpkg"
    run_fsgeo("catchments", "--merge", "band", "--bands", "10,20", "--as-of", "2020-01-01", "--own-departement-only",
              "--jobs", "1", "--out", out)
    import pyogrio

    assert {"catchments", "sites", export.METADATA_TABLE} <= {n for n, _ in pyogrio.list_layers(out)}
    merged = gpd.read_file(out, layer="catchments")
    assert merged["band_label"].tolist() == ["10", "20"] and (merged["population"].diff().dropna() > 0).all()
    meta = export.read_gpkg_metadata(out)
    assert meta["parameters"]["merge"] == "band" and "communes of the study" in meta["parameters"]["population_of"]


def _qml_classes(qml: str) -> list[tuple]:
    """(label, colour, lower, upper) of each class of a QML style; catchments' classes have their value twice."""
    root = ET.fromstring(qml.split("\n", 1)[1])
    colours = {}
    for sym in root.findall(".//symbols/symbol"):
        opts = {o.get("name"): o.get("value") for o in sym.iter("Option") if o.get("name")}
        value = opts["color"] if opts.get("style") != "no" else opts["outline_color"]
        colours[sym.get("name")] = "#%02x%02x%02x" % tuple(int(v) for v in value.split(",")[:3])
    out = [(r.get("label"), colours[r.get("symbol")], float(r.get("lower")), float(r.get("upper")))
           for r in root.findall(".//ranges/range")]
    out += [(c.get("label"), colours[c.get("symbol")], float(c.get("value")), float(c.get("value")))
            for c in root.findall(".//categories/category")]
    return out


def _sld_classes(sld: str) -> list[tuple]:
    """The same four things read from an SLD 1.1 / SE 1.1 document, with its namespaces."""
    ns = {"sld": "http://www.opengis.net/sld", "se": "http://www.opengis.net/se", "ogc": "http://www.opengis.net/ogc"}
    root = ET.fromstring(sld.encode("utf-8"))
    assert root.tag == "{http://www.opengis.net/sld}StyledLayerDescriptor" and root.get("version") == "1.1.0"
    out = []
    for rule in root.findall("sld:NamedLayer/sld:UserStyle/se:FeatureTypeStyle/se:Rule", ns):
        label = rule.find("se:Description/se:Title", ns).text
        assert rule.find("se:Name", ns).text == label
        params = {p.get("name"): p.text for p in rule.iter("{http://www.opengis.net/se}SvgParameter")}
        colour = params.get("fill") or params["stroke"]
        filt = rule.find("ogc:Filter", ns)
        if filt.find("ogc:PropertyIsNull", ns) is not None:  # QML: minutes NULL drawn as the range -1 .. -0.5
            out.append((label, colour, -1.0, -0.5))
            continue
        bounds = {}
        for op in filt.iter():
            literal = op.find("ogc:Literal", ns)
            if literal is not None:
                bounds[op.tag.split("}")[1]] = float(literal.text)
        if "PropertyIsEqualTo" in bounds:
            out.append((label, colour, bounds["PropertyIsEqualTo"], bounds["PropertyIsEqualTo"]))
        else:
            lower = bounds.get("PropertyIsGreaterThanOrEqualTo", bounds.get("PropertyIsGreaterThan"))
            out.append((label, colour, lower, bounds.get("PropertyIsLessThanOrEqualTo", 100000.0)))
    return out


def test_sld_beside_qml_with_the_same_classes_and_colours(tmp_path, layers):
    data, prov = layers
    path = export.write_gpkg(data, tmp_path / "study.gpkg", metadata=prov)
    with sqlite3.connect(path) as con:
        stored = {name: (qml, sld) for name, qml, sld in
                  con.execute("SELECT f_table_name, styleQML, styleSLD FROM layer_styles WHERE useAsDefault")}
    assert set(stored) == {"communes", "catchments"}
    for name, (qml, sld) in stored.items():
        assert (tmp_path / f"study.{name}.sld").read_text(encoding="utf-8") == sld
        q, s = _qml_classes(qml), _sld_classes(sld)
        assert sorted(q) == sorted(s) and len(q) >= 2, name
    # communes: the HTML map's classes (edges with the threshold) and colours, the unreachable class first
    communes = _sld_classes(stored["communes"][1])
    edges = maps.band_edges([10, 15, 20, 30, 45], 20.0)
    assert [c[3] for c in communes[1:-1]] == list(edges)
    assert [c[1] for c in communes[1:]] == [c.lower() for c in maps.band_colors(len(edges) + 1)]
    assert communes[0][1] == maps.UNREACHABLE_COLOR.lower()
    # every commune falls in exactly one class of the SLD (its filters read as QGIS/GeoServer would)
    minutes = data["communes"]["minutes"].to_numpy(dtype=float)
    for m in minutes:
        hits = [c for c in communes[1:] if (c[2] <= m if c is communes[1] else c[2] < m) and m <= c[3]]
        assert len(hits) == (0 if np.isnan(m) or np.isinf(m) else 1), m
    # one layer: <file>.sld beside <file>.qml
    export.write_gpkg({"communes": data["communes"]}, tmp_path / "communes.gpkg", metadata=prov)
    assert (tmp_path / "communes.sld").is_file() and (tmp_path / "communes.qml").is_file()
