"""The organizer mailbox as a real SMTP and LMTP server: a vobject-built REPLY sent with smtplib
ends up as the participant's state in the database; everything that is read is acknowledged
with 250, and only an unreachable database gives 451."""

from __future__ import annotations

import logging
import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import create_engine

from infra.processes import free_port
from notifications.inbound_server import REPLY_TRY_LATER, start_inbound_server
from tests.conftest import DATABASE_URL
from tests.inbound.mails import (
    ORGANIZER,
    gmail_calendar,
    gmail_mail,
    outlook_calendar,
    outlook_mail,
    plain_calendar_mail,
    vobject_calendar,
)
from tests.inbound.planned import Planned, events, intents, participant, planned_zorgtafel
from zorgtafel.vocabulary import InvitationState, ParticipantRole

HOST = "127.0.0.1"


@pytest.fixture(params=[False, True], ids=["smtp", "lmtp"])
def server(request) -> Iterator[tuple[int, bool]]:
    port = free_port()
    controller = start_inbound_server(HOST, port, lmtp=request.param)
    try:
        yield port, request.param
    finally:
        controller.stop()


def client(port: int, lmtp: bool) -> smtplib.SMTP:
    return smtplib.LMTP(HOST, port) if lmtp else smtplib.SMTP(HOST, port, timeout=10)


def send(port: int, lmtp: bool, raw: bytes, sender: str, rcpt: str = ORGANIZER) -> dict:
    with client(port, lmtp) as smtp:
        return smtp.sendmail(sender, [rcpt], raw)


def test_vobject_reply_round_trip_sets_the_participant_state(server):
    port, lmtp = server
    planned = planned_zorgtafel()
    expert = planned.by_role(ParticipantRole.EXPERT)
    raw = plain_calendar_mail(
        vobject_calendar(uid=planned.ical_uid, attendee=expert.email, partstat="ACCEPTED"),
        sender=expert.email,
    )
    assert send(port, lmtp, raw, expert.email) == {}
    p = participant(expert.id)
    assert p.invitation_state == InvitationState.ACCEPTED
    assert p.responded_at is not None
    assert events(planned.case_id)[-1].kind == "invitation_accepted"


def test_outlook_decline_and_gmail_tentative_round_trip(server):
    port, lmtp = server
    planned = planned_zorgtafel()
    manager = planned.by_role(ParticipantRole.CASE_MANAGER)
    registrant = planned.by_role(ParticipantRole.REGISTRANT)
    outlook = outlook_mail(
        outlook_calendar(uid=planned.ical_uid, attendee=manager.email.upper(), partstat="DECLINED"),
        sender=manager.email,
    )
    gmail = gmail_mail(
        gmail_calendar(uid=planned.ical_uid, attendee=registrant.email, partstat="TENTATIVE"),
        sender=registrant.email,
    )
    send(port, lmtp, outlook, manager.email)
    send(port, lmtp, gmail, registrant.email)
    assert participant(manager.id).invitation_state == InvitationState.DECLINED
    assert participant(registrant.id).invitation_state == InvitationState.TENTATIVE


def test_outlook_counter_round_trip_enqueues_one_notice(server):
    port, lmtp = server
    planned = planned_zorgtafel()
    expert = planned.by_role(ParticipantRole.EXPERT)
    raw = outlook_mail(
        outlook_calendar(
            uid=planned.ical_uid,
            attendee=expert.email,
            method="COUNTER",
            partstat="TENTATIVE",
            start_local="20261124T160000",
            end_local="20261124T173000",
        ),
        sender=expert.email,
        method="COUNTER",
    )
    send(port, lmtp, raw, expert.email)
    send(port, lmtp, raw, expert.email)  # delivered twice
    (notice,) = intents(planned.case_id, "counter_notice")
    assert notice.recipient == planned.manager_email
    assert notice.payload["proposed_start"] == "2026-11-24T15:00:00+00:00"
    assert participant(expert.id).invitation_state == InvitationState.SENT


def test_business_refusals_and_non_itip_mail_are_accepted_with_250(server, caplog):
    port, lmtp = server
    planned = planned_zorgtafel()
    stranger = "doorgestuurd@elders.example"
    expert = planned.by_role(ParticipantRole.EXPERT)
    mails = [
        # an address that was not invited
        plain_calendar_mail(vobject_calendar(uid=planned.ical_uid, attendee=stranger), sender=stranger),
        # a meeting we do not know
        plain_calendar_mail(
            vobject_calendar(uid="onbekend@zorgtafel.example", attendee=expert.email), sender=expert.email
        ),
        # a broken calendar
        plain_calendar_mail(b"BEGIN:VCALENDAR\r\nnonsense\r\n", sender=expert.email),
    ]
    question = EmailMessage()
    question["From"] = expert.email
    question["To"] = ORGANIZER
    question["Subject"] = "Vraag"
    question.set_content("Mag ik iemand meebrengen?")
    mails.append(question.as_bytes())
    caplog.set_level(logging.INFO, logger="zorgtafel.inbound")
    for raw in mails:
        assert send(port, lmtp, raw, expert.email) == {}  # no exception: 250
    assert participant(expert.id).invitation_state == InvitationState.SENT
    codes = " ".join(r.getMessage() for r in caplog.records)
    for code in ("not_invited", "unknown_meeting", "unparseable", "no_calendar"):
        assert code in codes
    assert planned.reference in codes


