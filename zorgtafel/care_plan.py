"""The outcome of a zorgtafel and the plan that follows: one core function for both ways in
(the case manager's API call and the coordinator's resume form in the Prefect UI), so both get
the same validation; the evaluations every 6 weeks; the extension; closure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from zorgtafel import budget, invitations, timeline
from zorgtafel.db.models import Budget, CarePlan, Case, Evaluation, PlanGoal, PlanService, Service
from zorgtafel.errors import FieldProblem, ValidationFailed
from zorgtafel.route import load_case
from zorgtafel.rules.term import at_local_time, evaluation_days, term_end
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import LIFE_DOMAIN_LABELS_NL, CaseStatus, EvaluationOutcome, LifeDomain, Track

TRACK_LABELS = {
    Track.CASE_BUDGET: "casusgebonden middelen",
    Track.REGULAR: "reguliere opstart",
    Track.NONE: "geen verder traject",
}
MIN_REASONS = 10


@dataclass(frozen=True)
class OutcomeIn:
    track: str
    reasons: str
    goals: tuple[tuple[str, str], ...] = ()  # (life domain, goal)
    service_codes: tuple[str, ...] = ()
    starts_on: date | None = None
    closure_note: str | None = None  # for track "none": where the child lives, what continues


@dataclass(frozen=True)
class ClosureIn:
    child_lives: str  # at_home | network_foster_family | foster_family | ckg_living_group | other
    continuing_services: tuple[str, ...] = ()
    note: str | None = None
    reasons: str = ""


CHILD_LIVES = ("at_home", "network_foster_family", "foster_family", "ckg_living_group", "other")


@dataclass
class _Problems:
    items: list[FieldProblem] = field(default_factory=list)

    def add(self, loc: tuple[str | int, ...], code: str, message: str) -> None:
        self.items.append(FieldProblem(loc, code, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)


def _services(session: Session, codes: tuple[str, ...], track: str, problems: _Problems) -> list[Service]:
    found = []
    for i, code in enumerate(codes):
        service = session.scalar(select(Service).where(Service.code == code, Service.active))
        if service is None:
            problems.add(
                ("services", i), "unknown_service", f"Onbekende dienst '{code}'; zie GET /api/v1/services."
            )
        elif track not in service.tracks:
            problems.add(
                ("services", i),
                "service_not_on_track",
                f"'{service.name}' hoort niet bij het spoor {TRACK_LABELS.get(Track(track), track)}.",
            )
        else:
            found.append(service)
    return found


def record_outcome(
    session: Session, reference: str, outcome: OutcomeIn, *, actor: str, now: datetime, settings: Settings
) -> CarePlan:
    """Record what the zorgtafel decided, once; a refusal names each broken rule and stores nothing."""
    case = load_case(session, reference)
    problems = _Problems()
    z = case.zorgtafel
    if z is None or z.status == "cancelled":
        problems.add(("zorgtafel",), "zorgtafel_not_planned", "Er is geen (niet-geannuleerde) zorgtafel.")
    elif z.starts_at > now:
        local = z.starts_at.astimezone(settings.tz)
        problems.add(
            ("zorgtafel",),
            "zorgtafel_not_held",
            f"De zorgtafel is nog niet gehouden (gepland op {local:%d-%m-%Y %H:%M}).",
        )
    if session.scalar(select(CarePlan.id).where(CarePlan.case_id == case.id)) is not None:
        problems.add(
            ("outcome",), "outcome_already_recorded", "De uitkomst van deze zorgtafel is al vastgelegd."
        )
    try:
        track = Track(outcome.track)
    except ValueError:
        problems.add(("track",), "unknown_track", "Kies case_budget, regular of none.")
        problems.raise_if_any()
        raise
    if len(outcome.reasons.strip()) < MIN_REASONS:
        problems.add(
            ("reasons",),
            "reasons_required",
            "Schrijf de onderbouwing van de beslissing uit (uithuisplaatsing is ingrijpend).",
        )
    for i, (domain, text) in enumerate(outcome.goals):
        if domain not in LifeDomain.__members__.values():
            problems.add(
                ("goals", i, "life_domain"), "unknown_life_domain", f"Onbekend leefgebied '{domain}'."
            )
        if not text.strip():
            problems.add(("goals", i, "text"), "empty_goal", "Een doel mag niet leeg zijn.")
    if track is not Track.NONE and not outcome.goals:
        problems.add(
            ("goals",), "goals_required", "Een traject heeft minstens één doel per betrokken leefgebied."
        )
    if track is Track.NONE and outcome.service_codes:
        problems.add(
            ("services",), "services_without_route", "Zonder verder traject worden geen diensten gekozen."
        )
    services = _services(session, outcome.service_codes, track.value, problems)
    starts_on = outcome.starts_on or now.astimezone(settings.tz).date()
    if z is not None and starts_on < z.starts_at.astimezone(settings.tz).date():
        problems.add(
            ("starts_on",), "starts_before_zorgtafel", "Het plan kan niet vóór de zorgtafel starten."
        )
    problems.raise_if_any()

    plan = CarePlan(
        case_id=case.id,
        track=track.value,
        reasons=outcome.reasons.strip(),
        decided_at=now,
        decided_by=actor,
        status="active" if track is not Track.NONE else "closed",
    )
    plan.goals = [PlanGoal(life_domain=d, text=t.strip()) for d, t in outcome.goals]
    plan.services = [PlanService(service_id=s.id) for s in services]
    session.add(plan)
    if z is not None and z.status == "planned":
        z.status = "held"
    timeline.record(
        session,
        case,
        "outcome_recorded",
        f"Uitkomst zorgtafel: {TRACK_LABELS[track]}"
        + (f"; {len(plan.goals)} doel(en), {len(services)} dienst(en)." if track is not Track.NONE else "."),
        data={
            "track": track.value,
            "goals": [d for d, _ in outcome.goals],
            "services": list(outcome.service_codes),
        },
        actor=actor,
        at=now,
    )
    if track is Track.NONE:
        plan.closed_at = now
        plan.closure = {"child_lives": None, "continuing_services": [], "note": outcome.closure_note}
        case.status = CaseStatus.CLOSED
        timeline.record(
            session, case, "closed", "Dossier afgesloten: geen verder traject.", actor=actor, at=now
        )
        session.flush()
        return plan
    plan.starts_on = starts_on
    plan.term_ends_on = term_end(starts_on, settings.plan_term_months)
    if track is Track.CASE_BUDGET:
        plan.budget = Budget(
            granted_cents=settings.case_budget_cents, extension_cents=0, currency="EUR", version=0
        )
    case.status = CaseStatus.PLAN_ACTIVE
    added = add_evaluations(plan, until=plan.term_ends_on, settings=settings)
    session.flush()
    for evaluation in added:
        invitations.enqueue_evaluation(
            session, case, evaluation, method="REQUEST", now=now, settings=settings
        )
    return plan


def add_evaluations(plan: CarePlan, *, until: date, settings: Settings) -> list[Evaluation]:
    """Evaluation moments every N weeks from the plan's start up to ``until`` that do not exist yet."""
    assert plan.starts_on is not None
    have = {e.number for e in plan.evaluations}
    added = []
    for number, day in enumerate(
        evaluation_days(plan.starts_on, until, settings.evaluation_interval_weeks), 1
    ):
        if number in have:
            continue
        evaluation = Evaluation(
            number=number,
            due_at=at_local_time(day, settings.evaluation_time, settings.tz),
            status="scheduled",
            sequence=0,
        )
        plan.evaluations.append(evaluation)
        added.append(evaluation)
    return added


