"""The route's steps on a real database: the fair pair, the earliest common slot before the
deadline, busy time respected, replays that change nothing, 'at risk' when no slot exists."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from api.routers.registrations import to_core
from api.schemas import RegistrationIn
from tests.factories import registration
from zorgtafel import route
from zorgtafel.clock import utcnow
from zorgtafel.db.models import BusyPeriod, Case, CaseManager, Expert, OutboxMessage, Participant, Zorgtafel
from zorgtafel.db.session import unit_of_work
from zorgtafel.registration import register_case
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import CaseStatus


def registered(**overrides: object) -> str:
    reg = to_core(RegistrationIn.model_validate(registration(**overrides)))
    with unit_of_work() as session:
        case, _ = register_case(session, reg, now=utcnow(), settings=get_settings())
        return case.reference


def plan_for(ref: str, now=None, settings=None) -> route.Plan | None:
    settings = settings or get_settings()
    with unit_of_work() as session:
        assert route.screen_step(session, ref)
        ids = route.shortlist(session, ref)
        return route.find_plan(session, ref, ids, now=now or utcnow(), settings=settings)


def test_plan_is_within_meeting_hours_and_before_the_deadline_with_two_experts():
    ref = registered()
    now = utcnow()
    plan = plan_for(ref, now)
    assert plan is not None
    settings = get_settings()
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        experts = [session.get_one(Expert, i) for i in plan.expert_ids]
        assert plan.starts_at <= case.zorgtafel_deadline
        assert plan.starts_at >= now + timedelta(minutes=settings.min_lead_minutes)
        assert plan.ends_at - plan.starts_at == timedelta(minutes=settings.zorgtafel_duration_minutes)
        assert experts[0].agency_id != experts[1].agency_id
        assert case.registrant_agency_id not in {e.agency_id for e in experts}
        local = plan.starts_at.astimezone(settings.tz)
        assert local.minute % settings.slot_step_minutes == 0
        windows = settings.parsed_meeting_hours.windows(plan.starts_at, plan.ends_at, settings.tz)
        assert next(windows) == (plan.starts_at, plan.ends_at)  # one window holds the whole meeting


def test_busy_experts_and_case_manager_push_the_slot_or_the_pair():
    ref = registered()
    now = utcnow()
    first = plan_for(ref, now)
    assert first is not None
    with unit_of_work() as session:
        manager_id = route.load_case(session, ref).case_manager_id
        # The case manager is busy at the first slot: the plan moves past it.
        session.add(BusyPeriod(case_manager_id=manager_id, starts_at=first.starts_at, ends_at=first.ends_at))
    try:
        second = plan_for(ref, now)
        assert second is not None
        assert second.starts_at >= first.ends_at or second.ends_at <= first.starts_at
        assert not (second.starts_at < first.ends_at and first.starts_at < second.ends_at)
    finally:
        with unit_of_work() as session:
            session.execute(delete(BusyPeriod).where(BusyPeriod.case_manager_id == manager_id))


def test_recording_twice_makes_one_zorgtafel_one_set_of_participants_and_intents():
    ref = registered()
    plan = plan_for(ref)
    assert plan is not None
    settings = get_settings()
    with unit_of_work() as session:
        z1 = route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=settings)
    with unit_of_work() as session:
        z2 = route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=settings)
        # A replay of the earlier steps returns what was recorded.
        assert route.shortlist(session, ref) == list(plan.expert_ids)
        assert route.find_plan(session, ref, [], now=utcnow(), settings=settings) == plan
    assert z1 == z2
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        assert case.status == CaseStatus.ZORGTAFEL_PLANNED
        assert (
            session.scalar(select(func.count()).select_from(Zorgtafel).where(Zorgtafel.case_id == case.id))
            == 1
        )
        assert (
            session.scalar(
                select(func.count()).select_from(Participant).where(Participant.zorgtafel_id == z1)
            )
            == 7
        )
        intents = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)).all()
        assert len(intents) == 5  # case manager, registrant, 2 experts, the consenting mother by mail
        assert len({i.idempotency_key for i in intents}) == 5
        for i in intents:
            assert i.payload["reference"] == ref
            assert "Quarendonck" not in str(i.payload)


def test_no_common_slot_before_the_deadline_marks_the_case_at_risk():
    ref = registered()
    settings = get_settings().model_copy(update={"meeting_hours": "mon 08:00-08:30"})
    # A 90-minute meeting never fits a 30-minute window.
    now = utcnow()
    with unit_of_work() as session:
        assert route.screen_step(session, ref)
        plan = route.find_plan(session, ref, route.shortlist(session, ref), now=now, settings=settings)
        assert plan is None
        reason = route.no_plan_reason(session, ref, now=now, settings=settings)
        route.mark_at_risk(session, ref, reason, now=now)
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        assert case.status == CaseStatus.AT_RISK
        assert (case.risk_reason, case.at_risk_since) == ("no_feasible_pair", now)
        assert case.events[-1].kind == "at_risk"
        assert case.events[-1].data == {"reason": "no_feasible_pair"}


def test_not_eligible_case_gets_one_notice_intent_however_often_it_is_screened():
    old = registration()["child"]["birth_date"]
    ref = registered(child={"birth_date": old.replace(old[:4], str(int(old[:4]) - 5), 1)})
    for _ in range(3):
        with unit_of_work() as session:
            assert route.screen_step(session, ref) is False
    with unit_of_work() as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == ref))
        intents = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all()
        assert [i.kind for i in intents] == ["not_eligible_notice"]


def test_least_loaded_case_manager_takes_a_new_case():
    with unit_of_work() as session:
        loads = dict(
            session.execute(
                select(CaseManager.id, func.count(Case.id))
                .outerjoin(Case, (Case.case_manager_id == CaseManager.id) & (Case.status != "not_eligible"))
                .group_by(CaseManager.id)
            ).all()
        )
    ref = registered()
    with unit_of_work() as session:
        assigned = route.load_case(session, ref).case_manager_id
    assert loads[assigned] == min(loads.values())
