from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep
from api.security import public

router = APIRouter(tags=["health"])


@router.get("/api/health", summary="Liveness and database reachability", dependencies=[public()])
def health(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
