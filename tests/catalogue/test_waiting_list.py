"""The waiting list for a place (seed 001 §1.5.4) on the real database, with explicit clocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.catalogue.conftest import registered
from tests.factories import CHILD_NAME, FAMILY_NAMES
from zorgtafel import waiting_list as wl
from zorgtafel.db.models import Case, CaseEvent, Service, WaitingListEntry
from zorgtafel.db.session import unit_of_work
from zorgtafel.errors import NotFound, ValidationFailed

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
BK = "bijzonder-klein"


def listed(reference: str | None = None, at: datetime = T0) -> tuple[str, int]:
    reference = reference or registered()
    with unit_of_work() as session:
        entry = wl.put_on_list(session, reference, BK, now=at, actor="case_manager")
        return reference, entry.id


def entry(entry_id: int) -> WaitingListEntry:
    with unit_of_work() as session:
        return session.get_one(WaitingListEntry, entry_id)


def days(entry_id: int, now: datetime) -> int:
    return wl.waiting_days(entry(entry_id), now)


def refuse(entry_id: int, now: datetime, *, valid: bool, reason: str = "Plek past niet") -> None:
    with unit_of_work() as session:
        wl.offer_and_refuse(
            session, entry_id, valid_reason=valid, reason=reason, now=now, actor="case_manager"
        )


def events(reference: str) -> list[CaseEvent]:
    with unit_of_work() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        return [e for e in case.events if e.kind.startswith("waiting_list")]


def refused_with(call: object) -> tuple[str, ...]:
    with pytest.raises(ValidationFailed) as refused:
        call()  # type: ignore[operator]
    return tuple(p.code for p in refused.value.problems)


def test_waiting_days_count_whole_days_from_the_listing():
    ref, entry_id = listed()
    assert days(entry_id, T0) == 0
    assert days(entry_id, T0 + DAY - timedelta(seconds=1)) == 0
    assert days(entry_id, T0 + 10 * DAY) == 10
    assert days(entry_id, T0 - DAY) == 0  # never below zero
    assert [e.kind for e in events(ref)] == ["waiting_list_added"]


def test_a_valid_reason_changes_nothing_but_is_recorded():
    ref, entry_id = listed()
    before = entry(entry_id)
    refuse(entry_id, T0 + 5 * DAY, valid=True, reason="Plek ligt te ver van het netwerk")
    after = entry(entry_id)
    assert (after.status, after.credited_days, after.counting_since, after.refusals_without_reason) == (
        before.status,
        before.credited_days,
        before.counting_since,
        0,
    )
    assert days(entry_id, T0 + 7 * DAY) == 7
    last = events(ref)[-1]
    assert last.kind == "waiting_list_refused_valid"
    assert "geldige reden" in last.summary and last.at == T0 + 5 * DAY


def test_first_refusal_without_a_valid_reason_puts_the_days_on_hold():
    ref, entry_id = listed()
    refuse(entry_id, T0 + 10 * DAY + timedelta(hours=5), valid=False)
    held = entry(entry_id)
    assert (held.status, held.credited_days, held.counting_since, held.refusals_without_reason) == (
        "waiting",
        10,
        None,
        1,
    )
    assert wl.on_hold(held)
    # Time passes; the days stand still.
    for later in (T0 + 11 * DAY, T0 + 40 * DAY, T0 + 400 * DAY):
        assert days(entry_id, later) == 10
    assert events(ref)[-1].kind == "waiting_list_on_hold"
    assert "on hold op 10 dagen" in events(ref)[-1].summary


def test_after_the_talk_counting_resumes_on_top_of_the_days_kept():
    _, entry_id = listed()
    refuse(entry_id, T0 + 10 * DAY, valid=False)
    with unit_of_work() as session:
        wl.resume_counting(session, entry_id, now=T0 + 30 * DAY, actor="case_manager")
    assert days(entry_id, T0 + 30 * DAY) == 10
    assert days(entry_id, T0 + 35 * DAY) == 15


def test_second_refusal_without_a_valid_reason_sets_the_days_to_zero_and_leads_to_a_talk():
    ref, entry_id = listed()
    refuse(entry_id, T0 + 10 * DAY, valid=False)
    with unit_of_work() as session:
        wl.resume_counting(session, entry_id, now=T0 + 20 * DAY, actor="case_manager")
    refuse(entry_id, T0 + 25 * DAY, valid=True)  # a valid one in between changes nothing
    assert days(entry_id, T0 + 25 * DAY) == 15
    refuse(entry_id, T0 + 30 * DAY, valid=False)
    reset = entry(entry_id)
    assert (reset.status, reset.credited_days, reset.counting_since, reset.refusals_without_reason) == (
        "talk",
        0,
        None,
        2,
    )
    assert days(entry_id, T0 + 90 * DAY) == 0
    assert events(ref)[-1].kind == "waiting_list_reset"
    assert "op nul" in events(ref)[-1].summary and "alternatieven" in events(ref)[-1].summary
    # No offers during the talk; the talk may find the service still fits: counting from zero.
    assert refused_with(lambda: refuse(entry_id, T0 + 31 * DAY, valid=False)) == ("not_waiting",)
    with unit_of_work() as session:
        wl.resume_counting(session, entry_id, now=T0 + 100 * DAY, actor="case_manager")
    assert days(entry_id, T0 + 103 * DAY) == 3
    # The count is never reset: the next refusal without a valid reason is zero again.
    refuse(entry_id, T0 + 110 * DAY, valid=False)
    assert (entry(entry_id).status, days(entry_id, T0 + 120 * DAY)) == ("talk", 0)


def test_a_second_refusal_while_on_hold_also_sets_zero():
    _, entry_id = listed()
    refuse(entry_id, T0 + 10 * DAY, valid=False)
    refuse(entry_id, T0 + 12 * DAY, valid=False)
    assert (entry(entry_id).status, days(entry_id, T0 + 50 * DAY)) == ("talk", 0)


def test_resume_only_when_the_days_stand_still():
    _, entry_id = listed()

    def resume() -> None:
        with unit_of_work() as session:
            wl.resume_counting(session, entry_id, now=T0 + DAY, actor="case_manager")

    assert refused_with(resume) == ("not_on_hold",)


def test_only_services_with_places_have_a_list_and_a_case_is_on_it_once():
    ref = registered()
    with unit_of_work() as session:
        assert refused_with(lambda: wl.put_on_list(session, ref, "kraamzorg", now=T0, actor="cm")) == (
            "no_places",
        )
        assert refused_with(lambda: wl.put_on_list(session, ref, "geen-dienst", now=T0, actor="cm")) == (
            "unknown_service",
        )
        with pytest.raises(NotFound):
            wl.put_on_list(session, "ZT-BESTAATNIET", BK, now=T0, actor="cm")
        assert refused_with(
            lambda: wl.put_on_list(session, ref, BK, now=T0.replace(tzinfo=None), actor="cm")
        ) == ("naive_datetime",)
    listed(ref)
    with unit_of_work() as session:
        assert refused_with(lambda: wl.put_on_list(session, ref, BK, now=T0, actor="cm")) == (
            "already_listed",
        )
        assert len(wl.entries_for_case(session, ref)) == 1


def test_a_refusal_needs_a_reason():
    _, entry_id = listed()
    assert refused_with(lambda: refuse(entry_id, T0 + DAY, valid=False, reason="  ")) == ("reason_required",)
    assert entry(entry_id).refusals_without_reason == 0  # refused input stores nothing


def test_bridging_support_is_recorded():
    ref, entry_id = listed()
    with unit_of_work() as session:
        wl.set_bridging(
            session,
            entry_id,
            bridging="Ambulante gezinsbegeleiding, 4 uur per week",
            now=T0 + DAY,
            actor="cm",
        )
    assert entry(entry_id).bridging == "Ambulante gezinsbegeleiding, 4 uur per week"
    with unit_of_work() as session:
        wl.set_bridging(
            session, entry_id, bridging="Contextbegeleiding, 6 uur per week", now=T0 + 9 * DAY, actor="cm"
        )
    assert entry(entry_id).bridging == "Contextbegeleiding, 6 uur per week"
    kinds = [(e.kind, e.summary) for e in events(ref) if e.kind == "waiting_list_bridging"]
    assert [s.endswith("vastgelegd.") for _, s in kinds] == [True, False]
    assert all("uur per week" not in s for _, s in kinds)  # the text stays on the entry
    with unit_of_work() as session:
        assert refused_with(lambda: wl.set_bridging(session, entry_id, bridging="", now=T0, actor="cm")) == (
            "bridging_required",
        )


@pytest.fixture
def free_places() -> Iterator[None]:
    """Bijzonder Klein's places are shared by the whole suite: end every stay this test began."""
    with unit_of_work() as session:
        service_id = session.scalars(select(Service.id).where(Service.code == BK)).one()
        before = set(
            session.scalars(
                select(WaitingListEntry.id).where(
                    WaitingListEntry.service_id == service_id, WaitingListEntry.status == "placed"
                )
            )
        )
    assert not before, "another test left a Bijzonder Klein place taken"
    yield
    with unit_of_work() as session:
        for placed in session.scalars(
            select(WaitingListEntry).where(
                WaitingListEntry.service_id == service_id, WaitingListEntry.status == "placed"
            )
        ):
            wl.withdraw(session, placed.id, reason="Einde van de test", now=T0, actor="test")


