"""Mails that follow from what the organizer mailbox received: for now the notice to the case
manager that an invitee proposes another time (an iTIP COUNTER).

Only the case reference, times and the proposer's role label go in: no names, no addresses
and not the attendee's own comment (free text may say anything about the family).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from notifications.mail import plain_message
from notifications.render import (
    RenderedText,
    _render,
    _render_line,
    _require_aware,
    _require_reference,
    _zone_label,
    format_long,
    format_period,
    format_short,
)
from zorgtafel.settings import Settings

if TYPE_CHECKING:  # dispatch imports this module for its BUILDERS
    from notifications.dispatch import Intent


def render_counter_notice(
    *,
    reference: str,
    proposed_start: datetime,
    proposed_end: datetime,
    role_label: str,
    planned_start: datetime | None = None,
    deadline: datetime | None = None,
    tzid: str = "Europe/Brussels",
) -> RenderedText:
    """Texts for the case manager: ``role_label`` proposes ``proposed_start``–``proposed_end``.

    With ``planned_start`` the notice also shows the current time; with ``deadline`` it warns
    when the proposal is after the zorgtafel deadline.
    """
    _require_reference(reference)
    for name, value in (
        ("proposed_start", proposed_start),
        ("proposed_end", proposed_end),
        ("planned_start", planned_start),
        ("deadline", deadline),
    ):
        if value is not None:
            _require_aware(name, value)
    if proposed_end <= proposed_start:
        raise ValueError(
            f"proposed_end ({proposed_end.isoformat()}) must be after "
            f"proposed_start ({proposed_start.isoformat()})"
        )
    if not role_label.strip() or "\n" in role_label or "\r" in role_label:
        raise ValueError("role_label must be a non-empty single line")
    zone_label = _zone_label(tzid)
    zone = ZoneInfo(tzid)
    start, end = proposed_start.astimezone(zone), proposed_end.astimezone(zone)
    context = {
        "reference": reference,
        "role_label": role_label,
        "when": format_period(start, end),
        "short_when": format_short(start),
        "zone_label": zone_label,
        "planned": format_long(planned_start.astimezone(zone)) if planned_start is not None else None,
        "after_deadline": deadline is not None and proposed_start > deadline,
        "deadline": format_long(deadline.astimezone(zone)) if deadline is not None else None,
    }
    subject = _render_line("counter_notice_subject.txt", context)
    text = _render("counter_notice.txt", context)
    return RenderedText(
        subject=subject,
        text=text,
        html=_render("counter_notice.html", {**context, "subject": subject}),
        summary=subject,
        description=text.strip(),
    )


def build_counter_notice(intent: Intent, settings: Settings, *, now: datetime) -> EmailMessage:
    """The outbox builder for ``counter_notice`` intents (zorgtafel.replies)."""
    p = intent.payload
    text = render_counter_notice(
        reference=p["reference"],
        proposed_start=datetime.fromisoformat(p["proposed_start"]),
        proposed_end=datetime.fromisoformat(p["proposed_end"]),
        role_label=p["role_label"],
        planned_start=datetime.fromisoformat(p["planned_start"]) if p.get("planned_start") else None,
        deadline=datetime.fromisoformat(p["deadline"]) if p.get("deadline") else None,
        tzid=settings.timezone,
    )
    return plain_message(
        recipient=intent.recipient, key=intent.key, subject=text.subject, text=text.text, html=text.html,
        settings=settings, now=now,
    )  # fmt: skip
