"""Target-group screening (age 9 months before birth .. 3 years, threatened placement) and add_months."""

from __future__ import annotations

import calendar
import dataclasses
from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zorgtafel.rules.eligibility import Finding, Screening, add_months, screen
from zorgtafel.vocabulary import Willingness

DAY = timedelta(days=1)
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


def run(**overrides: object) -> Screening:
    """A clearly eligible registration, with the given facts changed."""
    facts: dict[str, object] = {
        "registered_on": date(2026, 5, 10),
        "birth_date": date(2025, 11, 3),
        "expected_delivery_date": None,
        "placement_threatened": True,
        "willingness": Willingness.MINIMAL,
        "concern_count": 3,
    }
    facts.update(overrides)
    return screen(**facts)  # type: ignore[arg-type]


def codes(findings: tuple[Finding, ...]) -> list[str]:
    return [f.code for f in findings]


# --------------------------------------------------------------------------- add_months


@pytest.mark.parametrize(
    ("d", "months", "expected"),
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 10, 31), 1, date(2026, 11, 30)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2026, 12, 15), 13, date(2028, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 36, date(2027, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2026, 5, 31), 9, date(2027, 2, 28)),
        (date(2027, 5, 31), 9, date(2028, 2, 29)),
        (date(2026, 8, 20), 0, date(2026, 8, 20)),
        # negative
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2026, 1, 31), -13, date(2024, 12, 31)),
        (date(2027, 2, 28), -9, date(2026, 5, 28)),
        (date(2026, 12, 31), -10, date(2026, 2, 28)),
        (date(2026, 1, 1), -12, date(2025, 1, 1)),
        (date(2026, 1, 1), -24, date(2024, 1, 1)),
    ],
)
def test_add_months(d, months, expected):
    assert add_months(d, months) == expected


@settings(max_examples=300, deadline=None)
@given(d=DATES, months=st.integers(-120, 120))
def test_add_months_property(d, months):
    got = add_months(d, months)
    # the month moves by exactly `months`
    assert (got.year * 12 + got.month) - (d.year * 12 + d.month) == months
    # the day is kept, or clamped to the last day of the target month
    assert got.day == min(d.day, calendar.monthrange(got.year, got.month)[1])


@settings(max_examples=200, deadline=None)
@given(d=DATES, months=st.integers(-60, 60))
def test_add_months_round_trip_never_overshoots(d, months):
    back = add_months(add_months(d, months), -months)
    assert back <= d
    if d.day <= 28:
        assert back == d


# --------------------------------------------------------------------------- the plain case


def test_clearly_eligible_registration():
    result = run()
    assert result == Screening(eligible=True, reasons=(), notes=())


def test_screening_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        run().eligible = False  # type: ignore[misc]


# --------------------------------------------------------------------------- age boundary


def test_registered_on_the_day_of_birth_is_eligible():
    assert run(registered_on=date(2026, 5, 10), birth_date=date(2026, 5, 10)).eligible


def test_registered_on_the_third_birthday_is_eligible():
    result = run(birth_date=date(2023, 5, 10), registered_on=date(2026, 5, 10))
    assert result.eligible
    assert result.reasons == ()


def test_registered_the_day_after_the_third_birthday_is_not_eligible():
    result = run(birth_date=date(2023, 5, 10), registered_on=date(2026, 5, 11))
    assert not result.eligible
    assert codes(result.reasons) == ["age_above_limit"]
    message = result.reasons[0].message
    assert "3 jaar" in message and "9 maanden" in message


def test_much_older_child_is_not_eligible():
    assert codes(run(birth_date=date(2018, 1, 1)).reasons) == ["age_above_limit"]


def test_third_birthday_of_a_leap_day_child_is_clamped_to_february_28():
    born = date(2024, 2, 29)
    assert run(birth_date=born, registered_on=date(2027, 2, 28)).eligible
    assert codes(run(birth_date=born, registered_on=date(2027, 3, 1)).reasons) == ["age_above_limit"]


def test_configured_age_limit():
    born = date(2024, 5, 10)
    assert run(birth_date=born, registered_on=date(2026, 5, 10), max_age_months=24).eligible
    result = run(birth_date=born, registered_on=date(2026, 5, 11), max_age_months=24)
    assert codes(result.reasons) == ["age_above_limit"]
    assert "2 jaar" in result.reasons[0].message


@settings(max_examples=200, deadline=None)
@given(born=st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 1, 1)))
def test_age_boundary_property(born):
    third_birthday = add_months(born, 36)
    assert run(birth_date=born, registered_on=third_birthday).eligible
    assert run(birth_date=born, registered_on=third_birthday - DAY).eligible
    late = run(birth_date=born, registered_on=third_birthday + DAY)
    assert codes(late.reasons) == ["age_above_limit"]


# --------------------------------------------------------------------------- unborn child


def unborn(registered_on: date, due: date, **overrides: object) -> Screening:
    return run(registered_on=registered_on, birth_date=None, expected_delivery_date=due, **overrides)


def test_delivery_exactly_nine_months_after_registration_is_eligible():
    result = unborn(date(2026, 5, 10), date(2027, 2, 10))
    assert result.eligible
    assert result.reasons == ()


def test_delivery_nine_months_and_a_day_after_registration_is_too_early():
    result = unborn(date(2026, 5, 10), date(2027, 2, 11))
    assert not result.eligible
    assert codes(result.reasons) == ["pregnancy_too_early"]
    assert "9 maanden" in result.reasons[0].message


def test_delivery_soon_is_eligible():
    assert unborn(date(2026, 5, 10), date(2026, 5, 11)).eligible
    assert unborn(date(2026, 5, 10), date(2026, 5, 10)).eligible


