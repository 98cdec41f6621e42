"""The ``availability-sync`` flow on a real Prefect server: it imports every feed, and what Prefect
keeps of the run (name, parameters, logs, result) holds counts and expert ids only."""

from __future__ import annotations

import time
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from flows.availability import availability_sync
from tests.pool.feed_server import events_feed, feed_server, local_day
from tests.pool.helpers import POOL, new_expert


def _logs(flow_run_id: UUID, wanted: str, timeout: float = 20) -> list[str]:
    """The run's log messages, once the one containing ``wanted`` has arrived (logs are batched)."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as prefect:
        while True:
            logs = prefect.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            messages = [log.message for log in logs]
            if any(wanted in m for m in messages) or time.monotonic() > deadline:
                return messages
            time.sleep(0.3)


def test_the_flow_syncs_and_keeps_personal_data_out_of_prefect(prefect_server, client, coordinator):
    ok = new_expert(client, coordinator, name="Quirina Feedvoorbeeld")
    broken = new_expert(client, coordinator, name="Rembert Feedvoorbeeld")
    with feed_server() as server:
        busy = (local_day(2).replace(hour=9), local_day(2).replace(hour=11))
        server.routes = {"/ok/tok-AAA111.ics": (200, events_feed(busy)), "/kapot/tok-BBB222.ics": (404, b"")}
        for expert, path in ((ok, "/ok/tok-AAA111.ics"), (broken, "/kapot/tok-BBB222.ics")):
            response = client.put(
                f"{POOL}/experts/{expert['id']}/availability-feed",
                json={"url": server.url(path)},
                headers=coordinator,
            )
            assert response.status_code == 200

        state = availability_sync(return_state=True)
        assert state.is_completed(), state
        result = state.result()
        assert broken["id"] in result["failed_expert_ids"]
        assert ok["id"] not in result["failed_expert_ids"]
        assert result["synced"] >= 1 and result["failed"] >= 1
        assert sorted(server.requests) == ["/kapot/tok-BBB222.ics", "/ok/tok-AAA111.ics"]

    feed_busy = client.get(f"{POOL}/experts/{ok['id']}/busy", params={"source": "feed"}, headers=coordinator)
    assert [(b["starts_at"], b["ends_at"]) for b in feed_busy.json()] == [
        (busy[0].isoformat(), busy[1].isoformat())
    ]
    assert (
        "HTTP 404"
        in client.get(f"{POOL}/experts/{broken['id']}", headers=coordinator).json()["availability_feed"][
            "error"
        ]
    )

    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as prefect:
        run = prefect.read_flow_run(flow_run_id)
    assert run.name.startswith("availability-sync-")
    assert run.parameters == {}
    messages = _logs(flow_run_id, "availability feeds not updated")
    assert any(f"{broken['id']}" in m and "not updated" in m for m in messages), messages
    everything = " ".join([run.name, str(run.tags), *messages, str(result)])
    for secret in (
        "Feedvoorbeeld",
        "Quirina",
        "pooltest.example",
        "tok-AAA111",
        "tok-BBB222",
        "127.0.0.1",
        "kapot",
    ):
        assert secret not in everything, secret
