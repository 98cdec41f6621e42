"""The crisis route as a coordinator would draw it: screen, pick experts, find a slot, record the
zorgtafel, send the invitations, and leave a summary in the Prefect UI.

Parameters, run names, logs and artifacts carry the case reference only; personal data stays in
the database. Every task is idempotent (see zorgtafel.route), so retries and reruns send nothing
twice.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.scheduling import start_outcome_run
from notifications.dispatch import dispatch_pending
from zorgtafel import route
from zorgtafel.clock import utcnow
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings

ROUTE_TAGS = ["crisis-route"]


@task(name="screen", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def screen(case_reference: str) -> bool:
    with unit_of_work() as session:
        eligible = route.screen_step(session, case_reference)
    get_run_logger().info("%s: %s", case_reference, "binnen doelgroep" if eligible else "buiten doelgroep")
    return eligible


@task(name="pick-experts", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def pick_experts(case_reference: str) -> list[int]:
    with unit_of_work() as session:
        ids = route.shortlist(session, case_reference)
    get_run_logger().info("%s: %d experts on the shortlist", case_reference, len(ids))
    return ids


@task(name="find-slot", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def find_slot(case_reference: str, expert_ids: list[int]) -> route.Plan | None:
    now, settings = utcnow(), get_settings()
    reason = None
    with unit_of_work() as session:
        plan = route.find_plan(session, case_reference, expert_ids, now=now, settings=settings)
        if plan is None:
            # At risk; the zorgtafel-watch warns the coordinator and keeps trying.
            reason = route.no_plan_reason(session, case_reference, now=now, settings=settings)
            route.mark_at_risk(session, case_reference, reason, now=now)
    logger = get_run_logger()
    if plan is None:
        logger.warning("%s: no pair and slot before the deadline (%s)", case_reference, reason)
    else:
        logger.info(
            "%s: slot %s, experts %s, %d concern(s) covered, pair load %d",
            case_reference,
            plan.starts_at.isoformat(),
            plan.expert_ids,
            plan.covered,
            plan.pair_load,
        )
    return plan


@task(name="record-zorgtafel", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def record_zorgtafel(case_reference: str, plan: route.Plan) -> int:
    with unit_of_work() as session:
        return route.record_zorgtafel(session, case_reference, plan, now=utcnow(), settings=get_settings())


@task(name="send-messages", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def send_messages(case_reference: str) -> int:
    """Send this case's messages now; what cannot be sent yet stays in the outbox, where the
    scheduled outbox-dispatcher retries it after its backoff."""
    with unit_of_work() as session:
        case_id = route.load_case(session, case_reference).id
    report = dispatch_pending(case_id=case_id, max_batches=1)
    logger = get_run_logger()
    logger.info("%s: %d sent, %d failed", case_reference, report.sent, report.failed)
    if report.retryable:
        logger.warning("%s: %d message(s) left to the outbox dispatcher", case_reference, report.retryable)
    return report.sent


@task(name="await-outcome", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def await_outcome(case_reference: str) -> None:
    """A run that waits for the zorgtafel's outcome, scheduled at its start (one per case)."""
    with unit_of_work() as session:
        z = route.load_case(session, case_reference).zorgtafel
        starts_at = z.starts_at if z is not None and z.status == "planned" else None
    if starts_at is not None:
        run_id = run_coro_as_sync(start_outcome_run(case_reference, starts_at))
        get_run_logger().info("%s: outcome run %s scheduled at the zorgtafel's start", case_reference, run_id)


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary(case_reference: str) -> None:
    settings = get_settings()
    with unit_of_work() as session:
        s = route.summary(session, case_reference, settings)
    create_markdown_artifact(
        key=f"case-{case_reference.lower()}",
        description=f"Crisisroute {case_reference}",
        markdown=case_markdown(s),
    )


def case_markdown(s: dict) -> str:
    """The coordinator's view of one case (route.summary): facts and codes, no personal data."""
    rows = (
        "\n".join(f"| {i['label']} | {i['state']} | {i.get('respond_by') or '–'} |" for i in s["invitations"])
        or "| – | – | – |"
    )
    risk = f"{s['at_risk']} (sinds {s['at_risk_since']})" if s.get("at_risk") else "nee"
    return (
        f"# {s['reference']}\n\n"
        f"| | |\n|---|---|\n"
        f"| Status | {s['status']} |\n"
        f"| Deadline zorgtafel | {s['deadline']} |\n"
        f"| Zorgtafel | {s['zorgtafel_start'] or 'nog niet gepland'} |\n"
        f"| Binnen 48 uur | {s['within_deadline']} |\n"
        f"| Bevestigd | {s.get('confirmed_at') or 'nee'} |\n"
        f"| In gevaar | {risk} |\n"
        f"| Coördinator verwittigd | {s.get('escalated_at') or 'nee'} |\n"
        f"| Termijn gemist | {s.get('deadline_missed') or 'nee'} |\n\n"
        f"## Uitnodigingen\n\n| Deelnemer | Status | Antwoord vóór |\n|---|---|---|\n{rows}\n"
    )


@flow(
    name="crisis-route",
    flow_run_name="crisis-route-{case_reference}",
    log_prints=False,
    retries=0,
)
def crisis_route(case_reference: str) -> str:
    """Convene a zorgtafel within 48 hours of the registration."""
    if screen(case_reference):
        shortlist = pick_experts(case_reference)
        plan = find_slot(case_reference, shortlist)
        if plan is not None:
            record_zorgtafel(case_reference, plan)
    send_messages(case_reference)
    await_outcome(case_reference)
    publish_summary(case_reference)
    with unit_of_work() as session:
        return route.load_case(session, case_reference).status
