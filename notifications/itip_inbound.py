"""Reading iTIP replies (RFC 5546) out of inbound iMIP mails (RFC 6047). Pure: bytes in, a
frozen dataclass out, no database and no clock.

What real clients send, and what this module therefore accepts:

- **Outlook / Office 365**: the calendar as a ``text/calendar; method=REPLY`` part (base64 or
  quoted-printable), on its own or inside ``multipart/alternative``; ``MAILTO:`` in upper case;
  times in a Windows zone (``TZID:Romance Standard Time``) defined by a VTIMEZONE in the same
  calendar; "propose new time" arrives as ``METHOD:COUNTER``.
- **Gmail / Google Calendar**: ``multipart/mixed`` → (``multipart/alternative`` → text, HTML,
  ``text/calendar; method=REPLY``) + the same calendar again as ``invite.ics``.

Times with a TZID are resolved through the VTIMEZONE *in this message* (RFC 5545 §3.6.5), not
through icalendar's process-wide cache: icalendar 7 caches the first VTIMEZONE it meets under
each non-Olson TZID (``Romance Standard Time``, ``Customized Time Zone``) and hands that one
back for every later calendar, so the second Outlook user with a differently defined
"Customized Time Zone" would be read with the first user's offsets. Only a TZID without a
VTIMEZONE falls back to the Olson database (directly, or through the Windows-zone table).

Forwarded messages (``message/rfc822`` parts) are not looked into: a bounce or an
out-of-office reply quotes our own invitation, and that is not a reply.

Privacy: the result holds e-mail addresses (needed to find the participant) and an
attendee's free-text COMMENT; :class:`ItipParseError` messages never contain either.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import Message
from email.utils import getaddresses
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Component
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from zorgtafel.replies import ItipIn

METHODS: frozenset[str] = frozenset({"REPLY", "COUNTER"})
PARTSTATS: frozenset[str] = frozenset({"ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION", "DELEGATED"})
# Content types under which clients attach a calendar besides text/calendar.
_ATTACHMENT_TYPES: frozenset[str] = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
_MAILTO_RE = re.compile(r"^\s*mailto:", re.IGNORECASE)
# Properties whose value must be valid for the answer to mean anything.
_REPLY_PROPERTIES = frozenset({"SEQUENCE", "RECURRENCE-ID"})
_COUNTER_PROPERTIES = _REPLY_PROPERTIES | {"DTSTART", "DTEND", "DURATION"}


class ItipParseError(ValueError):
    """The mail is not an iTIP reply we can read. ``code`` is for machines and logs,
    ``message`` (Dutch / English) for people; neither contains an address or free text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ItipMessage:
    method: str  # "REPLY" | "COUNTER"
    uid: str  # as sent, e.g. "<uuid>@zorgtafel.example"
    sequence: int
    attendee_email: str  # lower case, without "mailto:"
    partstat: str  # one of PARTSTATS
    recurrence_id: datetime | None  # UTC; set when the reply is about one occurrence
    proposed_start: datetime | None  # UTC; COUNTER only
    proposed_end: datetime | None  # UTC; COUNTER only
    comment: str | None
    sender: str | None  # the From address, lower case
    dtstamp: datetime | None = None  # UTC, when the attendee's client wrote the reply

    def to_core(self) -> ItipIn:
        """The same facts as the core's input type (the core knows no adapter)."""
        return ItipIn(
            method=self.method,
            uid=self.uid,
            sequence=self.sequence,
            attendee_email=self.attendee_email,
            partstat=self.partstat,
            recurrence_id=self.recurrence_id,
            proposed_start=self.proposed_start,
            proposed_end=self.proposed_end,
            comment=self.comment,
            sender=self.sender,
            dtstamp=self.dtstamp,
        )


