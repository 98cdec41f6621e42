"""The outbox and its dispatcher against a real database and a real SMTP server (aiosmtpd):
sent once, retried after an outage without a second copy, a dead dispatcher's claim taken over."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from api.routers.registrations import to_core
from api.schemas import RegistrationIn
from infra.processes import free_port
from notifications.dispatch import dispatch_pending
from tests.factories import registration
from tests.notifications.test_smtp import Sink
from zorgtafel import outbox
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, CaseEvent, OutboxMessage
from zorgtafel.db.session import unit_of_work
from zorgtafel.registration import register_case
from zorgtafel.settings import get_settings


def new_case_with_notice() -> tuple[int, str]:
    """A stored case with one pending intent in the outbox."""
    reg = to_core(RegistrationIn.model_validate(registration()))
    with unit_of_work() as session:
        case, _ = register_case(session, reg, now=utcnow(), settings=get_settings())
        outbox.enqueue(
            session,
            key=f"not-eligible:{case.reference}",
            kind="not_eligible_notice",
            recipient=case.registrant_email,
            payload={"reference": case.reference},
            case=case,
        )
        return case.id, case.reference


def intent(case_id: int) -> OutboxMessage:
    with unit_of_work() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).one()


@pytest.fixture
def smtp() -> Any:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = get_settings().model_copy(update={"smtp_port": port})
    yield sink, settings, controller
    controller.stop()


def test_enqueue_with_the_same_key_is_one_intent():
    case_id, ref = new_case_with_notice()
    with unit_of_work() as session:
        case = session.get_one(Case, case_id)
        again = outbox.enqueue(
            session,
            key=f"not-eligible:{ref}",
            kind="not_eligible_notice",
            recipient="x@y.example",
            payload={},
            case=case,
        )
        assert again.recipient == case.registrant_email  # the first intent, untouched
    with unit_of_work() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all()
        assert len(rows) == 1


def test_pending_intent_is_sent_once_and_not_again(smtp):
    sink, settings, _ = smtp
    case_id, ref = new_case_with_notice()
    report = dispatch_pending(case_id=case_id, settings=settings)
    assert (report.sent, report.failed, report.retryable) == (1, 0, 0)
    again = dispatch_pending(case_id=case_id, settings=settings)
    assert (again.sent, again.failed, again.retryable) == (0, 0, 0)
    assert len(sink.received) == 1
    row = intent(case_id)
    assert row.status == "sent" and row.attempts == 1 and row.message_id
    assert ref.encode() in sink.received[0].original_content


def test_smtp_outage_keeps_the_intent_and_delivers_it_once_afterwards(smtp):
    sink, settings, _ = smtp
    case_id, _ = new_case_with_notice()
    down = settings.model_copy(update={"smtp_port": free_port()})  # nothing listens there
    report = dispatch_pending(case_id=case_id, settings=down)
    assert (report.sent, report.retryable) == (0, 1)
    row = intent(case_id)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert dispatch_pending(case_id=case_id, settings=settings).sent == 0  # not before its backoff
    after_backoff = row.next_attempt_at + timedelta(seconds=1)
    report = dispatch_pending(case_id=case_id, settings=settings, clock=lambda: after_backoff)
    assert report.sent == 1
    assert len(sink.received) == 1
    row = intent(case_id)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None


def test_permanent_refusal_is_not_retried_and_lands_on_the_timeline(smtp):
    sink, settings, _ = smtp
    sink.rcpt_reply = "550 5.1.1 <{address}>: no such user"
    case_id, _ = new_case_with_notice()
    report = dispatch_pending(case_id=case_id, settings=settings)
    assert (report.sent, report.failed) == (0, 1)
    assert intent(case_id).status == "failed"
    assert dispatch_pending(case_id=case_id, settings=settings).failed == 0  # not claimed again
    with unit_of_work() as session:
        kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)).all()
    assert "not_eligible_notice_failed" in kinds


def test_a_dead_dispatchers_claim_is_taken_over_after_the_lease_and_a_live_one_is_not(smtp):
    sink, settings, _ = smtp
    case_id, _ = new_case_with_notice()
    with unit_of_work() as session:
        claimed = outbox.claim(session, case_id=case_id)  # ... and then the dispatcher dies
        assert len(claimed) == 1
    assert dispatch_pending(case_id=case_id, settings=settings).sent == 0  # lease still running
    assert sink.received == []
    with unit_of_work() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).one()
        row.claimed_at = utcnow() - outbox.CLAIM_LEASE - timedelta(seconds=1)
    assert dispatch_pending(case_id=case_id, settings=settings).sent == 1
    assert len(sink.received) == 1
    assert intent(case_id).attempts == 2


def test_message_id_is_derived_from_the_intent_so_a_resend_is_the_same_message():
    a = outbox.message_id_for("invitation:uid:0:expert:1", "zorgtafel.example")
    assert a == outbox.message_id_for("invitation:uid:0:expert:1", "zorgtafel.example")
    assert a != outbox.message_id_for("invitation:uid:1:expert:1", "zorgtafel.example")