def place(entry_id: int, now: datetime = T0 + 3 * DAY) -> None:
    with unit_of_work() as session:
        wl.place(session, entry_id, now=now, actor="case_manager")


def test_three_places_and_no_fourth(free_places: None):
    entries = [listed()[1] for _ in range(4)]
    for entry_id in entries[:3]:
        place(entry_id)
    with pytest.raises(ValidationFailed) as refused:
        place(entries[3])
    problem = refused.value.problems[0]
    assert problem.code == "capacity_full" and "3 plaatsen" in problem.message
    assert entry(entries[3]).status == "waiting"
    # A stay ends: its place is free for the next one.
    with unit_of_work() as session:
        wl.withdraw(
            session, entries[0], reason="Verblijf van 4 maanden afgerond", now=T0 + 120 * DAY, actor="cm"
        )
    place(entries[3], T0 + 121 * DAY)
    assert entry(entries[3]).status == "placed"
    assert days(entries[3], T0 + 500 * DAY) == 121  # frozen at the placement


def test_placement_freezes_the_days_and_ends_offers(free_places: None):
    ref, entry_id = listed()
    refuse(entry_id, T0 + 4 * DAY, valid=False)
    place(entry_id, T0 + 6 * DAY)
    placed = entry(entry_id)
    assert (placed.status, days(entry_id, T0 + 60 * DAY)) == ("placed", 4)
    assert refused_with(lambda: refuse(entry_id, T0 + 7 * DAY, valid=True)) == ("not_waiting",)
    assert refused_with(lambda: place(entry_id)) == ("not_waiting",)
    assert events(ref)[-1].kind == "waiting_list_placed"