def test_nine_months_from_a_month_end():
    # 31 May + 9 months is clamped to 28 Feb; one day later (1 March) is too early.
    assert unborn(date(2026, 5, 31), date(2027, 2, 28)).eligible
    assert codes(unborn(date(2026, 5, 31), date(2027, 3, 1)).reasons) == ["pregnancy_too_early"]


@pytest.mark.parametrize(
    ("registered", "due"),
    [
        (date(2026, 11, 30), date(2027, 8, 31)),  # 30 Nov + 9 months = 30 Aug
        (date(2027, 2, 28), date(2027, 11, 29)),  # 28 Feb + 9 months = 28 Nov
        (date(2027, 2, 28), date(2027, 11, 30)),
        (date(2026, 6, 30), date(2027, 3, 31)),  # 30 Jun + 9 months = 30 Mar
    ],
)
def test_delivery_more_than_nine_months_after_a_short_month_end_is_too_early(registered, due):
    """The message says 'more than 9 months after the registration': compare the due date with
    registration + 9 months. Going back 9 months from the due date clamps 31 Aug to 30 Nov and so
    lets these through."""
    assert due > add_months(registered, 9)
    assert codes(unborn(registered, due).reasons) == ["pregnancy_too_early"]


def test_configured_months_before_birth():
    assert unborn(date(2026, 5, 10), date(2026, 11, 10), max_months_before_birth=6).eligible
    result = unborn(date(2026, 5, 10), date(2026, 11, 11), max_months_before_birth=6)
    assert codes(result.reasons) == ["pregnancy_too_early"]
    assert "6 maanden" in result.reasons[0].message


@settings(max_examples=300, deadline=None)
@given(registered=st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 1, 1)))
@example(registered=date(2026, 11, 30))
@example(registered=date(2027, 2, 28))
def test_pregnancy_boundary_property(registered):
    due = add_months(registered, 9)
    assert unborn(registered, due).eligible
    assert unborn(registered, due - DAY).eligible
    assert codes(unborn(registered, due + DAY).reasons) == ["pregnancy_too_early"]


def test_birth_date_wins_over_expected_delivery_date():
    # Once born, the expected delivery date no longer matters (and vice versa for the age).
    result = run(birth_date=date(2026, 1, 1), expected_delivery_date=date(2030, 1, 1))
    assert result.eligible
    result = run(birth_date=date(2020, 1, 1), expected_delivery_date=date(2026, 6, 1))
    assert codes(result.reasons) == ["age_above_limit"]


# --------------------------------------------------------------------------- threatened placement


def test_no_threatened_placement():
    result = run(placement_threatened=False)
    assert not result.eligible
    assert codes(result.reasons) == ["no_threatened_placement"]
    assert "uithuisplaatsing" in result.reasons[0].message


def test_several_reasons_at_once_age_and_placement():
    result = run(birth_date=date(2020, 1, 1), placement_threatened=False)
    assert not result.eligible
    assert codes(result.reasons) == ["age_above_limit", "no_threatened_placement"]


def test_several_reasons_at_once_pregnancy_and_placement():
    result = unborn(date(2026, 5, 10), date(2027, 6, 1), placement_threatened=False)
    assert codes(result.reasons) == ["pregnancy_too_early", "no_threatened_placement"]


# --------------------------------------------------------------------------- notes (never a rejection)


def test_no_willingness_is_eligible_with_a_note():
    result = run(willingness=Willingness.NONE)
    assert result.eligible
    assert result.reasons == ()
    assert codes(result.notes) == ["no_willingness"]
    assert "bereidheid" in result.notes[0].message


@pytest.mark.parametrize("willingness", [Willingness.MINIMAL, Willingness.WILLING, Willingness.UNKNOWN])
def test_other_willingness_gives_no_note(willingness):
    assert run(willingness=willingness).notes == ()


def test_single_concern_is_eligible_with_a_note():
    result = run(concern_count=1)
    assert result.eligible
    assert codes(result.notes) == ["single_concern"]
    assert "zorg" in result.notes[0].message


@pytest.mark.parametrize("count", [2, 3, 14])
def test_several_concerns_give_no_note(count):
    assert run(concern_count=count).notes == ()


def test_notes_and_reasons_together():
    result = run(
        birth_date=date(2020, 1, 1),
        placement_threatened=False,
        willingness=Willingness.NONE,
        concern_count=1,
    )
    assert not result.eligible
    assert codes(result.reasons) == ["age_above_limit", "no_threatened_placement"]
    assert codes(result.notes) == ["no_willingness", "single_concern"]


# --------------------------------------------------------------------------- messages


def all_findings() -> list[Finding]:
    a = run(
        birth_date=date(2020, 1, 1), placement_threatened=False, willingness=Willingness.NONE, concern_count=1
    )
    b = unborn(date(2026, 5, 10), date(2027, 6, 1))
    return [*a.reasons, *a.notes, *b.reasons]


def test_every_finding_has_a_distinct_code():
    found = all_findings()
    assert sorted(f.code for f in found) == sorted(
        [
            "age_above_limit",
            "no_threatened_placement",
            "no_willingness",
            "single_concern",
            "pregnancy_too_early",
        ]
    )


@pytest.mark.parametrize("finding", all_findings(), ids=lambda f: f.code)
def test_messages_are_dutch_and_not_empty(finding):
    text = finding.message
    assert text.strip()
    assert text == text.strip()
    assert text[0].isupper()
    assert text.endswith(".")
    assert "{" not in text and "}" not in text  # no unformatted placeholders
    words = set(text.lower().replace(";", " ").replace(",", " ").replace(".", " ").split())
    assert words & {"de", "het", "een", "er", "is", "voor", "van", "geen", "tot", "ligt", "tonen"}
    assert not words & {"the", "child", "is not", "placement", "willingness", "concern"}