def parse_itip(raw: bytes) -> ItipMessage:
    """Read the iTIP REPLY or COUNTER in a whole RFC 5322 mail.

    Raises :class:`ItipParseError` with one of the codes ``no_calendar``, ``tnef_only``, ``unparseable``,
    ``no_event``, ``unknown_method``, ``missing_uid``, ``missing_attendee``,
    ``multiple_attendees``, ``invalid_time``, ``unknown_timezone``, ``missing_proposed_time``.
    """
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the stdlib parser is lenient; this is truly broken input
        raise ItipParseError("unparseable", "Mail kon niet gelezen worden / unreadable mail") from exc

    parts = list(_calendar_parts(message))
    if not parts and any(p.get_content_type() == "application/ms-tnef" for p in _walk_leaves(message)):
        # Outlook's "Rich Text" format for outside recipients: the answer is inside winmail.dat.
        raise ItipParseError(
            "tnef_only",
            "Antwoord zit enkel in een Outlook-bijlage winmail.dat (TNEF) / reply only inside winmail.dat",
        )
    if not parts:
        raise ItipParseError(
            "no_calendar",
            "Geen agenda-onderdeel (text/calendar of .ics) in de mail / no calendar part in the mail",
        )
    calendar, mime_method = _first_readable_calendar(parts)
    event = _the_event(calendar)
    sender = _sender(message)

    method = str(calendar.get("METHOD") or mime_method or "").strip().upper()
    if method not in METHODS:
        raise ItipParseError(
            "unknown_method",
            f"iTIP-methode {method[:20] or '(geen)'!r} wordt niet verwerkt; verwacht REPLY of COUNTER / "
            "unsupported iTIP method",
        )

    uid = str(event.get("UID") or "").strip()
    if not uid:
        raise ItipParseError("missing_uid", "Geen UID in het antwoord / the reply has no UID")

    relevant = _COUNTER_PROPERTIES if method == "COUNTER" else _REPLY_PROPERTIES
    broken = [name for name, _ in getattr(event, "errors", []) if name.upper() in relevant]
    if broken:
        raise ItipParseError(
            "unparseable",
            f"Ongeldige waarde voor {', '.join(sorted(set(broken)))} / invalid property value",
        )
    sequence = int(event.get("SEQUENCE", 0))
    if sequence < 0:
        raise ItipParseError("unparseable", "SEQUENCE is negatief / SEQUENCE is negative")

    attendee, partstat = _the_attendee(event, method=method, sender=sender)
    zones = _ZoneResolver(calendar)
    recurrence_id = zones.moment(event, "RECURRENCE-ID")
    try:
        dtstamp = zones.moment(event, "DTSTAMP")
    except ItipParseError:  # informative only: a bad DTSTAMP does not make the answer unreadable
        dtstamp = None

    proposed_start = proposed_end = None
    if method == "COUNTER":
        proposed_start = zones.moment(event, "DTSTART")
        if proposed_start is None:
            raise ItipParseError(
                "missing_proposed_time",
                "Tegenvoorstel zonder DTSTART / counter proposal without DTSTART",
            )
        proposed_end = zones.moment(event, "DTEND")
        if proposed_end is None and event.get("DURATION") is not None:
            duration = event["DURATION"].dt
            if isinstance(duration, timedelta):
                proposed_end = proposed_start + duration
        if proposed_end is not None and proposed_end <= proposed_start:
            raise ItipParseError(
                "invalid_time", "Voorgesteld einde ligt niet na het begin / proposed end is not after start"
            )

    comments = event.get("COMMENT")
    if comments is not None and not isinstance(comments, list):
        comments = [comments]
    comment = "\n".join(str(c).strip() for c in comments or [] if str(c).strip()) or None

    return ItipMessage(
        method=method,
        uid=uid,
        sequence=sequence,
        attendee_email=attendee,
        partstat=partstat,
        recurrence_id=recurrence_id,
        proposed_start=proposed_start,
        proposed_end=proposed_end,
        comment=comment,
        sender=sender,
        dtstamp=dtstamp,
    )


def _walk_leaves(part: Message) -> Iterator[Message]:
    """Leaf parts in order, descending into multipart/* but not into message/* (a quoted mail)."""
    maintype = part.get_content_maintype()
    if maintype == "multipart":
        for sub in part.get_payload() or []:
            if isinstance(sub, Message):
                yield from _walk_leaves(sub)
    elif maintype != "message":
        yield part


def _calendar_parts(message: Message) -> Iterator[Message]:
    """Inline text/calendar parts first (the iMIP part), then calendar attachments."""
    inline: list[Message] = []
    attached: list[Message] = []
    for part in _walk_leaves(message):
        content_type = part.get_content_type()
        filename = (part.get_filename() or part.get_param("name") or "").lower()
        if isinstance(filename, tuple):  # RFC 2231 encoded name
            filename = email.utils.collapse_rfc2231_value(filename).lower()
        is_attachment = part.get_content_disposition() == "attachment"
        if content_type == "text/calendar" and not is_attachment:
            inline.append(part)
        elif content_type in _ATTACHMENT_TYPES or str(filename).endswith(".ics"):
            attached.append(part)
    yield from inline
    yield from attached


def _first_readable_calendar(parts: list[Message]) -> tuple[Calendar, str | None]:
    first_error: ItipParseError | None = None
    for part in parts:
        try:
            return _read_calendar(part), _mime_method(part)
        except ItipParseError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def _read_calendar(part: Message) -> Calendar:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload.strip():
        raise ItipParseError("unparseable", "Leeg agenda-onderdeel / empty calendar part")
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        text = payload.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises ValueError, and on odd input other errors
        raise ItipParseError(
            "unparseable", "Agenda kon niet gelezen worden / the calendar could not be parsed"
        ) from exc
    if calendar.name != "VCALENDAR":
        raise ItipParseError("unparseable", "Geen VCALENDAR / not a VCALENDAR")
    return calendar


def _mime_method(part: Message) -> str | None:
    value = part.get_param("method")
    return str(value) if isinstance(value, str) else None


