"""Bookkeeping of the Prefect runs behind evaluations: which still need a scheduled run, which
scheduled runs must be cancelled (the orchestration adapter does the talking to Prefect)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from zorgtafel.care_plan import plan_for
from zorgtafel.db.models import Evaluation


@dataclass(frozen=True)
class RunToSchedule:
    evaluation_id: int
    number: int
    due_at: datetime
    uid: str


@dataclass(frozen=True)
class PendingRuns:
    to_schedule: list[RunToSchedule]  # open evaluations without a run
    scheduled: list[tuple[str, datetime]]  # (run id, due at) of open evaluations: moved if needed
    to_cancel: list[tuple[int, str]]  # (evaluation id, run id) of cancelled evaluations


def pending_changes(session: Session, reference: str) -> PendingRuns:
    plan = plan_for(session, reference)
    open_ = [e for e in plan.evaluations if e.status == "scheduled"]
    return PendingRuns(
        to_schedule=[RunToSchedule(e.id, e.number, e.due_at, e.uid) for e in open_ if e.flow_run_id is None],
        scheduled=[(e.flow_run_id, e.due_at) for e in open_ if e.flow_run_id is not None],
        to_cancel=[
            (e.id, e.flow_run_id) for e in plan.evaluations if e.status == "cancelled" and e.flow_run_id
        ],
    )


def mark_scheduled(session: Session, evaluation_id: int, flow_run_id: str) -> None:
    session.get_one(Evaluation, evaluation_id).flow_run_id = flow_run_id


def mark_run_cancelled(session: Session, evaluation_id: int) -> None:
    # Forget the run: it is cancelled in Prefect, nothing is left to cancel.
    session.get_one(Evaluation, evaluation_id).flow_run_id = None
