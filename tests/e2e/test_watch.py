"""A decline on the running stack: the answer link (API) starts a run of the served zorgtafel-watch
deployment at once, which invites a replacement and withdraws the invitation of the decliner;
vobject reads what arrived in the SMTP sink."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import vobject
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

from tests.e2e.helpers import auth, calendar_part, case, invitations_settled, mails_about, wait_for
from tests.factories import registration

pytestmark = pytest.mark.e2e


def _calendars(mail_dir: Path, ref: str) -> list[tuple[str, str, int]]:
    """(recipient, METHOD, SEQUENCE) of every calendar mail about the case."""
    out = []
    for _, _, msg in mails_about(mail_dir, ref):
        try:
            _, ics = calendar_part(msg)
        except AssertionError:
            continue
        cal = vobject.readOne(ics.decode())
        out.append((str(msg["To"]).lower(), cal.method.value, int(cal.vevent.sequence.value)))
    return out


def test_a_decline_through_the_link_gets_a_replacement_invited_by_the_served_watch(stack):
    r = httpx.post(f"{stack.api_url}/api/v1/registrations", json=registration(), headers=auth())
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    wait_for(lambda: invitations_settled(stack.api_url, ref), what="invitations")
    expert_mail = next(
        m for _, _, m in mails_about(stack.mail_dir, ref) if "partners.example" in str(m["To"])
    )
    decliner = str(expert_mail["To"]).lower()
    text = next(
        p.get_payload(decode=True).decode()
        for p in expert_mail.walk()
        if p.get_content_type() == "text/plain"
    )
    token = next(line.strip() for line in text.splitlines() if "/rsvp/" in line).split("/rsvp/", 1)[1]

    answer = httpx.post(f"{stack.api_url}/rsvp/{token}/decline")
    assert answer.status_code == 200

    def replaced() -> dict | None:
        c = case(stack.api_url, ref)
        experts = [p for p in c["zorgtafel"]["participants"] if p["role"] == "expert"]
        newcomer = [
            p for p in experts if not p["replaced"] and p["invited_sequence"] == c["zorgtafel"]["sequence"]
        ]
        done = len(experts) == 3 and sum(p["replaced"] for p in experts) == 1 and newcomer
        return c if done else None

    c = wait_for(replaced, timeout=90, what="the replacement invited by the watch run")
    assert c["zorgtafel"]["sequence"] == 1
    kinds = [e["kind"] for e in c["timeline"]]
    assert "expert_replaced" in kinds and "experts_replaced" in kinds

    # The CANCEL to the decliner and a REQUEST (version 1) to the newcomer are in the sink.
    def sent() -> list | None:
        cals = _calendars(stack.mail_dir, ref)
        return (
            cals
            if (decliner, "CANCEL", 1) in cals and sum(1 for x in cals if x[1:] == ("REQUEST", 1)) >= 5
            else None
        )

    wait_for(sent, timeout=60, what="the version-1 messages")

    # The run the decline started, by name, in Prefect.
    def finished_runs() -> list | None:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"zorgtafel-watch-{ref}"]))
            )
        return runs if any(run.state is not None and run.state.is_completed() for run in runs) else None

    runs = wait_for(finished_runs, what="the completed watch run")
    assert all(run.parameters == {"case_reference": ref} and f"case:{ref}" in run.tags for run in runs)
