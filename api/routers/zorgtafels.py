"""Changing a planned zorgtafel: every change is a new invitation version to everyone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.deps import RouteStarterDep, SessionDep, SettingsDep
from api.presenters import case_out
from api.schemas import CaseOut
from api.security import Principal, allow, visible_case
from zorgtafel import invitations
from zorgtafel.clock import utcnow
from zorgtafel.route import load_case
from zorgtafel.vocabulary import Role

router = APIRouter(prefix="/api/v1", tags=["zorgtafels"])

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_at: AwareDatetime = Field(
        description="New start, with its UTC offset (e.g. 2026-11-24T14:00:00+01:00)."
    )
    location: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None
    ) = None
    reason: Reason = Field(
        description="Why the zorgtafel moves (on the case timeline; never in invitations)."
    )


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


@router.post(
    "/cases/{reference}/zorgtafel/reschedule",
    response_model=CaseOut,
    summary="Move the zorgtafel: SEQUENCE + 1, an updated invitation (REQUEST) to everyone",
)
def reschedule(
    reference: str,
    body: RescheduleIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> CaseOut:
    with session.begin():
        case = visible_case(session, principal, reference, action="change", request=request)
        invitations.reschedule(
            session,
            case,
            starts_at=body.starts_at,
            location=body.location,
            reason=body.reason,
            actor=principal.actor,
            now=utcnow(),
            settings=settings,
        )
    starter.kick_dispatch()
    return case_out(load_case(session, reference), settings)


@router.post(
    "/cases/{reference}/zorgtafel/cancel",
    response_model=CaseOut,
    summary="Cancel the zorgtafel: a CANCEL to everyone who was invited",
)
def cancel(
    reference: str,
    body: CancelIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> CaseOut:
    with session.begin():
        case = visible_case(session, principal, reference, action="change", request=request)
        invitations.cancel(
            session, case, reason=body.reason, actor=principal.actor, now=utcnow(), settings=settings
        )
    starter.kick_dispatch()
    return case_out(load_case(session, reference), settings)
