"""The earliest common free slot, checked against a brute-force reference and on concrete cases."""

from __future__ import annotations

import dataclasses
import itertools
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from zorgtafel.rules.meeting_hours import DAYS, parse_meeting_hours
from zorgtafel.rules.slots import SlotRequest, earliest_common_slot, merge

BXL = ZoneInfo("Europe/Brussels")
STEP = timedelta(minutes=15)
HOUR = timedelta(hours=1)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def request(
    not_before: datetime,
    latest_start: datetime,
    minutes: int = 60,
    spec: str = "mon-fri 08:00-19:00",
) -> SlotRequest:
    return SlotRequest(
        not_before=not_before,
        latest_start=latest_start,
        duration=timedelta(minutes=minutes),
        step=STEP,
        hours=parse_meeting_hours(spec),
        tz=BXL,
    )


# --------------------------------------------------------------------------- brute-force reference


def local_windows(
    spec: list[tuple[int, int, int]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Every meeting window (UTC) of the local days touching [start, end], unclipped."""
    out = []
    day = start.astimezone(BXL).date() - timedelta(days=1)
    while day <= end.astimezone(BXL).date() + timedelta(days=1):
        for wd, a, b in spec:
            if wd == day.weekday():
                lo = datetime(day.year, day.month, day.day, a // 60, a % 60, tzinfo=BXL).astimezone(UTC)
                hi = datetime(day.year, day.month, day.day, b // 60, b % 60, tzinfo=BXL).astimezone(UTC)
                out.append((lo, hi))
        day += timedelta(days=1)
    return out


def reference_slot(
    spec: list[tuple[int, int, int]],
    not_before: datetime,
    latest_start: datetime,
    duration: timedelta,
    busy_per_person: list[list[tuple[datetime, datetime]]],
) -> tuple[datetime, datetime] | None:
    """Try every start on the 15-minute grid (UTC quarter-hours = Brussels quarter-hours) from
    not_before to latest_start; take the first one inside a single meeting window that overlaps
    nobody's busy time (half-open intervals)."""
    windows = local_windows(spec, not_before, latest_start + duration)
    step_s = int(STEP.total_seconds())
    first = math.ceil(not_before.timestamp() / step_s) * step_s
    start = datetime.fromtimestamp(first, UTC)
    while start <= latest_start:
        end = start + duration
        inside = any(lo <= start and end <= hi for lo, hi in windows)
        free = all(max(start, bs) >= min(end, be) for person in busy_per_person for bs, be in person)
        if inside and free:
            return start, end
        start += STEP
    return None


# --------------------------------------------------------------------------- property test

ANCHORS = [
    utc(2026, 3, 27, 0),  # Friday before spring forward (2026-03-29)
    utc(2026, 10, 23, 0),  # Friday before fall back (2026-10-25)
    utc(2027, 3, 26, 12),  # Friday before spring forward 2027 (03-28)
    utc(2027, 10, 29, 18),  # Friday before fall back 2027 (10-31)
    utc(2026, 6, 10, 5),  # summer, mid-week
    utc(2026, 12, 31, 20),  # winter, across new year
]


@st.composite
def meeting_spec(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """0–2 disjoint windows per weekday on a 15-minute grid, anywhere in the day (also 01:00-04:00,
    so the DST nights are hit), or 23:59 as a closing time."""
    spec = []
    for wd in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=4)))
        for a, b in zip(cuts[::2], cuts[1::2], strict=False):
            spec.append((wd, a * 15, min(b * 15, 23 * 60 + 59)))
    if not spec:
        spec.append((draw(st.integers(0, 6)), 8 * 60, 19 * 60))
    return spec


