"""What the matching is told about the pool, read from the real database: busy time, week loads,
load, absences, personal hours and caps, the concern map, holidays; decliners and replaced experts
are free again."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, select

from tests.convening.conftest import case_of, experts_of, plan, register, set_state
from zorgtafel import pool
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Absence, ConcernExpertise, Expert, ExpertiseTerm
from zorgtafel.db.session import unit_of_work
from zorgtafel.rules.matching import ExpertView, coverage
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import InvitationState


def views(now: datetime, start: datetime, end: datetime, ids: list[int]) -> dict[int, ExpertView]:
    with unit_of_work() as session:
        return {
            v.expert_id: v
            for v in pool.expert_views(
                session, start=start, end=end, now=now, settings=get_settings(), expert_ids=ids
            )
        }


def test_a_seated_expert_is_busy_loaded_and_counted_in_the_week_until_declining(clock):
    now = clock.at(0, "08:00")
    ref = register(now)
    p = plan(ref, now)
    ids = list(p.expert_ids)
    monday = clock.monday
    seen = views(now, now, now + timedelta(days=2), ids)
    for i in ids:
        assert seen[i].busy == ((p.starts_at, p.ends_at),)
        assert seen[i].week_loads == {monday: 1}
        assert seen[i].load >= 1
        assert seen[i].weekly_cap == get_settings().default_weekly_cap
    # The case's own zorgtafel can be left out (when it is re-planned).
    z_id = case_of(ref).zorgtafel.id
    with unit_of_work() as session:
        ignored = pool.expert_views(
            session,
            start=now,
            end=now + timedelta(days=2),
            now=now,
            settings=get_settings(),
            expert_ids=ids,
            ignore_zorgtafel_id=z_id,
        )
    assert all(v.busy == () and v.week_loads == {} for v in ignored)
    assert [v.load for v in ignored] == [seen[i].load - 1 for i in ids]

    # A decline frees the time and the week at once; so does a replacement.
    first, second = experts_of(ref)
    set_state(first.id, InvitationState.DECLINED)
    set_state(second.id, InvitationState.REPLACED)
    after = views(now, now, now + timedelta(days=2), ids)
    assert all(after[i].busy == () and after[i].week_loads == {} for i in ids)
    with unit_of_work() as session:
        manager_busy = pool.case_manager_busy(
            session, case_of(ref).case_manager_id, start=now, end=now + timedelta(days=2)
        )
    assert manager_busy == ((p.starts_at, p.ends_at),)


def test_absences_personal_hours_and_caps_come_from_the_expert(clock):
    now = clock.at(0, "08:00")
    with unit_of_work() as session:
        expert = session.scalars(select(Expert).where(Expert.active.is_(True)).order_by(Expert.id)).first()
        expert_id, saved = expert.id, (expert.meeting_hours, expert.weekly_cap)
        expert.meeting_hours = "mon-thu 09:00-17:00"
        expert.weekly_cap = 5
        session.add(
            Absence(expert_id=expert_id, starts_on=clock.monday, ends_on=clock.monday + timedelta(days=1))
        )
        session.add(Absence(expert_id=expert_id, starts_on=date(2020, 1, 1), ends_on=date(2020, 1, 2)))
    try:
        v = views(now, now, now + timedelta(days=2), [expert_id])[expert_id]
        assert v.absences == ((clock.monday, clock.monday + timedelta(days=1)),)
        assert v.weekly_cap == 5
        assert v.hours is not None and v.hours.by_weekday[4] == () and len(v.hours.by_weekday[0]) == 1
    finally:
        with unit_of_work() as session:
            session.execute(delete(Absence).where(Absence.expert_id == expert_id))
            e = session.get_one(Expert, expert_id)
            e.meeting_hours, e.weekly_cap = saved


def test_the_concern_map_and_public_holidays():
    with unit_of_work() as session:
        if session.get(ExpertiseTerm, "zt_test_code") is None:
            session.add(
                ExpertiseTerm(code="zt_test_code", label="Testcode", active=True, created_at=utcnow())
            )
            session.flush()
        session.add(ConcernExpertise(concern="justice", expertise_code="zt_test_code"))
    try:
        with unit_of_work() as session:
            assert "zt_test_code" in pool.concern_map(session)["justice"]
    finally:
        with unit_of_work() as session:
            session.execute(delete(ConcernExpertise).where(ConcernExpertise.expertise_code == "zt_test_code"))
            session.execute(delete(ExpertiseTerm).where(ExpertiseTerm.code == "zt_test_code"))
    settings = get_settings().model_copy(update={"public_holidays": "BE, NL"})
    assert pool.holiday_countries(settings) == ("BE", "NL")
    closed = pool.closed_days(settings, datetime(2031, 4, 25, tzinfo=UTC), datetime(2031, 4, 29, tzinfo=UTC))
    assert date(2031, 4, 26) in closed  # Koningsdag (NL) 2031 falls on Saturday 26 April
    assert date(2031, 4, 28) not in closed


def test_the_chosen_pair_covers_as_many_concerns_as_the_pool_allows_and_the_timeline_says_so(clock):
    now = clock.at(0, "08:00")
    ref = register(now)
    with unit_of_work() as session:
        cmap = pool.concern_map(session)
        experts = list(session.scalars(select(Expert).where(Expert.active.is_(True))))
    case = case_of(ref)
    concerns = set(case.concerns)
    candidates = [e for e in experts if e.agency_id != case.registrant_agency_id]
    best = max(
        len(coverage(concerns, cmap, a.expertise, b.expertise))
        for a, b in itertools.combinations(candidates, 2)
        if a.agency_id != b.agency_id
    )
    p = plan(ref, now)
    assert p.covered == best
    event = next(e for e in case_of(ref).events if e.kind == "experts_chosen")
    assert event.data["covered"] == best and event.data["concerns"] == len(concerns)
    assert f"{best} van de {len(concerns)} zorgen" in event.summary
    assert set(event.data) == {
        "expert_ids",
        "covered",
        "concerns",
        "pair_load",
        "fairness_window_days",
        "respond_by",
    }
