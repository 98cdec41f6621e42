"""The rule-based VTIMEZONE, read back by an independent parser (vobject, which hands the
component to dateutil's tzical), must give the same UTC offset as the tz database.

By default every one of the 131,496 hours of 2026–2040 is checked, per zone (~12 s for both:
dateutil's reader costs ~45 µs per instant). ZORGTAFEL_TZ_QUICK=1 checks only every hour from four
days before to four days after each of the 30 transitions, plus every 7th hour of all fifteen
years (about 24k instants per zone, ~1.2 s), for quick local runs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
import vobject

from notifications.vtimezone import SUPPORTED_TZIDS, vtimezone

FIRST_YEAR = 2026
LAST_YEAR = 2040
HOUR = timedelta(hours=1)
EVERY_HOUR = os.environ.get("ZORGTAFEL_TZ_QUICK") != "1"


def reader_tzinfo(tzid: str) -> tzinfo:
    """Parse our VTIMEZONE the way a calendar client would: inside a VCALENDAR."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\n"
        + vtimezone(tzid).to_ical().decode()
        + "END:VCALENDAR\r\n"
    )
    calendar = vobject.readOne(text)
    parsed = calendar.vtimezone.gettzinfo()
    assert parsed is not None
    assert type(parsed).__module__.startswith("dateutil"), "must be the VTIMEZONE, not a tz db"
    return parsed


def instants_to_check(tz: ZoneInfo) -> list[datetime]:
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    end = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
    total_hours = int((end - start) / HOUR)
    if EVERY_HOUR:
        return [start + i * HOUR for i in range(total_hours)]

    # Every 7th hour: 7 and 24 are coprime, so each hour of the day is hit once a week.
    hours: set[int] = set(range(0, total_hours, 7))
    # Every hour from 4 days before to 4 days after each transition the tz database knows of.
    previous = tz.utcoffset(start.replace(tzinfo=None))
    for day in range(int((end - start) / timedelta(days=1)) + 1):
        noon = start + timedelta(days=day, hours=12)
        offset = noon.astimezone(tz).utcoffset()
        if offset != previous:
            centre = day * 24
            hours |= set(range(max(0, centre - 96), min(total_hours, centre + 96)))
            previous = offset
    return [start + h * HOUR for h in sorted(hours)]


@pytest.mark.parametrize("tzid", SUPPORTED_TZIDS)
def test_offsets_match_tz_database(tzid: str) -> None:
    reference = ZoneInfo(tzid)
    parsed = reader_tzinfo(tzid)
    instants = instants_to_check(reference)
    assert len(instants) > (131_000 if EVERY_HOUR else 20_000)

    mismatches = []
    for instant in instants:
        got = instant.astimezone(parsed).utcoffset()
        expected = instant.astimezone(reference).utcoffset()
        if got != expected:
            mismatches.append((instant.isoformat(), got, expected))
    assert mismatches == [], f"{len(mismatches)} mismatches, first ones: {mismatches[:5]}"


@pytest.mark.parametrize("tzid", SUPPORTED_TZIDS)
def test_transitions_are_the_eu_rule(tzid: str) -> None:
    """Spot checks that do not depend on the tz database at all."""
    parsed = reader_tzinfo(tzid)
    cet, cest = timedelta(hours=1), timedelta(hours=2)
    # 2026: last Sunday of March is the 29th, of October the 25th; switch at 01:00 UTC.
    cases = [
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), cet),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), cest),
        (datetime(2026, 10, 25, 0, 59, tzinfo=UTC), cest),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), cet),
        # 2037: March has five Sundays (1, 8, 15, 22, 29); October's last is the 25th.
        (datetime(2037, 3, 22, 12, 0, tzinfo=UTC), cet),
        (datetime(2037, 3, 29, 1, 0, tzinfo=UTC), cest),
        (datetime(2037, 10, 25, 1, 0, tzinfo=UTC), cet),
    ]
    for instant, expected in cases:
        assert instant.astimezone(parsed).utcoffset() == expected, instant


@pytest.mark.parametrize("tzid", SUPPORTED_TZIDS)
def test_is_rule_based_not_an_rdate_list(tzid: str) -> None:
    text = vtimezone(tzid).to_ical().decode()
    assert f"TZID:{tzid}\r\n" in text
    assert "RDATE" not in text
    assert text.count("RRULE:") == 2
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" in text


def test_unsupported_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="Europe/London"):
        vtimezone("Europe/London")