def plan_for(session: Session, reference: str) -> CarePlan:
    case = load_case(session, reference)
    plan = session.scalar(select(CarePlan).where(CarePlan.case_id == case.id))
    if plan is None:
        raise ValidationFailed([FieldProblem(("outcome",), "no_plan", "Er is nog geen uitkomst vastgelegd.")])
    return plan


def is_decision_point(plan: CarePlan, evaluation: Evaluation) -> bool:
    """The last evaluation of the first term is where extension is decided."""
    first_term = [e for e in plan.evaluations if plan.term_ends_on and e.due_at.date() <= plan.term_ends_on]
    return bool(first_term) and evaluation.number == max(e.number for e in first_term)


def overdue(evaluation: Evaluation, *, now: datetime, settings: Settings) -> bool:
    return evaluation.status == "scheduled" and now > evaluation.due_at + timedelta(
        hours=settings.evaluation_overdue_hours
    )


def next_evaluation(plan: CarePlan) -> Evaluation | None:
    return next((e for e in plan.evaluations if e.status == "scheduled"), None)


def close(
    session: Session, reference: str, closure: ClosureIn, *, actor: str, now: datetime, settings: Settings
) -> CarePlan:
    """Close the plan (end of term or decision), recording where the child lives and what continues.
    Evaluations still to come are cancelled (their scheduled runs are cancelled by the caller)."""
    plan = plan_for(session, reference)
    problems = _Problems()
    if plan.status != "active":
        problems.add(("care_plan",), "plan_not_active", "Dit plan is al afgesloten.")
    if closure.child_lives not in CHILD_LIVES:
        problems.add(("child_lives",), "unknown_child_lives", f"Kies uit: {', '.join(CHILD_LIVES)}.")
    problems.raise_if_any()
    case = session.get_one(Case, plan.case_id)
    plan.status = "closed"
    plan.closed_at = now
    plan.closure = {
        "child_lives": closure.child_lives,
        "continuing_services": list(closure.continuing_services),
        "note": closure.note,
    }
    for e in plan.evaluations:
        if e.status == "scheduled":
            e.status = "cancelled"
            e.sequence += 1
            invitations.enqueue_evaluation(session, case, e, method="CANCEL", now=now, settings=settings)
    case.status = CaseStatus.CLOSED
    timeline.record(
        session,
        case,
        "closed",
        f"Dossier afgesloten; het kind woont: {closure.child_lives}.",
        data={"child_lives": closure.child_lives, "continuing_services": list(closure.continuing_services)},
        actor=actor,
        at=now,
    )
    return plan


