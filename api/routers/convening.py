"""Steering the matching of a case (coordinators) and watching the balance of the pool.

- Pin or exclude an expert for one case, with a reason on the timeline; revoke it.
- Run the zorgtafel-watch for a case now (replan): the same run the schedule makes, visible in
  Prefect.
- The load per expert over the fairness window and its Gini coefficient.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import RouteStarterDep, SessionDep, SettingsDep
from api.route_starter import watch_idempotency_key
from api.security import Principal, allow, visible_case
from zorgtafel import convening, pool
from zorgtafel.clock import utcnow
from zorgtafel.vocabulary import Role

router = APIRouter(prefix="/api/v1", tags=["convening"])

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
DirectiveId = Annotated[int, Path(gt=0, le=MAX_ID)]

Coordinator = Annotated[Principal, allow(Role.COORDINATOR)]
CaseTeam = Annotated[Principal, allow(Role.COORDINATOR, Role.CASE_MANAGER)]


class DirectiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["pin", "exclude"] = Field(
        description="pin: this expert must be in the pair; exclude: this expert may not be."
    )
    expert_id: int = Field(gt=0, le=MAX_ID)
    # The 5-500 rule is checked by the core (a Dutch message); this only bounds the request.
    reason: str = Field(
        description="Why (5-500 characters; on the case timeline, never in messages).", max_length=2000
    )


class DirectiveOut(BaseModel):
    id: int
    kind: str
    expert_id: int
    agency_code: str
    reason: str
    actor: str
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class WatchStartedOut(BaseModel):
    reference: str
    watch: str = Field(description="The deployment that was asked to run for this case.")


class ExpertLoadOut(BaseModel):
    expert_id: int
    agency_code: str
    load: int


class BalanceOut(BaseModel):
    window_days: int
    since: datetime
    until: datetime
    total: int
    gini: float = Field(description="0 = evenly spread; (n-1)/n = everything on one expert.")
    experts: list[ExpertLoadOut]


def _out(d: convening.DirectiveView, tz: ZoneInfo) -> DirectiveOut:
    return DirectiveOut(
        id=d.id,
        kind=d.kind,
        expert_id=d.expert_id,
        agency_code=d.agency_code,
        reason=d.reason,
        actor=d.actor,
        created_at=d.created_at.astimezone(tz),
        revoked_at=d.revoked_at.astimezone(tz) if d.revoked_at else None,
        active=d.revoked_at is None,
    )


@router.get(
    "/cases/{reference}/experts/directives",
    response_model=list[DirectiveOut],
    summary="The coordinator's pins and exclusions for this case (revoked ones included)",
)
def list_directives(
    reference: str, request: Request, session: SessionDep, settings: SettingsDep, principal: CaseTeam
) -> list[DirectiveOut]:
    case = visible_case(session, principal, reference, action="read", request=request)
    return [_out(d, settings.tz) for d in convening.list_directives(session, case)]


@router.post(
    "/cases/{reference}/experts/directives",
    response_model=DirectiveOut,
    status_code=status.HTTP_201_CREATED,
    summary="Pin or exclude an expert for this case, with a reason (the watch applies it at once)",
)
def add_directive(
    reference: str,
    body: DirectiveIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    principal: Coordinator,
) -> DirectiveOut:
    with session.begin():
        case = visible_case(session, principal, reference, action="change", request=request)
        view = convening.add_directive(
            session,
            case,
            kind=body.kind,
            expert_id=body.expert_id,
            reason=body.reason,
            actor=principal.actor,
            now=utcnow(),
        )
    # An exclusion of an expert at the table replaces them; a pin counts in the next search.
    starter.kick_watch(reference, key=watch_idempotency_key(reference, f"directive-{view.id}"))
    return _out(view, settings.tz)


@router.delete(
    "/cases/{reference}/experts/directives/{directive_id}",
    response_model=DirectiveOut,
    summary="Revoke a pin or exclusion (kept in the list, with the moment it was revoked)",
)
def revoke_directive(
    reference: str,
    directive_id: DirectiveId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Coordinator,
) -> DirectiveOut:
    with session.begin():
        case = visible_case(session, principal, reference, action="change", request=request)
        view = convening.revoke_directive(session, case, directive_id, actor=principal.actor, now=utcnow())
    return _out(view, settings.tz)


@router.post(
    "/cases/{reference}/zorgtafel/replan",
    response_model=WatchStartedOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run the zorgtafel-watch for this case now: plan, replace, confirm or escalate",
)
def replan(
    reference: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    principal: CaseTeam,
) -> WatchStartedOut:
    case = visible_case(session, principal, reference, action="change", request=request)
    # Every request is its own run (the coordinator asked again on purpose).
    starter.kick_watch(
        case.reference, key=watch_idempotency_key(case.reference, f"replan-{uuid.uuid4().hex}")
    )
    return WatchStartedOut(reference=case.reference, watch=settings.watch_deployment)


@router.get(
    "/pool/balance",
    response_model=BalanceOut,
    dependencies=[allow(Role.COORDINATOR)],
    summary="Zorgtafels per expert over the fairness window, and how evenly they are spread (Gini)",
)
def balance(session: SessionDep, settings: SettingsDep) -> BalanceOut:
    report = pool.balance_report(session, utcnow(), settings)
    tz = settings.tz
    return BalanceOut(
        window_days=report.window_days,
        since=report.since.astimezone(tz),
        until=report.until.astimezone(tz),
        total=report.total,
        gini=report.gini,
        experts=[
            ExpertLoadOut(expert_id=e.expert_id, agency_code=e.agency_code, load=e.load)
            for e in report.experts
        ],
    )