def spec_string(spec: list[tuple[int, int, int]]) -> str:
    return "; ".join(f"{DAYS[wd]} {a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for wd, a, b in spec)


@st.composite
def busy_interval(draw: st.DrawFn, anchor: datetime) -> tuple[datetime, datetime]:
    if draw(st.booleans()):  # on the grid
        start = anchor + STEP * draw(st.integers(-8, 4 * 96))
        end = start + STEP * draw(st.integers(0, 24))
    else:  # anywhere, to the second
        start = anchor + timedelta(seconds=draw(st.integers(-7200, 4 * 86400)))
        end = start + timedelta(seconds=draw(st.integers(0, 6 * 3600)))
    return start, end


@st.composite
def instance(draw: st.DrawFn) -> dict:
    anchor = draw(st.sampled_from(ANCHORS))
    if draw(st.booleans()):
        not_before = anchor + STEP * draw(st.integers(0, 3 * 96))
    else:
        not_before = anchor + timedelta(seconds=draw(st.integers(0, 3 * 86400)))
    latest_start = not_before + timedelta(minutes=draw(st.integers(-120, 3 * 24 * 60)))
    if draw(st.booleans()):  # sometimes exactly on the grid, to hit "start == latest_start"
        latest_start = anchor + STEP * draw(st.integers(0, 6 * 96))
    persons = draw(st.integers(1, 3))
    busy = [draw(st.lists(busy_interval(anchor), max_size=6)) for _ in range(persons)]
    return {
        "spec": draw(meeting_spec()),
        "not_before": not_before,
        "latest_start": latest_start,
        "duration": timedelta(minutes=draw(st.integers(30, 120))),
        "busy": busy,
    }


@settings(max_examples=400, deadline=None)
@given(instance())
@example(  # a window across the spring-forward night, 01:00 CET .. 04:00 CEST = 00:00Z .. 02:00Z
    {
        "spec": [(6, 60, 240)],
        "not_before": utc(2026, 3, 28, 23),
        "latest_start": utc(2026, 3, 29, 3),
        "duration": timedelta(minutes=120),
        "busy": [[]],
    }
)
@example(  # the fall-back night: 01:00 CEST .. 04:00 CET = 23:00Z .. 03:00Z, busy in the middle
    {
        "spec": [(6, 60, 240)],
        "not_before": utc(2026, 10, 24, 22),
        "latest_start": utc(2026, 10, 25, 5),
        "duration": timedelta(minutes=90),
        "busy": [
            [(utc(2026, 10, 24, 23, 40), utc(2026, 10, 25, 0, 50))],
            [(utc(2026, 10, 25, 2, 40), utc(2026, 10, 25, 2, 41))],
        ],
    }
)
def test_matches_brute_force(case):
    req = SlotRequest(
        not_before=case["not_before"],
        latest_start=case["latest_start"],
        duration=case["duration"],
        step=STEP,
        hours=parse_meeting_hours(spec_string(case["spec"])),
        tz=BXL,
    )
    got = earliest_common_slot(req, case["busy"])
    want = reference_slot(
        case["spec"], case["not_before"], case["latest_start"], case["duration"], case["busy"]
    )
    assert got == want
    event("slot found" if got is not None else "no slot")
    if got is not None:
        start, end = got
        assert start.utcoffset() == timedelta(0)
        assert end - start == case["duration"]


def test_reference_finds_slots_in_the_dst_examples():
    """The hand-made DST examples above must not be trivially None."""
    assert reference_slot([(6, 60, 240)], utc(2026, 3, 28, 23), utc(2026, 3, 29, 3), 2 * HOUR, [[]]) == (
        utc(2026, 3, 29, 0),
        utc(2026, 3, 29, 2),
    )
    busy = [
        [(utc(2026, 10, 24, 23, 40), utc(2026, 10, 25, 0, 50))],
        [(utc(2026, 10, 25, 2, 40), utc(2026, 10, 25, 2, 41))],
    ]
    assert reference_slot(
        [(6, 60, 240)], utc(2026, 10, 24, 22), utc(2026, 10, 25, 5), timedelta(minutes=90), busy
    ) == (
        utc(2026, 10, 25, 1, 0),  # the first 02:00 CEST is busy until 00:50Z; the second 02:00 (CET) is free
        utc(2026, 10, 25, 2, 30),  # and ends before the 02:40Z blip
    )


# --------------------------------------------------------------------------- concrete examples
# 2026-06-08 is a Monday; CEST, so 08:00-19:00 local is 06:00Z-17:00Z.
MON = (2026, 6, 8)
FAR = utc(2026, 6, 20)


def test_all_free_first_start_is_not_before_rounded_up_to_the_step():
    got = earliest_common_slot(request(utc(*MON, 7, 7, 30), FAR), [[], [], []])
    assert got == (utc(*MON, 7, 15), utc(*MON, 8, 15))


def test_not_before_on_the_grid_is_used_as_is():
    assert earliest_common_slot(request(utc(*MON, 7, 30), FAR), [[]]) == (utc(*MON, 7, 30), utc(*MON, 8, 30))


def test_all_free_before_opening_starts_at_the_window_start():
    assert earliest_common_slot(request(utc(*MON, 1, 3), FAR), []) == (utc(*MON, 6), utc(*MON, 7))


def test_no_persons_means_everybody_is_free():
    assert earliest_common_slot(request(utc(*MON, 9), FAR), []) == (utc(*MON, 9), utc(*MON, 10))


def test_busy_block_pushes_the_slot_to_its_end_rounded_up():
    busy = [[(utc(*MON, 5), utc(*MON, 7, 1))]]
    assert earliest_common_slot(request(utc(*MON, 5), FAR), busy) == (utc(*MON, 7, 15), utc(*MON, 8, 15))


def test_busy_blocks_of_several_persons_combine():
    busy = [
        [(utc(*MON, 6), utc(*MON, 7))],
        [(utc(*MON, 7, 30), utc(*MON, 8, 20))],  # 07:00-08:00 would clash with this
        [(utc(*MON, 9), utc(*MON, 9, 15))],  # 08:30-09:30 would clash with this
    ]
    assert earliest_common_slot(request(utc(*MON, 6), FAR), busy) == (utc(*MON, 9, 15), utc(*MON, 10, 15))


def test_a_gap_exactly_the_duration_is_used():
    busy = [[(utc(*MON, 6), utc(*MON, 8))], [(utc(*MON, 9), utc(*MON, 12))]]
    assert earliest_common_slot(request(utc(*MON, 6), FAR), busy) == (utc(*MON, 8), utc(*MON, 9))


def test_a_gap_shorter_than_the_duration_is_skipped():
    busy = [[(utc(*MON, 6), utc(*MON, 8))], [(utc(*MON, 8, 45), utc(*MON, 12))]]
    assert earliest_common_slot(request(utc(*MON, 6), FAR), busy) == (utc(*MON, 12), utc(*MON, 13))


def test_busy_intervals_are_half_open():
    busy = [[(utc(*MON, 5), utc(*MON, 6, 15))], [(utc(*MON, 7, 15), utc(*MON, 9))]]
    assert earliest_common_slot(request(utc(*MON, 6), FAR), busy) == (utc(*MON, 6, 15), utc(*MON, 7, 15))


def test_busy_all_day_moves_to_the_next_meeting_day():
    busy = [[(utc(*MON, 0), utc(2026, 6, 9, 23))]]
    got = earliest_common_slot(request(utc(*MON, 6), FAR), busy)
    assert got == (utc(2026, 6, 10, 6), utc(2026, 6, 10, 7))


def test_weekend_is_skipped():
    # Friday 2026-06-12 18:30 CEST: 60 minutes do not fit before 19:00, Saturday/Sunday have no hours.
    got = earliest_common_slot(request(utc(2026, 6, 12, 16, 30), FAR), [[]])
    assert got == (utc(2026, 6, 15, 6), utc(2026, 6, 15, 7))


def test_nothing_before_the_deadline_gives_none():
    # Friday evening registration, deadline Sunday evening, weekday hours only.
    assert earliest_common_slot(request(utc(2026, 6, 12, 17), utc(2026, 6, 14, 17)), [[]]) is None


def test_busy_until_past_the_deadline_gives_none():
    busy = [[(utc(*MON, 0), utc(*MON, 23))]]
    assert earliest_common_slot(request(utc(*MON, 6), utc(*MON, 16)), busy) is None


def test_start_exactly_at_latest_start_is_allowed():
    busy = [[(utc(*MON, 6), utc(*MON, 10))]]
    assert earliest_common_slot(request(utc(*MON, 6), utc(*MON, 10)), busy) == (utc(*MON, 10), utc(*MON, 11))
    assert earliest_common_slot(request(utc(*MON, 6), utc(*MON, 9, 59)), busy) is None


def test_latest_start_at_the_window_opening():
    assert earliest_common_slot(request(utc(*MON, 1), utc(*MON, 6)), []) == (utc(*MON, 6), utc(*MON, 7))
    assert earliest_common_slot(request(utc(*MON, 1), utc(*MON, 5, 59)), []) is None


def test_start_must_be_on_the_grid_even_at_the_deadline():
    # not_before 07:01Z, deadline 07:10Z: the first grid start is 07:15Z, after the deadline.
    assert earliest_common_slot(request(utc(*MON, 7, 1), utc(*MON, 7, 10)), []) is None


def test_not_before_after_latest_start_gives_none():
    assert earliest_common_slot(request(utc(*MON, 9), utc(*MON, 8)), []) is None


def test_slot_may_not_cross_the_end_of_a_window():
    # 18:30 local, 60 minutes: 18:30-19:30 crosses 19:00; the next opening is Tuesday 08:00.
    got = earliest_common_slot(request(utc(*MON, 16, 30), FAR), [])
    assert got == (utc(2026, 6, 9, 6), utc(2026, 6, 9, 7))


def test_slot_may_end_exactly_at_the_window_end():
    assert earliest_common_slot(request(utc(*MON, 16), FAR), []) == (utc(*MON, 16), utc(*MON, 17))


def test_slot_may_not_span_two_adjacent_windows():
    spec = "mon 08:00-12:00; mon 12:00-14:00"
    got = earliest_common_slot(request(utc(*MON, 9, 30), FAR, spec=spec), [])  # 11:30 local
    assert got == (utc(*MON, 10), utc(*MON, 11))  # 12:00 local, in the second window


def test_slot_does_not_fit_a_short_window():
    spec = "mon 08:00-08:45; tue 10:00-12:00"
    got = earliest_common_slot(request(utc(*MON, 0), FAR, spec=spec), [])
    assert got == (utc(2026, 6, 9, 8), utc(2026, 6, 9, 9))


def test_slot_across_spring_forward_uses_summer_time():
    # Saturday 2026-03-28 18:30 CET; every day 08:00-19:00 -> Sunday 08:00 CEST = 06:00Z.
    got = earliest_common_slot(
        request(utc(2026, 3, 28, 17, 30), utc(2026, 3, 30), spec="mon-sun 08:00-19:00"), []
    )
    assert got == (utc(2026, 3, 29, 6), utc(2026, 3, 29, 7))


def test_slot_across_fall_back_uses_winter_time():
    # Saturday 2026-10-24 18:30 CEST -> Sunday 08:00 CET = 07:00Z.
    got = earliest_common_slot(
        request(utc(2026, 10, 24, 16, 30), utc(2026, 10, 26), spec="mon-sun 08:00-19:00"), []
    )
    assert got == (utc(2026, 10, 25, 7), utc(2026, 10, 25, 8))


def test_busy_periods_may_be_given_in_any_zone():
    local = [(datetime(2026, 6, 8, 8, 0, tzinfo=BXL), datetime(2026, 6, 8, 9, 10, tzinfo=BXL))]
    assert earliest_common_slot(request(utc(*MON, 6), FAR), [local]) == (utc(*MON, 7, 15), utc(*MON, 8, 15))


def test_busy_intervals_may_be_any_iterable():
    busy = [iter([(utc(*MON, 6), utc(*MON, 7))]), ((utc(*MON, 7), utc(*MON, 7, 30)),)]
    assert earliest_common_slot(request(utc(*MON, 6), FAR), busy) == (utc(*MON, 7, 30), utc(*MON, 8, 30))


def test_empty_and_inverted_busy_intervals_are_ignored():
    busy = [[(utc(*MON, 6, 30), utc(*MON, 6, 30)), (utc(*MON, 7), utc(*MON, 6, 10))]]
    assert earliest_common_slot(request(utc(*MON, 6), FAR), busy) == (utc(*MON, 6), utc(*MON, 7))


@pytest.mark.parametrize(
    ("not_before", "latest_start"),
    [
        (datetime(2026, 6, 8, 8), FAR),
        (utc(*MON, 6), datetime(2026, 6, 20)),
        (datetime(2026, 6, 8, 8), datetime(2026, 6, 20)),
    ],
)
def test_naive_datetimes_are_refused(not_before, latest_start):
    with pytest.raises(ValueError, match="timezone-aware"):
        earliest_common_slot(request(not_before, latest_start), [])


def test_request_in_local_time_gives_the_same_slot_as_in_utc():
    """Same instants, expressed in Europe/Brussels instead of UTC: same answer. A night window on the
    spring-forward Sunday; latest start 01:30 CET (00:30Z), 90 minutes: 00:30Z-02:00Z fits in
    00:00 CET .. 06:00 CEST (23:00Z .. 04:00Z)."""
    spec = "sun 00:00-06:00"
    in_utc = request(utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 0, 30), minutes=90, spec=spec)
    assert earliest_common_slot(in_utc, []) == (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 2))
    in_local = dataclasses.replace(
        in_utc,
        not_before=in_utc.not_before.astimezone(BXL),
        latest_start=in_utc.latest_start.astimezone(BXL),
    )
    assert earliest_common_slot(in_local, []) == (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 2))


