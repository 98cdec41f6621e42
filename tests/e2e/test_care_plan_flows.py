"""After the zorgtafel, on the real Prefect server: the run that waits for the outcome is
scheduled at the zorgtafel's start, suspends, and is resumed with a coordinator's form (as the UI
does) or by the case manager's API call; evaluation runs then sit Scheduled at their moments,
and closing the plan cancels them."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    FlowRunFilter,
    FlowRunFilterName,
)
from prefect.client.schemas.objects import FlowRun
from prefect.flow_runs import resume_flow_run
from prefect.states import Scheduled

from tests.auth_helpers import account
from tests.e2e.helpers import auth, invitations_settled, mails_about, wait_for
from tests.factories import registration
from zorgtafel.clock import utcnow
from zorgtafel.db.session import unit_of_work
from zorgtafel.route import load_case
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role

pytestmark = pytest.mark.e2e


def run_named(name: str) -> FlowRun | None:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])))
    return runs[0] if runs else None


def held_zorgtafel(stack) -> tuple[str, FlowRun]:
    """A case whose zorgtafel has just taken place, with its outcome run waiting in Prefect."""
    ref = httpx.post(f"{stack.api_url}/api/v1/registrations", json=registration(), headers=auth()).json()[
        "reference"
    ]
    wait_for(lambda: invitations_settled(stack.api_url, ref), what="zorgtafel planned")
    run = wait_for(lambda: run_named(f"zorgtafel-outcome-{ref}"), what="outcome run")
    with unit_of_work() as session:
        z = load_case(session, ref).zorgtafel
        planned_start = z.starts_at
        # The meeting took place: move it into the past, and the waiting run to now.
        z.starts_at = utcnow() - timedelta(hours=2)
        z.ends_at = utcnow() - timedelta(minutes=30)
    assert run.state is not None and run.state.is_scheduled()
    assert abs((run.expected_start_time - planned_start).total_seconds()) < 1  # scheduled at the zorgtafel
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run.id, Scheduled(scheduled_time=utcnow()), force=True)
    paused = wait_for(
        lambda: (r := run_named(f"zorgtafel-outcome-{ref}")) and r.state and r.state.is_paused() and r,
        timeout=90,
        what="outcome run waiting for input",
    )
    return ref, paused


def evaluation_runs(ref: str) -> list[FlowRun]:
    return [r for n in (1, 2, 3, 4) if (r := run_named(f"evaluation-{ref}-{n}"))]


def test_coordinator_resume_form_records_the_outcome_and_schedules_the_evaluations(stack):
    ref, run = held_zorgtafel(stack)
    # A resume with fields missing is refused by Prefect against the form's schema; the run waits on.
    with pytest.raises(Exception, match=r"(?i)reasons|valid"):
        resume_flow_run(run.id, run_input={"track": "case_budget"})
    assert run_named(f"zorgtafel-outcome-{ref}").state.is_paused()
    resume_flow_run(
        run.id,
        run_input={
            "track": "case_budget",
            "reasons": "Thuis onvoldoende veilig; netwerk draagt mee; ouders werken mee.",
            "goals": "housing: stabiele woonplek\nchild_development: veilige hechting",
            "services": "",
        },
    )
    done = wait_for(
        lambda: (r := run_named(f"zorgtafel-outcome-{ref}")) and r.state and r.state.is_final() and r,
        timeout=90,
        what="outcome run to finish",
    )
    assert done.state.is_completed(), done.state
    plan = httpx.get(f"{stack.api_url}/api/v1/cases/{ref}/plan", headers=auth()).json()
    assert plan["track"] == "case_budget" and plan["status"] == "active"
    assert [e["number"] for e in plan["evaluations"]] == [1, 2]
    runs = wait_for(lambda: len(evaluation_runs(ref)) == 2 and evaluation_runs(ref), what="evaluation runs")
    for r, e in zip(sorted(runs, key=lambda r: r.name), plan["evaluations"], strict=True):
        assert r.state.is_scheduled()
        # The run starts ahead of the evaluation: it sends the reminders, then waits for the outcome.
        lead = timedelta(hours=get_settings().evaluation_reminder_hours)
        assert abs((r.expected_start_time - (datetime.fromisoformat(e["due_at"]) - lead)).total_seconds()) < 1
        assert r.parameters == {"case_reference": ref, "number": e["number"]}

    # What coordinators see: the plan artifact with the budget table and the next evaluation.
    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=[f"plan-{ref.lower()}"])
            )
        )[0]
    assert "## Budget" in artifact.data and "residential_cap" in artifact.data
    assert plan["next_evaluation"][:16] in artifact.data

    # Moving an evaluation moves its run.
    first = sorted(runs, key=lambda r: r.name)[0]
    new_due = datetime.fromisoformat(plan["evaluations"][0]["due_at"]) + timedelta(days=2)
    moved = httpx.post(
        f"{stack.api_url}/api/v1/cases/{ref}/evaluations/1/reschedule",
        json={"due_at": new_due.isoformat(), "reason": "Feestdag."},
        headers=auth(),
    )
    assert moved.status_code == 200, moved.text
    lead = timedelta(hours=get_settings().evaluation_reminder_hours)
    wait_for(
        lambda: (
            abs((run_named(first.name).state.state_details.scheduled_time - (new_due - lead)).total_seconds())
            < 1
        ),
        what="the evaluation run moved",
    )

    # Closing early cancels what is still scheduled, in Prefect too.
    r = httpx.post(
        f"{stack.api_url}/api/v1/cases/{ref}/close",
        json={"child_lives": "at_home", "continuing_services": []},
        headers=auth(),
    )
    assert r.status_code == 200, r.text
    wait_for(
        lambda: all(x.state and x.state.is_cancelled() for x in evaluation_runs(ref)),
        what="evaluation runs cancelled",
    )


def test_case_manager_api_answer_resumes_the_waiting_run(stack):
    ref, _ = held_zorgtafel(stack)
    r = httpx.post(
        f"{stack.api_url}/api/v1/cases/{ref}/outcome",
        json={
            "track": "regular",
            "reasons": "Reguliere modules passen en hebben plaats; geen extra middelen nodig.",
            "goals": [{"life_domain": "daily_living", "text": "Dagritme met ondersteuning."}],
        },
        headers=auth(),
    )
    assert r.status_code == 201, r.text
    done = wait_for(
        lambda: (x := run_named(f"zorgtafel-outcome-{ref}")) and x.state and x.state.is_final() and x,
        timeout=90,
        what="outcome run resumed by the API",
    )
    assert done.state.is_completed(), done.state
    timeline = httpx.get(f"{stack.api_url}/api/v1/cases/{ref}", headers=auth()).json()["timeline"]
    recorded = [e for e in timeline if e["kind"] == "outcome_recorded"]
    by = f"coordinator:{account(Role.COORDINATOR).username}"
    assert len(recorded) == 1 and recorded[0]["actor"] == by  # once, by the API, naming the account
    runs = wait_for(lambda: len(evaluation_runs(ref)) == 2 and evaluation_runs(ref), what="evaluation runs")

    # The first evaluation's run starts (here: now): it reminds everyone, then waits for the outcome.
    first = sorted(runs, key=lambda r: r.name)[0]
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(first.id, Scheduled(scheduled_time=utcnow()), force=True)
    wait_for(
        lambda: (x := run_named(first.name)) and x.state and x.state.is_paused(),
        timeout=90,
        what="evaluation run waiting for its outcome",
    )
    reminders = wait_for(
        lambda: [
            m for _, _, m in mails_about(stack.mail_dir, ref) if str(m["Subject"]).startswith("Herinnering")
        ],
        what="reminders",
    )
    assert len(reminders) == 5
    resume_flow_run(first.id, run_input={"outcome": "continue", "note": ""})
    done = wait_for(
        lambda: (x := run_named(first.name)) and x.state and x.state.is_final() and x,
        timeout=90,
        what="evaluation run finished",
    )
    assert done.state.is_completed(), done.state
    plan = httpx.get(f"{stack.api_url}/api/v1/cases/{ref}/plan", headers=auth()).json()
    assert [(e["status"], e["outcome"]) for e in plan["evaluations"]] == [
        ("held", "continue"),
        ("scheduled", None),
    ]
