from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep, SettingsDep
from api.presenters import case_out
from api.schemas import CaseOut
from zorgtafel.route import load_case

router = APIRouter(prefix="/api/v1", tags=["cases"])


@router.get(
    "/cases/{reference}", response_model=CaseOut, summary="A case: status, zorgtafel, invitations, timeline"
)
def get_case(reference: str, session: SessionDep, settings: SettingsDep) -> CaseOut:
    return case_out(load_case(session, reference), settings)