def test_slot_request_is_frozen_and_comparable():
    a = request(utc(*MON, 6), FAR)
    assert a == request(utc(*MON, 6), FAR)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.step = HOUR  # type: ignore[misc]


# --------------------------------------------------------------------------- merge


def m(a: int, b: int) -> tuple[datetime, datetime]:
    """An interval in minutes after 2026-06-08 00:00Z."""
    base = utc(*MON)
    return base + timedelta(minutes=a), base + timedelta(minutes=b)


def test_merge_empty():
    assert merge([]) == []
    assert merge(iter(())) == []


def test_merge_overlapping():
    assert merge([m(0, 30), m(20, 50)]) == [m(0, 50)]


def test_merge_adjacent():
    assert merge([m(0, 30), m(30, 60)]) == [m(0, 60)]


def test_merge_contained():
    assert merge([m(0, 100), m(10, 20), m(30, 40)]) == [m(0, 100)]


def test_merge_disjoint_are_kept_and_sorted():
    assert merge([m(50, 60), m(0, 10), m(20, 30)]) == [m(0, 10), m(20, 30), m(50, 60)]


def test_merge_chain_in_any_order():
    assert merge([m(40, 70), m(0, 15), m(10, 41), m(80, 90), m(90, 95)]) == [m(0, 70), m(80, 95)]


def test_merge_drops_empty_and_inverted():
    assert merge([m(10, 10), m(30, 20), m(40, 50)]) == [m(40, 50)]
    assert merge([m(10, 10)]) == []


def test_merge_accepts_a_generator():
    assert merge(x for x in [m(0, 5), m(5, 6)]) == [m(0, 6)]


def test_merge_across_zones_by_instant():
    a = (utc(*MON, 6), utc(*MON, 7))
    b = (datetime(2026, 6, 8, 9, 0, tzinfo=BXL), datetime(2026, 6, 8, 10, 0, tzinfo=BXL))  # 07:00Z-08:00Z
    got = merge([b, a])
    assert len(got) == 1
    assert got[0][0] == utc(*MON, 6) and got[0][1] == utc(*MON, 8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=12))
def test_merge_property(raw):
    got = merge([m(a, b) for a, b in raw])
    base = utc(*MON)
    mins = [(int((s - base).total_seconds() // 60), int((e - base).total_seconds() // 60)) for s, e in got]
    # sorted, non-empty, separated by real gaps
    assert all(a < b for a, b in mins)
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(mins))
    # covers exactly the same minutes
    covered = {x for a, b in raw for x in range(a, b)}
    assert {x for a, b in mins for x in range(a, b)} == covered
