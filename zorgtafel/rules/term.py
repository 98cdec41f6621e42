"""The plan's term and its evaluation moments (seed 004: 3 + 3 months, every 6 weeks)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from zorgtafel.rules.eligibility import add_months


def term_end(starts_on: date, months: int = 3) -> date:
    """The last day of a term of ``months`` months starting on ``starts_on`` (inclusive)."""
    return add_months(starts_on, months) - timedelta(days=1)


def evaluation_days(starts_on: date, until: date, weeks: int = 6) -> list[date]:
    """Every ``weeks`` weeks from the start of the plan, up to and including ``until``."""
    days, k = [], 1
    while (day := starts_on + timedelta(weeks=weeks * k)) <= until:
        days.append(day)
        k += 1
    return days


def at_local_time(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    """That day at a wall-clock time in the region's zone (so a 6-weekly moment does not drift
    an hour across daylight saving)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tz)
