"""Errors shared by every layer (a low module: it imports nothing from fsgeo).

:class:`InputError` is the one error type for bad user input; its message names the file, the row or id, and the
problem. ``fsgeo.io.InputError`` is the same class (re-exported).
"""

from __future__ import annotations

__all__ = ["InputError", "InputWarning", "OutputError", "require", "shown"]


class InputError(ValueError):
    """A user file is wrong. The message names the file, the row or id, and the problem."""

    @classmethod
    def at(cls, source, problem: str, row=None, ident=None) -> "InputError":
        """``"<source>: row <row> (id <ident>): <problem>"``, the parts not given left out.

        ``source`` is a path, or a name such as ``"candidates"`` for a GeoDataFrame; ``row`` the 1-based data row
        (the CSV header or the GeoJSON envelope is not counted); ``ident`` the row's id.
        """
        parts = [] if source is None else [str(source)]
        if row is not None:
            parts.append(f"row {row}" + (f" (id {ident!r})" if ident not in (None, "") else ""))
        elif ident not in (None, ""):
            parts.append(f"id {ident!r}")
        return cls(": ".join([*parts, problem]))


class InputWarning(UserWarning):
    """A user file was read, but something in it was repaired or left aside (the message names the file and the
    rows or columns). The CLI prints it as one line."""


class OutputError(OSError):
    """An output file cannot be written (missing or non-folder parent, no permission, disk full). The message names
    the file."""


def require(value, name: str, where: str, hint: str = ""):
    """``value``, or ``TypeError`` when it is None: the analyses take their inputs as arguments and never load the
    embedded study in its place (``"catchments: network is required ... "``)."""
    if value is None:
        raise TypeError(f"{where}: {name} is required" + (f" ({hint})" if hint else "")
                        + ": the analyses never load a study's data themselves; fsgeo.datasets.load_study() "
                          "gives the communes, sites and network of a study")
    return value


def shown(value) -> str:
    """``value`` as a person should read it in a message: numpy/pandas scalars as plain Python values
    (``nan``, not ``np.float64(nan)``), a missing value as ``empty``, strings quoted."""
    if value is None:
        return "empty"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and value != value:
        return "empty"
    if type(value).__name__ in ("NAType", "NaTType"):
        return "empty"
    return repr(value)
