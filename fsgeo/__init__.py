"""fsgeo: drive-time coverage and siting of France Services spaces.

Data flow: ``datasets`` → ``network`` → ``routing`` → ``coverage`` / ``catchments`` → ``siting`` → ``maps``;
the ``fsgeo`` command line is a thin shell over these modules. ``import fsgeo`` is cheap: the public modules are
imported on first use (``fsgeo.coverage.access_times(...)`` works without ``import fsgeo.coverage``), as in osmnx.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from fsgeo.settings import settings  # noqa: E402

#: the public modules, in the order of the data flow; imported lazily by :func:`__getattr__`
MODULES = (
    "datasets", "io", "study", "network", "profile", "routing", "matrix", "coverage", "timeline", "catchments",
    "accessibility", "siting", "maps", "reports", "results", "provenance", "errors", "atomic", "hours",
)

__all__ = ["settings", "__version__", *MODULES]


def __getattr__(name: str):
    if name in MODULES:
        module = importlib.import_module(f"fsgeo.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'fsgeo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(MODULES))
