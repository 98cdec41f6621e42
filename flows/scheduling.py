"""Keeping Prefect's scheduled evaluation runs in line with the database: a run per open
evaluation, scheduled ahead at its time (visible as Scheduled in the UI), and cancelled when
the evaluation is. Used by the flows and by the API; idempotent (one key per evaluation)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from prefect.client.orchestration import get_client
from prefect.deployments import arun_deployment
from prefect.states import Cancelled, Scheduled
from starlette.concurrency import run_in_threadpool

from zorgtafel import evaluation_runs
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings

log = logging.getLogger("zorgtafel.scheduling")

OUTCOME_DEPLOYMENT = "zorgtafel-outcome/zorgtafel-outcome"
EVALUATION_DEPLOYMENT = "evaluation/evaluation"


def _pending(reference: str) -> evaluation_runs.PendingRuns:
    with unit_of_work() as session:
        return evaluation_runs.pending_changes(session, reference)


def _scheduled(evaluation_id: int, run_id: str) -> None:
    with unit_of_work() as session:
        evaluation_runs.mark_scheduled(session, evaluation_id, run_id)


def _cancelled(evaluation_id: int) -> None:
    with unit_of_work() as session:
        evaluation_runs.mark_run_cancelled(session, evaluation_id)


def run_time(due_at: datetime) -> datetime:
    """An evaluation's run starts ahead of it: it sends the reminders, then waits for the outcome."""
    return due_at - timedelta(hours=get_settings().evaluation_reminder_hours)


async def sync_evaluation_runs(reference: str) -> tuple[int, int]:
    """Schedule missing evaluation runs, move those whose evaluation moved, cancel those of
    cancelled evaluations. Returns (scheduled or moved, cancelled)."""
    pending = await run_in_threadpool(_pending, reference)
    changed = 0
    for item in pending.to_schedule:
        run = await arun_deployment(
            EVALUATION_DEPLOYMENT,
            parameters={"case_reference": reference, "number": item.number},
            scheduled_time=run_time(item.due_at),
            idempotency_key=f"evaluation:{item.uid}",
            flow_run_name=f"evaluation-{reference}-{item.number}",
            tags=[f"case:{reference}"],
            timeout=0,
            as_subflow=False,
        )
        await run_in_threadpool(_scheduled, item.evaluation_id, str(run.id))
        changed += 1
    async with get_client() as client:
        for run_id, due_at in pending.scheduled:
            run = await client.read_flow_run(run_id)
            wanted = run_time(due_at)
            # The state's scheduled time is the one that counts (expected_start_time keeps the first).
            if (
                run.state is not None
                and run.state.is_scheduled()
                and run.state.state_details.scheduled_time != wanted
            ):
                await client.set_flow_run_state(run_id, Scheduled(scheduled_time=wanted), force=True)
                changed += 1
        for evaluation_id, run_id in pending.to_cancel:
            await client.set_flow_run_state(run_id, Cancelled(message="Evaluatie geannuleerd"), force=True)
            await run_in_threadpool(_cancelled, evaluation_id)
    return changed, len(pending.to_cancel)


async def start_outcome_run(reference: str, scheduled_time: object) -> str:
    """The run that waits for the zorgtafel's outcome, scheduled at the zorgtafel's start."""
    run = await arun_deployment(
        OUTCOME_DEPLOYMENT,
        parameters={"case_reference": reference},
        scheduled_time=scheduled_time,  # type: ignore[arg-type]
        idempotency_key=f"zorgtafel-outcome:{reference}",
        flow_run_name=f"zorgtafel-outcome-{reference}",
        tags=[f"case:{reference}"],
        timeout=0,
        as_subflow=False,
    )
    return str(run.id)


async def resume_waiting_run(flow_run_name: str, run_input: dict) -> bool:
    """Hand an answer given through the API to a run that waits for it in Prefect (if any)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.flow_runs import aresume_flow_run

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name]))
        )
    for run in runs:
        if run.state is not None and run.state.is_paused():
            try:
                await aresume_flow_run(run.id, run_input=run_input)
                return True
            except Exception as exc:  # resumed by someone else in between
                log.info("resume of %s not done: %s", flow_run_name, type(exc).__name__)
    return False
