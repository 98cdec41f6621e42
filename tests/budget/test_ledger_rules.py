"""The ledger rules on plain data: totals, every refusal with its exact excess and message."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zorgtafel.rules import ledger
from zorgtafel.rules.ledger import Booking, Entry, Figures

START, END = date(2027, 1, 1), date(2027, 3, 31)
FIG = Figures(granted_cents=1_000_000, starts_on=START, term_ends_on=END)
VERBLIJF, AMBULANT = 1, 2


def c(id_: int, amount: int, service: int = AMBULANT, residential: bool = False) -> Entry:
    return Entry(id_, "commitment", service, residential, amount, START)


def s(id_: int, amount: int, service: int = AMBULANT) -> Entry:
    return Entry(id_, "spend", service, False, amount, START)


def r(id_: int, of: Entry) -> Entry:
    return Entry(id_, "reversal", of.service_id, of.residential, of.amount_cents, of.occurs_on, of.id)


def booking(kind: str, amount: int, *, residential: bool = False, on: date = START) -> Booking:
    service = VERBLIJF if residential else AMBULANT
    return Booking(kind, service, residential, amount, on, service_label="'CKG-verblijf'")


def rules(refusals: list[ledger.Refusal]) -> list[str]:
    return [x.rule for x in refusals]


def test_totals_subtract_reversals():
    v = c(1, 300_000, VERBLIJF, True)
    a = c(2, 200_000)
    sp = s(3, 50_000)
    entries = [v, a, sp, r(4, v), r(5, sp)]
    t = ledger.totals(entries)
    assert (t.committed_cents, t.spent_cents, t.residential_committed_cents) == (200_000, 0, 0)
    assert t.for_service(VERBLIJF) == ledger.ServiceTotals(0, 0)
    assert t.for_service(AMBULANT) == ledger.ServiceTotals(200_000, 0)
    assert t.reversed_by == {1: 4, 3: 5}
    assert t.for_service(99) == ledger.ServiceTotals()


def test_a_booking_that_fits_passes():
    assert (
        ledger.check_booking(
            FIG, [c(1, 400_000, VERBLIJF, True)], booking("commitment", 100_000, residential=True)
        )
        == []
    )
    assert (
        ledger.check_booking(FIG, [c(1, 900_000)], booking("commitment", 100_000)) == []
    )  # exactly the budget


def test_residential_cap_says_by_how_much():
    entries = [c(1, 480_000, VERBLIJF, True)]
    [refusal] = ledger.check_booking(FIG, entries, booking("commitment", 40_000, residential=True))
    assert refusal.rule == "residential_cap_exceeded"
    assert refusal.excess_cents == 20_000
    assert refusal.message_nl == "Verblijf zou € 5.200,00 zijn, max. 50% = € 5.000,00: € 200,00 te veel."


def test_residential_cap_is_half_rounded_down_to_the_cent():
    odd = Figures(granted_cents=1_000_001, starts_on=START, term_ends_on=END)
    assert odd.residential_cap_cents == 500_000
    assert ledger.check_booking(odd, [], booking("commitment", 500_000, residential=True)) == []
    [refusal] = ledger.check_booking(odd, [], booking("commitment", 500_001, residential=True))
    assert refusal.excess_cents == 1
    assert refusal.message_nl == "Verblijf zou € 5.000,01 zijn, max. 50% = € 5.000,00: € 0,01 te veel."


def test_residential_cap_counts_the_extension_once_granted():
    extended = Figures(
        granted_cents=1_000_000,
        extension_cents=500_000,
        starts_on=START,
        term_ends_on=END,
        extended_until=date(2027, 6, 30),
    )
    assert extended.residential_cap_cents == 750_000
    assert (
        ledger.check_booking(
            extended, [c(1, 500_000, VERBLIJF, True)], booking("commitment", 250_000, residential=True)
        )
        == []
    )


def test_budget_exceeded_says_by_how_much():
    [refusal] = ledger.check_booking(FIG, [c(1, 950_000)], booking("commitment", 70_000))
    assert refusal.rule == "budget_exceeded"
    assert refusal.excess_cents == 20_000
    assert (
        refusal.message_nl == "Vastgelegd zou € 10.200,00 zijn, toegekend is € 10.000,00: € 200,00 te veel."
    )


def test_both_caps_at_once():
    entries = [c(1, 500_000), c(2, 450_000, VERBLIJF, True)]
    refusals = ledger.check_booking(FIG, entries, booking("commitment", 100_000, residential=True))
    assert rules(refusals) == ["budget_exceeded", "residential_cap_exceeded"]
    assert [x.excess_cents for x in refusals] == [50_000, 50_000]


def test_spend_within_commitment_of_that_service():
    entries = [c(1, 100_000), c(2, 300_000, VERBLIJF, True), s(3, 80_000)]
    assert ledger.check_booking(FIG, entries, booking("spend", 20_000)) == []
    [refusal] = ledger.check_booking(FIG, entries, booking("spend", 25_000))
    assert refusal.rule == "spend_exceeds_commitment"
    assert refusal.excess_cents == 5_000
    assert refusal.message_nl == (
        "Uitgaven voor 'CKG-verblijf' zouden € 1.050,00 zijn, vastgelegd is € 1.000,00: € 50,00 te veel."
    )


def test_spend_is_not_bound_by_the_caps_but_by_the_commitment():
    # Residential spend on a residential commitment: fine (the cap is on commitments).
    entries = [c(1, 500_000, VERBLIJF, True)]
    b = Booking("spend", VERBLIJF, True, 500_000, START)
    assert ledger.check_booking(FIG, entries, b) == []
    # Spend on a service without commitment is refused for the whole amount.
    [refusal] = ledger.check_booking(FIG, [], booking("spend", 1))
    assert (refusal.rule, refusal.excess_cents) == ("spend_exceeds_commitment", 1)


@pytest.mark.parametrize(
    ("on", "message"),
    [
        (
            date(2026, 12, 29),
            "De datum 29-12-2026 valt vóór de termijn (01-01-2027 t/m 31-03-2027): 3 dagen te vroeg.",
        ),
        (
            date(2027, 4, 1),
            "De datum 01-04-2027 valt na de termijn (01-01-2027 t/m 31-03-2027): 1 dag te laat. "
            "Verleng het budget eerst (eenmaal mogelijk).",
        ),
    ],
)
def test_outside_term(on, message):
    [refusal] = ledger.check_booking(FIG, [], booking("commitment", 100, on=on))
    assert refusal.rule == "outside_term"
    assert refusal.excess_cents is None
    assert refusal.message_nl == message


def test_term_bounds_are_inclusive_and_the_extension_moves_the_end():
    assert ledger.check_booking(FIG, [], booking("commitment", 100, on=START)) == []
    assert ledger.check_booking(FIG, [], booking("commitment", 100, on=END)) == []
    extended = Figures(1_000_000, 500_000, START, END, date(2027, 6, 30))
    assert ledger.check_booking(extended, [], booking("commitment", 100, on=date(2027, 6, 30))) == []
    [refusal] = ledger.check_booking(extended, [], booking("commitment", 100, on=date(2027, 7, 1)))
    assert (
        refusal.message_nl
        == "De datum 01-07-2027 valt na de termijn (01-01-2027 t/m 30-06-2027): 1 dag te laat."
    )


def test_no_term_no_booking():
    [refusal] = ledger.check_booking(Figures(1_000), [], booking("commitment", 100))
    assert refusal.rule == "outside_term"


def test_plan_state_comes_first():
    closed = Figures(1_000_000, starts_on=START, term_ends_on=END, plan_active=False)
    assert rules(ledger.check_booking(closed, [], booking("commitment", 10**9))) == ["plan_not_active"]
    regular = Figures(1_000_000, starts_on=START, term_ends_on=END, track="regular")
    assert rules(ledger.check_booking(regular, [], booking("commitment", 100))) == ["not_budget_track"]


def test_bad_kind_and_amount():
    assert rules(ledger.check_booking(FIG, [], booking("reversal", 100))) == ["invalid_kind"]
    assert rules(ledger.check_booking(FIG, [], booking("commitment", 0))) == ["invalid_amount"]
    assert rules(ledger.check_booking(FIG, [], booking("commitment", -5))) == ["invalid_amount"]


def test_reversals():
    a, sp = c(1, 100_000), s(2, 60_000)
    entries = [a, sp]
    assert ledger.check_reversal(entries, 2) == []  # a spend can always be reversed
    [refusal] = ledger.check_reversal(entries, 1, service_label="'Contextbegeleiding'")
    assert refusal.rule == "reversal_breaks_spend"
    assert refusal.excess_cents == 60_000
    assert refusal.message_nl == (
        "Na deze correctie zou voor 'Contextbegeleiding' € 0,00 vastgelegd zijn, maar er is al € 600,00 "
        "uitgegeven: € 600,00 te veel. Corrigeer eerst de uitgaven."
    )
    # With a second commitment on the same service the first may go, as long as spend stays covered.
    more = [*entries, c(3, 50_000)]
    assert ledger.check_reversal(more, 1) != []
    assert ledger.check_reversal([*entries, c(3, 60_000)], 1) == []
    undone = [*entries, r(3, sp)]
    assert rules(ledger.check_reversal(undone, 2)) == ["already_reversed"]
    assert ledger.check_reversal(undone, 2)[0].message_nl == "Boeking 2 werd al gecorrigeerd (correctie 3)."
    assert rules(ledger.check_reversal(undone, 3)) == ["reversal_of_reversal"]
    assert ledger.check_reversal(undone, 1) == []  # spend undone: the commitment may go now
    assert rules(ledger.check_reversal(undone, 42)) == ["unknown_entry"]


def test_extension_rules():
    assert ledger.check_extension(FIG) == []
    extended = Figures(1_000_000, 500_000, START, END, date(2027, 6, 30))
    [refusal] = ledger.check_extension(extended)
    assert refusal.rule == "second_extension"
    assert refusal.message_nl == (
        "Het budget werd al eenmaal verlengd (tot 30-06-2027); een tweede verlenging is niet toegestaan."
    )
    assert rules(ledger.check_extension(Figures(1, 0, START, END, date(2027, 6, 30)))) == ["second_extension"]
    assert rules(ledger.check_extension(Figures(1_000, plan_active=False))) == ["plan_not_active"]
    assert rules(ledger.check_extension(Figures(1_000, track="regular"))) == ["not_budget_track"]
    assert rules(ledger.check_extension(Figures(1_000, starts_on=START))) == ["outside_term"]


@pytest.mark.parametrize(("granted", "half"), [(1_000_000, 500_000), (1_000_001, 500_000), (1, 0), (3, 1)])
def test_extension_is_half_rounded_down(granted, half):
    assert ledger.extension_cents(granted) == half


@pytest.mark.parametrize(
    ("term_ends_on", "until"),
    [
        (date(2027, 3, 31), date(2027, 6, 30)),
        (date(2027, 4, 14), date(2027, 7, 14)),
        (date(2027, 2, 28), date(2027, 5, 31)),  # the first term ran to a month-end: so does this
        (date(2027, 11, 30), date(2028, 2, 29)),
        (date(2027, 12, 31), date(2028, 3, 31)),
    ],
)
def test_extension_runs_three_more_months(term_ends_on, until):
    assert ledger.extended_until(term_ends_on) == until


amounts = st.integers(min_value=1, max_value=2_000_000)


@given(
    granted=st.integers(min_value=1, max_value=5_000_000),
    extension=st.booleans(),
    history=st.lists(st.tuples(st.booleans(), amounts), max_size=8),
    residential=st.booleans(),
    amount=amounts,
)
def test_a_commitment_that_passes_never_breaks_a_cap(granted, extension, history, residential, amount):
    fig = Figures(granted, granted // 2 if extension else 0, START, END)
    entries: list[Entry] = []
    for res, a in history:  # build a ledger the rules accepted
        b = booking("commitment", a, residential=res)
        if not ledger.check_booking(fig, entries, b):
            entries.append(c(len(entries) + 1, a, VERBLIJF if res else AMBULANT, res))
    refusals = ledger.check_booking(fig, entries, booking("commitment", amount, residential=residential))
    t = ledger.totals(entries)
    after_total = t.committed_cents + amount
    after_res = t.residential_committed_cents + (amount if residential else 0)
    fits = after_total <= fig.total_granted_cents and after_res * 2 <= fig.total_granted_cents
    assert (refusals == []) == fits
    for x in refusals:
        assert x.excess_cents is not None and x.excess_cents > 0