def _the_event(calendar: Calendar) -> Component:
    """The VEVENT the reply is about.

    A client may send several VEVENTs with the same UID (the series and overridden
    occurrences); the series (no RECURRENCE-ID) is taken when present, otherwise the first.
    """
    events = calendar.walk("VEVENT")
    if not events:
        raise ItipParseError("no_event", "Geen VEVENT in de agenda / the calendar has no VEVENT")
    uids = {str(e.get("UID") or "").strip() for e in events}
    if len(uids) > 1:
        raise ItipParseError("unparseable", "Meerdere UID's in één antwoord / several UIDs in one reply")
    masters = [e for e in events if e.get("RECURRENCE-ID") is None]
    return masters[0] if masters else events[0]


def _sender(message: Message) -> str | None:
    try:
        values = message.get_all("From") or []
        addresses = [addr for _, addr in getaddresses([str(v) for v in values]) if "@" in addr]
    except Exception:  # a From header too broken to read is not a reason to drop a reply
        return None
    return addresses[0].strip().lower() if addresses else None


def _address(value: Any) -> str | None:
    """'MAILTO:A@B.example' / 'mailto:a@b.example' → 'a@b.example'; falls back on EMAIL=."""
    text = _MAILTO_RE.sub("", str(value)).strip()
    if "@" not in text:
        params = getattr(value, "params", {}) or {}
        text = _MAILTO_RE.sub("", str(params.get("EMAIL", ""))).strip()
    text = text.strip("<>").lower()
    return text if "@" in text and " " not in text else None


def _the_attendee(event: Component, *, method: str, sender: str | None) -> tuple[str, str]:
    raw = event.get("ATTENDEE")
    attendees = raw if isinstance(raw, list) else ([raw] if raw is not None else [])
    found = [(addr, a) for a in attendees if (addr := _address(a)) is not None]
    if not found:
        raise ItipParseError(
            "missing_attendee", "Geen ATTENDEE met e-mailadres / no ATTENDEE with an e-mail address"
        )
    if len(found) > 1:
        # RFC 5546: a REPLY carries exactly the replying attendee. A COUNTER may repeat the
        # whole list; then the proposer is the one who sent the mail.
        by_sender = [f for f in found if sender is not None and f[0] == sender]
        if method == "REPLY" or len(by_sender) != 1:
            raise ItipParseError(
                "multiple_attendees",
                f"{len(found)} ATTENDEEs; niet te bepalen wie antwoordt / "
                "cannot tell which attendee is replying",
            )
        found = by_sender
    address, prop = found[0]
    params = getattr(prop, "params", {}) or {}
    partstat = str(params.get("PARTSTAT", "NEEDS-ACTION")).strip().upper()
    # RFC 5545 §3.2.12: an unknown PARTSTAT is treated as NEEDS-ACTION.
    return address, partstat if partstat in PARTSTATS else "NEEDS-ACTION"


class _ZoneResolver:
    """TZID → tzinfo for one calendar, from its own VTIMEZONEs (built fresh, never cached
    across messages), falling back to Olson / Windows zone names."""

    def __init__(self, calendar: Calendar) -> None:
        self._components = {str(tz.get("TZID", "")).strip(): tz for tz in calendar.walk("VTIMEZONE")}
        self._built: dict[str, tzinfo] = {}

    def moment(self, event: Component, name: str) -> datetime | None:
        prop = event.get(name)
        if prop is None:
            return None
        if isinstance(prop, list):
            prop = prop[0]
        value = getattr(prop, "dt", None)
        if not isinstance(value, datetime):
            raise ItipParseError("invalid_time", f"{name} is geen datum met tijd / {name} is not a date-time")
        tzid = prop.params.get("TZID")
        if tzid:
            return value.replace(tzinfo=self.zone(str(tzid))).astimezone(UTC)
        if value.tzinfo is None:
            raise ItipParseError(
                "invalid_time", f"{name} heeft geen tijdzone (floating) / {name} is a floating time"
            )
        return value.astimezone(UTC)

    def zone(self, tzid: str) -> tzinfo:
        tzid = tzid.strip()
        if tzid in self._built:
            return self._built[tzid]
        component = self._components.get(tzid)
        zone: tzinfo | None = None
        if component is not None:
            try:
                zone = component.to_tz(lookup_tzid=False)
            except Exception as exc:
                raise ItipParseError(
                    "unknown_timezone", "VTIMEZONE kon niet gelezen worden / unreadable VTIMEZONE"
                ) from exc
        else:
            zone = _olson(tzid)
        if zone is None:
            raise ItipParseError(
                "unknown_timezone",
                f"Onbekende tijdzone {tzid[:60]!r} zonder VTIMEZONE / unknown TZID without a VTIMEZONE",
            )
        self._built[tzid] = zone
        return zone


def _olson(tzid: str) -> ZoneInfo | None:
    cleaned = tzid.strip("/")
    candidates = [cleaned, WINDOWS_TO_OLSON.get(cleaned, "")]
    if tzid.startswith("/"):  # "globally unique" TZIDs: /vendor/…/Europe/Brussels
        parts = cleaned.split("/")
        candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None
