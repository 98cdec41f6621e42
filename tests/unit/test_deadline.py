"""The 48-hour clock: clock hours of real time, not paused, whatever zone the registration is in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zorgtafel.rules.deadline import zorgtafel_deadline

BXL = ZoneInfo("Europe/Brussels")
AMS = ZoneInfo("Europe/Amsterdam")
H48 = timedelta(hours=48)


def real_hours(a: datetime, b: datetime) -> timedelta:
    """Elapsed real time (subtraction of two datetimes with the same ZoneInfo is wall-clock time)."""
    return b.astimezone(UTC) - a.astimezone(UTC)


def wall_hours(a: datetime, b: datetime) -> timedelta:
    """Difference of the local wall-clock readings in Brussels."""
    return b.astimezone(BXL).replace(tzinfo=None) - a.astimezone(BXL).replace(tzinfo=None)


def test_48_hours_after_registration_in_utc():
    registered = datetime(2026, 6, 10, 14, 37, 12, 345, tzinfo=UTC)
    deadline = zorgtafel_deadline(registered)
    assert deadline == datetime(2026, 6, 12, 14, 37, 12, 345, tzinfo=UTC)
    assert deadline.utcoffset() == timedelta(0)


def test_friday_evening_needs_a_zorgtafel_by_sunday_evening():
    registered = datetime(2026, 6, 12, 19, 30, tzinfo=UTC)  # Friday 21:30 CEST
    deadline = zorgtafel_deadline(registered)
    assert deadline == datetime(2026, 6, 14, 19, 30, tzinfo=UTC)
    assert deadline.astimezone(BXL).strftime("%a %H:%M") == "Sun 21:30"


@pytest.mark.parametrize("hours", [1, 24, 48, 72])
def test_configured_number_of_hours(hours):
    registered = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert zorgtafel_deadline(registered, hours) - registered == timedelta(hours=hours)


def test_across_spring_forward_from_utc_is_49_wall_clock_hours():
    registered = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # Saturday 10:00 CET
    deadline = zorgtafel_deadline(registered)
    assert deadline == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # Monday 11:00 CEST
    assert real_hours(registered, deadline) == H48
    assert wall_hours(registered, deadline) == timedelta(hours=49)


def test_across_fall_back_from_utc_is_47_wall_clock_hours():
    registered = datetime(2026, 10, 24, 8, 0, tzinfo=UTC)  # Saturday 10:00 CEST
    deadline = zorgtafel_deadline(registered)
    assert deadline == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # Monday 09:00 CET
    assert real_hours(registered, deadline) == H48
    assert wall_hours(registered, deadline) == timedelta(hours=47)


def test_not_across_a_change_is_48_wall_clock_hours():
    registered = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert wall_hours(registered, zorgtafel_deadline(registered)) == H48


@pytest.mark.parametrize(
    ("registered", "wall"),
    [
        (datetime(2026, 3, 28, 10, 0, tzinfo=BXL), 49),  # Saturday 10:00 CET -> Monday 11:00 CEST
        (datetime(2026, 10, 24, 10, 0, tzinfo=BXL), 47),  # Saturday 10:00 CEST -> Monday 09:00 CET
        (datetime(2026, 3, 28, 10, 0, tzinfo=AMS), 49),
    ],
)
def test_across_the_dst_change_from_local_time_is_still_48_real_hours(registered, wall):
    """A registration time expressed in Europe/Brussels must give the same instant as in UTC."""
    deadline = zorgtafel_deadline(registered)
    assert deadline == zorgtafel_deadline(registered.astimezone(UTC))
    assert real_hours(registered, deadline) == H48
    assert wall_hours(registered, deadline) == timedelta(hours=wall)


def test_fixed_offset_input_is_48_real_hours():
    registered = datetime(2026, 3, 28, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    deadline = zorgtafel_deadline(registered)
    assert real_hours(registered, deadline) == H48
    assert deadline == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2035, 1, 1)),
    hours=st.integers(1, 240),
)
def test_real_time_property_in_utc(instant, hours):
    registered = instant.replace(tzinfo=UTC)
    deadline = zorgtafel_deadline(registered, hours)
    assert real_hours(registered, deadline) == timedelta(hours=hours)
    assert deadline.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "registered", [datetime(2026, 6, 10, 14, 0), datetime(2026, 3, 28, 10, 0), datetime.min, datetime.max]
)
def test_naive_input_is_refused(registered):
    with pytest.raises(ValueError, match="timezone-aware"):
        zorgtafel_deadline(registered)