@dataclass(frozen=True)
class EvaluationIn:
    number: int
    outcome: str
    note: str = ""
    closure: ClosureIn | None = None


def record_evaluation(
    session: Session, reference: str, result: EvaluationIn, *, actor: str, now: datetime, settings: Settings
) -> Evaluation:
    """Record an evaluation and carry out its outcome: continue, adjust, extend (once, at the end
    of the first term, case-bound budget only), move to the regular track, or close."""
    plan = plan_for(session, reference)
    evaluation = next((e for e in plan.evaluations if e.number == result.number), None)
    problems = _Problems()
    if evaluation is None:
        problems.add(("number",), "unknown_evaluation", f"Geen evaluatie nummer {result.number}.")
        problems.raise_if_any()
    assert evaluation is not None
    if evaluation.status != "scheduled":
        problems.add(("number",), "evaluation_not_open", "Deze evaluatie is al gehouden of geannuleerd.")
    if plan.status != "active":
        problems.add(("care_plan",), "plan_not_active", "Dit plan is afgesloten.")
    try:
        outcome = EvaluationOutcome(result.outcome)
    except ValueError:
        problems.add(("outcome",), "unknown_outcome", "Kies continue, adjust, extend, regular of close.")
        problems.raise_if_any()
        raise
    if outcome is EvaluationOutcome.EXTEND:
        if plan.extended_until is not None:
            problems.add(
                ("outcome",),
                "second_extension",
                "Het traject werd al eens verlengd; een tweede keer kan niet.",
            )
        elif plan.track != Track.CASE_BUDGET:
            problems.add(
                ("outcome",),
                "not_budget_track",
                "Alleen een traject met casusgebonden middelen wordt verlengd.",
            )
        elif not is_decision_point(plan, evaluation):
            problems.add(
                ("outcome",),
                "extend_not_at_term_end",
                "Verlengen beslist men op de laatste evaluatie van de eerste termijn.",
            )
    if outcome is EvaluationOutcome.CLOSE and result.closure is None:
        problems.add(("closure",), "closure_required", "Vermeld bij afsluiten waar het kind woont.")
    problems.raise_if_any()

    evaluation.status = "held"
    evaluation.outcome = outcome.value
    evaluation.held_at = now
    case = session.get_one(Case, plan.case_id)
    timeline.record(
        session,
        case,
        "evaluation_held",
        f"Evaluatie {evaluation.number}: {outcome.value}.",
        data={"number": evaluation.number, "outcome": outcome.value},
        actor=actor,
        at=now,
    )
    if outcome is EvaluationOutcome.EXTEND:
        budget.grant_extension(session, plan, actor=actor, now=now)
        assert plan.extended_until is not None
        added = add_evaluations(plan, until=plan.extended_until, settings=settings)
        session.flush()
        for e in added:
            invitations.enqueue_evaluation(session, case, e, method="REQUEST", now=now, settings=settings)
    elif outcome is EvaluationOutcome.REGULAR:
        plan.track = Track.REGULAR.value
        timeline.record(
            session, case, "track_changed", "Traject gaat verder als reguliere opstart.", actor=actor, at=now
        )
    elif outcome is EvaluationOutcome.CLOSE:
        assert result.closure is not None
        close(session, reference, result.closure, actor=actor, now=now, settings=settings)
    session.flush()
    return evaluation


def reschedule_evaluation(
    session: Session,
    reference: str,
    number: int,
    *,
    due_at: datetime,
    reason: str,
    actor: str,
    now: datetime,
    settings: Settings,
) -> Evaluation:
    """Move an evaluation: SEQUENCE + 1 and an updated invitation to everyone (its Prefect run is
    moved by the orchestration adapter)."""
    plan = plan_for(session, reference)
    evaluation = next((e for e in plan.evaluations if e.number == number), None)
    problems = _Problems()
    if evaluation is None or evaluation.status != "scheduled":
        problems.add(("number",), "evaluation_not_open", "Geen open evaluatie met dit nummer.")
    if due_at.tzinfo is None:
        problems.add(("due_at",), "naive_datetime", "Geef een tijdstip met tijdzone.")
    elif due_at <= now:
        problems.add(("due_at",), "starts_in_past", "Het nieuwe tijdstip ligt in het verleden.")
    if len(reason.strip()) < 3:
        problems.add(("reason",), "reason_required", "Geef een reden.")
    problems.raise_if_any()
    assert evaluation is not None
    evaluation.due_at = due_at
    evaluation.sequence += 1
    case = session.get_one(Case, plan.case_id)
    local = due_at.astimezone(settings.tz)
    timeline.record(
        session,
        case,
        "evaluation_rescheduled",
        f"Evaluatie {number} verplaatst naar {local:%d-%m-%Y %H:%M}; reden: {reason.strip()}",
        data={"number": number, "due_at": due_at.isoformat(), "sequence": evaluation.sequence},
        actor=actor,
        at=now,
    )
    invitations.enqueue_evaluation(session, case, evaluation, method="REQUEST", now=now, settings=settings)
    return evaluation


def goal_labels() -> dict[str, str]:
    return {d.value: label for d, label in LIFE_DOMAIN_LABELS_NL.items()}
