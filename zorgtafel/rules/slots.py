"""The earliest common free slot before a deadline.

Exact for the given participants: the search starts at the earliest allowed moment on the step
grid and, whenever the candidate overlaps someone's busy time, jumps to the end of that busy
time (rounded up to the grid). No feasible start on the grid is skipped, because a start between
the candidate and the end of an overlapping busy period would overlap the same busy period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from zorgtafel.rules.meeting_hours import MeetingHours

Interval = tuple[datetime, datetime]
# The slot grid: whole multiples of the step after this instant.
GRID_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_EPOCH = GRID_EPOCH


@dataclass(frozen=True)
class SlotRequest:
    not_before: datetime
    latest_start: datetime
    duration: timedelta
    step: timedelta
    hours: MeetingHours
    tz: ZoneInfo


def ceil_to_step(t: datetime, step: timedelta) -> datetime:
    """The first start on the step grid at or after ``t`` (aware, UTC)."""
    # The grid is aligned on UTC quarter-hours, which are local quarter-hours in every zone whose
    # offset is a multiple of the step (Europe/Brussels and Europe/Amsterdam).
    n = -((_EPOCH - t) // step)
    return _EPOCH + n * step


_ceil_to_step = ceil_to_step


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def earliest_common_slot(req: SlotRequest, busy_per_person: Sequence[Iterable[Interval]]) -> Interval | None:
    """Earliest [start, start + duration) inside one meeting window, free for everyone,
    with ``not_before <= start <= latest_start``; ``None`` if there is none."""
    for t in (req.not_before, req.latest_start):
        if t.tzinfo is None:
            raise ValueError("slot search needs timezone-aware datetimes")
    # All arithmetic in UTC: adding a duration to a local time moves the wall clock, not time.
    not_before, latest_start = req.not_before.astimezone(UTC), req.latest_start.astimezone(UTC)
    busy = merge((s.astimezone(UTC), e.astimezone(UTC)) for person in busy_per_person for s, e in person)
    horizon_end = latest_start + req.duration
    for w_start, w_end in req.hours.windows(not_before, horizon_end, req.tz):
        t = _ceil_to_step(max(w_start, not_before), req.step)
        while t <= latest_start and t + req.duration <= w_end:
            end = t + req.duration
            clash = next((b for b in busy if b[0] < end and t < b[1]), None)
            if clash is None:
                return t, end
            t = _ceil_to_step(clash[1], req.step)
    return None
