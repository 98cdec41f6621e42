"""The outcome of a zorgtafel, evaluations and closure, for case managers. The same core
functions serve the coordinator's resume forms in the Prefect UI; a run waiting there for the
answer given here is resumed with it, and the evaluation runs are kept in line."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.deps import RouteStarterDep, SessionDep, SettingsDep
from api.security import Principal, allow, visible_case
from zorgtafel import care_plan
from zorgtafel.clock import utcnow
from zorgtafel.plan_summary import overview
from zorgtafel.vocabulary import EvaluationOutcome, LifeDomain, Role, Track

router = APIRouter(prefix="/api/v1", tags=["care plans"])
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GoalIn(Strict):
    life_domain: LifeDomain
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class OutcomeBody(Strict):
    track: Track = Field(
        description="case_budget (casusgebonden middelen), regular (reguliere opstart), none"
    )
    reasons: Text = Field(description="The grounds of the decision, written down (seed 004).")
    goals: list[GoalIn] = Field(default_factory=list, max_length=30)
    services: list[Code] = Field(default_factory=list, max_length=30, description="Service codes.")
    starts_on: date | None = Field(None, description="Start of the plan; default today.")
    closure_note: Text | None = None


class ClosureBody(Strict):
    child_lives: str = Field(description=f"One of: {', '.join(care_plan.CHILD_LIVES)}")
    continuing_services: list[Code] = Field(default_factory=list, max_length=30)
    note: Text | None = None


class EvaluationBody(Strict):
    outcome: EvaluationOutcome
    note: Text = ""
    closure: ClosureBody | None = Field(None, description="Required when the outcome is close.")


def _closure(body: ClosureBody) -> care_plan.ClosureIn:
    return care_plan.ClosureIn(
        child_lives=body.child_lives, continuing_services=tuple(body.continuing_services), note=body.note
    )


@router.post("/cases/{reference}/outcome", status_code=201, summary="Record the outcome of the zorgtafel")
def record_outcome(
    reference: str,
    body: OutcomeBody,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> dict[str, Any]:
    outcome = care_plan.OutcomeIn(
        track=body.track.value,
        reasons=body.reasons,
        goals=tuple((g.life_domain.value, g.text) for g in body.goals),
        service_codes=tuple(body.services),
        starts_on=body.starts_on,
        closure_note=body.closure_note,
    )
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        care_plan.record_outcome(
            session, reference, outcome, actor=principal.actor, now=utcnow(), settings=settings
        )
    starter.kick_dispatch()
    starter.kick_plan(
        reference,
        resume=(
            f"zorgtafel-outcome-{reference}",
            {
                "track": body.track.value,
                "reasons": body.reasons,
                "goals": "\n".join(f"{g.life_domain.value}: {g.text}" for g in body.goals),
                "services": ",".join(body.services),
            },
        ),
    )
    with session.begin():
        return overview(session, reference, now=utcnow(), settings=settings)


@router.get("/cases/{reference}/plan", summary="The care plan: track, term, evaluations, budget")
def get_plan(
    reference: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> dict[str, Any]:
    with session.begin():
        visible_case(session, principal, reference, action="read", request=request)
        return overview(session, reference, now=utcnow(), settings=settings)


@router.post(
    "/cases/{reference}/evaluations/{number}", summary="Record an evaluation and carry out its outcome"
)
def record_evaluation(
    reference: str,
    number: int,
    body: EvaluationBody,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> dict[str, Any]:
    result = care_plan.EvaluationIn(
        number=number,
        outcome=body.outcome.value,
        note=body.note,
        closure=_closure(body.closure) if body.closure is not None else None,
    )
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        care_plan.record_evaluation(
            session, reference, result, actor=principal.actor, now=utcnow(), settings=settings
        )
    form: dict[str, Any] = {"outcome": body.outcome.value, "note": body.note}
    if body.closure is not None:
        form |= {
            "child_lives": body.closure.child_lives,
            "continuing_services": ",".join(body.closure.continuing_services),
        }
    starter.kick_dispatch()
    starter.kick_plan(reference, resume=(f"evaluation-{reference}-{number}", form))
    with session.begin():
        return overview(session, reference, now=utcnow(), settings=settings)


@router.post("/cases/{reference}/close", summary="Close the plan early, by decision")
def close(
    reference: str,
    body: ClosureBody,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> dict[str, Any]:
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        care_plan.close(
            session, reference, _closure(body), actor=principal.actor, now=utcnow(), settings=settings
        )
    starter.kick_dispatch()
    starter.kick_plan(reference, resume=None)
    with session.begin():
        return overview(session, reference, now=utcnow(), settings=settings)


class EvaluationMoveBody(Strict):
    due_at: AwareDatetime = Field(description="New moment, with its UTC offset.")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


@router.post(
    "/cases/{reference}/evaluations/{number}/reschedule",
    summary="Move an evaluation: its run moves and everyone gets the updated invitation",
)
def reschedule_evaluation(
    reference: str,
    number: int,
    body: EvaluationMoveBody,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> dict[str, Any]:
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        care_plan.reschedule_evaluation(
            session,
            reference,
            number,
            due_at=body.due_at,
            reason=body.reason,
            actor=principal.actor,
            now=utcnow(),
            settings=settings,
        )
    starter.kick_dispatch()
    starter.kick_plan(reference, resume=None)
    with session.begin():
        return overview(session, reference, now=utcnow(), settings=settings)
