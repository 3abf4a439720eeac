"""Opening-hours parsing: the odd cases of the ANCT list, errors, and properties (hypothesis)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from fsgeo.hours import ANCT_DAY_COLUMNS, normalise_hours, open_hours, parse_hours, weekly_open_hours

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
ANCT = RAW / "anct" / "liste-fs-20240801.csv"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("09:00 - 12:30 / 13:30 - 16:30", "09:00-12:30,13:30-16:30"),
        # repeated interval (real ANCT row)
        ("09:00 - 12:30 / 13:30 - 16:30 / 13:30 - 16:30", "09:00-12:30,13:30-16:30"),
        # overlapping intervals, with the ANCT 00:00 - 00:00 placeholder (real ANCT row)
        ("00:00 - 00:00 / 08:00 - 15:00 / 08:00 - 16:00 / 08:00 - 16:00", "08:00-16:00"),
        ("00:00 - 00:00", ""),
        # touching intervals are one opening period
        ("09:00 - 12:00 / 12:00 - 14:00", "09:00-14:00"),
        # unsorted
        ("13:30 - 16:30 / 09:00 - 12:00", "09:00-12:00,13:30-16:30"),
        # odd spellings
        ("9:00-12:00", "09:00-12:00"),
        ("09h00 - 12h00", "09:00-12:00"),
        ("9h-12h et 14h à 17h30", "09:00-12:00,14:00-17:30"),
        ("  08:45 -12:00 ;13:30- 18:00 ", "08:45-12:00,13:30-18:00"),
        ("14:00 - 24:00", "14:00-24:00"),
        # closed
        ("", ""),
        ("   ", ""),
        (None, ""),
        (float("nan"), ""),
        ("Fermé", ""),
    ],
)
def test_normalise_odd_cases(text, expected):
    assert normalise_hours(text) == expected


def test_parse_returns_minutes():
    assert parse_hours("13:30 - 16:30 / 09:00 - 12:30") == [(540, 750), (810, 990)]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("12:00 - 09:00", "ends at or before it starts"),
        ("09:00 - 09:00", "ends at or before it starts"),
        ("25:00 - 26:00", "invalid time"),
        ("09:75 - 12:00", "invalid time"),
        ("24:30 - 24:45", "invalid time"),
        ("9:00", "cannot read '9:00'"),
        ("09:00 - 12:00 / sur rendez-vous", "cannot read 'sur rendez-vous'"),
        ("matin", "cannot read 'matin'"),
    ],
)
def test_errors_say_what_is_wrong(text, fragment):
    with pytest.raises(ValueError) as exc:
        parse_hours(text)
    assert fragment in str(exc.value)
    assert repr(text) in str(exc.value)  # the whole string is quoted for the caller's context


def test_non_text_is_an_error():
    with pytest.raises(ValueError, match="must be text"):
        parse_hours(9)


def test_open_and_weekly_hours():
    assert open_hours("09:00 - 12:30 / 13:30 - 16:30 / 13:30 - 16:30") == pytest.approx(6.5)
    week = {"monday": "09:00-12:00", "tuesday": "", "saturday": "08:00 - 15:00 / 08:00 - 16:00"}
    assert weekly_open_hours(week) == pytest.approx(11.0)
    assert weekly_open_hours(["09:00-09:30", None]) == pytest.approx(0.5)


# --- properties --------------------------------------------------------------------------------------------------

_minute = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def _interval_lists(draw):
    pairs = draw(st.lists(st.tuples(_minute, _minute).filter(lambda p: p[0] != p[1]), max_size=6))
    pairs = [(min(p), max(p)) for p in pairs]
    styles = ["{h:02d}:{m:02d}", "{h}:{m:02d}", "{h:02d}h{m:02d}"]
    dashes = [" - ", "-", " à "]
    seps = [" / ", ",", " ; ", " et "]
    pieces = []
    for s, e in pairs:
        style = draw(st.sampled_from(styles))
        dash = draw(st.sampled_from(dashes))
        pieces.append(style.format(h=s // 60, m=s % 60) + dash + style.format(h=e // 60, m=e % 60))
    return pairs, draw(st.sampled_from(seps)).join(pieces)


@hsettings(max_examples=200, deadline=None)
@given(_interval_lists())
def test_properties(case):
    pairs, text = case
    norm = normalise_hours(text)
    assert normalise_hours(norm) == norm  # idempotent
    hours = open_hours(text)
    assert hours >= 0
    # merging never increases the total
    assert hours <= sum(e - s for s, e in pairs) / 60 + 1e-9
    # independent check: the union of the intervals counted minute by minute
    minutes = set()
    for s, e in pairs:
        minutes.update(range(s, e))
    assert hours == pytest.approx(len(minutes) / 60)
    # sorted, disjoint, non-touching
    ivs = parse_hours(norm)
    assert all(a[1] < b[0] for a, b in zip(ivs, ivs[1:]))


@pytest.mark.skipif(not ANCT.exists(), reason=f"raw ANCT list not available ({ANCT}): ../shared is absent")
def test_every_anct_hours_string_parses():
    with ANCT.open(encoding="utf-8", newline="") as f:
        values = {row[col] for row in csv.DictReader(f) for col in ANCT_DAY_COLUMNS.values()}
    assert len(values) > 500  # the real list has ~900 distinct strings
    for v in values:
        norm = normalise_hours(v)
        assert normalise_hours(norm) == norm
        # every non-placeholder interval of the raw string lies inside the normalised opening periods
        ivs = parse_hours(norm)
        for piece in filter(None, (p.strip() for p in v.split("/"))):
            s, e = parse_hours(piece)[0] if parse_hours(piece) else (0, 0)
            assert s == e == 0 or any(a <= s and e <= b for a, b in ivs)
