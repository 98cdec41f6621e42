"""The zorgtafel-watch flow on the real Prefect test server: a case whose deadline is too near for
any zorgtafel ends up at risk, on the ``at-risk`` artifact and its own ``case-<ref>`` artifact,
with an event and a tag a coordinator sees in the Prefect UI; no personal data there."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    FlowRunFilter,
    FlowRunFilterName,
)

from tests.convening.conftest import case_of, register
from tests.e2e.helpers import wait_for
from tests.factories import CHILD_NAME, FAMILY_NAMES
from zorgtafel.clock import utcnow


def test_the_watch_flow_publishes_the_case_at_risk(prefect_server):
    from flows.watch import zorgtafel_watch

    # Registered 47 hours ago: one hour left, less than the lead time a zorgtafel needs.
    ref = register(utcnow() - timedelta(hours=47))
    result = zorgtafel_watch(case_reference=ref)
    assert result["changed"] == [ref] and result["escalated"] == [ref] and ref in result["at_risk"]
    case = case_of(ref)
    assert case.risk_reason == "no_feasible_pair" and case.escalated_at is not None

    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"zorgtafel-watch-{ref}"]))
        )
        assert run.state is not None and run.state.is_completed()
        assert run.parameters == {"case_reference": ref} and "at-risk" in run.tags
        artifacts = {
            a.key: a
            for a in client.read_latest_artifacts(
                artifact_filter=ArtifactCollectionFilter(
                    key=ArtifactCollectionFilterKey(any_=["at-risk", f"case-{ref.lower()}"])
                )
            )
        }
    at_risk, summary = str(artifacts["at-risk"].data), str(artifacts[f"case-{ref.lower()}"].data)
    assert f"| {ref} | no_feasible_pair |" in at_risk
    assert "no_feasible_pair" in summary and ref in summary
    for text in (at_risk, summary, str(run.name), str(run.parameters)):
        assert not any(name in text for name in (*FAMILY_NAMES, CHILD_NAME, "Quarendonck"))

    # The event on the case's resource (the Events page of the UI).
    def at_risk_events() -> list[dict] | None:
        r = httpx.post(
            f"{prefect_server}/events/filter",
            json={
                "filter": {
                    "event": {"name": ["zorgtafel.case.at-risk"]},
                    "resource": {"id": [f"zorgtafel.case.{ref}"]},
                }
            },
        )
        r.raise_for_status()
        return r.json()["events"] or None

    (event,) = wait_for(at_risk_events, what="the at-risk event")
    assert event["payload"]["reason"] == "no_feasible_pair"
    assert not any(name in str(event) for name in (*FAMILY_NAMES, CHILD_NAME))

    # A second run changes nothing and warns nobody again.
    again = zorgtafel_watch(case_reference=ref)
    assert again["changed"] == [] and again["escalated"] == [] and ref in again["at_risk"]
    assert case_of(ref).escalated_at == case.escalated_at
