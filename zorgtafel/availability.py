"""Busy time from the iCalendar feeds partner agencies publish (issue 3).

The core gets the bytes (fetching is the adapter's job: ``notifications/availability_fetch.py``),
reads them completely, and only then replaces the expert's imported busy time. A feed that cannot
be read changes nothing but the expert's error note.

What counts as busy, over the horizon ``now - 1 day .. now + 60 days``:

- ``VFREEBUSY``: every ``FREEBUSY`` period whose ``FBTYPE`` is not ``FREE`` (``BUSY``, the default,
  ``BUSY-UNAVAILABLE``, ``BUSY-TENTATIVE`` and unknown types, as RFC 5545 §3.2.9 says); periods as
  ``start/end`` or ``start/duration``. They should be UTC; a time without zone is read as local
  time of the region.
- ``VEVENT``: every occurrence (recurrences expanded with ``recurring_ical_events``: RRULE, RDATE,
  EXDATE, moved and cancelled occurrences), except ``TRANSP:TRANSPARENT``, ``STATUS:CANCELLED`` and
  Outlook's ``X-MICROSOFT-CDO-BUSYSTATUS:FREE``. An all-day event makes its whole local days busy
  (``DTEND`` exclusive, one day without it); a floating time is read in the region's zone; a
  ``TZID`` resolves through the calendar's VTIMEZONE, the IANA database or Windows zone names; an
  unresolvable TZID is refused rather than guessed.
- Overlapping and touching periods are merged; everything is stored in UTC.

Refused, with what and where (line numbers are physical lines of the file, 1-based): not UTF-8,
not an iCalendar file (HTML error pages, empty bodies), a line that is no content line, BEGIN/END
that do not match, more than one calendar, a broken value of a property that matters (DTSTART,
DTEND, DURATION, RRULE, RDATE, EXDATE, RECURRENCE-ID, FREEBUSY), a missing DTSTART, an event that
ends before it starts, an unknown time zone, a recurrence by the second or minute, or more than
``MAX_PERIODS`` occurrences in the horizon (counted per rule before expanding, and in total).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from zorgtafel.db.models import BusyPeriod, Expert
from zorgtafel.errors import FieldProblem, ValidationFailed
from zorgtafel.pool_admin import get_expert

Interval = tuple[datetime, datetime]

HORIZON_PAST = timedelta(days=1)
HORIZON_FUTURE = timedelta(days=60)
MAX_PERIODS = 5_000  # occurrences read (before merging) within the horizon
MAX_FEED_BYTES = 5 * 1024 * 1024
ERROR_MAX = 500  # Expert.availability_error is String(500)

_BUSY_TYPES_FREE = {"FREE"}
_CHECKED = {
    "VEVENT": {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"},
    "VFREEBUSY": {"FREEBUSY"},
}
_NAME = re.compile(r"^[A-Za-z0-9-]+(?=[;:])")


class FeedError(Exception):
    """A feed that cannot be read; ``message`` is Dutch and says what and where."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line


class FeedRejected(ValidationFailed):
    """The import of a feed was refused (nothing changed); ``message`` is for the error note."""

    def __init__(self, error: FeedError, loc: tuple[str | int, ...] = ("feed",)) -> None:
        where = (*loc, f"regel {error.line}") if error.line else loc
        super().__init__([FieldProblem(where, error.code, error.message)])
        self.code = error.code
        self.message = error.message


@dataclass(frozen=True)
class FeedImport:
    expert_id: int
    busy_periods: int
    horizon_start: datetime
    horizon_end: datetime
    synced_at: datetime


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scanned:
    text: str
    components: list[tuple[str, int]]  # (name, line of its BEGIN) in document order
    lines: list[tuple[int, str, str]]  # (line number, enclosing component, content line)


