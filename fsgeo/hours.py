"""Opening hours: parse the ANCT strings into sorted, merged intervals.

The ANCT list writes one string per weekday, e.g. ``"09:00 - 12:30 / 13:30 - 16:30"``. Real rows repeat an
interval (``"... / 13:30 - 16:30 / 13:30 - 16:30"``), overlap or touch (``"08:00 - 15:00 / 08:00 - 16:00"``), come
unsorted, or carry a ``"00:00 - 00:00"`` placeholder for an unused slot. All of them parse here; the normalised form is
``"09:00-12:30,13:30-16:30"`` (``""`` = closed) and parsing a normalised string gives it back unchanged.

Accepted spellings of one interval: ``09:00 - 12:30``, ``9:00-12:30``, ``09h00 - 12h30``, ``9h-12h``, ``9h30 à 12h``,
``09.00-12.30``; intervals separated by ``/``, ``,``, ``;``, ``+`` or `` et ``. ``24:00`` closes a day.

Errors are ``ValueError`` messages saying what is wrong with the string; callers add the file and the row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

__all__ = [
    "WEEKDAYS",
    "ANCT_DAY_COLUMNS",
    "parse_hours",
    "format_intervals",
    "normalise_hours",
    "open_hours",
    "weekly_open_hours",
]

#: weekdays of the SITES schema (columns ``hours_<day>``); France Services are closed on Sundays
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
#: ANCT column for each weekday
ANCT_DAY_COLUMNS = dict(zip(WEEKDAYS, ("h_lundi", "h_mardi", "h_mercredi", "h_jeudi", "h_vendredi", "h_samedi")))

_CLOSED_WORDS = {"", "ferme", "fermé", "fermée", "closed", "-", "–"}
# a time: "9", "09", "9h", "09h30", "9:30", "09.30", "24:00"
_TIME = r"(\d{1,2})\s*(?:[:hH.]\s*(\d{2})?)?"
_INTERVAL = re.compile(rf"^{_TIME}\s*(?:-|–|—|à|a|to)\s*{_TIME}$", re.IGNORECASE)
_SEPARATORS = re.compile(r"\s*(?:/|,|;|\+|\bet\b)\s*", re.IGNORECASE)
# the ANCT export fills an unused slot with a zero-length midnight interval: it carries no opening time
_PLACEHOLDER = (0, 0)


def _minutes(hour: str, minute: str | None, piece: str, text: str) -> int:
    h, m = int(hour), int(minute or 0)
    if m >= 60 or h > 24 or (h == 24 and m > 0):
        raise ValueError(f"invalid time in {piece!r} of opening hours {text!r}")
    return h * 60 + m


def _is_missing(text) -> bool:
    if text is None:
        return True
    if isinstance(text, float) and math.isnan(text):
        return True
    return False


def parse_hours(text: str | None) -> list[tuple[int, int]]:
    """Parse one day's opening hours into sorted, disjoint intervals.

    Parameters
    ----------
    text : str or None
        e.g. ``"09:00 - 12:30 / 13:30 - 16:30"``; empty, None/NaN or ``"fermé"`` means closed.

    Returns
    -------
    list of (int, int)
        ``(start, end)`` in **minutes after midnight**, sorted; overlapping or touching intervals are merged.

    Raises
    ------
    ValueError
        If a piece is not an interval, a time is impossible (25:00, 10:75) or an interval ends at or before its
        start (except the ANCT ``00:00 - 00:00`` placeholder for an unused slot, which is ignored).
    """
    if _is_missing(text):
        return []
    if not isinstance(text, str):
        raise ValueError(f"opening hours must be text, got {type(text).__name__} {text!r}")
    stripped = text.strip()
    if stripped.casefold() in _CLOSED_WORDS:
        return []
    intervals: list[tuple[int, int]] = []
    for piece in _SEPARATORS.split(stripped):
        if not piece:
            continue
        m = _INTERVAL.match(piece)
        if m is None:
            raise ValueError(f"cannot read {piece!r} as an interval like '09:00 - 12:30' in opening hours {text!r}")
        start = _minutes(m.group(1), m.group(2), piece, text)
        end = _minutes(m.group(3), m.group(4), piece, text)
        if (start, end) == _PLACEHOLDER:
            continue
        if end <= start:
            raise ValueError(f"interval {piece!r} ends at or before it starts in opening hours {text!r}")
        intervals.append((start, end))
    return _merge(intervals)


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:  # overlapping or touching: one opening period
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def format_intervals(intervals: Iterable[tuple[int, int]]) -> str:
    """``[(540, 750), (810, 990)]`` → ``"09:00-12:30,13:30-16:30"`` (minutes after midnight in, ``""`` if none)."""
    return ",".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in _merge(intervals))


def normalise_hours(text: str | None) -> str:
    """Normalised form of one day's hours: ``"09:00-12:30,13:30-16:30"``, ``""`` when closed.

    Idempotent: ``normalise_hours(normalise_hours(x)) == normalise_hours(x)``. Raises ``ValueError`` like
    :func:`parse_hours`.
    """
    return format_intervals(parse_hours(text))


def open_hours(text: str | None) -> float:
    """Opening time of one day, **hours** (float, >= 0)."""
    return sum(e - s for s, e in parse_hours(text)) / 60.0


def weekly_open_hours(days: Mapping[str, str | None] | Iterable[str | None]) -> float:
    """Total weekly opening time, **hours**.

    Parameters
    ----------
    days : mapping or iterable
        Either ``{"monday": "09:00-12:00", ...}`` (any keys) or a sequence of day strings.
    """
    values = days.values() if isinstance(days, Mapping) else days
    return sum(open_hours(v) for v in values)
