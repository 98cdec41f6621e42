"""The budget service on the real database: bookings, corrections, the extension, refusals that
store nothing, idempotency, the timeline, the summary."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.budget.conftest import GRANTED, START, budget_case, new_service, snapshot
from zorgtafel import budget
from zorgtafel.db.models import Budget, CarePlan, Case, CaseEvent, LedgerEntry
from zorgtafel.db.session import unit_of_work
from zorgtafel.errors import IdempotencyConflict, NotFound, ValidationFailed

NOW = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


def book(ref: str, service: str, amount: int, kind: str = "commitment", on: date = START, **kw: object):
    with unit_of_work() as session:
        return budget.book(
            session,
            ref,
            kind=kind,
            service_code=service,
            amount_cents=amount,
            occurs_on=on,
            actor=str(kw.pop("actor", "cm-test")),
            now=NOW,
            **kw,  # type: ignore[arg-type]
        )


def reverse(ref: str, entry_id: int, reason: str = "Dubbel geboekt."):
    with unit_of_work() as session:
        return budget.reverse(session, ref, entry_id, reason=reason, actor="cm-test", now=NOW)


def extend(ref: str):
    with unit_of_work() as session:
        case = session.scalars(select(Case).where(Case.reference == ref)).one()
        plan = session.scalars(select(CarePlan).where(CarePlan.case_id == case.id)).one()
        b = budget.grant_extension(session, plan, actor="cm-test", now=NOW)
        return b.extension_cents, plan.extended_until


def summary(ref: str) -> budget.BudgetSummary:
    with unit_of_work() as session:
        return budget.summary(session, ref)


def refused(fn, *args, **kwargs) -> list[tuple[str, str]]:
    """Call ``fn``; it must refuse and store nothing. Returns (code, message) per problem."""
    ref = args[0]
    before = snapshot(ref)
    with pytest.raises(ValidationFailed) as exc:
        fn(*args, **kwargs)
    assert snapshot(ref) == before, "a refusal stored something"
    return [(p.code, p.message) for p in exc.value.problems]


def test_a_commitment_is_booked_with_a_timeline_event(services):
    ref = budget_case()
    entry = book(ref, services["verblijf"], 120_000, note="Opvang in CKG, 2 weken.", actor="cm-42")
    assert (entry.kind, entry.amount_cents, entry.residential, entry.actor) == (
        "commitment",
        120_000,
        True,
        "cm-42",
    )
    with unit_of_work() as session:
        case = session.scalars(select(Case).where(Case.reference == ref)).one()
        event = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
        ).first()
        assert event is not None
        assert event.kind == "budget_commitment"
        assert event.actor == "cm-42"
        assert event.summary == (
            "Vastlegging van € 1.200,00 voor CKG-verblijf (test) (verblijf) op 01-01-2027. "
            "Nog vrij: € 8.800,00; verblijf € 1.200,00 van max. € 5.000,00."
        )
        assert event.data["amount_cents"] == 120_000
        assert "CKG, 2 weken" not in event.summary + str(event.data)  # the note stays on the entry
        assert session.scalars(select(Budget).where(Budget.id == entry.budget_id)).one().version == 1


def test_residential_cap_refusal_says_by_how_much(services):
    ref = budget_case()
    book(ref, services["verblijf"], 480_000)
    problems = refused(book, ref, services["verblijf"], 40_000)
    assert problems == [
        ("residential_cap_exceeded", "Verblijf zou € 5.200,00 zijn, max. 50% = € 5.000,00: € 200,00 te veel.")
    ]
    book(ref, services["verblijf"], 20_000)  # exactly up to the cap
    assert summary(ref).residential_committed_cents == 500_000


def test_budget_cap(services):
    ref = budget_case()
    book(ref, services["ambulant"], 999_000)
    assert refused(book, ref, services["ambulant"], 1_500) == [
        ("budget_exceeded", "Vastgelegd zou € 10.005,00 zijn, toegekend is € 10.000,00: € 5,00 te veel.")
    ]
    book(ref, services["ambulant"], 1_000)
    assert summary(ref).remaining_cents == 0


def test_no_booking_outside_the_term(services):
    ref = budget_case()
    [(code, message)] = refused(book, ref, services["ambulant"], 100, on=date(2027, 4, 1))
    assert code == "outside_term"
    assert "1 dag te laat" in message
    [(code, _)] = refused(book, ref, services["ambulant"], 100, on=date(2026, 12, 31))
    assert code == "outside_term"
    book(ref, services["ambulant"], 100, on=date(2027, 3, 31))


def test_spend_only_against_a_commitment_of_that_service(services):
    ref = budget_case()
    book(ref, services["ambulant"], 100_000)
    book(ref, services["ambulant"], 60_000, kind="spend")
    assert refused(book, ref, services["ambulant"], 40_001, kind="spend") == [
        (
            "spend_exceeds_commitment",
            "Uitgaven voor 'Contextbegeleiding (test)' zouden € 1.000,01 zijn, vastgelegd is € 1.000,00: "
            "€ 0,01 te veel.",
        )
    ]
    [(code, _)] = refused(book, ref, services["verblijf"], 1, kind="spend")
    assert code == "spend_exceeds_commitment"
    s = summary(ref)
    assert (s.committed_cents, s.spent_cents) == (100_000, 60_000)


def test_corrections_are_new_entries_and_history_stays(services):
    ref = budget_case()
    commitment = book(ref, services["verblijf"], 300_000)
    spend = book(ref, services["verblijf"], 100_000, kind="spend")
    before = snapshot(ref).entries
    [(code, message)] = refused(reverse, ref, commitment.id)
    assert code == "reversal_breaks_spend"
    assert message.endswith("€ 1.000,00 te veel. Corrigeer eerst de uitgaven.")
    undo_spend = reverse(ref, spend.id)
    assert (undo_spend.kind, undo_spend.reverses_id, undo_spend.amount_cents) == (
        "reversal",
        spend.id,
        100_000,
    )
    assert undo_spend.note == "Dubbel geboekt."
    undo_commitment = reverse(ref, commitment.id)
    after = snapshot(ref).entries
    assert after[: len(before)] == before  # nothing rewritten
    assert refused(reverse, ref, undo_commitment.id)[0][0] == "reversal_of_reversal"
    assert refused(reverse, ref, commitment.id) == [
        (
            "already_reversed",
            f"Boeking {commitment.id} werd al gecorrigeerd (correctie {undo_commitment.id}).",
        )
    ]
    s = summary(ref)
    assert (s.committed_cents, s.spent_cents, s.residential_committed_cents) == (0, 0, 0)
    with pytest.raises(budget.EntryNotFound):
        reverse(ref, 10**9)
    with pytest.raises(ValidationFailed):
        reverse(ref, commitment.id, reason="   ")


def test_reversal_of_another_cases_entry_is_not_found(services):
    ref, other = budget_case(), budget_case()
    entry = book(other, services["ambulant"], 100)
    with pytest.raises(budget.EntryNotFound):
        reverse(ref, entry.id)


def test_extension_once_half_the_budget_and_three_months(services):
    ref = budget_case(granted_cents=1_000_001)
    book(ref, services["verblijf"], 500_000)
    assert refused(book, ref, services["verblijf"], 1)[0][0] == "residential_cap_exceeded"
    assert extend(ref) == (500_000, date(2027, 6, 30))
    s = summary(ref)
    assert (s.total_granted_cents, s.residential_cap_cents, s.extension_used) == (1_500_001, 750_000, True)
    book(ref, services["verblijf"], 250_000, on=date(2027, 6, 30))  # the cap is over the total now
    assert refused(book, ref, services["ambulant"], 1, on=date(2027, 7, 1))[0][0] == "outside_term"
    assert refused(extend, ref) == [
        (
            "second_extension",
            "Het budget werd al eenmaal verlengd (tot 30-06-2027); een tweede verlenging is niet toegestaan.",
        )
    ]
    with unit_of_work() as session:
        events = session.scalars(
            select(CaseEvent.summary)
            .join(Case)
            .where(Case.reference == ref, CaseEvent.kind == "budget_extended")
        ).all()
    assert events == [
        "Budget eenmaal verlengd met € 5.000,00 (de helft van € 10.000,01), termijn tot en met 30-06-2027. "
        "Totaal toegekend: € 15.000,01; verblijf max. € 7.500,00."
    ]


def test_closed_plan_and_other_tracks(services):
    closed = budget_case(status="closed")
    assert refused(book, closed, services["ambulant"], 100)[0][0] == "plan_not_active"
    assert refused(extend, closed)[0][0] == "plan_not_active"
    regular = budget_case(track="regular", with_budget=False)
    assert refused(book, regular, services["ambulant"], 100)[0][0] == "not_budget_track"
    assert refused(extend, regular)[0][0] == "not_budget_track"
    regular_with_budget = budget_case(track="regular")
    assert refused(book, regular_with_budget, services["ambulant"], 100)[0][0] == "not_budget_track"


def test_reversal_stays_possible_after_closure(services):
    ref = budget_case()
    entry = book(ref, services["ambulant"], 100)
    with unit_of_work() as session:
        case = session.scalars(select(Case).where(Case.reference == ref)).one()
        session.scalars(select(CarePlan).where(CarePlan.case_id == case.id)).one().status = "closed"
    assert reverse(ref, entry.id).reverses_id == entry.id


def test_bad_input_names_the_rule_and_stores_nothing(services):
    ref = budget_case()
    assert refused(book, ref, "no-such-service", 100)[0][0] == "unknown_service"
    assert refused(book, ref, services["ambulant"], 0)[0][0] == "invalid_amount"
    assert refused(book, ref, services["ambulant"], -100)[0][0] == "invalid_amount"
    assert refused(book, ref, services["ambulant"], 100, kind="reversal")[0][0] == "invalid_kind"
    assert refused(book, ref, services["ambulant"], 10**9)[0][0] == "too_large"
    retired = new_service(residential=False, active=False)
    assert refused(book, ref, retired, 100)[0][0] == "service_inactive"


def test_idempotency_key(services):
    ref = budget_case()
    key = f"booking-{ref}"
    first = book(ref, services["ambulant"], 100_000, idempotency_key=key, note="x")
    again = book(ref, services["ambulant"], 100_000, idempotency_key=key, note="x")
    assert again.id == first.id
    assert len(snapshot(ref).entries) == 1
    before = snapshot(ref)
    with pytest.raises(IdempotencyConflict):
        book(ref, services["ambulant"], 100_001, idempotency_key=key, note="x")
    other = budget_case()
    with pytest.raises(IdempotencyConflict):
        book(other, services["ambulant"], 100_000, idempotency_key=key, note="x")
    assert snapshot(ref) == before


def test_unknown_case_and_case_without_plan(services):
    with pytest.raises(NotFound), unit_of_work() as session:
        budget.summary(session, "ZT-0000-NOPE00")
    from tests.budget.conftest import registered

    ref = registered()
    with pytest.raises(budget.NoBudget), unit_of_work() as session:
        budget.summary(session, ref)
    with pytest.raises(budget.NoBudget):
        book(ref, services["ambulant"], 100)


def test_summary_and_artifact_dict(services):
    ref = budget_case()
    book(ref, services["verblijf"], 250_000)
    book(ref, services["ambulant"], 100_000, note="Moeder Xanthippe Quarendonck")
    book(ref, services["ambulant"], 40_000, kind="spend")
    s = summary(ref)
    assert (s.granted_cents, s.extension_cents, s.total_granted_cents) == (GRANTED, 0, GRANTED)
    assert (s.committed_cents, s.spent_cents, s.remaining_cents) == (350_000, 40_000, 650_000)
    assert (s.residential_committed_cents, s.residential_cap_cents, s.residential_remaining_cents) == (
        250_000,
        500_000,
        250_000,
    )
    assert str(s.residential_share_pct) == "25.0"
    assert not s.extension_used
    assert {line.code: (line.committed_cents, line.spent_cents) for line in s.per_service} == {
        services["verblijf"]: (250_000, 0),
        services["ambulant"]: (100_000, 40_000),
    }
    d = s.to_dict()
    assert d["reference"] == ref
    assert d["committed"] == "€ 3.500,00" and d["committed_cents"] == 350_000
    assert d["residential_share_pct"] == "25.0"
    flat = str(d)
    for secret in ("Xanthippe", "Quarendonck", services["verblijf"], "CKG", "Contextbegeleiding"):
        assert secret not in flat


def test_a_stale_read_never_claims_the_budget(services):
    """The conditional UPDATE: a state read before someone else's booking cannot be written."""
    ref = budget_case()
    with unit_of_work() as session:
        case = session.scalars(select(Case).where(Case.reference == ref)).one()
        stale = budget._read_state(session, case_id=case.id)
    book(ref, services["ambulant"], 100)  # someone else books meanwhile
    with unit_of_work() as session:
        assert budget._claim(session, stale) is False
    with unit_of_work() as session:  # and a plan changed since the read does not claim either
        fresh = budget._read_state(session, case_id=case.id)
    with unit_of_work() as session:
        session.scalars(select(CarePlan).where(CarePlan.case_id == case.id)).one().status = "closed"
    with unit_of_work() as session:
        assert budget._claim(session, fresh) is False
    with unit_of_work() as session:
        assert session.scalars(select(LedgerEntry).where(LedgerEntry.budget_id == fresh.budget_id)).all()