def _scan(body: bytes) -> _Scanned:
    """Check the content-line structure ourselves, so an error can name its line."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise FeedError("feed_encoding", f"Regel {line} is geen geldige UTF-8-tekst.", line) from None
    if not text.strip():
        raise FeedError("feed_empty", "De feed is leeg: geen agenda-gegevens ontvangen.")
    physical = re.split(r"\r\n|\n|\r", text)
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(physical, start=1):
        if line[:1] in (" ", "\t") and logical:
            start, previous = logical[-1]
            logical[-1] = (start, previous + line[1:])
        elif line.strip():
            logical.append((number, line))
    first_number, first = logical[0]
    if first.strip().upper() != "BEGIN:VCALENDAR":
        hint = " (het lijkt een HTML-pagina)" if first.lstrip().startswith("<") else ""
        raise FeedError(
            "feed_not_icalendar",
            f"Geen iCalendar-bestand{hint}: regel {first_number} is niet 'BEGIN:VCALENDAR'.",
            first_number,
        )
    stack: list[tuple[str, int]] = []
    components: list[tuple[str, int]] = []
    closed_at: int | None = None
    content: list[tuple[int, str, str]] = []
    for number, line in logical:
        if closed_at is not None:
            raise FeedError(
                "feed_trailing_content",
                f"Regel {number}: inhoud na het einde van de agenda (END:VCALENDAR op regel {closed_at}); "
                "één agenda per feed.",
                number,
            )
        if not _NAME.match(line):
            raise FeedError(
                "feed_bad_line",
                f"Regel {number} is geen geldige iCalendar-regel "
                "(verwacht NAAM:waarde of NAAM;parameter=…:waarde).",
                number,
            )
        try:
            name, _params, value = icalendar.parser.Contentline(line).parts()
        except ValueError:
            raise FeedError(
                "feed_bad_line",
                f"Regel {number} is geen geldige iCalendar-regel ({_NAME.match(line)[0].upper()}: parameters "
                "of waarde niet leesbaar).",
                number,
            ) from None
        name = name.upper()
        if name == "BEGIN":
            component = str(value).strip().upper()
            stack.append((component, number))
            components.append((component, number))
        elif name == "END":
            component = str(value).strip().upper()
            if not stack or stack[-1][0] != component:
                opened = f"BEGIN:{stack[-1][0]} van regel {stack[-1][1]}" if stack else "niets"
                raise FeedError(
                    "feed_unbalanced",
                    f"Regel {number}: END:{component} past niet bij {opened}.",
                    number,
                )
            stack.pop()
            if not stack:
                closed_at = number
        elif stack:
            content.append((number, stack[-1][0], line))
    if stack:
        component, number = stack[-1]
        raise FeedError(
            "feed_unbalanced",
            f"BEGIN:{component} op regel {number} wordt nergens afgesloten (END:{component} ontbreekt; "
            "is de feed afgebroken?).",
            number,
        )
    return _Scanned(text=text, components=components, lines=content)


def _locate_parse_error(scanned: _Scanned) -> FeedError:
    """icalendar refused the whole file: find the first line it refuses in its own component."""
    for number, component, line in scanned.lines:
        probe = f"BEGIN:VCALENDAR\r\nBEGIN:{component}\r\n{line}\r\nEND:{component}\r\nEND:VCALENDAR\r\n"
        if component == "VCALENDAR":
            probe = f"BEGIN:VCALENDAR\r\n{line}\r\nEND:VCALENDAR\r\n"
        try:
            icalendar.Calendar.from_ical(probe)
        except Exception:
            name = _NAME.match(line)
            prop = name[0].upper() if name else "?"
            return FeedError(
                "feed_bad_value", f"Regel {number} ({component}): {prop} heeft een ongeldige waarde.", number
            )
    return FeedError("feed_not_icalendar", "De feed is niet leesbaar als iCalendar.")


def _where(lines: dict[int, tuple[str, int]], component: Any) -> tuple[str, int | None]:
    name, line = lines.get(id(component), (component.name, None))
    uid = component.get("UID")
    uid_text = f" (UID {str(uid)[:60]})" if uid else ""
    return (f"{name} op regel {line}{uid_text}" if line else f"{name}{uid_text}"), line


def _as_utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=tz)  # floating time: the region's wall clock
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), tz).astimezone(UTC)  # a date: local midnight


def _check_event(event: Any, where: str, line: int | None, tz: ZoneInfo) -> None:
    start_prop = event.get("DTSTART")
    if start_prop is None:
        raise FeedError("feed_missing_dtstart", f"{where}: DTSTART ontbreekt.", line)
    for prop_name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = event.get(prop_name)
        if prop is None:
            continue
        value = getattr(prop, "dt", None)
        if not isinstance(value, date):
            raise FeedError("feed_bad_value", f"{where}: {prop_name} heeft geen geldige datum of tijd.", line)
        tzid = prop.params.get("TZID")
        if tzid and isinstance(value, datetime) and value.tzinfo is None:
            raise FeedError(
                "feed_unknown_timezone",
                f"{where}: onbekende tijdzone {tzid!r} bij {prop_name} (geen VTIMEZONE in de feed en geen "
                "bekende zonenaam).",
                line,
            )
    end_prop = event.get("DTEND")
    if end_prop is not None:
        start, end = start_prop.dt, end_prop.dt
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise FeedError(
                "feed_bad_value",
                f"{where}: DTSTART en DTEND zijn niet van dezelfde soort (datum tegenover datum en tijd).",
                line,
            )
        if _as_utc(end, tz) < _as_utc(start, tz):
            raise FeedError("feed_inverted_event", f"{where}: DTEND ligt voor DTSTART.", line)
    duration = event.get("DURATION")
    if duration is not None and isinstance(getattr(duration, "dt", None), timedelta):
        if duration.dt < timedelta(0):
            raise FeedError("feed_inverted_event", f"{where}: DURATION is negatief.", line)


def _too_many(message_where: str, line: int | None) -> FeedError:
    return FeedError(
        "feed_too_many_periods",
        f"{message_where}: meer dan {MAX_PERIODS} bezette periodes in de komende {HORIZON_FUTURE.days} "
        "dagen (een herhaling per minuut of per uur?).",
        line,
    )


def _precount(event: Any, where: str, line: int | None, start: datetime, end: datetime) -> None:
    """Refuse a recurrence with more than MAX_PERIODS occurrences in the horizon before expanding
    it (dateutil counts fast; the full expansion costs about a millisecond per occurrence). A rule
    dateutil cannot read here is left to the expansion, which reports it."""
    rules = event.get("RRULE")
    if rules is None:
        return
    dtstart = event["DTSTART"].dt
    if not isinstance(dtstart, datetime):
        dtstart = datetime.combine(dtstart, time(0))
    for rule in rules if isinstance(rules, list) else [rules]:
        if str((rule.get("FREQ") or [""])[0]).upper() in ("SECONDLY", "MINUTELY"):
            raise _too_many(where, line)  # never busy time; and slow to expand from a distant start
        try:
            parsed = rrulestr(rule.to_ical().decode(), dtstart=dtstart)
            first = start.astimezone(dtstart.tzinfo) if dtstart.tzinfo else start.replace(tzinfo=None)
            last = end.astimezone(dtstart.tzinfo) if dtstart.tzinfo else end.replace(tzinfo=None)
            for count, occurrence in enumerate(parsed.xafter(first - timedelta(days=1)), start=1):
                if occurrence > last:
                    break
                if count > MAX_PERIODS:
                    raise _too_many(where, line)
        except FeedError:
            raise
        except Exception:
            continue


def _freebusy(component: Any, where: str, line: int | None, tz: ZoneInfo) -> Iterator[Interval]:
    props = component.get("FREEBUSY")
    if props is None:
        return
    for period in props if isinstance(props, list) else [props]:
        fbtype = str(period.params.get("FBTYPE", "BUSY")).upper()
        if fbtype in _BUSY_TYPES_FREE:
            continue
        start = getattr(period, "start", None)
        if not isinstance(start, datetime):
            raise FeedError("feed_bad_value", f"{where}: FREEBUSY heeft een ongeldige periode.", line)
        end = start + period.duration if period.by_duration else period.end
        start_utc, end_utc = _as_utc(start, tz), _as_utc(end, tz)
        if end_utc <= start_utc:
            raise FeedError(
                "feed_inverted_event",
                f"{where}: een FREEBUSY-periode eindigt niet na haar begin ({start_utc:%Y-%m-%dT%H:%M}Z).",
                line,
            )
        yield start_utc, end_utc


def _event_interval(occurrence: Any, tz: ZoneInfo) -> Interval | None:
    if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if str(occurrence.get("TRANSP", "")).upper() == "TRANSPARENT":
        return None
    if str(occurrence.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper() == "FREE":
        return None
    start = occurrence["DTSTART"].dt
    if "DTEND" in occurrence:
        end = occurrence["DTEND"].dt
    elif "DURATION" in occurrence:
        end = start + occurrence["DURATION"].dt
    elif isinstance(start, datetime):
        end = start  # RFC 5545 §3.6.1: an event with a time and no end takes no time
    else:
        end = start + timedelta(days=1)  # an all-day event without an end: that one day
    start_utc, end_utc = _as_utc(start, tz), _as_utc(end, tz)
    return (start_utc, end_utc) if end_utc > start_utc else None


def merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _expand(calendar: Any, start: datetime, end: datetime) -> Iterator[Any]:
    """Occurrences that end after ``start`` and begin before ``end`` (``after`` yields in order)."""
    for occurrence in recurring_ical_events.of(calendar).after(start):
        if _as_utc(occurrence["DTSTART"].dt, UTC) >= end + timedelta(days=1):
            break  # all-day and floating occurrences are compared in UTC: one day of margin
        yield occurrence


def _locate_expansion_error(calendar: Any, lines: dict[int, tuple[str, int]], start: datetime) -> FeedError:
    """Which event breaks the expansion: expand each recurring event alone."""
    timezones = calendar.walk("VTIMEZONE")
    for event in calendar.walk("VEVENT"):
        if not any(p in event for p in ("RRULE", "RDATE", "EXDATE")):
            continue
        single = icalendar.Calendar()
        for tz_component in timezones:
            single.add_component(tz_component)
        single.add_component(event)
        try:
            next(iter(recurring_ical_events.of(single).after(start)), None)
        except Exception:
            where, line = _where(lines, event)
            return FeedError("feed_recurrence", f"{where}: de herhaling kan niet berekend worden.", line)
    return FeedError("feed_recurrence", "De herhalingen in de feed kunnen niet berekend worden.")


def parse_busy(body: bytes, *, start: datetime, end: datetime, tz: ZoneInfo) -> list[Interval]:
    """The busy intervals (aware, UTC, merged) in ``[start, end)`` of an iCalendar body, or FeedError."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("parse_busy needs timezone-aware bounds")
    if len(body) > MAX_FEED_BYTES:
        raise FeedError("feed_too_large", f"De feed is groter dan {MAX_FEED_BYTES // (1024 * 1024)} MB.")
    scanned = _scan(body)
    try:
        calendar = icalendar.Calendar.from_ical(scanned.text)
    except Exception:  # our scan accepted the structure; icalendar refused a value
        raise _locate_parse_error(scanned) from None
    walked = calendar.walk()
    lines: dict[int, tuple[str, int]] = {}
    if [c.name for c in walked] == [name for name, _ in scanned.components]:
        lines = {id(c): (name, line) for c, (name, line) in zip(walked, scanned.components, strict=True)}
    if calendar.name != "VCALENDAR":
        raise FeedError(
            "feed_not_icalendar", "Geen iCalendar-bestand: de buitenste component is geen VCALENDAR."
        )

    start, end = start.astimezone(UTC), end.astimezone(UTC)
    intervals: list[Interval] = []
    for component in walked:
        checked = _CHECKED.get(component.name)
        if checked is None:
            continue
        where, line = _where(lines, component)
        for prop_name, _error in component.errors:
            if prop_name in checked:
                raise FeedError("feed_bad_value", f"{where}: {prop_name} heeft een ongeldige waarde.", line)
        try:
            if component.name == "VEVENT":
                _check_event(component, where, line, tz)
                _precount(component, where, line, start, end)
            else:
                intervals.extend(_freebusy(component, where, line, tz))
        except FeedError:
            raise
        except (ValueError, TypeError, OverflowError, KeyError, AttributeError):  # e.g. year 9999 - 5 h
            raise FeedError(
                "feed_bad_value", f"{where}: een datum of tijd is niet bruikbaar.", line
            ) from None

    count = len(intervals)
    try:
        for occurrence in _expand(calendar, start, end):
            interval = _event_interval(occurrence, tz)
            if interval is not None:
                intervals.append(interval)
            count += 1
            if count > MAX_PERIODS:
                raise _too_many("De feed", None)
    except FeedError:
        raise
    except Exception:
        raise _locate_expansion_error(calendar, lines, start) from None

    clipped = [(max(s, start), min(e, end)) for s, e in intervals]
    return merge([(s, e) for s, e in clipped if e > s])


