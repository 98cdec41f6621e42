"""Meeting hours: the local wall-clock windows in which a zorgtafel may be planned."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"^\s*(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$"
)


@dataclass(frozen=True)
class MeetingHours:
    """Per weekday (0 = Monday) the list of (start, end) local times."""

    by_weekday: tuple[tuple[tuple[time, time], ...], ...]

    def windows(self, start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
        """Yield the meeting windows (aware, UTC) that overlap [start, end), clipped to it."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("windows() needs timezone-aware datetimes")
        # Compare instants in UTC: comparisons between local times of one zone use the wall
        # clock and go wrong around the DST changes.
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        day: date = start.astimezone(tz).date() - timedelta(days=1)
        last: date = end.astimezone(tz).date()
        while day <= last:
            for open_at, close_at in self.by_weekday[day.weekday()]:
                w_start = datetime.combine(day, open_at, tz).astimezone(UTC)
                w_end = datetime.combine(day, close_at, tz).astimezone(UTC)
                lo, hi = max(w_start, start), min(w_end, end)
                if lo < hi:
                    yield lo, hi
            day += timedelta(days=1)

    def day_windows(self, first: date, last: date, tz: ZoneInfo) -> Iterator[tuple[date, datetime, datetime]]:
        """Yield ``(local day, start, end)`` for every window of the local days first..last
        inclusive, unclipped, start and end aware in UTC. A window lies within its local day, so
        every instant in it has that local date (also on the DST days)."""
        day = first
        while day <= last:
            for open_at, close_at in self.by_weekday[day.weekday()]:
                yield (
                    day,
                    datetime.combine(day, open_at, tz).astimezone(UTC),
                    datetime.combine(day, close_at, tz).astimezone(UTC),
                )
            day += timedelta(days=1)


def parse_meeting_hours(spec: str) -> MeetingHours:
    """Parse e.g. ``"mon-fri 08:00-19:00; sat-sun 09:00-17:00"``; parts are separated by ``;``."""
    slots: list[list[tuple[time, time]]] = [[] for _ in DAYS]
    for raw in spec.split(";"):
        if not raw.strip():
            continue
        m = _PART.match(raw.lower())
        if not m:
            raise ValueError(
                f"meeting hours: cannot read {raw.strip()!r}; expected e.g. 'mon-fri 08:00-19:00'"
            )
        d1, d2 = m["d1"], m["d2"] or m["d1"]
        if d1 not in DAYS or d2 not in DAYS:
            raise ValueError(f"meeting hours: unknown day in {raw.strip()!r}; use {', '.join(DAYS)}")
        try:
            open_at = time(int(m["h1"]), int(m["m1"]))
            close_at = time(int(m["h2"]), int(m["m2"]))
        except ValueError as exc:
            raise ValueError(f"meeting hours: invalid time in {raw.strip()!r}") from exc
        if close_at <= open_at:
            raise ValueError(f"meeting hours: {raw.strip()!r} closes before it opens")
        i, j = DAYS.index(d1), DAYS.index(d2)
        if j < i:
            raise ValueError(f"meeting hours: day range {d1}-{d2} runs backwards")
        for k in range(i, j + 1):
            slots[k].append((open_at, close_at))
    for k, day_slots in enumerate(slots):
        day_slots.sort()
        for (_, c1), (o2, _) in itertools.pairwise(day_slots):
            if o2 < c1:
                raise ValueError(f"meeting hours: overlapping windows on {DAYS[k]}")
    if not any(slots):
        raise ValueError("meeting hours: no window at all")
    return MeetingHours(tuple(tuple(s) for s in slots))
