"""The fast pair-and-slot search against the brute-force reference, on small random pools.

The reference (``brute_force_match``) tries every grid start with every pair and checks each rule on
the intervals themselves; the fast search works on bitmasks. They must agree exactly: the same
pair, the same start (and so the same Match), or both None.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from zorgtafel.rules.matching import (
    ExpertView,
    MatchRequest,
    any_feasible,
    best_match,
    brute_force_match,
    naive_match,
)
from zorgtafel.rules.meeting_hours import DAYS, parse_meeting_hours

BXL = ZoneInfo("Europe/Brussels")
MIN = timedelta(minutes=1)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


ANCHORS = [
    utc(2026, 3, 27, 0),  # Friday before spring forward (Sunday 2026-03-29)
    utc(2026, 10, 23, 12),  # Friday before fall back (Sunday 2026-10-25)
    utc(2026, 12, 23, 8),  # around Christmas
    utc(2026, 7, 20, 5),  # Belgian national day on Tuesday 21 July
    utc(2026, 6, 10, 5),  # summer, mid-week
    utc(2026, 12, 31, 20),  # winter, across new year and an ISO week change
]
REGION_SPECS = [
    "mon-fri 08:00-19:00; sat-sun 09:00-17:00",
    "mon-fri 08:00-12:00; mon-fri 13:00-19:00",
    "mon-sun 00:00-04:00; mon-sun 08:00-20:00",  # night windows cross the DST changes
    "mon-sun 01:30-03:30; sat-sun 09:00-23:59",
]
VOCAB = ["ggz", "kind", "pleeg", "crisis"]
CONCERNS = ["ouder_psy", "baby", "opvoeding"]


@st.composite
def random_spec(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 5)) > 0:
        return draw(st.sampled_from(REGION_SPECS))
    parts = []
    for wd in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=4)))
        for a, b in zip(cuts[::2], cuts[1::2], strict=False):
            a_m, b_m = a * 15, min(b * 15, 23 * 60 + 59)
            parts.append(f"{DAYS[wd]} {a_m // 60:02d}:{a_m % 60:02d}-{b_m // 60:02d}:{b_m % 60:02d}")
    return "; ".join(parts) or "mon-sun 08:00-19:00"


@st.composite
def moment(draw: st.DrawFn, anchor: datetime, span_minutes: int) -> datetime:
    if draw(st.booleans()):
        t = anchor + 15 * MIN * draw(st.integers(-8, span_minutes // 15))
    else:
        t = anchor + timedelta(seconds=draw(st.integers(-7200, span_minutes * 60)))
    return t.astimezone(BXL) if draw(st.booleans()) else t  # any zone: the same instant


@st.composite
def intervals(draw: st.DrawFn, anchor: datetime, max_size: int) -> tuple[tuple[datetime, datetime], ...]:
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        s = draw(moment(anchor, 4 * 24 * 60))
        length = draw(st.sampled_from([0, 15, 30, 60, 90, 120, 240, 17, 600]))
        e = s + length * MIN if draw(st.integers(0, 9)) else s - 10 * MIN  # sometimes inverted
        out.append((s, e))
    return tuple(out)


def local_days(first: datetime, last: datetime) -> list[date]:
    d, out = first.astimezone(BXL).date() - timedelta(days=1), []
    while d <= last.astimezone(BXL).date() + timedelta(days=1):
        out.append(d)
        d += timedelta(days=1)
    return out


@st.composite
def instance(draw: st.DrawFn) -> tuple[MatchRequest, list[ExpertView]]:
    anchor = draw(st.sampled_from(ANCHORS))
    not_before = draw(moment(anchor, 24 * 60))
    if draw(st.integers(0, 4)):
        latest_start = not_before + MIN * draw(st.integers(12 * 60, 3 * 24 * 60))
    else:
        latest_start = not_before + MIN * draw(st.integers(-60, 12 * 60))
    days = local_days(not_before, latest_start + 3 * 60 * MIN)
    mondays = sorted({d - timedelta(days=d.weekday()) for d in days})
    agencies = draw(st.sampled_from([1, 2, 2, 3, 3, 3, 4, 4, 4, 4]))
    ids = draw(st.lists(st.integers(1, 30), min_size=2, max_size=7, unique=True))
    invited_moments = [None, None, anchor - timedelta(days=3), anchor - timedelta(days=1), anchor]
    experts = []
    for n, expert_id in enumerate(ids):
        absences = ()
        if draw(st.integers(0, 5)) == 0:
            a = draw(st.sampled_from(days))
            absences = ((a, a + timedelta(days=draw(st.integers(0, 2)))),)
        experts.append(
            ExpertView(
                expert_id=expert_id,
                agency_id=n + 1 if n < agencies else draw(st.integers(1, agencies)),
                expertise=frozenset(draw(st.sets(st.sampled_from(VOCAB), max_size=2))),
                busy=draw(intervals(anchor, 4)),
                absences=absences,
                hours=parse_meeting_hours(draw(random_spec())) if draw(st.integers(0, 4)) == 0 else None,
                weekly_cap=draw(st.sampled_from([None, None, None, None, 0, 1, 2])),
                week_loads={m: draw(st.integers(0, 2)) for m in mondays if draw(st.booleans())},
                load=draw(st.integers(0, 3)),
                last_invited_at=draw(st.sampled_from(invited_moments)),
            )
        )
    fixed: tuple[int, ...] = ()
    roll = draw(st.integers(0, 9))
    if roll < 3:
        fixed = (draw(st.sampled_from(ids)),)
    elif roll == 3:
        fixed = tuple(draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True)))
    elif roll == 4 and draw(st.integers(0, 3)) == 0:
        fixed = (99,)  # not in the pool
    concern_map = {
        c: frozenset(draw(st.sets(st.sampled_from(VOCAB), max_size=2)))
        for c in CONCERNS
        if draw(st.integers(0, 4))
    }
    req = MatchRequest(
        not_before=not_before,
        latest_start=latest_start,
        duration=MIN * draw(st.sampled_from([30, 45, 60, 90, 50])),
        step=MIN * draw(st.sampled_from([15, 15, 15, 30])),
        hours=parse_meeting_hours(draw(random_spec())),
        tz=BXL,
        concerns=frozenset(draw(st.sets(st.sampled_from(CONCERNS), max_size=3))),
        concern_map=concern_map,
        case_manager_busy=draw(intervals(anchor, 3)),
        closed=frozenset(d for d in days if draw(st.integers(0, 7)) == 0),
        buffer=draw(st.sampled_from([timedelta(0), timedelta(0), 15 * MIN, timedelta(seconds=437)])),
        excluded_agency_ids=frozenset({1}) if draw(st.integers(0, 6)) == 0 else frozenset(),
        excluded_expert_ids=frozenset(draw(st.sampled_from([(), (), (), (ids[-1],), (99,)]))),
        fixed_expert_ids=fixed,
    )
    return req, experts


def _spring_forward_night() -> tuple[MatchRequest, list[ExpertView]]:
    """Night window 01:30-03:30 local on the spring-forward Sunday: 00:30Z .. 01:30Z only."""
    req = MatchRequest(
        not_before=utc(2026, 3, 28, 23),
        latest_start=utc(2026, 3, 29, 3),
        duration=30 * MIN,
        step=15 * MIN,
        hours=parse_meeting_hours("sun 01:30-03:30"),
        tz=BXL,
        buffer=15 * MIN,
    )
    experts = [
        ExpertView(1, 1, frozenset(), busy=((utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 0, 30)),)),
        ExpertView(2, 2, frozenset()),
    ]
    return req, experts


@settings(max_examples=300, deadline=None)
@given(instance())
@example(_spring_forward_night())
def test_best_match_equals_brute_force(case):
    req, experts = case
    want = brute_force_match(req, experts)
    got = best_match(req, experts)
    assert got == want
    assert any_feasible(req, experts) == (want is not None)
    naive = naive_match(req, experts)
    # The greedy baseline misses nothing: first free expert, first free partner of another agency.
    assert (naive is None) == (want is None)
    event("match" if want is not None else "no match")
    if want is not None:
        event(f"fixed={len(req.fixed_expert_ids)}")
        assert got is not None and naive is not None
        assert want.starts_at.utcoffset() == timedelta(0)
        assert want.ends_at - want.starts_at == req.duration
        assert naive.starts_at <= want.starts_at  # the earliest start with any pair at all
        # The naive pair and start are feasible: the reference with the pair pinned and only that start.
        check = dataclasses.replace(
            req, not_before=naive.starts_at, latest_start=naive.starts_at, fixed_expert_ids=naive.expert_ids
        )
        confirmed = brute_force_match(check, experts)
        assert confirmed is not None
        assert confirmed.starts_at == naive.starts_at
        assert set(confirmed.expert_ids) == set(naive.expert_ids)


def test_the_spring_forward_example_has_a_match():
    req, experts = _spring_forward_night()
    # Expert 1 is busy 00:00Z-00:30Z, widened to 00:45Z; the window is 00:30Z-01:30Z (03:30 CEST).
    got = best_match(req, experts)
    assert got is not None
    assert got.starts_at == utc(2026, 3, 29, 0, 45)
    assert got == brute_force_match(req, experts)
