"""Pure builders for calendar invitations: iCalendar objects (RFC 5545/5546) and iMIP mails
(RFC 6047). No I/O and no clock: everything time-dependent is passed in, so a retried or
replayed flow step builds byte-for-byte the same invitation.

Why the shapes are what they are (see stack-notes, "Calendar invitations"):

- Outlook and Gmail only treat a mail as an invitation when the calendar says
  ``METHOD:REQUEST`` *and* the MIME part says ``text/calendar; method=REQUEST``.
- The MIME layout copies what Google and Office 365 send: ``multipart/mixed`` holding a
  ``multipart/alternative`` (text, HTML, calendar) plus the same calendar as ``invite.ics``.
- Start and end are written in local time with a TZID and our own rule-based VTIMEZONE, never
  in UTC, so a recurring anchor does not drift across daylight saving time and Outlook does
  not misread an RDATE-list VTIMEZONE.

Privacy: a Meeting carries a case reference, time, place and role labels. Nothing here knows
a person's name, and nothing should be added that does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vCalAddress

from notifications.vtimezone import vtimezone

PRODID = "-//zorgtafel//zorgtafel//NL"
METHODS: frozenset[str] = frozenset({"REQUEST", "CANCEL"})
STATUSES: frozenset[str] = frozenset({"CONFIRMED", "TENTATIVE", "CANCELLED"})
ROLES: frozenset[str] = frozenset({"CHAIR", "REQ-PARTICIPANT", "OPT-PARTICIPANT", "NON-PARTICIPANT"})
PARTSTATS: frozenset[str] = frozenset({"NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED"})
ATTACHMENT_FILENAME = "invite.ics"
ALARM_BEFORE = timedelta(minutes=30)

# Deliberately simple: enough to refuse obvious garbage (spaces, missing '@', line breaks
# that would break a header or a content line), not an RFC 5322 validator.
_EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")
# Upper-case letters, digits and dashes only: a name or free text cannot pass for a reference.
_REFERENCE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")
_MESSAGE_ID_RE = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")


_TSPECIALS = frozenset('()<>@,;:\\"/[]?= \t')


class _BareTokenPolicy(EmailPolicy):
    """The default email policy, except that Content-Type parameters are written as bare
    tokens where RFC 2045 allows it.

    The standard library always quotes them (``method="REQUEST"``). That is valid MIME, but
    Google and Outlook themselves send ``text/calendar; method=REQUEST; charset=utf-8``, the
    one form every client is known to match on, so we send exactly that.
    """

    def fold(self, name: str, value: Any) -> str:
        bare = self._bare_content_type(name, value)
        return bare if bare is not None else super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        bare = self._bare_content_type(name, value)
        return bare.encode("ascii") if bare is not None else super().fold_binary(name, value)

    def _bare_content_type(self, name: str, value: object) -> str | None:
        params = getattr(value, "params", None)
        content_type = getattr(value, "content_type", None)
        if name.lower() != "content-type" or params is None or content_type is None:
            return None
        rendered = [content_type]
        for key, param in params.items():
            if not param.isascii() or '"' in param or "\\" in param:
                return None  # needs RFC 2231 encoding or escaping: leave it to the stdlib
            bare = param and not (_TSPECIALS & set(param))
            rendered.append(f"{key}={param}" if bare else f'{key}="{param}"')
        line = f"{name}: {'; '.join(rendered)}"
        if self.max_line_length and len(line) > self.max_line_length:
            return None
        return line + self.linesep


MIME_POLICY = _BareTokenPolicy()


@dataclass(frozen=True)
class Attendee:
    email: str
    label: str  # CN: a role label such as "Casemanager" or "Gezin", never a person's name
    role: str = "REQ-PARTICIPANT"
    partstat: str = "NEEDS-ACTION"
    rsvp: bool = True


@dataclass(frozen=True)
class Meeting:
    uid: str  # stable forever per meeting
    sequence: int
    reference: str  # case reference, e.g. ZT-2026-7KQ4MX
    starts_at: datetime  # tz-aware, any zone; written as local time in ``tzid``
    ends_at: datetime
    location: str
    organizer_email: str
    organizer_label: str
    attendees: tuple[Attendee, ...]
    summary: str
    description: str
    status: str = "CONFIRMED"
    tzid: str = "Europe/Brussels"
    url: str | None = None


def build_calendar(meeting: Meeting, *, method: str, dtstamp: datetime) -> bytes:
    """Serialise ``meeting`` as an iTIP VCALENDAR (REQUEST or CANCEL), CRLF line endings."""
    _validate(meeting, method=method, dtstamp=dtstamp)
    zone = ZoneInfo(meeting.tzid)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(vtimezone(meeting.tzid))

    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", dtstamp.astimezone(UTC))
    event.add("dtstart", to_local(meeting.starts_at, zone, "starts_at"))
    event.add("dtend", to_local(meeting.ends_at, zone, "ends_at"))
    event.add("summary", meeting.summary)
    event.add("description", meeting.description)
    event.add("location", meeting.location)
    # A CANCEL is a cancellation whatever the stored status says (RFC 5546 §3.2.5).
    event.add("status", "CANCELLED" if method == "CANCEL" else meeting.status)
    event.add("organizer", _address(meeting.organizer_email, CN=meeting.organizer_label))
    for attendee in meeting.attendees:
        event.add(
            "attendee",
            _address(
                attendee.email,
                CN=attendee.label,
                ROLE=attendee.role,
                PARTSTAT=attendee.partstat,
                RSVP="TRUE" if attendee.rsvp else "FALSE",
                CUTYPE="INDIVIDUAL",
            ),
        )
    if meeting.url is not None:
        event.add("url", meeting.url)
    event.add("transp", "OPAQUE")

    if method == "REQUEST":
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", meeting.summary)
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)

    calendar.add_component(event)
    return calendar.to_ical()


def build_imip_message(
    meeting: Meeting,
    *,
    method: str,
    recipient_email: str,
    sender: str,
    message_id: str,
    dtstamp: datetime,
    subject: str,
    text_body: str,
    html_body: str,
) -> EmailMessage:
    """Build the iMIP mail for one recipient, in the layout Google and Office 365 use.

    ``message_id`` is passed in (not generated) so that a resend of the same outbox entry is
    recognisably the same message; ``dtstamp`` doubles as the Date header.
    """
    calendar_bytes = build_calendar(meeting, method=method, dtstamp=dtstamp)
    _require_email(recipient_email, "recipient_email")
    if not _MESSAGE_ID_RE.match(message_id):
        raise ValueError(f"message_id must look like '<unique@domain>', got {message_id!r}")
    for name, value in (("sender", sender), ("subject", subject)):
        if not value.strip() or "\r" in value or "\n" in value:
            raise ValueError(f"{name} must be a non-empty single line")

    message = EmailMessage(policy=MIME_POLICY)
    message["From"] = sender
    message["To"] = recipient_email
    message["Subject"] = subject
    message["Date"] = format_datetime(dtstamp.astimezone(UTC))
    message["Message-ID"] = message_id
    message["MIME-Version"] = "1.0"
    # RFC 3834: tells auto-responders (out-of-office) not to answer this mail.
    message["Auto-Submitted"] = "auto-generated"

    # Quoted-printable keeps the parts 7-bit clean, so no relay needs 8BITMIME.
    message.set_content(text_body, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html_body, subtype="html", charset="utf-8", cte="quoted-printable")

    # Base64 preserves the calendar's CRLFs and long folded lines exactly; Office 365 does the
    # same. The part has no Content-Disposition: it is the invitation, not an attachment.
    inline_calendar = MIMEPart(policy=MIME_POLICY)
    inline_calendar.set_content(
        calendar_bytes,
        maintype="text",
        subtype="calendar",
        cte="base64",
        params={"method": method, "charset": "utf-8"},
    )
    message.attach(inline_calendar)

    # Turns the message into multipart/mixed with the alternative as its first part.
    message.add_attachment(
        calendar_bytes,
        maintype="application",
        subtype="ics",
        filename=ATTACHMENT_FILENAME,
        params={"name": ATTACHMENT_FILENAME},  # older clients look for name= only
        cte="base64",
    )

    # set_content()/add_attachment() move every Content-* header into the sub-parts, so the
    # language is set on the finished top level.
    message["Content-Language"] = "nl"
    # Boundaries derived from the Message-ID make a resend byte-for-byte identical. "=_" never
    # occurs in base64 or quoted-printable bodies, so the boundary cannot collide with content.
    token = hashlib.sha256(message_id.encode()).hexdigest()[:24]
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]
        if part.get_content_maintype() == "multipart":
            part.set_boundary(f"=_zt_{part.get_content_subtype()}_{token}")
    return message


def _validate(meeting: Meeting, *, method: str, dtstamp: datetime) -> None:
    if method not in METHODS:
        raise ValueError(f"Unsupported iTIP method {method!r}; expected one of {sorted(METHODS)}")
    for name, value in (
        ("starts_at", meeting.starts_at),
        ("ends_at", meeting.ends_at),
        ("dtstamp", dtstamp),
    ):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    if meeting.ends_at <= meeting.starts_at:
        raise ValueError(
            f"ends_at ({meeting.ends_at.isoformat()}) must be after "
            f"starts_at ({meeting.starts_at.isoformat()})"
        )
    if not meeting.attendees:
        raise ValueError("A meeting needs at least one attendee")
    if not _REFERENCE_RE.match(meeting.reference):
        raise ValueError(
            f"reference must be a case reference such as 'ZT-2026-7KQ4MX', got {meeting.reference!r}"
        )
    if not meeting.uid.strip():
        raise ValueError("uid must not be empty")
    if meeting.sequence < 0:
        raise ValueError(f"sequence must be >= 0, got {meeting.sequence}")
    if meeting.status not in STATUSES:
        raise ValueError(f"Unsupported status {meeting.status!r}; expected one of {sorted(STATUSES)}")
    if method == "REQUEST" and meeting.status == "CANCELLED":
        raise ValueError("A cancelled meeting is sent with method CANCEL, not REQUEST")
    _require_email(meeting.organizer_email, "organizer_email")
    emails = [attendee.email.lower() for attendee in meeting.attendees]
    if len(set(emails)) != len(emails):
        raise ValueError("Each attendee email may appear only once")
    for attendee in meeting.attendees:
        _require_email(attendee.email, "attendee email")
        if attendee.role not in ROLES:
            raise ValueError(f"Unsupported attendee role {attendee.role!r}")
        if attendee.partstat not in PARTSTATS:
            raise ValueError(f"Unsupported attendee partstat {attendee.partstat!r}")
        if not attendee.label.strip():
            raise ValueError("Every attendee needs a role label (CN)")
    vtimezone(meeting.tzid)  # raises ValueError for a zone we have no rules for


def to_local(value: datetime, zone: ZoneInfo, name: str) -> datetime:
    local = value.astimezone(zone)
    # RFC 5545 §3.3.5: an ambiguous local time means its *first* occurrence. The second
    # occurrence (the repeated hour in October) cannot be written with a TZID at all.
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        raise ValueError(
            f"{name} ({value.isoformat()}) falls in the repeated hour of the switch to "
            f"winter time in {zone.key}; it cannot be written unambiguously in local time"
        )
    return local


def _address(email: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    for key, value in params.items():
        address.params[key] = value
    return address


def _require_email(value: str, name: str) -> None:
    if not _EMAIL_RE.match(value):
        raise ValueError(f"{name} is not a valid email address: {value!r}")
