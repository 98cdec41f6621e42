from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from api.deps import SessionDep, SettingsDep
from api.presenters import case_out
from api.schemas import CaseOut
from api.security import Principal, allow, visible_case
from zorgtafel.vocabulary import Role

router = APIRouter(prefix="/api/v1", tags=["cases"])


@router.get(
    "/cases/{reference}", response_model=CaseOut, summary="A case: status, zorgtafel, invitations, timeline"
)
def get_case(
    reference: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> CaseOut:
    return case_out(visible_case(session, principal, reference, action="read", request=request), settings)
