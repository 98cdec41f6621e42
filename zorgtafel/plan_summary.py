"""What a coordinator sees of a plan at a glance: track, term, evaluations (overdue ones marked),
the budget against its caps. Case reference and figures only, no personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from zorgtafel import budget as ledger
from zorgtafel import care_plan
from zorgtafel.settings import Settings


def overview(session: Session, reference: str, *, now: datetime, settings: Settings) -> dict[str, Any]:
    plan = care_plan.plan_for(session, reference)
    nxt = care_plan.next_evaluation(plan)
    budget: dict[str, Any] | None = None
    if plan.budget is not None:
        budget = ledger.summary(session, reference).to_dict()
    return {
        "reference": reference,
        "track": plan.track,
        "status": plan.status,
        "starts_on": plan.starts_on.isoformat() if plan.starts_on else None,
        "term_ends_on": plan.term_ends_on.isoformat() if plan.term_ends_on else None,
        "extended_until": plan.extended_until.isoformat() if plan.extended_until else None,
        "next_evaluation": nxt.due_at.astimezone(settings.tz).isoformat() if nxt else None,
        "evaluations": [
            {
                "number": e.number,
                "due_at": e.due_at.astimezone(settings.tz).isoformat(),
                "status": e.status,
                "outcome": e.outcome,
                "overdue": care_plan.overdue(e, now=now, settings=settings),
                "decision_point": care_plan.is_decision_point(plan, e),
            }
            for e in plan.evaluations
        ],
        "budget": budget,
        "closure": plan.closure or None,
    }
