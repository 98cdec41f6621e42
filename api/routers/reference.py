from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import SessionDep
from api.schemas import AgencyOut, ConcernOut
from api.security import allow
from zorgtafel.db.models import Agency
from zorgtafel.vocabulary import CONCERN_LABELS_NL, Role

router = APIRouter(prefix="/api/v1", tags=["reference data"])


@router.get(
    "/agencies",
    response_model=list[AgencyOut],
    summary="Partner agencies (codes for registrations)",
    dependencies=[allow(*Role)],
)
def list_agencies(session: SessionDep) -> list[AgencyOut]:
    rows = session.scalars(select(Agency).order_by(Agency.name))
    return [AgencyOut(code=a.code, name=a.name, kind=a.kind, region=a.region) for a in rows]


@router.get(
    "/concerns",
    response_model=list[ConcernOut],
    summary="The vocabulary of concerns",
    dependencies=[allow(*Role)],
)
def list_concerns() -> list[ConcernOut]:
    return [ConcernOut(code=c.value, label=label) for c, label in CONCERN_LABELS_NL.items()]
