"""Dutch texts for invitations and notices, rendered from the Jinja2 templates next to this
module.

Dates are formatted here rather than with ``strftime``/``locale``: the servers' locales are not
ours to rely on, and a Dutch invitation must not come out as "Tue 24 Nov" on a machine without
``nl_BE``. Only a case reference, times, a place and a role label go in; nothing about the
family, by construction of the signatures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).parent / "templates"

WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
WEEKDAYS_SHORT = ("ma", "di", "wo", "do", "vr", "za", "zo")
MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip
MONTHS_SHORT = (
    "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
)  # fmt: skip

# What people read after the time, so nobody has to guess which clock is meant.
ZONE_LABELS: dict[str, str] = {
    "Europe/Brussels": "Brussel-tijd",
    "Europe/Amsterdam": "Amsterdam-tijd",
}

# A case reference is upper-case letters, digits and dashes (ZT-2026-7KQ4MX). Refusing
# anything else keeps a name or free text from slipping into a subject line by mistake.
_REFERENCE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")

_environment = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedText:
    subject: str
    text: str  # text/plain body
    html: str  # text/html body, autoescaped
    summary: str  # one line: calendar SUMMARY, or a chat/notification title
    description: str  # plain text: calendar DESCRIPTION, or the body for other channels


def render_invitation(
    *,
    reference: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str,
    role_label: str,
    respond_by: datetime,
    sequence: int,
    tzid: str = "Europe/Brussels",
    rsvp_url: str | None = None,
    meeting: str = "zorgtafel",
) -> RenderedText:
    """Texts for one recipient's invitation (or, for ``sequence > 0``, its update).

    ``summary`` and ``description`` do not mention the recipient's role, so one calendar
    object serves every attendee; only the mail body addresses the recipient's role.
    """
    _require_reference(reference)
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at), ("respond_by", respond_by)):
        _require_aware(name, value)
    if ends_at <= starts_at:
        raise ValueError(f"ends_at ({ends_at.isoformat()}) must be after starts_at ({starts_at.isoformat()})")
    if sequence < 0:
        raise ValueError(f"sequence must be >= 0, got {sequence}")
    zone_label = _zone_label(tzid)
    zone = ZoneInfo(tzid)
    start = starts_at.astimezone(zone)
    end = ends_at.astimezone(zone)

    context = {
        "reference": reference,
        "changed": sequence > 0,
        "when": format_period(start, end),
        "short_when": format_short(start),
        "zone_label": zone_label,
        "location": location,
        "role_label": role_label,
        "respond_by": format_long(respond_by.astimezone(zone)),
        "rsvp_url": rsvp_url,
        "meeting": meeting,
    }
    subject = _render_line("invitation_subject.txt", context)
    return RenderedText(
        subject=subject,
        text=_render("invitation.txt", context),
        html=_render("invitation.html", {**context, "subject": subject}),
        summary=_render_line("invitation_summary.txt", context),
        description=_render("invitation_description.txt", context).strip(),
    )


def _render_cancel_texts(
    template: str,
    *,
    reference: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str,
    tzid: str,
    meeting: str,
) -> RenderedText:
    """The texts of a CANCEL from the ``<template>{_subject.txt,.txt,.html}`` templates."""
    _require_reference(reference)
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        _require_aware(name, value)
    zone = ZoneInfo(tzid)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    context = {
        "reference": reference,
        "when": format_period(start, end),
        "short_when": format_short(start),
        "zone_label": _zone_label(tzid),
        "location": location,
        "meeting": meeting,
    }
    subject = _render_line(f"{template}_subject.txt", context)
    text = _render(f"{template}.txt", context)
    return RenderedText(
        subject=subject,
        text=text,
        html=_render(f"{template}.html", {**context, "subject": subject}),
        summary=_render_line("invitation_summary.txt", context),
        description=text.strip(),
    )


def render_cancellation(
    *,
    reference: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str,
    tzid: str = "Europe/Brussels",
    meeting: str = "zorgtafel",
) -> RenderedText:
    """Texts for the CANCEL of a zorgtafel."""
    return _render_cancel_texts(
        "cancellation",
        reference=reference,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location,
        tzid=tzid,
        meeting=meeting,
    )


def render_withdrawal(
    *,
    reference: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str,
    tzid: str = "Europe/Brussels",
    meeting: str = "zorgtafel",
) -> RenderedText:
    """Texts for the CANCEL to one attendee who is no longer invited (a replaced expert): the
    meeting itself goes on."""
    return _render_cancel_texts(
        "withdrawal",
        reference=reference,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location,
        tzid=tzid,
        meeting=meeting,
    )


def render_escalation(
    *, reference: str, reason: str, deadline: datetime, tzid: str = "Europe/Brussels"
) -> RenderedText:
    """A warning to the coordinator: a case without a confirmed zorgtafel near (or past) its
    deadline. ``reason`` is the Dutch text of a risk code; nothing about the family."""
    _require_reference(reference)
    _require_aware("deadline", deadline)
    local = deadline.astimezone(ZoneInfo(tzid))
    context = {
        "reference": reference,
        "reason": reason,
        "deadline": format_long(local),
        "short_deadline": format_short(local),
        "zone_label": _zone_label(tzid),
    }
    subject = _render_line("escalation_subject.txt", context)
    short = _render("escalation_short.txt", context).strip()
    return RenderedText(
        subject=subject,
        text=_render("escalation.txt", context),
        html=_render("escalation.html", {**context, "subject": subject}),
        summary=subject,
        description=short,
    )


def render_notice(
    *,
    reference: str,
    method: str,
    starts_at: datetime,
    location: str,
    link: str | None,
    tzid: str = "Europe/Brussels",
    meeting: str = "zorgtafel",
    withdrawn: bool = False,
) -> RenderedText:
    """A short notice for chat, SMS or push channels: the same event as the invitation mail.
    ``withdrawn``: a CANCEL to one attendee who is no longer invited (the meeting goes on)."""
    _require_reference(reference)
    _require_aware("starts_at", starts_at)
    context = {
        "reference": reference,
        "withdrawn": withdrawn and method == "CANCEL",
        "cancelled": method == "CANCEL",
        "short_when": format_short(starts_at.astimezone(ZoneInfo(tzid))),
        "zone_label": _zone_label(tzid),
        "location": location,
        "link": link,
        "meeting": meeting,
    }
    subject = _render_line("notice_title.txt", context)
    text = _render("notice.txt", context).strip()
    return RenderedText(subject=subject, text=text, html="", summary=subject, description=text)


def render_not_eligible_notice(*, reference: str, regular_help_url: str) -> RenderedText:
    """Notice to the registrant that the registration falls outside the crisis route.

    The reasons stay in the application (behind a login); the mail only points there.
    """
    _require_reference(reference)
    if urlsplit(regular_help_url).scheme not in ("http", "https"):
        raise ValueError(f"regular_help_url must be an http(s) URL, got {regular_help_url!r}")
    context = {"reference": reference, "regular_help_url": regular_help_url}
    subject = _render_line("not_eligible_subject.txt", context)
    text = _render("not_eligible.txt", context)
    return RenderedText(
        subject=subject,
        text=text,
        html=_render("not_eligible.html", {**context, "subject": subject}),
        summary=subject,
        description=text.strip(),
    )


def format_long(moment: datetime) -> str:
    """'dinsdag 24 november 2026 om 14:00' (in the zone ``moment`` already carries)."""
    return f"{format_date(moment)} om {moment:%H:%M}"


def format_date(moment: datetime) -> str:
    """'dinsdag 24 november 2026'."""
    return f"{WEEKDAYS[moment.weekday()]} {moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def format_short(moment: datetime) -> str:
    """'di 24 nov 2026 14:00', for subject lines."""
    return (
        f"{WEEKDAYS_SHORT[moment.weekday()]} {moment.day} {MONTHS_SHORT[moment.month - 1]} "
        f"{moment.year} {moment:%H:%M}"
    )


def format_period(start: datetime, end: datetime) -> str:
    """'dinsdag 24 november 2026, 14:00–15:30', or both full dates if it spans days."""
    if start.date() == end.date():
        return f"{format_date(start)}, {start:%H:%M}–{end:%H:%M}"
    return f"{format_long(start)} tot {format_long(end)}"


def _render(name: str, context: dict[str, object]) -> str:
    return _environment.get_template(name).render(context)


def _render_line(name: str, context: dict[str, object]) -> str:
    line = _render(name, context).strip()
    if "\n" in line or "\r" in line:
        raise ValueError(f"Template {name} must render to a single line")
    return line


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _require_reference(reference: str) -> None:
    if not _REFERENCE_RE.match(reference):
        raise ValueError(f"reference must be a case reference such as 'ZT-2026-7KQ4MX', got {reference!r}")


def _zone_label(tzid: str) -> str:
    try:
        return ZONE_LABELS[tzid]
    except KeyError:
        raise ValueError(
            f"Unsupported time zone {tzid!r}; expected one of {', '.join(ZONE_LABELS)}"
        ) from None
