"""fsgeo: drive-time coverage and siting of France Services spaces.

Data flow: ``datasets`` → ``network`` → ``routing`` → ``coverage`` / ``catchments`` → ``siting`` → ``maps``;
the ``fsgeo`` command line is a thin shell over these modules.
"""

__version__ = "0.1.0"

from fsgeo.settings import settings  # noqa: E402

__all__ = ["settings", "__version__"]