def test_an_entry_belongs_to_its_case():
    _, entry_id = listed()
    other = registered()
    with unit_of_work() as session, pytest.raises(NotFound):
        wl.resume_counting(session, entry_id, now=T0, actor="cm", case_reference=other)
    with unit_of_work() as session, pytest.raises(NotFound):
        wl.place(session, 10**9, now=T0, actor="cm")


def test_withdrawn_entries_allow_a_new_listing_and_cannot_be_withdrawn_twice():
    ref, entry_id = listed()
    with unit_of_work() as session:
        wl.withdraw(session, entry_id, reason="Gezin verhuist", now=T0 + DAY, actor="cm")
    with unit_of_work() as session:
        assert refused_with(
            lambda: wl.withdraw(session, entry_id, reason="Nogmaals", now=T0, actor="cm")
        ) == ("already_withdrawn",)
    _, again = listed(ref, T0 + 2 * DAY)
    assert again != entry_id


def test_the_timeline_names_no_one():
    ref, entry_id = listed()
    refuse(entry_id, T0 + 2 * DAY, valid=False)
    refuse(entry_id, T0 + 3 * DAY, valid=False)
    with unit_of_work() as session:
        wl.resume_counting(session, entry_id, now=T0 + 4 * DAY, actor="cm")
        wl.set_bridging(session, entry_id, bridging="Amberbegeleiding", now=T0 + 4 * DAY, actor="cm")
    recorded = events(ref)
    assert len(recorded) == 5
    for event in recorded:
        text = event.summary + repr(event.data)
        assert all(name not in text for name in (*FAMILY_NAMES, CHILD_NAME)), event.summary
        assert set(event.data) == {
            "entry_id",
            "service",
            "status",
            "credited_days",
            "refusals_without_reason",
        }
