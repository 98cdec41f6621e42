"""Nothing leaks: a case with distinctive names, dates, phones, addresses and a note goes through
the real stack (HTTP API -> served Prefect route -> SMTP sink), its zorgtafel is cancelled with a
free-text reason, and the retention flow anonymises it. Then everything that left the system is
searched for the personal data: every mail in the sink (decoded, calendar parts included), the
calendar feed, the answer page and the subject's access list, every Prefect flow run (names,
parameters, tags, states), task run, log, artifact and variable, and every file the stack wrote
(the API's, the flow server's and Prefect's logs, Prefect's database, the application database
when it is a file). None of it may hold any of them."""

from __future__ import annotations

import email
import email.header
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from sqlalchemy import select, update

from flows.retention import retention
from tests.e2e.helpers import auth, calendar_part, decoded_text, invitations_settled, mails_about, wait_for
from tests.privacy import distinct
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, CaseEvent, OutboxMessage
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings

pytestmark = pytest.mark.e2e

CANCEL_REASON = "Gezin verhuisd naar de Kwakkelsteeg"  # free text: stays in the database


def paged(read: Any, **kw: Any) -> list[Any]:
    out: list[Any] = []
    while True:
        page = read(limit=200, offset=len(out), **kw)
        out += page
        if len(page) < 200:
            return out


def leaks_in(text: str, forbidden: list[str], where: str) -> list[str]:
    return [f"{where}: {s!r}" for s in distinct.leaks(text, forbidden)]


def final_logs(client: Any, run_id: Any) -> list[Any] | None:
    logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    done = any(log.task_run_id is None and "Finished in state" in log.message for log in logs)
    return logs if done else None


