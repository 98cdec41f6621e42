"""After the zorgtafel: a run that waits for its outcome, and a run per evaluation, each waiting
in the Prefect UI for a coordinator's resume form (or for the case manager's API call).

Waiting is a suspension, not a pause: no process is held for the hours or weeks a decision
takes; on resume the flow runs again from the top, and every step before the wait is a read or
an idempotent write, so that replay is harmless. Keys per attempt let a refused answer (a rule
broken) be asked again instead of failing the run."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.flow_runs import suspend_flow_run
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.forms import EvaluationForm, OutcomeForm
from flows.scheduling import sync_evaluation_runs
from notifications.dispatch import dispatch_pending
from zorgtafel import care_plan, invitations
from zorgtafel.clock import utcnow
from zorgtafel.db.models import CarePlan
from zorgtafel.db.session import unit_of_work
from zorgtafel.errors import ValidationFailed
from zorgtafel.plan_summary import overview
from zorgtafel.route import load_case
from zorgtafel.settings import get_settings

MAX_ATTEMPTS = 10
# Waiting for a decision can take a while; after this the run fails and shows in the UI.
WAIT_SECONDS = 14 * 24 * 3600


def _plan_state(reference: str) -> tuple[bool, str | None]:
    with unit_of_work() as session:
        case = load_case(session, reference)
        plan = session.query(CarePlan).filter_by(case_id=case.id).one_or_none()
        return plan is not None, plan.status if plan else None


def _evaluation_status(reference: str, number: int) -> str:
    with unit_of_work() as session:
        plan = care_plan.plan_for(session, reference)
        return next(e.status for e in plan.evaluations if e.number == number)


@task(name="record-outcome", cache_policy=NO_CACHE)
def record_outcome(reference: str, form: OutcomeForm) -> list[str]:
    """The same core function as the API; returns the refusals (Dutch), empty when recorded."""
    try:
        with unit_of_work() as session:
            care_plan.record_outcome(
                session,
                reference,
                form.to_core(),
                actor="coordinator (Prefect UI)",
                now=utcnow(),
                settings=get_settings(),
            )
    except ValidationFailed as exc:
        codes = {p.code for p in exc.problems}
        if codes == {"outcome_already_recorded"}:
            return []  # recorded meanwhile through the API: that answer stands
        return [f"{'.'.join(map(str, p.loc))}: {p.message}" for p in exc.problems]
    return []


@task(name="record-evaluation", cache_policy=NO_CACHE)
def record_evaluation(reference: str, number: int, form: EvaluationForm) -> list[str]:
    try:
        with unit_of_work() as session:
            care_plan.record_evaluation(
                session,
                reference,
                form.to_core(number),
                actor="coordinator (Prefect UI)",
                now=utcnow(),
                settings=get_settings(),
            )
    except ValidationFailed as exc:
        if {p.code for p in exc.problems} == {"evaluation_not_open"}:
            return []
        return [f"{'.'.join(map(str, p.loc))}: {p.message}" for p in exc.problems]
    return []


@task(name="send-messages", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def send_messages(reference: str) -> int:
    """Invitations, cancellations and reminders this step caused (the rest: outbox dispatcher)."""
    with unit_of_work() as session:
        case_id = load_case(session, reference).id
    return dispatch_pending(case_id=case_id, max_batches=1).sent


@task(name="send-reminders", cache_policy=NO_CACHE)
def send_reminders(reference: str, number: int) -> int:
    with unit_of_work() as session:
        case = load_case(session, reference)
        plan = care_plan.plan_for(session, reference)
        evaluation = next(e for e in plan.evaluations if e.number == number)
        count = invitations.enqueue_reminder(session, case, evaluation, settings=get_settings())
    get_run_logger().info("%s: evaluation %d, reminders to %d participant(s)", reference, number, count)
    return count


@task(name="schedule-evaluations", cache_policy=NO_CACHE)
def schedule_evaluations(reference: str) -> None:
    scheduled, cancelled = run_coro_as_sync(sync_evaluation_runs(reference))
    get_run_logger().info("%s: %d evaluation run(s) scheduled, %d cancelled", reference, scheduled, cancelled)


def plan_markdown(o: dict) -> str:
    lines = [
        f"# Plan {o['reference']}",
        "",
        "| | |",
        "|---|---|",
        f"| Spoor | {o['track']} |",
        f"| Status | {o['status']} |",
        f"| Termijn | {o['starts_on']} – {o['term_ends_on']} |",
        f"| Verlengd tot | {o['extended_until'] or '–'} |",
        f"| Volgende evaluatie | {o['next_evaluation'] or '–'} |",
    ]
    if o["budget"]:
        b = o["budget"]
        lines += ["", "## Budget", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in b.items()]
    lines += ["", "## Evaluaties", "", "| Nr | Moment | Status | Uitkomst | |", "|---|---|---|---|---|"]
    for e in o["evaluations"]:
        flags = ("**te laat** " if e["overdue"] else "") + ("beslismoment" if e["decision_point"] else "")
        lines.append(f"| {e['number']} | {e['due_at']} | {e['status']} | {e['outcome'] or '–'} | {flags} |")
    return "\n".join(lines) + "\n"


@task(name="publish-plan", cache_policy=NO_CACHE)
def publish_plan(reference: str) -> None:
    """Budget table and next evaluation for coordinators, as an artifact keyed by the case."""
    with unit_of_work() as session:
        o = overview(session, reference, now=utcnow(), settings=get_settings())
    create_markdown_artifact(
        key=f"plan-{reference.lower()}", markdown=plan_markdown(o), description=f"Plan {reference}"
    )


@flow(name="zorgtafel-outcome", flow_run_name="zorgtafel-outcome-{case_reference}", persist_result=True)
def zorgtafel_outcome(case_reference: str) -> str:
    """Wait for the outcome of the zorgtafel, then schedule the evaluations."""
    logger = get_run_logger()
    for attempt in range(MAX_ATTEMPTS):
        recorded, _ = _plan_state(case_reference)
        if recorded:
            break
        form = suspend_flow_run(wait_for_input=OutcomeForm, key=f"outcome-{attempt}", timeout=WAIT_SECONDS)
        refusals = record_outcome(case_reference, form)
        if not refusals:
            break
        logger.warning(
            "%s: uitkomst geweigerd, vul het formulier opnieuw in: %s", case_reference, " | ".join(refusals)
        )
    recorded, status = _plan_state(case_reference)
    if recorded and status == "active":
        schedule_evaluations(case_reference)
    if recorded:
        send_messages(case_reference)
        publish_plan(case_reference)
    return status or "waiting"


@flow(name="evaluation", flow_run_name="evaluation-{case_reference}-{number}", persist_result=True)
def evaluation(case_reference: str, number: int) -> str:
    """An evaluation moment: wait for its outcome, then carry it out (extension, closure, ...)."""
    logger = get_run_logger()
    if _evaluation_status(case_reference, number) == "scheduled":
        send_reminders(case_reference, number)
        send_messages(case_reference)
    publish_plan(case_reference)
    for attempt in range(MAX_ATTEMPTS):
        if _evaluation_status(case_reference, number) != "scheduled":
            break
        form = suspend_flow_run(
            wait_for_input=EvaluationForm, key=f"evaluation-{attempt}", timeout=WAIT_SECONDS
        )
        refusals = record_evaluation(case_reference, number, form)
        if not refusals:
            break
        logger.warning(
            "%s: evaluatie geweigerd, vul het formulier opnieuw in: %s", case_reference, " | ".join(refusals)
        )
    schedule_evaluations(case_reference)
    send_messages(case_reference)
    publish_plan(case_reference)
    return _evaluation_status(case_reference, number)
