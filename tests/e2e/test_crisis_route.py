"""The crisis route end to end on real parts: HTTP registration -> served Prefect deployment ->
SMTP server -> an independent iCalendar parser (vobject) reading what arrived."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta

import httpx
import pytest
import vobject
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterName,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from sqlalchemy import select

from api.route_starter import route_idempotency_key
from infra.processes import free_port, spawn, stop, wait_http
from tests.e2e.helpers import (
    auth,
    calendar_part,
    case,
    decoded_text,
    invitations_settled,
    mails_about,
    wait_for,
)
from tests.e2e.tcp_proxy import SwitchableProxy
from tests.factories import CHILD_BIRTH, CHILD_NAME, FAMILY_NAMES, registration
from zorgtafel.db.models import Case, Expert
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings

pytestmark = pytest.mark.e2e

PROFESSIONAL_ROLES = {"case_manager", "registrant", "expert"}


def personal_strings(body: dict) -> list[str]:
    """What must never leave the database: names, the birth date in every usual notation, free text."""
    d = CHILD_BIRTH
    return [
        *FAMILY_NAMES,
        *(n.split()[0] for n in FAMILY_NAMES),
        CHILD_NAME,
        CHILD_NAME.split()[0],
        body["registrant"]["name"],
        body["note"],
        d.isoformat(),
        d.strftime("%d-%m-%Y"),
        d.strftime("%d/%m/%Y"),
        d.strftime("%Y%m%d"),
        d.strftime("%d.%m.%Y"),
        "parental_mental_health",
        "psychische problemen",
    ]


def finished_run(flow_run_id: str, timeout: float = 60) -> FlowRun:
    def final() -> FlowRun | None:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(flow_run_id)
        return run if run.state is not None and run.state.is_final() else None

    return wait_for(final, timeout=timeout, what=f"flow run {flow_run_id} to finish")


def assert_clean(text: str, forbidden: list[str], where: str) -> None:
    lowered = text.lower()
    leaks = [s for s in forbidden if s.lower() in lowered]
    assert not leaks, f"personal data in {where}: {leaks}"


def test_registration_convenes_a_zorgtafel_within_48h_and_invites_everyone(stack):
    body = registration()
    r = httpx.post(
        f"{stack.api_url}/api/v1/registrations", json=body, headers={**auth(), "Idempotency-Key": "e2e-1"}
    )
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    deadline = datetime.fromisoformat(r.json()["zorgtafel_deadline"])

    c = wait_for(lambda: invitations_settled(stack.api_url, ref), what="invitations sent")
    assert c["status"] == "zorgtafel_planned"
    assert c["route"]["started"] and c["route"]["flow_run_id"]
    z = c["zorgtafel"]
    starts_at = datetime.fromisoformat(z["starts_at"])
    assert starts_at <= deadline and z["within_deadline"]
    states = {(p["role"], p["label"]): p["invitation_state"] for p in z["participants"]}
    assert [p["role"] for p in z["participants"]].count("expert") == 2
    assert states[("family", "Netwerk van het gezin")] == "no_consent"
    assert sorted(p["invitation_state"] for p in z["participants"] if p["role"] == "family") == [
        "no_consent",
        "sent",
        "via_case_manager",
    ]
    assert all(p["invitation_state"] == "sent" for p in z["participants"] if p["role"] in PROFESSIONAL_ROLES)
    kinds = [e["kind"] for e in c["timeline"]]
    for step in (
        "registered",
        "screened_eligible",
        "route_started",
        "convening",
        "experts_chosen",
        "zorgtafel_planned",
    ):
        assert step in kinds
    assert kinds.count("invitation_sent") == 5

    # Who should have been invited, from the database.
    with unit_of_work() as session:
        row = session.scalar(select(Case).where(Case.reference == ref))
        participants = row.zorgtafel.participants
        expert_ids = [p.expert_id for p in participants if p.expert_id]
        experts = [session.get_one(Expert, i) for i in expert_ids]
        assert len({e.agency_id for e in experts}) == 2
        assert row.registrant_agency_id not in {e.agency_id for e in experts}
        professionals = {p.email.lower() for p in participants if p.role in PROFESSIONAL_ROLES}
        family_invitee = body["family"][0]["email"].lower()
        expected_recipients = professionals | {family_invitee}
        uid_base = row.zorgtafel.uid
        people_names = [e.name for e in experts] + [row.case_manager.name]

    mails = mails_about(stack.mail_dir, ref)
    assert len(mails) == 5, [p.name for p, _, _ in mails]
    recipients = [str(m["To"]).lower() for _, _, m in mails]
    assert sorted(recipients) == sorted(expected_recipients)  # one message per invitee, none twice

    forbidden = personal_strings(body)
    for path, raw, msg in mails:
        assert msg.get_content_type() == "multipart/mixed"
        part, ics = calendar_part(msg)
        assert part.get_param("method") == "REQUEST"
        assert part.get_content_charset() == "utf-8"
        cal = vobject.readOne(ics.decode())
        assert cal.method.value == "REQUEST"
        ev = cal.vevent
        assert ev.uid.value == f"{uid_base}@{get_settings().mail_domain}"
        assert int(ev.sequence.value) == 0
        assert ev.dtstamp.value.utcoffset() == timedelta(0)
        assert ev.dtstart.value.tzinfo is not None
        # Local time with a TZID (vobject turns the TZID into the tzinfo, so read the text too).
        assert b"DTSTART;TZID=Europe/Brussels:" in ics
        assert b"RRULE:FREQ=YEARLY" in ics and b"RDATE" not in ics
        assert ev.dtstart.value == starts_at  # same instant as planned ...
        assert ev.dtstart.value <= deadline  # ... and before the 48-hour deadline
        assert ref in ev.summary.value
        assert ev.location.value == z["location"]
        assert "mailto:zorgtafel@" in ev.organizer.value.lower()
        attendees = {a.value.lower().removeprefix("mailto:"): a.params for a in ev.attendee_list}
        to = str(msg["To"]).lower()
        assert professionals <= set(attendees)
        assert to in attendees
        # A family member's address goes to nobody else.
        assert (family_invitee in attendees) == (to == family_invitee)
        for params in attendees.values():
            assert params["PARTSTAT"] == ["NEEDS-ACTION"]
            assert params["RSVP"] == ["TRUE"]
        assert_clean(decoded_text(msg), forbidden + people_names, f"mail {path.name}")
        assert_clean(raw.decode(errors="replace"), forbidden, f"raw mail {path.name}")

    # What coordinators see in Prefect: run name, parameters, tags, logs, artifacts - no personal data.
    run = finished_run(c["route"]["flow_run_id"])
    with get_client(sync_client=True) as client:
        assert run.name == f"crisis-route-{ref}"
        assert run.parameters == {"case_reference": ref}
        assert f"case:{ref}" in run.tags and "crisis-route" in run.tags
        assert run.state is not None and run.state.is_completed()

        # Logs reach the server in batches; wait until the last task's are in.
        def all_logs() -> list | None:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
            done = any(log.task_run_id is None and "Finished in state" in log.message for log in logs)
            return logs if done else None

        logs = wait_for(all_logs, what="flow-run logs")
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    assert [a.key for a in artifacts] == [f"case-{ref.lower()}"]
    summary = str(artifacts[0].data)
    assert ref in summary and "zorgtafel_planned" in summary
    assert {t.name.rsplit("-", 1)[0] for t in task_runs} >= {
        "screen",
        "pick-experts",
        "find-slot",
        "record-zorgtafel",
        "send-messages",
        "publish-summary",
    }
    prefect_text = "\n".join(
        [run.name, str(run.parameters), str(run.tags)]
        + [log.message for log in logs]
        + [str(a.data) + str(a.description) for a in artifacts]
        + [t.name + str(t.task_inputs) for t in task_runs]
    )
    assert len(logs) >= 5
    assert_clean(prefect_text, forbidden + people_names, "Prefect")


def test_rerunning_the_route_sends_nothing_twice(stack):
    r = httpx.post(f"{stack.api_url}/api/v1/registrations", json=registration(), headers=auth())
    ref = r.json()["reference"]
    first = wait_for(lambda: invitations_settled(stack.api_url, ref), what="first run")
    n_mails = len(mails_about(stack.mail_dir, ref))
    assert n_mails == 5

    # A coordinator re-runs the route (or a crash made Prefect run it again).
    rerun = run_deployment(
        get_settings().route_deployment,
        parameters={"case_reference": ref},
        flow_run_name=f"crisis-route-{ref}",
        as_subflow=False,
        timeout=90,
        poll_interval=0.5,
    )
    assert rerun.state is not None and rerun.state.is_completed(), rerun.state
    again = case(stack.api_url, ref)
    assert again["zorgtafel"] == first["zorgtafel"]
    assert len(mails_about(stack.mail_dir, ref)) == n_mails
    assert [e["kind"] for e in again["timeline"]].count("invitation_sent") == 5


def test_not_eligible_registration_tells_the_registrant_and_convenes_nothing(stack):
    old = CHILD_BIRTH.replace(year=CHILD_BIRTH.year - 5)
    body = registration(child={"birth_date": old.isoformat()})
    r = httpx.post(f"{stack.api_url}/api/v1/registrations", json=body, headers=auth())
    assert r.status_code == 201
    assert r.json()["status"] == "not_eligible"
    ref = r.json()["reference"]
    mails = wait_for(lambda: mails_about(stack.mail_dir, ref), what="notice to the registrant")
    assert len(mails) == 1
    _, _, msg = mails[0]
    assert str(msg["To"]) == body["registrant"]["email"]
    assert all(p.get_content_type() != "text/calendar" for p in msg.walk())
    text = decoded_text(msg)
    assert "doelgroep" in text
    assert_clean(text, [*personal_strings(body), old.isoformat(), "3 jaar"], "not-eligible notice")
    c = case(stack.api_url, ref)
    assert c["zorgtafel"] is None
    assert c["status"] == "not_eligible"


def started_and_settled(api_url: str, ref: str) -> dict | None:
    """Invitations sent and the start recorded (the run may finish before the API records it)."""
    c = invitations_settled(api_url, ref)
    return c if c and c["route"]["started"] else None


@pytest.fixture
def cut_off_api(stack):
    """A second API whose way to Prefect runs through a proxy the test can cut and restore."""
    proxy = SwitchableProxy(httpx.URL(stack.prefect_api_url).port)
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_API_URL": f"http://127.0.0.1:{proxy.port}/api",
        "ZT_ROUTE_SWEEP_SECONDS": "1",
        # Fail fast while the link is cut. Everything else keeps Prefect's default retries: its
        # SQLite-backed server answers 503 now and then under load (PrefectHQ/prefect#18934).
        "PREFECT_CLIENT_MAX_RETRIES": "1",
    }
    api = spawn([sys.executable, "-m", "infra.cli", "api", "--port", str(port)], env)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", proc=api)
        yield f"http://127.0.0.1:{port}", proxy
    finally:
        stop(api)
        proxy.close()


def test_registration_is_kept_while_prefect_is_down_and_its_route_starts_when_it_is_back(stack, cut_off_api):
    api_url, proxy = cut_off_api
    r = httpx.post(f"{api_url}/api/v1/registrations", json=registration(), headers=auth())
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    waiting = wait_for(
        lambda: (c := case(api_url, ref))["route"]["start_attempts"] >= 2 and c, what="failed start attempts"
    )
    assert waiting["route"]["started"] is False
    assert waiting["route"]["last_error"]
    assert waiting["zorgtafel"] is None

    proxy.restore()
    c = wait_for(lambda: started_and_settled(api_url, ref), what="route after Prefect came back")
    assert len(mails_about(stack.mail_dir, ref)) == 5
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"crisis-route-{ref}"]))
        )
    assert [str(run.id) for run in runs] == [c["route"]["flow_run_id"]]


def test_no_second_run_when_the_route_was_started_after_all(stack, cut_off_api):
    api_url, proxy = cut_off_api
    r = httpx.post(f"{api_url}/api/v1/registrations", json=registration(), headers=auth())
    ref = r.json()["reference"]
    wait_for(lambda: case(api_url, ref)["route"]["start_attempts"] >= 1, what="a failed start attempt")

    # An earlier attempt did reach Prefect, but its answer was lost: the run exists already.
    created = run_deployment(
        get_settings().route_deployment,
        parameters={"case_reference": ref},
        idempotency_key=route_idempotency_key(ref),
        flow_run_name=f"crisis-route-{ref}",
        as_subflow=False,
        timeout=0,
    )
    proxy.restore()
    c = wait_for(lambda: started_and_settled(api_url, ref), what="route after Prefect came back")
    assert c["route"]["flow_run_id"] == str(created.id)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"crisis-route-{ref}"]))
        )
    assert len(runs) == 1
    assert len(mails_about(stack.mail_dir, ref)) == 5


def test_outbox_dispatcher_is_served_on_a_schedule_and_sends_what_is_due(stack):
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(get_settings().dispatch_deployment)
    assert deployment.schedules and deployment.schedules[0].active
    assert "outbox" in deployment.tags
    run = run_deployment(get_settings().dispatch_deployment, as_subflow=False, timeout=90, poll_interval=0.5)
    assert run.state is not None and run.state.is_completed(), run.state
