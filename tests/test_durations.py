"""The duration grammar of the forms and the shortest ISO form the JSON holds."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeylab.model import Delay, Journey
from journeylab.model.durations import iso_duration, parse_duration
from journeylab.model.io import from_json, to_json

M, H, D = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30 minutes", 30 * M),
        ("1 minute", M),
        ("90 minutes", 90 * M),
        ("90 min", 90 * M),
        ("90 mins", 90 * M),
        ("30m", 30 * M),
        ("1 day", D),
        ("2 days", 2 * D),
        ("1 week", 7 * D),
        ("2 weeks", 14 * D),
        ("1w", 7 * D),
        ("2h30m", 2 * H + 30 * M),
        ("2h 30m", 2 * H + 30 * M),
        ("1h30", None),
        ("1 hour", H),
        ("3 hrs", 3 * H),
        ("1 day, 2 hours", D + 2 * H),
        ("2 days and 3 hours", 2 * D + 3 * H),
        ("1.5h", 90 * M),
        ("45 s", 45 * dt.timedelta(seconds=1)),
        ("10 seconds", 10 * dt.timedelta(seconds=1)),
        ("PT30M", 30 * M),
        ("pt30m", 30 * M),
        ("P1DT2H", D + 2 * H),
        ("PT1800S", 30 * M),
        ("01:30", 90 * M),
        ("01:30:15", 90 * M + dt.timedelta(seconds=15)),
        ("-2h", -2 * H),
        ("+15m", 15 * M),
        ("", None),
        ("  ", None),
        ("1 DAY", D),
        ("30 Minutes", 30 * M),
    ],
)
def test_the_grammar_reads_what_people_write(text: str, expected: dt.timedelta | None) -> None:
    if expected is None and text.strip():
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(text)
    else:
        assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "30", "m30", "1 month", "30 minutesx", "1h 30 apples", "P1W", "PT", "1:2"])
def test_anything_else_is_refused_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("td", "iso"),
    [
        (30 * M, "PT30M"),
        (D, "P1D"),
        (D + 2 * H, "P1DT2H"),
        (90 * M, "PT1H30M"),
        (dt.timedelta(0), "PT0S"),
        (-2 * H, "-PT2H"),
        (7 * D, "P7D"),
        (dt.timedelta(seconds=3661), "PT1H1M1S"),
        (D + dt.timedelta(seconds=1), "P1DT1S"),
    ],
)
def test_shortest_iso_form(td: dt.timedelta, iso: str) -> None:
    assert iso_duration(td) == iso
    assert parse_duration(iso) == td


@given(st.timedeltas(min_value=-dt.timedelta(days=400), max_value=dt.timedelta(days=400)))
def test_iso_round_trips(td: dt.timedelta) -> None:
    assert parse_duration(iso_duration(td)) == td


def test_the_json_writes_the_shortest_form_and_reads_it_back() -> None:
    j = Journey("J", id="j")
    j.add(Delay(id="d", duration=30 * M))
    text = to_json(j.definition)
    assert '"duration": "PT30M"' in text and "PT1800S" not in text
    assert from_json(text) == j.definition
    # the form shows a duration as text it reads back
    from journeylab.layout import fmt_duration

    for td in (30 * M, D + 2 * H, 90 * M, -2 * H):
        assert parse_duration(fmt_duration(td)) == td
