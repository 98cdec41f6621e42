"""Meeting hours: parsing the spec and turning it into UTC windows, also around the DST changes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zorgtafel.rules.meeting_hours import DAYS, MeetingHours, parse_meeting_hours

BXL = ZoneInfo("Europe/Brussels")
NONE: tuple = ()


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def t(hm: str) -> time:
    h, m = hm.split(":")
    return time(int(h), int(m))


def w(*pairs: str) -> tuple[tuple[time, time], ...]:
    """w("08:00-12:00", "13:00-17:00") -> the windows of one day."""
    out = []
    for p in pairs:
        a, b = p.split("-")
        out.append((t(a), t(b)))
    return tuple(out)


# --------------------------------------------------------------------------- parsing: valid specs


def test_parse_weekday_and_weekend_ranges():
    hours = parse_meeting_hours("mon-fri 08:00-19:00; sat-sun 09:00-17:00")
    assert hours.by_weekday == (
        w("08:00-19:00"),
        w("08:00-19:00"),
        w("08:00-19:00"),
        w("08:00-19:00"),
        w("08:00-19:00"),
        w("09:00-17:00"),
        w("09:00-17:00"),
    )


def test_parse_single_day_leaves_other_days_empty():
    hours = parse_meeting_hours("wed 10:00-12:30")
    assert hours.by_weekday == (NONE, NONE, w("10:00-12:30"), NONE, NONE, NONE, NONE)


def test_parse_several_windows_a_day_are_sorted():
    hours = parse_meeting_hours("mon 13:00-17:00; mon 08:00-12:00; tue 09:00-10:00")
    assert hours.by_weekday[0] == w("08:00-12:00", "13:00-17:00")
    assert hours.by_weekday[1] == w("09:00-10:00")
    assert all(day == () for day in hours.by_weekday[2:])


def test_parse_range_and_single_day_combined_on_the_same_day():
    hours = parse_meeting_hours("mon-wed 08:00-12:00; tue 13:00-15:00")
    assert hours.by_weekday[0] == w("08:00-12:00")
    assert hours.by_weekday[1] == w("08:00-12:00", "13:00-15:00")
    assert hours.by_weekday[2] == w("08:00-12:00")
    assert hours.by_weekday[3] == ()


def test_parse_adjacent_windows_are_not_overlapping():
    hours = parse_meeting_hours("mon 08:00-12:00; mon 12:00-13:00")
    assert hours.by_weekday[0] == w("08:00-12:00", "12:00-13:00")


def test_parse_is_lenient_on_case_whitespace_single_digit_hours_and_empty_parts():
    hours = parse_meeting_hours("  MON - Fri   8:00 - 9:30 ;; ; Sun 00:00-23:59 ;")
    assert hours.by_weekday[:5] == (w("08:00-09:30"),) * 5
    assert hours.by_weekday[5] == ()
    assert hours.by_weekday[6] == w("00:00-23:59")


def test_parse_one_day_range():
    assert parse_meeting_hours("thu-thu 08:00-09:00") == parse_meeting_hours("thu 08:00-09:00")


def test_parse_returns_an_immutable_value():
    hours = parse_meeting_hours("mon 08:00-09:00")
    assert isinstance(hours, MeetingHours)
    assert isinstance(hours.by_weekday, tuple)
    assert all(isinstance(day, tuple) for day in hours.by_weekday)
    assert len(hours.by_weekday) == 7
    hash(hours)  # frozen and fully hashable


# --------------------------------------------------------------------------- parsing: invalid specs


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "mon-fry 08:00-19:00",
            "unknown day in 'mon-fry 08:00-19:00'; use mon, tue, wed, thu, fri, sat, sun",
        ),
        ("xyz 08:00-09:00", "unknown day in 'xyz 08:00-09:00'"),
        ("mon 08:00-12:00; maa 13:00-14:00", "unknown day in 'maa 13:00-14:00'"),
    ],
)
def test_unknown_day(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_meeting_hours(spec)


@pytest.mark.parametrize("spec", ["mon 19:00-08:00", "mon 08:00-08:00", "mon-fri 12:01-12:00"])
def test_inverted_or_empty_times(spec):
    with pytest.raises(ValueError, match=re.escape(f"{spec!r} closes before it opens")):
        parse_meeting_hours(spec)


@pytest.mark.parametrize(
    ("spec", "day"),
    [
        ("mon 08:00-12:00; mon 11:00-13:00", "mon"),
        ("tue 08:00-12:00; tue 08:00-12:00", "tue"),  # duplicate
        ("sun 08:00-18:00; sun 10:00-11:00", "sun"),  # contained
        ("mon-fri 08:00-12:00; wed 11:59-14:00", "wed"),  # through a range
        ("sat 13:00-15:00; sat 08:00-13:01", "sat"),  # given out of order
    ],
)
def test_overlapping_windows(spec, day):
    with pytest.raises(ValueError, match=re.escape(f"overlapping windows on {day}")):
        parse_meeting_hours(spec)


@pytest.mark.parametrize(
    ("spec", "d1", "d2"), [("fri-mon 08:00-19:00", "fri", "mon"), ("sun-sat 08:00-09:00", "sun", "sat")]
)
def test_backwards_day_range(spec, d1, d2):
    with pytest.raises(ValueError, match=re.escape(f"day range {d1}-{d2} runs backwards")):
        parse_meeting_hours(spec)


@pytest.mark.parametrize("spec", ["", "   ", ";", " ; ;; "])
def test_empty_spec(spec):
    with pytest.raises(ValueError, match="no window at all"):
        parse_meeting_hours(spec)


@pytest.mark.parametrize(
    "spec",
    [
        "hello",
        "mon",
        "mon 08:00",
        "mon 8-19",
        "mon 08.00-19.00",
        "monday 08:00-19:00",
        "mon-fri 08:00-19:00 extra",
        "mon-fri, 08:00-19:00",
        "mon 08:00-19:00, tue 08:00-19:00",
        "mon 008:00-19:00",
        "mon 08:0-19:00",
        "08:00-19:00 mon",
        "ma 08:00-19:00",
        "mon -08:00-19:00",
    ],
)
def test_garbage_is_refused_with_an_example(spec):
    with pytest.raises(ValueError, match=r"cannot read .*expected e\.g\. 'mon-fri 08:00-19:00'") as exc:
        parse_meeting_hours(spec)
    assert "meeting hours" in str(exc.value)


def test_garbage_message_quotes_only_the_offending_part():
    with pytest.raises(ValueError, match=re.escape("cannot read 'tue nine-five'")):
        parse_meeting_hours("mon 08:00-19:00; tue nine-five ")


@pytest.mark.parametrize("spec", ["mon 25:00-26:00", "mon 08:60-09:00", "mon 08:00-24:00", "mon 08:00-23:99"])
def test_impossible_clock_times(spec):
    with pytest.raises(ValueError, match=re.escape(f"invalid time in {spec!r}")):
        parse_meeting_hours(spec)


# --------------------------------------------------------------------------- windows()


def all_windows(hours: MeetingHours, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return list(hours.windows(start, end, BXL))


EVERY_DAY = parse_meeting_hours("mon-sun 08:00-19:00")


def test_windows_around_spring_forward_2026():
    # 2026-03-29 03:00 CEST replaces 02:00 CET: 08:00 local is 07:00Z before, 06:00Z from that day on.
    got = all_windows(EVERY_DAY, utc(2026, 3, 27), utc(2026, 3, 31))
    assert got == [
        (utc(2026, 3, 27, 7), utc(2026, 3, 27, 18)),
        (utc(2026, 3, 28, 7), utc(2026, 3, 28, 18)),
        (utc(2026, 3, 29, 6), utc(2026, 3, 29, 17)),
        (utc(2026, 3, 30, 6), utc(2026, 3, 30, 17)),
    ]


def test_windows_around_fall_back_2026():
    # 2026-10-25 03:00 CEST becomes 02:00 CET: 08:00 local is 06:00Z before, 07:00Z from that day on.
    got = all_windows(EVERY_DAY, utc(2026, 10, 23), utc(2026, 10, 27))
    assert got == [
        (utc(2026, 10, 23, 6), utc(2026, 10, 23, 17)),
        (utc(2026, 10, 24, 6), utc(2026, 10, 24, 17)),
        (utc(2026, 10, 25, 7), utc(2026, 10, 25, 18)),
        (utc(2026, 10, 26, 7), utc(2026, 10, 26, 18)),
    ]


def test_windows_are_utc_when_asked_in_utc():
    for lo, hi in all_windows(EVERY_DAY, utc(2026, 3, 27), utc(2026, 11, 1)):
        assert lo.utcoffset() == timedelta(0)
        assert hi.utcoffset() == timedelta(0)


def test_window_that_contains_the_spring_gap_is_one_hour_shorter():
    hours = parse_meeting_hours("sun 01:00-04:00")
    got = all_windows(hours, utc(2026, 3, 28), utc(2026, 3, 30))
    assert got == [(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2))]  # 01:00 CET .. 04:00 CEST


def test_window_that_contains_the_fall_repeat_is_one_hour_longer():
    hours = parse_meeting_hours("sun 01:00-04:00")
    got = all_windows(hours, utc(2026, 10, 24), utc(2026, 10, 26))
    assert got == [(utc(2026, 10, 24, 23), utc(2026, 10, 25, 3))]  # 01:00 CEST .. 04:00 CET


def test_windows_follow_the_weekdays():
    hours = parse_meeting_hours("mon-fri 08:00-19:00")
    # 2026-06-05 is a Friday, 06/07 the weekend, 08 a Monday (CEST, UTC+2).
    got = all_windows(hours, utc(2026, 6, 5), utc(2026, 6, 9))
    assert got == [(utc(2026, 6, 5, 6), utc(2026, 6, 5, 17)), (utc(2026, 6, 8, 6), utc(2026, 6, 8, 17))]


def test_several_windows_a_day_in_order():
    hours = parse_meeting_hours("tue 13:00-17:00; tue 08:00-12:00")
    got = all_windows(hours, utc(2026, 1, 12), utc(2026, 1, 19))  # Mon 12 .. Mon 19 January (CET)
    assert got == [(utc(2026, 1, 13, 7), utc(2026, 1, 13, 11)), (utc(2026, 1, 13, 12), utc(2026, 1, 13, 16))]


def test_windows_are_clipped_to_start_and_end():
    got = all_windows(EVERY_DAY, utc(2026, 6, 10, 9, 17), utc(2026, 6, 11, 8, 5))
    assert got == [
        (utc(2026, 6, 10, 9, 17), utc(2026, 6, 10, 17)),
        (utc(2026, 6, 11, 6), utc(2026, 6, 11, 8, 5)),
    ]


def test_window_inside_start_end_is_clipped_on_both_sides():
    got = all_windows(EVERY_DAY, utc(2026, 6, 10, 9), utc(2026, 6, 10, 10))
    assert got == [(utc(2026, 6, 10, 9), utc(2026, 6, 10, 10))]


def test_windows_are_half_open():
    # end exactly at a window's opening: that window is not yielded;
    # start exactly at a window's closing: that window is not yielded either.
    assert all_windows(EVERY_DAY, utc(2026, 6, 9, 17), utc(2026, 6, 10, 6)) == []
    got = all_windows(EVERY_DAY, utc(2026, 6, 9, 17), utc(2026, 6, 10, 6, 1))
    assert got == [(utc(2026, 6, 10, 6), utc(2026, 6, 10, 6, 1))]


def test_windows_empty_or_inverted_range_yields_nothing():
    assert all_windows(EVERY_DAY, utc(2026, 6, 10, 9), utc(2026, 6, 10, 9)) == []
    assert all_windows(EVERY_DAY, utc(2026, 6, 10, 12), utc(2026, 6, 10, 9)) == []


def test_windows_start_late_in_the_local_day_and_end_at_local_midnight():
    hours = parse_meeting_hours("mon-sun 00:00-01:00; mon-sun 23:00-23:59")
    # 2026-01-14 23:30 CET .. 2026-01-15 00:00 CET (local midnight, end excluded).
    got = all_windows(hours, utc(2026, 1, 14, 22, 30), utc(2026, 1, 14, 23))
    assert got == [(utc(2026, 1, 14, 22, 30), utc(2026, 1, 14, 22, 59))]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 6, 10, 8), utc(2026, 6, 11)),
        (utc(2026, 6, 10), datetime(2026, 6, 11)),
        (datetime(2026, 6, 10), datetime(2026, 6, 11)),
    ],
)
def test_windows_refuse_naive_datetimes(start, end):
    with pytest.raises(ValueError, match="timezone-aware"):
        list(EVERY_DAY.windows(start, end, BXL))


def test_windows_are_utc_even_when_asked_in_local_time():
    """The docstring promises UTC windows, whatever zone start/end are expressed in."""
    start = datetime(2026, 3, 28, 0, 0, tzinfo=BXL)
    end = datetime(2026, 3, 31, 0, 0, tzinfo=BXL)
    got = list(EVERY_DAY.windows(start, end, BXL))
    assert [(lo.astimezone(UTC), hi.astimezone(UTC)) for lo, hi in got] == [
        (utc(2026, 3, 28, 7), utc(2026, 3, 28, 18)),
        (utc(2026, 3, 29, 6), utc(2026, 3, 29, 17)),
        (utc(2026, 3, 30, 6), utc(2026, 3, 30, 17)),
    ]
    for lo, hi in got:
        assert lo.utcoffset() == timedelta(0), lo
        assert hi.utcoffset() == timedelta(0), hi


def test_windows_in_the_repeated_fall_hour_with_a_local_start():
    """Start given in local time in the second 02:xx of 2026-10-25 (fold=1, 01:10Z) is after the
    window 01:00 CEST-02:30 CEST (23:00Z-00:30Z) has closed: nothing may be yielded, and certainly
    no window that ends before it starts."""
    hours = parse_meeting_hours("sun 01:00-02:30")
    start = utc(2026, 10, 25, 1, 10).astimezone(BXL)
    assert start.fold == 1
    got = list(hours.windows(start, utc(2026, 10, 25, 5), BXL))
    for lo, hi in got:
        assert lo < hi and lo.astimezone(UTC) < hi.astimezone(UTC), (lo, hi)
    assert got == []


# --------------------------------------------------------------------------- windows(): property


def reference_windows(
    spec: list[tuple[int, int, int]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """spec: (weekday, open minute, close minute). Clip every local window of every day to [start, end)."""
    out = []
    day = start.astimezone(BXL).date() - timedelta(days=2)
    while day <= end.astimezone(BXL).date() + timedelta(days=1):
        for wd, a, b in sorted(spec):
            if wd != day.weekday():
                continue
            lo = datetime(day.year, day.month, day.day, a // 60, a % 60, tzinfo=BXL).astimezone(UTC)
            hi = datetime(day.year, day.month, day.day, b // 60, b % 60, tzinfo=BXL).astimezone(UTC)
            lo, hi = max(lo, start), min(hi, end)
            if lo < hi:
                out.append((lo, hi))
        day += timedelta(days=1)
    return out


@st.composite
def day_windows(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    spec = []
    for wd in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=4)))
        # pairs of quarter-hour cuts: disjoint, non-empty windows
        for a, b in zip(cuts[::2], cuts[1::2], strict=False):
            spec.append((wd, a * 15, min(b * 15, 23 * 60 + 59)))
    return [s for s in spec if s[1] < s[2]]


def spec_string(spec: list[tuple[int, int, int]]) -> str:
    return "; ".join(f"{DAYS[wd]} {a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for wd, a, b in spec)


ANCHORS = [utc(2026, 3, 27), utc(2026, 10, 23), utc(2027, 3, 26), utc(2026, 7, 1), utc(2026, 12, 30)]


@settings(max_examples=150, deadline=None)
@given(
    spec=day_windows(),
    anchor=st.sampled_from(ANCHORS),
    start_min=st.integers(0, 4 * 24 * 60),
    length_min=st.integers(0, 4 * 24 * 60),
)
def test_windows_match_a_reference(spec, anchor, start_min, length_min):
    if not spec:
        spec = [(6, 60, 240)]
    hours = parse_meeting_hours(spec_string(spec))
    start = anchor + timedelta(minutes=start_min)
    end = start + timedelta(minutes=length_min)
    got = list(hours.windows(start, end, BXL))
    assert got == reference_windows(spec, start, end)
    for lo, hi in got:
        assert lo.utcoffset() == timedelta(0) and hi.utcoffset() == timedelta(0)
        assert start <= lo < hi <= end


def test_reference_helper_sanity():
    # the reference itself must agree with the hand-computed DST example
    assert reference_windows([(6, 60, 240)], utc(2026, 3, 28), utc(2026, 3, 30)) == [
        (utc(2026, 3, 29, 0), utc(2026, 3, 29, 2))
    ]
    assert date(2026, 3, 29).weekday() == 6