def test_personal_data_never_leaves_the_system(stack):
    body = distinct.body()
    forbidden = distinct.forbidden(body)
    r = httpx.post(f"{stack.api_url}/api/v1/registrations", json=body, headers=auth(), timeout=30)
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    c = wait_for(lambda: invitations_settled(stack.api_url, ref), what="invitations sent")
    assert c["status"] == "zorgtafel_planned"
    route_run = c["route"]["flow_run_id"]
    family_address = body["family"][0]["email"]

    # The answer page behind the family member's link, and an expert's private calendar feed.
    family_mail = next(m for _, _, m in mails_about(stack.mail_dir, ref) if str(m["To"]) == family_address)
    rsvp_line = next(line for line in decoded_text(family_mail).splitlines() if "/rsvp/" in line)
    rsvp_page = httpx.get(f"{stack.api_url}/rsvp/{rsvp_line.split('/rsvp/', 1)[1].strip()}", timeout=10)
    assert rsvp_page.status_code == 200 and ref in rsvp_page.text
    with unit_of_work() as session:
        case = session.scalar(select(Case).where(Case.reference == ref))
        expert_id = next(p.expert_id for p in case.zorgtafel.participants if p.expert_id)
    issued = httpx.post(
        f"{stack.api_url}/api/v1/experts/{expert_id}/calendar-feed", headers=auth(), timeout=10
    )
    assert issued.status_code == 201, issued.text
    feed_path = issued.json()["url"].split("/feeds/", 1)[1]
    feed = httpx.get(f"{stack.api_url}/feeds/{feed_path}", timeout=10)
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text

    # Cancel with a free-text reason: every invitee gets a CANCEL.
    cancelled = httpx.post(
        f"{stack.api_url}/api/v1/cases/{ref}/zorgtafel/cancel",
        json={"reason": CANCEL_REASON},
        headers=auth(),
        timeout=30,
    )
    assert cancelled.status_code == 200, cancelled.text

    def all_sent() -> bool:
        with unit_of_work() as session:
            statuses = session.scalars(
                select(OutboxMessage.status)
                .join(Case, Case.id == OutboxMessage.case_id)
                .where(Case.reference == ref)
            ).all()
        return bool(statuses) and all(s == "sent" for s in statuses)

    wait_for(all_sent, timeout=90, what="the CANCEL messages sent")
    cancels = [m for _, _, m in mails_about(stack.mail_dir, ref) if b"METHOD:CANCEL" in calendar_part(m)[1]]
    assert len(cancels) == 5

    # The subject's copy of "who looked at my file".
    accesses = httpx.get(
        f"{stack.api_url}/api/v1/cases/{ref}/accesses?format=csv", headers=auth(), timeout=10
    )
    assert accesses.status_code == 200 and "ingezien" in accesses.text

    # Retention: the case ended longer ago than the retention period; the flow anonymises it.
    settings = get_settings()
    long_ago = utcnow() - timedelta(days=settings.retention_days + 1)
    with unit_of_work() as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == ref))
        session.execute(update(Case).where(Case.id == case_id).values(registered_at=long_ago))
        session.execute(update(CaseEvent).where(CaseEvent.case_id == case_id).values(at=long_ago))
    state = retention(return_state=True)
    assert state.is_completed(), state
    assert ref in state.result()["anonymised"]
    retention_run = state.state_details.flow_run_id
    with unit_of_work() as session:
        case = session.get_one(Case, case_id)
        assert case.anonymised_at is not None and case.child_name is None
        assert case.events[-1].summary.startswith("Persoonsgegevens geanonimiseerd")

    leaks: list[str] = []

    # Every mail the system sent, decoded (bodies and calendar parts) and raw. A recipient's own
    # address is in their own mail; nobody else's is.
    mails = sorted(stack.mail_dir.glob("*.eml"))
    assert len(mails) >= 10
    assert distinct.leaks(decoded_text(family_mail), forbidden) == [family_address]  # the search works
    for path in mails:
        raw = path.read_bytes()
        msg = email.message_from_bytes(raw)
        to = str(email.header.make_header(email.header.decode_header(msg["To"]))).lower()
        theirs = [s for s in forbidden if s.lower() != to]
        leaks += leaks_in(decoded_text(msg), theirs, f"mail {path.name}")
        leaks += leaks_in(raw.decode("utf-8", errors="replace"), theirs, f"raw mail {path.name}")

    # What else left through the API.
    leaks += leaks_in(rsvp_page.text, forbidden, "answer page")
    leaks += leaks_in(feed.text, forbidden, "calendar feed")
    leaks += leaks_in(accesses.text, forbidden, "access list (CSV)")

    # Everything Prefect holds: every run of every flow, task runs, logs, artifacts, variables.
    with get_client(sync_client=True) as client:
        wait_for(lambda: final_logs(client, route_run), what="the route run's last logs")
        retention_logs = wait_for(lambda: final_logs(client, retention_run), what="the retention run's logs")
        runs = paged(client.read_flow_runs)
        task_runs = paged(client.read_task_runs)
        logs = paged(client.read_logs)
        artifacts = paged(client.read_artifacts)
        variables = client.read_variables(limit=200)
    assert any(str(run.id) == route_run for run in runs)
    assert any("case(s) anonymised" in log.message for log in retention_logs)
    assert len(logs) >= 10 and artifacts
    prefect_text = "\n".join(
        [f"{r.name} {r.parameters} {r.tags} {r.state and r.state.message} {r.state_name}" for r in runs]
        + [f"{t.name} {t.task_inputs} {t.state and t.state.message}" for t in task_runs]
        + [log.message for log in logs]
        + [f"{a.key} {a.data} {a.description}" for a in artifacts]
        + [f"{v.name} {v.value}" for v in variables]
    )
    assert ref in prefect_text  # the search does see this case's runs
    leaks += leaks_in(prefect_text, forbidden, "Prefect")

    # Every file the stack wrote: application and Prefect logs, Prefect's database, the
    # application database (SQLite: ciphertext only), the var dir. The mail sink was read above.
    root = Path(os.environ["ZT_VAR_DIR"]).parent
    scanned = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if stack.mail_dir in path.parents:
            continue
        scanned.append(path.name)
        leaks += leaks_in(path.read_bytes().decode("utf-8", errors="replace"), forbidden, f"file {path}")
    assert {"api.log", "flows.log"} <= set(scanned)
    assert ref in (root / "api.log").read_text(errors="replace")  # the API's log is not empty of it

    assert not leaks, "\n".join(leaks)
