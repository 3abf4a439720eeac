"""fsgeo.schema (the shared helpers: one date parser, one blank test, one boolean vocabulary, one reprojection) and
the package's import graph (no cycle; io never imports datasets)."""

from __future__ import annotations

import ast
import functools
import datetime as dt
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

import fsgeo
from fsgeo import datasets, io, schema
from fsgeo.errors import InputError

PACKAGE = Path(fsgeo.__file__).resolve().parent


# --- import graph --------------------------------------------------------------------------------------------------

def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.lru_cache(maxsize=None)
def import_graph() -> dict[str, set[str]]:
    """fsgeo module -> the fsgeo modules it imports anywhere (top level or inside functions), from the source."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # "from fsgeo import io": the submodule io; "from fsgeo.io import x": fsgeo.io
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in files:  # "fsgeo.siting.api.x" -> the module that defines it
                    t = t.rpartition(".")[0]
                # a module importing its own package's parent (implicit on any submodule import) is no dependency
                if t and t != name and t.startswith("fsgeo") and not name.startswith(t + "."):
                    deps.add(t)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None (iterative-free recursive DFS, 3 colours)."""
    colour = dict.fromkeys(graph, 0)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str):
        colour[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if colour.get(dep, 2) == 1:
                return stack[stack.index(dep):] + [dep]
            if colour.get(dep) == 0:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(graph):
        if colour[node] == 0:
            found = visit(node)
            if found:
                return found
    return None


def test_find_cycle_detects_a_cycle():
    # the checker itself: a cycle through a function-level import is found, a chain is not
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_package_import_graph_has_no_cycle():
    graph = import_graph()
    assert {"fsgeo.io", "fsgeo.datasets", "fsgeo.schema", "fsgeo.coverage", "fsgeo.cli.coverage_cmd"} <= set(graph)
    assert "fsgeo.datasets" in graph["fsgeo.coverage"] or "fsgeo.schema" in graph["fsgeo.coverage"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_low_modules_import_only_low_modules():
    graph = import_graph()
    assert graph["fsgeo.errors"] == set()
    assert graph["fsgeo.schema"] <= {"fsgeo.errors", "fsgeo.hours", "fsgeo.settings"}
    assert "fsgeo.datasets" not in graph["fsgeo.io"]
    assert "fsgeo.datasets" not in graph["fsgeo.network"]


# --- one of each helper --------------------------------------------------------------------------------------------

def test_io_re_exports_the_schema_helpers():
    for name in ("SITE_COLUMNS", "COMMUNE_COLUMNS", "KINDS", "FORMATS", "clean_id", "clean_text", "departement_of",
                 "parse_date", "InputError"):
        assert name in io.__all__
    assert io.SITE_COLUMNS is schema.SITE_COLUMNS and io.parse_date is schema.parse_date
    assert io.InputError is InputError
    # datasets and coverage share the one date parser
    from fsgeo import coverage

    assert datasets.as_date is schema.as_date is coverage.as_date


@pytest.mark.parametrize("value", [None, float("nan"), np.float64("nan"), pd.NA, pd.NaT, "", "  \t"])
def test_is_blank_true(value):
    assert schema.is_blank(value)
    assert schema.clean_text(value) == "" and schema.clean_id(value) == ""


@pytest.mark.parametrize("value", [0, 0.0, "0", "x", False, " a "])
def test_is_blank_false(value):
    assert not schema.is_blank(value)


def test_ids_and_codes():
    assert schema.clean_id(413.0) == "413" and schema.clean_id(np.float64(70001.0)) == "70001"
    assert schema.clean_id(" A7 ") == "A7" and schema.clean_id(1.5) == "1.5"
    assert schema.commune_code(1004) == "01004" and schema.commune_code("2A004") == "2A004"
    assert [schema.departement_of(c) for c in ("70550", "2A004", "97411", "", None)] == ["70", "2A", "974", "", ""]


@pytest.mark.parametrize("value, expected", [
    ("2022-03-15", dt.date(2022, 3, 15)),
    (" 2022-03-15T10:00:00 ", dt.date(2022, 3, 15)),
    ("15/03/2022", dt.date(2022, 3, 15)),
    ("Espace labellisé 1/3/2022", dt.date(2022, 3, 1)),
    (dt.date(2022, 3, 15), dt.date(2022, 3, 15)),
    (dt.datetime(2022, 3, 15, 23, 59), dt.date(2022, 3, 15)),
    (pd.Timestamp("2022-03-15 08:00"), dt.date(2022, 3, 15)),
])
def test_one_date_parser(value, expected):
    assert schema.to_date(value) == expected
    assert schema.as_date(value) == expected
    assert schema.parse_date(value) == expected.isoformat()


@pytest.mark.parametrize("value", ["31/02/2022", "2022-13-01", "March 2022", "20220315", 20220315])
def test_dates_that_are_not_dates_raise_naming_the_value(value):
    for fn in (schema.to_date, schema.parse_date, schema.as_date):
        with pytest.raises(ValueError, match=repr(value).replace("(", r"\(").replace(")", r"\)")):
            fn(value)


@pytest.mark.parametrize("value", [None, "", pd.NaT, float("nan")])
def test_blank_dates(value):
    assert schema.to_date(value) is None and schema.parse_date(value) is None
    with pytest.raises(ValueError, match="invalid date"):
        schema.as_date(value)  # an as_of must be a date


def test_one_boolean_vocabulary():
    for word in ("true", "TRUE", " oui ", "Vrai", "1", "yes", "y", "t"):
        assert schema.parse_bool(word) is True
    for word in ("false", "Non", "FAUX", "0", "no", "n", "f"):
        assert schema.parse_bool(word) is False
    assert schema.parse_bool(np.bool_(True)) is True and schema.parse_bool(False) is False
    assert not schema.TRUE_WORDS & schema.FALSE_WORDS
    for bad in ("maybe", "", None, "2"):
        with pytest.raises(ValueError):
            schema.parse_bool(bad)


def test_to_storage_crs():
    lambert = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(930000, 6730000)], crs="EPSG:2154")
    out = schema.to_storage_crs(lambert, "f.gpkg")
    assert out.crs == "EPSG:4326"
    x, y = out.geometry.iloc[0].x, out.geometry.iloc[0].y
    assert 5.9 < x < 6.4 and 47.4 < y < 47.8  # Haute-Saône
    # back again: the round trip is within a millimetre-scale tolerance
    back = out.to_crs("EPSG:2154").geometry.iloc[0]
    assert math.hypot(back.x - 930000, back.y - 6730000) < 1e-3
    bare = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(6.1, 47.6)])
    assert schema.to_storage_crs(bare, "f.geojson").crs == "EPSG:4326"
    metres = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[Point(6.1, 47.6), Point(930000, 6730000)], crs="EPSG:4326")
    with pytest.raises(InputError, match=r"f\.geojson: row 2: .*wrong CRS"):
        schema.to_storage_crs(metres, "f.geojson")


