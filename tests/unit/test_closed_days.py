"""Public holidays on which no zorgtafel is planned."""

from __future__ import annotations

from datetime import date

import pytest

from zorgtafel.rules.closed_days import closed_dates

YEAR_2026 = (date(2026, 1, 1), date(2026, 12, 31))


def test_belgian_holidays_2026():
    closed = closed_dates(*YEAR_2026)
    for day in [
        date(2026, 1, 1),
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),
        date(2026, 5, 14),  # Ascension
        date(2026, 5, 25),  # Whit Monday
        date(2026, 7, 21),  # national day
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),  # Armistice
        date(2026, 12, 25),
    ]:
        assert day in closed, day
    assert date(2026, 7, 20) not in closed
    assert date(2026, 4, 27) not in closed  # King's Day is Dutch


def test_dutch_holidays_only_when_asked():
    assert date(2026, 4, 27) in closed_dates(*YEAR_2026, ("NL",))
    assert date(2026, 12, 26) in closed_dates(*YEAR_2026, ("NL",))  # Second Christmas Day
    assert date(2026, 7, 21) not in closed_dates(*YEAR_2026, ("NL",))


def test_border_region_closes_on_both():
    both = closed_dates(*YEAR_2026, ("BE", "NL"))
    assert {date(2026, 4, 27), date(2026, 7, 21), date(2026, 11, 11), date(2026, 12, 26)} <= both
    assert both == closed_dates(*YEAR_2026, ("BE",)) | closed_dates(*YEAR_2026, ("NL",))


def test_range_is_inclusive_on_both_ends():
    assert closed_dates(date(2026, 7, 21), date(2026, 7, 21)) == {date(2026, 7, 21)}
    assert closed_dates(date(2026, 11, 11), date(2026, 12, 25)) == {date(2026, 11, 11), date(2026, 12, 25)}
    assert closed_dates(date(2026, 7, 22), date(2026, 7, 31)) == frozenset()
    assert closed_dates(date(2026, 7, 22), date(2026, 7, 21)) == frozenset()  # empty range


def test_range_across_years():
    closed = closed_dates(date(2026, 12, 20), date(2027, 1, 10))
    assert closed == {date(2026, 12, 25), date(2027, 1, 1)}


def test_codes_are_case_insensitive_and_a_bare_string_is_one_code():
    assert closed_dates(*YEAR_2026, ("be",)) == closed_dates(*YEAR_2026, ("BE",))
    assert closed_dates(*YEAR_2026, "NL") == closed_dates(*YEAR_2026, ("NL",))
    assert closed_dates(*YEAR_2026, ()) == frozenset()


def test_unknown_country_is_refused():
    with pytest.raises(ValueError, match="unknown country"):
        closed_dates(*YEAR_2026, ("XX",))
