"""The eligibility rules of the sources, per service, at their boundaries (plain data, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zorgtafel.catalogue_data import SERVICES
from zorgtafel.rules.eligibility import add_months
from zorgtafel.rules.fit import Education, Fit, FitFacts, Verdict, assess, assess_service

ON = date(2026, 3, 10)
DAY = timedelta(days=1)

# A pregnant, 22-year-old first-time mother, VMBO-b, Dutch-speaking, accepting help, motivated.
PREGNANT = FitFacts(
    registered_on=ON,
    expected_delivery_date=ON + timedelta(weeks=16),  # 24 weeks pregnant
    first_child=True,
    mother_age=22,
    mother_education=Education.VMBO_B,
    mother_speaks_dutch=True,
    family_accepts_help=True,
    family_motivated=True,
)


def fit(code: str, facts: FitFacts = PREGNANT, **changes: object) -> Fit:
    return assess_service(code, replace(facts, **changes))


def born(days: int = 0, *, months: int = 0, **changes: object) -> FitFacts:
    """The same family, the child born ``months`` months and ``days`` days before ON."""
    birth = add_months(ON, -months) - timedelta(days=days) if months else ON - timedelta(days=days)
    return replace(PREGNANT, birth_date=birth, **changes)


# --- the whole catalogue ------------------------------------------------------------------


def test_every_service_gets_an_answer_with_reasons():
    fits = assess(PREGNANT)
    assert [f.service_code for f in fits] == [s.code for s in SERVICES]
    for f in fits:
        assert f.verdict in {"fits", "does_not_fit", "unknown"}
        assert f.reasons, f.service_code


def test_services_without_conditions_fit_and_say_so():
    for code in ("pleegzorg", "ckg-verblijf", "amberbegeleiding", "crisishulp-aan-huis", "onbekende-dienst"):
        answer = assess_service(code, FitFacts())
        assert answer.verdict == Verdict.FITS
        assert "geen bijzondere voorwaarden in de bronnen" in answer.reasons[0]


def test_with_nothing_known_every_service_with_conditions_is_unknown_with_a_reason():
    for f in assess(FitFacts()):
        if "geen bijzondere voorwaarden in de bronnen" in f.reasons[0]:
            continue
        assert f.verdict == Verdict.UNKNOWN, f
        assert any("onbekend" in r for r in f.reasons), f


# --- VoorZorg (seed 002) ------------------------------------------------------------------


def test_voorzorg_fits_the_example_family():
    assert fit("voorzorg").verdict == Verdict.FITS


@pytest.mark.parametrize(("age", "verdict"), [(16, "fits"), (25, "fits"), (26, "does_not_fit")])
def test_voorzorg_mother_at_most_25(age, verdict):
    assert fit("voorzorg", mother_age=age).verdict == verdict


def test_voorzorg_reasons_quote_the_fact_and_the_rule():
    assert "VoorZorg: moeder is 27, de regel is maximaal 25" in fit("voorzorg", mother_age=27).reasons


def test_voorzorg_unknown_pregnancy_duration():
    unknown = assess_service("voorzorg", replace(PREGNANT, expected_delivery_date=None))
    assert unknown.verdict == Verdict.UNKNOWN
    assert unknown.reasons == (
        "VoorZorg: zwangerschapsduur onbekend; de regel is maximaal 28 weken bij de start",
    )


@pytest.mark.parametrize(("weeks", "verdict"), [(8, "fits"), (28, "fits"), (29, "does_not_fit")])
def test_voorzorg_at_most_28_weeks_pregnant_at_start(weeks, verdict):
    answer = fit("voorzorg", pregnancy_weeks_at_start=weeks)
    assert answer.verdict == verdict
    assert any(f"zwanger van {weeks} weken bij de start" in r for r in answer.reasons)


@pytest.mark.parametrize(
    ("days_to_delivery", "verdict"),
    [(280 - (28 * 7 + 6), "fits"), (280 - 29 * 7, "does_not_fit")],  # 28w6d is 28 weeks; 29w0d is not
)
def test_voorzorg_derives_the_weeks_from_the_expected_delivery_date(days_to_delivery, verdict):
    answer = fit("voorzorg", expected_delivery_date=ON + timedelta(days=days_to_delivery))
    assert answer.verdict == verdict
    assert any("berekend uit de verwachte bevallingsdatum" in r for r in answer.reasons)


def test_voorzorg_does_not_fit_once_the_child_is_born():
    answer = assess_service("voorzorg", born(3))
    assert answer.verdict == Verdict.DOES_NOT_FIT
    assert "VoorZorg: het kind is al geboren" in answer.reasons[0]


@pytest.mark.parametrize(
    ("education", "verdict"),
    [
        (Education.BASISONDERWIJS, "fits"),
        (Education.VMBO_T, "fits"),
        (Education.MBO_1, "does_not_fit"),
        (Education.HAVO, "does_not_fit"),
    ],
)
def test_voorzorg_education_at_most_vmbo_t(education, verdict):
    answer = fit("voorzorg", mother_education=education)
    assert answer.verdict == verdict
    assert any("de regel is maximaal VMBO-t" in r for r in answer.reasons)


@pytest.mark.parametrize(
    ("changes", "quote"),
    [
        ({"first_child": False}, "het gaat niet om een eerste kind, de regel is een eerste kind"),
        ({"mother_speaks_dutch": False}, "moeder beheerst het Nederlands niet"),
    ],
)
def test_voorzorg_first_child_and_dutch(changes, quote):
    answer = fit("voorzorg", **changes)
    assert answer.verdict == Verdict.DOES_NOT_FIT
    assert any(quote in r for r in answer.reasons)


def test_a_broken_rule_outweighs_unknown_ones_and_both_are_named():
    answer = fit("voorzorg", mother_age=30, mother_education=None)
    assert answer.verdict == Verdict.DOES_NOT_FIT
    assert answer.reasons[0] == "VoorZorg: moeder is 30, de regel is maximaal 25"
    assert "VoorZorg: opleidingsniveau van de moeder onbekend; de regel is maximaal VMBO-t" in answer.reasons


@given(st.integers(min_value=12, max_value=60))
def test_voorzorg_age_rule_for_every_age(age):
    assert fit("voorzorg", mother_age=age).verdict == ("fits" if age <= 25 else "does_not_fit")


# --- Stevig Ouderschap (seed 002) ---------------------------------------------------------


def test_stevig_ouderschap_child_younger_than_6_months():
    assert fit("stevig-ouderschap").verdict == Verdict.FITS  # pregnant
    birth = date(2026, 1, 15)
    on_day_before = add_months(birth, 6) - DAY
    younger = assess_service(
        "stevig-ouderschap", replace(PREGNANT, birth_date=birth, assessed_on=on_day_before)
    )
    assert younger.verdict == Verdict.FITS
    six = assess_service(
        "stevig-ouderschap", replace(PREGNANT, birth_date=birth, assessed_on=add_months(birth, 6))
    )
    assert six.verdict == Verdict.DOES_NOT_FIT
    assert (
        "Stevig Ouderschap: het kind is 6 maanden oud, de regel is een kind jonger dan 6 maanden"
        in six.reasons[0]
    )


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({"mother_age": 25}, "fits"),
        ({"mother_age": 26}, "does_not_fit"),
        ({"mother_education": Education.MBO_1}, "fits"),
        ({"mother_education": Education.MBO_2}, "does_not_fit"),
        ({"first_child": False}, "does_not_fit"),
        ({"first_child": None}, "unknown"),
    ],
)
def test_stevig_ouderschap_young_low_educated_first_time_mother(changes, verdict):
    answer = fit("stevig-ouderschap", **changes)
    assert answer.verdict == verdict
    assert answer.reasons[-1] == "Stevig Ouderschap: de selectie op risicofactoren gebeurt door de aanbieder"


# --- Kraamzorg (seed 002) -----------------------------------------------------------------


@pytest.mark.parametrize(("days", "verdict"), [(0, "fits"), (10, "fits"), (11, "does_not_fit")])
def test_kraamzorg_until_10_days_after_birth(days, verdict):
    answer = assess_service("kraamzorg", born(days))
    assert answer.verdict == verdict
    assert f"het kind is {days} dag" in answer.reasons[0]
    assert "tot 10 dagen na de geboorte" in answer.reasons[0]
    assert answer.reasons[-1] == "Kraamzorg: maximaal 80 uur"


def test_kraamzorg_fits_during_pregnancy_and_is_unknown_without_dates():
    assert fit("kraamzorg").verdict == Verdict.FITS
    answer = assess_service("kraamzorg", FitFacts(registered_on=ON))
    assert answer.verdict == Verdict.UNKNOWN
    assert "geboortedatum of verwachte bevallingsdatum onbekend" in answer.reasons[0]
    no_day = assess_service("kraamzorg", FitFacts(birth_date=ON))
    assert "datum van beoordeling (of aanmelding) onbekend" in no_day.reasons[0]


def test_the_assessment_day_wins_over_the_registration_day():
    facts = replace(PREGNANT, birth_date=ON, assessed_on=ON + 11 * DAY)
    assert assess_service("kraamzorg", facts).verdict == Verdict.DOES_NOT_FIT
    assert assess_service("kraamzorg", replace(facts, assessed_on=None)).verdict == Verdict.FITS


# --- BabythuisZorg (seed 002) -------------------------------------------------------------


def test_babythuiszorg_from_pregnancy_to_about_one_year():
    assert fit("babythuiszorg").verdict == Verdict.FITS
    assert assess_service("babythuiszorg", born(months=12)).verdict == Verdict.FITS  # the first birthday
    later = assess_service("babythuiszorg", born(1, months=12))
    assert later.verdict == Verdict.DOES_NOT_FIT
    assert "het kind is 12 maanden oud" in later.reasons[0]


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({"family_accepts_help": False}, "does_not_fit"),
        ({"family_motivated": False}, "does_not_fit"),
        ({"family_motivated": None}, "unknown"),
    ],
)
def test_babythuiszorg_family_accepts_help_and_is_motivated(changes, verdict):
    answer = fit("babythuiszorg", **changes)
    assert answer.verdict == verdict
    assert any("SKJ-registratie" in r for r in answer.reasons)


# --- Modules of beschermd wonen (seed 001) ------------------------------------------------


@pytest.mark.parametrize(("value", "verdict"), [(True, "fits"), (False, "does_not_fit"), (None, "unknown")])
def test_verblijf_kind_bij_ouder_only_next_to_intramural_living(value, verdict):
    answer = fit("verblijf-kind-bij-ouder", in_intramural_living=value)
    assert answer.verdict == verdict
    assert "alleen naast intramuraal beschermd of begeleid wonen" in answer.reasons[0]


ENDED = date(2026, 3, 31)


@pytest.mark.parametrize(
    ("on", "verdict"),
    [
        (ENDED - 5 * DAY, "fits"),  # indicated ahead, right after the end
        (ENDED, "fits"),
        (date(2026, 6, 30), "fits"),  # three months after 31 March
        (date(2026, 7, 1), "does_not_fit"),
    ],
)
def test_nazorg_right_after_the_product_within_3_months(on, verdict):
    facts = FitFacts(assessed_on=on, product_ended_on=ENDED, nazorg_hours_used=0)
    assert assess_service("nazorg", facts).verdict == verdict


@pytest.mark.parametrize(
    ("used", "verdict", "quote"),
    [
        (0, "fits", "0 uur nazorg gebruikt, nog 13 uur"),
        (12, "fits", "12 uur nazorg gebruikt, nog 1 uur"),
        (Decimal("12.5"), "fits", "nog 0,5 uur"),
        (13, "does_not_fit", "13 uur nazorg gebruikt, de regel is maximaal 13 uur binnen 3 maanden"),
        (None, "unknown", "aantal uren nazorg al gebruikt onbekend"),
    ],
)
def test_nazorg_at_most_13_hours(used, verdict, quote):
    answer = assess_service(
        "nazorg", FitFacts(assessed_on=ENDED, product_ended_on=ENDED, nazorg_hours_used=used)
    )
    assert answer.verdict == verdict
    assert any(quote in r for r in answer.reasons), answer.reasons


def test_nazorg_without_an_end_date_is_unknown():
    answer = assess_service("nazorg", FitFacts(assessed_on=ON, nazorg_hours_used=0))
    assert answer.verdict == Verdict.UNKNOWN
    assert "einddatum van beschermd of begeleid wonen onbekend" in answer.reasons[0]


def test_beschermd_wonen_is_for_the_municipality_to_judge():
    answer = fit("beschermd-wonen-basis")
    assert answer.verdict == Verdict.UNKNOWN
    assert "gemeente" in answer.reasons[0]


# --- Bijzonder Klein (seed 000) and ZEVMB (seed 003) ---------------------------------------


def test_bijzonder_klein_pregnant_or_with_a_baby():
    assert fit("bijzonder-klein").verdict == Verdict.FITS
    assert assess_service("bijzonder-klein", born(months=11)).verdict == Verdict.FITS
    older = assess_service("bijzonder-klein", born(months=12))
    assert older.verdict == Verdict.DOES_NOT_FIT
    assert any("3 kraamplekken" in r and "4 maanden" in r for r in older.reasons)
    assert assess_service("bijzonder-klein", FitFacts(registered_on=ON)).verdict == Verdict.UNKNOWN


@pytest.mark.parametrize("code", ["logeren", "dagbesteding-zevmb", "deeltijdwonen"])
def test_zevmb_services_need_the_childs_severe_multiple_disabilities(code):
    assert fit(code, child_zevmb=True).verdict == Verdict.FITS
    assert fit(code, child_zevmb=False).verdict == Verdict.DOES_NOT_FIT
    assert fit(code).verdict == Verdict.UNKNOWN


def test_education_vocabulary_is_ordered():
    order = list(Education)
    assert order.index(Education.VMBO_B) < order.index(Education.VMBO_T) < order.index(Education.MBO_1)
    assert Education.VMBO_T.rank < Education.HAVO.rank < Education.WO.rank
