"""The outbox dispatcher: claim due intents, render them, send them, report each result back.

Claim, send and report are three steps so that a crash between them never loses an intent:
a claimed intent whose dispatcher died is claimed again after a lease (zorgtafel.outbox). The
Message-ID is derived from the intent's key, so a resend after such a crash is the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine

from notifications.imip import Attendee, Meeting, build_imip_message
from notifications.inbound_notices import build_counter_notice
from notifications.mail import plain_message
from notifications.render import (
    RenderedText,
    render_cancellation,
    render_escalation,
    render_invitation,
    render_not_eligible_notice,
    render_notice,
    render_withdrawal,
)
from notifications.smtp import DeliveryError, SmtpSettings, send_message
from zorgtafel import convening, outbox, rsvp, tokens
from zorgtafel.clock import utcnow
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import Settings, get_settings


@dataclass(frozen=True)
class Intent:
    id: int
    key: str
    kind: str
    recipient: str
    payload: dict[str, Any]
    channel: str = "email"


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0  # permanently: will not be retried
    retryable: int = 0  # temporarily: still pending


def smtp_settings(settings: Settings) -> SmtpSettings:
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )


def rsvp_url(p: dict[str, Any], settings: Settings) -> str | None:
    """The personal answer link for this invitation version, if links can be signed here."""
    if not settings.secret_key or not p.get("rsvp", True):
        return None
    token = tokens.sign(
        rsvp.PURPOSE,
        {"pid": p["participant_id"], "seq": p["sequence"]},
        expires_at=datetime.fromisoformat(p["starts_at"]),
        secret=settings.secret_key,
    )
    return f"{settings.public_base_url}/rsvp/{token}"


def build_invitation(intent: Intent, settings: Settings, *, now: datetime) -> EmailMessage:
    p = intent.payload
    method = p.get("method", "REQUEST")
    starts_at = datetime.fromisoformat(p["starts_at"])
    ends_at = datetime.fromisoformat(p["ends_at"])
    meeting_label = p.get("meeting", "zorgtafel")
    if method == "CANCEL":
        # A CANCEL to one replaced attendee (the meeting goes on) or to everyone (cancelled).
        render_cancel = render_withdrawal if intent.kind == "invitation_withdrawal" else render_cancellation
        text = render_cancel(
            reference=p["reference"],
            starts_at=starts_at,
            ends_at=ends_at,
            location=p["location"],
            tzid=settings.timezone,
            meeting=meeting_label,
        )
    else:
        text = render_invitation(
            reference=p["reference"],
            starts_at=starts_at,
            ends_at=ends_at,
            location=p["location"],
            role_label=p["role_label"],
            respond_by=datetime.fromisoformat(p["respond_by"]),
            sequence=p["sequence"],
            tzid=settings.timezone,
            rsvp_url=rsvp_url(p, settings),
            meeting=meeting_label,
        )
    meeting = Meeting(
        uid=f"{p['uid']}@{settings.mail_domain}",
        sequence=p["sequence"],
        reference=p["reference"],
        starts_at=starts_at,
        ends_at=ends_at,
        location=p["location"],
        organizer_email=settings.organizer_email,
        organizer_label=settings.organizer_label,
        attendees=tuple(Attendee(email=a["email"], label=a["label"]) for a in p["attendees"]),
        summary=text.summary,
        description=text.description,
        status="CANCELLED" if method == "CANCEL" else "CONFIRMED",
        tzid=settings.timezone,
    )
    return build_imip_message(
        meeting,
        method=method,
        recipient_email=intent.recipient,
        sender=f"{settings.organizer_label} <{settings.organizer_email}>",
        message_id=outbox.message_id_for(intent.key, settings.mail_domain),
        dtstamp=now,
        subject=text.subject,
        text_body=text.text,
        html_body=text.html,
    )


def build_notice(intent: Intent, settings: Settings, *, now: datetime) -> EmailMessage:
    text = render_not_eligible_notice(
        reference=intent.payload["reference"], regular_help_url=settings.regular_help_url
    )
    return plain_message(
        recipient=intent.recipient, key=intent.key, subject=text.subject, text=text.text, html=text.html,
        settings=settings, now=now,
    )  # fmt: skip


def build_reminder(intent: Intent, settings: Settings, *, now: datetime) -> EmailMessage:
    p = intent.payload
    text = render_notice(
        reference=p["reference"],
        method="REQUEST",
        starts_at=datetime.fromisoformat(p["starts_at"]),
        location=p["location"],
        link=None,
        tzid=settings.timezone,
        meeting=p["meeting"],
    )
    return plain_message(
        recipient=intent.recipient, key=intent.key, subject=f"Herinnering: {text.subject}", text=text.text,
        html=None, settings=settings, now=now,
    )  # fmt: skip


def escalation_text(payload: dict[str, Any], settings: Settings) -> RenderedText:
    """The coordinator's warning: reference, the reason's Dutch text and the deadline only."""
    return render_escalation(
        reference=payload["reference"],
        reason=convening.risk_label(payload["reason"]),
        deadline=datetime.fromisoformat(payload["deadline"]),
        tzid=settings.timezone,
    )


def build_escalation(intent: Intent, settings: Settings, *, now: datetime) -> EmailMessage:
    text = escalation_text(intent.payload, settings)
    return plain_message(
        recipient=intent.recipient, key=intent.key, subject=text.subject, text=text.text, html=text.html,
        settings=settings, now=now,
    )  # fmt: skip


BUILDERS = {
    "invitation": build_invitation,
    # The same invitation with a new attendee list, answers kept; a CANCEL to a replaced attendee.
    "invitation_update": build_invitation,
    "invitation_withdrawal": build_invitation,
    "escalation_notice": build_escalation,
    "evaluation_invitation": build_invitation,
    "reminder": build_reminder,
    "not_eligible_notice": build_notice,
    "counter_notice": build_counter_notice,
}


class _Refused(Exception):
    def __init__(self, error: str, *, permanent: bool) -> None:
        super().__init__(error)
        self.permanent = permanent


def _send_email(intent: Intent, settings: Settings, now: datetime) -> str:
    try:
        message = BUILDERS[intent.kind](intent, settings, now=now)
    except (KeyError, ValueError) as exc:
        # An intent that cannot be rendered will not render on a retry either.
        raise _Refused(f"cannot build message: {exc!r}", permanent=True) from exc
    try:
        send_message(message, smtp_settings(settings))
    except DeliveryError as exc:
        raise _Refused(str(exc), permanent=exc.permanent) from exc
    return str(message["Message-ID"])


def _send_apprise(intent: Intent, settings: Settings, now: datetime) -> str:
    from notifications.channels import send_notice

    p = intent.payload
    if intent.kind == "escalation_notice":
        text = escalation_text(p, settings)
        body = text.description
    else:
        text = render_notice(
            reference=p["reference"],
            method=p["method"],
            starts_at=datetime.fromisoformat(p["starts_at"]),
            location=p["location"],
            link=rsvp_url(p, settings) if p["method"] == "REQUEST" else None,
            tzid=settings.timezone,
            meeting=p.get("meeting", "zorgtafel"),
            withdrawn=intent.key.startswith("notice-invitation_withdrawal:"),
        )
        body = text.text
    (result,) = send_notice([p["url"]], title=text.subject, body=body)
    if not result.ok:
        raise _Refused(result.error or "notice not delivered", permanent=result.permanent)
    return outbox.message_id_for(intent.key, settings.mail_domain)


SENDERS = {"email": _send_email, "apprise": _send_apprise}


def dispatch_pending(
    *,
    case_id: int | None = None,
    engine: Engine | None = None,
    settings: Settings | None = None,
    clock: Callable[[], datetime] = utcnow,
    max_batches: int = 20,
) -> DispatchReport:
    """Send what is due, batch by batch, until nothing is due (or ``max_batches`` were done).

    Each intent is claimed (committed), sent, and its result reported (committed): a crash at
    any point leaves it claimed, and another dispatcher takes it over after the lease."""
    settings = settings or get_settings()
    lease = timedelta(seconds=settings.outbox_claim_lease_seconds)
    report = DispatchReport()
    for _ in range(max_batches):
        with unit_of_work(engine) as session:
            intents = [
                Intent(m.id, m.idempotency_key, m.kind, m.recipient, dict(m.payload), m.channel)
                for m in outbox.claim(session, case_id=case_id, now=clock(), lease=lease)
            ]
        if not intents:
            break
        for intent in intents:
            now = clock()
            try:
                message_id = SENDERS[intent.channel](intent, settings, now)
            except _Refused as exc:
                with unit_of_work(engine) as session:
                    outbox.mark_failed(
                        session, intent.id, error=str(exc), permanent=exc.permanent, at=clock()
                    )
                if exc.permanent:
                    report.failed += 1
                else:
                    report.retryable += 1
                continue
            with unit_of_work(engine) as session:
                outbox.mark_sent(session, intent.id, message_id=message_id, at=now)
            report.sent += 1
    return report
