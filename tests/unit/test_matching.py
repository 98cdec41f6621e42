"""The pair-and-slot rule on concrete cases: every hard constraint, the documented order, gini.

Every case is also checked against the brute-force reference (``check``)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from zorgtafel.rules.closed_days import closed_dates
from zorgtafel.rules.matching import (
    ExpertView,
    Match,
    MatchRequest,
    any_feasible,
    best_match,
    brute_force_match,
    coverage,
    gini,
    naive_match,
    order_key,
)
from zorgtafel.rules.meeting_hours import parse_meeting_hours

BXL = ZoneInfo("Europe/Brussels")
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
# 2026-06-08 is a Monday; CEST, so 08:00-19:00 local is 06:00Z-17:00Z.
MON = (2026, 6, 8)
TUE = (2026, 6, 9)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


MON_8 = utc(*MON, 6)  # Monday 08:00 local


def request(
    not_before: datetime = MON_8,
    latest_start: datetime | None = None,
    spec: str = "mon-fri 08:00-19:00",
    minutes: int = 60,
    **kw: object,
) -> MatchRequest:
    return MatchRequest(
        not_before=not_before,
        latest_start=latest_start or not_before + 48 * HOUR,
        duration=minutes * MIN,
        step=15 * MIN,
        hours=parse_meeting_hours(spec),
        tz=BXL,
        **kw,  # type: ignore[arg-type]
    )


def expert(expert_id: int, agency_id: int, *expertise: str, **kw: object) -> ExpertView:
    return ExpertView(expert_id=expert_id, agency_id=agency_id, expertise=frozenset(expertise), **kw)  # type: ignore[arg-type]


def check(req: MatchRequest, experts: list[ExpertView]) -> Match | None:
    """best_match, after asserting that the reference and the feasibility test agree."""
    got = best_match(req, experts)
    assert got == brute_force_match(req, experts)
    assert any_feasible(req, experts) == (got is not None)
    return got


def busy_day(*day: int) -> tuple[tuple[datetime, datetime], ...]:
    return ((utc(*day, 0), utc(*day, 23, 59)),)


# --------------------------------------------------------------------------- pairs and agencies


def test_two_experts_of_two_agencies_at_the_first_common_start():
    got = check(request(), [expert(1, 10), expert(2, 20)])
    assert got == Match((1, 2), utc(*MON, 6), utc(*MON, 7), frozenset(), 0)


def test_the_same_agency_never_makes_a_pair():
    assert check(request(), [expert(1, 10), expert(2, 10)]) is None
    got = check(request(), [expert(1, 10), expert(2, 10), expert(3, 20)])
    assert got is not None and got.expert_ids == (1, 3)


def test_one_expert_is_no_pair():
    assert check(request(), [expert(1, 10)]) is None
    assert check(request(), []) is None


def test_the_registrants_agency_is_excluded():
    experts = [expert(1, 10), expert(2, 20), expert(3, 30)]
    got = check(request(excluded_agency_ids=frozenset({10})), experts)
    assert got is not None and got.expert_ids == (2, 3)
    assert check(request(excluded_agency_ids=frozenset({10, 20})), experts) is None


def test_excluded_experts_are_skipped():
    experts = [expert(1, 10), expert(2, 20), expert(3, 30)]
    got = check(request(excluded_expert_ids=frozenset({1})), experts)
    assert got is not None and got.expert_ids == (2, 3)


def test_duplicate_expert_ids_are_refused():
    with pytest.raises(ValueError, match="unique"):
        best_match(request(), [expert(1, 10), expert(1, 20)])


# --------------------------------------------------------------------------- fixed experts


def test_one_fixed_expert_is_in_the_pair_and_comes_first():
    experts = [expert(1, 10), expert(2, 20), expert(3, 30, load=5)]
    got = check(request(fixed_expert_ids=(3,)), experts)
    assert got is not None and got.expert_ids == (3, 1)


def test_a_fixed_expert_that_breaks_a_rule_gives_none():
    experts = [expert(1, 10), expert(2, 20), expert(3, 30)]
    assert check(request(fixed_expert_ids=(3,), excluded_expert_ids=frozenset({3})), experts) is None
    assert check(request(fixed_expert_ids=(3,), excluded_agency_ids=frozenset({30})), experts) is None
    assert check(request(fixed_expert_ids=(99,)), experts) is None  # not in the pool
    busy = dataclasses.replace(experts[2], busy=busy_day(*MON) + busy_day(*TUE) + busy_day(2026, 6, 10))
    assert check(request(fixed_expert_ids=(3,)), [*experts[:2], busy]) is None


def test_one_fixed_expert_moves_the_slot_to_when_they_are_free():
    experts = [expert(1, 10), expert(2, 20), expert(3, 30, busy=((utc(*MON, 0), utc(*MON, 12)),))]
    got = check(request(fixed_expert_ids=(3,)), experts)
    assert got is not None and got.expert_ids == (3, 1) and got.starts_at == utc(*MON, 12)


def test_two_fixed_experts_only_the_slot_is_searched():
    experts = [expert(1, 10), expert(2, 20, busy=((utc(*MON, 6), utc(*MON, 9)),)), expert(3, 30)]
    got = check(request(fixed_expert_ids=(3, 2)), experts)
    assert got == Match((3, 2), utc(*MON, 9), utc(*MON, 10), frozenset(), 0)


def test_two_fixed_experts_of_one_agency_give_none():
    experts = [expert(1, 10), expert(2, 20), expert(3, 20)]
    assert check(request(fixed_expert_ids=(2, 3)), experts) is None


# --------------------------------------------------------------------------- time rules


def test_the_buffer_widens_busy_time_on_both_sides():
    experts = [
        expert(1, 10, busy=((utc(*MON, 5), utc(*MON, 7)),)),  # until 09:00 local
        expert(2, 20, busy=((utc(*MON, 8, 15), utc(*MON, 12)),)),
    ]
    # Without buffer 07:00Z-08:00Z fits; with 15 minutes: 07:15Z at the earliest, end by 08:00Z.
    assert check(request(), experts).starts_at == utc(*MON, 7)  # type: ignore[union-attr]
    got = check(request(buffer=15 * MIN), experts)
    assert got is not None and got.starts_at == utc(*MON, 12, 15)
    assert check(request(buffer=15 * MIN, minutes=30), experts).starts_at == utc(*MON, 7, 15)  # type: ignore[union-attr]


def test_the_buffer_applies_to_the_case_manager_too():
    cm = ((utc(*MON, 6), utc(*MON, 7)),)
    got = check(request(case_manager_busy=cm, buffer=30 * MIN), [expert(1, 10), expert(2, 20)])
    assert got is not None and got.starts_at == utc(*MON, 7, 30)


def test_case_manager_busy_time_counts():
    cm = ((utc(*MON, 0), utc(*MON, 14, 5)),)
    got = check(request(case_manager_busy=cm), [expert(1, 10), expert(2, 20)])
    assert got is not None and got.starts_at == utc(*MON, 14, 15)


def test_an_absence_blocks_whole_local_days():
    experts = [expert(1, 10, absences=((date(*MON), date(*MON)),)), expert(2, 20), expert(3, 30)]
    assert check(request(), experts).expert_ids == (2, 3)  # type: ignore[union-attr]
    got = check(request(fixed_expert_ids=(1,)), experts)
    assert got is not None and got.starts_at == utc(*TUE, 6)


def test_an_absence_is_a_local_date():
    # Region hours at night: Tuesday 00:30 local is Monday 22:30Z. Absent on Tuesday (local): blocked.
    spec = "mon-sun 00:00-02:00"
    experts = [expert(1, 10, absences=((date(*TUE), date(*TUE)),)), expert(2, 20)]
    got = check(request(utc(*MON, 22, 30), utc(*MON, 23), spec=spec, minutes=30), experts)
    assert got is None
    experts[0] = dataclasses.replace(experts[0], absences=((date(*MON), date(*MON)),))
    got = check(request(utc(*MON, 22, 30), utc(*MON, 23), spec=spec, minutes=30), experts)
    assert got is not None and got.starts_at == utc(*MON, 22, 30)


def test_personal_hours_narrow_the_region_hours():
    experts = [expert(1, 10, hours=parse_meeting_hours("mon-fri 13:00-17:00")), expert(2, 20)]
    got = check(request(), experts)
    assert got == Match((1, 2), utc(*MON, 11), utc(*MON, 12), frozenset(), 0)  # 13:00 local


def test_the_meeting_must_fit_one_personal_window():
    experts = [expert(1, 10, hours=parse_meeting_hours("mon 08:00-08:30; mon 08:30-12:00")), expert(2, 20)]
    got = check(request(minutes=60), experts)
    assert got is not None and got.starts_at == utc(*MON, 6, 30)  # 08:30 local, not 08:00


def test_personal_hours_outside_the_region_hours_give_nothing():
    experts = [expert(1, 10, hours=parse_meeting_hours("sat-sun 09:00-17:00")), expert(2, 20)]
    assert check(request(utc(*MON, 6), utc(2026, 6, 14, 20)), experts) is None


def test_weekly_cap_counts_the_local_iso_week_of_the_start():
    # Monday 2026-06-15 00:30 local is Sunday 2026-06-14 22:30Z: the local week is the new one.
    spec = "mon-sun 00:00-02:00"
    week_24, week_25 = date(2026, 6, 8), date(2026, 6, 15)
    capped = expert(1, 10, weekly_cap=2, week_loads={week_24: 2})
    req = request(utc(2026, 6, 13, 22), utc(2026, 6, 14, 23), spec=spec, minutes=30)
    got = check(req, [capped, expert(2, 20)])
    assert got is not None and got.starts_at == utc(2026, 6, 14, 22)  # Mon 00:00 local, week 25
    full = dataclasses.replace(capped, week_loads={week_24: 1, week_25: 2})
    got = check(req, [full, expert(2, 20)])
    assert got is not None and got.starts_at == utc(2026, 6, 13, 22)  # Sun 00:00 local, week 24


def test_weekly_cap_reached_blocks_the_expert():
    monday = date(*MON)
    experts = [expert(1, 10, weekly_cap=2, week_loads={monday: 2}), expert(2, 20), expert(3, 30, load=9)]
    got = check(request(), experts)
    assert got is not None and got.expert_ids == (2, 3)
    below = dataclasses.replace(experts[0], week_loads={monday: 1})
    assert check(request(), [below, *experts[1:]]).expert_ids == (1, 2)  # type: ignore[union-attr]
    no_cap = dataclasses.replace(experts[0], weekly_cap=None)
    assert check(request(), [no_cap, *experts[1:]]).expert_ids == (1, 2)  # type: ignore[union-attr]


def test_belgian_christmas_is_closed():
    # Thursday 2026-12-24 evening: Christmas Friday is closed, next is Saturday 09:00 CET = 08:00Z.
    closed = closed_dates(date(2026, 12, 20), date(2026, 12, 31), ("BE",))
    spec = "mon-fri 08:00-19:00; sat-sun 09:00-17:00"
    req = request(utc(2026, 12, 24, 18), spec=spec, closed=closed)
    got = check(req, [expert(1, 10), expert(2, 20)])
    assert got is not None and got.starts_at == utc(2026, 12, 26, 8)
    open_req = dataclasses.replace(req, closed=frozenset())
    assert check(open_req, [expert(1, 10), expert(2, 20)]).starts_at == utc(2026, 12, 25, 7)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("day", "first_start"),
    [
        ((2026, 3, 29), utc(2026, 3, 29, 7)),  # spring forward: 09:00 CEST
        ((2026, 10, 25), utc(2026, 10, 25, 8)),  # fall back: 09:00 CET
    ],
)
def test_dst_sundays_use_the_local_clock(day, first_start):
    y, m, d = day
    req = request(utc(y, m, d - 1, 20), utc(y, m, d, 20), spec="sun 09:00-17:00", minutes=90)
    got = check(req, [expert(1, 10), expert(2, 20)])
    assert got is not None and got.starts_at == first_start and got.ends_at == first_start + 90 * MIN
    # Busy until 11:00 local, given in local time: the meeting starts then.
    local_busy = ((datetime(y, m, d, 8, 0, tzinfo=BXL), datetime(y, m, d, 11, 0, tzinfo=BXL)),)
    got = check(req, [expert(1, 10, busy=local_busy), expert(2, 20)])
    assert got is not None and got.starts_at == first_start + 2 * HOUR


def test_fall_back_night_window_has_the_extra_hour():
    # Sunday 2026-10-25 01:00-04:00 local is 23:00Z (Sat) .. 03:00Z: four real hours.
    req = request(utc(2026, 10, 24, 22), utc(2026, 10, 25, 5), spec="sun 01:00-04:00", minutes=240)
    assert check(req, [expert(1, 10), expert(2, 20)]).starts_at == utc(2026, 10, 24, 23)  # type: ignore[union-attr]


def test_the_result_is_in_utc_when_asked_in_local_time():
    req = request(datetime(2026, 6, 8, 9, 7, tzinfo=BXL))
    got = check(req, [expert(1, 10), expert(2, 20)])
    assert got is not None and got.starts_at == utc(*MON, 7, 15) and got.starts_at.tzinfo is UTC


def test_latest_start_is_inclusive_and_on_the_grid():
    experts = [expert(1, 10, busy=((utc(*MON, 6), utc(*MON, 10)),)), expert(2, 20)]
    assert check(request(utc(*MON, 6), utc(*MON, 10)), experts).starts_at == utc(*MON, 10)  # type: ignore[union-attr]
    assert check(request(utc(*MON, 6), utc(*MON, 9, 59)), experts) is None
    assert check(request(utc(*MON, 9), utc(*MON, 8)), experts) is None


@pytest.mark.parametrize("which", ["not_before", "latest_start", "busy", "case_manager", "invited"])
def test_naive_datetimes_are_refused(which):
    naive = datetime(2026, 6, 8, 9)
    req, experts = request(), [expert(1, 10), expert(2, 20)]
    if which in ("not_before", "latest_start"):
        req = dataclasses.replace(req, **{which: naive})
    elif which == "case_manager":
        req = dataclasses.replace(req, case_manager_busy=((naive, naive + HOUR),))
    elif which == "busy":
        experts[1] = dataclasses.replace(experts[1], busy=((utc(*MON, 1), naive),))
    else:
        experts[1] = dataclasses.replace(experts[1], last_invited_at=naive)
    for fn in (best_match, brute_force_match, naive_match, any_feasible):
        with pytest.raises(ValueError, match="timezone-aware"):
            fn(req, experts)


# --------------------------------------------------------------------------- the documented order

CONCERN_MAP = {
    "ouder_psy": frozenset({"ggz"}),
    "baby": frozenset({"kind", "kraam"}),
    "opvoeding": frozenset({"pleeg", "kind"}),
}


def test_coverage_counts_concerns_either_expert_covers():
    assert coverage({"ouder_psy", "baby"}, CONCERN_MAP, {"ggz"}, {"kraam"}) == {"ouder_psy", "baby"}
    assert coverage({"ouder_psy", "baby"}, CONCERN_MAP, {"ggz"}, {"ggz"}) == {"ouder_psy"}
    assert coverage({"onbekend"}, CONCERN_MAP, {"onbekend"}, set()) == frozenset()  # not mapped: nobody


def test_coverage_beats_load():
    experts = [expert(1, 10, "ggz", load=5), expert(2, 20, "kraam", load=5), expert(3, 30), expert(4, 40)]
    req = request(concerns=frozenset({"ouder_psy", "baby"}), concern_map=CONCERN_MAP)
    got = check(req, experts)
    assert got == Match((1, 2), utc(*MON, 6), utc(*MON, 7), frozenset({"ouder_psy", "baby"}), 10)


def test_coverage_one_of_two_beats_none():
    experts = [expert(1, 10, load=0), expert(2, 20, load=0), expert(3, 30, "kind", load=3)]
    req = request(concerns=frozenset({"baby", "ouder_psy"}), concern_map=CONCERN_MAP)
    got = check(req, experts)
    assert got is not None and set(got.expert_ids) == {1, 3} and got.covered == {"baby"}


def test_load_beats_earliest_start():
    tomorrow = busy_day(*MON)
    experts = [expert(1, 10, load=3), expert(2, 20, load=3), expert(3, 30, busy=tomorrow), expert(4, 40)]
    got = check(request(), experts)
    assert got is not None and got.expert_ids == (3, 4) and got.starts_at == utc(*TUE, 6)
    assert got.load == 0


def test_lower_pair_load_wins():
    experts = [expert(2, 20, load=2), expert(3, 30, load=1), expert(4, 40, load=1, busy=busy_day(*MON))]
    got = check(request(), experts)
    assert got is not None and got.expert_ids == (3, 4) and got.load == 2  # later, but 1 + 1 < 2 + 1


def test_equal_pair_load_then_lower_max_load_even_if_later():
    mon, tue = date(*MON), date(*TUE)
    experts = [
        expert(1, 10, load=0, absences=((tue, tue),)),
        expert(2, 20, load=2),
        expert(3, 10, load=1),
        expert(4, 20, load=1, absences=((mon, mon),)),
    ]
    # (1, 4) would have load 1 but never meets; (1, 2) and (3, 4) both have 2: max 1 beats max 2.
    got = check(request(latest_start=utc(*TUE, 17)), experts)
    assert got == Match((3, 4), utc(*TUE, 6), utc(*TUE, 7), frozenset(), 2)


def test_earliest_start_beats_recency_and_recency_beats_ids():
    long_ago, recently = utc(2026, 1, 1), utc(2026, 6, 1)
    experts = [
        expert(1, 10, last_invited_at=recently),
        expert(2, 20, last_invited_at=recently),
        expert(3, 30, busy=((utc(*MON, 6), utc(*MON, 8)),)),
        expert(4, 40, busy=((utc(*MON, 6), utc(*MON, 8)),)),
    ]
    got = check(request(), experts)
    assert got is not None and got.starts_at == utc(*MON, 6) and set(got.expert_ids) == {1, 2}
    experts[2] = dataclasses.replace(experts[2], busy=())
    experts[3] = dataclasses.replace(experts[3], busy=(), last_invited_at=long_ago)
    # All free at 06:00Z: (3, 4) was invited longest ago ... but (3, x) with 3 never invited and
    # x = 4 (long ago) beats every pair with 1 or 2 (recently).
    got = check(request(), experts)
    assert got is not None and got.expert_ids == (3, 4)
    experts[3] = dataclasses.replace(experts[3], last_invited_at=None)
    got = check(request(), experts)
    assert got is not None and got.expert_ids == (3, 4)  # never + never is the least recent
    experts = [dataclasses.replace(e, last_invited_at=None) for e in experts]
    got = check(request(), experts)
    assert got is not None and got.expert_ids == (1, 2)  # all equal: lowest ids


def test_the_better_ranked_expert_comes_first():
    experts = [expert(7, 10, load=1), expert(3, 20, load=2)]
    assert check(request(), experts).expert_ids == (7, 3)  # type: ignore[union-attr]
    experts = [expert(7, 10, last_invited_at=utc(2026, 6, 1)), expert(9, 20)]
    assert check(request(), experts).expert_ids == (9, 7)  # type: ignore[union-attr]


def test_order_key_spells_out_the_order():
    t1, t2 = utc(*MON, 6), utc(*MON, 7)
    assert order_key(2, 5, 5, t2, None, None, 1, 2) < order_key(1, 0, 0, t1, None, None, 1, 2)
    assert order_key(1, 1, 1, t2, None, None, 1, 2) < order_key(1, 0, 2, t1, None, None, 1, 2)
    assert order_key(1, 1, 1, t1, t2, None, 1, 2) < order_key(1, 1, 1, t2, None, None, 1, 2)
    assert order_key(1, 1, 1, t1, None, None, 5, 6) < order_key(1, 1, 1, t1, t1, None, 1, 2)
    assert order_key(1, 1, 1, t1, t1, None, 3, 1) < order_key(1, 1, 1, t1, t1, None, 9, 2)  # (1, 3) < (2, 9)
    assert order_key(1, 1, 1, t1, t1, None, 2, 3) < order_key(1, 1, 1, t1, t1, None, 9, 2)  # (2, 3) < (2, 9)


def test_naive_match_takes_list_order_and_ignores_load():
    experts = [expert(5, 10, load=9), expert(1, 10), expert(4, 20, load=9), expert(2, 30)]
    got = naive_match(request(), experts)
    assert got is not None and got.expert_ids == (5, 4) and got.load == 18
    assert check(request(), experts).expert_ids == (1, 2)  # type: ignore[union-attr]


def test_naive_match_with_a_fixed_expert():
    experts = [expert(5, 10), expert(1, 20), expert(4, 30)]
    got = naive_match(request(fixed_expert_ids=(4,)), experts)
    assert got is not None and got.expert_ids == (4, 5)


# --------------------------------------------------------------------------- gini


@pytest.mark.parametrize(
    ("loads", "expected"),
    [
        ([], 0.0),
        ([0, 0, 0], 0.0),
        ([3, 3, 3], 0.0),
        ([0, 0, 0, 4], 0.75),
        ([1, 2, 3], 2 / 9),
        ([0, 1], 0.5),
    ],
)
def test_gini(loads, expected):
    assert gini(loads) == pytest.approx(expected)


def test_gini_is_scale_free_and_refuses_negative_loads():
    assert gini([1, 2, 3]) == pytest.approx(gini([10, 20, 30]))
    with pytest.raises(ValueError):
        gini([1, -1])
