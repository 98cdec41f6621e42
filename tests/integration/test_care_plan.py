"""The outcome, the plan's term, evaluations every 6 weeks, the one extension and closure, on the
real database. The same core functions serve the API and the Prefect resume forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.integration.test_route_steps import plan_for, registered
from zorgtafel import care_plan, route
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Budget, CarePlan, Service
from zorgtafel.db.session import unit_of_work
from zorgtafel.errors import ValidationFailed
from zorgtafel.settings import get_settings


def planned() -> tuple[str, datetime]:
    ref = registered()
    plan = plan_for(ref)
    assert plan is not None
    with unit_of_work() as session:
        route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=get_settings())
    return ref, plan.starts_at


def service(code: str, tracks: list[str], residential: bool = False) -> str:
    with unit_of_work() as session:
        if session.scalar(select(Service.id).where(Service.code == code)) is None:
            session.add(
                Service(
                    code=code, name=code, description="", unit="hour", residential=residential, tracks=tracks
                )
            )
    return code


GOALS = (("housing", "Een stabiele woonplek binnen 3 maanden."), ("child_development", "Veilige hechting."))
REASONS = "Thuis is onvoldoende veilig; netwerk draagt mee; ouders werken mee."


def record(ref: str, now: datetime, **kw: object) -> CarePlan:
    outcome = care_plan.OutcomeIn(
        **{"track": "case_budget", "reasons": REASONS, "goals": GOALS, "service_codes": (), **kw}  # type: ignore[arg-type]
    )
    with unit_of_work() as session:
        return care_plan.record_outcome(session, ref, outcome, actor="test", now=now, settings=get_settings())


def problems(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {p.code for p in exc.value.problems}


def plan_count() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(CarePlan)) or 0


def test_no_outcome_before_the_zorgtafel_is_held():
    ref, starts_at = planned()
    before = plan_count()
    with pytest.raises(ValidationFailed) as exc:
        record(ref, starts_at - timedelta(minutes=1))
    assert problems(exc) == {"zorgtafel_not_held"}
    assert plan_count() == before


def test_every_broken_rule_is_named_and_nothing_is_stored():
    ref, starts_at = planned()
    service("zt-test-regular-only", ["regular"])
    before = plan_count()
    with pytest.raises(ValidationFailed) as exc:
        record(
            ref,
            starts_at + timedelta(hours=2),
            reasons="kort",
            goals=(("astrology", "x"), ("housing", " ")),
            service_codes=("bestaat-niet", "zt-test-regular-only"),
        )
    assert problems(exc) == {
        "reasons_required",
        "unknown_life_domain",
        "empty_goal",
        "unknown_service",
        "service_not_on_track",
    }
    assert plan_count() == before
    with pytest.raises(ValidationFailed) as exc:
        record(ref, starts_at + timedelta(hours=2), goals=())
    assert problems(exc) == {"goals_required"}


def test_budget_track_gets_budget_term_and_evaluations_every_six_weeks_in_local_time():
    ref, starts_at = planned()
    settings = get_settings()
    svc = service("zt-test-amber", ["case_budget"])
    plan = record(ref, starts_at + timedelta(hours=2), starts_on=date(2027, 2, 15), service_codes=(svc,))
    assert plan.term_ends_on == date(2027, 5, 14)
    with unit_of_work() as session:
        stored = session.get_one(CarePlan, plan.id)
        assert stored.budget is not None and stored.budget.granted_cents == settings.case_budget_cents
        assert stored.budget.extension_cents == 0
        due = [e.due_at for e in stored.evaluations]
        assert [d.astimezone(settings.tz).date() for d in due] == [date(2027, 3, 29), date(2027, 5, 10)]
        # 10:00 on the wall clock on both sides of the switch to summer time (29 March 2027 is after it).
        assert [d.astimezone(settings.tz).hour for d in due] == [10, 10]
        assert due[0].astimezone(UTC).hour == 8
        assert route.load_case(session, ref).status == "plan_active"
        assert [g.life_domain for g in stored.goals] == ["housing", "child_development"]
    with pytest.raises(ValidationFailed) as exc:
        record(ref, starts_at + timedelta(hours=3))
    assert problems(exc) == {"outcome_already_recorded"}


def test_no_further_route_closes_the_case_at_once():
    ref, starts_at = planned()
    plan = record(
        ref, starts_at + timedelta(hours=2), track="none", goals=(), closure_note="Regulier vervolg."
    )
    with unit_of_work() as session:
        stored = session.get_one(CarePlan, plan.id)
        assert stored.status == "closed" and stored.evaluations == []
        assert route.load_case(session, ref).status == "closed"
        assert (
            session.scalar(select(func.count()).select_from(Budget).where(Budget.care_plan_id == plan.id))
            == 0
        )


def evaluate(ref: str, number: int, outcome: str, **kw: object) -> None:
    with unit_of_work() as session:
        care_plan.record_evaluation(
            session,
            ref,
            care_plan.EvaluationIn(number=number, outcome=outcome, **kw),  # type: ignore[arg-type]
            actor="test",
            now=utcnow(),
            settings=get_settings(),
        )


def test_extension_only_once_and_only_at_the_end_of_the_first_term():
    ref, starts_at = planned()
    record(ref, starts_at + timedelta(hours=2), starts_on=starts_at.date())
    with pytest.raises(ValidationFailed) as exc:
        evaluate(ref, 1, "extend")
    assert problems(exc) == {"extend_not_at_term_end"}
    evaluate(ref, 1, "continue")
    evaluate(ref, 2, "extend")
    with unit_of_work() as session:
        plan = care_plan.plan_for(session, ref)
        assert plan.budget is not None
        assert plan.budget.extension_cents == plan.budget.granted_cents // 2
        assert plan.extended_until is not None
        assert [e.number for e in plan.evaluations] == [1, 2, 3, 4]  # 6-weekly through the extension
        assert all(e.due_at.date() <= plan.extended_until for e in plan.evaluations)
    with pytest.raises(ValidationFailed) as exc:
        evaluate(ref, 4, "extend")
    assert "second_extension" in problems(exc)
    with pytest.raises(ValidationFailed) as exc:
        evaluate(ref, 2, "continue")
    assert problems(exc) == {"evaluation_not_open"}


def test_closing_cancels_what_is_still_scheduled_and_records_where_the_child_lives():
    ref, starts_at = planned()
    record(ref, starts_at + timedelta(hours=2))
    with pytest.raises(ValidationFailed) as exc:
        evaluate(ref, 1, "close")
    assert problems(exc) == {"closure_required"}
    evaluate(
        ref, 1, "close", closure=care_plan.ClosureIn(child_lives="at_home", continuing_services=("ckg",))
    )
    with unit_of_work() as session:
        plan = care_plan.plan_for(session, ref)
        assert plan.status == "closed"
        assert plan.closure["child_lives"] == "at_home"
        assert [e.status for e in plan.evaluations] == ["held", "cancelled"]
        assert route.load_case(session, ref).status == "closed"
    with pytest.raises(ValidationFailed) as exc:
        evaluate(ref, 2, "continue")
    assert "plan_not_active" in problems(exc) or "evaluation_not_open" in problems(exc)


def test_an_evaluation_not_held_in_time_is_overdue():
    ref, starts_at = planned()
    record(ref, starts_at + timedelta(hours=2))
    settings = get_settings()
    with unit_of_work() as session:
        first = care_plan.plan_for(session, ref).evaluations[0]
        assert not care_plan.overdue(first, now=first.due_at, settings=settings)
        late = first.due_at + timedelta(hours=settings.evaluation_overdue_hours, minutes=1)
        assert care_plan.overdue(first, now=late, settings=settings)


def kinds_for(ref: str) -> list[tuple[str, str]]:
    from zorgtafel.db.models import OutboxMessage

    with unit_of_work() as session:
        case_id = route.load_case(session, ref).id
        rows = session.execute(
            select(OutboxMessage.kind, OutboxMessage.payload).where(OutboxMessage.case_id == case_id)
        ).all()
    return [(k, p.get("method", "")) for k, p in rows]


def test_evaluations_are_invited_as_single_events_moved_and_cancelled_with_the_plan():
    ref, starts_at = planned()
    record(ref, starts_at + timedelta(hours=2))
    invited = [k for k in kinds_for(ref) if k == ("evaluation_invitation", "REQUEST")]
    assert len(invited) == 2 * 5  # two evaluations, five mailed participants each
    with unit_of_work() as session:
        first = care_plan.plan_for(session, ref).evaluations[0]
        old_due = first.due_at
    with unit_of_work() as session:
        moved = care_plan.reschedule_evaluation(
            session,
            ref,
            1,
            due_at=old_due + timedelta(days=2),
            reason="Feestdag.",
            actor="test",
            now=utcnow(),
            settings=get_settings(),
        )
        assert moved.sequence == 1
    assert [k for k in kinds_for(ref) if k == ("evaluation_invitation", "REQUEST")].__len__() == 15
    with unit_of_work() as session:
        care_plan.close(
            session,
            ref,
            care_plan.ClosureIn(child_lives="at_home"),
            actor="test",
            now=utcnow(),
            settings=get_settings(),
        )
    assert len([k for k in kinds_for(ref) if k == ("evaluation_invitation", "CANCEL")]) == 2 * 5
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as session:
        care_plan.reschedule_evaluation(
            session,
            ref,
            2,
            due_at=utcnow() + timedelta(days=9),
            reason="x y z",
            actor="t",
            now=utcnow(),
            settings=get_settings(),
        )
    assert problems(exc) == {"evaluation_not_open"}
