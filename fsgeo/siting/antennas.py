"""Antennas: which existing principal space would run each new antenna, and how far it is by road."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsgeo.siting.instance import _input_error

ATTACH_COLUMNS = ["parent_id", "parent_name", "parent_minutes", "parent_source"]


def attach_antennas(candidates: pd.DataFrame, minutes: pd.DataFrame, names=None) -> pd.DataFrame:
    """Attach every antenna to its declared parent or, failing that, to the nearest principal space by road.

    Parameters
    ----------
    candidates : pandas.DataFrame
        ``id``, ``kind`` (``principal`` | ``antenna``) and ``parent_id`` (declared parent or None) of the candidates
        to attach (typically the chosen ones).
    minutes : pandas.DataFrame
        Minutes from each antenna (rows: candidate ids) to each existing principal space (columns: site ids),
        ``inf`` when unreachable. Must have a column for every declared parent.
    names : mapping, optional
        Site id -> name, to fill ``parent_name``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``candidates``: ``parent_id``, ``parent_name``, ``parent_minutes`` (minutes; NaN for
        principal spaces and unreachable parents), ``parent_source`` (``declared`` | ``nearest`` | ``none`` when no
        principal space is reachable | None for principal candidates).

    Raises
    ------
    ValueError
        When a declared parent has no column in ``minutes`` (unknown or not a principal space).
    """
    names = dict(names or {})
    cols = minutes.columns.astype(str)
    table = minutes.copy()
    table.columns = cols
    table.index = table.index.astype(str)
    out = pd.DataFrame({c: pd.Series([None] * len(candidates), index=candidates.index, dtype=object)
                        for c in ATTACH_COLUMNS})
    out["parent_minutes"] = np.nan
    for idx, row in candidates.iterrows():
        if row.get("kind") != "antenna":
            continue
        ident = str(row["id"])
        declared = row.get("parent_id")
        declared = None if declared is None or (isinstance(declared, float) and np.isnan(declared)) \
            or str(declared) == "" else str(declared)
        if ident not in table.index:
            raise _input_error(f"antenna {ident!r}: no row in the antenna -> principal space minutes")
        times = table.loc[ident]
        if declared is not None:
            if declared not in cols:
                raise _input_error(f"antenna {ident!r}: declared parent {declared!r} is not an existing principal "
                                   "space")
            parent, source = declared, "declared"
        elif len(cols) and np.isfinite(times.to_numpy(dtype=float)).any():
            parent, source = str(times.astype(float).idxmin()), "nearest"
        else:
            out.loc[idx, "parent_source"] = "none"
            continue
        value = float(times[parent])
        out.loc[idx, ["parent_id", "parent_name", "parent_source"]] = [parent, names.get(parent, ""), source]
        out.loc[idx, "parent_minutes"] = value if np.isfinite(value) else np.nan
    return out
