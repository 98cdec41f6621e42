"""Sending through a real SMTP server (aiosmtpd on 127.0.0.1), not a mock."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from notifications.imip import build_calendar
from notifications.smtp import DeliveryError, SmtpSettings, send_message
from tests.notifications.test_imip import DTSTAMP, make_meeting, make_message, parse_calendar


@dataclass
class Sink:
    """aiosmtpd handler: keeps what arrives; can be told to refuse RCPT or DATA."""

    received: list[Any] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Sink, SmtpSettings]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, SmtpSettings(host="127.0.0.1", port=port, timeout=5.0)
    finally:
        controller.stop()


def test_invitation_arrives_intact(smtp_server: tuple[Sink, SmtpSettings]) -> None:
    sink, settings = smtp_server
    meeting = make_meeting()
    send_message(make_message(meeting), settings)

    assert len(sink.received) == 1
    envelope = sink.received[0]
    assert envelope.rcpt_tos == ["expert@pleegzorg.example"]
    assert envelope.mail_from == "zorgtafel@zorgtafel.example"

    arrived = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert arrived["Message-ID"] == "<invite-42-expert@zorgtafel.example>"
    assert arrived["Subject"] == "Uitnodiging zorgtafel ZT-2026-7KQ4MX – di 24 nov 2026 14:00"
    assert [p.get_content_type() for p in arrived.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    assert b"Content-Type: text/calendar; method=REQUEST; charset=utf-8" in envelope.content
    inline_calendar = next(p for p in arrived.walk() if p.get_content_type() == "text/calendar")
    data = inline_calendar.get_payload(decode=True)
    assert data == build_calendar(meeting, method="REQUEST", dtstamp=DTSTAMP)
    calendar = parse_calendar(data)
    assert calendar.method.value == "REQUEST"
    assert calendar.vevent.uid.value == meeting.uid
    plain = arrived.get_body(preferencelist=("plain",)).get_content()
    assert "Om privacyredenen bevat deze uitnodiging geen gegevens over het gezin" in plain


def test_closed_port_is_a_temporary_failure() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2.0)
    with pytest.raises(DeliveryError) as caught:
        send_message(make_message(), settings)
    assert caught.value.permanent is False
    assert caught.value.smtp_code is None
    assert "127.0.0.1" in str(caught.value)


def test_5xx_on_recipient_is_permanent_and_hides_the_address(
    smtp_server: tuple[Sink, SmtpSettings],
) -> None:
    sink, settings = smtp_server
    sink.rcpt_reply = "550 5.1.1 <{address}>: Recipient address rejected"
    with pytest.raises(DeliveryError) as caught:
        send_message(make_message(), settings)
    assert caught.value.permanent is True
    assert caught.value.smtp_code == 550
    assert "expert@pleegzorg.example" not in str(caught.value)
    assert sink.received == []


def test_4xx_on_recipient_is_temporary(smtp_server: tuple[Sink, SmtpSettings]) -> None:
    sink, settings = smtp_server
    sink.rcpt_reply = "451 4.7.1 Greylisted, try again later"
    with pytest.raises(DeliveryError) as caught:
        send_message(make_message(), settings)
    assert caught.value.permanent is False
    assert caught.value.smtp_code == 451


def test_5xx_on_data_is_permanent(smtp_server: tuple[Sink, SmtpSettings]) -> None:
    sink, settings = smtp_server
    sink.data_reply = "554 5.6.0 Message content rejected"
    with pytest.raises(DeliveryError) as caught:
        send_message(make_message(), settings)
    assert caught.value.permanent is True
    assert caught.value.smtp_code == 554


def test_starttls_not_offered_is_permanent(smtp_server: tuple[Sink, SmtpSettings]) -> None:
    _, settings = smtp_server
    settings = SmtpSettings(host=settings.host, port=settings.port, starttls=True, timeout=5.0)
    with pytest.raises(DeliveryError) as caught:
        send_message(make_message(), settings)
    assert caught.value.permanent is True


def test_password_is_not_in_repr() -> None:
    settings = SmtpSettings(host="smtp.example", port=587, username="u", password="geheim")
    assert "geheim" not in repr(settings)
