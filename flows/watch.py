"""The zorgtafel-watch: a scheduled deployment (every ``ZT_WATCH_INTERVAL_SECONDS``) that looks
at every open case, plus a run for one case started right after a decline arrives (answer link or
calendar reply) or by a coordinator. Each run replaces decliners and silent experts, confirms,
escalates and records missed deadlines (zorgtafel.convening), sends what that caused, and leaves
what a coordinator needs in the Prefect UI:

- the artifact ``at-risk``: every case at risk (reference, reason, since, deadline, warned);
- the artifact ``case-<ref>`` of every case the run changed;
- events ``zorgtafel.case.at-risk`` (and ``…confirmed``, ``…expert-replaced``,
  ``…deadline-missed``) on the resource ``zorgtafel.case.<ref>`` (Events page), and the tag
  ``at-risk`` on a run that found one.

No process waits for an answer: why a schedule and not ``suspend_flow_run``/``pause_flow_run`` is
in the README. References and codes only; no personal data in names, logs, events or artifacts.
"""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.runtime import flow_run

from flows.crisis_route import publish_summary, send_messages
from zorgtafel import convening
from zorgtafel.clock import utcnow
from zorgtafel.db.session import unit_of_work
from zorgtafel.errors import NotFound
from zorgtafel.settings import get_settings

WATCH_TAGS = ["zorgtafel-watch"]
EVENTS = {
    "at_risk": "zorgtafel.case.at-risk",
    "escalated": "zorgtafel.case.at-risk",
    "confirmed": "zorgtafel.case.confirmed",
    "replaced": "zorgtafel.case.expert-replaced",
    "deadline_missed": "zorgtafel.case.deadline-missed",
}


def _run_name() -> str:
    reference = flow_run.parameters.get("case_reference")
    return f"zorgtafel-watch-{reference}" if reference else "zorgtafel-watch"


@task(name="cases-to-watch", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def cases_to_watch(case_reference: str | None) -> list[str]:
    if case_reference:
        return [case_reference]
    with unit_of_work() as session:
        return convening.references_to_watch(session, now=utcnow())


@task(name="watch-case", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def watch_case(case_reference: str) -> dict:
    """One unit of work per case: a failure leaves that case as it was for the next run."""
    logger = get_run_logger()
    try:
        with unit_of_work() as session:
            report = convening.watch_case(session, case_reference, now=utcnow(), settings=get_settings())
    except NotFound:
        logger.warning("%s: no such case", case_reference)
        return convening.CaseReport(case_reference).as_dict()
    if report.touched:
        logger.info("%s: %s", case_reference, ", ".join(report.actions))
    return report.as_dict()


@task(name="publish-at-risk", cache_policy=NO_CACHE)
def publish_at_risk() -> list[str]:
    settings = get_settings()
    with unit_of_work() as session:
        rows = convening.at_risk_cases(session)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(settings.tz).strftime("%d-%m-%Y %H:%M") if moment is not None else "nee"

    lines = [
        f"| {r.reference} | {r.reason} | {convening.risk_label(r.reason)} | {local(r.since)} | "
        f"{local(r.deadline)} | {local(r.escalated_at)} | {r.deadline_missed or 'nee'} |"
        for r in rows
    ]
    header = (
        "| Referentie | Reden | Uitleg | In gevaar sinds | Termijn | Coördinator verwittigd "
        "| Termijn gemist |"
    )
    table = (
        header + "\n|---|---|---|---|---|---|---|\n" + "\n".join(lines)
        if lines
        else "Geen dossiers in gevaar."
    )
    create_markdown_artifact(
        key="at-risk",
        description="Dossiers zonder bevestigde zorgtafel die aandacht vragen (zorgtafel-watch)",
        markdown=f"# Dossiers in gevaar ({len(rows)})\n\nBijgewerkt: {local(utcnow())}\n\n{table}\n",
    )
    return [r.reference for r in rows]


def _emit(report: dict) -> list[str]:
    """Prefect events for what changed in this case; returns the event names."""
    reference = report["reference"]
    names = []
    for action in report["actions"]:
        key = action.split(":", 1)[0]
        if key.startswith("replaced_"):
            key = "replaced"
        name = EVENTS.get(key)
        if name is None or name in names:
            continue
        names.append(name)
        emit_event(
            event=name,
            resource={
                "prefect.resource.id": f"zorgtafel.case.{reference}",
                "prefect.resource.name": reference,
            },
            payload={
                "reference": reference,
                "reason": report["at_risk"] or report["deadline_missed"],
                "actions": report["actions"],
            },
        )
    return names


def _tag_run(tag: str) -> None:
    """Put a tag on the running flow run (visible and filterable in the UI); best effort."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None or tag in (ctx.flow_run.tags or []):
        return
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.update_flow_run(ctx.flow_run.id, tags=[*ctx.flow_run.tags, tag])
    except Exception as exc:  # a tag is a convenience; the artifact and events carry the facts
        get_run_logger().warning("could not tag the run: %s", type(exc).__name__)


@flow(name="zorgtafel-watch", flow_run_name=_run_name, log_prints=False, retries=0)
def zorgtafel_watch(case_reference: str | None = None) -> dict:
    """Answers, silence, replacements, escalation and missed deadlines of every open case (or of
    ``case_reference`` only)."""
    logger = get_run_logger()
    reports = []
    for reference in cases_to_watch(case_reference):
        report = watch_case(reference)
        reports.append(report)
        if report["touched"]:
            send_messages(reference)
            publish_summary(reference)
            _emit(report)
    at_risk = publish_at_risk()
    if (case_reference is None and at_risk) or case_reference in at_risk:
        _tag_run("at-risk")
    touched = [r["reference"] for r in reports if r["touched"]]
    logger.info("%d case(s) watched, %d changed, %d at risk", len(reports), len(touched), len(at_risk))
    return {
        "watched": len(reports),
        "changed": touched,
        "at_risk": at_risk,
        "escalated": [r["reference"] for r in reports if r["escalated"]],
        "deadline_missed": [r["reference"] for r in reports if r["deadline_missed"]],
    }