# --- importing ----------------------------------------------------------------------------------


def horizon(now: datetime) -> tuple[datetime, datetime]:
    return now - HORIZON_PAST, now + HORIZON_FUTURE


def import_feed(session: Session, expert: Expert, body: bytes, now: datetime, *, tz: ZoneInfo) -> FeedImport:
    """Read the whole feed first; if it reads, replace the expert's imported busy time in this
    transaction and mark the sync. If not, raise :class:`FeedRejected` and change nothing: the
    caller records the error in a transaction of its own (:func:`record_feed_error`)."""
    start, end = horizon(now)
    try:
        intervals = parse_busy(body, start=start, end=end, tz=tz)
    except FeedError as exc:
        raise FeedRejected(exc) from None
    session.execute(delete(BusyPeriod).where(BusyPeriod.expert_id == expert.id, BusyPeriod.source == "feed"))
    session.add_all(
        BusyPeriod(expert_id=expert.id, starts_at=s, ends_at=e, source="feed") for s, e in intervals
    )
    expert.availability_synced_at = now
    expert.availability_error = None
    session.flush()
    return FeedImport(expert.id, len(intervals), start, end, now)


def record_feed_error(session: Session, expert_id: int, message: str) -> None:
    """Note why the last sync failed; the imported busy time is left as it was."""
    expert = session.get(Expert, expert_id)
    if expert is not None:
        expert.availability_error = message[:ERROR_MAX]
        session.flush()


def apply_feed(session: Session, expert_id: int, body: bytes, now: datetime, *, tz: ZoneInfo) -> FeedImport:
    """:func:`import_feed` in its own transaction on ``session`` (which must not be in one), and on
    refusal the error note in a second one; then the refusal is raised again."""
    try:
        with session.begin():
            expert = get_expert(session, expert_id, for_update=True)
            return import_feed(session, expert, body, now, tz=tz)
    except FeedRejected as exc:
        with session.begin():
            record_feed_error(session, expert_id, exc.message)
        raise


def feed_busy_count(session: Session, expert_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(BusyPeriod.expert_id == expert_id, BusyPeriod.source == "feed")
        )
        or 0
    )


__all__ = [
    "HORIZON_FUTURE",
    "HORIZON_PAST",
    "MAX_FEED_BYTES",
    "FeedError",
    "FeedImport",
    "FeedRejected",
    "apply_feed",
    "feed_busy_count",
    "horizon",
    "import_feed",
    "merge",
    "parse_busy",
    "record_feed_error",
]
