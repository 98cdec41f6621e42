"""A plain (non-calendar) notice mail from the organizer: the one shape every notice shares."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from zorgtafel import outbox
from zorgtafel.settings import Settings


def plain_message(
    *, recipient: str, key: str, subject: str, text: str, html: str | None, settings: Settings, now: datetime
) -> EmailMessage:
    """Text (and HTML) from the organizer; the Message-ID comes from the outbox intent's key, so a
    resend is recognisably the same message."""
    msg = EmailMessage()
    msg["From"] = f"{settings.organizer_label} <{settings.organizer_email}>"
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Message-ID"] = outbox.message_id_for(key, settings.mail_domain)
    msg["Date"] = format_datetime(now)
    msg["Content-Language"] = "nl"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg
