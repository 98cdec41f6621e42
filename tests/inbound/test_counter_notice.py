"""The notice to the case manager about a counter proposal: Dutch, reference, time and role
label only; and the outbox carries it to a real SMTP server once it is in BUILDERS."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from infra.processes import free_port
from notifications import dispatch
from notifications.dispatch import Intent, dispatch_pending
from notifications.inbound_notices import build_counter_notice, render_counter_notice
from tests.factories import FAMILY_NAMES
from tests.inbound.planned import events, intents, planned_zorgtafel
from tests.notifications.test_smtp import Sink
from zorgtafel.clock import utcnow
from zorgtafel.db.models import OutboxMessage
from zorgtafel.db.session import unit_of_work
from zorgtafel.replies import ItipIn, ReplyCode, apply_itip
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import ParticipantRole

START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # dinsdag 24 november 2026, 16:00 in Brussels


def test_render_counter_notice_in_dutch_with_reference_time_and_role():
    text = render_counter_notice(
        reference="ZT-2026-7KQ4MX",
        proposed_start=START,
        proposed_end=START + timedelta(minutes=90),
        role_label="Expert (Pleegzorg Limburg)",
    )
    assert text.subject == "Ander tijdstip voorgesteld voor zorgtafel ZT-2026-7KQ4MX – di 24 nov 2026 16:00"
    for body in (text.text, text.html):
        assert "ZT-2026-7KQ4MX" in body
        assert "dinsdag 24 november 2026, 16:00–17:30" in body
        assert "Brussel-tijd" in body
        assert "Expert (Pleegzorg Limburg)" in body
        assert "niet gewijzigd" in body
        assert "uiterste datum" not in body
    assert text.html.startswith("<!DOCTYPE html>")


def test_summer_time_planned_time_and_deadline_warning():
    start = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
    text = render_counter_notice(
        reference="ZT-2026-7KQ4MX",
        proposed_start=start,
        proposed_end=start + timedelta(minutes=90),
        role_label="Gezin",
        planned_start=start - timedelta(days=1),
        deadline=start - timedelta(hours=1),
    )
    assert "woensdag 15 juli 2026, 14:00–15:30" in text.text  # CEST
    assert "Nu gepland:         dinsdag 14 juli 2026 om 14:00" in text.text
    assert "uiterste datum voor de zorgtafel (woensdag 15 juli 2026 om 13:00)" in text.text


def test_role_label_is_escaped_in_html():
    text = render_counter_notice(
        reference="ZT-2026-7KQ4MX",
        proposed_start=START,
        proposed_end=START + timedelta(hours=1),
        role_label="Expert (<b>CKG</b>)",
    )
    assert "&lt;b&gt;CKG&lt;/b&gt;" in text.html


@pytest.mark.parametrize(
    "changes",
    [
        {"reference": "Xanthippe Quarendonck"},
        {"proposed_end": START},
        {"proposed_start": START.replace(tzinfo=None)},
        {"role_label": "Expert\nBcc: x@y.example"},
    ],
)
def test_render_refuses_bad_input(changes):
    args = {
        "reference": "ZT-2026-7KQ4MX",
        "proposed_start": START,
        "proposed_end": START + timedelta(hours=1),
        "role_label": "Gezin",
    } | changes
    with pytest.raises(ValueError):
        render_counter_notice(**args)


def test_build_counter_notice_headers():
    settings = get_settings()
    intent = Intent(
        id=1,
        key="counter_notice:abc:0:123",
        kind="counter_notice",
        recipient="casemanager@zorgtafel.example",
        payload={
            "reference": "ZT-2026-7KQ4MX",
            "role_label": "Gezin",
            "proposed_start": START.isoformat(),
            "proposed_end": (START + timedelta(minutes=90)).isoformat(),
        },
    )
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    msg = build_counter_notice(intent, settings, now=now)
    assert msg["To"] == "casemanager@zorgtafel.example"
    assert settings.organizer_email in msg["From"]
    assert msg["Message-ID"] == build_counter_notice(intent, settings, now=now)["Message-ID"]
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_body(("plain",)).get_content().startswith("Goedendag,")


def test_counter_proposal_reaches_the_case_manager_through_the_outbox(monkeypatch):
    monkeypatch.setitem(dispatch.BUILDERS, "counter_notice", build_counter_notice)
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        planned = planned_zorgtafel()
        expert = planned.by_role(ParticipantRole.EXPERT)
        with unit_of_work() as session:
            outcome = apply_itip(
                session,
                ItipIn(
                    method="COUNTER",
                    uid=planned.ical_uid,
                    sequence=0,
                    attendee_email=expert.email,
                    partstat="TENTATIVE",
                    proposed_start=START,
                    proposed_end=START + timedelta(minutes=90),
                    comment=f"{FAMILY_NAMES[0]} kan pas later",
                ),
                now=utcnow(),
            )
        assert outcome.code == ReplyCode.COUNTER_RECORDED
        # Only the notice: the invitations of this case are sent elsewhere in the suite.
        assert len(intents(planned.case_id, "counter_notice")) == 1
        with unit_of_work() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.case_id == planned.case_id, OutboxMessage.kind != "counter_notice")
                .values(status="superseded")
            )
        settings = get_settings().model_copy(update={"smtp_port": port})
        report = dispatch_pending(case_id=planned.case_id, settings=settings)
        assert report.sent == 1 and report.failed == 0
        (envelope,) = sink.received
        assert envelope.rcpt_tos == [planned.manager_email]
        raw = envelope.original_content
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        body = mail.get_body(("plain",)).get_content()
        assert planned.reference in mail["Subject"] and planned.reference in body
        assert expert.label in body
        for secret in (*FAMILY_NAMES, expert.email):
            assert secret.encode() not in raw and secret not in body
        assert intents(planned.case_id, "counter_notice")[0].status == "sent"
        assert events(planned.case_id)[-1].kind == "counter_notice_sent"
    finally:
        controller.stop()
