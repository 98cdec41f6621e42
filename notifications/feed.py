"""A private calendar feed (iCalendar, no METHOD: a published view, not an invitation).

Subscribing clients (Outlook, Google, Apple via webcal://) poll it; each event has the same UID
and SEQUENCE as the invitation, so a client that has both shows one meeting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from notifications.imip import PRODID, to_local
from notifications.vtimezone import vtimezone
from zorgtafel.feeds import FeedEvent


def build_feed(events: Sequence[FeedEvent], *, tzid: str, mail_domain: str, now: datetime) -> bytes:
    zone = ZoneInfo(tzid)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Zorgtafels")
    cal.add("x-wr-timezone", tzid)
    # Ask subscribers to refresh every 15 minutes (clients treat it as a hint).
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    cal.add_component(vtimezone(tzid))
    for e in events:
        ev = Event()
        ev.add("uid", f"{e.uid}@{mail_domain}")
        ev.add("sequence", e.sequence)
        ev.add("dtstamp", now.astimezone(UTC))
        ev.add("dtstart", to_local(e.starts_at, zone, "starts_at"))
        ev.add("dtend", to_local(e.ends_at, zone, "ends_at"))
        ev.add("summary", f"Zorgtafel {e.reference}")
        ev.add("location", e.location)
        ev.add("status", "CANCELLED" if e.cancelled else "CONFIRMED")
        ev.add("transp", "TRANSPARENT" if e.cancelled else "OPAQUE")
        cal.add_component(ev)
    return cal.to_ical()
