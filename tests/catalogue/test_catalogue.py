"""The catalogue on the real database: complete, idempotent seeding, tariffs and their fallback."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from zorgtafel.catalogue import list_catalogue, seed_catalogue, set_tariff, tariff_for
from zorgtafel.catalogue_data import SERVICES
from zorgtafel.db.models import Service, Tariff
from zorgtafel.db.session import session_factory, unit_of_work
from zorgtafel.errors import ValidationFailed
from zorgtafel.settings import get_settings

# Every service domain.md names ("The offer around the route", "The route" step 4).
NAMED_IN_DOMAIN = {
    "kraamzorg",
    "babythuiszorg",
    "voorzorg",
    "stevig-ouderschap",
    "ambulante-gezinsbegeleiding",
    "bijzonder-klein",
    "bijzonder-wonen",
    "beschermd-wonen-basis",
    "beschermd-wonen-plus",
    "begeleid-wonen",
    "dagbesteding",
    "verblijf-kind-bij-ouder",
    "nazorg",
    "logeren",
    "dagbesteding-zevmb",
    "deeltijdwonen",
    "ckg-verblijf",
    "pleegzorg",
    "crisishulp-aan-huis",
    "crisisbed",
    "volwassenenhulpverlening",
    "amberbegeleiding",
    "veiligheidsplanning",
    "sos-supervisie",
    "ambulante-dagopvang",
    "contextbegeleiding",
}
RESIDENTIAL = {
    "ckg-verblijf",
    "bijzonder-klein",
    "beschermd-wonen-basis",
    "beschermd-wonen-plus",
    "begeleid-wonen",
    "verblijf-kind-bij-ouder",
    "logeren",
    "crisisbed",
    "deeltijdwonen",
}
CASE_BUDGET_EXAMPLES = {
    "amberbegeleiding",
    "veiligheidsplanning",
    "sos-supervisie",
    "ambulante-dagopvang",
    "contextbegeleiding",
    "ckg-verblijf",
}
REGULAR_MODULES = {"ckg-verblijf", "pleegzorg", "crisishulp-aan-huis", "volwassenenhulpverlening"}


@pytest.fixture
def scratch() -> Iterator[Session]:
    """A session whose changes are rolled back: seeding experiments leave the shared database alone."""
    with session_factory()() as session:
        yield session
        session.rollback()


def region() -> str:
    return f"Testregio-{uuid4().hex[:8]}"


def services(session: Session) -> dict[str, Service]:
    return {s.code: s for s in session.scalars(select(Service))}


def test_every_service_of_the_domain_is_in_the_catalogue_with_its_facts():
    with unit_of_work() as session:
        by_code = services(session)
        assert set(by_code) >= NAMED_IN_DOMAIN
        assert {s.code for s in SERVICES} == NAMED_IN_DOMAIN
        assert {c for c in NAMED_IN_DOMAIN if by_code[c].residential} == RESIDENTIAL
        case_budget = {c for c in NAMED_IN_DOMAIN if "case_budget" in by_code[c].tracks}
        # seed 004's examples, and the stays domain.md counts against the budget's verblijf cap
        assert case_budget == CASE_BUDGET_EXAMPLES | {
            "bijzonder-klein",
            "verblijf-kind-bij-ouder",
            "logeren",
            "deeltijdwonen",
            "crisisbed",
        }
        for code in REGULAR_MODULES:
            assert "regular" in by_code[code].tracks, code
        assert by_code["kraamzorg"].max_units == 80 and by_code["kraamzorg"].unit == "hour"
        assert by_code["nazorg"].max_units == 13 and by_code["nazorg"].unit == "hour"
        assert by_code["bijzonder-klein"].capacity == 3 and by_code["bijzonder-klein"].unit == "place"
        assert [c for c, s in by_code.items() if s.capacity is not None and c in NAMED_IN_DOMAIN] == [
            "bijzonder-klein"
        ]
        for code in NAMED_IN_DOMAIN:
            service = by_code[code]
            assert service.name and service.description and service.active
            assert service.unit in {"hour", "traject", "day", "place", "module"}
            assert service.tracks and set(service.tracks) <= {"case_budget", "regular"}


def test_default_tariffs_are_the_2023_figures_and_empty_where_the_source_gives_none():
    limburg = get_settings().region
    with unit_of_work() as session:
        got = {
            code: (q.amount_cents, q.max_amount_cents) if q else None
            for code in NAMED_IN_DOMAIN
            for q in [tariff_for(session, code, limburg, 2023)]
        }
    assert got.pop("kraamzorg") == (5_600, None)
    assert got.pop("babythuiszorg") == (690_000, None)
    assert got.pop("voorzorg") == (1_400_000, None)
    assert got.pop("stevig-ouderschap") == (200_000, None)
    assert got.pop("ambulante-gezinsbegeleiding") == (6_000, 10_000)
    assert set(got.values()) == {None}


def test_seeding_twice_changes_nothing(scratch: Session):
    where = region()
    first = seed_catalogue(scratch, where)
    assert first["tariffs_added"] == 5
    again = seed_catalogue(scratch, where)
    assert again == {
        "services": len(SERVICES),
        "services_added": 0,
        "services_updated": 0,
        "tariffs_added": 0,
    }
    assert len(list(scratch.scalars(select(Tariff).where(Tariff.region == where)))) == 5
    assert len(services(scratch)) >= len(SERVICES)


def test_seeding_restores_facts_keeps_active_and_never_overwrites_a_changed_tariff(scratch: Session):
    where = region()
    seed_catalogue(scratch, where)
    set_tariff(scratch, "kraamzorg", where, 2023, 5_950)
    by_code = services(scratch)
    by_code["nazorg"].max_units = 99
    by_code["crisisbed"].active = False
    result = seed_catalogue(scratch, where)
    assert result["services_updated"] == 1 and result["tariffs_added"] == 0
    assert by_code["nazorg"].max_units == 13
    assert by_code["crisisbed"].active is False
    quote = tariff_for(scratch, "kraamzorg", where, 2023)
    assert quote is not None and quote.amount_cents == 5_950


def test_seeding_another_year_adds_that_years_defaults_only(scratch: Session):
    where = region()
    seed_catalogue(scratch, where)
    result = seed_catalogue(scratch, where, year=2025)
    assert result["tariffs_added"] == 5
    years = sorted({t.year for t in scratch.scalars(select(Tariff).where(Tariff.region == where))})
    assert years == [2023, 2025]


def test_tariff_falls_back_to_the_latest_earlier_year_and_says_which(scratch: Session):
    where = region()
    set_tariff(scratch, "voorzorg", where, 2023, 1_400_000)
    set_tariff(scratch, "voorzorg", where, 2025, 1_480_000)
    exact = tariff_for(scratch, "voorzorg", where, 2025)
    assert exact is not None and (exact.year, exact.amount_cents, exact.fallback) == (2025, 1_480_000, False)
    later = tariff_for(scratch, "voorzorg", where, 2027)
    assert later is not None and (later.year, later.requested_year, later.fallback) == (2025, 2027, True)
    between = tariff_for(scratch, "voorzorg", where, 2024)
    assert between is not None and (between.year, between.amount_cents) == (2023, 1_400_000)
    assert tariff_for(scratch, "voorzorg", where, 2022) is None  # a later year never applies earlier
    assert tariff_for(scratch, "pleegzorg", where, 2027) is None
    assert tariff_for(scratch, "voorzorg", region(), 2027) is None  # other regions are separate


def test_list_catalogue_gives_the_tariff_that_applies(scratch: Session):
    where = region()
    seed_catalogue(scratch, where)
    set_tariff(scratch, "kraamzorg", where, 2026, 6_100)
    items = {i.service.code: i for i in list_catalogue(scratch, where, 2026)}
    assert set(items) >= NAMED_IN_DOMAIN
    kraamzorg = items["kraamzorg"].tariff
    assert kraamzorg is not None and (kraamzorg.year, kraamzorg.amount_cents) == (2026, 6_100)
    ambulant = items["ambulante-gezinsbegeleiding"].tariff
    assert ambulant is not None and (ambulant.year, ambulant.fallback) == (2023, True)
    assert items["bijzonder-klein"].tariff is None
    assert [i.service.code for i in list_catalogue(scratch, where, 2026)][:3] == [
        s.code for s in SERVICES[:3]
    ]


def test_set_tariff_changes_an_existing_one_in_place(scratch: Session):
    where = region()
    first = set_tariff(scratch, "ambulante-gezinsbegeleiding", where, 2024, 6_500, 9_500)
    second = set_tariff(scratch, "ambulante-gezinsbegeleiding", where, 2024, 7_000)
    assert first.id == second.id and (second.amount_cents, second.max_amount_cents) == (7_000, None)


@pytest.mark.parametrize(
    ("code", "year", "amount", "maximum", "field", "rule"),
    [
        ("geen-dienst", 2024, 100, None, "code", "unknown_service"),
        ("kraamzorg", 2024, 0, None, "amount", "not_positive"),
        ("kraamzorg", 2024, -5_600, None, "amount", "not_positive"),
        ("kraamzorg", 2024, 10_000, 6_000, "max_amount", "range_inverted"),
        ("kraamzorg", 1999, 5_600, None, "year", "year_out_of_range"),
        ("kraamzorg", 2024, 2**31, None, "amount", "too_large"),
    ],
)
def test_set_tariff_refuses_bad_input_naming_the_rule(scratch, code, year, amount, maximum, field, rule):
    with pytest.raises(ValidationFailed) as refused:
        set_tariff(scratch, code, region(), year, amount, maximum)
    assert [(p.loc, p.code) for p in refused.value.problems] == [((field,), rule)]
    assert all(p.message for p in refused.value.problems)


def test_set_tariff_reports_every_problem_at_once(scratch: Session):
    with pytest.raises(ValidationFailed) as refused:
        set_tariff(scratch, "geen-dienst", " ", 3000, 0)
    assert {p.code for p in refused.value.problems} == {
        "unknown_service",
        "region_required",
        "year_out_of_range",
        "not_positive",
    }


def test_an_equal_range_is_allowed_and_tariff_for_an_unknown_service_is_refused(scratch: Session):
    where = region()
    tariff = set_tariff(scratch, "kraamzorg", where, 2024, 5_600, 5_600)
    assert tariff.max_amount_cents == 5_600
    with pytest.raises(ValidationFailed) as refused:
        tariff_for(scratch, "geen-dienst", where, 2024)
    assert refused.value.problems[0].code == "unknown_service"