def test_other_recipients_are_refused(server):
    port, lmtp = server
    with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
        send(port, lmtp, b"Subject: x\r\n\r\nx\r\n", "a@b.example", rcpt="iemand@anders.example")
    ((code, _),) = info.value.recipients.values()
    assert code == 550


def test_logs_carry_no_address(server, caplog):
    port, lmtp = server
    caplog.set_level(logging.DEBUG)
    planned = planned_zorgtafel()
    expert = planned.by_role(ParticipantRole.EXPERT)
    send(
        port,
        lmtp,
        plain_calendar_mail(
            vobject_calendar(uid=planned.ical_uid, attendee=expert.email, partstat="DECLINED"),
            sender=expert.email,
        ),
        expert.email,
    )
    every = [r.getMessage() for r in caplog.records]  # ours and aiosmtpd's ("mail.log")
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("zorgtafel")]
    assert ours and any(planned.reference in m for m in ours)
    for message in every:
        assert "@" not in message
        for invitee in planned.invitees:
            assert invitee.email not in message


def _unreachable_engine():
    if DATABASE_URL.startswith("postgresql"):
        return create_engine(
            "postgresql+psycopg://postgres@127.0.0.1:1/nowhere", connect_args={"connect_timeout": 2}
        )
    return create_engine("sqlite:////nonexistent-directory/zorgtafel.db")


@pytest.mark.parametrize("lmtp", [False, True], ids=["smtp", "lmtp"])
def test_unreachable_database_gives_451_and_the_mail_can_come_again(lmtp):
    planned = planned_zorgtafel()
    expert = planned.by_role(ParticipantRole.EXPERT)
    raw = plain_calendar_mail(
        vobject_calendar(uid=planned.ical_uid, attendee=expert.email, partstat="ACCEPTED"),
        sender=expert.email,
    )
    port = free_port()
    down = start_inbound_server(HOST, port, lmtp=lmtp, engine=_unreachable_engine())
    try:
        with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPRecipientsRefused)) as info:
            send(port, lmtp, raw, expert.email)
        err = info.value
        code = (
            err.smtp_code
            if isinstance(err, smtplib.SMTPDataError)
            else next(iter(err.recipients.values()))[0]
        )
        assert code == 451
    finally:
        down.stop()
    assert participant(expert.id).invitation_state == InvitationState.SENT
    # The MTA tries again once the database is back.
    port = free_port()
    up = start_inbound_server(HOST, port, lmtp=lmtp)
    try:
        send(port, lmtp, raw, expert.email)
    finally:
        up.stop()
    assert participant(expert.id).invitation_state == InvitationState.ACCEPTED


def _reply(sock_file, expect: int) -> str:
    line = sock_file.readline().decode()
    assert line.startswith(str(expect)), line
    return line


def test_lmtp_answers_once_per_recipient_after_data():
    """RFC 2033: after DATA, one reply per accepted RCPT (smtplib sends one recipient at a time
    in the other tests; an MTA such as Postfix may send several)."""
    planned: Planned = planned_zorgtafel()
    expert = planned.by_role(ParticipantRole.EXPERT)
    alias = "organisator-alias@zorgtafel.example"
    port = free_port()
    controller = start_inbound_server(HOST, port, lmtp=True, recipients=[ORGANIZER, alias])
    raw = plain_calendar_mail(
        vobject_calendar(uid=planned.ical_uid, attendee=expert.email, partstat="TENTATIVE"),
        sender=expert.email,
    )
    try:
        with socket.create_connection((HOST, port), timeout=10) as sock, sock.makefile("rb") as f:
            _reply(f, 220)
            sock.sendall(b"LHLO mta.example\r\n")
            while not f.readline().decode().startswith("250 "):
                pass
            sock.sendall(f"MAIL FROM:<{expert.email}>\r\n".encode())
            _reply(f, 250)
            for rcpt in (ORGANIZER, alias):
                sock.sendall(f"RCPT TO:<{rcpt}>\r\n".encode())
                _reply(f, 250)
            sock.sendall(b"DATA\r\n")
            _reply(f, 354)
            sock.sendall(raw.replace(b"\n.", b"\n..") + b"\r\n.\r\n")
            _reply(f, 250)
            _reply(f, 250)
            sock.sendall(b"QUIT\r\n")
            _reply(f, 221)
    finally:
        controller.stop()
    assert participant(expert.id).invitation_state == InvitationState.TENTATIVE


def test_try_later_reply_is_a_proper_temporary_code():
    assert REPLY_TRY_LATER.startswith("451 4.")