# --- the analyses read nothing from disk -----------------------------------------------------------------------------

ANALYSES = ("fsgeo.coverage", "fsgeo.catchments", "fsgeo.accessibility", "fsgeo.timeline", "fsgeo.routing",
            "fsgeo.maps")
LOADERS = {"load_study", "load_sites", "load_communes", "load_neighbour_communes", "load_outline", "load_network",
           "find_study", "read_manifest", "data_dir", "sites_path", "communes_path", "neighbour_communes_path",
           "outline_path", "network_path"}


def _loader_uses(path) -> list[str]:
    """Names of the data loaders (or embedded data paths) a module's source refers to, with their line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if name in LOADERS:
            found.append(f"{path.name}:{node.lineno} {name}")
        if isinstance(node, ast.ImportFrom):
            found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names if a.name in LOADERS]
    return found


def test_analysis_modules_never_load_data():
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = [m for m in files if m in ANALYSES or m.startswith("fsgeo.siting")]
    assert len(modules) >= len(ANALYSES) + 3  # the siting subpackage too
    uses = [u for m in modules for u in _loader_uses(files[m])]
    assert not uses, "analysis code loads data itself: " + "; ".join(uses)
    # the check itself sees a loader call
    assert _loader_uses(PACKAGE / "datasets.py") and _loader_uses(PACKAGE / "cli" / "common.py")
