"""The 48-hour clock of the crisis route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def zorgtafel_deadline(registered_at: datetime, hours: int = 48) -> datetime:
    """The latest start of the zorgtafel: clock hours after registration.

    The clock does not pause on weekends or public holidays (domain.md, open point, default);
    only the slot search is limited to meeting hours.
    """
    if registered_at.tzinfo is None:
        raise ValueError("registered_at must be timezone-aware")
    # In UTC: adding hours to a local wall-clock time would give 47 or 49 real hours across DST.
    return registered_at.astimezone(UTC) + timedelta(hours=hours)
