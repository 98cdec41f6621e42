"""The outbox loses nothing: an SMTP server away for ten minutes, a dispatcher killed mid-batch.
Real SMTP server (aiosmtpd), real database, a real process killed with SIGKILL."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from infra.processes import free_port
from notifications.dispatch import dispatch_pending
from tests.integration.test_outbox_dispatch import new_case_with_notice
from zorgtafel import outbox
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, OutboxAttempt, OutboxMessage
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings


class RecordingSink:
    def __init__(self, delay: float = 0.0) -> None:
        self.message_ids: list[str] = []
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.message_ids.append(email.message_from_bytes(envelope.original_content)["Message-ID"])
        return "250 OK"


def case_with_intents(n: int) -> int:
    case_id, ref = new_case_with_notice()  # one intent already
    with unit_of_work() as session:
        case = session.get_one(Case, case_id)
        for i in range(1, n):
            outbox.enqueue(
                session,
                key=f"not-eligible:{ref}:copy-{i}",
                kind="not_eligible_notice",
                recipient=case.registrant_email,
                payload={"reference": ref},
                case=case,
            )
    return case_id


def intents_of(case_id: int) -> list[OutboxMessage]:
    with unit_of_work() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)))


def test_smtp_away_for_ten_minutes_then_every_message_is_delivered_exactly_once():
    case_id = case_with_intents(5)
    port = free_port()
    settings = get_settings().model_copy(update={"smtp_port": port})
    t0 = utcnow()
    now = [t0]

    # The SMTP server is away: the dispatcher runs every 15 s of (simulated) time for ten minutes.
    for second in range(0, 10 * 60 + 1, 15):
        now[0] = t0 + timedelta(seconds=second)
        report = dispatch_pending(case_id=case_id, settings=settings, clock=lambda: now[0])
        assert report.sent == 0
    rows = intents_of(case_id)
    assert {r.status for r in rows} == {"pending"}
    attempts = [r.attempts for r in rows]
    # Backoff 15 s, 30 s, 1, 2, 4 min: tries at 0:00, 0:15, 0:45, 1:45, 3:45 and 7:45 - six in
    # ten minutes, not forty; the next is due at 15:45.
    assert attempts == [6] * 5, attempts

    sink = RecordingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        now[0] = t0 + timedelta(minutes=10) + outbox.BACKOFF_CAP
        assert dispatch_pending(case_id=case_id, settings=settings, clock=lambda: now[0]).sent == 5
        assert dispatch_pending(case_id=case_id, settings=settings, clock=lambda: now[0]).sent == 0
    finally:
        controller.stop()
    rows = intents_of(case_id)
    assert {r.status for r in rows} == {"sent"}
    assert sorted(sink.message_ids) == sorted(r.message_id for r in rows)
    assert len(set(sink.message_ids)) == 5
    with unit_of_work() as session:
        outcomes = session.scalars(
            select(OutboxAttempt.outcome)
            .where(OutboxAttempt.outbox_id == rows[0].id)
            .order_by(OutboxAttempt.id)
        ).all()
    assert outcomes == ["temporary"] * 6 + ["sent"]


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_resends_at_most_the_message_in_flight():
    n = 30
    case_id = case_with_intents(n)
    sink = RecordingSink(delay=0.05)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {**os.environ, "ZT_SMTP_PORT": str(port)}
        code = f"from notifications.dispatch import dispatch_pending; dispatch_pending(case_id={case_id})"
        proc = subprocess.Popen([sys.executable, "-c", code], env=env)
        deadline = time.monotonic() + 60
        while len(sink.message_ids) < 8 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        delivered_before = len(sink.message_ids)
        assert 8 <= delivered_before < n, "the kill must land mid-batch"
        assert any(r.status == "sending" for r in intents_of(case_id))  # claimed, never reported

        # Another dispatcher, once the dead one's lease has run out.
        lease = timedelta(seconds=get_settings().outbox_claim_lease_seconds)
        later = utcnow() + lease + timedelta(seconds=1)
        settings = get_settings().model_copy(update={"smtp_port": port})
        dispatch_pending(case_id=case_id, settings=settings, clock=lambda: later)
    finally:
        controller.stop()
    rows = intents_of(case_id)
    assert {r.status for r in rows} == {"sent"}
    copies = Counter(sink.message_ids)
    assert set(copies) == {r.message_id for r in rows}  # every intent arrived ...
    assert sum(copies.values()) - n <= 1  # ... and at most the one in flight at the kill twice,
    assert all(c <= 2 for c in copies.values())  # with the same Message-ID, so readers see one
