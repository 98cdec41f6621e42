"""The case timeline: one event per step, with Dutch text and data free of personal details."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, CaseEvent


def record(
    session: Session,
    case: Case,
    kind: str,
    summary: str,
    *,
    data: dict[str, Any] | None = None,
    actor: str = "system",
    at: datetime | None = None,
) -> CaseEvent:
    event = CaseEvent(case=case, at=at or utcnow(), kind=kind, summary=summary, data=data or {}, actor=actor)
    session.add(event)
    return event
